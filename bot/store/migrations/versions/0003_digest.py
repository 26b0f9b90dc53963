"""digest editions: composed once per filter set and window, shared by deliveries

Adds `digest_edition` (the rendered messages of one digest) and `delivery.edition_id`.
Delivery rows may now also be in status "sending" (a part is in flight); the column is a
plain string, so no schema change is needed for that.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_edition",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("frequency", sa.String(length=10), nullable=False),
        sa.Column("filters", sa.JSON(), nullable=False),
        sa.Column("window_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("window_end", sa.DateTime(timezone=True), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("messages", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.add_column(sa.Column("edition_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_delivery_edition_id"), ["edition_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_delivery_edition_id_digest_edition", "digest_edition", ["edition_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("delivery", schema=None) as batch_op:
        batch_op.drop_constraint("fk_delivery_edition_id_digest_edition", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_delivery_edition_id"))
        batch_op.drop_column("edition_id")
    op.drop_table("digest_edition")
