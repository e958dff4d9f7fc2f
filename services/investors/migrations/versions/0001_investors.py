"""Firms, partners, API keys and the partner audit log, the company directory, introductions, rounds, and the
runtime's tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
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
OPEN_ONLY = sa.text("closed_at IS NULL")


def upgrade() -> None:
    create_runtime_tables_v1(op)
    op.create_table(
        "firms",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("korean_name", sa.String(100), nullable=False),
        sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("website", sa.String(200), nullable=False, server_default=""),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("theses", sa.Text, nullable=False, server_default="[]"),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("created_at", at, nullable=False),
        sa.Column("updated_at", at, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_firms_type", "firms", ["type"])
    op.create_table(
        "partners",
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
    )
    op.create_index("ix_partners_firm", "partners", ["firm_id", "id"])
    op.create_table(
        "api_keys",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("partner_id", big_id, sa.ForeignKey("partners.id"), nullable=False),
        sa.Column("firm_id", big_id, sa.ForeignKey("firms.id"), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("description", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", at, nullable=False),
        sa.Column("expire_at", at, nullable=False),
        sa.Column("revoked_at", at, nullable=True),
    )
    op.create_index("ix_api_keys_partner", "api_keys", ["partner_id", "id"])
    op.create_table(
        "partner_calls",
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
    )
    op.create_index("ix_partner_calls_firm", "partner_calls", ["firm_id", "id"])
    op.create_table(
        "directory_companies",
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
    op.create_table(
        "introductions",
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
    )
    op.create_index(
        "uq_introductions_open_pair",
        "introductions",
        ["company_id", "firm_id"],
        unique=True,
        sqlite_where=OPEN_ONLY,
        postgresql_where=OPEN_ONLY,
    )
    op.create_index("ix_introductions_firm", "introductions", ["firm_id", "id"])
    op.create_index("ix_introductions_company", "introductions", ["company_id", "id"])
    op.create_table(
        "introduction_history",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("introduction_id", big_id, sa.ForeignKey("introductions.id"), nullable=False),
        sa.Column("from_state", sa.String(20), nullable=False),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("at", at, nullable=False),
    )
    op.create_index("ix_introduction_history", "introduction_history", ["introduction_id", "id"])
    op.create_table(
        "rounds",
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
    )
    op.create_index("ix_rounds_company", "rounds", ["company_id", "id"])
    op.create_table(
        "round_participants",
        sa.Column("round_id", big_id, sa.ForeignKey("rounds.id"), primary_key=True),
        sa.Column("firm_id", big_id, sa.ForeignKey("firms.id"), primary_key=True),
        sa.Column("amount_krw", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_round_participants_firm", "round_participants", ["firm_id"])


def downgrade() -> None:
    for table in (
        "round_participants", "rounds", "introduction_history", "introductions", "directory_companies",
        "partner_calls", "api_keys", "partners", "firms",
    ):  # fmt: skip
        op.drop_table(table)
    drop_runtime_tables_v1(op)
