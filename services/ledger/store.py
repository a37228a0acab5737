"""The ledger's own tables (SQLAlchemy Core), in the ledger's own database.

- `ledger_entries`: append-only; a correction is a new entry. `id` is derived from the causing event
  id and the kind, and `event_id` is unique, so a redelivered or replayed event cannot add a row.
- `ledger_requests`: what the projection remembers about each request between its events.
- `ledger_claims`: automatic shipping claims (R38), one per shipment (tracking number), and whether
  the carrier has paid them (R39).
- `ledger_outbox`: one `LedgerEntryRecorded` (`seller-support.ledger.v1`) per entry, written in the
  same transaction as the entry; the publisher (services/ledger/publisher.py) sends the rows in
  `position` order and sets `published_at` only after the broker acknowledged them.

The projection's tracking rows (`applied_events`, `feed_positions`) live in the same database:
see shared/transport/projection.py.

The reads and writes below serve a whole batch of events at once: one SELECT per table for every key
the batch touches (IN-lists of at most `IN_CHUNK` keys), one executemany per kind of write. Their
statements are built once, here: building an SQLAlchemy construct per row cost more than the row.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    bindparam,
    select,
    update,
)
from sqlalchemy.engine import Connection

from shared.database import indexes_named, insert_rows
from shared.migrations import Store

metadata = MetaData()
# these tables' migrations: services/ledger/migrations/ledger/ (shared/migrations.py)
STORE = Store("ledger", "services.ledger.migrations.ledger", metadata)

entries = Table(
    "ledger_entries",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("seller_id", String(200), nullable=False),
    Column("request_id", String(36), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("amount", BigInteger, nullable=False),  # minor units: negative charge, positive credit
    Column("currency", String(3), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),  # effective time (business clock)
    Column("event_id", String(200), nullable=False, unique=True),
    Index("ix_ledger_entries_seller_at", "seller_id", "at", "id"),
    Index("ix_ledger_entries_request", "request_id"),
)

requests = Table(
    "ledger_requests",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("seller_id", String(200), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column(
        "items", JSON, nullable=False
    ),  # [{item_id, seller_payout, buyer_shipping_paid, processing_fee}]
    Column("return_liable", String(20), nullable=True),
    Column("return_label_cost", BigInteger, nullable=True),
    Column("return_delivered", Boolean, nullable=False, default=False),
)

claims = Table(
    "ledger_claims",
    metadata,
    Column("tracking_number", String(200), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
    Column("seller_id", String(200), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("insured_value", BigInteger, nullable=False),
    Column("file_at", DateTime(timezone=True), nullable=False),
    Column("scheduled_by_event", String(200), nullable=False),
    Column("paid_amount", BigInteger, nullable=True),  # as the carrier reported it
    Column("paid_at", DateTime(timezone=True), nullable=True),
    Column("credited", BigInteger, nullable=True),  # min(paid_amount, insured_value)
)

outbox = Table(
    "ledger_outbox",
    metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),  # publication order
    Column("entry_id", String(36), nullable=False, unique=True),  # = ce_id
    Column("seller_id", String(200), nullable=False),  # = the message key
    Column("payload", JSON, nullable=False),  # LedgerEntryRecorded, JSON-ready
    Column("published_at", DateTime(timezone=True), nullable=True),
    Index("ix_ledger_outbox_pending", "published_at", "position"),
)


# The indexes of the API's and the publisher's reads: the projection reads through primary keys and
# `event_id` only, so a rebuild builds these after its load (`shared.database.bulk_load`).
QUERY_INDEXES = indexes_named(
    (entries, requests, claims, outbox),
    "ix_ledger_entries_seller_at",
    "ix_ledger_entries_request",
    "ix_ledger_requests_seller_id",
    "ix_ledger_claims_request_id",
    "ix_ledger_claims_seller_id",
    "ix_ledger_outbox_pending",
)


# --- batch reads and writes -----------------------------------------------------------------------

# Keeps every IN-list well under SQLite's and PostgreSQL's bound-parameter limits.
IN_CHUNK = 500

_REQUESTS_BY_ID = select(requests).where(
    requests.c.request_id.in_(bindparam("keys", expanding=True))
)
_UPDATE_REQUEST = update(requests).where(requests.c.request_id == bindparam("b_request_id"))
_ENTRY_EVENTS = select(entries.c.event_id).where(
    entries.c.event_id.in_(bindparam("keys", expanding=True))
)
_CLAIM_HOLDERS = select(claims.c.tracking_number, claims.c.request_id, claims.c.paid_at).where(
    claims.c.tracking_number.in_(bindparam("keys", expanding=True))
)
_UPDATE_CLAIM = update(claims).where(claims.c.tracking_number == bindparam("b_tracking_number"))


def _chunks(keys: Collection[str]) -> Iterator[list[str]]:
    ordered = list(keys)
    for start in range(0, len(ordered), IN_CHUNK):
        yield ordered[start : start + IN_CHUNK]


def request_rows(conn: Connection, request_ids: Collection[str]) -> dict[str, Mapping[str, Any]]:
    """The stored `ledger_requests` rows of these requests, by request id (absent: never opened)."""
    found: dict[str, Mapping[str, Any]] = {}
    for keys in _chunks(request_ids):
        for row in conn.execute(_REQUESTS_BY_ID, {"keys": keys}):
            found[row.request_id] = row._mapping
    return found


def write_requests(
    conn: Connection, new: list[dict[str, Any]], changed: list[dict[str, Any]]
) -> None:
    """Insert the `new` rows, overwrite the `changed` ones (every column but the key)."""
    insert_rows(conn, requests, new)
    if changed:
        conn.execute(_UPDATE_REQUEST, [_keyed(row, "request_id") for row in changed])


def entry_event_ids(conn: Connection, event_ids: Collection[str]) -> set[str]:
    """Which of these events already caused an entry."""
    present: set[str] = set()
    for keys in _chunks(event_ids):
        present.update(conn.execute(_ENTRY_EVENTS, {"keys": keys}).scalars())
    return present


def insert_entries(
    conn: Connection, entry_rows: list[dict[str, Any]], outbox_rows: list[dict[str, Any]]
) -> None:
    """New entries and their outbox messages; the outbox's positions follow the rows' order."""
    insert_rows(conn, entries, entry_rows)
    insert_rows(conn, outbox, outbox_rows)


def claim_holders(
    conn: Connection, tracking_numbers: Collection[str]
) -> dict[str, tuple[str, datetime | None]]:
    """The stored claims on these shipments, by tracking number: (request id, paid at or None)."""
    found: dict[str, tuple[str, datetime | None]] = {}
    for keys in _chunks(tracking_numbers):
        for row in conn.execute(_CLAIM_HOLDERS, {"keys": keys}):
            found[row.tracking_number] = (row.request_id, row.paid_at)
    return found


def write_claims(
    conn: Connection, new: list[dict[str, Any]], changed: list[dict[str, Any]]
) -> None:
    """Insert the `new` claims, overwrite the given columns of the `changed` ones."""
    insert_rows(conn, claims, new)
    if changed:
        conn.execute(_UPDATE_CLAIM, [_keyed(row, "tracking_number") for row in changed])


def _keyed(row: dict[str, Any], key: str) -> dict[str, Any]:
    """An UPDATE's parameters: the key under its `b_` name (the WHERE), the rest as the SET."""
    params = {name: value for name, value in row.items() if name != key}
    params[f"b_{key}"] = row[key]
    return params
