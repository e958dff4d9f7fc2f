"""Mentors can be deactivated; sessions keep when they were completed and when their notes were written; the
founder's feedback on each completed session."""

import sqlalchemy as sa
from alembic import op

from hubcore.columns import ID, MOMENT

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column("mentors", sa.Column("deactivated_at", MOMENT, nullable=True))
    op.add_column("mentors", sa.Column("deactivation_reason", sa.String(500), nullable=False, server_default=""))
    op.add_column("sessions", sa.Column("completed_at", MOMENT, nullable=True))
    op.add_column("sessions", sa.Column("notes_at", MOMENT, nullable=True))
    # Sessions completed before this revision: their last change was the completion.
    op.execute("UPDATE sessions SET completed_at = updated_at WHERE state = 'COMPLETED'")
    op.execute("UPDATE sessions SET notes_at = updated_at WHERE state = 'COMPLETED' AND notes <> ''")
    op.create_table(
        "session_feedback",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("session_id", ID, sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("company_id", ID, nullable=False),
        sa.Column("mentor_id", ID, nullable=False),
        sa.Column("rating", sa.Integer(), nullable=False),
        sa.Column("fit", sa.String(20), nullable=False),
        sa.Column("comment", sa.String(2000), nullable=False, server_default=""),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("on_time", sa.Boolean(), nullable=False),
        sa.Column("created_at", MOMENT, nullable=False),
    )
    op.create_index("uq_session_feedback_session", "session_feedback", ["session_id"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_session_feedback_session", "session_feedback")
    op.drop_table("session_feedback")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("notes_at")
        batch.drop_column("completed_at")
    with op.batch_alter_table("mentors") as batch:
        batch.drop_column("deactivation_reason")
        batch.drop_column("deactivated_at")
