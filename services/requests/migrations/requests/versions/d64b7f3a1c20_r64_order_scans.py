"""R64: the last carrier scan of an order's original shipment (ss_order_scans)

Revision ID: d64b7f3a1c20
Revises: c63a1e5d2b90
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import missing

revision: str = "d64b7f3a1c20"
down_revision: str | None = "c63a1e5d2b90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if missing("ss_order_scans"):
        op.create_table(
            "ss_order_scans",
            sa.Column("order_id", sa.String(length=200), nullable=False),
            sa.Column("status", sa.String(length=40), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("order_id"),
        )


def downgrade() -> None:
    op.drop_table("ss_order_scans")
