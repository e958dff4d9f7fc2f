"""The dashboard's session figures are kept as counts (session_counts, served_companies) instead of being
counted over every session on each call; filled here from the sessions already held."""

import sqlalchemy as sa
from alembic import op

from hubcore.columns import ID

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.create_index("ix_sessions_completed", "sessions", ["completed_at"])
    op.create_table(
        "session_counts",
        sa.Column("session_type_id", ID, primary_key=True),
        sa.Column("state", sa.String(20), primary_key=True),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.Column("on_time_feedback", sa.Integer(), nullable=False),
    )
    op.create_table(
        "served_companies",
        sa.Column("company_id", ID, primary_key=True),
        sa.Column("completed", sa.Integer(), nullable=False),
    )
    op.execute(
        "INSERT INTO session_counts (session_type_id, state, sessions, on_time_feedback) "
        "SELECT s.session_type_id, s.state, COUNT(*), "
        "COUNT(f.id) FILTER (WHERE f.on_time) "
        "FROM sessions s LEFT JOIN session_feedback f ON f.session_id = s.id "
        "GROUP BY s.session_type_id, s.state"
    )
    op.execute(
        "INSERT INTO served_companies (company_id, completed) "
        "SELECT company_id, COUNT(*) FROM sessions WHERE state = 'COMPLETED' GROUP BY company_id"
    )


def downgrade() -> None:
    op.drop_table("served_companies")
    op.drop_table("session_counts")
    op.drop_index("ix_sessions_completed", "sessions")
