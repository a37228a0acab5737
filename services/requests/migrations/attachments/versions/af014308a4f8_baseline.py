"""baseline: the attachments metadata table

`ss_attachments`, as `create_all` made it before this store had migrations.
Each table is created only when missing, so a store created before migrations (without a version
table) is adopted by upgrading it from here. There is no f329105 schema: the store is newer.

Revision ID: af014308a4f8
Revises:
Create Date: 2026-12-03 09:06:49.433302
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from shared.migrations import missing

revision: str = "af014308a4f8"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if missing("ss_attachments"):
        op.create_table(
            "ss_attachments",
            sa.Column("id", sa.String(length=36), nullable=False),
            sa.Column("uploader_role", sa.String(length=20), nullable=False),
            sa.Column("uploader_id", sa.String(length=200), nullable=False),
            sa.Column("media_type", sa.String(length=100), nullable=False),
            sa.Column("kind", sa.String(length=10), nullable=False),
            sa.Column("bytes", sa.BigInteger(), nullable=False),
            sa.Column("sha256", sa.String(length=64), nullable=False),
            sa.Column("width", sa.Integer(), nullable=True),
            sa.Column("height", sa.Integer(), nullable=True),
            sa.Column("thumbnail_sha256", sa.String(length=64), nullable=True),
            sa.Column("thumbnail_bytes", sa.Integer(), nullable=True),
            sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("request_id", sa.String(length=36), nullable=True),
            sa.Column("referenced_at", sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint("id"),
        )
        with op.batch_alter_table("ss_attachments", schema=None) as batch_op:
            batch_op.create_index(
                batch_op.f("ix_ss_attachments_request_id"), ["request_id"], unique=False
            )
            batch_op.create_index(batch_op.f("ix_ss_attachments_sha256"), ["sha256"], unique=False)
            batch_op.create_index(
                batch_op.f("ix_ss_attachments_thumbnail_sha256"), ["thumbnail_sha256"], unique=False
            )
            batch_op.create_index(
                batch_op.f("ix_ss_attachments_uploaded_at"), ["uploaded_at"], unique=False
            )


def downgrade() -> None:
    with op.batch_alter_table("ss_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ss_attachments_uploaded_at"))
        batch_op.drop_index(batch_op.f("ix_ss_attachments_thumbnail_sha256"))
        batch_op.drop_index(batch_op.f("ix_ss_attachments_sha256"))
        batch_op.drop_index(batch_op.f("ix_ss_attachments_request_id"))

    op.drop_table("ss_attachments")
