"""The search service's own tables (SQLAlchemy Core), in its own database.

- `search_requests`: one row per request, every column a list query filters or sorts on, the
  state fields of API.md, and the seller-performance facts. `due_key` is the next deadline, or
  9999-12-31 when there is none, so that the keyset order over (`due_key`, `id`) is total.
- Full text for `q` (the description, the seller's and buyer's messages, escalation and dispute
  reasons): on PostgreSQL a generated `document tsvector` column (text search configuration
  `simple`: words as written, lower-cased, no stemming) under a GIN index; on SQLite an FTS5 table
  `search_requests_fts` (tokenizer `unicode61`, the same word rule), keyed by the request id,
  written by the projection in the same transaction as the row. Both are created with the table,
  by DDL that runs only on their dialect.

The tracking rows (`applied_events`, `feed_positions`) live here too (shared/transport/projection.py).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    bindparam,
    event,
    false,
    select,
    text,
    update,
)
from sqlalchemy.engine import Connection

from shared.database import indexes_named, insert_rows
from shared.migrations import Store

metadata = MetaData()

requests = Table(
    "search_requests",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("order_id", String(200), nullable=False),
    Column("buyer_id", String(200), nullable=False),
    Column("seller_id", String(200), nullable=False),
    Column("marketplace", String(10), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("item_ids", JSON, nullable=False),
    Column("reason", String(40), nullable=False),
    Column("status", String(40), nullable=False),
    Column("resolution", String(40), nullable=True),
    Column("waiting_on", String(20), nullable=False),
    Column("version", Integer, nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("last_activity_at", DateTime(timezone=True), nullable=False),
    Column("next_deadline", DateTime(timezone=True), nullable=True),
    Column("due_key", DateTime(timezone=True), nullable=False),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Column("deadlines", JSON, nullable=False),
    Column("offer", JSON, nullable=True),
    Column("return_state", JSON, nullable=True),
    Column("refund", JSON, nullable=True),
    Column("escalated", Boolean, nullable=False),
    Column("escalated_by", String(20), nullable=True),
    Column("escalated_at", DateTime(timezone=True), nullable=True),
    Column("escalation_reason", Text, nullable=True),
    Column("escalation_grounds", JSON, nullable=False),
    Column("assigned_to", String(200), nullable=True),
    Column("description", Text, nullable=False),
    Column("messages_text", Text, nullable=False),
    Column("seller_response_due", DateTime(timezone=True), nullable=True),
    Column("first_response_at", DateTime(timezone=True), nullable=True),
    Column("first_response_hours", Float, nullable=True),
    Column("responded_in_time", Boolean, nullable=True),
    Column("missed_deadline", Boolean, nullable=False),
    Column("buyer_escalated", Boolean, nullable=False),
    Column("overturned", Boolean, nullable=False),
    # R69 (issue 28): escalated by the buyer after no answer (ground no_response)
    Column("escalated_unanswered", Boolean, nullable=False, server_default=false()),
    Index("ix_search_seller_due", "seller_id", "due_key", "id"),
    Index("ix_search_seller_opened", "seller_id", "opened_at", "id"),
    Index("ix_search_seller_activity", "seller_id", "last_activity_at", "id"),
    Index("ix_search_buyer_opened", "buyer_id", "opened_at", "id"),
    Index("ix_search_waiting_since", "waiting_on", "escalated_at", "id"),
    # the queue's counts (waiting, past the SLA per marketplace) read this index only
    Index("ix_search_waiting_market", "waiting_on", "marketplace", "escalated_at"),
    Index("ix_search_due", "due_key", "id"),
    Index("ix_search_opened", "opened_at", "id"),
    Index("ix_search_activity", "last_activity_at", "id"),
    Index("ix_search_order", "order_id"),
)

FTS_TABLE = "search_requests_fts"

# PostgreSQL: the words of the row as a generated column, under a GIN index.
event.listen(
    requests,
    "after_create",
    DDL(
        "ALTER TABLE search_requests ADD COLUMN document tsvector GENERATED ALWAYS AS "
        "(to_tsvector('simple', description || ' ' || messages_text)) STORED"
    ).execute_if(dialect="postgresql"),
)
event.listen(
    requests,
    "after_create",
    DDL("CREATE INDEX ix_search_document ON search_requests USING gin (document)").execute_if(
        dialect="postgresql"
    ),
)
# SQLite: an FTS5 table, written by the projection (`write_text`).
event.listen(
    requests,
    "after_create",
    DDL(
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5("
        "request_id UNINDEXED, body, tokenize = 'unicode61')"
    ).execute_if(dialect="sqlite"),
)
event.listen(
    requests,
    "after_drop",
    DDL(f"DROP TABLE IF EXISTS {FTS_TABLE}").execute_if(dialect="sqlite"),
)

# The store (shared/migrations.py). The full-text objects above are made by dialect DDL, not
# declared as columns or tables, so the drift check leaves them out (`unmanaged`); the baseline
# revision creates them with the same statements, and tests/integration/test_migrations.py checks
# that a store built through its revisions has them.
STORE = Store(
    "search",
    "services.search.migrations.search",
    metadata,
    unmanaged=frozenset({"document", "ix_search_document"}),
)

# The list queries' indexes: the projection reads through the primary key only, so a rebuild
# builds these after its load (`shared.database.bulk_load`).
QUERY_INDEXES = indexes_named(
    (requests,),
    "ix_search_seller_due",
    "ix_search_seller_opened",
    "ix_search_seller_activity",
    "ix_search_buyer_opened",
    "ix_search_waiting_since",
    "ix_search_waiting_market",
    "ix_search_due",
    "ix_search_opened",
    "ix_search_activity",
    "ix_search_order",
)

IN_CHUNK = 500

_ROWS_BY_ID = select(requests).where(requests.c.id.in_(bindparam("keys", expanding=True)))
_UPDATE_ROW = update(requests).where(requests.c.id == bindparam("b_id"))


def _chunks(keys: Collection[str]) -> Iterator[list[str]]:
    ordered = list(keys)
    for start in range(0, len(ordered), IN_CHUNK):
        yield ordered[start : start + IN_CHUNK]


def load_rows(conn: Connection, ids: Collection[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for keys in _chunks(ids):
        for row in conn.execute(_ROWS_BY_ID, {"keys": keys}):
            found[row.id] = dict(row._mapping)
    return found


def write_rows(conn: Connection, new: list[dict[str, Any]], changed: list[dict[str, Any]]) -> None:
    insert_rows(conn, requests, new)
    if changed:
        params = []
        for row in changed:
            values = {k: v for k, v in row.items() if k != "id"}
            values["b_id"] = row["id"]
            params.append(values)
        conn.execute(_UPDATE_ROW, params)


def fts_key(request_id: str) -> int:
    """The FTS5 rowid of a request: 60 bits of its id (a request id is a UUID)."""
    digits = "".join(c for c in request_id if c in "0123456789abcdefABCDEF")
    return int(digits[:15] or "0", 16)


def write_text(conn: Connection, documents: list[tuple[str, str]]) -> None:
    """SQLite: (request id, words) for the FTS5 table, replacing what a request had."""
    if conn.dialect.name != "sqlite" or not documents:
        return
    conn.execute(
        text(f"DELETE FROM {FTS_TABLE} WHERE rowid = :rowid"),
        [{"rowid": fts_key(request_id)} for request_id, _ in documents],
    )
    conn.execute(
        text(f"INSERT INTO {FTS_TABLE} (rowid, request_id, body) VALUES (:rowid, :id, :body)"),
        [{"rowid": fts_key(rid), "id": rid, "body": body} for rid, body in documents],
    )
