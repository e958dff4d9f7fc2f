"""Refused partner calls as counts per peer and minute, and an index for the audit log's retention sweep.

Revision ID: 0003
Revises: 0002
Create Date: 2027-01-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    at = sa.DateTime(timezone=True)
    op.create_table(
        "partner_refusals",
        sa.Column("peer", sa.String(200), primary_key=True),
        sa.Column("minute", at, primary_key=True),
        sa.Column("unauthenticated", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("rate_limited", sa.BigInteger, nullable=False, server_default="0"),
    )
    op.create_index("ix_partner_refusals_minute", "partner_refusals", ["minute"])
    op.create_index("ix_partner_calls_called_at", "partner_calls", ["called_at"])


def downgrade() -> None:
    op.drop_index("ix_partner_calls_called_at", "partner_calls")
    op.drop_table("partner_refusals")
