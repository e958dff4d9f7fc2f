"""The program figures count people from program_attendees (one row per program and person who attended) rather
than deduplicating every registration on each call; filled here from the attendance already recorded."""

import sqlalchemy as sa
from alembic import op

from hubcore.columns import ID

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_table(
        "program_attendees",
        sa.Column("program_id", ID, sa.ForeignKey("programs.id"), primary_key=True),
        sa.Column("person", sa.String(320), primary_key=True),
    )
    op.create_index("ix_program_attendees_person", "program_attendees", ["person"])
    # The person as store.programs._person() says it: the email (letter case aside), or the name and company.
    op.execute(
        "INSERT INTO program_attendees (program_id, person) "
        "SELECT DISTINCT program_id, CASE WHEN email != '' THEN lower(email) "
        "ELSE participant_name || '|' || coalesce(CAST(company_id AS VARCHAR), '') END "
        "FROM registrations WHERE state = 'ATTENDED'"
    )
    # A program's attended_count is its different people from now on (it counted attended registrations).
    op.execute(
        "UPDATE programs SET attended_count = "
        "(SELECT COUNT(*) FROM program_attendees a WHERE a.program_id = programs.id)"
    )


def downgrade() -> None:
    op.drop_table("program_attendees")
