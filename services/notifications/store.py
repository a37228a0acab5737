"""Tables of the notifications service (SQLAlchemy Core), in its own database.

- `request_facts`: the parties of each request, from its `opened` event (later events omit them).
- `sources`: what one source (an event, `<request id>:<version>`, or a reminder, `reminder:<id>`)
  tells its recipients: the template context (JSON) they share. Written once with the source's
  notifications, so a stored source means its notifications are recorded.
- `notifications`: every notification sent, as what to say, not the text: its `kind` (the template),
  `locale`, recipient and audience, and its source's context; the text is rendered when read or
  mailed (docs/notifications.md). `id` is derived from (source, recipient, channel) and unique.
  `seq` orders them for the live stream.
- `outbox`: one row per e-mail notification, inserted in the projection's transaction; the mailer
  claims, renders, sends and marks it, keeping the subject and body it sent. The row's existence is
  the once-only guard. A rebuild records history's e-mails as `rebuilt`, which no mailer sends.
- `reminders`: one row per (request, deadline kind, due time); cancelled when the deadline no
  longer applies; `fired_at` once sent, `skipped` when its deadline passed before it was due.
- `preferences`: a user's locale (default `en`) and optional e-mail address.
- `inbox`: one conversation per user per request (R50, R51); keyed request first, so the projection
  loads a batch's conversations by request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
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
    insert,
)
from sqlalchemy.engine import Connection

from shared.database import indexes_named, insert_ignoring
from shared.migrations import Store

metadata = MetaData()
# these tables' migrations: services/notifications/migrations/notifications/ (shared/migrations.py)
STORE = Store("notifications", "services.notifications.migrations.notifications", metadata)
# 2: notifications store what to say (kind, locale, `sources` context), not rendered text; the
# inbox is keyed (request, user). A version-1 store is rebuilt, not migrated.
SCHEMA_VERSION = 2


request_facts = Table(
    "notif_request_facts",
    metadata,
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

sources = Table(
    "notif_sources",
    metadata,
    Column("source_id", String(200), primary_key=True),
    Column("context", JSON, nullable=False),  # the template's variables but the recipient's
)

notifications = Table(
    "notif_notifications",
    metadata,
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

outbox = Table(
    "notif_outbox",
    metadata,
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

reminders = Table(
    "notif_reminders",
    metadata,
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

preferences = Table(
    "notif_preferences",
    metadata,
    Column("user_id", String(200), primary_key=True),
    Column("locale", String(8), nullable=False),
    Column("email", String(320)),
)

inbox = Table(
    "notif_inbox",
    metadata,
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


# The status of an e-mail a rebuild recorded: history's e-mails were the replaced store's to send.
REBUILT = "rebuilt"

# The indexes of the service's reads (the feed, the mailer, the reminder loop, the inbox list): the
# projection never reads through them, so a rebuild builds them after its load (`bulk_load`).
QUERY_INDEXES = indexes_named(
    (notifications, outbox, reminders, inbox),
    "ix_notif_recipient_seq",
    "ix_notif_outbox_due",
    "ix_notif_reminders_due",
    "ix_notif_inbox_activity",
)


def insert_ignoring_duplicates(conn: Connection, table: Table, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING on SQLite and PostgreSQL; True when a row was inserted."""
    if conn.dialect.name not in ("postgresql", "sqlite"):  # pragma: no cover - unsupported
        return bool(conn.execute(insert(table).values(**values)).rowcount)
    return bool(conn.execute(insert_ignoring(table), values).rowcount)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for UTC columns; PostgreSQL aware ones."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)
