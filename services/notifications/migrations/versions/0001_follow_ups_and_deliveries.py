"""Recipients with preferences, followed entities, follow-ups, deliveries, and the runtime's tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from hubcore.migrate import create_runtime_tables_v1, drop_runtime_tables_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
at = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_runtime_tables_v1(op)
    op.create_table(
        "recipients",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("source", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("korean_name", sa.String(100), nullable=False, server_default=""),
        sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
        sa.Column("email", sa.String(200), nullable=False, server_default=""),
        sa.Column("company", sa.String(40), nullable=False, server_default=""),
        sa.Column("role", sa.String(20), nullable=False, server_default=""),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("source_version", sa.BigInteger, nullable=False, server_default="0"),
        sa.Column("channels", sa.String(100), nullable=False, server_default=""),
        sa.Column("language", sa.String(5), nullable=False, server_default=""),
        sa.Column("time_zone", sa.String(64), nullable=False, server_default=""),
        sa.Column("quiet_start", sa.Integer, nullable=True),
        sa.Column("quiet_end", sa.Integer, nullable=True),
        sa.Column("muted_rules", sa.Text, nullable=False, server_default="[]"),
        sa.Column("webhook_url", sa.String(500), nullable=False, server_default=""),
        sa.Column("preference_version", sa.Integer, nullable=False, server_default="1"),
        sa.Column("created_at", at, nullable=False),
        sa.Column("updated_at", at, nullable=False),
    )
    op.create_index("ix_recipients_company", "recipients", ["company"])
    op.create_table(
        "entities",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", at, nullable=False),
    )
    op.create_table(
        "follow_ups",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(300), nullable=False, unique=True),
        sa.Column("rule", sa.String(60), nullable=False),
        sa.Column("entity", sa.String(100), nullable=False),
        sa.Column("occasion", sa.String(100), nullable=False),
        sa.Column("company", sa.String(40), nullable=False, server_default=""),
        sa.Column("audience", sa.Text, nullable=False),
        sa.Column("context", sa.Text, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("due_at", at, nullable=False),
        sa.Column("expires_at", at, nullable=True),
        sa.Column("dispatched_at", at, nullable=True),
        sa.Column("note", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", at, nullable=False),
        sa.Column("updated_at", at, nullable=False),
    )
    op.create_index("ix_follow_ups_due", "follow_ups", ["state", "due_at"])
    op.create_index("ix_follow_ups_entity", "follow_ups", ["entity"])
    op.create_table(
        "deliveries",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("follow_up_id", big_id, sa.ForeignKey("follow_ups.id"), nullable=False),
        sa.Column("recipient_id", big_id, sa.ForeignKey("recipients.id"), nullable=False),
        sa.Column("rule", sa.String(60), nullable=False),
        sa.Column("entity", sa.String(100), nullable=False),
        sa.Column("company", sa.String(40), nullable=False, server_default=""),
        sa.Column("channel", sa.String(10), nullable=False),
        sa.Column("address", sa.String(500), nullable=False, server_default=""),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("retries_from", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", at, nullable=True),
        sa.Column("lease_until", at, nullable=True),
        sa.Column("claim", sa.String(36), nullable=False, server_default=""),
        sa.Column("last_error", sa.Text, nullable=False, server_default=""),
        sa.Column("subject", sa.String(300), nullable=False, server_default=""),
        sa.Column("sent_at", at, nullable=True),
        sa.Column("created_at", at, nullable=False),
        sa.Column("updated_at", at, nullable=False),
        sa.UniqueConstraint("follow_up_id", "recipient_id", "channel", name="uq_deliveries_target"),
    )
    op.create_index("ix_deliveries_due", "deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_deliveries_recipient", "deliveries", ["recipient_id"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_recipient", "deliveries")
    op.drop_index("ix_deliveries_due", "deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_follow_ups_entity", "follow_ups")
    op.drop_index("ix_follow_ups_due", "follow_ups")
    op.drop_table("follow_ups")
    op.drop_table("entities")
    op.drop_index("ix_recipients_company", "recipients")
    op.drop_table("recipients")
    drop_runtime_tables_v1(op)
