"""The search projection's pure rules: a request's searchable row folded from its published events,
who it waits on, the list query's vocabulary and validation, the opaque keyset cursor, and the
support queue's business-time SLA.

Pure: no I/O, no clock (every instant is passed in). The row mirrors the requests service's state
(services/requests/domain/, which this service may not import); a test replays every scenario
through both and compares them field by field.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from shared.business_time import BusinessCalendar
from shared.business_time import calendar_for as _new_calendar
from shared.vocabulary import (
    DEADLINE_KINDS,
    RETURN_FOR_REFUND_WINDOW,
    Deadline,
    OfferState,
    Outcome,
    Reason,  # noqa: F401  (re-exported: the list query's vocabulary)
    Resolution,
    overdue_kinds,
)
from shared.vocabulary import Status as SharedStatus
from shared.vocabulary import WaitingOn as SharedWaitingOn
from shared.vocabulary import waiting_on as shared_waiting_on

# --- vocabulary -------------------------------------------------------------------------------------


# The list query's `status`: shared/vocabulary.py's, under the docstring the published OpenAPI
# document has always carried.
Status = StrEnum("Status", {m.name: m.value for m in SharedStatus})  # type: ignore[misc]
Status.__doc__ = (
    "API.md `status` (the same values as services/requests/domain.Status; a test keeps them equal)."
)


# Who a row waits on: shared/vocabulary.py `WaitingOn`, and `nobody` for a closed request (the
# search column and filter value of a closed request).
class WaitingOn(StrEnum):
    """Who must act next for the request to move."""

    SELLER = SharedWaitingOn.SELLER.value
    BUYER = SharedWaitingOn.BUYER.value
    SUPPORT = SharedWaitingOn.SUPPORT.value
    CARRIER = SharedWaitingOn.CARRIER.value
    NOBODY = "nobody"


class EscalatedBy(StrEnum):
    BUYER = "buyer"  # the buyer escalated (R19/R20)
    SELLER_DISPUTE = "seller_dispute"  # the seller disputed a return (R12)
    ROUTING = "routing"  # routed to support at opening (R6)


class SortKey(StrEnum):
    DUE_AT = "due_at"  # the next deadline; requests without one sort after every deadline
    OPENED_AT = "opened_at"
    LAST_ACTIVITY_AT = "last_activity_at"


SORTS = tuple(f"{prefix}{key}" for key in SortKey for prefix in ("", "-"))
DEFAULT_SORT = "-opened_at"
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
MAX_QUERY_WORDS = 20


# The seller's answers to a request (R10-R18): the first one is the seller's first response.
SELLER_RESPONSES = frozenset(
    {
        "full_refund_offered",
        "return_required",
        "partial_refund_offered",
        "replacement_promised",
        "no_refund_explained",
        "information_requested",
    }
)
# Events that leave the request's last activity where it was (as the aggregate does).
NO_ACTIVITY = frozenset(
    {
        "return_label_issued",
        "feedback_given",
        "seller_response_overdue",
        "replacement_overdue",
        "agent_assigned",
    }
)
# A request without a deadline sorts after every deadline (ascending): a stand-in instant.
NO_DEADLINE = datetime(9999, 12, 31, tzinfo=UTC)


@functools.cache
def calendar_for(marketplace: str) -> BusinessCalendar:
    """The marketplace's business calendar, built once per process (building one costs ms)."""
    return _new_calendar(marketplace)


def waiting_on(status: str) -> WaitingOn:
    """The shared rule (shared/vocabulary.py `waiting_on`), `nobody` once closed."""
    on = shared_waiting_on(status)
    return WaitingOn.NOBODY if on is None else WaitingOn(on.value)


# --- the row ----------------------------------------------------------------------------------------


def _time(value: Any) -> datetime | None:
    if value is None:
        return None
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


@dataclass
class Row:
    """One request as the search projection holds it (times in UTC)."""

    id: str
    order_id: str
    buyer_id: str
    seller_id: str
    marketplace: str
    currency: str
    item_ids: list[str]
    reason: str
    description: str
    opened_at: datetime
    status: str = Status.AWAITING_SELLER
    resolution: str | None = None
    version: int = 1
    deadlines: dict[str, str] = field(default_factory=dict)  # kind -> ISO time (UTC)
    offer: dict[str, Any] | None = None
    return_: dict[str, Any] | None = None
    refund: dict[str, Any] | None = None
    escalated: bool = False
    escalated_by: str | None = None
    escalated_at: datetime | None = None
    escalation_reason: str | None = None
    escalation_grounds: list[str] = field(default_factory=list)
    assigned_to: str | None = None
    last_activity_at: datetime | None = None
    closed_at: datetime | None = None
    messages_text: str = ""
    # seller performance facts
    seller_response_due: datetime | None = None  # the first response deadline (None: routed)
    first_response_at: datetime | None = None
    first_response_hours: float | None = None  # business hours from opening to the response
    responded_in_time: bool | None = None
    missed_deadline: bool = False
    buyer_escalated: bool = False
    overturned: bool = False
    # R69 (issue 28): the buyer escalated because the seller had not answered (ground no_response)
    escalated_unanswered: bool = False

    @property
    def waiting_on(self) -> str:
        return str(waiting_on(self.status))

    @property
    def next_deadline(self) -> datetime | None:
        due = [_time(v) for v in self.deadlines.values() if v is not None]
        return min((d for d in due if d is not None), default=None)

    @property
    def due_key(self) -> datetime:
        return self.next_deadline or NO_DEADLINE

    def overdue(self, now: datetime) -> list[str]:
        return overdue_kinds({k: _time(v) for k, v in self.deadlines.items()}, now)

    def item(self, now: datetime | None = None) -> dict[str, Any]:
        """A list item: the state fields of API.md plus `waiting_on`, `next_deadline`,
        `last_activity_at` and `assigned_to` (JSON-ready); `overdue` when `now` is given."""
        ret = self.return_
        return {
            "id": self.id,
            "order_id": self.order_id,
            "buyer_id": self.buyer_id,
            "seller_id": self.seller_id,
            "item_ids": list(self.item_ids),
            "reason": self.reason,
            "status": self.status,
            "resolution": self.resolution,
            "version": self.version,
            "opened_at": _iso(self.opened_at),
            "deadlines": {kind: self.deadlines.get(kind) for kind in DEADLINE_KINDS},
            "offer": None
            if self.offer is None
            else {"amount": self.offer["amount"], "state": self.offer.get("state")},
            "return": None
            if ret is None
            else {
                "tracking_number": ret.get("tracking_number"),
                "label_cost": ret.get("label_cost"),
                "delivered_at": ret.get("delivered_at"),
                "address": ret.get("address"),
            },
            "escalated": self.escalated,
            "refund": self.refund,
            "waiting_on": self.waiting_on,
            "next_deadline": _iso(self.next_deadline),
            "last_activity_at": _iso(self.last_activity_at),
            "assigned_to": self.assigned_to,
            **({} if now is None else {"overdue": self.overdue(now)}),
        }


ITEM_FIELDS = (
    "id",
    "order_id",
    "buyer_id",
    "seller_id",
    "item_ids",
    "reason",
    "status",
    "resolution",
    "version",
    "opened_at",
    "deadlines",
    "offer",
    "return",
    "escalated",
    "refund",
    "waiting_on",
    "next_deadline",
    "last_activity_at",
    "assigned_to",
)


def opened_row(data: Mapping[str, Any]) -> Row:
    at = _time(data["at"])
    assert at is not None
    routed = data.get("routed_to_support")
    due = _time(data.get("seller_response_due"))
    row = Row(
        id=str(data["request_id"]),
        order_id=str(data["order_id"]),
        buyer_id=str(data["buyer_id"]),
        seller_id=str(data["seller_id"]),
        marketplace=str(data.get("marketplace") or "US"),
        currency=str(data["currency"]),
        item_ids=[str(i["item_id"]) for i in data.get("items") or []],
        reason=str(data["reason"]),
        description=str(data.get("description") or ""),
        opened_at=at,
        version=int(data.get("version") or 1),
        last_activity_at=at,
    )
    # The items' titles are words a search finds the request by (finding B19), beside its
    # description and its messages.
    _add_text(row, " ".join(str(i.get("title") or "") for i in data.get("items") or []).strip())
    if routed:
        row.status = Status.ESCALATED
        row.escalated = True
        row.escalated_by = EscalatedBy.ROUTING
        row.escalated_at = at
        row.escalation_reason = str(routed)
        row.escalation_grounds = [str(routed)]
    else:
        row.status = Status.AWAITING_SELLER
        row.deadlines = {Deadline.SELLER_RESPONSE.value: _iso(due)} if due is not None else {}
        row.seller_response_due = due
    return row


def evolve(row: Row | None, name: str, data: Mapping[str, Any]) -> Row | None:
    """The row after one published event (a new row for `opened`; None stays None for an event of
    a request never seen opened). Mutates and returns `row`."""
    if name == "opened":
        return row if row is not None else opened_row(data)
    if row is None:
        return None
    version = int(data.get("version") or row.version)
    if version <= row.version:
        return row  # already applied (a replay of an older event changes nothing)
    row.version = version
    at = _time(data.get("at")) or row.last_activity_at
    assert at is not None
    if name not in NO_ACTIVITY:
        row.last_activity_at = at
    _apply(row, name, data, at)
    return row


def _responded(row: Row, at: datetime) -> None:
    row.deadlines.pop(Deadline.SELLER_RESPONSE, None)
    row.deadlines.pop(Deadline.NO_REFUND_CLOSE, None)
    if row.first_response_at is None:
        row.first_response_at = at
        row.first_response_hours = round(
            calendar_for(row.marketplace).business_hours_between(row.opened_at, at), 4
        )
        if row.seller_response_due is not None:
            row.responded_in_time = at <= row.seller_response_due


def _resolve(row: Row, at: datetime, resolution: str, amount: Any) -> None:
    row.status = Status.RESOLVED
    row.resolution = resolution
    row.closed_at = at
    row.deadlines = {}
    if amount is not None:
        row.refund = {"amount": int(amount), "currency": row.currency}


def _require_return(row: Row, due: Any, address: Any = None) -> None:
    """`address`: R68's return address recorded with the step (issue 28; None before it)."""
    row.status = Status.AWAITING_RETURN
    row.deadlines = {Deadline.RETURN_DROPOFF.value: _iso(_time(due))}
    row.return_ = {
        "tracking_number": None,
        "label_cost": None,
        "delivered_at": None,
        "address": address,
    }


def _escalate(row: Row, at: datetime, by: str, reason: str, grounds: Sequence[str]) -> None:
    row.status = Status.ESCALATED
    row.deadlines = {}
    row.escalated = True
    row.escalated_by = by
    row.escalated_at = at
    row.escalation_reason = reason
    row.escalation_grounds = [str(g) for g in grounds]
    row.assigned_to = None  # a new escalation is a new case for support


def _add_text(row: Row, text: Any) -> None:
    if text:
        row.messages_text = f"{row.messages_text}\n{text}" if row.messages_text else str(text)


def _apply(row: Row, name: str, data: Mapping[str, Any], at: datetime) -> None:
    if name in SELLER_RESPONSES:
        _responded(row, at)
    if name == "full_refund_offered":
        _resolve(row, at, Resolution.FULL_REFUND, data.get("amount"))
    elif name == "return_required":
        _require_return(row, data["return_dropoff_due"], data.get("return_address"))
    elif name == "partial_refund_offered":
        row.status = Status.OFFER_PENDING
        row.offer = {"amount": int(data["amount"]), "state": OfferState.PENDING.value}
        row.deadlines[Deadline.OFFER_ANSWER] = _iso(_time(data["offer_answer_due"]))
    elif name == "replacement_promised":
        row.status = Status.REPLACEMENT_PENDING
        row.deadlines[Deadline.REPLACEMENT_SHIP] = _iso(_time(data["replacement_ship_due"]))
    elif name == "no_refund_explained":
        row.status = Status.AWAITING_BUYER
        row.deadlines[Deadline.NO_REFUND_CLOSE] = _iso(_time(data["no_refund_close_due"]))
        _add_text(row, data.get("message"))
    elif name == "information_requested":
        row.status = Status.AWAITING_BUYER
        _add_text(row, data.get("message"))
    elif name == "offer_accepted":
        _offer_became(row, OfferState.ACCEPTED)
        _resolve(row, at, Resolution.PARTIAL_REFUND, data.get("amount"))
    elif name in ("offer_declined", "return_for_refund_chosen"):
        if name == "offer_declined":
            _offer_became(row, OfferState.DECLINED)
        _require_return(row, data["return_dropoff_due"], data.get("return_address"))
    elif name == "return_label_issued":
        if row.return_ is not None:
            row.return_["tracking_number"] = data.get("tracking_number")
            row.return_["label_cost"] = data.get("label_cost")
    elif name == "return_dropped_off":
        row.status = Status.RETURN_IN_TRANSIT
        row.deadlines.pop(Deadline.RETURN_DROPOFF, None)
    elif name == "return_delivered":
        row.status = Status.AWAITING_INSPECTION
        row.deadlines.pop(Deadline.RETURN_DROPOFF, None)
        row.deadlines[Deadline.RETURN_INSPECTION] = _iso(_time(data["return_inspection_due"]))
        if row.return_ is not None:
            row.return_["delivered_at"] = _iso(at)
    elif name in ("return_confirmed", "return_auto_confirmed"):
        _resolve(row, at, Resolution.FULL_REFUND, data.get("amount"))
    elif name == "return_disputed":
        _escalate(
            row, at, EscalatedBy.SELLER_DISPUTE, str(data.get("reason") or ""), ["return_disputed"]
        )
        _add_text(row, data.get("reason"))
    elif name == "replacement_shipped":
        _resolve(row, at, Resolution.REPLACEMENT, None)
    elif name == "message_posted":
        _add_text(row, data.get("body"))
        due = data.get("seller_response_due")
        if due is not None:
            row.status = Status.AWAITING_SELLER
            row.deadlines.pop(Deadline.NO_REFUND_CLOSE, None)
            row.deadlines[Deadline.SELLER_RESPONSE] = _iso(_time(due))
    elif name == "escalated":
        row.buyer_escalated = True
        if "no_response" in (data.get("grounds") or ()):
            row.escalated_unanswered = True
        _escalate(
            row, at, EscalatedBy.BUYER, str(data.get("reason") or ""), data.get("grounds") or []
        )
        _add_text(row, data.get("reason"))
    elif name == "support_decided":
        _decided(row, data, at)
    elif name == "seller_response_overdue":
        # the seller may still respond: the deadline stays in view, overdue (issue 27)
        row.missed_deadline = True
    elif name == "offer_lapsed":
        row.status = Status.AWAITING_SELLER
        _offer_became(row, OfferState.LAPSED)
        row.deadlines.pop(Deadline.OFFER_ANSWER, None)
    elif name == "return_window_expired":
        row.status = Status.CANCELLED
        row.resolution = Resolution.RETURN_NOT_SHIPPED
        row.closed_at = at
        row.deadlines = {}
    elif name == "replacement_overdue":
        # the seller may still ship (it stays in view, overdue); the buyer may return (R16)
        row.deadlines[RETURN_FOR_REFUND_WINDOW] = _iso(_time(data["return_until"]))
    elif name == "no_refund_closed":
        _resolve(row, at, Resolution.NO_REFUND, None)
    elif name == "agent_assigned":
        row.assigned_to = str(data.get("agent_id") or "") or None


def _offer_became(row: Row, state: OfferState) -> None:
    if row.offer is not None:
        row.offer = {**row.offer, "state": state.value}


def _decided(row: Row, data: Mapping[str, Any], at: datetime) -> None:
    outcome = data.get("outcome")
    if outcome in (Outcome.REFUND, Outcome.REFUND_WITH_RETURN) and data.get("liable") == "seller":
        # R44, as the ratings count it: support overturned the seller after a buyer escalation
        row.overturned = row.escalated_by == EscalatedBy.BUYER
    if outcome == Outcome.REFUND_WITH_RETURN:
        _require_return(row, data["return_dropoff_due"], data.get("return_address"))
    elif outcome == Outcome.UPHOLD_SELLER:
        _resolve(row, at, Resolution.NO_REFUND, None)
    else:
        _resolve(row, at, Resolution.FULL_REFUND, data.get("amount"))


# --- full-text words ----------------------------------------------------------------------------------


class InvalidQuery(ValueError):
    """A list query with a value that cannot be used (422), naming the parameter."""

    def __init__(self, parameter: str, detail: str) -> None:
        super().__init__(f"{parameter}: {detail}")
        self.parameter = parameter


def query_words(q: str) -> list[str]:
    """The words of a `q` search: letters and digits, lower-cased; every word must match."""
    words: list[str] = []
    current: list[str] = []
    for char in q.lower():
        if char.isalnum():
            current.append(char)
        elif current:
            words.append("".join(current))
            current = []
    if current:
        words.append("".join(current))
    unique = list(dict.fromkeys(words))
    if not unique:
        raise InvalidQuery("q", "give at least one word of letters or digits")
    if len(unique) > MAX_QUERY_WORDS:
        raise InvalidQuery("q", f"at most {MAX_QUERY_WORDS} words")
    return unique


# --- the cursor ----------------------------------------------------------------------------------------


def query_fingerprint(parameters: Mapping[str, Any]) -> str:
    """A short hash of a query's canonical parameters (its filters, sort, and who asks): a cursor
    carries it, so a cursor is refused by any other query."""
    canonical = json.dumps(parameters, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def encode_cursor(fingerprint: str, key: datetime, request_id: str) -> str:
    payload = json.dumps([fingerprint, key.astimezone(UTC).isoformat(), request_id])
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, fingerprint: str) -> tuple[datetime, str]:
    """(sort key, request id) after which the next page starts; InvalidQuery when the cursor is
    malformed or was made by another query."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        made_for, key, request_id = json.loads(raw)
        moment = datetime.fromisoformat(key)
        if not isinstance(made_for, str) or not isinstance(request_id, str) or not request_id:
            raise ValueError("bad parts")
        if moment.tzinfo is None or len(request_id) > 64:
            raise ValueError("bad parts")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise InvalidQuery(
            "cursor", "not a cursor this API made; use the next_cursor of a page as it is"
        ) from None
    if made_for != fingerprint:
        raise InvalidQuery(
            "cursor",
            "this cursor belongs to another query; send it with the same filters and sort "
            "(only limit may change), or start again without it",
        )
    return moment.astimezone(UTC), request_id


# --- the support queue's SLA --------------------------------------------------------------------------


def business_hours_waited(marketplace: str, since: datetime, now: datetime) -> float:
    return round(calendar_for(marketplace).business_hours_between(since, now), 2)


def sla_due(marketplace: str, since: datetime, target_hours: int) -> datetime:
    return calendar_for(marketplace).add_business_hours(since, target_hours).astimezone(UTC)


def breach_cutoff(marketplace: str, now: datetime, target_hours: int) -> datetime:
    """The latest instant a wait may have started at and be in breach at `now`: waits started at
    or before it have lasted at least `target_hours` business hours. (Business hours elapsed
    shrink as the start moves later, so a bisection finds it.)"""
    calendar = calendar_for(marketplace)
    # Business hours never run ahead of elapsed hours by more than a DST shift: a wait that began
    # later than `target_hours` (+2) before now cannot be in breach. Weekends and holidays push the
    # cutoff back by days: start 10 days earlier and widen until it is in breach.
    high = min(now, now - timedelta(hours=target_hours - 2))
    low = high - timedelta(days=10)
    while calendar.business_hours_between(low, now) < target_hours:
        low -= timedelta(days=10)
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if calendar.business_hours_between(middle, now) >= target_hours:
            low = middle
        else:
            high = middle
    # Within the last second business time runs at one hour per hour (or stands still): the exact
    # instant is the surplus at `low` later, checked to the microsecond.
    surplus = calendar.business_hours_between(low, now) - target_hours
    candidate = min(high, low + timedelta(hours=surplus))
    while candidate > low and calendar.business_hours_between(candidate, now) < target_hours:
        candidate -= timedelta(microseconds=1)
    return candidate


# --- seller performance --------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float | None:
    """The `share` quantile (0 < share < 1) by linear interpolation (`statistics.quantiles`,
    inclusive method); None without values."""
    if not values:
        return None
    if len(values) == 1:
        return round(float(values[0]), 2)
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return round(cuts[round(share * 100) - 1], 2)
