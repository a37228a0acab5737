"""R63: the per-item remedy record (ss_item_remedies)

What the buyer got back and the seller was charged per order item, across every request and
channel. The table starts empty; the requests service folds the stored histories into it the first
time it opens an upgraded store (services/requests/application/remedy_fold.py), reporting any item
that today's code had refunded past what was paid.

Revision ID: c63a1e5d2b90
Revises: 2bc0b5813c8b
Create Date: 2026-12-07 13:50:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import missing

revision: str = "c63a1e5d2b90"
down_revision: str | None = "2bc0b5813c8b"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if missing("ss_item_remedies"):
        op.create_table(
            "ss_item_remedies",
            sa.Column("order_id", sa.String(length=200), nullable=False),
            sa.Column("item_id", sa.String(length=200), nullable=False),
            sa.Column("currency", sa.String(length=3), nullable=False),
            sa.Column("paid", sa.Integer(), nullable=False),
            sa.Column("full_charge", sa.Integer(), nullable=False),
            sa.Column("refunded", sa.Integer(), nullable=False),
            sa.Column("charged", sa.Integer(), nullable=False),
            sa.Column("last_request_id", sa.String(length=200), nullable=True),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("order_id", "item_id"),
        )
    if missing("ss_remedy_fold"):
        # One row once the stored histories were folded into ss_item_remedies: its report.
        op.create_table(
            "ss_remedy_fold",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("folded_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("report", sa.JSON(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )


def downgrade() -> None:
    op.drop_table("ss_remedy_fold")
    op.drop_table("ss_item_remedies")
