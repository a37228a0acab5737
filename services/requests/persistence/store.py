"""Tables the requests service keeps beside its event store, in the same database and transactions.

- the order read model (R60) that commands are checked against;
- item locks: one open request per order item (R9), enforced by a primary key so races lose cleanly;
- tracking links: which request a return or replacement tracking number belongs to;
- item remedies (R63): per order item, what the buyer got back and the seller was charged so far,
  across every request and channel, written in the refunding step's transaction;
- deadlines: durable timers, rewritten in the transaction of every event that changes them;
- event meta: per stored event, its tamper-evident chain hash and the W3C traceparent of the
  command that caused it, written in the event's own transaction (services/requests/application/audit.py).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
)

from shared.migrations import Store

metadata = MetaData()
# these tables' migrations: services/requests/migrations/requests/ (shared/migrations.py)
STORE = Store("requests", "services.requests.migrations.requests", metadata)

orders = Table(
    "ss_orders",
    metadata,
    Column("order_id", String(200), primary_key=True),
    Column("buyer_id", String(200), nullable=False, index=True),
    Column("seller_id", String(200), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("marketplace", String(2), nullable=False),
    Column("placed_at", DateTime(timezone=True), nullable=False),
    Column("fraud_suspected", Boolean, nullable=False, default=False),
    Column("items", JSON, nullable=False),
    Column("shipment", JSON, nullable=True),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
)

item_locks = Table(
    "ss_item_locks",
    metadata,
    Column("order_id", String(200), primary_key=True),
    Column("item_id", String(200), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
)

requests_by_order = Table(
    "ss_requests_by_order",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("order_id", String(200), nullable=False, index=True),
    Column("opened_at", DateTime(timezone=True), nullable=False),
)

item_remedies = Table(
    "ss_item_remedies",
    metadata,
    Column("order_id", String(200), primary_key=True),
    Column("item_id", String(200), primary_key=True),
    Column("currency", String(3), nullable=False),
    # the caps (R63): price + buyer shipping share; the item's R30 amount
    Column("paid", Integer, nullable=False),
    Column("full_charge", Integer, nullable=False),
    # the sums so far; only ever raised by a guarded increment (side_tables.add_remedy)
    Column("refunded", Integer, nullable=False),
    Column("charged", Integer, nullable=False),
    Column("last_request_id", String(200), nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row once the stored histories were folded into ss_item_remedies (the upgrade to R63): its
# report (the items today's code had refunded past what was paid, if any). A store created empty
# gets the row at once: there is nothing to fold.
remedy_fold = Table(
    "ss_remedy_fold",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("folded_at", DateTime(timezone=True), nullable=False),
    Column("report", JSON, nullable=False),
)

# R64: the last carrier scan of an order's original shipment (returns' and replacements' scans move
# their requests instead).
order_scans = Table(
    "ss_order_scans",
    metadata,
    Column("order_id", String(200), primary_key=True),
    Column("status", String(40), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
)

tracking_links = Table(
    "ss_tracking_links",
    metadata,
    Column("tracking_number", String(200), primary_key=True),
    Column("request_id", String(36), nullable=False),
    Column("purpose", String(20), nullable=False),  # "return" or "replacement"
)

deadlines = Table(
    "ss_deadlines",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("due_at", DateTime(timezone=True), nullable=False, index=True),
    Column("policy_version", String(40), nullable=False),
)

idempotency_keys = Table(
    "ss_idempotency_keys",
    metadata,
    Column("key", String(300), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

event_meta = Table(
    "ss_event_meta",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("chain_hash", String(64), nullable=False),
    Column("traceparent", String(55), nullable=True),
)
