"""baseline: the schema of commit f329105

The tables as `create_all` made them at f329105; each is created only when missing, so a store
created before migrations (without a version table) is adopted by upgrading it from here.

Revision ID: 146d79b6928d
Revises:
Create Date: 2026-12-03 07:39:46.018421
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import missing

revision: str = "146d79b6928d"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if missing("notif_inbox"):
        op.create_table(
            "notif_inbox",
            sa.Column("user_id", sa.String(length=200), nullable=False),
            sa.Column("request_id", sa.String(length=64), nullable=False),
            sa.Column("role", sa.String(length=16), nullable=False),
            sa.Column("order_id", sa.String(length=200), nullable=False),
            sa.Column("counterpart_id", sa.String(length=200), nullable=False),
            sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("last_message_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("last_event", sa.String(length=64), nullable=False),
            sa.Column("unread", sa.Boolean(), nullable=False),
            sa.Column("archived", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("request_id", "user_id"),
        )
        with op.batch_alter_table("notif_inbox", schema=None) as batch_op:
            batch_op.create_index(
                "ix_notif_inbox_activity", ["user_id", "last_activity_at"], unique=False
            )
    if missing("notif_notifications"):
        op.create_table(
            "notif_notifications",
            sa.Column("seq", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("source_id", sa.String(length=200), nullable=False),
            sa.Column("recipient_id", sa.String(length=200), nullable=False),
            sa.Column("audience", sa.String(length=16), nullable=False),
            sa.Column("channel", sa.String(length=16), nullable=False),
            sa.Column("kind", sa.String(length=64), nullable=False),
            sa.Column("request_id", sa.String(length=64), nullable=True),
            sa.Column("locale", sa.String(length=8), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("read", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("seq"),
            sa.UniqueConstraint("id"),
        )
        with op.batch_alter_table("notif_notifications", schema=None) as batch_op:
            batch_op.create_index("ix_notif_recipient_seq", ["recipient_id", "seq"], unique=False)
    if missing("notif_outbox"):
        op.create_table(
            "notif_outbox",
            sa.Column("notification_id", sa.String(length=36), nullable=False),
            sa.Column("to_address", sa.String(length=320), nullable=False),
            sa.Column("subject", sa.Text(), nullable=True),
            sa.Column("body", sa.Text(), nullable=True),
            sa.Column("headers", sa.JSON(), nullable=False),
            sa.Column("status", sa.String(length=16), nullable=False),
            sa.Column("attempts", sa.Integer(), nullable=False),
            sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
            sa.Column("last_error", sa.Text(), nullable=True),
            sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("notification_id"),
        )
        with op.batch_alter_table("notif_outbox", schema=None) as batch_op:
            batch_op.create_index(
                "ix_notif_outbox_due", ["status", "next_attempt_at"], unique=False
            )
    if missing("notif_preferences"):
        op.create_table(
            "notif_preferences",
            sa.Column("user_id", sa.String(length=200), nullable=False),
            sa.Column("locale", sa.String(length=8), nullable=False),
            sa.Column("email", sa.String(length=320), nullable=True),
            sa.PrimaryKeyConstraint("user_id"),
        )
    if missing("notif_reminders"):
        op.create_table(
            "notif_reminders",
            sa.Column("id", sa.String(length=200), nullable=False),
            sa.Column("request_id", sa.String(length=64), nullable=False),
            sa.Column("kind", sa.String(length=32), nullable=False),
            sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("remind_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("cancelled", sa.Boolean(), nullable=False),
            sa.Column("skipped", sa.Boolean(), nullable=False),
            sa.Column("fired_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("notif_reminders", schema=None) as batch_op:
            batch_op.create_index(
                "ix_notif_reminders_due", ["fired_at", "cancelled", "remind_at"], unique=False
            )
            batch_op.create_index(
                "ix_notif_reminders_request", ["request_id", "kind"], unique=False
            )
    if missing("notif_request_facts"):
        op.create_table(
            "notif_request_facts",
            sa.Column("request_id", sa.String(length=64), nullable=False),
            sa.Column("buyer_id", sa.String(length=200), nullable=False),
            sa.Column("seller_id", sa.String(length=200), nullable=False),
            sa.Column("order_id", sa.String(length=200), nullable=False),
            sa.Column("marketplace", sa.String(length=8), nullable=False),
            sa.Column("currency", sa.String(length=3), nullable=False),
            sa.Column("reason", sa.String(length=64), nullable=False),
            sa.Column("routed_to_support", sa.String(length=64), nullable=True),
            sa.Column("return_required_by", sa.String(length=32), nullable=True),
            sa.PrimaryKeyConstraint("request_id"),
        )
    if missing("notif_sources"):
        op.create_table(
            "notif_sources",
            sa.Column("source_id", sa.String(length=200), nullable=False),
            sa.Column("context", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("source_id"),
        )


def downgrade() -> None:
    op.drop_table("notif_sources")
    op.drop_table("notif_request_facts")
    with op.batch_alter_table("notif_reminders", schema=None) as batch_op:
        batch_op.drop_index("ix_notif_reminders_request")
        batch_op.drop_index("ix_notif_reminders_due")

    op.drop_table("notif_reminders")
    op.drop_table("notif_preferences")
    with op.batch_alter_table("notif_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_notif_outbox_due")

    op.drop_table("notif_outbox")
    with op.batch_alter_table("notif_notifications", schema=None) as batch_op:
        batch_op.drop_index("ix_notif_recipient_seq")

    op.drop_table("notif_notifications")
    with op.batch_alter_table("notif_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_notif_inbox_activity")

    op.drop_table("notif_inbox")
