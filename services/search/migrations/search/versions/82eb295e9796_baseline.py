"""baseline: the search projection's tables (issue 19)

`search_requests` with its indexes, as `create_all` made it before this store had migrations,
and its full-text objects (the same DDL as services/search/store.py runs after `create_all`:
on PostgreSQL the generated `document` column and its GIN index, on SQLite the FTS5 table).
Each table is created only when missing, so a store created before migrations (without a version
table) is adopted by upgrading it from here. There is no f329105 schema: the store is newer.

Revision ID: 82eb295e9796
Revises:
Create Date: 2026-12-03 09:06:52.745644
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import missing

revision: str = "82eb295e9796"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if missing("search_requests"):
        op.create_table(
            "search_requests",
            sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("order_id", sa.String(length=200), nullable=False),
            sa.Column("buyer_id", sa.String(length=200), nullable=False),
            sa.Column("seller_id", sa.String(length=200), nullable=False),
            sa.Column("marketplace", sa.String(length=10), nullable=False),
            sa.Column("currency", sa.String(length=3), nullable=False),
            sa.Column("item_ids", sa.JSON(), nullable=False),
            sa.Column("reason", sa.String(length=40), nullable=False),
            sa.Column("status", sa.String(length=40), nullable=False),
            sa.Column("resolution", sa.String(length=40), nullable=True),
            sa.Column("waiting_on", sa.String(length=20), nullable=False),
            sa.Column("version", sa.Integer(), nullable=False),
            sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("last_activity_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("next_deadline", sa.DateTime(timezone=True), nullable=True),
            sa.Column("due_key", sa.DateTime(timezone=True), nullable=False),
            sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("deadlines", sa.JSON(), nullable=False),
            sa.Column("offer", sa.JSON(), nullable=True),
            sa.Column("return_state", sa.JSON(), nullable=True),
            sa.Column("refund", sa.JSON(), nullable=True),
            sa.Column("escalated", sa.Boolean(), nullable=False),
            sa.Column("escalated_by", sa.String(length=20), nullable=True),
            sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("escalation_reason", sa.Text(), nullable=True),
            sa.Column("escalation_grounds", sa.JSON(), nullable=False),
            sa.Column("assigned_to", sa.String(length=200), nullable=True),
            sa.Column("description", sa.Text(), nullable=False),
            sa.Column("messages_text", sa.Text(), nullable=False),
            sa.Column("seller_response_due", sa.DateTime(timezone=True), nullable=True),
            sa.Column("first_response_at", sa.DateTime(timezone=True), nullable=True),
            sa.Column("first_response_hours", sa.Float(), nullable=True),
            sa.Column("responded_in_time", sa.Boolean(), nullable=True),
            sa.Column("missed_deadline", sa.Boolean(), nullable=False),
            sa.Column("buyer_escalated", sa.Boolean(), nullable=False),
            sa.Column("overturned", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("search_requests", schema=None) as batch_op:
            batch_op.create_index("ix_search_activity", ["last_activity_at", "id"], unique=False)
            batch_op.create_index(
                "ix_search_buyer_opened", ["buyer_id", "opened_at", "id"], unique=False
            )
            batch_op.create_index("ix_search_due", ["due_key", "id"], unique=False)
            batch_op.create_index("ix_search_opened", ["opened_at", "id"], unique=False)
            batch_op.create_index("ix_search_order", ["order_id"], unique=False)
            batch_op.create_index(
                "ix_search_seller_activity", ["seller_id", "last_activity_at", "id"], unique=False
            )
            batch_op.create_index(
                "ix_search_seller_due", ["seller_id", "due_key", "id"], unique=False
            )
            batch_op.create_index(
                "ix_search_seller_opened", ["seller_id", "opened_at", "id"], unique=False
            )
            batch_op.create_index(
                "ix_search_waiting_market",
                ["waiting_on", "marketplace", "escalated_at"],
                unique=False,
            )
            batch_op.create_index(
                "ix_search_waiting_since", ["waiting_on", "escalated_at", "id"], unique=False
            )

        if op.get_bind().dialect.name == "postgresql":
            op.execute(
                "ALTER TABLE search_requests ADD COLUMN document tsvector GENERATED ALWAYS AS "
                "(to_tsvector('simple', description || ' ' || messages_text)) STORED"
            )
            op.execute("CREATE INDEX ix_search_document ON search_requests USING gin (document)")
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS search_requests_fts USING fts5("
            "request_id UNINDEXED, body, tokenize = 'unicode61')"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS search_requests_fts")
    with op.batch_alter_table("search_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_search_waiting_since")
        batch_op.drop_index("ix_search_waiting_market")
        batch_op.drop_index("ix_search_seller_opened")
        batch_op.drop_index("ix_search_seller_due")
        batch_op.drop_index("ix_search_seller_activity")
        batch_op.drop_index("ix_search_order")
        batch_op.drop_index("ix_search_opened")
        batch_op.drop_index("ix_search_due")
        batch_op.drop_index("ix_search_buyer_opened")
        batch_op.drop_index("ix_search_activity")

    op.drop_table("search_requests")
