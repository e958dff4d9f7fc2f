"""Milestones per company; support entries counted from other services' events keep their source (a consulting
session counts once).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
at = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("support_grants", sa.Column("source", sa.String(60), nullable=True))
    op.create_index("uq_support_grants_source", "support_grants", ["source"], unique=True)
    op.create_table(
        "milestones",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("achieved_on", sa.Date, nullable=False),
        sa.Column("evidence_url", sa.String(200), nullable=False, server_default=""),
        sa.Column("evidence", sa.String(1000), nullable=False, server_default=""),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("created_at", at, nullable=False),
    )
    op.create_index("ix_milestones_company", "milestones", ["company_id", "achieved_on"])


def downgrade() -> None:
    op.drop_index("ix_milestones_company", "milestones")
    op.drop_table("milestones")
    op.drop_index("uq_support_grants_source", "support_grants")
    with op.batch_alter_table("support_grants") as batch:
        batch.drop_column("source")
