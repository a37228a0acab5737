"""SPEC R1-R22 through the SupportRequest aggregate alone: no clock, no database, no I/O.

Each test is a short story: given a request in some state, when a party (or a timer) acts at a given
instant, then the aggregate records the rule's effect, or refuses with the rule's error.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from services.requests.domain import (
    AutoClaimNotEligible,
    ConversationClosed,
    Deadline,
    DecisionNotDue,
    DescriptionRequired,
    EscalationNotAllowed,
    EvidenceRequired,
    IllegalTransition,
    InvalidCommand,
    InvalidPartialAmount,
    MessageRequired,
    NoOfferPending,
    NoReturnToInspect,
    PhotosRequired,
    Reason,
    ResponseNotDue,
    ReturnForRefundNotAllowed,
    Shipment,
    Status,
    SupportRequest,
    TrackingRequired,
    UnknownReason,
)
from services.requests.domain.policy import (
    CURRENT_POLICY_VERSION,
    POLICIES,
    POLICY_2025_09,
    UnknownPolicyError,
)
from tests.factories import (
    BUYER_SHIPPING_PAID,
    PRICE,
    ams,
    new_request,
    ny,
    order_item,
    order_items,
)

T0 = ny(2026, 12, 7, 14, 0)  # Monday, a plain business day
BUYER = "buyer:buyer-1"
SELLER = "seller:seller-1"
AGENT = "support:agent-1"
FULL = PRICE + BUYER_SHIPPING_PAID  # what the buyer paid for one example item

COVERED_REASONS = [
    "significantly_delayed",
    "missing_item",
    "wrong_item",
    "not_as_described",
    "defective",
    "returned_to_sender",
    "damaged_in_transit",
]


def due(request: SupportRequest, kind: str) -> datetime:
    return request.deadlines[kind]


def fire(request: SupportRequest, kind: str) -> bool:
    """The timer for `kind` fires at its own instant."""
    return request.fire_deadline(kind, request.deadlines[kind])


def same_instant(a: datetime, b: datetime) -> bool:
    return a.astimezone(UTC) == b.astimezone(UTC)


def awaiting_return(at: datetime = T0) -> SupportRequest:
    request = new_request(at=at)
    request.offer_full_refund_with_return(at=at + timedelta(hours=1), actor=SELLER)
    return request


def delivered_return(at: datetime = T0) -> SupportRequest:
    request = awaiting_return(at)
    request.record_return_label(
        at=at + timedelta(hours=2), actor="platform", tracking_number="RET-1", label_cost=800
    )
    request.record_return_scan(at=at + timedelta(hours=3), actor="carrier", scan="accepted")
    request.record_return_scan(at=at + timedelta(hours=30), actor="carrier", scan="delivered")
    return request


def overdue_no_response(at: datetime = T0) -> SupportRequest:
    request = new_request(at=at)
    assert fire(request, Deadline.SELLER_RESPONSE)
    return request


def escalated(at: datetime = T0) -> SupportRequest:
    request = overdue_no_response(at)
    request.escalate(at=ny(2026, 12, 10, 9, 0), actor=BUYER, reason="no answer")
    return request


# --- R1/R2 business time ------------------------------------------------------------------------


def test_r1_seller_deadline_is_48_business_hours_skipping_the_weekend():
    # given a request opened on a Friday afternoon
    request = new_request(at=ny(2026, 12, 11, 15, 0))
    # then the weekend does not count: the seller has until Tuesday at the same hour
    assert same_instant(due(request, Deadline.SELLER_RESPONSE), ny(2026, 12, 15, 15, 0))


def test_r1_return_dropoff_is_five_business_days():
    # given a return required on a Wednesday
    request = new_request(at=ny(2026, 12, 9, 9, 0))
    request.offer_full_refund_with_return(at=ny(2026, 12, 9, 10, 0), actor=SELLER)
    # then five business days later is the next Wednesday, not the Monday seven calendar days on
    assert same_instant(due(request, Deadline.RETURN_DROPOFF), ny(2026, 12, 16, 10, 0))


def test_r2_opened_on_saturday_starts_the_clock_on_monday_midnight():
    request = new_request(at=ny(2026, 12, 12, 10, 0))
    assert same_instant(due(request, Deadline.SELLER_RESPONSE), ny(2026, 12, 16, 0, 0))


def test_r2_a_us_holiday_monday_pushes_the_deadline_by_a_day():
    # given Friday before Labor Day (Mon 2026-09-07)
    request = new_request(at=ny(2026, 9, 4, 15, 0))
    assert same_instant(due(request, Deadline.SELLER_RESPONSE), ny(2026, 9, 9, 15, 0))


def test_r2_a_saturday_open_before_a_holiday_monday_ends_thursday_midnight():
    request = new_request(at=ny(2026, 9, 5, 10, 0))
    assert same_instant(due(request, Deadline.SELLER_RESPONSE), ny(2026, 9, 10, 0, 0))


def test_r2_nl_marketplace_uses_amsterdam_time_and_dutch_holidays():
    # given the Friday before King's Day (Mon 2026-04-27, a Dutch holiday, not a US one)
    opened = ams(2026, 4, 24, 15, 0)
    nl = new_request(at=opened, marketplace="NL", currency="EUR")
    us = new_request(at=opened, marketplace="US")
    # then the NL request skips King's Day and ends at 15:00 Amsterdam time
    assert same_instant(due(nl, Deadline.SELLER_RESPONSE), ams(2026, 4, 29, 15, 0))
    # while the same instant on the US marketplace is read in New York with US holidays
    assert same_instant(due(us, Deadline.SELLER_RESPONSE), ny(2026, 4, 28, 9, 0))


def test_r2_deadlines_are_local_wall_time_across_a_dst_change():
    # given a Friday before the US spring-forward Sunday (2027-03-14)
    request = new_request(at=ny(2027, 3, 12, 15, 0))
    # then Tuesday 15:00 local, which is one real hour less than 96 hours later
    deadline = due(request, Deadline.SELLER_RESPONSE)
    assert same_instant(deadline, ny(2027, 3, 16, 15, 0))
    assert deadline - ny(2027, 3, 12, 15, 0) == timedelta(hours=95)


def test_r2_deadlines_are_stored_in_utc():
    request = new_request(at=T0)
    assert due(request, Deadline.SELLER_RESPONSE).utcoffset() == timedelta(0)


# --- R3 settlement is not a timer ---------------------------------------------------------------


def test_r3_a_full_refund_sets_no_settlement_timer():
    request = new_request()
    request.offer_full_refund(at=T0 + timedelta(hours=1), actor=SELLER)
    # then the refund is recorded and no deadline waits on the 3-5 day settlement
    assert request.refund == {"amount": FULL, "currency": "USD"}
    assert request.deadlines == {}


# --- R4-R9 opening ------------------------------------------------------------------------------


@pytest.mark.parametrize("reason", COVERED_REASONS)
def test_r4_each_covered_reason_opens_a_request_for_the_seller(reason):
    request = new_request(reason=reason, photos=["p.jpg"])
    assert request.status == Status.AWAITING_SELLER
    assert request.reason == reason
    assert request.routed_to_support is None


def test_r4_unknown_reason_is_rejected_as_invalid():
    with pytest.raises(UnknownReason) as caught:
        new_request(reason="changed_my_mind")
    assert isinstance(caught.value, InvalidCommand)


def test_r4_a_request_names_items_once_and_describes_the_problem():
    item = order_item()
    with pytest.raises(InvalidCommand):
        new_request(items=[])
    with pytest.raises(InvalidCommand):
        new_request(items=[item, item])
    with pytest.raises(DescriptionRequired):
        new_request(description="   ")


def test_r4_the_request_records_order_items_reason_description_and_photos():
    items = order_items(2)
    request = new_request(items=items, reason="defective", photos=["a.jpg", "b.jpg"])
    assert request.item_ids == [i.item_id for i in items]
    assert request.description == "It does not work."
    assert request.photos == ["a.jpg", "b.jpg"]
    assert request.full_refund.amount == 2 * FULL


@pytest.mark.parametrize("reason", ["not_as_described", "wrong_item"])
def test_r5_photos_are_required_for(reason):
    with pytest.raises(PhotosRequired):
        new_request(reason=reason, photos=[])
    assert new_request(reason=reason, photos=["p.jpg"]).photos == ["p.jpg"]


@pytest.mark.parametrize("reason", ["defective", "missing_item", "significantly_delayed"])
def test_r5_photos_are_optional_for_other_reasons(reason):
    assert new_request(reason=reason, photos=[]).status == Status.AWAITING_SELLER


@pytest.mark.parametrize("reason", ["missing_item", "wrong_item"])
def test_r6_consumable_missing_or_wrong_item_goes_straight_to_support(reason):
    request = new_request(reason=reason, items=[order_item(consumable=True)])
    assert request.status == Status.ESCALATED
    assert request.escalated
    assert request.routed_to_support == "consumable_item"
    assert request.escalation["by"] == "routing"
    # and the seller owes nothing: no response deadline
    assert request.deadlines == {}


def test_r6_consumable_with_a_covered_non_routed_reason_stays_with_the_seller():
    request = new_request(reason="defective", items=[order_item(consumable=True)])
    assert request.status == Status.AWAITING_SELLER


def test_r6_reason_other_goes_to_support():
    request = new_request(reason=Reason.OTHER)
    assert request.status == Status.ESCALATED
    assert request.routed_to_support == "reason_not_covered"
    assert request.deadlines == {}


def test_r6_suspected_fraud_goes_to_support():
    request = new_request(reason="defective", fraud_suspected=True)
    assert request.status == Status.ESCALATED
    assert request.routed_to_support == "suspected_fraud"
    assert request.deadlines == {}


def test_r6_the_seller_cannot_respond_to_a_routed_request():
    request = new_request(reason="other")
    with pytest.raises(ResponseNotDue):
        request.offer_full_refund(at=T0, actor=SELLER)


def test_r7_the_request_names_its_order_and_both_parties():
    # the order -> request and seller inbox lookups are built from these fields
    request = new_request(buyer_id="b-9", seller_id="s-9")
    assert (request.buyer_id, request.seller_id) == ("b-9", "s-9")
    assert request.order_id.startswith("order-")
    assert request.opened_at == T0


def test_r8_the_seller_must_respond_within_48_business_hours():
    request = new_request(at=T0)
    assert same_instant(due(request, Deadline.SELLER_RESPONSE), ny(2026, 12, 9, 14, 0))
    # when the deadline passes unanswered, the miss is recorded
    assert fire(request, Deadline.SELLER_RESPONSE)
    assert request.seller_missed_deadline
    assert Deadline.SELLER_RESPONSE not in request.deadlines
    # and a late response is still accepted, and clears the miss for escalation purposes
    request.offer_full_refund(at=ny(2026, 12, 10, 9, 0), actor=SELLER)
    assert request.status == Status.RESOLVED


def test_r9_closed_statuses_release_the_items():
    # R9 is enforced by the application's item locks; the aggregate says when a request is closed
    request = new_request()
    assert not request.is_closed
    request.offer_full_refund(at=T0, actor=SELLER)
    assert request.is_closed


# --- R10-R18 seller responses -------------------------------------------------------------------


def test_r10_full_refund_without_return_resolves_now():
    request = new_request(items=order_items(2))
    request.offer_full_refund(at=T0 + timedelta(hours=2), actor=SELLER)
    assert request.status == Status.RESOLVED
    assert request.resolution == "full_refund"
    assert request.refund == {"amount": 2 * FULL, "currency": "USD"}
    assert request.closed_at == T0 + timedelta(hours=2)


def test_r10_auto_claim_requires_an_eligible_usps_shipment():
    shipment = Shipment("USPS", "ground", "9400-1", T0 - timedelta(days=5), 10_000, False)
    request = new_request()
    request.offer_full_refund(at=T0, actor=SELLER, shipment=shipment, auto_claim=True)
    assert request.auto_claim["file_at"] == shipment.shipped_at + timedelta(days=14)
    ups = Shipment("UPS", "ground", "1Z", T0, 10_000, False)
    with pytest.raises(AutoClaimNotEligible):
        new_request().offer_full_refund(at=T0, actor=SELLER, shipment=ups, auto_claim=True)


def test_r10_no_second_response_once_resolved():
    request = new_request()
    request.offer_full_refund(at=T0, actor=SELLER)
    with pytest.raises(ResponseNotDue):
        request.offer_partial_refund(at=T0, actor=SELLER, amount=100)


def test_r11_full_refund_with_return_gives_five_business_days_to_drop_off():
    request = awaiting_return(T0)
    assert request.status == Status.AWAITING_RETURN
    assert same_instant(due(request, Deadline.RETURN_DROPOFF), ny(2026, 12, 14, 15, 0))
    assert request.refund is None


def test_r11_return_not_dropped_off_in_time_cancels_without_refund():
    request = awaiting_return(T0)
    assert fire(request, Deadline.RETURN_DROPOFF)
    assert request.status == Status.CANCELLED
    assert request.resolution == "return_not_shipped"
    assert request.refund is None
    assert request.deadlines == {}


def test_r11_a_dropped_off_return_stops_the_dropoff_clock():
    request = awaiting_return(T0)
    dropoff_due = due(request, Deadline.RETURN_DROPOFF)
    request.record_return_label(at=T0, actor="platform", tracking_number="R1", label_cost=700)
    request.record_return_scan(at=T0 + timedelta(hours=5), actor="carrier", scan="accepted")
    assert request.status == Status.RETURN_IN_TRANSIT
    # the old timer no longer applies
    assert not request.fire_deadline(Deadline.RETURN_DROPOFF, dropoff_due)
    assert request.status == Status.RETURN_IN_TRANSIT


def test_r12_delivered_return_gives_two_business_days_to_inspect():
    request = delivered_return(T0)
    assert request.status == Status.AWAITING_INSPECTION
    delivered = T0 + timedelta(hours=30)  # Tue 20:00
    assert request.return_["delivered_at"] == delivered
    assert same_instant(due(request, Deadline.RETURN_INSPECTION), ny(2026, 12, 10, 20, 0))


def test_r12_seller_confirms_the_return_and_the_buyer_is_refunded():
    request = delivered_return()
    request.confirm_return(at=ny(2026, 12, 9, 9, 0), actor=SELLER)
    assert request.status == Status.RESOLVED
    assert request.resolution == "full_refund"
    assert request.refund == {"amount": FULL, "currency": "USD"}


def test_r12_seller_disputes_the_return_and_it_goes_to_support():
    request = delivered_return()
    with pytest.raises(MessageRequired):
        request.dispute_return(at=T0, actor=SELLER, reason=" ", evidence=[])
    request.dispute_return(
        at=ny(2026, 12, 9, 9, 0), actor=SELLER, reason="empty box", evidence=["box.jpg"]
    )
    assert request.status == Status.ESCALATED
    assert request.escalation["by"] == "seller_dispute"
    assert request.refund is None
    assert request.deadlines == {}


def test_r12_no_inspection_auto_confirms_at_the_end_of_two_business_days():
    request = delivered_return()
    inspection_due = due(request, Deadline.RETURN_INSPECTION)
    assert fire(request, Deadline.RETURN_INSPECTION)
    assert request.resolution == "full_refund"
    assert request.closed_at == inspection_due


def test_r12_confirm_needs_a_delivered_return():
    request = awaiting_return()
    with pytest.raises(NoReturnToInspect):
        request.confirm_return(at=T0, actor=SELLER)


def test_r13_partial_refund_offer_sets_a_48_business_hour_answer_deadline():
    request = new_request()
    request.offer_partial_refund(at=ny(2026, 12, 11, 16, 0), actor=SELLER, amount=1000)
    assert request.status == Status.OFFER_PENDING
    assert request.offer["amount"] == 1000
    assert same_instant(due(request, Deadline.OFFER_ANSWER), ny(2026, 12, 15, 16, 0))


@pytest.mark.parametrize("amount", [0, FULL, FULL + 1, -1, 10.5, "1000", None, True])
def test_r13_amount_must_be_an_int_between_zero_and_the_full_refund(amount):
    request = new_request()
    with pytest.raises(InvalidPartialAmount):
        request.offer_partial_refund(at=T0, actor=SELLER, amount=amount)
    assert request.status == Status.AWAITING_SELLER


@pytest.mark.parametrize("amount", [1, FULL - 1])
def test_r13_amounts_just_inside_the_bounds_are_accepted(amount):
    request = new_request()
    request.offer_partial_refund(at=T0, actor=SELLER, amount=amount)
    assert request.offer["amount"] == amount


def test_r13_a_submitted_offer_cannot_be_edited():
    request = new_request()
    request.offer_partial_refund(at=T0, actor=SELLER, amount=1000)
    with pytest.raises(ResponseNotDue):
        request.offer_partial_refund(at=T0, actor=SELLER, amount=1200)
    assert request.offer["amount"] == 1000


def test_r14_buyer_accepts_the_offer_and_gets_the_partial_refund():
    request = new_request()
    request.offer_partial_refund(at=T0, actor=SELLER, amount=1000)
    request.accept_offer(at=T0 + timedelta(hours=3), actor=BUYER)
    assert request.status == Status.RESOLVED
    assert request.resolution == "partial_refund"
    assert request.refund == {"amount": 1000, "currency": "USD"}
    with pytest.raises(NoOfferPending):
        request.decline_offer(at=T0 + timedelta(hours=4), actor=BUYER)


def test_r14_buyer_declines_and_must_return_for_a_full_refund():
    request = new_request()
    request.offer_partial_refund(at=T0, actor=SELLER, amount=1000)
    request.decline_offer(at=ny(2026, 12, 8, 10, 0), actor=BUYER)
    assert request.status == Status.AWAITING_RETURN
    assert Deadline.OFFER_ANSWER not in request.deadlines
    assert same_instant(due(request, Deadline.RETURN_DROPOFF), ny(2026, 12, 15, 10, 0))
    # then R12 applies: delivered and confirmed -> the full refund
    request.record_return_label(at=T0, actor="platform", tracking_number="R", label_cost=600)
    request.record_return_scan(at=ny(2026, 12, 9, 10, 0), actor="carrier", scan="delivered")
    request.confirm_return(at=ny(2026, 12, 9, 11, 0), actor=SELLER)
    assert request.refund == {"amount": FULL, "currency": "USD"}


def test_r14_no_offer_to_answer_without_a_partial_refund():
    with pytest.raises(NoOfferPending):
        new_request().accept_offer(at=T0, actor=BUYER)


def test_r15_an_unanswered_offer_lapses_back_to_the_seller_without_a_deadline():
    request = new_request()
    request.offer_partial_refund(at=T0, actor=SELLER, amount=1000)
    lapse = due(request, Deadline.OFFER_ANSWER)
    assert fire(request, Deadline.OFFER_ANSWER)
    assert request.status == Status.AWAITING_SELLER
    assert request.deadlines == {}
    with pytest.raises(NoOfferPending):
        request.accept_offer(at=lapse, actor=BUYER)
    # and the buyer may escalate
    assert request.escalation_grounds() == ["offer_lapsed"]
    request.escalate(at=lapse + timedelta(hours=1), actor=BUYER, reason="no deal")
    assert request.status == Status.ESCALATED


def test_r15_the_seller_may_respond_again_after_a_lapse():
    request = new_request()
    request.offer_partial_refund(at=T0, actor=SELLER, amount=1000)
    fire(request, Deadline.OFFER_ANSWER)
    request.offer_full_refund(at=ny(2026, 12, 10, 9, 0), actor=SELLER)
    assert request.resolution == "full_refund"


def test_r16_replacement_needs_carrier_and_tracking():
    with pytest.raises(TrackingRequired):
        new_request().send_replacement(at=T0, actor=SELLER, carrier="USPS", tracking_number="")
    with pytest.raises(TrackingRequired):
        new_request().send_replacement(at=T0, actor=SELLER, carrier=" ", tracking_number="94")


def test_r16_first_carrier_scan_of_the_replacement_resolves_it():
    request = new_request()
    request.send_replacement(at=T0, actor=SELLER, carrier="USPS", tracking_number="9400-R")
    assert request.status == Status.REPLACEMENT_PENDING
    assert same_instant(due(request, Deadline.REPLACEMENT_SHIP), ny(2026, 12, 9, 14, 0))
    assert request.record_replacement_scan(at=T0 + timedelta(hours=5), actor="c", scan="accepted")
    assert request.resolution == "replacement"
    assert request.refund is None
    # a later scan changes nothing
    version = request.version
    assert not request.record_replacement_scan(
        at=T0 + timedelta(hours=9), actor="c", scan="delivered"
    )
    assert request.version == version


def test_r16_return_for_refund_is_refused_before_the_replacement_is_overdue():
    request = new_request()
    request.send_replacement(at=T0, actor=SELLER, carrier="USPS", tracking_number="9400-R")
    with pytest.raises(ReturnForRefundNotAllowed):
        request.return_for_refund(at=T0 + timedelta(hours=1), actor=BUYER)


def test_r16_overdue_replacement_lets_the_buyer_return_within_five_business_days():
    request = new_request()
    request.send_replacement(at=T0, actor=SELLER, carrier="USPS", tracking_number="9400-R")
    overdue_at = due(request, Deadline.REPLACEMENT_SHIP)  # Wed 14:00
    assert fire(request, Deadline.REPLACEMENT_SHIP)
    assert same_instant(request.replacement["return_until"], ny(2026, 12, 16, 14, 0))
    assert request.replacement["overdue_at"] == overdue_at
    # when the buyer chooses to return the original
    request.return_for_refund(at=ny(2026, 12, 10, 9, 0), actor=BUYER)
    # then the R11 flow applies, its drop-off deadline the end of the R16 window
    assert request.status == Status.AWAITING_RETURN
    assert same_instant(due(request, Deadline.RETURN_DROPOFF), ny(2026, 12, 16, 14, 0))
    request.record_return_label(at=T0, actor="platform", tracking_number="R", label_cost=600)
    request.record_return_scan(at=ny(2026, 12, 11, 9, 0), actor="carrier", scan="delivered")
    fire(request, Deadline.RETURN_INSPECTION)
    assert request.resolution == "full_refund"


def test_r16_return_for_refund_window_closes():
    request = new_request()
    request.send_replacement(at=T0, actor=SELLER, carrier="USPS", tracking_number="9400-R")
    fire(request, Deadline.REPLACEMENT_SHIP)
    with pytest.raises(ReturnForRefundNotAllowed):
        request.return_for_refund(at=request.replacement["return_until"], actor=BUYER)


def test_r17_no_refund_needs_a_message_and_evidence():
    with pytest.raises(MessageRequired):
        new_request().explain_no_refund(at=T0, actor=SELLER, message=" ", evidence=["e.pdf"])
    with pytest.raises(EvidenceRequired):
        new_request().explain_no_refund(at=T0, actor=SELLER, message="used", evidence=[])


def test_r17_no_refund_closes_after_five_quiet_business_days():
    request = new_request()
    request.explain_no_refund(at=T0, actor=SELLER, message="worn", evidence=["photo.jpg"])
    assert request.status == Status.AWAITING_BUYER
    assert same_instant(due(request, Deadline.NO_REFUND_CLOSE), ny(2026, 12, 14, 14, 0))
    assert fire(request, Deadline.NO_REFUND_CLOSE)
    assert request.status == Status.RESOLVED
    assert request.resolution == "no_refund"
    assert request.refund is None


def test_r17_a_buyer_reply_cancels_the_auto_close():
    request = new_request()
    request.explain_no_refund(at=T0, actor=SELLER, message="worn", evidence=["photo.jpg"])
    close_due = due(request, Deadline.NO_REFUND_CLOSE)
    request.post_message(
        at=ny(2026, 12, 8, 9, 0), actor=BUYER, body="it was new", attachments=[], by_buyer=True
    )
    assert Deadline.NO_REFUND_CLOSE not in request.deadlines
    assert not request.fire_deadline(Deadline.NO_REFUND_CLOSE, close_due)
    assert request.status == Status.AWAITING_SELLER
    # the buyer may still escalate the no-refund answer
    assert "no_refund" in request.escalation_grounds()


def test_r17_the_buyer_may_escalate_a_no_refund_answer():
    request = new_request()
    request.explain_no_refund(at=T0, actor=SELLER, message="worn", evidence=["photo.jpg"])
    request.escalate(at=T0 + timedelta(hours=1), actor=BUYER, reason="it was new")
    assert request.status == Status.ESCALATED
    assert request.escalation["grounds"] == ["no_refund"]


def test_r18_asking_for_information_counts_as_the_response():
    request = new_request()
    request.request_information(at=ny(2026, 12, 8, 9, 0), actor=SELLER, message="photos please")
    assert request.status == Status.AWAITING_BUYER
    assert Deadline.SELLER_RESPONSE not in request.deadlines
    assert request.messages[-1]["body"] == "photos please"
    with pytest.raises(MessageRequired):
        new_request().request_information(at=T0, actor=SELLER, message="")


def test_r18_buyer_answer_restarts_a_48_business_hour_seller_deadline():
    request = new_request()
    request.request_information(at=ny(2026, 12, 8, 9, 0), actor=SELLER, message="photos please")
    request.post_message(
        at=ny(2026, 12, 11, 17, 0), actor=BUYER, body="here", attachments=["a.jpg"], by_buyer=True
    )
    assert request.status == Status.AWAITING_SELLER
    assert same_instant(due(request, Deadline.SELLER_RESPONSE), ny(2026, 12, 15, 17, 0))
    # and after an information exchange the buyer may escalate
    assert request.escalation_grounds() == ["information_exchange"]


def test_r18_a_seller_message_does_not_restart_the_deadline():
    request = new_request()
    request.request_information(at=T0, actor=SELLER, message="photos please")
    request.post_message(at=T0, actor=SELLER, body="any news?", attachments=[], by_buyer=False)
    assert request.status == Status.AWAITING_BUYER
    assert request.deadlines == {}


def test_r19_escalation_is_refused_before_the_response_deadline():
    request = new_request()
    with pytest.raises(EscalationNotAllowed):
        request.escalate(at=T0 + timedelta(hours=47), actor=BUYER, reason="slow")
    assert request.status == Status.AWAITING_SELLER


def test_r19_escalation_is_allowed_once_the_deadline_passed():
    request = overdue_no_response()
    request.escalate(at=ny(2026, 12, 9, 15, 0), actor=BUYER, reason="no answer")
    assert request.status == Status.ESCALATED
    assert request.escalation["by"] == "buyer"
    assert request.escalation["grounds"] == ["no_response"]
    assert request.deadlines == {}


@pytest.mark.parametrize(
    ("path", "by", "grounds"),
    [
        ("no_response", "buyer", ["no_response"]),
        ("offer_lapsed", "buyer", ["offer_lapsed"]),
        ("no_refund", "buyer", ["no_refund"]),
        ("information_exchange", "buyer", ["information_exchange"]),
        ("return_dispute", "seller_dispute", ["return_disputed"]),
        ("routing", "routing", []),
    ],
)
def test_r20_every_escalation_path(path, by, grounds):
    at = T0 + timedelta(days=10)
    if path == "routing":
        request = new_request(reason="other")
    elif path == "return_dispute":
        request = delivered_return()
        request.dispute_return(at=at, actor=SELLER, reason="not mine", evidence=["x.jpg"])
    else:
        request = new_request()
        if path == "no_response":
            fire(request, Deadline.SELLER_RESPONSE)
        elif path == "offer_lapsed":
            request.offer_partial_refund(at=T0, actor=SELLER, amount=500)
            fire(request, Deadline.OFFER_ANSWER)
        elif path == "no_refund":
            request.explain_no_refund(at=T0, actor=SELLER, message="used", evidence=["e"])
        else:
            request.request_information(at=T0, actor=SELLER, message="which size?")
            request.post_message(at=T0, actor=BUYER, body="XL", attachments=[], by_buyer=True)
        request.escalate(at=at, actor=BUYER, reason="please help")
    assert request.status == Status.ESCALATED
    assert request.escalation["by"] == by
    assert request.escalation["grounds"] == grounds


def test_r20_no_escalation_while_an_offer_or_return_is_in_progress():
    request = new_request()
    request.offer_partial_refund(at=T0, actor=SELLER, amount=500)
    with pytest.raises(EscalationNotAllowed):
        request.escalate(at=T0, actor=BUYER, reason="x")
    with pytest.raises(EscalationNotAllowed):
        awaiting_return().escalate(at=T0, actor=BUYER, reason="x")


def test_r21_no_messages_once_escalated():
    request = escalated()
    for actor, by_buyer in ((BUYER, True), (SELLER, False)):
        with pytest.raises(ConversationClosed):
            request.post_message(at=T0, actor=actor, body="hi", attachments=[], by_buyer=by_buyer)
    assert all(m["body"] != "hi" for m in request.messages)


def test_r21_routed_requests_have_no_conversation_either():
    with pytest.raises(ConversationClosed):
        new_request(reason="other").post_message(
            at=T0, actor=SELLER, body="hello", attachments=[], by_buyer=False
        )


def test_r21_messages_are_fine_before_escalation():
    request = new_request()
    request.post_message(at=T0, actor=SELLER, body="sorry!", attachments=[], by_buyer=False)
    assert request.messages[-1]["body"] == "sorry!"


@pytest.mark.parametrize(
    ("outcome", "liable", "resolution", "refund"),
    [
        ("refund", "seller", "full_refund", FULL),
        ("platform_refund", "platform", "full_refund", FULL),
        ("uphold_seller", None, "no_refund", None),
    ],
)
def test_r22_support_decides_and_records_liability(outcome, liable, resolution, refund):
    request = escalated()
    request.decide(at=ny(2026, 12, 11, 9, 0), actor=AGENT, outcome=outcome)
    assert request.status == Status.RESOLVED
    assert request.resolution == resolution
    assert request.decision["outcome"] == outcome
    assert request.decision["liable"] == liable
    assert request.decision["agent"] == AGENT
    assert (request.refund or {}).get("amount") == refund


def test_r22_refund_with_return_then_the_seller_inspects_as_in_r12():
    request = escalated()
    request.decide(at=ny(2026, 12, 11, 9, 0), actor=AGENT, outcome="refund_with_return")
    assert request.decision["liable"] == "seller"
    assert request.status == Status.AWAITING_RETURN
    assert same_instant(due(request, Deadline.RETURN_DROPOFF), ny(2026, 12, 18, 9, 0))
    assert request.return_["required_by"] == "support"
    request.record_return_label(at=T0, actor="platform", tracking_number="R", label_cost=900)
    request.record_return_scan(at=ny(2026, 12, 14, 9, 0), actor="carrier", scan="delivered")
    assert request.status == Status.AWAITING_INSPECTION
    request.confirm_return(at=ny(2026, 12, 15, 9, 0), actor=SELLER)
    assert request.resolution == "full_refund"
    assert request.refund == {"amount": FULL, "currency": "USD"}


def test_r22_the_seller_may_dispute_a_support_approved_return():
    request = escalated()
    request.decide(at=ny(2026, 12, 11, 9, 0), actor=AGENT, outcome="refund_with_return")
    request.record_return_label(at=T0, actor="platform", tracking_number="R", label_cost=900)
    request.record_return_scan(at=ny(2026, 12, 14, 9, 0), actor="carrier", scan="delivered")
    request.dispute_return(at=ny(2026, 12, 15, 9, 0), actor=SELLER, reason="x", evidence=[])
    assert request.status == Status.ESCALATED
    request.decide(at=ny(2026, 12, 16, 9, 0), actor=AGENT, outcome="platform_refund")
    assert request.decision["liable"] == "platform"


def test_r22_only_escalated_requests_are_decided_and_outcomes_are_known():
    with pytest.raises(DecisionNotDue):
        new_request().decide(at=T0, actor=AGENT, outcome="refund")
    with pytest.raises(InvalidCommand):
        escalated().decide(at=T0, actor=AGENT, outcome="refund_twice")


# --- timers and history (R8 and friends) --------------------------------------------------------


def test_r8_a_deadline_that_no_longer_applies_is_a_no_op():
    request = new_request()
    old_due = due(request, Deadline.SELLER_RESPONSE)
    request.offer_partial_refund(at=T0 + timedelta(hours=1), actor=SELLER, amount=100)
    version = request.version
    assert not request.fire_deadline(Deadline.SELLER_RESPONSE, old_due)
    assert not request.fire_deadline(Deadline.OFFER_ANSWER, old_due)  # wrong instant
    assert request.version == version
    assert request.status == Status.OFFER_PENDING


def test_r8_firing_the_same_deadline_twice_changes_nothing_the_second_time():
    request = new_request()
    deadline = due(request, Deadline.SELLER_RESPONSE)
    assert request.fire_deadline(Deadline.SELLER_RESPONSE, deadline)
    version = request.version
    assert not request.fire_deadline(Deadline.SELLER_RESPONSE, deadline)
    assert request.version == version


def test_r8_events_record_the_policy_version_and_deadline_instants():
    request = new_request()
    request.offer_partial_refund(at=T0, actor=SELLER, amount=100)
    opened, offered = request.collect_events()
    assert opened.policy_version == CURRENT_POLICY_VERSION == POLICY_2025_09.version
    assert same_instant(opened.seller_response_due, ny(2026, 12, 9, 14, 0))
    assert same_instant(offered.offer_answer_due, ny(2026, 12, 9, 14, 0))
    assert (offered.at, offered.actor) == (T0, SELLER)


def test_r8_replaying_events_rebuilds_the_same_state_without_rerunning_rules():
    request = new_request()
    request.offer_partial_refund(at=T0, actor=SELLER, amount=100)
    request.decline_offer(at=T0 + timedelta(hours=1), actor=BUYER)
    events = request.collect_events()
    replayed = None
    for domain_event in events:
        replayed = domain_event.mutate(replayed)
    assert replayed.status == request.status == Status.AWAITING_RETURN
    assert replayed.deadlines == request.deadlines


def test_r22_the_refund_is_what_the_buyer_paid_for_the_affected_items():
    # given two items with different amounts
    items = [order_item(price=1000, buyer_shipping_paid=200), order_item(price=3000)]
    request = new_request(items=items, reason="other")
    request.decide(at=T0, actor=AGENT, outcome="refund")
    assert request.refund["amount"] == 1000 + 200 + 3000 + BUYER_SHIPPING_PAID


def test_r14_illegal_moves_are_409_class_errors():
    request = new_request()
    for move in (
        lambda: request.accept_offer(at=T0, actor=BUYER),
        lambda: request.confirm_return(at=T0, actor=SELLER),
        lambda: request.return_for_refund(at=T0, actor=BUYER),
        lambda: request.decide(at=T0, actor=AGENT, outcome="refund"),
    ):
        with pytest.raises(IllegalTransition):
            move()


def test_r8_a_request_keeps_the_durations_of_the_policy_it_was_opened_under(monkeypatch):
    # given a newer policy with a shorter response time
    newer = replace(
        POLICY_2025_09, version="2099-01", seller_response_hours=24, offer_answer_hours=24
    )
    monkeypatch.setitem(POLICIES, newer.version, newer)
    old = new_request()
    fresh = SupportRequest.open(
        request_id=uuid4(),
        at=T0,
        order_id="o-new",
        buyer_id="b",
        seller_id="s",
        marketplace="US",
        currency="USD",
        items=order_items(),
        reason="defective",
        description="x",
        photos=[],
        policy_version=newer.version,
    )
    assert same_instant(due(fresh, Deadline.SELLER_RESPONSE), ny(2026, 12, 8, 14, 0))
    # then each request computes later deadlines with its own version
    old.offer_partial_refund(at=T0, actor=SELLER, amount=100)
    fresh.offer_partial_refund(at=T0, actor=SELLER, amount=100)
    assert same_instant(due(old, Deadline.OFFER_ANSWER), ny(2026, 12, 9, 14, 0))
    assert same_instant(due(fresh, Deadline.OFFER_ANSWER), ny(2026, 12, 8, 14, 0))
    assert (old.policy_version, fresh.policy_version) == (CURRENT_POLICY_VERSION, "2099-01")


def test_r8_an_unknown_policy_version_is_refused():
    with pytest.raises(UnknownPolicyError):
        SupportRequest.open(
            request_id=uuid4(),
            at=T0,
            order_id="o",
            buyer_id="b",
            seller_id="s",
            marketplace="US",
            currency="USD",
            items=order_items(),
            reason="defective",
            description="x",
            photos=[],
            policy_version="1999-01",
        )
