"""Identities of founders and mentors who sign in for themselves, their one-time codes, the sign-in log, and
the scope and identity of each signed-in access token."""

import sqlalchemy as sa
from alembic import op

from hubcore.columns import ID, MOMENT

revision = "0007"
down_revision = "0006"

ACTIVE_ONLY = sa.text("state = 'ACTIVE'")


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("scope", sa.String(40), nullable=False),
        sa.Column("person_id", ID, nullable=True),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("language", sa.String(5), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("invited_by", sa.String(100), nullable=False),
        sa.Column("last_sign_in_at", MOMENT, nullable=True),
        sa.Column("revoked_at", MOMENT, nullable=True),
        sa.Column("revoked_by", sa.String(100), nullable=False, server_default=""),
        sa.Column("revoke_reason", sa.String(500), nullable=False, server_default=""),
    )
    op.create_index(
        "uq_identities_active", "identities", ["email", "role", "scope"], unique=True,
        sqlite_where=ACTIVE_ONLY, postgresql_where=ACTIVE_ONLY,
    )  # fmt: skip
    op.create_index("ix_identities_person", "identities", ["person_id"])
    op.create_table(
        "sign_in_codes",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("code_hash", sa.String(64), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("expire_at", MOMENT, nullable=False),
        sa.Column("used_at", MOMENT, nullable=True),
        sa.Column("failed_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_sign_in_codes_email", "sign_in_codes", ["email", "created_at"])
    op.create_table(
        "sign_in_events",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("at", MOMENT, nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("peer", sa.String(100), nullable=False, server_default=""),
        sa.Column("identity_id", ID, nullable=True),
        sa.Column("actor", sa.String(100), nullable=False, server_default=""),
        sa.Column("note", sa.String(200), nullable=False, server_default=""),
    )
    op.create_index("ix_sign_in_events_at", "sign_in_events", ["at", "id"])
    with op.batch_alter_table("access_tokens") as batch:
        batch.add_column(sa.Column("scope", sa.String(40), nullable=False, server_default=""))
        batch.add_column(sa.Column("identity_id", ID, nullable=True))
    op.create_index("ix_access_tokens_identity", "access_tokens", ["identity_id"])


def downgrade() -> None:
    op.drop_index("ix_access_tokens_identity", "access_tokens")
    with op.batch_alter_table("access_tokens") as batch:
        batch.drop_column("identity_id")
        batch.drop_column("scope")
    op.drop_table("sign_in_events")
    op.drop_table("sign_in_codes")
    op.drop_table("identities")
