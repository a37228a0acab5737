"""The search projection's handler: a batch of published request events -> `search_requests` rows.

A plain `(Sequence[EventMessage], Connection) -> None` function, fed by either transport (the
embedded notification-log feed or the Kafka consumer of `seller-support.requests.v1`) through
`shared.transport.Projection`, which records each event id in the same transaction. The batch is
folded in memory with the pure `evolve` (services/search/domain.py) and written back with one
statement per kind of write; an event whose version the row already has changes nothing, so the
handler is idempotent on its own too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from services.search import store
from services.search.domain import Row, evolve
from shared.migrations import ensure_schema
from shared.transport.messages import EventMessage
from shared.transport.projection import Projection

CONSUMER = "search"

_ROW_FIELDS = {
    "id",
    "order_id",
    "buyer_id",
    "seller_id",
    "marketplace",
    "currency",
    "item_ids",
    "reason",
    "description",
    "opened_at",
    "status",
    "resolution",
    "version",
    "deadlines",
    "offer",
    "refund",
    "escalated",
    "escalated_by",
    "escalated_at",
    "escalation_reason",
    "escalation_grounds",
    "assigned_to",
    "last_activity_at",
    "closed_at",
    "messages_text",
    "seller_response_due",
    "first_response_at",
    "first_response_hours",
    "responded_in_time",
    "missed_deadline",
    "buyer_escalated",
    "overturned",
    "escalated_unanswered",
}
_TIMES = (
    "opened_at",
    "escalated_at",
    "last_activity_at",
    "closed_at",
    "seller_response_due",
    "first_response_at",
)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for UTC columns; PostgreSQL aware ones."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def row_from_db(stored: Mapping[str, Any]) -> Row:
    values = {name: stored[name] for name in _ROW_FIELDS}
    for name in _TIMES:
        values[name] = _aware(values[name])
    values["return_"] = stored["return_state"]
    values["deadlines"] = dict(values["deadlines"] or {})
    values["escalation_grounds"] = list(values["escalation_grounds"] or [])
    return Row(**values)


def row_to_db(row: Row) -> dict[str, Any]:
    values = {name: getattr(row, name) for name in _ROW_FIELDS}
    values["return_state"] = row.return_
    values["waiting_on"] = row.waiting_on
    values["next_deadline"] = row.next_deadline
    values["due_key"] = row.due_key
    return values


def _document(row: Row) -> str:
    return f"{row.description}\n{row.messages_text}"


def handle(messages: Sequence[EventMessage], conn: Connection) -> None:
    ids = [str(m.data.get("request_id") or m.subject) for m in messages]
    stored = store.load_rows(conn, set(ids))
    current: dict[str, Row] = {rid: row_from_db(values) for rid, values in stored.items()}
    before = {rid: (row.version, _document(row)) for rid, row in current.items()}
    for message, request_id in zip(messages, ids, strict=True):
        after = evolve(current.get(request_id), message.name, message.data)
        if after is not None:
            current[request_id] = after
    new, changed, documents = [], [], []
    for request_id, row in current.items():
        previous = before.get(request_id)
        if previous is None:
            new.append(row_to_db(row))
            documents.append((request_id, _document(row)))
        elif previous[0] != row.version:
            changed.append(row_to_db(row))
            if previous[1] != _document(row):
                documents.append((request_id, _document(row)))
    store.write_rows(conn, new, changed)
    store.write_text(conn, documents)


def search_projection(engine: Engine) -> Projection:
    """The projection over the search database (creates its tables when missing)."""
    ensure_schema(engine, store.STORE)
    return Projection(engine, CONSUMER, handle)
