"""baseline: the schema of commit f329105

The tables as `create_all` made them at f329105; each is created only when missing, so a store
created before migrations (without a version table) is adopted by upgrading it from here.

Revision ID: 5350bf94b4b1
Revises:
Create Date: 2026-12-03 07:39:52.502829
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import missing

revision: str = "5350bf94b4b1"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if missing("applied_events"):
        op.create_table(
            "applied_events",
            sa.Column("consumer", sa.String(length=100), nullable=False),
            sa.Column("event_id", sa.String(length=200), nullable=False),
            sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("consumer", "event_id"),
        )
    if missing("feed_positions"):
        op.create_table(
            "feed_positions",
            sa.Column("consumer", sa.String(length=100), nullable=False),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("consumer"),
        )


def downgrade() -> None:
    op.drop_table("feed_positions")
    op.drop_table("applied_events")
