"""The seller ledger's rules (SPEC R30-R39): given what is known about a request and one of its
published events, which ledger entries (and which scheduled shipping claim) result.

Pure: no clock, no I/O, no database. Inputs are the published event data (the JSON of
`seller-support.requests.v1`, never the requests service's classes) and the per-request facts the
ledger remembered from earlier events; outputs are new facts, entries and claims. The projection
(`projection.py`) stores them; the same inputs always give the same outputs, so a rebuild from
history gives the same ledger.

Signs: a charge to the seller is negative, a credit (a paid shipping claim) positive.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.money import Money, total


class EntryKind(StrEnum):
    REFUND_NO_RETURN = "refund_no_return"  # R30
    REFUND_AFTER_RETURN = "refund_after_return"  # R31 (and R34 for support's refund_with_return)
    PARTIAL_REFUND = "partial_refund"  # R33
    SUPPORT_RULING = "support_ruling"  # R34: support's refund with the seller liable
    CLAIM_CREDIT = "claim_credit"  # R38/R39


class Liable(StrEnum):
    SELLER = "seller"
    PLATFORM = "platform"


# The only request events that can move money. Everything else (R32 replacement, R35 return window
# expired, R36 chargebacks, messages, escalations, feedback, unknown future events) charges nothing.
CHARGING_EVENTS = frozenset(
    {
        "full_refund_offered",  # R30
        "return_confirmed",  # R31
        "return_auto_confirmed",  # R31
        "offer_accepted",  # R33
        "support_decided",  # R34
    }
)

# Events that start a return whose confirmation is charged under R31, and who pays for it.
RETURN_STARTERS = frozenset({"return_required", "offer_declined", "return_for_refund_chosen"})

# Entry ids are UUIDv5 of the causing event id and the entry kind: a rebuild yields the same ids.
ENTRY_NAMESPACE = uuid.UUID("6f1d4b8e-2a51-5c55-9b0e-6c2f3d1a7e40")


class LedgerError(Exception):
    """The ledger cannot apply a fact."""


class UnknownRequest(LedgerError):
    """A money event arrived for a request whose `opened` event the ledger never saw."""


class ClaimPaidTooEarly(LedgerError):
    """R38: a claim is filed no earlier than 14 days after the ship date, so it cannot be paid before."""


class ClaimPaidConflict(LedgerError):
    """The claim was already reported paid with a different amount."""


@dataclass(frozen=True)
class ItemFigures:
    """R37: the per-item amounts of the upstream order, as the request's `opened` event carries them."""

    item_id: str
    seller_payout: int
    buyer_shipping_paid: int
    processing_fee: int


@dataclass(frozen=True)
class RequestFacts:
    """What the ledger remembers about one request between its events."""

    request_id: str
    seller_id: str
    currency: str
    items: tuple[ItemFigures, ...]
    # The return currently expected or under way (R11, R14, R16, R22): who pays for it if it is
    # confirmed, its label cost once known, and whether it reached the seller.
    return_liable: str | None = None
    return_label_cost: int | None = None
    return_delivered: bool = False


@dataclass(frozen=True)
class PlannedEntry:
    id: str
    seller_id: str
    request_id: str
    kind: str
    amount: Money  # negative: charge, positive: credit
    at: datetime
    event_id: str


@dataclass(frozen=True)
class ScheduledClaim:
    """R38: an automatic shipping claim on the original shipment."""

    tracking_number: str
    request_id: str
    seller_id: str
    currency: str
    insured_value: int
    file_at: datetime
    event_id: str


@dataclass(frozen=True)
class Outcome:
    facts: RequestFacts | None
    entries: tuple[PlannedEntry, ...] = ()
    claim: ScheduledClaim | None = None
    changed: bool = field(default=True)


def entry_id(event_id: str, kind: str) -> str:
    return str(uuid.uuid5(ENTRY_NAMESPACE, f"{event_id}|{kind}"))


def refund_charge(facts: RequestFacts, *, with_return_label: bool) -> Money:
    """R30 (payout + buyer shipping + processing fee of the affected items); R31 adds the label."""
    charged = total(
        (
            Money(i.seller_payout + i.buyer_shipping_paid + i.processing_fee, facts.currency)
            for i in facts.items
        ),
        facts.currency,
    )
    if with_return_label:
        charged += Money(facts.return_label_cost or 0, facts.currency)
    return charged


def parse_time(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if moment.tzinfo is None:
        raise ValueError(f"time without an offset: {value!r}")
    return moment


def facts_from_opened(data: Mapping[str, Any]) -> RequestFacts:
    return RequestFacts(
        request_id=str(data["request_id"]),
        seller_id=str(data["seller_id"]),
        currency=str(data["currency"]),
        items=tuple(
            ItemFigures(
                item_id=str(i["item_id"]),
                seller_payout=_minor_units(i["seller_payout"]),
                buyer_shipping_paid=_minor_units(i["buyer_shipping_paid"]),
                processing_fee=_minor_units(i["processing_fee"]),
            )
            for i in data["items"]
        ),
    )


def _minor_units(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"amounts are integer minor units, got {value!r}")
    return value


def _charge(
    facts: RequestFacts, kind: str, amount: Money, at: datetime, event_id: str
) -> PlannedEntry:
    return PlannedEntry(
        id=entry_id(event_id, kind),
        seller_id=facts.seller_id,
        request_id=facts.request_id,
        kind=kind,
        amount=-amount,
        at=at,
        event_id=event_id,
    )


def _seller_charge(data: Mapping[str, Any], facts: RequestFacts) -> Money | None:
    """R63: what the requests service charged for this step against the item's record (what was
    left of its R30 amount, plus R31's label), carried by events since R63; None for older events,
    whose charge the ledger computes from the cost table as before."""
    charge = data.get("seller_charge")
    return None if charge is None else Money(_minor_units(charge), facts.currency)


def _charges(
    facts: RequestFacts, kind: str, amount: Money, at: datetime, event_id: str
) -> tuple[PlannedEntry, ...]:
    """The step's charge entry; none when nothing is left to charge (R63)."""
    if amount.amount == 0:
        return ()
    return (_charge(facts, kind, amount, at, event_id),)


def _claim(facts: RequestFacts, auto_claim: Mapping[str, Any] | None, event_id: str):
    if not auto_claim:
        return None
    return ScheduledClaim(
        tracking_number=str(auto_claim["tracking_number"]),
        request_id=facts.request_id,
        seller_id=facts.seller_id,
        currency=facts.currency,
        insured_value=_minor_units(auto_claim["insured_value"]),
        file_at=parse_time(auto_claim["file_at"]),
        event_id=event_id,
    )


def _new_return(facts: RequestFacts, liable: str | None) -> RequestFacts:
    return replace(facts, return_liable=liable, return_label_cost=None, return_delivered=False)


def decide(
    facts: RequestFacts | None, name: str, data: Mapping[str, Any], event_id: str
) -> Outcome:
    """The ledger's reaction to one published request event."""
    if name == "opened":
        return Outcome(facts=facts_from_opened(data))
    if facts is None:
        if name in CHARGING_EVENTS or name in RETURN_STARTERS:
            raise UnknownRequest(
                f"event {event_id} ({name}) for request {data.get('request_id')} whose opening "
                "the ledger never saw"
            )
        return Outcome(facts=None, changed=False)
    at = parse_time(data["at"])

    if name == "full_refund_offered":  # R30, and R38's claim
        amount = _seller_charge(data, facts) or refund_charge(facts, with_return_label=False)
        return Outcome(
            facts=facts,
            entries=_charges(facts, EntryKind.REFUND_NO_RETURN, amount, at, event_id),
            claim=_claim(facts, data.get("auto_claim"), event_id),
        )
    if name == "return_required":  # R11 (R31 is charged later), and R38's claim
        return Outcome(
            facts=_new_return(facts, Liable.SELLER),
            claim=_claim(facts, data.get("auto_claim"), event_id),
        )
    if name in ("offer_declined", "return_for_refund_chosen"):  # R14, R16: full refund on return
        return Outcome(facts=_new_return(facts, Liable.SELLER))
    if name == "return_label_issued":
        return Outcome(facts=replace(facts, return_label_cost=_minor_units(data["label_cost"])))
    if name == "return_delivered":
        return Outcome(facts=replace(facts, return_delivered=True))
    if name in ("return_confirmed", "return_auto_confirmed"):  # R31, R34 refund_with_return
        if facts.return_liable == Liable.PLATFORM:
            return Outcome(facts=facts, changed=False)
        amount = _seller_charge(data, facts) or refund_charge(facts, with_return_label=True)
        return Outcome(
            facts=facts,
            entries=_charges(facts, EntryKind.REFUND_AFTER_RETURN, amount, at, event_id),
        )
    if name == "offer_accepted":  # R33
        amount = _seller_charge(data, facts) or Money(_minor_units(data["amount"]), facts.currency)
        return Outcome(
            facts=facts,
            entries=_charges(facts, EntryKind.PARTIAL_REFUND, amount, at, event_id),
        )
    if name == "support_decided":  # R34
        return _support_decided(facts, data, at, event_id)
    if name == "return_window_expired":  # R35: nothing charged
        return Outcome(facts=_new_return(facts, None))
    # R32 replacement, R35 cancellation, R36 chargebacks, and everything else: no money moves.
    return Outcome(facts=facts, changed=False)


def _support_decided(
    facts: RequestFacts, data: Mapping[str, Any], at: datetime, event_id: str
) -> Outcome:
    outcome = data.get("outcome")
    liable = data.get("liable")
    if outcome == "refund_with_return":
        # Charged at the return's confirmation (R31 amount), only if the seller is liable.
        return Outcome(facts=_new_return(facts, liable))
    if outcome == "refund" and liable == Liable.SELLER:
        # [decided] "the matching R30/R31 amount": R31's (with the label) when the item already
        # came back (support ruled on a disputed return), R30's otherwise.
        amount = _seller_charge(data, facts) or refund_charge(
            facts, with_return_label=facts.return_delivered
        )
        return Outcome(
            facts=facts,
            entries=_charges(facts, EntryKind.SUPPORT_RULING, amount, at, event_id),
        )
    # uphold_seller, platform_refund, or any refund the platform is liable for: nothing.
    return Outcome(facts=facts, changed=False)


# --- shipping claims (R38/R39) ------------------------------------------------------------------


def claim_event_id(tracking_number: str) -> str:
    return f"claim_paid:{tracking_number}"


def claim_credit(
    *,
    tracking_number: str,
    request_id: str,
    seller_id: str,
    currency: str,
    insured_value: int,
    file_at: datetime,
    paid_amount: int,
    paid_at: datetime,
) -> PlannedEntry:
    """R39: a paid claim is credited, at most the insured amount, no earlier than the filing date."""
    if isinstance(paid_amount, bool) or not isinstance(paid_amount, int) or paid_amount < 0:
        raise ValueError(f"a paid amount is non-negative integer minor units, got {paid_amount!r}")
    if paid_at < file_at:
        raise ClaimPaidTooEarly(
            f"the claim on {tracking_number} cannot be paid at {paid_at.isoformat()}: it is filed "
            f"no earlier than {file_at.isoformat()} (14 calendar days after the ship date, R38)"
        )
    event_id = claim_event_id(tracking_number)
    return PlannedEntry(
        id=entry_id(event_id, EntryKind.CLAIM_CREDIT),
        seller_id=seller_id,
        request_id=request_id,
        kind=EntryKind.CLAIM_CREDIT,
        amount=Money(min(paid_amount, insured_value), currency),
        at=paid_at,
        event_id=event_id,
    )


def balances(entries: Iterable[tuple[int, str]]) -> dict[str, Money]:
    """Balance per currency of (amount, currency) pairs."""
    result: dict[str, Money] = {}
    for amount, currency in entries:
        result[currency] = result.get(currency, Money.zero(currency)) + Money(amount, currency)
    return result
