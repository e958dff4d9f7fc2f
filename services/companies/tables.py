"""Every table of the companies service, for its three gRPC services (companies and people, the program, access
tokens), its event handlers and its migrations (migrations/env.py creates `metadata`). Queries live in each
sub-package's store."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from hubcore.db import runtime_metadata

metadata = sa.MetaData()
# The exclusion constraint below needs gist to compare plain values with =.
sa.event.listen(
    metadata, "before_create", sa.DDL("CREATE EXTENSION IF NOT EXISTS btree_gist").execute_if(dialect="postgresql")
)
big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
at = sa.DateTime(timezone=True)

companies = sa.Table(
    "companies",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("korean_name", sa.String(100), nullable=False),
    sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("sector", sa.String(20), nullable=False),
    sa.Column("stage", sa.String(20), nullable=False, server_default=""),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("website", sa.String(200), nullable=False, server_default=""),
    sa.Column("tags", sa.Text, nullable=False, server_default="[]"),  # JSON list, for reads in one row
    sa.Column("founded_on", sa.Date, nullable=True),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    sa.Column("search_text", sa.Text, nullable=False),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Column("deleted_at", at, nullable=True),
    sa.Column("version", sa.Integer, nullable=False),
    # Kept by the hub.investors.round.closed consumer from company_rounds, never by the API's writes.
    sa.Column("funding_raised_krw", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("last_round", sa.String(20), nullable=False, server_default=""),
    sa.Column("erased_at", at, nullable=True),  # personal data erased on request: a tombstone
    sa.Index("ix_companies_status", "status"),
    sa.Index("ix_companies_sector", "sector"),
    sa.Index("ix_companies_created", "created_at", "id"),
)

# One row per tag, so that filtering by tag is an index lookup.
company_tags = sa.Table(
    "company_tags",
    metadata,
    sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), primary_key=True),
    sa.Column("tag", sa.String(30), primary_key=True),
    sa.Index("ix_company_tags_tag", "tag"),
)

people = sa.Table(
    "people",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("korean_name", sa.String(100), nullable=False),
    sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), nullable=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("title", sa.String(100), nullable=False, server_default=""),
    sa.Column("email", sa.String(200), nullable=False, server_default=""),
    sa.Column("phone", sa.String(20), nullable=False, server_default=""),
    sa.Column("search_text", sa.Text, nullable=False),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("erased_at", at, nullable=True),  # personal data erased on request: a tombstone
    sa.Index("ix_people_company", "company_id", "id"),
)

# Read model for the dashboard, fed by this service's own events: one row per live company.
stats_companies = sa.Table(
    "stats_companies",
    metadata,
    sa.Column("company", sa.String(40), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("sector", sa.String(20), nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

# The closed rounds applied to companies' funding, one row per round: a round counts once, whatever
# the deliveries and whatever the order they arrive in.
company_rounds = sa.Table(
    "company_rounds",
    metadata,
    sa.Column("round", sa.String(40), primary_key=True),
    sa.Column("company_id", big_id, nullable=False),
    sa.Column("round_type", sa.String(20), nullable=False),
    sa.Column("amount_krw", sa.BigInteger, nullable=False),
    sa.Column("closed_on", sa.Date, nullable=True),
    sa.Index("ix_company_rounds_company", "company_id"),
)

# The hub program. Spaces and assignments: no two assignments of one space overlap in time.
# - PostgreSQL: an exclusion constraint, EXCLUDE USING gist (space_id WITH =, daterange(move_in, move_out)
#   WITH &&) with btree_gist (PostgreSQL only: ddl_if). Two concurrent inserts for a free space cannot both
#   commit: the second waits for the first and fails with SQLSTATE 23P01.
# - SQLite: every write transaction begins IMMEDIATE (hubcore.db), so writers are serialized, and
#   assign_space() checks for an overlap in the same transaction as its insert.
NO_OVERLAP = "ex_assignments_no_overlap"

rounds = sa.Table(
    "rounds",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("title", sa.String(200), nullable=False),
    sa.Column("open_date", sa.Date, nullable=False),
    sa.Column("close_date", sa.Date, nullable=False),
    sa.Column("seats", sa.Text, nullable=False),  # JSON {kind: count}
    sa.Column("criteria", sa.Text, nullable=False),  # JSON [[key, title, weight]]
    sa.Column("questions", sa.Text, nullable=False),  # JSON [text]
    sa.Column("created_at", at, nullable=False),
)

applications = sa.Table(
    "applications",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("round_id", big_id, sa.ForeignKey("rounds.id"), nullable=False),
    sa.Column("applicant", sa.String(40), nullable=False),  # companies/1 or people/2
    sa.Column("seat_kind", sa.String(20), nullable=False),
    sa.Column("answers", sa.Text, nullable=False),  # JSON [[question, text]]
    sa.Column("attachment_urls", sa.Text, nullable=False),  # JSON [url]
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("decision_reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.UniqueConstraint("round_id", "applicant", name="uq_applications_round_applicant"),
)

conflicts = sa.Table(
    "conflicts",
    metadata,
    sa.Column("round_id", big_id, sa.ForeignKey("rounds.id"), primary_key=True),
    sa.Column("reviewer", sa.String(100), primary_key=True),
    sa.Column("applicant", sa.String(40), primary_key=True),
    sa.Column("reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
)

scores = sa.Table(
    "scores",
    metadata,
    sa.Column("application_id", big_id, sa.ForeignKey("applications.id"), primary_key=True),
    sa.Column("reviewer", sa.String(100), primary_key=True),  # one score per reviewer and application
    sa.Column("score_values", sa.Text, nullable=False),  # JSON {criterion: 0-10}
    sa.Column("comment", sa.String(2000), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
)

spaces = sa.Table(
    "spaces",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("label", sa.String(20), nullable=False, unique=True),
    sa.Column("floor", sa.Integer, nullable=False),
    sa.Column("seats", sa.Integer, nullable=False),
)

assignments = sa.Table(
    "assignments",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("space_id", big_id, sa.ForeignKey("spaces.id"), nullable=False),
    sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("move_in", sa.Date, nullable=False),
    sa.Column("move_out", sa.Date, nullable=True),  # the first free day; NULL while open-ended
    sa.Column("move_out_reason", sa.String(20), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
    sa.Index("ix_assignments_space", "space_id", "move_in"),
    sa.Index("ix_assignments_company", "company_id"),
    postgresql.ExcludeConstraint(
        ("space_id", "="),
        (sa.func.daterange(sa.column("move_in"), sa.column("move_out"), sa.literal_column("'[)'")), "&&"),
        name=NO_OVERLAP,
        using="gist",
    ).ddl_if(dialect="postgresql"),
)

# Every version of every report: a correction is a new row with the next version, never an update.
kpi_reports = sa.Table(
    "kpi_reports",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("period", sa.String(7), nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("headcount", sa.Integer, nullable=False),
    sa.Column("revenue_krw", sa.BigInteger, nullable=False),
    sa.Column("customers", sa.Integer, nullable=False),
    sa.Column("patents", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("created_at", at, nullable=False),
    sa.UniqueConstraint("company_id", "period", "version", name="uq_kpi_reports_version"),
)

support_quotas = sa.Table(
    "support_quotas",
    metadata,
    sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), primary_key=True),
    sa.Column("kind", sa.String(30), primary_key=True),
    sa.Column("quota", sa.BigInteger, nullable=False),
)

support_grants = sa.Table(
    "support_grants",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("kind", sa.String(30), nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("note", sa.String(500), nullable=False, server_default=""),
    sa.Column("override_reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("created_at", at, nullable=False),
    # What an entry was counted from ("sessions/12"): unique, so a session counts once whatever the deliveries.
    sa.Column("source", sa.String(60), nullable=True),
    sa.Index("ix_support_grants_company", "company_id", "kind"),
    sa.Index("uq_support_grants_source", "source", unique=True),
)

milestones = sa.Table(
    "milestones",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("achieved_on", sa.Date, nullable=False),
    sa.Column("evidence_url", sa.String(200), nullable=False, server_default=""),
    sa.Column("evidence", sa.String(1000), nullable=False, server_default=""),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("created_at", at, nullable=False),
    sa.Index("ix_milestones_company", "company_id", "achieved_on"),
)

# The register of access tokens issued (hubcore.tokens, services/companies/access/): never the token itself.
access_tokens = sa.Table(
    "access_tokens",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("subject", sa.String(100), nullable=False),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("description", sa.String(200), nullable=False, server_default=""),
    sa.Column("issued_at", at, nullable=False),
    sa.Column("expire_at", at, nullable=False),
    sa.Column("issued_by", sa.String(100), nullable=False),
    sa.Column("revoked_at", at, nullable=True),
    sa.Column("revoked_by", sa.String(100), nullable=False, server_default=""),
    sa.Column("revoke_reason", sa.String(500), nullable=False, server_default=""),
    sa.Index("ix_access_tokens_issued", "issued_at", "id"),
)

# The erasure log: what was erased on request, by whom, when and why (the reason names no personal data).
erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("subject", sa.String(40), nullable=False),  # companies/3, people/7
    sa.Column("reason", sa.String(500), nullable=False),
    sa.Column("actor", sa.String(100), nullable=False),
    sa.Column("erased_at", at, nullable=False),
    sa.Column("rows_changed", sa.Integer, nullable=False),
    sa.Index("ix_erasures_subject", "subject"),
)

# Everything the migrations must create: the service's tables and the runtime's.
for _table in runtime_metadata.sorted_tables:
    _table.to_metadata(metadata)
