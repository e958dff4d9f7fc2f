"""Founders decide what investors see: sharing grants per company and firm, the access log of partner reads,
and who a program manager recorded a company's answer for."""

import json

import sqlalchemy as sa
from alembic import op

from hubcore.columns import ID, MOMENT

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    with op.batch_alter_table("introduction_history") as batch:
        batch.add_column(sa.Column("on_behalf_of", sa.String(100), nullable=False, server_default=""))
    op.create_table(
        "sharing_grants",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("company_id", ID, nullable=False),
        sa.Column("firm_id", ID, sa.ForeignKey("firms.id"), nullable=False),
        sa.Column("field_groups", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False, server_default=""),
        sa.Column("on_behalf_of", sa.String(100), nullable=False, server_default=""),
        sa.Column("introduction", sa.String(100), nullable=False, server_default=""),
        sa.Column("revoked_at", MOMENT, nullable=True),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("uq_sharing_grants_pair", "sharing_grants", ["company_id", "firm_id"], unique=True)
    op.create_table(
        "company_reads",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("company_id", ID, nullable=False),
        sa.Column("firm_id", ID, nullable=False),
        sa.Column("partner_id", ID, nullable=True),
        sa.Column("api_key_id", ID, nullable=True),
        sa.Column("method", sa.String(200), nullable=False),
        sa.Column("introductions", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("field_groups", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("read_at", MOMENT, nullable=False),
        sa.Column("partner_call_id", ID, nullable=True),
    )
    op.create_index("ix_company_reads_company", "company_reads", ["company_id", "id"])
    # What firms saw before grants existed goes on: each consented introduction grants its firm the groups of
    # its shared fields (the rule consent follows from now on), recorded as the migration's doing.
    introductions = sa.table(
        "introductions", sa.column("id"), sa.column("company_id"), sa.column("firm_id"),
        sa.column("shared_fields"), sa.column("shared_at"),
    )  # fmt: skip
    rows = op.get_bind().execute(
        sa.select(introductions).where(introductions.c.shared_at.is_not(None)).order_by(introductions.c.id)
    )
    groups: dict[tuple[int, int], tuple[set[str], int, object]] = {}
    for row in rows:
        held, _, first = groups.setdefault((row.company_id, row.firm_id), (set(), row.id, row.shared_at))
        held.update(_GROUP_OF[f] for f in json.loads(row.shared_fields or "[]"))
        groups[(row.company_id, row.firm_id)] = (held, row.id, first)
    grants = sa.table(
        "sharing_grants", *(sa.column(c) for c in (
            "company_id", "firm_id", "field_groups", "actor", "reason", "introduction", "created_at", "updated_at",
            "version",
        )),
    )  # fmt: skip
    values = [
        {
            "company_id": company,
            "firm_id": firm,
            "field_groups": json.dumps([g for g in ("NAMES", "PROFILE", "WEBSITE") if g in held]),
            "actor": "migration:0004",
            "reason": "동의한 소개의 공유 항목 (consented introductions' shared fields)",
            "introduction": f"introductions/{last}",
            "created_at": first,
            "updated_at": first,
            "version": 1,
        }
        for (company, firm), (held, last, first) in groups.items()
    ]
    if values:
        op.bulk_insert(grants, values)


# As domain/sharing.py had it at this revision (a migration never imports the code that changes after it).
_GROUP_OF = {
    "korean_name": "NAMES", "english_name": "NAMES", "sector": "PROFILE", "stage": "PROFILE", "tags": "PROFILE",
    "website": "WEBSITE",
}  # fmt: skip


def downgrade() -> None:
    op.drop_index("ix_company_reads_company", "company_reads")
    op.drop_table("company_reads")
    op.drop_index("uq_sharing_grants_pair", "sharing_grants")
    op.drop_table("sharing_grants")
    with op.batch_alter_table("introduction_history") as batch:
        batch.drop_column("on_behalf_of")
