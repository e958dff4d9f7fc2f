"""The hub program: selection rounds, applications, conflicts and scores; spaces and assignments (no overlap:
an exclusion constraint on PostgreSQL); KPI reports (versioned); support quotas and grants.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
at = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rounds",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("open_date", sa.Date, nullable=False),
        sa.Column("close_date", sa.Date, nullable=False),
        sa.Column("seats", sa.Text, nullable=False),
        sa.Column("criteria", sa.Text, nullable=False),
        sa.Column("questions", sa.Text, nullable=False),
        sa.Column("created_at", at, nullable=False),
    )
    op.create_table(
        "applications",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("round_id", big_id, sa.ForeignKey("rounds.id"), nullable=False),
        sa.Column("applicant", sa.String(40), nullable=False),
        sa.Column("seat_kind", sa.String(20), nullable=False),
        sa.Column("answers", sa.Text, nullable=False),
        sa.Column("attachment_urls", sa.Text, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("decision_reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", at, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.UniqueConstraint("round_id", "applicant", name="uq_applications_round_applicant"),
    )
    op.create_table(
        "conflicts",
        sa.Column("round_id", big_id, sa.ForeignKey("rounds.id"), primary_key=True),
        sa.Column("reviewer", sa.String(100), primary_key=True),
        sa.Column("applicant", sa.String(40), primary_key=True),
        sa.Column("reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", at, nullable=False),
    )
    op.create_table(
        "scores",
        sa.Column("application_id", big_id, sa.ForeignKey("applications.id"), primary_key=True),
        sa.Column("reviewer", sa.String(100), primary_key=True),
        sa.Column("score_values", sa.Text, nullable=False),
        sa.Column("comment", sa.String(2000), nullable=False, server_default=""),
        sa.Column("created_at", at, nullable=False),
    )
    op.create_table(
        "spaces",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("label", sa.String(20), nullable=False, unique=True),
        sa.Column("floor", sa.Integer, nullable=False),
        sa.Column("seats", sa.Integer, nullable=False),
    )
    op.create_table(
        "assignments",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("space_id", big_id, sa.ForeignKey("spaces.id"), nullable=False),
        sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), nullable=False),
        sa.Column("move_in", sa.Date, nullable=False),
        sa.Column("move_out", sa.Date, nullable=True),
        sa.Column("move_out_reason", sa.String(20), nullable=False, server_default=""),
        sa.Column("created_at", at, nullable=False),
    )
    op.create_index("ix_assignments_space", "assignments", ["space_id", "move_in"])
    op.create_index("ix_assignments_company", "assignments", ["company_id"])
    if op.get_bind().dialect.name == "postgresql":
        # No two assignments of one space overlap, whatever the application does (SQLSTATE 23P01). btree_gist
        # gives gist an equality operator for bigint; a NULL move_out is an unbounded range.
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE assignments ADD CONSTRAINT ex_assignments_no_overlap "
            "EXCLUDE USING gist (space_id WITH =, daterange(move_in, move_out, '[)') WITH &&)"
        )
    op.create_table(
        "kpi_reports",
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
    op.create_table(
        "support_quotas",
        sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), primary_key=True),
        sa.Column("kind", sa.String(30), primary_key=True),
        sa.Column("quota", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "support_grants",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("note", sa.String(500), nullable=False, server_default=""),
        sa.Column("override_reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("created_at", at, nullable=False),
    )
    op.create_index("ix_support_grants_company", "support_grants", ["company_id", "kind"])


def downgrade() -> None:
    op.drop_index("ix_support_grants_company", "support_grants")
    op.drop_table("support_grants")
    op.drop_table("support_quotas")
    op.drop_table("kpi_reports")
    op.drop_index("ix_assignments_company", "assignments")
    op.drop_index("ix_assignments_space", "assignments")
    op.drop_table("assignments")  # its exclusion constraint goes with it; btree_gist stays (others may use it)
    op.drop_table("spaces")
    op.drop_table("scores")
    op.drop_table("conflicts")
    op.drop_table("applications")
    op.drop_table("rounds")
