"""The runtime's schema v2: revoked access tokens, fed by hub.ops.access_token.revoked.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from alembic import op

from hubcore.migrate import create_runtime_tables_v2, drop_runtime_tables_v2

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    create_runtime_tables_v2(op)


def downgrade() -> None:
    drop_runtime_tables_v2(op)
