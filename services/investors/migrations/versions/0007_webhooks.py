"""Partner webhooks: subscriptions (a firm's or hub-wide) and their deliveries (the delivery log and queue)."""

import sqlalchemy as sa
from alembic import op

from hubcore.columns import ID, MOMENT

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("firm_id", ID, sa.ForeignKey("firms.id"), nullable=True),
        sa.Column("url", sa.String(500), nullable=False),
        sa.Column("event_types", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("companies", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("firms", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("description", sa.String(200), nullable=False, server_default=""),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("previous_secret", sa.String(100), nullable=False, server_default=""),
        sa.Column("previous_secret_expires_at", MOMENT, nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_webhook_subscriptions_firm", "webhook_subscriptions", ["firm_id", "id"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(36), nullable=False, unique=True),
        sa.Column("subscription_id", ID, sa.ForeignKey("webhook_subscriptions.id"), nullable=False),
        sa.Column("event_type", sa.String(50), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("occurred_at", MOMENT, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_status", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text(), nullable=False, server_default=""),
        sa.Column("next_attempt_at", MOMENT, nullable=True),
        sa.Column("delivered_at", MOMENT, nullable=True),
        sa.Column("retry_from", MOMENT, nullable=False),
        sa.Column("replays", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("claim", sa.String(36), nullable=False, server_default=""),
        sa.Column("lease_until", MOMENT, nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
    )
    op.create_index("uq_webhook_deliveries_event", "webhook_deliveries", ["subscription_id", "event_id"], unique=True)
    op.create_index("ix_webhook_deliveries_subscription", "webhook_deliveries", ["subscription_id", "id"])
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["state", "next_attempt_at"])
    op.create_index("ix_webhook_deliveries_updated", "webhook_deliveries", ["updated_at"])


def downgrade() -> None:
    for index in (
        "ix_webhook_deliveries_updated", "ix_webhook_deliveries_due", "ix_webhook_deliveries_subscription",
        "uq_webhook_deliveries_event",
    ):  # fmt: skip
        op.drop_index(index, "webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhook_subscriptions_firm", "webhook_subscriptions")
    op.drop_table("webhook_subscriptions")
