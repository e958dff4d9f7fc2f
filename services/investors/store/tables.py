"""The investors service's tables (SQLAlchemy Core), and the small query pieces its stores share."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import sqlalchemy as sa

from hubcore.db import keyset_after, runtime_metadata

Row = sa.Row[Any]  # a row of one of these tables; the stores read it into a domain object at once


metadata = sa.MetaData()
big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
at = sa.DateTime(timezone=True)
OPEN_ONLY = sa.text("closed_at IS NULL")

firms = sa.Table(
    "firms",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("korean_name", sa.String(100), nullable=False),
    sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("website", sa.String(200), nullable=False, server_default=""),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("theses", sa.Text, nullable=False, server_default="[]"),  # JSON: the firm is read whole
    sa.Column("search_text", sa.Text, nullable=False),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_firms_type", "type"),
)

partners = sa.Table(
    "partners",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("firm_id", big_id, sa.ForeignKey("firms.id"), nullable=False),
    sa.Column("korean_name", sa.String(100), nullable=False),
    sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("title", sa.String(100), nullable=False, server_default=""),
    sa.Column("email", sa.String(200), nullable=False, server_default=""),
    sa.Column("phone", sa.String(20), nullable=False, server_default=""),
    sa.Column("focus", sa.Text, nullable=False, server_default="[]"),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_partners_firm", "firm_id", "id"),
)

# Partner API keys: only the SHA-256 of the key is kept (the keys are 256-bit random, so a fast hash is enough).
api_keys = sa.Table(
    "api_keys",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("partner_id", big_id, sa.ForeignKey("partners.id"), nullable=False),
    sa.Column("firm_id", big_id, sa.ForeignKey("firms.id"), nullable=False),
    sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("description", sa.String(200), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
    sa.Column("expire_at", at, nullable=False),
    sa.Column("revoked_at", at, nullable=True),
    sa.Index("ix_api_keys_partner", "partner_id", "id"),
)

# The partner API's audit log: one row per call, whatever its outcome.
partner_calls = sa.Table(
    "partner_calls",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("api_key_id", big_id, nullable=True),
    sa.Column("partner_id", big_id, nullable=True),
    sa.Column("firm_id", big_id, nullable=True),
    sa.Column("method", sa.String(200), nullable=False),
    sa.Column("resource", sa.String(100), nullable=False, server_default=""),
    sa.Column("code", sa.String(30), nullable=False),
    sa.Column("called_at", at, nullable=False),
    sa.Column("request_id", sa.String(64), nullable=False, server_default=""),
    sa.Column("peer", sa.String(200), nullable=False, server_default=""),
    sa.Index("ix_partner_calls_firm", "firm_id", "id"),
    sa.Index("ix_partner_calls_called_at", "called_at"),  # the retention sweep
)

# Calls refused at the partner API's door (no valid key, over a rate limit): counts per peer address and
# minute, not a row per call, so that a flood cannot fill the database (partner.RefusedCalls).
partner_refusals = sa.Table(
    "partner_refusals",
    metadata,
    sa.Column("peer", sa.String(200), primary_key=True),
    sa.Column("minute", at, primary_key=True),
    sa.Column("unauthenticated", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("rate_limited", sa.BigInteger, nullable=False, server_default="0"),
    sa.Index("ix_partner_refusals_minute", "minute"),
)

# The company directory: a read model of hub.companies.company.* events (the newest version wins).
directory = sa.Table(
    "directory_companies",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=False),
    sa.Column("korean_name", sa.String(100), nullable=False),
    sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("sector", sa.String(20), nullable=False, server_default=""),
    sa.Column("stage", sa.String(20), nullable=False, server_default=""),
    sa.Column("status", sa.String(20), nullable=False, server_default=""),
    sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
    sa.Column("website", sa.String(200), nullable=False, server_default=""),
    sa.Column("archived", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

introductions = sa.Table(
    "introductions",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("company_id", big_id, nullable=False),
    sa.Column("firm_id", big_id, sa.ForeignKey("firms.id"), nullable=False),
    sa.Column("partner_id", big_id, sa.ForeignKey("partners.id"), nullable=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("shared_fields", sa.Text, nullable=False),
    sa.Column("meeting_at", at, nullable=True),
    sa.Column("shared_at", at, nullable=True),
    sa.Column("closed_at", at, nullable=True),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
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

introduction_history = sa.Table(
    "introduction_history",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("introduction_id", big_id, sa.ForeignKey("introductions.id"), nullable=False),
    sa.Column("from_state", sa.String(20), nullable=False),
    sa.Column("to_state", sa.String(20), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", at, nullable=False),
    sa.Index("ix_introduction_history", "introduction_id", "id"),
)

rounds = sa.Table(
    "rounds",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("company_id", big_id, nullable=False),
    sa.Column("round_type", sa.String(20), nullable=False),
    sa.Column("amount_krw", sa.BigInteger, nullable=False),
    sa.Column("pre_money_krw", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("lead_firm_id", big_id, sa.ForeignKey("firms.id"), nullable=True),
    sa.Column("announced_on", sa.Date, nullable=True),
    sa.Column("closed_on", sa.Date, nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("reporter", sa.String(100), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Index("ix_rounds_company", "company_id", "id"),
)

round_participants = sa.Table(
    "round_participants",
    metadata,
    sa.Column("round_id", big_id, sa.ForeignKey("rounds.id"), primary_key=True),
    sa.Column("firm_id", big_id, sa.ForeignKey("firms.id"), primary_key=True),
    sa.Column("amount_krw", sa.BigInteger, nullable=False),
    sa.Index("ix_round_participants_firm", "firm_id"),
)

for _table in runtime_metadata.sorted_tables:
    _table.to_metadata(metadata)


def within(query: sa.Select[Any], *terms: tuple[sa.ColumnElement[Any], Collection[object] | None]) -> sa.Select[Any]:
    """The query, narrowed to rows whose column holds one of the values, for each term that has values
    (None: the caller did not filter on it)."""
    for column, values in terms:
        if values is not None:
            query = query.where(column.in_(values))
    return query


def page(
    query: sa.Select[Any], id_column: sa.ColumnElement[int], after: int | None, limit: int, *, descending: bool = False
) -> sa.Select[Any]:
    """One keyset page by id: the rows after `after` (None: from the start), at most `limit` of them."""
    query = query.order_by(id_column.desc() if descending else id_column).limit(limit)
    return query if after is None else query.where(keyset_after([id_column], [after], descending))
