"""baseline: the schema of commit f329105

The tables as `create_all` made them at f329105; each is created only when missing, so a store
created before migrations (without a version table) is adopted by upgrading it from here.

Revision ID: 7d26d04eb7f2
Revises:
Create Date: 2026-12-03 07:39:25.078576
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import missing

revision: str = "7d26d04eb7f2"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if missing("ss_relay_positions"):
        op.create_table(
            "ss_relay_positions",
            sa.Column("name", sa.String(length=100), nullable=False),
            sa.Column("topic", sa.String(length=250), nullable=False),
            sa.Column("position", sa.BigInteger(), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("name"),
        )


def downgrade() -> None:
    op.drop_table("ss_relay_positions")
