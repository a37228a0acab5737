"""The support rating's rules (R40-R47), on the pure domain: properties first, then examples.

Histories are built from published request events folded with `evolve`, exactly as the projection
does; the properties then add one event of a kind and compare the rating before and after.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from services.ratings.domain import (
    LEVELS_BEST_FIRST,
    Code,
    Formula,
    InvalidFormula,
    Level,
    Rating,
    RequestFacts,
    UnknownRequest,
    Window,
    evolve,
    rate,
)

NOW = datetime(2027, 3, 8, 14, 0, tzinfo=UTC)
FORMULA = Formula()
SELLER = "seller-1"

# --- event catalogue, classified from the SPEC (not from the implementation) ---------------------

R43_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("full_refund_offered", {"amount": 3000, "auto_claim": None}),
    ("offer_accepted", {"amount": 1000}),
    ("replacement_shipped", {}),
    ("return_confirmed", {"amount": 3000}),
    ("return_auto_confirmed", {"amount": 3000}),
    ("feedback_given", {"thumbs": "up"}),
]
R44_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("escalated", {"reason": "no answer", "grounds": ["no_response"]}),
    ("escalated", {"reason": "still waiting", "grounds": ["no_response", "information_exchange"]}),
    ("support_decided", {"outcome": "refund", "liable": "seller", "amount": 3000}),
    ("support_decided", {"outcome": "refund_with_return", "liable": "seller", "amount": 3000}),
    ("feedback_given", {"thumbs": "down"}),
]
R45_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("no_refund_explained", {"message": "outside the policy", "evidence": ["a.jpg"]}),
    ("no_refund_closed", {}),
    ("support_decided", {"outcome": "uphold_seller", "liable": None, "amount": None}),
    ("support_decided", {"outcome": "platform_refund", "liable": "platform", "amount": 3000}),
]
OTHER_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("message_posted", {"body": "hi", "attachments": [], "seller_response_due": None}),
    ("information_requested", {"message": "photos please"}),
    ("partial_refund_offered", {"amount": 1000}),
    ("offer_declined", {}),
    ("return_required", {"auto_claim": None}),
    ("replacement_promised", {"carrier": "USPS", "tracking_number": "T1"}),
    ("seller_response_overdue", {}),
    ("offer_lapsed", {}),
    ("escalated", {"reason": "no", "grounds": ["no_refund"]}),
    ("escalated", {"reason": "lapsed", "grounds": ["offer_lapsed"]}),
    ("escalated", {"reason": "info", "grounds": ["information_exchange"]}),
    ("return_disputed", {"reason": "empty box", "evidence": []}),
    ("return_window_expired", {}),
    ("return_delivered", {}),
    ("replacement_overdue", {}),
]
ALL_EVENTS = R43_EVENTS + R44_EVENTS + R45_EVENTS + OTHER_EVENTS


def opened(request_id: str, at: datetime, routed: str | None = None) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "version": 1,
        "at": at.isoformat(),
        "actor": "buyer:b1",
        "seller_id": SELLER,
        "buyer_id": "b1",
        "routed_to_support": routed,
    }


class History:
    """A seller's requests as the projection would hold them, built from events."""

    def __init__(self) -> None:
        self.requests: dict[str, RequestFacts] = {}
        self.versions: dict[str, int] = {}

    def open(self, at: datetime, routed: str | None = None, request_id: str | None = None) -> str:
        rid = request_id or str(uuid.uuid4())
        self.requests[rid] = evolve(None, "opened", opened(rid, at, routed), f"{rid}:1")
        self.versions[rid] = 1
        return rid

    def apply(self, rid: str, name: str, extra: dict[str, Any], at: datetime) -> None:
        self.versions[rid] += 1
        version = self.versions[rid]
        data = {"request_id": rid, "version": version, "at": at.isoformat(), "actor": "x", **extra}
        self.requests[rid] = evolve(self.requests[rid], name, data, f"{rid}:{version}")

    def rating(self, now: datetime = NOW, formula: Formula = FORMULA) -> Rating:
        return rate(SELLER, list(self.requests.values()), now, formula)


def rank(rating: Rating) -> int:
    """Higher is better; a hidden rating ranks by its score's level anyway (for comparisons)."""
    return len(LEVELS_BEST_FIRST) - LEVELS_BEST_FIRST.index(FORMULA.level_for(rating.score))


# --- strategies ----------------------------------------------------------------------------------

event_of = st.sampled_from


@st.composite
def histories(draw: st.DrawFn) -> History:
    history = History()
    n = draw(st.integers(min_value=0, max_value=24))
    for i in range(n):
        age = timedelta(minutes=draw(st.integers(min_value=0, max_value=200 * 24 * 60)))
        routed = draw(st.sampled_from([None] * 9 + ["consumable_item"]))
        rid = history.open(NOW - age, routed, request_id=f"r{i:02d}")
        for name, extra in draw(st.lists(event_of(ALL_EVENTS), max_size=6)):
            after = draw(st.integers(min_value=0, max_value=int(age.total_seconds() // 60)))
            history.apply(rid, name, extra, NOW - age + timedelta(minutes=after))
    return history


@st.composite
def history_and_target(draw: st.DrawFn) -> tuple[History, str, datetime]:
    history = draw(histories())
    assume(history.requests)
    rid = draw(st.sampled_from(sorted(history.requests)))
    opened_at = history.requests[rid].opened_at
    span = int((NOW - opened_at).total_seconds() // 60)
    at = opened_at + timedelta(minutes=draw(st.integers(min_value=0, max_value=span)))
    return history, rid, at


PROPERTY = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _before_after(
    history: History, rid: str, at: datetime, event: tuple[str, dict[str, Any]]
) -> tuple[Rating, Rating]:
    before = history.rating()
    history.apply(rid, event[0], event[1], at)
    return before, history.rating()


def _same_window(before: Rating, after: Rating) -> None:
    assert (after.visible, after.window, after.requests_considered) == (
        before.visible,
        before.window,
        before.requests_considered,
    )


# --- the properties (R43, R44, R45) ----------------------------------------------------------------


@PROPERTY
@given(history_and_target(), event_of(R44_EVENTS))
def test_r44_event_never_raises_the_rating(case, event) -> None:
    history, rid, at = case
    before, after = _before_after(history, rid, at, event)
    assert after.score <= before.score
    assert rank(after) <= rank(before)
    if before.level is not None:
        assert LEVELS_BEST_FIRST.index(after.level) >= LEVELS_BEST_FIRST.index(before.level)
    _same_window(before, after)


@PROPERTY
@given(history_and_target(), event_of(R43_EVENTS))
def test_r43_event_never_lowers_the_rating(case, event) -> None:
    history, rid, at = case
    before, after = _before_after(history, rid, at, event)
    assert after.score >= before.score
    assert rank(after) >= rank(before)
    if before.level is not None:
        assert LEVELS_BEST_FIRST.index(after.level) <= LEVELS_BEST_FIRST.index(before.level)
    _same_window(before, after)


@PROPERTY
@given(history_and_target(), event_of(R45_EVENTS))
def test_r45_event_never_changes_the_rating(case, event) -> None:
    history, rid, at = case
    before, after = _before_after(history, rid, at, event)
    assert (after.score, after.level, after.csat) == (before.score, before.level, before.csat)
    assert (after.positive_points, after.negative_points) == (
        before.positive_points,
        before.negative_points,
    )
    _same_window(before, after)


@PROPERTY
@given(
    histories(),
    st.integers(min_value=0, max_value=89 * 24 * 60),
    st.lists(event_of(R45_EVENTS + OTHER_EVENTS), max_size=5),
)
def test_r45_a_request_with_only_neutral_events_does_not_dilute(history, age, events) -> None:
    """A whole new request that ends neutral (e.g. explained as not eligible) leaves the score as it
    was: neutral requests are in no denominator. (Checked while the 90-day window applies; in the
    10-most-recent window a new request pushes the oldest one out, which is R41 at work.)"""
    before = history.rating()
    assume(before.window == Window.LAST_90_DAYS)
    rid = history.open(NOW - timedelta(minutes=age))
    for name, extra in events:
        history.apply(rid, name, extra, NOW)
    after = history.rating()
    assert (after.score, after.level, after.csat) == (before.score, before.level, before.csat)
    assert after.requests_considered == before.requests_considered + 1


@PROPERTY
@given(history_and_target(), event_of(OTHER_EVENTS))
def test_r44_events_outside_r43_r44_never_change_the_rating(case, event) -> None:
    """R44 "lowers only with": nothing else (messages, offers, other escalations...) moves it."""
    history, rid, at = case
    before, after = _before_after(history, rid, at, event)
    assert (after.score, after.level, after.csat) == (before.score, before.level, before.csat)


@PROPERTY
@given(history_and_target(), event_of(R43_EVENTS + R44_EVENTS + R45_EVENTS))
def test_r47_counted_event_moves_the_score_strictly_and_is_explained(case, event) -> None:
    """When an event adds a reason inside the window, the score moves in its direction, strictly,
    and the explanation shows it on that request."""
    history, rid, at = case
    in_window = {c.request_id for c in history.rating().explanation}
    before_reasons = {r.code for r in history.requests[rid].reasons}
    before, after = _before_after(history, rid, at, event)
    added = {r.code for r in history.requests[rid].reasons} - before_reasons
    points = sum(FORMULA.points(code) for code in added)
    if rid not in in_window or not points:
        assert after.score == before.score
        return
    assert (after.score > before.score) if points > 0 else (after.score < before.score)
    entry = next(c for c in after.explanation if c.request_id == rid)
    assert added <= {r.code for r in entry.reasons}


@PROPERTY
@given(histories(), st.sampled_from(ALL_EVENTS), st.integers(0, 30))
def test_r47_deterministic_and_replay_idempotent(history, event, index) -> None:
    """Same facts, same rating; folding an event again (a redelivery) changes nothing."""
    assume(history.requests)
    rid = sorted(history.requests)[index % len(history.requests)]
    history.apply(rid, event[0], event[1], NOW)
    facts = history.requests[rid]
    version = history.versions[rid]
    data = {"request_id": rid, "version": version, "at": NOW.isoformat(), **event[1]}
    assert evolve(facts, event[0], data, f"{rid}:{version}") == facts
    assert rate(SELLER, list(reversed(history.requests.values())), NOW, FORMULA) == (
        history.rating()
    )


# --- R40: visibility -----------------------------------------------------------------------------


def seller_with(n: int, *, start: datetime = NOW - timedelta(days=5), every=timedelta(hours=1)):
    history = History()
    ids = [history.open(start + i * every, request_id=f"r{i:02d}") for i in range(n)]
    return history, ids


def test_r40_hidden_at_9_requests_received_visible_at_10() -> None:
    history, _ = seller_with(9)
    nine = history.rating()
    assert (nine.visible, nine.level, nine.requests_received) == (False, None, 9)
    history.open(NOW - timedelta(hours=1), request_id="r09")
    ten = history.rating()
    assert (ten.visible, ten.requests_received) == (True, 10)
    assert ten.level == Level.AVERAGE  # no rating events yet: the prior's 1/2


def test_r40_requests_routed_straight_to_support_are_not_the_sellers() -> None:
    history, _ = seller_with(9)
    for reason in ("consumable_item", "reason_not_covered", "suspected_fraud"):
        history.open(NOW - timedelta(hours=2), routed=reason)
    rating = history.rating()
    assert (rating.visible, rating.requests_received, rating.requests_considered) == (False, 9, 9)


def test_r40_routed_request_events_never_count() -> None:
    history, _ = seller_with(10)
    routed = history.open(NOW - timedelta(hours=3), routed="consumable_item")
    before = history.rating()
    history.apply(routed, "escalated", {"grounds": ["no_response"]}, NOW)
    history.apply(routed, "support_decided", {"outcome": "refund", "liable": "seller"}, NOW)
    history.apply(routed, "feedback_given", {"thumbs": "down"}, NOW)
    assert history.rating() == before


# --- R41: the window --------------------------------------------------------------------------------


def test_r41_last_90_days_once_10_were_handled_in_them() -> None:
    history, _ = seller_with(12, start=NOW - timedelta(days=80), every=timedelta(days=5))
    history.open(NOW - timedelta(days=200), request_id="old")
    rating = history.rating()
    assert rating.window == Window.LAST_90_DAYS
    assert rating.requests_considered == 12
    assert "old" not in {c.request_id for c in rating.explanation}


def test_r41_the_10_most_recent_when_fewer_than_10_in_90_days() -> None:
    history, ids = seller_with(15, start=NOW - timedelta(days=300), every=timedelta(days=20))
    rating = history.rating()
    assert rating.window == Window.LAST_10
    assert [c.request_id for c in rating.explanation] == list(reversed(ids))[:10]


def test_r41_rating_changes_as_old_requests_age_out_without_any_new_event() -> None:
    """12 requests: 2 bad ones 85 days ago, then 10 good ones. Nothing happens for 6 days; the bad
    ones leave the 90-day window and the level rises."""
    history = History()
    for i in range(2):
        rid = history.open(NOW - timedelta(days=85, hours=i), request_id=f"bad{i}")
        history.apply(rid, "escalated", {"grounds": ["no_response"]}, NOW - timedelta(days=80))
        history.apply(rid, "support_decided", {"outcome": "refund", "liable": "seller"}, NOW)
    for i in range(10):
        rid = history.open(NOW - timedelta(days=30, hours=i), request_id=f"good{i}")
        history.apply(rid, "full_refund_offered", {"amount": 100}, NOW - timedelta(days=29))
    today = history.rating(NOW)
    assert (today.window, today.requests_considered) == (Window.LAST_90_DAYS, 12)
    assert (today.positive_points, today.negative_points) == (10, 8)
    assert today.score == Fraction(11, 20)
    assert today.level == Level.AVERAGE

    later = history.rating(NOW + timedelta(days=6))
    assert (later.window, later.requests_considered) == (Window.LAST_90_DAYS, 10)
    assert later.score == Fraction(11, 12)
    assert later.level == Level.EXCELLENT


def test_r41_90_day_boundary_is_exclusive_of_the_90th_day_instant() -> None:
    history, _ = seller_with(10, start=NOW - timedelta(days=60), every=timedelta(days=1))
    edge = history.open(NOW - timedelta(days=90), request_id="edge")
    assert "edge" not in {c.request_id for c in history.rating().explanation}
    assert edge in {c.request_id for c in history.rating(NOW - timedelta(seconds=1)).explanation}


def test_r41_falls_back_to_last_10_when_the_90_days_thin_out() -> None:
    history, _ = seller_with(10, start=NOW - timedelta(days=89), every=timedelta(hours=1))
    assert history.rating().window == Window.LAST_90_DAYS
    later = history.rating(NOW + timedelta(days=2))
    assert (later.window, later.requests_considered, later.visible) == (Window.LAST_10, 10, True)


# --- R43-R45: examples of each reason --------------------------------------------------------------


def reasons_of(history: History, rid: str) -> set[Code]:
    return {r.code for r in history.requests[rid].reasons}


def test_r43_fitting_resolutions_refund_partial_replacement_return() -> None:
    history, ids = seller_with(4)
    for rid, name in zip(
        ids,
        ["full_refund_offered", "offer_accepted", "replacement_shipped", "return_auto_confirmed"],
        strict=True,
    ):
        history.apply(rid, name, {}, NOW)
        assert reasons_of(history, rid) == {Code.FITTING_RESOLUTION}


def test_r44_overturn_needs_a_buyer_escalation() -> None:
    history, (buyer_escalated, seller_disputed) = seller_with(2)
    history.apply(buyer_escalated, "escalated", {"grounds": ["no_refund"]}, NOW)
    history.apply(
        buyer_escalated, "support_decided", {"outcome": "refund", "liable": "seller"}, NOW
    )
    assert reasons_of(history, buyer_escalated) == {Code.OVERTURNED_BY_SUPPORT}
    history.apply(seller_disputed, "return_disputed", {"reason": "empty box"}, NOW)
    history.apply(
        seller_disputed, "support_decided", {"outcome": "refund", "liable": "seller"}, NOW
    )
    assert reasons_of(history, seller_disputed) == {Code.SUPPORT_DECIDED_SELLER_DISPUTE}


def test_r44_return_confirmed_after_support_decision_is_not_the_sellers_resolution() -> None:
    history, (rid,) = seller_with(1)
    history.apply(rid, "escalated", {"grounds": ["no_refund"]}, NOW)
    history.apply(
        rid, "support_decided", {"outcome": "refund_with_return", "liable": "seller"}, NOW
    )
    history.apply(rid, "return_confirmed", {"amount": 3000}, NOW)
    assert reasons_of(history, rid) == {Code.OVERTURNED_BY_SUPPORT}


def test_r44_no_response_escalation_keeps_its_weight_whatever_support_decides() -> None:
    history, (rid,) = seller_with(1)
    history.apply(rid, "escalated", {"grounds": ["no_response"]}, NOW)
    history.apply(rid, "support_decided", {"outcome": "uphold_seller", "liable": None}, NOW)
    assert reasons_of(history, rid) == {
        Code.ESCALATED_AFTER_NO_RESPONSE,
        Code.SUPPORT_AGREED_WITH_SELLER,
    }
    assert history.rating().negative_points == 2


def test_r46_feedback_once_first_answer_stands_and_csat_is_share_of_up() -> None:
    history, ids = seller_with(4)
    history.apply(ids[0], "feedback_given", {"thumbs": "up"}, NOW)
    history.apply(ids[0], "feedback_given", {"thumbs": "down"}, NOW)  # ignored: once per request
    history.apply(ids[1], "feedback_given", {"thumbs": "up"}, NOW)
    history.apply(ids[2], "feedback_given", {"thumbs": "down"}, NOW)
    rating = history.rating()
    assert (rating.feedback_up, rating.feedback_down, rating.csat) == (2, 1, Fraction(2, 3))
    assert History().rating().csat is None


def test_r45_neutral_requests_do_not_dilute() -> None:
    """docs/ratings.md, example 2: adding no-refund requests leaves the score exactly as it was."""
    history = worked_example_1()
    before = history.rating()
    for i in range(5):
        rid = history.open(NOW - timedelta(days=3, hours=i), request_id=f"n{i}")
        history.apply(rid, "no_refund_explained", {}, NOW - timedelta(days=2))
        history.apply(rid, "no_refund_closed", {}, NOW - timedelta(days=1))
    after = history.rating()
    assert after.requests_considered == before.requests_considered + 5
    assert (after.score, after.level) == (before.score, before.level)


# --- R47: the worked examples of docs/ratings.md, explained per request ---------------------------


def worked_example_1() -> History:
    """12 requests in the last 90 days: 8 refunded/replaced (3 thumbs up, 1 thumbs down), one
    unanswered and escalated (support upheld the seller), two explained as not eligible, one open."""
    history, ids = seller_with(12, start=NOW - timedelta(days=60), every=timedelta(days=4))
    fitting = ["full_refund_offered"] * 5 + ["offer_accepted"] * 2 + ["replacement_shipped"]
    for rid, name in zip(ids[:8], fitting, strict=True):
        history.apply(rid, name, {}, NOW - timedelta(days=1))
    for rid, thumbs in zip(ids[:4], ["up", "up", "up", "down"], strict=True):
        history.apply(rid, "feedback_given", {"thumbs": thumbs}, NOW - timedelta(hours=5))
    history.apply(ids[8], "seller_response_overdue", {}, NOW - timedelta(days=3))
    history.apply(ids[8], "escalated", {"grounds": ["no_response"]}, NOW - timedelta(days=2))
    history.apply(ids[8], "support_decided", {"outcome": "uphold_seller"}, NOW - timedelta(days=1))
    for rid in ids[9:11]:
        history.apply(rid, "no_refund_explained", {}, NOW - timedelta(days=2))
    return history


def test_r47_worked_example_1_score_level_and_explanation() -> None:
    rating = worked_example_1().rating()
    assert (rating.visible, rating.window, rating.requests_considered) == (
        True,
        Window.LAST_90_DAYS,
        12,
    )
    assert (rating.positive_points, rating.negative_points) == (11, 3)
    assert rating.score == Fraction(12, 16)
    assert rating.level == Level.GREAT
    assert rating.csat == Fraction(3, 4)
    by_id = {c.request_id: c for c in rating.explanation}
    assert len(by_id) == 12  # every request in the window is named
    assert by_id["r03"].effect == "mixed"  # fitting (+1) and a thumbs down (-1)
    assert {r.code for r in by_id["r03"].reasons} == {
        Code.FITTING_RESOLUTION,
        Code.NEGATIVE_FEEDBACK,
    }
    assert by_id["r00"].effect == "raised"
    assert [r.points for r in by_id["r00"].reasons] == [1, 1]
    assert by_id["r08"].effect == "lowered"
    assert "no seller response within 2 business days" in by_id["r08"].reasons[0].why
    assert by_id["r09"].effect == "none"
    assert "R45" in by_id["r09"].reasons[0].why
    assert by_id["r11"].reasons == ()
    contributing = {c.request_id for c in rating.explanation if c.effect != "none"}
    assert contributing == {f"r{i:02d}" for i in range(9)}


def test_r42_level_thresholds_are_configurable() -> None:
    strict = Formula(
        thresholds={
            Level.EXCELLENT: Fraction(19, 20),
            Level.GREAT: Fraction(9, 10),
            Level.GOOD: Fraction(4, 5),
            Level.AVERAGE: Fraction(3, 4),
        }
    )
    assert worked_example_1().rating(formula=strict).level == Level.AVERAGE
    assert FORMULA.level_for(Fraction(1, 10)) == Level.BELOW_AVERAGE


@pytest.mark.parametrize(
    "kwargs",
    [
        {"thresholds": {Level.EXCELLENT: Fraction(1, 2), Level.GREAT: Fraction(3, 4)}},
        {
            "thresholds": {
                Level.EXCELLENT: Fraction(1, 2),
                Level.GREAT: Fraction(3, 4),
                Level.GOOD: Fraction(1, 4),
                Level.AVERAGE: Fraction(1, 8),
            }
        },
        {"prior_negative": Fraction(0)},
        {"weights": {**FORMULA.weights, Code.NEGATIVE_FEEDBACK: -1}},
        {"weights": {**FORMULA.weights, Code.INELIGIBILITY_EXPLAINED: 1}},
        {"window_days": 0},
    ],
)
def test_r47_formula_refuses_settings_that_would_break_the_rules(kwargs) -> None:
    with pytest.raises(InvalidFormula):
        Formula(**kwargs)


def test_events_before_their_opened_event_are_refused() -> None:
    with pytest.raises(UnknownRequest):
        evolve(None, "feedback_given", {"request_id": "x", "at": NOW.isoformat()}, "x:2")


def test_rating_as_of_a_past_moment_ignores_later_events() -> None:
    history, ids = seller_with(10, start=NOW - timedelta(days=20))
    history.apply(ids[0], "feedback_given", {"thumbs": "down"}, NOW)
    assert history.rating(NOW - timedelta(hours=1)).negative_points == 0
    assert history.rating(NOW).negative_points == 1
