"""Every table of the companies service, for its three gRPC services (companies and people, the program, access
tokens), its event handlers and its migrations (migrations/env.py creates `metadata`). Queries live in each
sub-package's store."""

from __future__ import annotations

import sqlalchemy as sa

from hubcore.columns import (
    day,
    entity,
    flag,
    moment,
    names,
    no_overlap,
    number,
    ref,
    tag_table,
    text,
    versioned,
    with_btree_gist,
)
from hubcore.db import add_runtime_tables

metadata = with_btree_gist(sa.MetaData())

companies = entity(
    "companies",
    metadata,
    *names(),
    text("sector", 20),
    text("stage", 20, default=""),
    text("status", 20),
    text("website", 200, default=""),
    text("tags", default="[]"),  # JSON list, for reads in one row
    day("founded_on", nullable=True),
    text("description", default=""),
    text("search_text"),
    moment("created_at"),
    moment("updated_at"),
    moment("deleted_at", nullable=True),
    number("version"),
    # Kept by the hub.investors.round.closed consumer from company_rounds, never by the API's writes.
    number("funding_raised_krw", big=True, default="0"),
    text("last_round", 20, default=""),
    moment("erased_at", nullable=True),  # personal data erased on request: a tombstone
    day("closed_on", nullable=True),  # ceased business (CloseCompany); KPI requests stop after it
    sa.Column("reporting_consent", sa.Boolean, nullable=False, server_default=sa.false()),  # keeps reporting
    sa.Index("ix_companies_status", "status"),
    sa.Index("ix_companies_sector", "sector"),
    sa.Index("ix_companies_created", "created_at", "id"),
)

# One row per tag, so that filtering by tag is an index lookup.
company_tags = tag_table("company_tags", metadata, "company_id", "companies.id")

people = entity(
    "people",
    metadata,
    *names(),
    ref("company_id", "companies.id", nullable=True),
    text("role", 20),
    text("title", 100, default=""),
    text("email", 200, default=""),
    text("phone", 20, default=""),
    text("search_text"),
    *versioned(),
    moment("erased_at", nullable=True),  # personal data erased on request: a tombstone
    text("status", 20, default=""),  # an individual resident's lifecycle ("" is APPLICANT); "" for the others
    sa.Index("ix_people_company", "company_id", "id"),
)

# Saved views of a list (the console's companies list): a title and the list's URL query, shared by the program
# managers. A title is unique within its list; deleting a view deletes its row.
saved_views = entity(
    "saved_views",
    metadata,
    text("list", 20),
    text("title", 100),
    text("query", 1000),
    text("creator", 100),
    text("creator_display_name", 100, default=""),
    moment("created_at"),
    sa.UniqueConstraint("list", "title", name="uq_saved_views_title"),
)

# Read model for the dashboard, fed by this service's own events: one row per live company.
stats_companies = sa.Table(
    "stats_companies",
    metadata,
    text("company", 40, primary_key=True),
    text("status", 20),
    text("sector", 20),
    flag("archived"),
    number("version"),
)

# The closed rounds applied to companies' funding, one row per round: a round counts once, whatever
# the deliveries and whatever the order they arrive in.
company_rounds = sa.Table(
    "company_rounds",
    metadata,
    text("round", 40, primary_key=True),
    ref("company_id"),
    text("round_type", 20),
    number("amount_krw", big=True),
    day("closed_on", nullable=True),
    sa.Index("ix_company_rounds_company", "company_id"),
)

# The hub program. Spaces and assignments: no two assignments of one space overlap in time.
# - PostgreSQL: an exclusion constraint, EXCLUDE USING gist (space_id WITH =, daterange(move_in, move_out)
#   WITH &&) with btree_gist (PostgreSQL only: ddl_if). Two concurrent inserts for a free space cannot both
#   commit: the second waits for the first and fails with SQLSTATE 23P01.
# - SQLite: every write transaction begins IMMEDIATE (hubcore.db), so writers are serialized, and
#   assign_space() checks for an overlap in the same transaction as its insert.
NO_OVERLAP = "ex_assignments_no_overlap"

rounds = entity(
    "rounds",
    metadata,
    text("title", 200),
    day("open_date"),
    day("close_date"),
    text("seats"),  # JSON {kind: count}
    text("criteria"),  # JSON [[key, title, weight]]
    text("questions"),  # JSON [text]
    moment("created_at"),
)

applications = entity(
    "applications",
    metadata,
    ref("round_id", "rounds.id"),
    text("applicant", 40),  # companies/1 or people/2
    text("seat_kind", 20),
    text("answers"),  # JSON [[question, text]]
    text("attachment_urls"),  # JSON [url]
    text("state", 20),
    text("decision_reason", 500, default=""),
    moment("created_at"),
    number("version"),
    day("decided_on", nullable=True),  # the day of its last decision (Asia/Seoul): a control group's start
    sa.UniqueConstraint("round_id", "applicant", name="uq_applications_round_applicant"),
)

conflicts = sa.Table(
    "conflicts",
    metadata,
    ref("round_id", "rounds.id", primary_key=True),
    text("reviewer", 100, primary_key=True),
    text("applicant", 40, primary_key=True),
    text("reason", 500, default=""),
    moment("created_at"),
)

scores = sa.Table(
    "scores",
    metadata,
    ref("application_id", "applications.id", primary_key=True),
    # One score per reviewer and application: reviewers/N, or a free-text name recorded before reviewers existed.
    text("reviewer", 100, primary_key=True),
    text("score_values"),  # JSON {criterion: 0-10}
    text("comment", 2000, default=""),
    moment("created_at"),
    text("recorded_by", 100, default=""),  # the caller's actor: the reviewer, or a program manager for them
    text("reason", 500, default=""),  # why a program manager recorded or corrected it
)

# The selection's reviewers, who sign in for themselves (identities with role reviewer, scope reviewers/N).
reviewers = entity(
    "reviewers",
    metadata,
    *names(),
    text("email", 200),  # lower-case
    text("affiliation", 200, default=""),
    moment("created_at"),
)

# Who reviews which application: a reviewer sees and scores only the applications assigned to them.
review_assignments = entity(
    "review_assignments",
    metadata,
    ref("application_id", "applications.id"),
    ref("reviewer_id", "reviewers.id"),
    text("assigned_by", 100),
    moment("assigned_at"),
    moment("abstained_at", nullable=True),
    text("abstained_by", 100, default=""),
    text("abstain_reason", 500, default=""),
    sa.UniqueConstraint("application_id", "reviewer_id", name="uq_review_assignments"),
    sa.Index("ix_review_assignments_reviewer", "reviewer_id", "application_id"),
)

spaces = entity(
    "spaces",
    metadata,
    text("kind", 20),
    text("label", 20, unique=True),
    number("floor"),
    number("seats"),
)

assignments = entity(
    "assignments",
    metadata,
    ref("space_id", "spaces.id"),
    # The holder: a company or an individual resident (a person with role INDIVIDUAL), exactly one of the two.
    ref("company_id", "companies.id", nullable=True),
    ref("person_id", "people.id", nullable=True),
    day("move_in"),
    day("move_out", nullable=True),  # the first free day; NULL while open-ended
    text("move_out_reason", 20, default=""),
    moment("created_at"),
    sa.Index("ix_assignments_space", "space_id", "move_in"),
    sa.Index("ix_assignments_company", "company_id"),
    sa.Index("ix_assignments_person", "person_id"),
    sa.CheckConstraint("(company_id IS NULL) <> (person_id IS NULL)", name="ck_assignments_one_holder"),
    no_overlap(NO_OVERLAP, "space_id", "daterange", "move_in", "move_out"),
)

# Every version of every report: a correction is a new row with the next version, never an update.
kpi_reports = entity(
    "kpi_reports",
    metadata,
    ref("company_id", "companies.id"),
    text("period", 7),
    number("version"),
    number("headcount"),
    number("revenue_krw", big=True),
    number("customers"),
    number("patents"),
    text("note", default=""),
    text("actor", 100),
    moment("created_at"),
    text("reason", 500, default=""),  # why a program manager filed it for the company (actor says who)
    # The optional figures, NULL: not reported (a version holds those it carried over from the one before).
    number("cash_on_hand_krw", big=True, nullable=True),
    number("monthly_burn_krw", big=True, nullable=True),
    number("full_time_employees", nullable=True),
    number("hires", nullable=True),
    number("exports_usd", big=True, nullable=True),
    number("ip_filed", nullable=True),
    number("ip_granted", nullable=True),
    text("overseas_countries", default="[]"),  # JSON list of ISO 3166-1 alpha-2 codes
    text("figure_sources", default="{}"),  # JSON {figure: [version, actor, entered at]}: who set each figure
    sa.UniqueConstraint("company_id", "period", "version", name="uq_kpi_reports_version"),
)

# What program managers ask of companies by cadence, and each period's request (one per company and period).
kpi_schedules = entity(
    "kpi_schedules",
    metadata,
    text("cadence", 20),
    text("companies", default="[]"),  # JSON list of company ids; [] = every resident company
    text("figures", default="[]"),  # JSON list of HEADCOUNT, REVENUE, … (domain FIGURES)
    number("due_days"),
    text("actor", 100),
    moment("created_at"),
    text("audience", 20, default="RESIDENTS"),  # whom it asks when companies is []: RESIDENTS, GRADUATES, …
)

kpi_requests = entity(
    "kpi_requests",
    metadata,
    ref("schedule_id", "kpi_schedules.id"),
    ref("company_id", "companies.id"),
    text("period", 7),
    day("due_on"),
    text("figures", default="[]"),
    text("state", 20),
    ref("report_id", "kpi_reports.id", nullable=True),
    moment("answered_at", nullable=True),
    text("answered_by", 100, default=""),
    text("reason", 500, default=""),
    moment("created_at"),
    sa.UniqueConstraint("company_id", "period", name="uq_kpi_requests_period"),
    sa.Index("ix_kpi_requests_period", "period"),
)

support_quotas = sa.Table(
    "support_quotas",
    metadata,
    ref("company_id", "companies.id", primary_key=True),
    text("kind", 30, primary_key=True),
    number("quota", big=True),
)

support_grants = entity(
    "support_grants",
    metadata,
    ref("company_id", "companies.id"),
    text("kind", 30),
    number("amount", big=True),
    text("note", 500, default=""),
    text("override_reason", 500, default=""),
    text("actor", 100),
    moment("created_at"),
    # What an entry was counted from ("sessions/12"): unique, so a session counts once whatever the deliveries.
    text("source", 60, nullable=True),
    sa.Index("ix_support_grants_company", "company_id", "kind"),
    sa.Index("uq_support_grants_source", "source", unique=True),
)

milestones = entity(
    "milestones",
    metadata,
    ref("company_id", "companies.id"),
    text("kind", 20),
    day("achieved_on"),
    text("evidence_url", 200, default=""),
    text("evidence", 1000, default=""),
    text("actor", 100),
    moment("created_at"),
    sa.Index("ix_milestones_company", "company_id", "achieved_on"),
)

# The register of access tokens issued (hubcore.tokens, services/companies/access/): never the token itself.
access_tokens = sa.Table(
    "access_tokens",
    metadata,
    text("id", 64, primary_key=True),
    text("subject", 100),
    text("role", 20),
    text("description", 200, default=""),
    moment("issued_at"),
    moment("expire_at"),
    text("issued_by", 100),
    moment("revoked_at", nullable=True),
    text("revoked_by", 100, default=""),
    text("revoke_reason", 500, default=""),
    text("scope", 40, default=""),  # a founder's or mentor's token: the resource it is bound to
    ref("identity_id", nullable=True),  # a signed-in token's identity: ending the identity revokes it
    sa.Index("ix_access_tokens_issued", "issued_at", "id"),
    sa.Index("ix_access_tokens_identity", "identity_id"),
)

# The identities of people who sign in for themselves (founders, mentors): an email bound to a role and scope.
ACTIVE_ONLY = sa.text("state = 'ACTIVE'")
identities = entity(
    "identities",
    metadata,
    text("role", 20),
    text("scope", 40),
    ref("person_id", nullable=True),  # a founder's person (people.id), whose leaving ends the identity
    text("email", 200),  # lower-case
    text("display_name", 100),
    text("language", 5),
    text("state", 20),
    moment("created_at"),
    text("invited_by", 100),
    moment("last_sign_in_at", nullable=True),
    moment("revoked_at", nullable=True),
    text("revoked_by", 100, default=""),
    text("revoke_reason", 500, default=""),
    # One active identity per address, role and scope: two concurrent invitations cannot both win.
    sa.Index(
        "uq_identities_active",
        "email",
        "role",
        "scope",
        unique=True,
        sqlite_where=ACTIVE_ONLY,
        postgresql_where=ACTIVE_ONLY,
    ),
    sa.Index("ix_identities_person", "person_id"),
)

# One-time sign-in codes, by address: only an HMAC of the code is kept. A code is used once, within 15 minutes,
# and is voided by too many wrong attempts.
sign_in_codes = entity(
    "sign_in_codes",
    metadata,
    text("email", 200),
    text("code_hash", 64),
    moment("created_at"),
    moment("expire_at"),
    moment("used_at", nullable=True),
    number("failed_attempts", default="0"),
    sa.Index("ix_sign_in_codes_email", "email", "created_at"),
)

# The sign-in log: every code mailed (or not), sign-in, wrong code, renewal and ended identity, with the peer.
sign_in_events = entity(
    "sign_in_events",
    metadata,
    moment("at"),
    text("email", 200),
    text("outcome", 20),
    text("peer", 100, default=""),
    ref("identity_id", nullable=True),
    text("actor", 100, default=""),
    text("note", 200, default=""),
    sa.Index("ix_sign_in_events_at", "at", "id"),
)

# The erasure log: what was erased on request, by whom, when and why (the reason names no personal data).
erasures = entity(
    "erasures",
    metadata,
    text("subject", 40),  # companies/3, people/7
    text("reason", 500),
    text("actor", 100),
    moment("erased_at"),
    number("rows_changed"),
    sa.Index("ix_erasures_subject", "subject"),
)

# Everything the migrations must create: the service's tables and the runtime's.
add_runtime_tables(metadata)
