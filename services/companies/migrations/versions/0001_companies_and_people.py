"""Companies, people, the dashboard projection, and the runtime's tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
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


def upgrade() -> None:
    create_runtime_tables_v1(op)
    op.create_table(
        "companies",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("korean_name", sa.String(100), nullable=False),
        sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
        sa.Column("sector", sa.String(20), nullable=False),
        sa.Column("stage", sa.String(20), nullable=False, server_default=""),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("website", sa.String(200), nullable=False, server_default=""),
        sa.Column("tags", sa.Text, nullable=False, server_default="[]"),
        sa.Column("founded_on", sa.Date, nullable=True),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("search_text", sa.Text, nullable=False),
        sa.Column("created_at", at, nullable=False),
        sa.Column("updated_at", at, nullable=False),
        sa.Column("deleted_at", at, nullable=True),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_companies_status", "companies", ["status"])
    op.create_index("ix_companies_sector", "companies", ["sector"])
    op.create_index("ix_companies_created", "companies", ["created_at", "id"])
    op.create_table(
        "company_tags",
        sa.Column("company_id", big_id, sa.ForeignKey("companies.id"), primary_key=True),
        sa.Column("tag", sa.String(30), primary_key=True),
    )
    op.create_index("ix_company_tags_tag", "company_tags", ["tag"])
    op.create_table(
        "people",
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
    )
    op.create_index("ix_people_company", "people", ["company_id", "id"])
    op.create_table(
        "stats_companies",
        sa.Column("company", sa.String(40), primary_key=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("sector", sa.String(20), nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("stats_companies")
    op.drop_index("ix_people_company", "people")
    op.drop_table("people")
    op.drop_index("ix_company_tags_tag", "company_tags")
    op.drop_table("company_tags")
    op.drop_index("ix_companies_created", "companies")
    op.drop_index("ix_companies_sector", "companies")
    op.drop_index("ix_companies_status", "companies")
    op.drop_table("companies")
    drop_runtime_tables_v1(op)
