"""Personal data: when a company or a person was erased (the row stays as a tombstone), and the erasure log
(who erased what, when and why).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

at = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("companies", sa.Column("erased_at", at, nullable=True))
    op.add_column("people", sa.Column("erased_at", at, nullable=True))
    op.create_table(
        "erasures",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(40), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("erased_at", at, nullable=False),
        sa.Column("rows_changed", sa.Integer, nullable=False),
    )
    op.create_index("ix_erasures_subject", "erasures", ["subject"])


def downgrade() -> None:
    op.drop_index("ix_erasures_subject", "erasures")
    op.drop_table("erasures")
    with op.batch_alter_table("people") as batch:
        batch.drop_column("erased_at")
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("erased_at")
