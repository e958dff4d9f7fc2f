"""Issue 18: individual residents. A space is held by a company or by a person (an individual resident, role
INDIVIDUAL): assignments gain person_id and company_id may be empty, exactly one of the two set. A person gains
the residency lifecycle (status; "" is APPLICANT for an individual, and stays "" for founders and staff). The
individuals already selected in a round are SELECTED."""

import sqlalchemy as sa
from alembic import op

from hubcore.columns import ID

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("status", sa.String(20), nullable=False, server_default=""))
    with op.batch_alter_table("assignments") as batch:
        batch.alter_column("company_id", existing_type=ID, nullable=True)
        batch.add_column(
            sa.Column("person_id", ID, sa.ForeignKey("people.id", name="fk_assignments_person"), nullable=True)
        )
        batch.create_index("ix_assignments_person", ["person_id"])
        batch.create_check_constraint("ck_assignments_one_holder", "(company_id IS NULL) <> (person_id IS NULL)")
    op.execute(
        "UPDATE people SET status = 'SELECTED' WHERE role = 'INDIVIDUAL' AND id IN (SELECT CAST(substr(applicant, 8)"
        " AS INTEGER) FROM applications WHERE applicant LIKE 'people/%' AND state = 'SELECTED')"
    )


def downgrade() -> None:
    op.execute("DELETE FROM assignments WHERE person_id IS NOT NULL")
    with op.batch_alter_table("assignments") as batch:
        batch.drop_constraint("ck_assignments_one_holder", type_="check")
        batch.drop_index("ix_assignments_person")
        batch.drop_column("person_id")
        batch.alter_column("company_id", existing_type=ID, nullable=False)
    with op.batch_alter_table("people") as batch:
        batch.drop_column("status")
