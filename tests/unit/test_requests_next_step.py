"""What happens next on a request, decided once (issue 27; API.md "What happens next";
services/requests/domain/next_step.py): for random histories, every step listed for a buyer, a
seller or support is accepted by the aggregate, and every step not listed is refused. Pure: the
aggregate and its rules, no I/O; the application runs every command through the same
`check_action` (tests/integration/test_requests_next_step_http.py checks that over HTTP)."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.requests.domain import (
    Action,
    Deadline,
    DomainError,
    OfferState,
    ScanStatus,
    Status,
    SupportRequest,
    WaitingOn,
)
from services.requests.domain.next_step import (
    actions,
    check_action,
    next_step,
    roles_for,
)
from services.requests.domain.remedy import fresh_record
from tests.factories import BUYER_SHIPPING_PAID, PRICE, new_request, ny, order_items

T0 = ny(2026, 12, 7, 14, 0)  # Monday, a plain business day
FULL = PRICE + BUYER_SHIPPING_PAID
ROLES = ("buyer", "seller", "support")
ACTOR = {"buyer": "buyer:buyer-1", "seller": "seller:seller-1", "support": "support:agent-1"}

# Each step with a valid payload: what the application would run once `check_action` passed.
COMMANDS: dict[Action, Callable[[SupportRequest, datetime, str], object]] = {
    Action.FULL_REFUND: lambda r, at, who: r.offer_full_refund(at=at, actor=who),
    Action.FULL_REFUND_WITH_RETURN: lambda r, at, who: r.offer_full_refund_with_return(
        at=at, actor=who
    ),
    Action.PARTIAL_REFUND: lambda r, at, who: r.offer_partial_refund(
        at=at, actor=who, amount=r.largest_partial_refund
    ),
    Action.REPLACEMENT: lambda r, at, who: r.send_replacement(
        at=at, actor=who, carrier="USPS", tracking_number=f"RPL-{r.version}"
    ),
    Action.NO_REFUND: lambda r, at, who: r.explain_no_refund(
        at=at, actor=who, message="Outside the policy.", evidence=["https://example.com/e"]
    ),
    Action.REQUEST_INFO: lambda r, at, who: r.request_information(
        at=at, actor=who, message="Which one?"
    ),
    Action.MESSAGE: lambda r, at, who: r.post_message(
        at=at, actor=who, body="Hello", attachments=[], by_buyer=who.startswith("buyer")
    ),
    Action.ACCEPT_OFFER: lambda r, at, who: r.accept_offer(at=at, actor=who),
    Action.DECLINE_OFFER: lambda r, at, who: r.decline_offer(at=at, actor=who),
    Action.CONFIRM_RETURN: lambda r, at, who: r.confirm_return(at=at, actor=who),
    Action.DISPUTE_RETURN: lambda r, at, who: r.dispute_return(
        at=at, actor=who, reason="Scratched", evidence=[]
    ),
    Action.RETURN_FOR_REFUND: lambda r, at, who: r.return_for_refund(at=at, actor=who),
    Action.ESCALATE: lambda r, at, who: r.escalate(at=at, actor=who, reason="Please help"),
    Action.FEEDBACK: lambda r, at, who: r.give_feedback(at=at, actor=who, thumbs="up"),
    # uphold_seller: the decision always open once one is due (a refund needs something left, R63)
    Action.DECIDE: lambda r, at, who: r.decide(at=at, actor=who, outcome="uphold_seller"),
    Action.ASSIGN: lambda r, at, who: r.assign_agent(at=at, actor=who, agent_id="agent-1"),
}


def _carrier(kind: str) -> Callable[[SupportRequest, datetime], object]:
    def scan(request: SupportRequest, at: datetime) -> object:
        if kind == "label":
            return request.record_return_label(
                at=at, actor="platform", tracking_number=f"RET-{request.version}", label_cost=800
            )
        if kind == "replacement_scan":
            return request.record_replacement_scan(at=at, actor="carrier", scan=ScanStatus.ACCEPTED)
        return request.record_return_scan(at=at, actor="carrier", scan=kind)

    return scan


CARRIER_STEPS = {
    kind: _carrier(kind)
    for kind in ("label", "replacement_scan", ScanStatus.ACCEPTED, ScanStatus.DELIVERED)
}

# A history: steps by whoever, each after some hours; a refused step is simply not taken.
step = st.one_of(
    st.tuples(st.sampled_from(ROLES), st.sampled_from(list(Action))),
    st.tuples(st.just("carrier"), st.sampled_from(list(CARRIER_STEPS))),
)
history = st.lists(st.tuples(step, st.integers(min_value=0, max_value=80)), max_size=10)


def _attempt(request: SupportRequest, role: str, action: Action, at: datetime) -> bool:
    """Run `action` as the application would (deadlines due first, then the aggregate's command)
    on a copy; True when the aggregate accepted it."""
    trial = copy.deepcopy(request)
    trial.fire_deadlines_due_by(at)
    try:
        COMMANDS[action](trial, at, ACTOR[role])
    except DomainError:
        return False
    return True


def _live(moves: list, routed: bool, price: int, refunded: str) -> tuple[SupportRequest, datetime]:
    items = order_items(price=price, buyer_shipping_paid=0) if price else None
    request = new_request(at=T0, reason="other" if routed else "defective", items=items)
    if refunded != "nothing":  # R63: another channel already refunded some or all of the item
        record = fresh_record(request.order_items[0])
        done = record.paid if refunded == "all" else record.paid // 2
        request.order_record = {record.item_id: replace(record, refunded=done)}
    at = T0
    for (who, what), hours in moves:
        at = at + timedelta(hours=hours)
        request.fire_deadlines_due_by(at)
        # a history is any sequence of moves: a carrier scan the rules refuse (e.g. on a closed
        # request) simply does not happen, as it would not in the service
        with contextlib.suppress(DomainError):
            if who == "carrier":
                CARRIER_STEPS[what](request, at)
            elif what in actions(request, who, at):
                COMMANDS[what](request, at, ACTOR[who])
    return request, at


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    moves=history,
    routed=st.booleans(),
    price=st.sampled_from([0, 1, 2]),
    later=st.integers(min_value=0, max_value=200),
    refunded=st.sampled_from(["nothing", "half", "all"]),
)
def test_issue27_every_listed_step_is_accepted_and_every_other_refused(
    moves: list, routed: bool, price: int, later: int, refunded: str
) -> None:
    # given a request after a random history (price 0: the example item; 1 and 2 minor units:
    # a full refund too small for any partial refund, and just big enough for one), its item
    # refunded before by nothing, half or all of what was paid (R63)
    request, at = _live(moves, routed, price, refunded)
    at = at + timedelta(hours=later)
    for role in ROLES:
        listed = actions(request, role, at)
        for action in Action:
            # when the caller of that role tries each step at that moment
            if role not in roles_for(action):
                # then a step of another role is never listed, and the application's check
                # refuses it
                assert action not in listed
                try:
                    check_action(request, role, action, at)
                except DomainError:
                    continue
                raise AssertionError(f"{role} may {action}")
            # then the aggregate accepts it exactly when it is listed
            assert _attempt(request, role, action, at) == (action in listed), (
                role,
                action,
                request.status,
                listed,
            )


def test_issue27_r63_the_partial_refund_limit_is_what_is_left_when_less() -> None:
    # given a request whose item had most of its price refunded through another channel (R63)
    request = new_request(at=T0)
    record = fresh_record(request.order_items[0])
    request.order_record = {record.item_id: replace(record, refunded=record.paid - 400)}
    # then the largest partial refund is less than what is left, and that amount is accepted
    assert next_step(request, "seller", T0).limits == {"partial_refund": {"max_amount": 399}}
    request.offer_partial_refund(at=T0, actor=ACTOR["seller"], amount=399)


def test_issue27_the_partial_refund_limit_is_the_largest_amount_accepted() -> None:
    # given a request awaiting the seller
    request = new_request(at=T0)
    step = next_step(request, "seller", T0)
    # then the limit is one minor unit below the full refund (R13), and that amount is accepted
    assert step.limits == {"partial_refund": {"max_amount": FULL - 1}}
    request.offer_partial_refund(at=T0, actor=ACTOR["seller"], amount=FULL - 1)
    # and no limit is listed for the buyer, who may not offer one
    assert next_step(request, "buyer", T0).limits == {}


def test_issue27_a_passed_seller_deadline_stays_in_view_as_overdue_until_the_seller_responds() -> (
    None
):
    # given a request whose seller response deadline passed (R8, R19)
    request = new_request(at=T0)
    due = request.deadlines[Deadline.SELLER_RESPONSE]
    later = due + timedelta(hours=1)
    request.fire_deadlines_due_by(later)
    # then the state keeps the deadline and says it is overdue, and the seller still owes the step
    step = next_step(request, "seller", later)
    assert step.deadlines["seller_response"] == due
    assert step.overdue == ["seller_response"]
    assert step.waiting_on is WaitingOn.SELLER
    # when the seller responds, the deadline is gone
    request.request_information(at=later, actor=ACTOR["seller"], message="Which one?")
    assert "seller_response" not in next_step(request, "seller", later).deadlines


def test_issue27_b8_an_overdue_replacement_shows_the_buyers_return_window() -> None:
    # given a replacement not shipped within its 48 business hours (R16)
    request = new_request(at=T0)
    request.send_replacement(at=T0, actor=ACTOR["seller"], carrier="USPS", tracking_number="R1")
    due = request.deadlines[Deadline.REPLACEMENT_SHIP]
    later = due + timedelta(hours=1)
    step = next_step(request, "buyer", later)
    # then the shipping deadline stays, overdue, and the buyer's window to return is in view
    assert step.overdue == ["replacement_ship"]
    window = step.deadlines["return_for_refund"]
    assert window > later
    assert step.actions == [Action.MESSAGE, Action.RETURN_FOR_REFUND]
    # and the explanation says how long the window is and which days it skipped
    explanation = step.explanations["return_for_refund"]
    assert explanation.business_hours_given == 5 * 24
    assert explanation.skipped  # five business days always span a weekend


def test_issue27_b7_a_promised_replacement_waits_on_the_seller_for_every_caller() -> None:
    # given a replacement promised, not yet scanned by the carrier
    request = new_request(at=T0)
    request.send_replacement(at=T0, actor=ACTOR["seller"], carrier="USPS", tracking_number="R1")
    # then it waits on the seller (who must hand it over), whoever asks
    assert {next_step(request, role, T0).waiting_on for role in ROLES} == {WaitingOn.SELLER}
    assert request.status == Status.REPLACEMENT_PENDING


def test_issue27_b9_a_declined_or_lapsed_offer_is_not_current() -> None:
    # given two offers: one declined, one left to lapse (R14, R15)
    declined = new_request(at=T0)
    declined.offer_partial_refund(at=T0, actor=ACTOR["seller"], amount=500)
    declined.decline_offer(at=T0, actor=ACTOR["buyer"])
    lapsed = new_request(at=T0)
    lapsed.offer_partial_refund(at=T0, actor=ACTOR["seller"], amount=700)
    lapsed.fire_deadlines_due_by(T0 + timedelta(days=10))
    # then each says what became of it
    assert declined.offer["state"] == OfferState.DECLINED
    assert lapsed.offer["state"] == OfferState.LAPSED


def test_issue27_explanations_name_the_skipped_weekend_and_holiday() -> None:
    # given a request opened on the Wednesday before Thanksgiving (US)
    request = new_request(at=ny(2026, 11, 25, 10, 0))
    explanation = next_step(request, "seller", ny(2026, 11, 25, 10, 0)).explanations[
        "seller_response"
    ]
    # then its 48 business hours skipped Thanksgiving and the weekend, by name
    assert explanation.business_hours_given == 48
    skipped = [(s["first"], s["last"], s["holiday"]) for s in explanation.skipped]
    assert ("2026-11-26", "2026-11-26", "Thanksgiving Day") in skipped
    assert ("2026-11-28", "2026-11-29", None) in skipped
