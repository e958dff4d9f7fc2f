"""Saved views of the companies list: a title and the list's URL query, shared by the program managers."""

import sqlalchemy as sa
from alembic import op

from hubcore.columns import ID, MOMENT

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("list", sa.String(20), nullable=False),
        sa.Column("title", sa.String(100), nullable=False),
        sa.Column("query", sa.String(1000), nullable=False),
        sa.Column("creator", sa.String(100), nullable=False),
        sa.Column("creator_display_name", sa.String(100), nullable=False, server_default=""),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.UniqueConstraint("list", "title", name="uq_saved_views_title"),
    )


def downgrade() -> None:
    op.drop_table("saved_views")
