"""The ledger projection: request events in, ledger entries out.

`handle(message, connection)` is a plain transport handler (shared/transport): it runs inside the
transaction in which `Projection.apply` records the event id as applied, so each event changes the
ledger exactly once in effect. It reads nothing but `EventMessage.data`. Entry ids are derived from
the event id, and `event_id` is unique, so even a handler run twice for one event (a second consumer
without shared tracking rows, a replay) cannot append a second row: the insert is skipped.

`record_claim_paid` is the other writer: a carrier's payment of a scheduled claim (R39).

Every appended entry also writes its `seller-support.ledger.v1` message to `ledger_outbox` in the same
transaction (the transactional outbox the publisher drains).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection

from services.ledger import store
from services.ledger.domain import (
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

CONSUMER = "ledger"


class ClaimNotScheduled(LookupError):
    """No automatic claim was scheduled for that tracking number (or not yet projected)."""


class ConcurrentClaimReport(Exception):
    """Another transaction recorded the same claim's payment first; retry to see its result."""


def handle(message: EventMessage, conn: Connection) -> None:
    data = message.data
    request_id = str(data.get("request_id") or message.subject)
    known = load_facts(conn, request_id)
    outcome = decide(known, message.name, data, message.id)
    if not outcome.changed:
        return
    if outcome.facts is not None and outcome.facts != known:
        save_facts(conn, outcome.facts, exists=known is not None)
    for entry in outcome.entries:
        append_entry(conn, entry)
    if outcome.claim is not None:
        schedule_claim(conn, outcome.claim)


# --- per-request facts ---------------------------------------------------------------------------


def load_facts(conn: Connection, request_id: str) -> RequestFacts | None:
    row = conn.execute(select(store.requests).where(store.requests.c.request_id == request_id))
    found = row.first()
    if found is None:
        return None
    r = found._mapping
    return RequestFacts(
        request_id=r["request_id"],
        seller_id=r["seller_id"],
        currency=r["currency"],
        items=tuple(ItemFigures(**i) for i in r["items"]),
        return_liable=r["return_liable"],
        return_label_cost=r["return_label_cost"],
        return_delivered=bool(r["return_delivered"]),
    )


def save_facts(conn: Connection, facts: RequestFacts, *, exists: bool) -> None:
    values = {
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
    if exists:
        conn.execute(
            update(store.requests)
            .where(store.requests.c.request_id == facts.request_id)
            .values(**values)
        )
    else:
        conn.execute(insert(store.requests).values(request_id=facts.request_id, **values))


# --- entries and claims -----------------------------------------------------------------------------


def append_entry(conn: Connection, entry: PlannedEntry) -> bool:
    """Append one entry; False (and nothing written) when its causing event already has one."""
    present = conn.execute(
        select(store.entries.c.id).where(store.entries.c.event_id == entry.event_id)
    ).first()
    if present is not None:
        return False
    conn.execute(
        insert(store.entries).values(
            id=entry.id,
            seller_id=entry.seller_id,
            request_id=entry.request_id,
            kind=str(entry.kind),
            amount=entry.amount.amount,
            currency=entry.amount.currency,
            at=entry.at.astimezone(UTC),
            event_id=entry.event_id,
        )
    )
    # The outbox of seller-support.ledger.v1, in the entry's own transaction.
    conn.execute(
        insert(store.outbox).values(
            entry_id=entry.id,
            seller_id=entry.seller_id,
            payload=published_entry(entry).model_dump(mode="json"),
            published_at=None,
        )
    )
    return True


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


def schedule_claim(conn: Connection, claim: ScheduledClaim) -> None:
    """R38: one claim per shipment. When two requests on one shipment both turn the claim on, the
    lowest request id holds it (whatever order their events arrive in), until it is paid."""
    existing = conn.execute(
        select(store.claims).where(store.claims.c.tracking_number == claim.tracking_number)
    ).first()
    values = {
        "request_id": claim.request_id,
        "seller_id": claim.seller_id,
        "currency": claim.currency,
        "insured_value": claim.insured_value,
        "file_at": claim.file_at.astimezone(UTC),
        "scheduled_by_event": claim.event_id,
    }
    if existing is None:
        conn.execute(insert(store.claims).values(tracking_number=claim.tracking_number, **values))
        return
    row = existing._mapping
    if row["paid_at"] is None and claim.request_id < row["request_id"]:
        conn.execute(
            update(store.claims)
            .where(store.claims.c.tracking_number == claim.tracking_number)
            .values(**values)
        )


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
    append_entry(conn, credit)
    return credit, True


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for UTC columns; PostgreSQL aware ones."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
