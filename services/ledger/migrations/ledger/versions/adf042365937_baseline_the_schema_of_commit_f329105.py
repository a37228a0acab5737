"""baseline: the schema of commit f329105

The tables as `create_all` made them at f329105; each is created only when missing, so a store
created before migrations (without a version table) is adopted by upgrading it from here.

Revision ID: adf042365937
Revises:
Create Date: 2026-12-03 07:39:32.161526
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import missing

revision: str = "adf042365937"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if missing("ledger_claims"):
        op.create_table(
            "ledger_claims",
            sa.Column("tracking_number", sa.String(length=200), nullable=False),
            sa.Column("request_id", sa.String(length=36), nullable=False),
            sa.Column("seller_id", sa.String(length=200), nullable=False),
            sa.Column("currency", sa.String(length=3), nullable=False),
            sa.Column("insured_value", sa.BigInteger(), nullable=False),
            sa.Column("file_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("scheduled_by_event", sa.String(length=200), nullable=False),
            sa.Column("paid_amount", sa.BigInteger(), nullable=True),
            sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("credited", sa.BigInteger(), nullable=True),
            sa.PrimaryKeyConstraint("tracking_number"),
        )
        with op.batch_alter_table("ledger_claims", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_ledger_claims_request_id"), ["request_id"], unique=False
            )
            batch_op.create_index(
                batch_op.f("ix_ledger_claims_seller_id"), ["seller_id"], unique=False
            )
    if missing("ledger_entries"):
        op.create_table(
            "ledger_entries",
            sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("seller_id", sa.String(length=200), nullable=False),
            sa.Column("request_id", sa.String(length=36), nullable=False),
            sa.Column("kind", sa.String(length=40), nullable=False),
            sa.Column("amount", sa.BigInteger(), nullable=False),
            sa.Column("currency", sa.String(length=3), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("event_id", sa.String(length=200), nullable=False),
            sa.PrimaryKeyConstraint("id"),
            sa.UniqueConstraint("event_id"),
        )
        with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
            batch_op.create_index("ix_ledger_entries_request", ["request_id"], unique=False)
            batch_op.create_index(
                "ix_ledger_entries_seller_at", ["seller_id", "at", "id"], unique=False
            )
    if missing("ledger_outbox"):
        op.create_table(
            "ledger_outbox",
            sa.Column("position", sa.Integer(), autoincrement=True, nullable=False),
            sa.Column("entry_id", sa.String(length=36), nullable=False),
            sa.Column("seller_id", sa.String(length=200), nullable=False),
            sa.Column("payload", sa.JSON(), nullable=False),
            sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("position"),
            sa.UniqueConstraint("entry_id"),
        )
        with op.batch_alter_table("ledger_outbox", schema=None) as batch_op:
            batch_op.create_index(
                "ix_ledger_outbox_pending", ["published_at", "position"], unique=False
            )
    if missing("ledger_requests"):
        op.create_table(
            "ledger_requests",
            sa.Column("request_id", sa.String(length=36), nullable=False),
            sa.Column("seller_id", sa.String(length=200), nullable=False),
            sa.Column("currency", sa.String(length=3), nullable=False),
            sa.Column("items", sa.JSON(), nullable=False),
            sa.Column("return_liable", sa.String(length=20), nullable=True),
            sa.Column("return_label_cost", sa.BigInteger(), nullable=True),
            sa.Column("return_delivered", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("request_id"),
        )
        with op.batch_alter_table("ledger_requests", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_ledger_requests_seller_id"), ["seller_id"], unique=False
            )


def downgrade() -> None:
    with op.batch_alter_table("ledger_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_requests_seller_id"))

    op.drop_table("ledger_requests")
    with op.batch_alter_table("ledger_outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_outbox_pending")

    op.drop_table("ledger_outbox")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_ledger_entries_seller_at")
        batch_op.drop_index("ix_ledger_entries_request")

    op.drop_table("ledger_entries")
    with op.batch_alter_table("ledger_claims", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_claims_seller_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_claims_request_id"))

    op.drop_table("ledger_claims")
