"""The notifications service's tables (SQLAlchemy Core); to change one, change it here and add a migration.

- recipients: people the hub writes to (a read model fed by events) with their preferences;
- entities: the newest snapshot of each aggregate the rules follow (companies, sessions, …), so that an
  older event arriving late never overrides a newer one;
- follow_ups: what the rules planned, one row per rule + entity + occasion (the idempotency key);
- deliveries: one row per follow-up, recipient and channel: the delivery log the scheduler works from.
"""

from __future__ import annotations

import sqlalchemy as sa

from hubcore.columns import blob, entity, flag, moment, number, ref, text
from hubcore.db import add_runtime_tables

metadata = sa.MetaData()

recipients = entity(
    "recipients",
    metadata,
    text("source", 200, unique=True),  # people/7, programManagers/<email>
    text("kind", 20),
    text("korean_name", 100, default=""),
    text("english_name", 100, default=""),
    text("email", 200, default=""),
    text("company", 40, default=""),
    text("role", 20, default=""),
    flag("active"),
    number("source_version", big=True, default="0"),
    # Preferences; empty means the service's default (see config.py).
    text("channels", 100, default=""),
    text("language", 5, default=""),
    text("time_zone", 64, default=""),
    number("quiet_start", nullable=True),  # minutes after local midnight
    number("quiet_end", nullable=True),
    text("muted_rules", default="[]"),
    text("webhook_url", 500, default=""),
    number("preference_version", default="1"),
    moment("created_at"),
    moment("updated_at"),
    sa.Index("ix_recipients_company", "company"),
)

entities = sa.Table(
    "entities",
    metadata,
    text("name", 100, primary_key=True),  # companies/3, sessions/12, …
    number("version", big=True),
    blob("data"),  # the event's snapshot, serialized
    moment("updated_at"),
)

follow_ups = entity(
    "follow_ups",
    metadata,
    text("key", 300, unique=True),  # rule:entity:occasion
    text("rule", 60),
    text("entity", 100),
    text("occasion", 100),
    text("company", 40, default=""),
    text("audience"),  # JSON list
    text("context"),  # JSON object: what the templates show
    text("state", 12),
    moment("due_at"),
    moment("expires_at", nullable=True),
    moment("dispatched_at", nullable=True),
    text("note", 500, default=""),
    moment("created_at"),
    moment("updated_at"),
    sa.Index("ix_follow_ups_due", "state", "due_at"),
    sa.Index("ix_follow_ups_entity", "entity"),
)

deliveries = entity(
    "deliveries",
    metadata,
    ref("follow_up_id", "follow_ups.id"),
    ref("recipient_id", "recipients.id"),
    text("rule", 60),
    text("entity", 100),
    text("company", 40, default=""),
    text("channel", 10),
    text("address", 500, default=""),
    text("state", 12),
    number("attempts", default="0"),
    number("retries_from", default="0"),  # attempts at the last manual retry
    moment("next_attempt_at", nullable=True),
    moment("lease_until", nullable=True),
    text("claim", 36, default=""),
    text("last_error", default=""),
    text("subject", 300, default=""),
    moment("sent_at", nullable=True),
    moment("created_at"),
    moment("updated_at"),
    sa.UniqueConstraint("follow_up_id", "recipient_id", "channel", name="uq_deliveries_target"),
    sa.Index("ix_deliveries_due", "state", "next_attempt_at"),
    sa.Index("ix_deliveries_recipient", "recipient_id"),
)

# Everything the migrations must create: the service's tables and the runtime's.
add_runtime_tables(metadata)
