"""The seller programme's pure rules (R66-R68) and who is told (R66, R67): no I/O."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.notifications.domain import RequestFacts, plan
from services.notifications.rendering import Renderer
from services.requests.domain import OrderItem, SupportRequest
from services.requests.domain.order import routing_to_support
from services.requests.domain.programme import (
    AlreadyEnrolled,
    EnrolmentRule,
    LeavingRefused,
    ProgrammeRules,
    Rollout,
    SellerProgramme,
    SellerRegistrationConflict,
)

AT = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
GRADUAL = ProgrammeRules(rollout=Rollout.GRADUAL)
COMPLETE = ProgrammeRules()
ITEM = OrderItem("i1", "Card", "trading_cards", False, 2500, 2200, 500, 103)


def _fold(state: SellerProgramme, events: list) -> SellerProgramme:
    for event in events:
        state = state.apply(event)
    return state


def test_r66_complete_rollout_enrols_every_seller_without_a_record() -> None:
    assert SellerProgramme("s-1").enrolled(COMPLETE) is True
    assert SellerProgramme("s-1").enrolled(GRADUAL) is False


@pytest.mark.parametrize(
    ("registered_at", "marketplace", "enrolled"),
    [
        (datetime(2025, 12, 1, 5, 0, tzinfo=UTC), "US", True),  # 00:00 in New York
        (datetime(2025, 12, 1, 4, 59, tzinfo=UTC), "US", False),  # still 30 Nov in New York
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "US", True),
        (datetime(2026, 3, 1, 12, 0, tzinfo=UTC), "NL", False),  # NL: no start date by default
    ],
)
def test_r66_registration_enrols_from_the_marketplaces_start_date_in_its_own_calendar(
    registered_at: datetime, marketplace: str, enrolled: bool
) -> None:
    events = SellerProgramme("s-1").register(
        at=AT, actor="platform", marketplace=marketplace, registered_at=registered_at, rules=GRADUAL
    )
    state = _fold(SellerProgramme("s-1"), events)
    assert state.enrolled(GRADUAL) is enrolled
    if enrolled:
        assert state.enrolment_rule == EnrolmentRule.REGISTERED_ON_OR_AFTER_START
    assert state.registered_at == registered_at


def test_r66_the_start_date_is_a_setting_per_marketplace() -> None:
    rules = ProgrammeRules(rollout=Rollout.GRADUAL, start_dates={"NL": date(2026, 2, 1)})
    events = SellerProgramme("s-1").register(
        at=AT,
        actor="platform",
        marketplace="NL",
        registered_at=datetime(2026, 2, 1, 0, 30, tzinfo=UTC),  # 01:30 in Amsterdam
        rules=rules,
    )
    assert _fold(SellerProgramme("s-1"), events).enrolled(rules)


def test_r66_a_registration_in_a_complete_rollout_records_no_enrolment() -> None:
    events = SellerProgramme("s-1").register(
        at=AT, actor="platform", marketplace="US", registered_at=AT, rules=COMPLETE
    )
    assert [e.type for e in events] == ["registered"]


def test_r66_registration_is_idempotent_and_a_contradiction_is_refused() -> None:
    first = SellerProgramme("s-1").register(
        at=AT, actor="platform", marketplace="US", registered_at=AT, rules=GRADUAL
    )
    state = _fold(SellerProgramme("s-1"), first)
    again = dict(at=AT, actor="platform", marketplace="US", rules=GRADUAL)
    assert state.register(registered_at=AT, **again) == []  # type: ignore[arg-type]
    with pytest.raises(SellerRegistrationConflict):
        state.register(registered_at=AT + timedelta(days=1), **again)  # type: ignore[arg-type]


def test_r66_enrolment_is_idempotent_records_who_and_why_and_leaving_is_refused() -> None:
    events = SellerProgramme("s-1").enrol(
        at=AT, actor="platform:ops", rule=EnrolmentRule.WAVE, wave="w1"
    )
    state = _fold(SellerProgramme("s-1"), events)
    assert (state.enrolled_at, state.enrolled_by, state.enrolment_rule) == (
        AT,
        "platform:ops",
        "wave",
    )
    assert events[0].data == {"rule": "wave", "wave": "w1"}
    assert state.enrol(at=AT, actor="platform:other", rule=EnrolmentRule.PLATFORM) == []
    with pytest.raises(LeavingRefused):
        state.leave()


def test_r66_a_request_of_a_seller_not_enrolled_is_routed_to_support() -> None:
    # the ground wins over R6's: the seller handles nothing at all
    assert routing_to_support("defective", [ITEM], False, seller_enrolled=False) == (
        "seller_not_enrolled"
    )
    assert routing_to_support("other", [ITEM], True, seller_enrolled=False) == (
        "seller_not_enrolled"
    )
    assert routing_to_support("defective", [ITEM], False, seller_enrolled=True) is None
    request = SupportRequest.open(
        request_id=None,
        at=AT,
        order_id="o-1",
        buyer_id="b-1",
        seller_id="s-1",
        marketplace="US",
        currency="USD",
        items=[ITEM],
        reason="defective",
        description="broken",
        photos=[],
        seller_enrolled=False,
    )
    assert request.status == "escalated" and request.routed_to_support == "seller_not_enrolled"
    assert request.deadlines == {}


def test_r67_the_waitlist_is_joined_once_and_not_by_an_enrolled_seller() -> None:
    events = SellerProgramme("s-1").join_waitlist(at=AT, actor="seller:s-1", rules=GRADUAL)
    state = _fold(SellerProgramme("s-1"), events)
    assert state.waitlisted_at == AT
    assert state.join_waitlist(at=AT, actor="seller:s-1", rules=GRADUAL) == []
    with pytest.raises(AlreadyEnrolled):
        SellerProgramme("s-2").join_waitlist(at=AT, actor="seller:s-2", rules=COMPLETE)


def test_r68_the_return_address_in_force_is_the_sellers_or_else_the_platforms() -> None:
    mine = {"name": "Me", "line1": "1 Main St", "line2": "", "city": "Austin", "region": "TX",
            "postal_code": "78701", "country": "US"}  # fmt: skip
    assert GRADUAL.return_address(mine, "US") == {**mine, "source": "seller"}
    platform = GRADUAL.return_address(None, "NL")
    assert platform["source"] == "platform" and platform["country"] == "NL"
    events = SellerProgramme("s-1").set_return_address(at=AT, actor="seller:s-1", address=mine)
    state = _fold(SellerProgramme("s-1"), events)
    assert state.return_address == mine
    assert state.set_return_address(at=AT, actor="seller:s-1", address=mine) == []


_commands = st.lists(
    st.sampled_from(["enrol", "wave", "waitlist", "address", "register"]), max_size=12
)


def _run(state: SellerProgramme, command: str, at: datetime, n: int) -> list:
    if command == "enrol":
        return state.enrol(at=at, actor="platform:p", rule=EnrolmentRule.PLATFORM)
    if command == "wave":
        return state.enrol(at=at, actor="cli", rule=EnrolmentRule.WAVE, wave="w")
    if command == "waitlist":
        return state.join_waitlist(at=at, actor="seller:s-1", rules=GRADUAL)
    if command == "address":
        return state.set_return_address(at=at, actor="seller:s-1", address={"line1": str(n % 2)})
    return state.register(
        at=at, actor="platform", marketplace="US", registered_at=AT, rules=GRADUAL
    )


@settings(max_examples=60, deadline=None)
@given(_commands)
def test_r66_a_programme_replayed_from_its_history_is_the_programme(commands: list[str]) -> None:
    # given any sequence of commands (refused ones skipped)
    state, history = SellerProgramme("s-1"), []
    for n, command in enumerate(commands):
        at = AT + timedelta(hours=n)
        try:
            events = _run(state, command, at, n)
        except AlreadyEnrolled:
            continue
        history += events
        state = _fold(state, events)
    # then the fold of the history is the state, versions run 1..n, and one enrolment at most
    assert SellerProgramme.replay("s-1", history) == state
    assert [e.version for e in history] == list(range(1, len(history) + 1))
    assert sum(e.type == "enrolled" for e in history) <= 1


# --- who is told (R66) -----------------------------------------------------------------------------

OPENED = {
    "request_id": "r-1",
    "version": 1,
    "at": AT.isoformat(),
    "actor": "buyer:b-1",
    "order_id": "o-1",
    "buyer_id": "b-1",
    "seller_id": "s-1",
    "marketplace": "US",
    "currency": "USD",
    "items": [],
    "reason": "defective",
    "description": "Broken",
    "photos": [],
    "policy_version": "2025-09",
    "routed_to_support": "seller_not_enrolled",
    "seller_response_due": None,
}


def test_r66_the_seller_not_enrolled_is_told_by_email_and_in_app_and_support_queues_it() -> None:
    p = plan(None, "opened", OPENED, "support-team")
    told = {(d.recipient_id, tuple(d.channels)) for d in p.deliveries}
    assert ("s-1", ("email", "in_app")) in told
    assert {d.recipient_id for d in p.deliveries} == {"b-1", "s-1", "support-team"}
    assert p.schedule == ()  # no seller deadline, no reminder


@pytest.mark.parametrize(("locale", "words"), [("en", "waitlist"), ("nl", "wachtlijst")])
def test_r66_the_seller_is_told_what_happened_and_how_to_join(locale: str, words: str) -> None:
    facts = RequestFacts(
        request_id="r-1",
        buyer_id="b-1",
        seller_id="s-1",
        order_id="o-1",
        marketplace="US",
        currency="USD",
        reason="defective",
        routed_to_support="seller_not_enrolled",
    )
    context = {
        **facts.__dict__,
        "audience": "seller",
        "recipient_id": "s-1",
        "counterpart_id": "b-1",
        "event": "opened",
        "e": OPENED,
        "link": "http://127.0.0.1:8000/v1/support-requests/r-1",
        "due_at": None,
    }
    text = Renderer().render("opened", locale, context)
    assert words in text.body and "/v1/sellers/s-1/waitlist" in text.body
    assert "o-1" in text.subject


# --- R68: the e-mails that tell the buyer to ship show where -------------------------------------

ADDRESS = {
    "name": "Card Shop",
    "line1": "1 Main St",
    "line2": "Suite 5",
    "city": "Austin",
    "region": "TX",
    "postal_code": "78701",
    "country": "US",
    "source": "seller",
}
SHIP_STEPS = {
    "return_required": {"return_dropoff_due": AT.isoformat(), "auto_claim": None},
    "offer_declined": {"return_dropoff_due": AT.isoformat()},
    "return_for_refund_chosen": {"return_dropoff_due": AT.isoformat()},
    "support_decided": {
        "outcome": "refund_with_return",
        "liable": "seller",
        "amount": 3000,
        "return_dropoff_due": AT.isoformat(),
        "evidence": [],
    },
}


@pytest.mark.parametrize("locale", ["en", "nl"])
@pytest.mark.parametrize("kind", sorted(SHIP_STEPS))
def test_r68_the_buyer_is_told_where_to_ship_the_return(kind: str, locale: str) -> None:
    base = {
        "audience": "buyer",
        "recipient_id": "b-1",
        "counterpart_id": "s-1",
        "request_id": "r-1",
        "buyer_id": "b-1",
        "seller_id": "s-1",
        "order_id": "o-1",
        "marketplace": "US",
        "currency": "USD",
        "reason": "defective",
        "event": kind,
        "link": "http://127.0.0.1:8000/v1/support-requests/r-1",
        "due_at": None,
    }
    renderer = Renderer()
    event = {"request_id": "r-1", "version": 3, "at": AT.isoformat(), "actor": "x"}
    event |= SHIP_STEPS[kind]
    shown = renderer.render(kind, locale, {**base, "e": {**event, "return_address": ADDRESS}})
    assert (
        "1 Main St" in shown.body and "Suite 5" in shown.body and "78701 Austin, TX" in shown.body
    )
    # an event recorded before the address was: no address, and the e-mail still renders
    older = renderer.render(kind, locale, {**base, "e": event})
    assert "Main St" not in older.body and "o-1" in older.body
    # the seller's copy does not repeat their own address
    seller = renderer.render(
        kind, locale, {**base, "audience": "seller", "e": {**event, "return_address": ADDRESS}}
    )
    assert "1 Main St" not in seller.body
