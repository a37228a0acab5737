"""escalated_unanswered: R69 account standing (issue 28)

A flag per request: the buyer escalated because the seller had not answered (ground `no_response`).
Added (when missing) with a plain ADD COLUMN (no batch copy: on SQLite that would rebuild the table under its
full-text triggers). Rows already there are filled from their escalation grounds, which is exact
unless a later escalation (a seller's dispute of the return) replaced those grounds; `seller-support
audit rebuild` makes every row from history.

Revision ID: 9052d922817c
Revises: 82eb295e9796
Create Date: 2026-12-07 13:52:17.587554
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9052d922817c"
down_revision: str | None = "82eb295e9796"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("search_requests")}
    if "escalated_unanswered" in columns:
        return  # a store `create_all` made at this head: adopted as it is
    op.add_column(
        "search_requests",
        sa.Column("escalated_unanswered", sa.Boolean(), server_default=sa.false(), nullable=False),
    )
    grounds = (
        "CAST(escalation_grounds AS TEXT)"
        if op.get_bind().dialect.name == "postgresql"
        else "escalation_grounds"
    )
    op.execute(
        "UPDATE search_requests SET escalated_unanswered = "
        f"(buyer_escalated AND {grounds} LIKE '%\"no_response\"%')"
    )


def downgrade() -> None:
    op.drop_column("search_requests", "escalated_unanswered")
