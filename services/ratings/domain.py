"""The support rating (R40-R47): which requests count, what each one contributes, and the level.

Pure and deterministic: no clock, no I/O, exact rational arithmetic (`Fraction`), ties broken by
request id. Two halves:

1. `evolve(facts, name, data, event_id)` folds one published request event into the per-request
   facts the formula needs (`RequestFacts`): when it was received, and its *reasons* - the rating
   events that happened to it (a fitting resolution, feedback, an escalation after no response, an
   overturn by support) plus neutral notes (R45) kept only for the explanation.
2. `rate(seller_id, requests, now, formula)` picks the window (R41) at `now` and scores it.

The score (see docs/ratings.md for the reasoning and worked examples)::

    P = sum of the weights of the positive reasons in the window   (R43)
    N = sum of the weights of the negative reasons in the window   (R44)
    score = (P + prior_positive) / (P + N + prior_positive + prior_negative)

A request without reasons, or with neutral notes only (R45), adds nothing to P nor N: it neither
raises nor lowers nor dilutes the score. A positive reason can only raise the score, a negative one
only lower it, whatever else is in the window. The level is the first threshold the score reaches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from fractions import Fraction
from itertools import pairwise
from typing import Any

from shared.vocabulary import Liable, Outcome

# --- vocabulary ------------------------------------------------------------------------------


class Level(StrEnum):
    """R42, best first."""

    EXCELLENT = "excellent"
    GREAT = "great"
    GOOD = "good"
    AVERAGE = "average"
    BELOW_AVERAGE = "below_average"


LEVELS_BEST_FIRST: tuple[Level, ...] = tuple(Level)


class Window(StrEnum):
    LAST_90_DAYS = "90_days"
    LAST_10 = "last_10"


class Code(StrEnum):
    """Why a request moves the rating (or, for the neutral ones, why it does not)."""

    # R43: raise the rating
    FITTING_RESOLUTION = "fitting_resolution"
    POSITIVE_FEEDBACK = "positive_feedback"
    # R44: lower the rating
    NEGATIVE_FEEDBACK = "negative_feedback"
    ESCALATED_AFTER_NO_RESPONSE = "escalated_after_no_response"
    OVERTURNED_BY_SUPPORT = "overturned_by_support"
    # R45 and other neutral notes: shown in the explanation, weigh nothing, ever
    INELIGIBILITY_EXPLAINED = "ineligibility_explained"
    SUPPORT_AGREED_WITH_SELLER = "support_agreed_with_seller"
    PLATFORM_FUNDED_REFUND = "platform_funded_refund"
    SUPPORT_DECIDED_SELLER_DISPUTE = "support_decided_seller_dispute"


POSITIVE_CODES = frozenset({Code.FITTING_RESOLUTION, Code.POSITIVE_FEEDBACK})
NEGATIVE_CODES = frozenset(
    {Code.NEGATIVE_FEEDBACK, Code.ESCALATED_AFTER_NO_RESPONSE, Code.OVERTURNED_BY_SUPPORT}
)
NEUTRAL_CODES = frozenset(Code) - POSITIVE_CODES - NEGATIVE_CODES

WHY: Mapping[Code, str] = {
    Code.FITTING_RESOLUTION: "resolved by the seller with a fitting resolution: {detail} (R43)",
    Code.POSITIVE_FEEDBACK: "the buyer gave the handling a thumbs up (R43, R46)",
    Code.NEGATIVE_FEEDBACK: "the buyer gave the handling a thumbs down (R44, R46)",
    Code.ESCALATED_AFTER_NO_RESPONSE: (
        "no seller response within 2 business days, and the buyer escalated (R44)"
    ),
    Code.OVERTURNED_BY_SUPPORT: (
        "the buyer escalated and support overturned the seller: {detail}, charged to the seller (R44)"
    ),
    Code.INELIGIBILITY_EXPLAINED: (
        "the seller explained why the case is not eligible: does not affect the rating (R45)"
    ),
    Code.SUPPORT_AGREED_WITH_SELLER: (
        "escalated, and support agreed with the seller: does not affect the rating (R45)"
    ),
    Code.PLATFORM_FUNDED_REFUND: (
        "escalated, and the platform funded the refund: does not affect the rating (R45)"
    ),
    Code.SUPPORT_DECIDED_SELLER_DISPUTE: (
        "support decided after the seller disputed the return ({detail}): the buyer did not "
        "escalate, so this does not affect the rating (R44 counts buyer escalations only)"
    ),
}

# --- configuration ---------------------------------------------------------------------------

DEFAULT_WEIGHTS: Mapping[Code, int] = {
    Code.FITTING_RESOLUTION: 1,
    Code.POSITIVE_FEEDBACK: 1,
    Code.NEGATIVE_FEEDBACK: 1,
    Code.ESCALATED_AFTER_NO_RESPONSE: 2,
    Code.OVERTURNED_BY_SUPPORT: 2,
}

DEFAULT_THRESHOLDS: Mapping[Level, Fraction] = {
    Level.EXCELLENT: Fraction(9, 10),
    Level.GREAT: Fraction(3, 4),
    Level.GOOD: Fraction(3, 5),
    Level.AVERAGE: Fraction(2, 5),
}


class InvalidFormula(ValueError):
    """The configured formula would break R43-R45 or is not well defined."""


@dataclass(frozen=True)
class Formula:
    """Every tunable of the rating. Weights are magnitudes: the code decides the sign."""

    weights: Mapping[Code, int] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    thresholds: Mapping[Level, Fraction] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    prior_positive: Fraction = Fraction(1)
    prior_negative: Fraction = Fraction(1)
    visible_from_received: int = 10  # R40
    window_days: int = 90  # R41
    window_min_handled: int = 10  # R41
    fallback_most_recent: int = 10  # R41

    def __post_init__(self) -> None:
        weights = {Code(k): v for k, v in self.weights.items()}
        missing = (POSITIVE_CODES | NEGATIVE_CODES) - weights.keys()
        if missing:
            raise InvalidFormula(f"no weight for: {', '.join(sorted(missing))}")
        if set(weights) & NEUTRAL_CODES:
            raise InvalidFormula("neutral reasons (R45) have no weight: they never count")
        for code, weight in weights.items():
            if isinstance(weight, bool) or not isinstance(weight, int) or weight < 0:
                raise InvalidFormula(f"weight of {code} must be a non-negative integer")
        thresholds = {Level(k): Fraction(v) for k, v in self.thresholds.items()}
        expected = set(LEVELS_BEST_FIRST[:-1])
        if set(thresholds) != expected:
            raise InvalidFormula(
                f"thresholds are needed for exactly: {', '.join(sorted(expected))}"
            )
        ordered = [thresholds[level] for level in LEVELS_BEST_FIRST[:-1]]
        if not all(0 < t <= 1 for t in ordered) or any(a <= b for a, b in pairwise(ordered)):
            raise InvalidFormula(
                "thresholds must fall strictly from excellent to average, in (0, 1]"
            )
        prior_positive, prior_negative = (
            Fraction(self.prior_positive),
            Fraction(self.prior_negative),
        )
        if prior_positive <= 0 or prior_negative <= 0:
            raise InvalidFormula("both priors must be > 0 (the score of an empty window)")
        for name in (
            "visible_from_received",
            "window_days",
            "window_min_handled",
            "fallback_most_recent",
        ):
            if getattr(self, name) < 1:
                raise InvalidFormula(f"{name} must be at least 1")
        object.__setattr__(self, "weights", weights)
        object.__setattr__(self, "thresholds", thresholds)
        object.__setattr__(self, "prior_positive", prior_positive)
        object.__setattr__(self, "prior_negative", prior_negative)

    def points(self, code: Code) -> int:
        """Signed points of one reason: + for R43, - for R44, 0 for neutral notes."""
        if code in POSITIVE_CODES:
            return self.weights[code]
        if code in NEGATIVE_CODES:
            return -self.weights[code]
        return 0

    def level_for(self, score: Fraction) -> Level:
        for level in LEVELS_BEST_FIRST[:-1]:
            if score >= self.thresholds[level]:
                return level
        return Level.BELOW_AVERAGE


# --- per-request facts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Reason:
    code: Code
    at: datetime
    detail: str = ""
    event_id: str = ""


@dataclass(frozen=True)
class RequestFacts:
    """What the rating needs to know about one request, folded from its events."""

    request_id: str
    seller_id: str
    opened_at: datetime  # "received" (R40) and "handled" (R41) both date from here
    routed_to_support: str | None = None  # R6: never the seller's, never counted
    last_escalation_by: str | None = None  # "buyer" | "seller" (a return dispute)
    support_decided: bool = False
    reasons: tuple[Reason, ...] = ()

    @property
    def counts_for_seller(self) -> bool:
        return self.routed_to_support is None

    def has(self, code: Code) -> bool:
        return any(r.code == code for r in self.reasons)

    @property
    def feedback(self) -> str | None:
        for reason in self.reasons:
            if reason.code == Code.POSITIVE_FEEDBACK:
                return "up"
            if reason.code == Code.NEGATIVE_FEEDBACK:
                return "down"
        return None

    def with_reason(self, code: Code, at: datetime, detail: str, event_id: str) -> RequestFacts:
        """Each code at most once per request: a repeated one is ignored (idempotent)."""
        if self.has(code):
            return self
        return replace(self, reasons=(*self.reasons, Reason(code, at, detail, event_id)))


class UnknownRequest(LookupError):
    """An event of a request whose `opened` event was never seen (out-of-order delivery)."""


FITTING = {
    "full_refund_offered": "full refund",
    "offer_accepted": "partial refund",
    "replacement_shipped": "replacement",
}
RETURN_REFUNDS = {
    "return_confirmed": "full refund after the return",
    "return_auto_confirmed": "full refund after the return",
}


def parse_time(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"event time without an offset: {value!r}")
    return moment


def evolve(
    facts: RequestFacts | None, name: str, data: Mapping[str, Any], event_id: str
) -> RequestFacts:
    """Fold one published request event into the request's facts. Total and idempotent: applying
    the same event again returns equal facts; events that mean nothing to the rating change
    nothing."""
    if name == "opened":
        if facts is not None:
            return facts
        return RequestFacts(
            request_id=str(data["request_id"]),
            seller_id=str(data["seller_id"]),
            opened_at=parse_time(data["at"]),
            routed_to_support=data.get("routed_to_support") or None,
        )
    if facts is None:
        raise UnknownRequest(f"{name} for request {data.get('request_id')} before its opened event")
    if not facts.counts_for_seller:
        return facts  # R6: routed straight to support - not the seller's request
    at = parse_time(data["at"])
    if name in FITTING:
        return facts.with_reason(Code.FITTING_RESOLUTION, at, FITTING[name], event_id)
    if name in RETURN_REFUNDS:
        if facts.support_decided:
            return facts  # support's refund, not the seller's resolution
        return facts.with_reason(Code.FITTING_RESOLUTION, at, RETURN_REFUNDS[name], event_id)
    if name in ("no_refund_explained", "no_refund_closed"):
        return facts.with_reason(Code.INELIGIBILITY_EXPLAINED, at, "", event_id)
    if name == "feedback_given":
        if facts.feedback is not None:
            return facts  # R46: once; the first answer stands
        code = Code.POSITIVE_FEEDBACK if data.get("thumbs") == "up" else Code.NEGATIVE_FEEDBACK
        return facts.with_reason(code, at, str(data.get("thumbs", "")), event_id)
    if name == "escalated":
        facts = replace(facts, last_escalation_by="buyer")
        if "no_response" in (data.get("grounds") or []):
            facts = facts.with_reason(Code.ESCALATED_AFTER_NO_RESPONSE, at, "", event_id)
        return facts
    if name == "return_disputed":
        return replace(facts, last_escalation_by="seller")
    if name == "support_decided":
        return _decided(facts, data, at, event_id)
    return facts


def _decided(
    facts: RequestFacts, data: Mapping[str, Any], at: datetime, event_id: str
) -> RequestFacts:
    outcome, liable = data.get("outcome"), data.get("liable")
    decided = replace(facts, support_decided=True)
    if outcome == Outcome.UPHOLD_SELLER:
        return decided.with_reason(Code.SUPPORT_AGREED_WITH_SELLER, at, outcome, event_id)
    if outcome == Outcome.PLATFORM_REFUND or liable != Liable.SELLER:
        return decided.with_reason(Code.PLATFORM_FUNDED_REFUND, at, str(outcome), event_id)
    detail = "refund" if outcome == Outcome.REFUND else "refund with return"
    if facts.last_escalation_by == "buyer":
        return decided.with_reason(Code.OVERTURNED_BY_SUPPORT, at, detail, event_id)
    return decided.with_reason(Code.SUPPORT_DECIDED_SELLER_DISPUTE, at, detail, event_id)


# --- the rating --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExplainedReason:
    code: Code
    points: int
    at: datetime
    why: str


@dataclass(frozen=True)
class RequestContribution:
    request_id: str
    opened_at: datetime
    positive: int
    negative: int  # a magnitude
    reasons: tuple[ExplainedReason, ...]

    @property
    def effect(self) -> str:
        if self.positive and self.negative:
            return "mixed"
        if self.positive:
            return "raised"
        if self.negative:
            return "lowered"
        return "none"


@dataclass(frozen=True)
class Rating:
    seller_id: str
    at: datetime
    visible: bool
    level: Level | None  # None while not visible (R40)
    score: Fraction  # in (0, 1); the provisional score even while not visible
    window: Window
    requests_received: int  # all-time, R6-routed requests excluded
    requests_considered: int
    positive_points: int
    negative_points: int
    csat: Fraction | None  # R46: share of thumbs up among the window's feedback, None without any
    feedback_up: int
    feedback_down: int
    explanation: tuple[RequestContribution, ...]  # every request in the window, newest first

    @property
    def public(self) -> tuple[bool, Level | None]:
        return self.visible, self.level


def window_of(
    requests: Iterable[RequestFacts], now: datetime, formula: Formula
) -> tuple[Window, list[RequestFacts]]:
    """R41 at `now`: the last 90 days when the seller handled (= received) at least 10 requests
    in them, else the 10 most recent. Newest first; ties by request id."""
    received = sorted(
        (r for r in requests if r.counts_for_seller and r.opened_at <= now),
        key=lambda r: (r.opened_at, r.request_id),
        reverse=True,
    )
    since = now - timedelta(days=formula.window_days)
    recent = [r for r in received if r.opened_at > since]
    if len(recent) >= formula.window_min_handled:
        return Window.LAST_90_DAYS, recent
    return Window.LAST_10, received[: formula.fallback_most_recent]


def contribution(request: RequestFacts, now: datetime, formula: Formula) -> RequestContribution:
    explained = []
    positive = negative = 0
    for reason in sorted(request.reasons, key=lambda r: (r.at, r.code)):
        if reason.at > now:
            continue  # not happened yet at `now`: the rating as of a past moment ignores it
        points = formula.points(reason.code)
        if points > 0:
            positive += points
        else:
            negative -= points
        why = WHY[reason.code].format(detail=reason.detail or "")
        explained.append(ExplainedReason(reason.code, points, reason.at, why))
    return RequestContribution(
        request.request_id, request.opened_at, positive, negative, tuple(explained)
    )


def rate(
    seller_id: str,
    requests: Sequence[RequestFacts],
    now: datetime,
    formula: Formula,
    requests_received: int | None = None,
) -> Rating:
    """The seller's rating at `now`. `requests` must hold every request of the seller received in
    the last `window_days` and the `fallback_most_recent` most recent ones (more is harmless);
    `requests_received` is the all-time count (default: counted from `requests`)."""
    window, considered = window_of(requests, now, formula)
    if requests_received is None:
        requests_received = sum(1 for r in requests if r.counts_for_seller and r.opened_at <= now)
    contributions = tuple(contribution(r, now, formula) for r in considered)
    positive = sum(c.positive for c in contributions)
    negative = sum(c.negative for c in contributions)
    score = (positive + formula.prior_positive) / (
        positive + negative + formula.prior_positive + formula.prior_negative
    )
    up = sum(1 for c in contributions for r in c.reasons if r.code == Code.POSITIVE_FEEDBACK)
    down = sum(1 for c in contributions for r in c.reasons if r.code == Code.NEGATIVE_FEEDBACK)
    visible = requests_received >= formula.visible_from_received
    return Rating(
        seller_id=seller_id,
        at=now,
        visible=visible,
        level=formula.level_for(score) if visible else None,
        score=score,
        window=window,
        requests_received=requests_received,
        requests_considered=len(considered),
        positive_points=positive,
        negative_points=negative,
        csat=Fraction(up, up + down) if up + down else None,
        feedback_up=up,
        feedback_down=down,
        explanation=contributions,
    )


@dataclass(frozen=True)
class PublicRating:
    """What a change announcement needs of a rating (`refresh`): the public (visible, level) and
    the window it came from, without the explanation."""

    seller_id: str
    at: datetime
    visible: bool
    level: Level | None
    window: Window
    requests_considered: int

    @property
    def public(self) -> tuple[bool, Level | None]:
        return self.visible, self.level


def public_from_counts(
    seller_id: str,
    now: datetime,
    formula: Formula,
    *,
    received: int,
    in_window: int,
    reasons_in_window: Mapping[Code, int],
) -> PublicRating | None:
    """`rate(...).public` from counts, when the 90-day window applies (R41: at least
    `window_min_handled` requests received in it): `received` = all-time requests received up to
    `now` (capping it at `visible_from_received` changes nothing), `in_window` = those received in
    the window, `reasons_in_window` = how many reasons of each code, dated up to `now`, the
    window's requests have. None when the window falls back to the most recent requests: then
    `rate` over those (at most `fallback_most_recent`) decides."""
    if in_window < formula.window_min_handled:
        return None
    positive = sum(
        formula.points(c) * n for c, n in reasons_in_window.items() if c in POSITIVE_CODES
    )
    negative = -sum(
        formula.points(c) * n for c, n in reasons_in_window.items() if c in NEGATIVE_CODES
    )
    score = (positive + formula.prior_positive) / (
        positive + negative + formula.prior_positive + formula.prior_negative
    )
    visible = received >= formula.visible_from_received
    return PublicRating(
        seller_id=seller_id,
        at=now,
        visible=visible,
        level=formula.level_for(score) if visible else None,
        window=Window.LAST_90_DAYS,
        requests_considered=in_window,
    )
