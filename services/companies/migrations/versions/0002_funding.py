"""Funding raised to date and the last round, from hub.investors.round.closed; the rounds applied.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("companies", sa.Column("funding_raised_krw", sa.BigInteger, nullable=False, server_default="0"))
    op.add_column("companies", sa.Column("last_round", sa.String(20), nullable=False, server_default=""))
    op.create_table(
        "company_rounds",
        sa.Column("round", sa.String(40), primary_key=True),
        sa.Column("company_id", big_id, nullable=False),
        sa.Column("round_type", sa.String(20), nullable=False),
        sa.Column("amount_krw", sa.BigInteger, nullable=False),
        sa.Column("closed_on", sa.Date, nullable=True),
    )
    op.create_index("ix_company_rounds_company", "company_rounds", ["company_id"])


def downgrade() -> None:
    op.drop_index("ix_company_rounds_company", "company_rounds")
    op.drop_table("company_rounds")
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("last_round")
        batch.drop_column("funding_raised_krw")
