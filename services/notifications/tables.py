"""The notifications service's tables (SQLAlchemy Core); to change one, change it here and add a migration.

- recipients: people the hub writes to (a read model fed by events) with their preferences;
- entities: the newest snapshot of each aggregate the rules follow (companies, sessions, …), so that an
  older event arriving late never overrides a newer one;
- follow_ups: what the rules planned, one row per rule + entity + occasion (the idempotency key);
- deliveries: one row per follow-up, recipient and channel: the delivery log the scheduler works from.
"""

from __future__ import annotations

import sqlalchemy as sa

from hubcore.db import runtime_metadata

metadata = sa.MetaData()
big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
at = sa.DateTime(timezone=True)

recipients = sa.Table(
    "recipients",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(200), nullable=False, unique=True),  # people/7, programManagers/<email>
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("korean_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("email", sa.String(200), nullable=False, server_default=""),
    sa.Column("company", sa.String(40), nullable=False, server_default=""),
    sa.Column("role", sa.String(20), nullable=False, server_default=""),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("source_version", sa.BigInteger, nullable=False, server_default="0"),
    # Preferences; empty means the service's default (see config.py).
    sa.Column("channels", sa.String(100), nullable=False, server_default=""),
    sa.Column("language", sa.String(5), nullable=False, server_default=""),
    sa.Column("time_zone", sa.String(64), nullable=False, server_default=""),
    sa.Column("quiet_start", sa.Integer, nullable=True),  # minutes after local midnight
    sa.Column("quiet_end", sa.Integer, nullable=True),
    sa.Column("muted_rules", sa.Text, nullable=False, server_default="[]"),
    sa.Column("webhook_url", sa.String(500), nullable=False, server_default=""),
    sa.Column("preference_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Index("ix_recipients_company", "company"),
)

entities = sa.Table(
    "entities",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),  # companies/3, sessions/12, …
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),  # the event's snapshot, serialized
    sa.Column("updated_at", at, nullable=False),
)

follow_ups = sa.Table(
    "follow_ups",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(300), nullable=False, unique=True),  # rule:entity:occasion
    sa.Column("rule", sa.String(60), nullable=False),
    sa.Column("entity", sa.String(100), nullable=False),
    sa.Column("occasion", sa.String(100), nullable=False),
    sa.Column("company", sa.String(40), nullable=False, server_default=""),
    sa.Column("audience", sa.Text, nullable=False),  # JSON list
    sa.Column("context", sa.Text, nullable=False),  # JSON object: what the templates show
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("due_at", at, nullable=False),
    sa.Column("expires_at", at, nullable=True),
    sa.Column("dispatched_at", at, nullable=True),
    sa.Column("note", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Index("ix_follow_ups_due", "state", "due_at"),
    sa.Index("ix_follow_ups_entity", "entity"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
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
    sa.Column("retries_from", sa.Integer, nullable=False, server_default="0"),  # attempts at the last manual retry
    sa.Column("next_attempt_at", at, nullable=True),
    sa.Column("lease_until", at, nullable=True),
    sa.Column("claim", sa.String(36), nullable=False, server_default=""),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("subject", sa.String(300), nullable=False, server_default=""),
    sa.Column("sent_at", at, nullable=True),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.UniqueConstraint("follow_up_id", "recipient_id", "channel", name="uq_deliveries_target"),
    sa.Index("ix_deliveries_due", "state", "next_attempt_at"),
    sa.Index("ix_deliveries_recipient", "recipient_id"),
)

# Everything the migrations must create: the service's tables and the runtime's.
for _table in runtime_metadata.sorted_tables:
    _table.to_metadata(metadata)
