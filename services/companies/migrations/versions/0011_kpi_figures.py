"""Issue 17: a KPI report's optional figures (cash, burn, employment, exports, IP, overseas countries) and who
set each; a company's close date and its consent to keep reporting; a KPI schedule's audience; the day an
application was decided (a control group is tracked from it)."""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    with op.batch_alter_table("kpi_reports") as batch:
        for name in ("cash_on_hand_krw", "monthly_burn_krw", "exports_usd"):
            batch.add_column(sa.Column(name, sa.BigInteger(), nullable=True))
        for name in ("full_time_employees", "hires", "ip_filed", "ip_granted"):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
        batch.add_column(sa.Column("overseas_countries", sa.Text(), nullable=False, server_default="[]"))
        batch.add_column(sa.Column("figure_sources", sa.Text(), nullable=False, server_default="{}"))
    with op.batch_alter_table("companies") as batch:
        batch.add_column(sa.Column("closed_on", sa.Date(), nullable=True))
        batch.add_column(sa.Column("reporting_consent", sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table("kpi_schedules") as batch:
        batch.add_column(sa.Column("audience", sa.String(20), nullable=False, server_default="RESIDENTS"))
    with op.batch_alter_table("applications") as batch:
        batch.add_column(sa.Column("decided_on", sa.Date(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch:
        batch.drop_column("decided_on")
    with op.batch_alter_table("kpi_schedules") as batch:
        batch.drop_column("audience")
    with op.batch_alter_table("companies") as batch:
        batch.drop_column("reporting_consent")
        batch.drop_column("closed_on")
    with op.batch_alter_table("kpi_reports") as batch:
        for name in (
            "figure_sources", "overseas_countries", "ip_granted", "ip_filed", "hires", "full_time_employees",
            "exports_usd", "monthly_burn_krw", "cash_on_hand_krw",
        ):  # fmt: skip
            batch.drop_column(name)
