"""Partner keys with scopes, rotation and a rate limit shared by every replica: the keys' scopes and previous
secret, and each key's calls per window (decision 0021).

Keys made before scopes existed could do everything the partner API offers: they get read and write on every
resource group, so no integration breaks. Their expiry stays what it was (keys have always expired: 90 days by
default)."""

import json

import sqlalchemy as sa
from alembic import op

from hubcore.columns import ID, MOMENT

revision = "0005"
down_revision = "0004"

# As domain/keys.py has it at this revision (a migration never imports the code that changes after it).
_EVERY_SCOPE = ["introductions:write", "rounds:write", "dealflow:write", "updates:write", "webhooks:write"]


def upgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("scopes", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("previous_key_hash", sa.String(64), nullable=True))
        batch.add_column(sa.Column("rotated_at", MOMENT, nullable=True))
        batch.add_column(sa.Column("previous_expire_at", MOMENT, nullable=True))
        batch.add_column(sa.Column("rotations", sa.Integer(), nullable=False, server_default="0"))
    op.create_index("uq_api_keys_previous_key_hash", "api_keys", ["previous_key_hash"], unique=True)
    keys = sa.table("api_keys", sa.column("scopes"))
    op.execute(keys.update().values(scopes=json.dumps(_EVERY_SCOPE)))
    op.create_table(
        "partner_key_usage",
        sa.Column("api_key_id", ID, primary_key=True, autoincrement=False),
        sa.Column("window_start", MOMENT, primary_key=True),
        sa.Column("calls", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_partner_key_usage_window", "partner_key_usage", ["window_start"])


def downgrade() -> None:
    op.drop_index("ix_partner_key_usage_window", "partner_key_usage")
    op.drop_table("partner_key_usage")
    op.drop_index("uq_api_keys_previous_key_hash", "api_keys")
    with op.batch_alter_table("api_keys") as batch:
        for column in ("rotations", "previous_expire_at", "rotated_at", "previous_key_hash", "scopes"):
            batch.drop_column(column)
