"""baseline: the seller programme (issue 28)

`ss_programme_events` (every seller's programme history) and `ss_seller_programmes` (its fold).
Each table is created only when missing, so a store `create_all` made first is adopted.

Revision ID: d6fc09fadfc3
Revises:
Create Date: 2026-12-07 13:35:12.223377
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import missing

revision: str = "d6fc09fadfc3"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if not missing("ss_programme_events"):
        return _seller_programmes()
    op.create_table(
        "ss_programme_events",
        sa.Column("seller_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("seller_id", "version"),
    )
    _seller_programmes()


def _seller_programmes() -> None:
    if not missing("ss_seller_programmes"):
        return
    op.create_table(
        "ss_seller_programmes",
        sa.Column("seller_id", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("marketplace", sa.String(length=2), nullable=True),
        sa.Column("registered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enrolled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("enrolled_by", sa.String(length=300), nullable=True),
        sa.Column("enrolment_rule", sa.String(length=40), nullable=True),
        sa.Column("waitlisted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("return_address", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("seller_id"),
    )
    op.create_index("ix_ss_seller_programmes_enrolled_at", "ss_seller_programmes", ["enrolled_at"])


def downgrade() -> None:
    op.drop_index("ix_ss_seller_programmes_enrolled_at", "ss_seller_programmes")

    op.drop_table("ss_seller_programmes")
    op.drop_table("ss_programme_events")
