"""Durable business-time deadlines through the application (R8, R11, R12, R14-R19), on both backends.

Timers are rows written in the transaction of the event that starts them; `fire_due(now)` applies
the due ones. Time only moves when a test moves the frozen clock.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from services.requests.application import (
    Actor,
    SellerResponse,
    open_application,
)
from services.requests.domain import (
    EscalationNotAllowed,
    NoOfferPending,
    ResponseNotDue,
    ReturnForRefundNotAllowed,
)
from services.requests.domain.policy import CURRENT_POLICY_VERSION
from services.requests.persistence import store
from tests.conftest import START, close_application
from tests.factories import (
    BUYER_SHIPPING_PAID,
    PRICE,
    ny,
    open_on_fresh_order,
    return_label_created,
    shipment_scanned,
)

FULL = PRICE + BUYER_SHIPPING_PAID
SECOND = timedelta(seconds=1)


def same_instant(a: datetime | None, b: datetime) -> bool:
    return a is not None and a.astimezone(UTC) == b.astimezone(UTC)


def deadline(opened, kind: str) -> datetime:
    due = opened.view()["deadlines"][kind]
    assert due is not None, f"no {kind} deadline: {opened.view()['deadlines']}"
    return due


def events(opened) -> list[dict]:
    return opened.app.history(opened.id, opened.auditor)


def types(opened) -> list[str]:
    return [e["type"] for e in events(opened)]


def until(app, clock, moment: datetime) -> int:
    """Moves the clock to `moment` and runs the timer loop once, like the admin clock endpoint."""
    clock.set(moment)
    return app.fire_due()


def deliver_return(app, clock, opened) -> None:
    label = return_label_created(opened.id, clock.now(), label_cost=650)
    app.record_return_label(label)
    app.record_shipment_scan(shipment_scanned(label.tracking_number, "delivered", clock.now()))


# --- R8 / R19 seller response -------------------------------------------------------------------


def test_r8_the_response_deadline_fires_at_48_business_hours_not_before(app, clock):
    opened = open_on_fresh_order(app)
    due = deadline(opened, "seller_response")
    assert same_instant(due, ny(2026, 12, 9, 14, 0))
    # a second early: nothing
    assert until(app, clock, due - SECOND) == 0
    assert opened.view()["may_escalate"] is False
    # at the deadline: the miss is recorded by the system, at the deadline's instant
    assert until(app, clock, due) == 1
    overdue = events(opened)[-1]
    assert (overdue["type"], overdue["actor"], overdue["at"]) == (
        "seller_response_overdue",
        "system",
        due,
    )
    # and the passed deadline stays listed, marked overdue, until the seller answers (API.md,
    # "What happens next"): the buyer may escalate now
    view = opened.view()
    assert same_instant(view["deadlines"]["seller_response"], due)
    assert view["overdue"] == ["seller_response"]
    assert view["may_escalate"] is True


def test_r1_a_friday_request_is_not_overdue_over_the_weekend(app, clock):
    clock.set(ny(2026, 12, 11, 15, 0))
    opened = open_on_fresh_order(app)
    assert until(app, clock, ny(2026, 12, 14, 23, 59)) == 0  # Monday night: 33 business hours
    assert until(app, clock, ny(2026, 12, 15, 15, 0)) == 1  # Tuesday 15:00
    assert types(opened)[-1] == "seller_response_overdue"


def test_r2_a_holiday_monday_keeps_the_request_on_time(app, clock):
    clock.set(ny(2027, 1, 15, 15, 0))  # Friday before Martin Luther King Jr. Day
    opened = open_on_fresh_order(app)
    assert until(app, clock, ny(2027, 1, 19, 15, 0)) == 0
    assert until(app, clock, ny(2027, 1, 20, 15, 0)) == 1
    assert types(opened) == ["opened", "seller_response_overdue"]


def test_r19_the_buyer_may_escalate_once_the_deadline_passed(app, clock):
    opened = open_on_fresh_order(app)
    with pytest.raises(EscalationNotAllowed):
        app.escalate(opened.id, opened.buyer, reason="hello?")
    until(app, clock, deadline(opened, "seller_response") + timedelta(hours=1))
    app.escalate(opened.id, opened.buyer, reason="no answer")
    assert opened.view()["status"] == "escalated"


def test_r19_escalating_just_after_the_deadline_needs_no_timer_run(app, clock):
    # given the deadline has passed but the timer loop has not run yet
    opened = open_on_fresh_order(app)
    clock.set(deadline(opened, "seller_response") + SECOND)
    # when the buyer escalates, the rule holds by the clock, not by the timer loop's schedule
    app.escalate(opened.id, opened.buyer, reason="no answer")
    assert types(opened)[-2:] == ["seller_response_overdue", "escalated"]
    assert opened.state().escalation["grounds"] == ["no_response"]
    assert app.fire_due() == 0


def test_r8_a_late_seller_response_is_still_accepted_and_the_miss_is_kept(app, clock):
    opened = open_on_fresh_order(app)
    clock.set(deadline(opened, "seller_response") + timedelta(hours=2))
    app.respond(opened.id, opened.seller, SellerResponse("full_refund"))
    assert types(opened) == ["opened", "seller_response_overdue", "full_refund_offered"]
    assert app.fire_due() == 0


# --- R11 / R12 returns --------------------------------------------------------------------------


def test_r11_an_undropped_return_cancels_after_five_business_days(app, clock):
    opened = open_on_fresh_order(app)
    app.respond(opened.id, opened.seller, SellerResponse("full_refund_with_return"))
    due = deadline(opened, "return_dropoff")
    assert same_instant(due, ny(2026, 12, 14, 14, 0))
    assert until(app, clock, due - SECOND) == 0
    assert until(app, clock, due) == 1
    view = opened.view()
    assert (view["status"], view["resolution"], view["refund"]) == (
        "cancelled",
        "return_not_shipped",
        None,
    )
    # and the item is free for a new request (R9)
    again = app.open_request(
        opened.buyer,
        order_id=opened.order.order_id,
        item_ids=opened.request.item_ids,
        reason="defective",
        description="still broken",
        photos=[],
    )
    assert again.id != opened.id


def test_r11_a_return_dropped_off_in_time_is_not_cancelled(app, clock):
    opened = open_on_fresh_order(app)
    app.respond(opened.id, opened.seller, SellerResponse("full_refund_with_return"))
    due = deadline(opened, "return_dropoff")
    label = return_label_created(opened.id, clock.now())
    app.record_return_label(label)
    clock.advance(timedelta(hours=20))
    app.record_shipment_scan(shipment_scanned(label.tracking_number, "accepted", clock.now()))
    assert opened.view()["status"] == "return_in_transit"
    assert until(app, clock, due + timedelta(days=1)) == 0
    assert opened.view()["status"] == "return_in_transit"


def test_r12_an_uninspected_return_is_auto_confirmed_after_two_business_days(app, clock):
    opened = open_on_fresh_order(app)
    app.respond(opened.id, opened.seller, SellerResponse("full_refund_with_return"))
    clock.set(ny(2026, 12, 11, 10, 0))  # delivered Friday 10:00
    deliver_return(app, clock, opened)
    due = deadline(opened, "return_inspection")
    assert same_instant(due, ny(2026, 12, 15, 10, 0))  # Tuesday, the weekend skipped
    assert until(app, clock, due - SECOND) == 0
    assert until(app, clock, due) == 1
    view = opened.view()
    assert (view["status"], view["resolution"]) == ("resolved", "full_refund")
    assert view["refund"] == {"amount": FULL, "currency": "USD"}
    assert events(opened)[-1]["type"] == "return_auto_confirmed"


def test_r12_a_confirmed_return_leaves_no_inspection_timer(app, clock):
    opened = open_on_fresh_order(app)
    app.respond(opened.id, opened.seller, SellerResponse("full_refund_with_return"))
    deliver_return(app, clock, opened)
    app.confirm_return(opened.id, opened.seller)
    assert app.next_deadline() is None
    assert until(app, clock, START + timedelta(days=10)) == 0
    assert types(opened)[-1] == "return_confirmed"


# --- R14 / R15 offers ---------------------------------------------------------------------------


def test_r14_a_declined_offer_starts_the_return_dropoff_timer(app, clock):
    opened = open_on_fresh_order(app)
    app.respond(opened.id, opened.seller, SellerResponse("partial_refund", amount=1000))
    clock.advance(timedelta(hours=1))
    app.decline_offer(opened.id, opened.buyer)
    assert opened.view()["deadlines"]["offer_answer"] is None
    due = deadline(opened, "return_dropoff")
    assert same_instant(due, ny(2026, 12, 14, 15, 0))
    assert until(app, clock, due) == 1
    assert opened.view()["resolution"] == "return_not_shipped"


def test_r14_an_answer_after_the_offer_deadline_is_refused_even_before_the_timer_ran(app, clock):
    opened = open_on_fresh_order(app)
    app.respond(opened.id, opened.seller, SellerResponse("partial_refund", amount=1000))
    clock.set(deadline(opened, "offer_answer") + SECOND)
    with pytest.raises(NoOfferPending):
        app.accept_offer(opened.id, opened.buyer)
    assert opened.view()["refund"] is None


def test_r15_an_unanswered_offer_lapses_back_to_the_seller(app, clock):
    opened = open_on_fresh_order(app)
    clock.advance(timedelta(hours=2))
    app.respond(opened.id, opened.seller, SellerResponse("partial_refund", amount=1000))
    due = deadline(opened, "offer_answer")
    assert same_instant(due, ny(2026, 12, 9, 16, 0))
    assert until(app, clock, due) == 1
    view = opened.view()
    assert view["status"] == "awaiting_seller"
    assert all(v is None for v in view["deadlines"].values())  # no new deadline
    assert view["may_escalate"] is True
    assert types(opened)[-1] == "offer_lapsed"
    with pytest.raises(NoOfferPending):
        app.accept_offer(opened.id, opened.buyer)
    # nothing else will fire for this request
    assert until(app, clock, START + timedelta(days=30)) == 0
    app.escalate(opened.id, opened.buyer, reason="no agreement")
    assert opened.state().escalation["grounds"] == ["offer_lapsed"]


# --- R16 replacement ----------------------------------------------------------------------------


def replacement(app, opened, tracking="9400-RPL-1"):
    app.respond(
        opened.id,
        opened.seller,
        SellerResponse("replacement", carrier="USPS", tracking_number=tracking),
    )


def test_r16_return_for_refund_is_refused_before_the_replacement_is_overdue(app, clock):
    opened = open_on_fresh_order(app)
    replacement(app, opened)
    clock.set(deadline(opened, "replacement_ship") - timedelta(minutes=5))
    with pytest.raises(ReturnForRefundNotAllowed):
        app.return_for_refund(opened.id, opened.buyer)
    assert opened.view()["status"] == "replacement_pending"


def test_r16_an_overdue_replacement_lets_the_buyer_return_for_a_full_refund(app, clock):
    opened = open_on_fresh_order(app)
    replacement(app, opened)
    due = deadline(opened, "replacement_ship")
    assert same_instant(due, ny(2026, 12, 9, 14, 0))
    assert until(app, clock, due) == 1
    assert types(opened)[-1] == "replacement_overdue"
    assert same_instant(opened.state().replacement["return_until"], ny(2026, 12, 16, 14, 0))
    # when the buyer chooses to return the original
    clock.advance(timedelta(hours=3))
    app.return_for_refund(opened.id, opened.buyer)
    view = opened.view()
    assert view["status"] == "awaiting_return"
    assert same_instant(view["deadlines"]["return_dropoff"], ny(2026, 12, 16, 14, 0))
    # then the R11/R12 flow: delivered, not inspected, auto-confirmed
    deliver_return(app, clock, opened)
    until(app, clock, deadline(opened, "return_inspection"))
    view = opened.view()
    assert (view["resolution"], view["refund"]["amount"]) == ("full_refund", FULL)


def test_r16_the_replacement_scan_before_the_deadline_resolves_and_disarms_the_timer(app, clock):
    opened = open_on_fresh_order(app)
    replacement(app, opened, tracking="9400-RPL-2")
    due = deadline(opened, "replacement_ship")
    clock.advance(timedelta(hours=30))
    app.record_shipment_scan(shipment_scanned("9400-RPL-2", "in_transit", clock.now()))
    assert opened.view()["resolution"] == "replacement"
    assert until(app, clock, due + timedelta(days=10)) == 0
    with pytest.raises(ReturnForRefundNotAllowed):
        app.return_for_refund(opened.id, opened.buyer)


# --- R17 no refund ------------------------------------------------------------------------------


def test_r17_no_refund_auto_closes_after_five_business_days(app, clock):
    opened = open_on_fresh_order(app)
    app.respond(
        opened.id, opened.seller, SellerResponse("no_refund", message="used", evidence=("a.jpg",))
    )
    due = deadline(opened, "no_refund_close")
    assert same_instant(due, ny(2026, 12, 14, 14, 0))
    assert until(app, clock, due - SECOND) == 0
    assert until(app, clock, due) == 1
    view = opened.view()
    assert (view["status"], view["resolution"], view["refund"]) == ("resolved", "no_refund", None)
    with pytest.raises(EscalationNotAllowed):
        app.escalate(opened.id, opened.buyer, reason="too late")


def test_r17_a_buyer_reply_cancels_the_auto_close(app, clock):
    opened = open_on_fresh_order(app)
    app.respond(
        opened.id, opened.seller, SellerResponse("no_refund", message="used", evidence=("a.jpg",))
    )
    close_due = deadline(opened, "no_refund_close")
    clock.set(ny(2026, 12, 10, 9, 0))
    app.post_message(opened.id, opened.buyer, body="It was new, see video", attachments=["v.mp4"])
    view = opened.view()
    assert view["deadlines"]["no_refund_close"] is None
    assert view["status"] == "awaiting_seller"
    # and the seller owes a response again, 48 business hours from the reply (Mon 09:00)
    assert same_instant(deadline(opened, "seller_response"), ny(2026, 12, 14, 9, 0))
    # when the old auto-close instant passes, only that new seller deadline fires
    assert until(app, clock, close_due) == 1
    assert types(opened)[-1] == "seller_response_overdue"
    assert "no_refund_closed" not in types(opened)
    assert opened.view()["status"] == "awaiting_seller"


# --- R18 information requests -------------------------------------------------------------------


def test_r18_asking_for_information_stops_the_response_clock(app, clock):
    opened = open_on_fresh_order(app)
    first_due = deadline(opened, "seller_response")
    app.respond(opened.id, opened.seller, SellerResponse("request_info", message="Which size?"))
    assert until(app, clock, first_due + timedelta(days=5)) == 0
    assert "seller_response_overdue" not in types(opened)


def test_r18_the_buyer_answer_restarts_a_48_business_hour_deadline(app, clock):
    opened = open_on_fresh_order(app)
    app.respond(opened.id, opened.seller, SellerResponse("request_info", message="Which size?"))
    clock.set(ny(2026, 12, 11, 11, 0))  # Friday
    app.post_message(opened.id, opened.buyer, body="Size 9", attachments=[])
    due = deadline(opened, "seller_response")
    assert same_instant(due, ny(2026, 12, 15, 11, 0))  # Tuesday
    assert until(app, clock, due - SECOND) == 0
    assert until(app, clock, due) == 1
    assert types(opened)[-1] == "seller_response_overdue"
    app.escalate(opened.id, opened.buyer, reason="no answer after my details")
    assert opened.state().escalation["grounds"] == ["no_response", "information_exchange"]


# --- the timer machinery ------------------------------------------------------------------------


def test_r8_fire_due_is_idempotent(app, clock):
    opened = [open_on_fresh_order(app) for _ in range(3)]
    clock.advance(timedelta(days=3))
    assert app.fire_due() == 3
    history = [types(o) for o in opened]
    assert app.fire_due() == 0
    assert app.fire_due(clock.now() + timedelta(hours=1)) == 0
    assert [types(o) for o in opened] == history


def test_r8_a_deadline_that_no_longer_applies_is_a_no_op(app, clock):
    opened = open_on_fresh_order(app)
    old_due = deadline(opened, "seller_response")
    clock.advance(timedelta(hours=1))
    app.respond(opened.id, opened.seller, SellerResponse("partial_refund", amount=500))
    # given a timer row left behind for an instant the request no longer holds
    with app.recorder.transaction() as session:
        session.execute(
            insert(store.deadlines).values(
                request_id=str(opened.id),
                kind="seller_response",
                due_at=old_due,
                policy_version=CURRENT_POLICY_VERSION,
            )
        )
    before = types(opened)
    # when it comes due, it changes nothing and is cleared
    assert until(app, clock, old_due) == 0
    assert types(opened) == before
    assert opened.view()["status"] == "offer_pending"
    remaining = app.due_deadlines(clock.now() + timedelta(days=365))
    assert [(kind, due) for _, kind, due in remaining] == [
        ("offer_answer", ny(2026, 12, 9, 15, 0).astimezone(UTC))
    ]


def test_r8_deadline_rows_record_the_policy_version_and_instant(app):
    opened = open_on_fresh_order(app)
    with app.recorder.transaction(commit=False) as session:
        rows = session.execute(select(store.deadlines)).all()
    assert [(r.request_id, r.kind, r.policy_version) for r in rows] == [
        (str(opened.id), "seller_response", CURRENT_POLICY_VERSION)
    ]
    assert same_instant(
        rows[0].due_at if rows[0].due_at.tzinfo else rows[0].due_at.replace(tzinfo=UTC),
        ny(2026, 12, 9, 14, 0),
    )
    opened_event = events(opened)[0]
    assert opened_event["data"]["policy_version"] == CURRENT_POLICY_VERSION


def test_r8_deadlines_survive_a_restart(database_url, clock):
    # given a request opened by one process, which then stops
    first = open_application(database_url, clock)
    try:
        opened = open_on_fresh_order(first)
    finally:
        close_application(first)
    # when a new process starts after the deadline
    clock.advance(timedelta(days=3))
    second = open_application(database_url, clock)
    try:
        assert same_instant(second.next_deadline(), ny(2026, 12, 9, 14, 0))
        assert second.fire_due() == 1
        history = second.history(opened.id, Actor("auditor", "a"))
        assert history[-1]["type"] == "seller_response_overdue"
    finally:
        close_application(second)


def test_r8_one_timer_run_fires_every_due_deadline_at_its_own_instant(app, clock):
    # given an offer made Monday, and another request left unanswered
    opened = open_on_fresh_order(app)
    app.respond(opened.id, opened.seller, SellerResponse("partial_refund", amount=500))
    other = open_on_fresh_order(app)
    # when both timers are long overdue, one run fires both, each at its own instant
    assert until(app, clock, START + timedelta(days=7)) == 2
    assert events(opened)[-1]["at"] == events(other)[-1]["at"] == ny(2026, 12, 9, 14, 0)


def test_r8_the_seller_cannot_respond_twice_after_a_timer_resolved_it(app, clock):
    opened = open_on_fresh_order(app)
    app.respond(
        opened.id, opened.seller, SellerResponse("no_refund", message="used", evidence=("a",))
    )
    until(app, clock, deadline(opened, "no_refund_close"))
    with pytest.raises(ResponseNotDue):
        app.respond(opened.id, opened.seller, SellerResponse("full_refund"))
