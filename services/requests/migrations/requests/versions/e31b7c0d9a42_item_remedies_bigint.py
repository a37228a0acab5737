"""ss_item_remedies' amounts as 64-bit integers (issue 31)

The door accepts amounts up to shared.bounds.MAX_AMOUNT (10**12 minor units), but the per-item remedy
record stored them in 32-bit INTEGER columns: on PostgreSQL a full refund of such an item failed with
"integer out of range" (a 500), found by test_class1_largest_amount_is_accepted_and_charged once it read
the charge back. SQLite's INTEGER is already 64-bit (there only the declared type changes).

Revision ID: e31b7c0d9a42
Revises: d64b7f3a1c20
Create Date: 2026-12-07 15:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "e31b7c0d9a42"
down_revision: str | None = "d64b7f3a1c20"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AMOUNTS = ("paid", "full_charge", "refunded", "charged")


def upgrade() -> None:
    # batch mode: SQLite rebuilds the table (its INTEGER is 64-bit already; the declared type
    # changes so the models and the migrations agree); PostgreSQL alters the columns in place
    with op.batch_alter_table("ss_item_remedies") as batch:
        for column in AMOUNTS:
            batch.alter_column(column, type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    with op.batch_alter_table("ss_item_remedies") as batch:
        for column in AMOUNTS:
            batch.alter_column(column, type_=sa.Integer(), existing_type=sa.BigInteger())
