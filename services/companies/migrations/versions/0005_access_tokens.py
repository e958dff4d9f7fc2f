"""Access tokens: the register of issued tokens (never the tokens themselves), and the runtime's schema v2
(revoked access tokens, fed by hub.ops.access_token.revoked).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from hubcore.migrate import create_runtime_tables_v2, drop_runtime_tables_v2

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

at = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_runtime_tables_v2(op)
    op.create_table(
        "access_tokens",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("description", sa.String(200), nullable=False, server_default=""),
        sa.Column("issued_at", at, nullable=False),
        sa.Column("expire_at", at, nullable=False),
        sa.Column("issued_by", sa.String(100), nullable=False),
        sa.Column("revoked_at", at, nullable=True),
        sa.Column("revoked_by", sa.String(100), nullable=False, server_default=""),
        sa.Column("revoke_reason", sa.String(500), nullable=False, server_default=""),
    )
    op.create_index("ix_access_tokens_issued", "access_tokens", ["issued_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_access_tokens_issued", "access_tokens")
    op.drop_table("access_tokens")
    drop_runtime_tables_v2(op)
