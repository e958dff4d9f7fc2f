"""The playbooks service's tables (SQLAlchemy Core); to change one, change it here and add a migration.

- playbooks: the rules, as data (trigger and actions as JSON documents), with their revision;
- facts: what the events the service heard said, kept as history (a dry run replays it);
- episodes: per rule and subject, whether the condition holds now and how many times it began to;
- firings: one per rule, subject and episode (the unique key a redelivered event or a second replica meets);
- firing_actions: each action of a firing, a durable record the worker carries out (pending -> done/failed).
"""

from __future__ import annotations

import sqlalchemy as sa

from hubcore.columns import entity, flag, moment, number, ref, text, versioned
from hubcore.db import add_runtime_tables

metadata = sa.MetaData()

playbooks = entity(
    "playbooks",
    metadata,
    text("key", 60, nullable=True, unique=True),  # the seeded examples' own key (runway-under-6, …)
    text("display_name", 100),
    text("description", default=""),
    text("trigger"),  # JSON object
    text("actions"),  # JSON list
    flag("enabled"),
    number("revision", default="1"),
    *versioned(),
)

facts = entity(
    "facts",
    metadata,
    text("event_id", 64),
    text("kind", 20),
    text("subject", 100),
    text("company", 40, default=""),
    moment("occurred_at"),
    text("data", default="{}"),  # JSON object: the values the triggers read
    moment("created_at"),
    sa.UniqueConstraint("event_id", "kind", "subject", name="uq_facts_event"),
    sa.Index("ix_facts_subject", "kind", "subject"),
    sa.Index("ix_facts_company", "kind", "company"),
    sa.Index("ix_facts_time", "occurred_at"),
)

episodes = sa.Table(
    "episodes",
    metadata,
    ref("playbook_id", "playbooks.id", primary_key=True),
    text("subject", 100, primary_key=True),
    number("episode"),
    flag("holding"),
    moment("updated_at"),
)

firings = entity(
    "firings",
    metadata,
    ref("playbook_id", "playbooks.id"),
    number("playbook_revision"),
    text("playbook_display_name", 100),
    text("subject", 100),
    text("company", 40, default=""),
    number("episode"),
    text("facts", default="[]"),  # JSON list: the facts that matched
    text("rule", default="{}"),  # JSON object: the definition it fired under
    moment("fired_at"),
    moment("created_at"),
    sa.UniqueConstraint("playbook_id", "subject", "episode", name="uq_firings_episode"),
    sa.Index("ix_firings_company", "company"),
)

firing_actions = entity(
    "firing_actions",
    metadata,
    ref("firing_id", "firings.id"),
    number("position"),
    text("kind", 30),
    text("request_id", 64, unique=True),
    text("state", 10),
    text("outcome", default=""),
    text("results", default="[]"),  # JSON list of resource names
    text("plan", default="{}"),  # JSON object: what was chosen before calling (a slot, the firms)
    number("attempts", default="0"),
    moment("next_attempt_at", nullable=True),
    moment("lease_until", nullable=True),
    moment("created_at"),
    moment("updated_at"),
    sa.UniqueConstraint("firing_id", "position", name="uq_firing_actions_position"),
    sa.Index("ix_firing_actions_due", "state", "next_attempt_at"),
)

# Everything the migrations must create: the service's tables and the runtime's.
add_runtime_tables(metadata)
