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
"""

from __future__ import annotations

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
)

metadata = MetaData()

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
