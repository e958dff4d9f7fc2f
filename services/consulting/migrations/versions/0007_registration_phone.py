"""A registration keeps the phone number typed with it (empty when none), which the import compares by its digits
to find the same person registered twice (domain/people.py)."""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.add_column("registrations", sa.Column("phone", sa.String(40), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("registrations") as batch:
        batch.drop_column("phone")
