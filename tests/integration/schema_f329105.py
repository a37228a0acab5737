"""The tables of every store we own as commit f329105 created them (`create_all`, before
migrations): the top-level `MetaData()` and `Table(...)` statements of each module, copied by
`git show f329105:<path>` and nothing else changed but the metadata names. The migration test
builds each store from these, as that build did, to upgrade it (tests/integration/test_migrations.py).
Never edit: this is history."""

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
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

# store -> its tables at f329105
METADATA: dict[str, MetaData] = {}


# --- requests: services/requests/store.py at f329105 ---

requests_metadata = MetaData()
METADATA["requests"] = requests_metadata

requests_orders = Table(
    "ss_orders",
    requests_metadata,
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

requests_item_locks = Table(
    "ss_item_locks",
    requests_metadata,
    Column("order_id", String(200), primary_key=True),
    Column("item_id", String(200), primary_key=True),
    Column("request_id", String(36), nullable=False, index=True),
)

requests_requests_by_order = Table(
    "ss_requests_by_order",
    requests_metadata,
    Column("request_id", String(36), primary_key=True),
    Column("order_id", String(200), nullable=False, index=True),
    Column("opened_at", DateTime(timezone=True), nullable=False),
)

requests_tracking_links = Table(
    "ss_tracking_links",
    requests_metadata,
    Column("tracking_number", String(200), primary_key=True),
    Column("request_id", String(36), nullable=False),
    Column("purpose", String(20), nullable=False),  # "return" or "replacement"
)

requests_deadlines = Table(
    "ss_deadlines",
    requests_metadata,
    Column("request_id", String(36), primary_key=True),
    Column("kind", String(40), primary_key=True),
    Column("due_at", DateTime(timezone=True), nullable=False, index=True),
    Column("policy_version", String(40), nullable=False),
)

requests_idempotency_keys = Table(
    "ss_idempotency_keys",
    requests_metadata,
    Column("key", String(300), primary_key=True),
    Column("fingerprint", String(64), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("body", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

requests_event_meta = Table(
    "ss_event_meta",
    requests_metadata,
    Column("request_id", String(36), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("chain_hash", String(64), nullable=False),
    Column("traceparent", String(55), nullable=True),
)


# --- relay: services/requests/relay.py at f329105 ---

relay_metadata = MetaData()
METADATA["relay"] = relay_metadata

relay_relay_positions = Table(
    "ss_relay_positions",
    relay_metadata,
    Column("name", String(100), primary_key=True),
    Column("topic", String(250), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)


# --- ledger: services/ledger/store.py at f329105 ---

ledger_metadata = MetaData()
METADATA["ledger"] = ledger_metadata

ledger_entries = Table(
    "ledger_entries",
    ledger_metadata,
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

ledger_requests = Table(
    "ledger_requests",
    ledger_metadata,
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

ledger_claims = Table(
    "ledger_claims",
    ledger_metadata,
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

ledger_outbox = Table(
    "ledger_outbox",
    ledger_metadata,
    Column("position", Integer, primary_key=True, autoincrement=True),  # publication order
    Column("entry_id", String(36), nullable=False, unique=True),  # = ce_id
    Column("seller_id", String(200), nullable=False),  # = the message key
    Column("payload", JSON, nullable=False),  # LedgerEntryRecorded, JSON-ready
    Column("published_at", DateTime(timezone=True), nullable=True),
    Index("ix_ledger_outbox_pending", "published_at", "position"),
)


# --- ratings: services/ratings/store.py at f329105 ---

ratings_metadata = MetaData()
METADATA["ratings"] = ratings_metadata

ratings_requests = Table(
    "ratings_requests",
    ratings_metadata,
    Column("request_id", String(36), primary_key=True),
    Column("seller_id", String(200), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("routed_to_support", String(40), nullable=True),
    Column("last_escalation_by", String(20), nullable=True),
    Column("support_decided", Boolean, nullable=False, default=False),
    Index("ix_ratings_requests_seller_opened", "seller_id", "opened_at"),
    Index("ix_ratings_requests_opened", "opened_at"),
)

ratings_reasons = Table(
    "ratings_reasons",
    ratings_metadata,
    Column("request_id", String(36), primary_key=True),
    Column("code", String(40), primary_key=True),
    Column("seller_id", String(200), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("detail", String(200), nullable=False, default=""),
    Column("event_id", String(200), nullable=False),
)

ratings_sellers = Table(
    "ratings_sellers",
    ratings_metadata,
    Column("seller_id", String(200), primary_key=True),
    Column("changes", Integer, nullable=False, default=0),
    Column("evaluated_changes", Integer, nullable=False, default=0),
)

ratings_published = Table(
    "ratings_published",
    ratings_metadata,
    Column("seller_id", String(200), primary_key=True),
    Column("visible", Boolean, nullable=False),
    Column("level", String(20), nullable=True),
    Column("sequence", Integer, nullable=False),
)

ratings_changes = Table(
    "ratings_changes",
    ratings_metadata,
    Column("id", String(36), primary_key=True),
    Column("seller_id", String(200), nullable=False),
    Column("sequence", Integer, nullable=False),  # per seller, from 1
    Column("at", DateTime(timezone=True), nullable=False),
    Column("payload", JSON, nullable=False),  # SupportRatingChanged, JSON mode
    Column("published_at", DateTime(timezone=True), nullable=True),
    Index("ix_ratings_changes_pending", "published_at", "at"),
)

ratings_refresh_marker = Table(
    "ratings_refresh",
    ratings_metadata,
    Column("id", Integer, primary_key=True),
    Column("refreshed_at", DateTime(timezone=True), nullable=True),
)


# --- notifications: services/notifications/store.py at f329105 ---

notifications_metadata = MetaData()
METADATA["notifications"] = notifications_metadata

notifications_request_facts = Table(
    "notif_request_facts",
    notifications_metadata,
    Column("request_id", String(64), primary_key=True),
    Column("buyer_id", String(200), nullable=False),
    Column("seller_id", String(200), nullable=False),
    Column("order_id", String(200), nullable=False),
    Column("marketplace", String(8), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("reason", String(64), nullable=False),
    Column("routed_to_support", String(64)),
    Column("return_required_by", String(32)),
)

notifications_sources = Table(
    "notif_sources",
    notifications_metadata,
    Column("source_id", String(200), primary_key=True),
    Column("context", JSON, nullable=False),  # the template's variables but the recipient's
)

notifications_notifications = Table(
    "notif_notifications",
    notifications_metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("id", String(36), nullable=False, unique=True),
    Column("source_id", String(200), nullable=False),
    Column("recipient_id", String(200), nullable=False),
    Column("audience", String(16), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("request_id", String(64)),
    Column("locale", String(8), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("read", Boolean, nullable=False, default=False),
    Index("ix_notif_recipient_seq", "recipient_id", "seq"),
)

notifications_outbox = Table(
    "notif_outbox",
    notifications_metadata,
    Column("notification_id", String(36), primary_key=True),
    Column("to_address", String(320), nullable=False),
    Column("subject", Text),  # as sent (rendered at send time)
    Column("body", Text),
    Column("headers", JSON, nullable=False),
    # pending | sending | sent | failed | rebuilt (recreated by a rebuild from history: never sent)
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("claimed_until", DateTime(timezone=True)),
    Column("last_error", Text),
    Column("sent_at", DateTime(timezone=True)),
    Index("ix_notif_outbox_due", "status", "next_attempt_at"),
)

notifications_reminders = Table(
    "notif_reminders",
    notifications_metadata,
    Column("id", String(200), primary_key=True),  # <request id>:<kind>:<due at, UTC ISO>
    Column("request_id", String(64), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("remind_at", DateTime(timezone=True), nullable=False),
    Column("cancelled", Boolean, nullable=False, default=False),
    Column("skipped", Boolean, nullable=False, default=False),
    Column("fired_at", DateTime(timezone=True)),
    Index("ix_notif_reminders_due", "fired_at", "cancelled", "remind_at"),
    Index("ix_notif_reminders_request", "request_id", "kind"),
)

notifications_preferences = Table(
    "notif_preferences",
    notifications_metadata,
    Column("user_id", String(200), primary_key=True),
    Column("locale", String(8), nullable=False),
    Column("email", String(320)),
)

notifications_inbox = Table(
    "notif_inbox",
    notifications_metadata,
    Column("user_id", String(200), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("role", String(16), nullable=False),  # buyer | seller: the user's side
    Column("order_id", String(200), nullable=False),
    Column("counterpart_id", String(200), nullable=False),
    Column("last_activity_at", DateTime(timezone=True), nullable=False),
    Column("last_message_at", DateTime(timezone=True)),
    Column("last_event", String(64), nullable=False),
    Column("unread", Boolean, nullable=False),
    Column("archived", Boolean, nullable=False),
    PrimaryKeyConstraint("request_id", "user_id"),
    Index("ix_notif_inbox_activity", "user_id", "last_activity_at"),
)


# --- tracking: shared/transport/projection.py at f329105 ---

tracking_metadata = MetaData()
METADATA["tracking"] = tracking_metadata

tracking_applied_events = Table(
    "applied_events",
    tracking_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("event_id", String(200), primary_key=True),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)

tracking_feed_positions = Table(
    "feed_positions",
    tracking_metadata,
    Column("consumer", String(100), primary_key=True),
    Column("position", Integer, nullable=False),
)
