"""The investors service's tables (SQLAlchemy Core), and the small query pieces its stores share."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from hubcore.columns import day, entity, flag, moment, names, number, ref, text, versioned
from hubcore.db import add_runtime_tables

Row = sa.Row[Any]  # a row of one of these tables; the stores read it into a domain object at once


metadata = sa.MetaData()
OPEN_ONLY = sa.text("closed_at IS NULL")

firms = entity(
    "firms",
    metadata,
    *names(),
    text("type", 20),
    text("website", 200, default=""),
    text("description", default=""),
    text("theses", default="[]"),  # JSON: the firm is read whole
    text("search_text"),
    *versioned(),
    sa.Index("ix_firms_type", "type"),
)

partners = entity(
    "partners",
    metadata,
    ref("firm_id", "firms.id"),
    *names(),
    text("title", 100, default=""),
    text("email", 200, default=""),
    text("phone", 20, default=""),
    text("focus", default="[]"),
    *versioned(),
    sa.Index("ix_partners_firm", "firm_id", "id"),
)

# Partner API keys: only the SHA-256 of the key is kept (the keys are 256-bit random, so a fast hash is enough).
# A rotation moves the current secret's hash to previous_key_hash, which works until previous_expire_at.
api_keys = entity(
    "api_keys",
    metadata,
    ref("partner_id", "partners.id"),
    ref("firm_id", "firms.id"),
    text("key_hash", 64, unique=True),
    text("prefix", 16),
    text("description", 200, default=""),
    moment("created_at"),
    moment("expire_at"),
    moment("revoked_at", nullable=True),
    text("scopes", default="[]"),  # JSON: ["introductions:write", "rounds:read"]
    text("previous_key_hash", 64, nullable=True),
    moment("rotated_at", nullable=True),
    moment("previous_expire_at", nullable=True),
    number("rotations", default="0"),
    sa.Index("ix_api_keys_partner", "partner_id", "id"),
    sa.Index("uq_api_keys_previous_key_hash", "previous_key_hash", unique=True),
)

# Each key's calls per rate-limit window, shared by every replica (decision 0021): one row per key and window,
# counted by one upsert per call, swept after partner_usage_retention_days.
partner_key_usage = sa.Table(
    "partner_key_usage",
    metadata,
    ref("api_key_id", primary_key=True, autoincrement=False),
    moment("window_start", primary_key=True),
    number("calls", default="0"),
    sa.Index("ix_partner_key_usage_window", "window_start"),
)

# The partner API's audit log: one row per call, whatever its outcome.
partner_calls = entity(
    "partner_calls",
    metadata,
    ref("api_key_id", nullable=True),
    ref("partner_id", nullable=True),
    ref("firm_id", nullable=True),
    text("method", 200),
    text("resource", 100, default=""),
    text("code", 30),
    moment("called_at"),
    text("request_id", 64, default=""),
    text("peer", 200, default=""),
    sa.Index("ix_partner_calls_firm", "firm_id", "id"),
    sa.Index("ix_partner_calls_called_at", "called_at"),  # the retention sweep
)

# Calls refused at the partner API's door (no valid key, over a rate limit): counts per peer address and
# minute, not a row per call, so that a flood cannot fill the database (partner.RefusedCalls).
partner_refusals = sa.Table(
    "partner_refusals",
    metadata,
    text("peer", 200, primary_key=True),
    moment("minute", primary_key=True),
    number("unauthenticated", big=True, default="0"),
    number("rate_limited", big=True, default="0"),
    sa.Index("ix_partner_refusals_minute", "minute"),
)

# The company directory: a read model of hub.companies.company.* events (the newest version wins).
directory = sa.Table(
    "directory_companies",
    metadata,
    ref("id", primary_key=True, autoincrement=False),
    *names(),
    text("sector", 20, default=""),
    text("stage", 20, default=""),
    text("status", 20, default=""),
    text("tags", default="[]"),
    text("website", 200, default=""),
    flag("archived"),
    number("version"),
)

introductions = entity(
    "introductions",
    metadata,
    ref("company_id"),
    ref("firm_id", "firms.id"),
    ref("partner_id", "partners.id", nullable=True),
    text("state", 20),
    text("note"),
    text("shared_fields"),
    moment("meeting_at", nullable=True),
    moment("shared_at", nullable=True),
    moment("closed_at", nullable=True),
    text("requested_by", 100, default=""),  # partners/{id}: the firm asked for it (the partner API)
    *versioned(),
    # One open introduction per company and firm: a constraint, so that two concurrent requests cannot both win.
    sa.Index(
        "uq_introductions_open_pair",
        "company_id",
        "firm_id",
        unique=True,
        sqlite_where=OPEN_ONLY,
        postgresql_where=OPEN_ONLY,
    ),
    sa.Index("ix_introductions_firm", "firm_id", "id"),
    sa.Index("ix_introductions_company", "company_id", "id"),
)

introduction_history = entity(
    "introduction_history",
    metadata,
    ref("introduction_id", "introductions.id"),
    text("from_state", 20),
    text("to_state", 20),
    text("actor", 100),
    text("reason"),
    moment("at"),
    text("on_behalf_of", 100, default=""),
    sa.Index("ix_introduction_history", "introduction_id", "id"),
)

# What a company lets each firm see on the partner API: one row per company and firm, revoked or not.
sharing_grants = entity(
    "sharing_grants",
    metadata,
    ref("company_id"),
    ref("firm_id", "firms.id", nullable=True),  # NULL: the company's grant to every firm (firms/-)
    text("field_groups", default="[]"),
    text("actor", 100),
    text("reason", default=""),
    text("on_behalf_of", 100, default=""),
    text("introduction", 100, default=""),
    moment("revoked_at", nullable=True),
    *versioned(),
    sa.Index("uq_sharing_grants_pair", "company_id", "firm_id", unique=True),
    sa.Index(  # one grant to every firm per company (NULLs are distinct to the pair's index)
        "uq_sharing_grants_every_firm",
        "company_id",
        unique=True,
        sqlite_where=sa.text("firm_id IS NULL"),
        postgresql_where=sa.text("firm_id IS NULL"),
    ),
)

# The access log the founders read: one row per company per partner API call that showed its data, written
# with the call's audit row (partner_call_id, no foreign key: the audit log's retention may drop that row).
company_reads = entity(
    "company_reads",
    metadata,
    ref("company_id"),
    ref("firm_id"),
    ref("partner_id", nullable=True),
    ref("api_key_id", nullable=True),
    text("method", 200),
    text("introductions", default="[]"),
    text("field_groups", default="[]"),
    moment("read_at"),
    ref("partner_call_id", nullable=True),
    sa.Index("ix_company_reads_company", "company_id", "id"),
)

# The KPI updates of the hub's companies, kept from hub.companies.kpi.reported (one row per company and period,
# its latest version): the partner API shows firms that invested in a company the figure groups it granted them.
company_updates = entity(
    "company_updates",
    metadata,
    ref("company_id"),
    text("period", 20),
    ref("report_id"),  # the companies service's report of the latest version
    text("figures", default="{}"),
    moment("reported_at"),
    number("version"),
    sa.Index("uq_company_updates_period", "company_id", "period", unique=True),
)

rounds = entity(
    "rounds",
    metadata,
    ref("company_id"),
    text("round_type", 20),
    number("amount_krw", big=True),
    number("pre_money_krw", big=True, default="0"),
    ref("lead_firm_id", "firms.id", nullable=True),
    day("announced_on", nullable=True),
    day("closed_on", nullable=True),
    text("status", 20),
    text("reporter", 100, default=""),
    *versioned(),
    sa.Index("ix_rounds_company", "company_id", "id"),
)

round_participants = sa.Table(
    "round_participants",
    metadata,
    ref("round_id", "rounds.id", primary_key=True),
    ref("firm_id", "firms.id", primary_key=True),
    number("amount_krw", big=True),
    sa.Index("ix_round_participants_firm", "firm_id"),
)

# Webhooks (domain/webhooks.py): subscriptions, a firm's (firm_id) or hub-wide (NULL), and their deliveries. The
# secrets are kept as they are, since signing needs them (as HUB_WEBHOOK_SECRET is, for the notifications worker).
webhook_subscriptions = entity(
    "webhook_subscriptions",
    metadata,
    ref("firm_id", "firms.id", nullable=True),
    text("url", 500),
    text("event_types", default="[]"),
    text("companies", default="[]"),
    text("firms", default="[]"),
    text("state", 10),
    text("description", 200, default=""),
    text("secret", 100),
    text("previous_secret", 100, default=""),
    moment("previous_secret_expires_at", nullable=True),
    text("actor", 100),
    *versioned(),
    sa.Index("ix_webhook_subscriptions_firm", "firm_id", "id"),
)

# One row per event and subscription, written in the transaction of the change that made the event.
webhook_deliveries = entity(
    "webhook_deliveries",
    metadata,
    text("delivery_id", 36, unique=True),
    ref("subscription_id", "webhook_subscriptions.id"),
    text("event_type", 50),
    text("event_id", 36),
    moment("occurred_at"),
    text("body"),
    text("state", 10),
    number("attempts", default="0"),
    number("last_status", default="0"),
    text("last_error", default=""),
    moment("next_attempt_at", nullable=True),
    moment("delivered_at", nullable=True),
    moment("retry_from"),
    number("replays", default="0"),
    text("claim", 36, default=""),
    moment("lease_until", nullable=True),
    moment("created_at"),
    moment("updated_at"),
    sa.Index("uq_webhook_deliveries_event", "subscription_id", "event_id", unique=True),
    sa.Index("ix_webhook_deliveries_subscription", "subscription_id", "id"),
    sa.Index("ix_webhook_deliveries_due", "state", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_updated", "updated_at"),  # the retention sweep
)

# Everything the migrations must create: the service's tables and the runtime's.
add_runtime_tables(metadata)
