"""baseline: the schema of commit f329105

The tables as `create_all` made them at f329105; each is created only when missing, so a store
created before migrations (without a version table) is adopted by upgrading it from here.

Revision ID: 2bc0b5813c8b
Revises:
Create Date: 2026-12-03 07:39:18.536396
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import missing

revision: str = "2bc0b5813c8b"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if missing("ss_deadlines"):
        op.create_table(
            "ss_deadlines",
            sa.Column("request_id", sa.String(length=36), nullable=False),
            sa.Column("kind", sa.String(length=40), nullable=False),
            sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("policy_version", sa.String(length=40), nullable=False),
            sa.PrimaryKeyConstraint("request_id", "kind"),
        )
        with op.batch_alter_table("ss_deadlines", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_ss_deadlines_due_at"), ["due_at"], unique=False)
    if missing("ss_event_meta"):
        op.create_table(
            "ss_event_meta",
            sa.Column("request_id", sa.String(length=36), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("chain_hash", sa.String(length=64), nullable=False),
            sa.Column("traceparent", sa.String(length=55), nullable=True),
            sa.PrimaryKeyConstraint("request_id", "version"),
        )
    if missing("ss_idempotency_keys"):
        op.create_table(
            "ss_idempotency_keys",
            sa.Column("key", sa.String(length=300), nullable=False),
            sa.Column("fingerprint", sa.String(length=64), nullable=False),
            sa.Column("status_code", sa.Integer(), nullable=False),
            sa.Column("body", sa.JSON(), nullable=True),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("key"),
        )
    if missing("ss_item_locks"):
        op.create_table(
            "ss_item_locks",
            sa.Column("order_id", sa.String(length=200), nullable=False),
            sa.Column("item_id", sa.String(length=200), nullable=False),
            sa.Column("request_id", sa.String(length=36), nullable=False),
            sa.PrimaryKeyConstraint("order_id", "item_id"),
        )
        with op.batch_alter_table("ss_item_locks", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_ss_item_locks_request_id"), ["request_id"], unique=False
            )
    if missing("ss_orders"):
        op.create_table(
            "ss_orders",
            sa.Column("order_id", sa.String(length=200), nullable=False),
            sa.Column("buyer_id", sa.String(length=200), nullable=False),
            sa.Column("seller_id", sa.String(length=200), nullable=False),
            sa.Column("currency", sa.String(length=3), nullable=False),
            sa.Column("marketplace", sa.String(length=2), nullable=False),
            sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("fraud_suspected", sa.Boolean(), nullable=False),
            sa.Column("items", sa.JSON(), nullable=False),
            sa.Column("shipment", sa.JSON(), nullable=True),
            sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("order_id"),
        )
        with op.batch_alter_table("ss_orders", schema=None) as batch_op:
            batch_op.create_index(batch_op.f("ix_ss_orders_buyer_id"), ["buyer_id"], unique=False)
            batch_op.create_index(batch_op.f("ix_ss_orders_seller_id"), ["seller_id"], unique=False)
    if missing("ss_requests_by_order"):
        op.create_table(
            "ss_requests_by_order",
            sa.Column("request_id", sa.String(length=36), nullable=False),
            sa.Column("order_id", sa.String(length=200), nullable=False),
            sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("request_id"),
        )
        with op.batch_alter_table("ss_requests_by_order", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_ss_requests_by_order_order_id"), ["order_id"], unique=False
            )
    if missing("ss_tracking_links"):
        op.create_table(
            "ss_tracking_links",
            sa.Column("tracking_number", sa.String(length=200), nullable=False),
            sa.Column("request_id", sa.String(length=36), nullable=False),
            sa.Column("purpose", sa.String(length=20), nullable=False),
            sa.PrimaryKeyConstraint("tracking_number"),
        )


def downgrade() -> None:
    op.drop_table("ss_tracking_links")
    with op.batch_alter_table("ss_requests_by_order", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ss_requests_by_order_order_id"))

    op.drop_table("ss_requests_by_order")
    with op.batch_alter_table("ss_orders", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ss_orders_seller_id"))
        batch_op.drop_index(batch_op.f("ix_ss_orders_buyer_id"))

    op.drop_table("ss_orders")
    with op.batch_alter_table("ss_item_locks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ss_item_locks_request_id"))

    op.drop_table("ss_item_locks")
    op.drop_table("ss_idempotency_keys")
    op.drop_table("ss_event_meta")
    with op.batch_alter_table("ss_deadlines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ss_deadlines_due_at"))

    op.drop_table("ss_deadlines")
