"""Deal flow and KPI updates on the partner API: who asked for an introduction (a firm's partner, through the
partner API), a company's sharing grant to every firm (firm_id NULL), and the KPI updates kept from
hub.companies.kpi.reported for the firms that invested."""

import sqlalchemy as sa
from alembic import op

from hubcore.columns import ID, MOMENT

revision = "0006"
down_revision = "0005"


EVERY_FIRM = sa.text("firm_id IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("introductions") as batch:
        batch.add_column(sa.Column("requested_by", sa.String(100), nullable=False, server_default=""))
    with op.batch_alter_table("sharing_grants") as batch:
        batch.alter_column("firm_id", existing_type=ID, nullable=True)
    op.create_index(
        "uq_sharing_grants_every_firm", "sharing_grants", ["company_id"], unique=True,
        sqlite_where=EVERY_FIRM, postgresql_where=EVERY_FIRM,
    )  # fmt: skip
    op.create_table(
        "company_updates",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("company_id", ID, nullable=False),
        sa.Column("period", sa.String(20), nullable=False),
        sa.Column("report_id", ID, nullable=False),
        sa.Column("figures", sa.Text(), nullable=False, server_default="{}"),
        sa.Column("reported_at", MOMENT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("uq_company_updates_period", "company_updates", ["company_id", "period"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_company_updates_period", "company_updates")
    op.drop_table("company_updates")
    op.drop_index("uq_sharing_grants_every_firm", "sharing_grants")
    op.execute("DELETE FROM sharing_grants WHERE firm_id IS NULL")  # a grant to every firm has no place before
    with op.batch_alter_table("sharing_grants") as batch:
        batch.alter_column("firm_id", existing_type=ID, nullable=False)
    with op.batch_alter_table("introductions") as batch:
        batch.drop_column("requested_by")
