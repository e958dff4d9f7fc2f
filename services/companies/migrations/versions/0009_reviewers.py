"""Selection reviewers who act for themselves: the reviewers, their assignments to applications, and who recorded
each score (and why, when a program manager did it for a reviewer)."""

import sqlalchemy as sa
from alembic import op

from hubcore.columns import ID, MOMENT

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.create_table(
        "reviewers",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("korean_name", sa.String(100), nullable=False),
        sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("affiliation", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", MOMENT, nullable=False),
    )
    op.create_table(
        "review_assignments",
        sa.Column("id", ID, primary_key=True, autoincrement=True),
        sa.Column("application_id", ID, sa.ForeignKey("applications.id"), nullable=False),
        sa.Column("reviewer_id", ID, sa.ForeignKey("reviewers.id"), nullable=False),
        sa.Column("assigned_by", sa.String(100), nullable=False),
        sa.Column("assigned_at", MOMENT, nullable=False),
        sa.Column("abstained_at", MOMENT, nullable=True),
        sa.Column("abstained_by", sa.String(100), nullable=False, server_default=""),
        sa.Column("abstain_reason", sa.String(500), nullable=False, server_default=""),
        sa.UniqueConstraint("application_id", "reviewer_id", name="uq_review_assignments"),
    )
    op.create_index("ix_review_assignments_reviewer", "review_assignments", ["reviewer_id", "application_id"])
    with op.batch_alter_table("scores") as batch:
        batch.add_column(sa.Column("recorded_by", sa.String(100), nullable=False, server_default=""))
        batch.add_column(sa.Column("reason", sa.String(500), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("scores") as batch:
        batch.drop_column("reason")
        batch.drop_column("recorded_by")
    op.drop_index("ix_review_assignments_reviewer", "review_assignments")
    op.drop_table("review_assignments")
    op.drop_table("reviewers")
