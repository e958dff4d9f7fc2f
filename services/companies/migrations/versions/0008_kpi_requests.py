"""KPI requests: the schedules program managers set, each period's request to a company, and the reason a
program manager gives when filing a KPI report for a company."""

import sqlalchemy as sa
from alembic import op

from hubcore.columns import ID, MOMENT

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    with op.batch_alter_table("kpi_reports") as batch:
        batch.add_column(sa.Column("reason", sa.String(500), nullable=False, server_default=""))
    op.create_table(
        "kpi_schedules",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("cadence", sa.String(20), nullable=False),
        sa.Column("companies", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("figures", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("due_days", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
    )
    op.create_table(
        "kpi_requests",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("schedule_id", ID, sa.ForeignKey("kpi_schedules.id"), nullable=False),
        sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("figures", sa.Text(), nullable=False, server_default="[]"),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("report_id", ID, sa.ForeignKey("kpi_reports.id"), nullable=True),
        sa.Column("answered_at", MOMENT, nullable=True),
        sa.Column("answered_by", sa.String(100), nullable=False, server_default=""),
        sa.Column("reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.UniqueConstraint("company_id", "period", name="uq_kpi_requests_period"),
    )
    op.create_index("ix_kpi_requests_period", "kpi_requests", ["period"])


def downgrade() -> None:
    op.drop_index("ix_kpi_requests_period", "kpi_requests")
    op.drop_table("kpi_requests")
    op.drop_table("kpi_schedules")
    with op.batch_alter_table("kpi_reports") as batch:
        batch.drop_column("reason")
