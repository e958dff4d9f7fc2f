"""The GPU cluster as bookable resources: nodes, their bookings (which hold the node in `bookings`, under the
same exclusion constraint as mentors and rooms), the firms waiting for a taken slot, and each company's GPU quota
per period."""

import sqlalchemy as sa
from alembic import op

from hubcore.columns import ID, MOMENT

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_table(
        "gpu_nodes",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("gpus", sa.Integer(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
    )
    op.create_table(
        "gpu_bookings",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("node_id", ID, sa.ForeignKey("gpu_nodes.id"), nullable=False),
        sa.Column("company_id", ID, nullable=False),
        sa.Column("start_at", MOMENT, nullable=False),
        sa.Column("end_at", MOMENT, nullable=False),
        sa.Column("purpose", sa.String(500), nullable=False, server_default=""),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("cancel_reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("updated_at", MOMENT, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
    )
    op.create_index("ix_gpu_bookings_company", "gpu_bookings", ["company_id", "start_at"])
    op.create_index("ix_gpu_bookings_node", "gpu_bookings", ["node_id", "start_at"])
    op.create_table(
        "gpu_waitlist",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("node_id", ID, sa.ForeignKey("gpu_nodes.id"), nullable=False),
        sa.Column("company_id", ID, nullable=False),
        sa.Column("start_at", MOMENT, nullable=False),
        sa.Column("end_at", MOMENT, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
        sa.Column("offered_at", MOMENT, nullable=True),
    )
    op.create_index("ix_gpu_waitlist_node", "gpu_waitlist", ["node_id", "state", "id"])
    op.create_table(
        "gpu_quotas",
        sa.Column("company_id", ID, primary_key=True),
        sa.Column("hours", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(10), nullable=False),
        sa.Column("term_start", MOMENT, nullable=True),
        sa.Column("term_end", MOMENT, nullable=True),
        sa.Column("updated_at", MOMENT, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("gpu_quotas")
    op.drop_index("ix_gpu_waitlist_node", "gpu_waitlist")
    op.drop_table("gpu_waitlist")
    op.drop_index("ix_gpu_bookings_node", "gpu_bookings")
    op.drop_index("ix_gpu_bookings_company", "gpu_bookings")
    op.drop_table("gpu_bookings")
    op.drop_table("gpu_nodes")
