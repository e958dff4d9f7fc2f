"""Deal flow and KPI updates on the partner API: who asked for an introduction (a firm's partner, through the
partner API), and the KPI updates kept from hub.companies.kpi.reported for the firms that invested."""

import sqlalchemy as sa
from alembic import op

from hubcore.columns import ID, MOMENT

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    with op.batch_alter_table("introductions") as batch:
        batch.add_column(sa.Column("requested_by", sa.String(100), nullable=False, server_default=""))
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
    with op.batch_alter_table("introductions") as batch:
        batch.drop_column("requested_by")
