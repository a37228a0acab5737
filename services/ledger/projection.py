"""The ledger projection: request events in, ledger entries out.

`handle(messages, connection)` is a batch transport handler (shared/transport): it runs inside the
transaction in which `Projection.apply_batch` records the events' ids as applied, so each event
changes the ledger exactly once in effect. It reads nothing but `EventMessage.data`.

A batch leaves exactly the rows that applying its messages one at a time, in order, would: the
requests it touches are loaded once, every message is folded in memory with the pure `decide`, and
only the end state is written (one statement per table and kind of write). Entry ids are derived
from the event id, and `event_id` is unique, so even a handler run twice for one event (a second
consumer without shared tracking rows, a replay, a repeat within one batch) cannot append a second
row: the entry is skipped.

`record_claim_paid` is the other writer: a carrier's payment of a scheduled claim (R39).

Every appended entry also writes its `seller-support.ledger.v1` message to `ledger_outbox` in the same
transaction (the transactional outbox the publisher drains).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.engine import Connection

from services.ledger import store
from services.ledger.domain import (
    CHARGING_EVENTS,
    RETURN_STARTERS,
    ClaimPaidConflict,
    ItemFigures,
    PlannedEntry,
    RequestFacts,
    ScheduledClaim,
    claim_credit,
    decide,
)
from shared.contracts.ledger_v1 import LedgerEntryRecorded
from shared.transport.messages import EventMessage
from shared.transport.projection import reacts_to

CONSUMER = "ledger"
# Every event `decide` reacts to; the others change nothing in the ledger.
EVENTS = frozenset(
    {
        "opened",
        *CHARGING_EVENTS,
        *RETURN_STARTERS,
        "return_label_issued",
        "return_delivered",
        "return_window_expired",
    }
)


class ClaimNotScheduled(LookupError):
    """No automatic claim was scheduled for that tracking number (or not yet projected)."""


class ConcurrentClaimReport(Exception):
    """Another transaction recorded the same claim's payment first; retry to see its result."""


@reacts_to(EVENTS)
def handle(messages: Sequence[EventMessage], conn: Connection) -> None:
    keyed = [(str(m.data.get("request_id") or m.subject), m) for m in messages]
    stored = {
        request_id: facts_from_row(row)
        for request_id, row in store.request_rows(conn, {key for key, _m in keyed}).items()
    }
    known: dict[str, RequestFacts] = dict(stored)
    planned: list[PlannedEntry] = []
    claims: list[ScheduledClaim] = []
    for request_id, message in keyed:
        outcome = decide(known.get(request_id), message.name, message.data, message.id)
        if not outcome.changed:
            continue
        if outcome.facts is not None:
            known[request_id] = outcome.facts
        planned.extend(outcome.entries)
        if outcome.claim is not None:
            claims.append(outcome.claim)
    store.write_requests(
        conn,
        new=[facts_row(f) for key, f in known.items() if key not in stored],
        changed=[facts_row(f) for key, f in known.items() if key in stored and f != stored[key]],
    )
    append_entries(conn, planned)
    schedule_claims(conn, claims)


# --- per-request facts ---------------------------------------------------------------------------


def facts_from_row(r: Mapping[str, Any]) -> RequestFacts:
    return RequestFacts(
        request_id=r["request_id"],
        seller_id=r["seller_id"],
        currency=r["currency"],
        items=tuple(ItemFigures(**i) for i in r["items"]),
        return_liable=r["return_liable"],
        return_label_cost=r["return_label_cost"],
        return_delivered=bool(r["return_delivered"]),
    )


def facts_row(facts: RequestFacts) -> dict[str, Any]:
    return {
        "request_id": facts.request_id,
        "seller_id": facts.seller_id,
        "currency": facts.currency,
        "items": [
            {
                "item_id": i.item_id,
                "seller_payout": i.seller_payout,
                "buyer_shipping_paid": i.buyer_shipping_paid,
                "processing_fee": i.processing_fee,
            }
            for i in facts.items
        ],
        "return_liable": None if facts.return_liable is None else str(facts.return_liable),
        "return_label_cost": facts.return_label_cost,
        "return_delivered": facts.return_delivered,
    }


# --- entries and claims -----------------------------------------------------------------------------


def entry_row(entry: PlannedEntry) -> dict[str, Any]:
    """A planned entry as its `ledger_entries` row."""
    return {
        "id": entry.id,
        "seller_id": entry.seller_id,
        "request_id": entry.request_id,
        "kind": str(entry.kind),
        "amount": entry.amount.amount,
        "currency": entry.amount.currency,
        "at": entry.at.astimezone(UTC),
        "event_id": entry.event_id,
    }


def append_entries(conn: Connection, planned: Iterable[PlannedEntry]) -> None:
    """Append the entries whose causing event has none yet (stored, or earlier in `planned`), in
    order, each with its outbox message."""
    by_event: dict[str, PlannedEntry] = {}
    for entry in planned:
        by_event.setdefault(entry.event_id, entry)
    if not by_event:
        return
    present = store.entry_event_ids(conn, by_event.keys())
    new = [entry for event_id, entry in by_event.items() if event_id not in present]
    store.insert_entries(
        conn,
        [entry_row(entry) for entry in new],
        # The outbox of seller-support.ledger.v1, in the entries' own transaction.
        [
            {
                "entry_id": entry.id,
                "seller_id": entry.seller_id,
                "payload": published_entry(entry).model_dump(mode="json"),
                "published_at": None,
            }
            for entry in new
        ],
    )


def published_entry(entry: PlannedEntry) -> LedgerEntryRecorded:
    """The `seller-support.ledger.v1` message of a new entry (effective time in UTC)."""
    return LedgerEntryRecorded(
        id=entry.id,
        seller_id=entry.seller_id,
        request_id=entry.request_id,
        kind=str(entry.kind),  # type: ignore[arg-type]
        amount=entry.amount.amount,
        currency=entry.amount.currency,
        at=entry.at.astimezone(UTC),
        event_id=entry.event_id,
    )


def schedule_claims(conn: Connection, planned: Sequence[ScheduledClaim]) -> None:
    """R38: one claim per shipment. When two requests on one shipment both turn the claim on, the
    lowest request id holds it (whatever order their events arrive in), until it is paid."""
    if not planned:
        return
    stored = store.claim_holders(conn, {claim.tracking_number for claim in planned})
    holders = {number: holder for number, (holder, paid_at) in stored.items() if paid_at is None}
    taken: dict[str, ScheduledClaim] = {}
    for claim in planned:
        number = claim.tracking_number
        if number in stored and number not in holders:
            continue  # paid: it keeps the request it was paid for
        if number not in holders or claim.request_id < holders[number]:
            holders[number] = claim.request_id
            taken[number] = claim
    store.write_claims(
        conn,
        new=[claim_values(c) for number, c in taken.items() if number not in stored],
        changed=[claim_values(c) for number, c in taken.items() if number in stored],
    )


def claim_values(claim: ScheduledClaim) -> dict[str, Any]:
    return {
        "tracking_number": claim.tracking_number,
        "request_id": claim.request_id,
        "seller_id": claim.seller_id,
        "currency": claim.currency,
        "insured_value": claim.insured_value,
        "file_at": claim.file_at.astimezone(UTC),
        "scheduled_by_event": claim.event_id,
    }


def claim_row(conn: Connection, tracking_number: str) -> dict[str, Any] | None:
    row = conn.execute(
        select(store.claims).where(store.claims.c.tracking_number == tracking_number)
    ).first()
    return None if row is None else dict(row._mapping)


def record_claim_paid(
    conn: Connection, *, tracking_number: str, amount: int, at: datetime
) -> tuple[PlannedEntry | None, bool]:
    """R39: credit a paid claim once. Returns (the credit, whether it was new).

    Raises ClaimNotScheduled (no such claim), ClaimPaidTooEarly (reported before the filing date),
    ClaimPaidConflict (already reported paid with another amount or time).
    """
    claim = claim_row(conn, tracking_number)
    if claim is None:
        raise ClaimNotScheduled(
            f"no automatic claim is scheduled for tracking number {tracking_number}"
        )
    credit = claim_credit(
        tracking_number=tracking_number,
        request_id=claim["request_id"],
        seller_id=claim["seller_id"],
        currency=claim["currency"],
        insured_value=claim["insured_value"],
        file_at=_aware(claim["file_at"]),
        paid_amount=amount,
        paid_at=at,
    )
    if claim["paid_at"] is not None:
        if claim["paid_amount"] != amount or _aware(claim["paid_at"]) != at:
            raise ClaimPaidConflict(
                f"the claim on {tracking_number} was already reported paid: "
                f"{claim['paid_amount']} at {_aware(claim['paid_at']).isoformat()}"
            )
        return credit, False
    moved = conn.execute(
        update(store.claims)
        .where(store.claims.c.tracking_number == tracking_number, store.claims.c.paid_at.is_(None))
        .values(paid_amount=amount, paid_at=at.astimezone(UTC), credited=credit.amount.amount)
    ).rowcount
    if not moved:  # a concurrent report won; the caller's transaction retries and sees it
        raise ConcurrentClaimReport(tracking_number)
    append_entries(conn, [credit])
    return credit, True


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for UTC columns; PostgreSQL aware ones."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
