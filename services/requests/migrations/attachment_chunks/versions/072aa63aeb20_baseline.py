"""baseline: the attachment bytes table (database blob store)

`ss_attachment_chunks`, as `create_all` made it before this store had migrations.
Each table is created only when missing, so a store created before migrations (without a version
table) is adopted by upgrading it from here. There is no f329105 schema: the store is newer.

Revision ID: 072aa63aeb20
Revises:
Create Date: 2026-12-03 09:06:51.095364
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import missing

revision: str = "072aa63aeb20"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if missing("ss_attachment_chunks"):
        op.create_table(
            "ss_attachment_chunks",
            sa.Column("sha256", sa.String(length=64), nullable=False),
            sa.Column("seq", sa.Integer(), nullable=False),
            sa.Column("data", sa.LargeBinary(), nullable=False),
            sa.PrimaryKeyConstraint("sha256", "seq"),
        )


def downgrade() -> None:
    op.drop_table("ss_attachment_chunks")
