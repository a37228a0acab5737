"""baseline: the development clock's offset table (issue 18)

`ss_dev_clock`, as `create_all` made it before this store had migrations.
Each table is created only when missing, so a store created before migrations (without a version
table) is adopted by upgrading it from here. There is no f329105 schema: the store is newer.

Revision ID: 3290464df113
Revises:
Create Date: 2026-12-03 09:06:47.767636
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import missing

revision: str = "3290464df113"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if missing("ss_dev_clock"):
        op.create_table(
            "ss_dev_clock",
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("offset_us", sa.BigInteger(), nullable=False),
            sa.Column("floor", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("id"),
        )


def downgrade() -> None:
    op.drop_table("ss_dev_clock")
