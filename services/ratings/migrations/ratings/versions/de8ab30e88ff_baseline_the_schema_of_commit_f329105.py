"""baseline: the schema of commit f329105

The tables as `create_all` made them at f329105; each is created only when missing, so a store
created before migrations (without a version table) is adopted by upgrading it from here.

Revision ID: de8ab30e88ff
Revises:
Create Date: 2026-12-03 07:39:39.772763
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import missing

revision: str = "de8ab30e88ff"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if missing("ratings_changes"):
        op.create_table(
            "ratings_changes",
            sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("seller_id", sa.String(length=200), nullable=False),
            sa.Column("sequence", sa.Integer(), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("payload", sa.JSON(), nullable=False),
            sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("ratings_changes", schema=None) as batch_op:
            batch_op.create_index(
                "ix_ratings_changes_pending", ["published_at", "at"], unique=False
            )
    if missing("ratings_published"):
        op.create_table(
            "ratings_published",
            sa.Column("seller_id", sa.String(length=200), nullable=False),
            sa.Column("visible", sa.Boolean(), nullable=False),
            sa.Column("level", sa.String(length=20), nullable=True),
            sa.Column("sequence", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("seller_id"),
        )
    if missing("ratings_reasons"):
        op.create_table(
            "ratings_reasons",
            sa.Column("request_id", sa.String(length=36), nullable=False),
            sa.Column("code", sa.String(length=40), nullable=False),
            sa.Column("seller_id", sa.String(length=200), nullable=False),
            sa.Column("at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("detail", sa.String(length=200), nullable=False),
            sa.Column("event_id", sa.String(length=200), nullable=False),
            sa.PrimaryKeyConstraint("request_id", "code"),
        )
        with op.batch_alter_table("ratings_reasons", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_ratings_reasons_seller_id"), ["seller_id"], unique=False
            )
    if missing("ratings_refresh"):
        op.create_table(
            "ratings_refresh",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
    if missing("ratings_requests"):
        op.create_table(
            "ratings_requests",
            sa.Column("request_id", sa.String(length=36), nullable=False),
            sa.Column("seller_id", sa.String(length=200), nullable=False),
            sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("routed_to_support", sa.String(length=40), nullable=True),
            sa.Column("last_escalation_by", sa.String(length=20), nullable=True),
            sa.Column("support_decided", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("request_id"),
        )
        with op.batch_alter_table("ratings_requests", schema=None) as batch_op:
            batch_op.create_index("ix_ratings_requests_opened", ["opened_at"], unique=False)
            batch_op.create_index(
                "ix_ratings_requests_seller_opened", ["seller_id", "opened_at"], unique=False
            )
    if missing("ratings_sellers"):
        op.create_table(
            "ratings_sellers",
            sa.Column("seller_id", sa.String(length=200), nullable=False),
            sa.Column("changes", sa.Integer(), nullable=False),
            sa.Column("evaluated_changes", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("seller_id"),
        )


def downgrade() -> None:
    op.drop_table("ratings_sellers")
    with op.batch_alter_table("ratings_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_ratings_requests_seller_opened")
        batch_op.drop_index("ix_ratings_requests_opened")

    op.drop_table("ratings_requests")
    op.drop_table("ratings_refresh")
    with op.batch_alter_table("ratings_reasons", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ratings_reasons_seller_id"))

    op.drop_table("ratings_reasons")
    op.drop_table("ratings_published")
    with op.batch_alter_table("ratings_changes", schema=None) as batch_op:
        batch_op.drop_index("ix_ratings_changes_pending")

    op.drop_table("ratings_changes")
