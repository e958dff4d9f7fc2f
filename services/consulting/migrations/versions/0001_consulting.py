"""Mentors, availability, rooms, session types, sessions and their bookings (with the no-overlap exclusion
constraint on PostgreSQL), action items, programs, the company directory, and the runtime's tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

from hubcore.migrate import create_runtime_tables_v1, drop_runtime_tables_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
at = sa.DateTime(timezone=True)


def upgrade() -> None:
    create_runtime_tables_v1(op)
    op.create_table(
        "mentors",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("korean_name", sa.String(100), nullable=False),
        sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("affiliation", sa.String(200), nullable=False, server_default=""),
        sa.Column("email", sa.String(200), nullable=False, server_default=""),
        sa.Column("expertise", sa.Text, nullable=False, server_default="[]"),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("windows", sa.Text, nullable=False, server_default="[]"),
        sa.Column("created_at", at, nullable=False),
        sa.Column("updated_at", at, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "mentor_expertise",
        sa.Column("mentor_id", big_id, sa.ForeignKey("mentors.id"), primary_key=True),
        sa.Column("tag", sa.String(30), primary_key=True),
    )
    op.create_index("ix_mentor_expertise_tag", "mentor_expertise", ["tag"])
    op.create_table(
        "availability_exceptions",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("mentor_id", big_id, sa.ForeignKey("mentors.id"), nullable=False),
        sa.Column("available", sa.Boolean, nullable=False),
        sa.Column("start_at", at, nullable=False),
        sa.Column("end_at", at, nullable=False),
        sa.Column("reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("created_at", at, nullable=False),
    )
    op.create_index("ix_availability_exceptions_mentor", "availability_exceptions", ["mentor_id", "start_at"])
    op.create_table(
        "rooms",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("floor", sa.Integer, nullable=False, server_default="0"),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("created_at", at, nullable=False),
    )
    op.create_table(
        "session_types",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("display_name", sa.String(100), nullable=False),
        sa.Column("category", sa.String(30), nullable=False),
        sa.Column("default_minutes", sa.Integer, nullable=False),
        sa.Column("buffer_before_minutes", sa.Integer, nullable=False),
        sa.Column("buffer_after_minutes", sa.Integer, nullable=False),
        sa.Column("created_at", at, nullable=False),
    )
    op.create_table(
        "sessions",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("company_id", big_id, nullable=False),
        sa.Column("mentor_id", big_id, sa.ForeignKey("mentors.id"), nullable=False),
        sa.Column("session_type_id", big_id, sa.ForeignKey("session_types.id"), nullable=False),
        sa.Column("room_id", big_id, sa.ForeignKey("rooms.id"), nullable=True),
        sa.Column("start_at", at, nullable=False),
        sa.Column("end_at", at, nullable=False),
        sa.Column("buffer_before_minutes", sa.Integer, nullable=False),
        sa.Column("buffer_after_minutes", sa.Integer, nullable=False),
        sa.Column("agenda", sa.Text, nullable=False, server_default=""),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("notes", sa.Text, nullable=False, server_default=""),
        sa.Column("cancel_reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("created_at", at, nullable=False),
        sa.Column("updated_at", at, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_sessions_start", "sessions", ["start_at", "id"])
    op.create_index("ix_sessions_mentor", "sessions", ["mentor_id", "start_at"])
    op.create_index("ix_sessions_company", "sessions", ["company_id", "start_at"])
    op.create_table(
        "session_changes",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("session_id", big_id, sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("previous_start_at", at, nullable=False),
        sa.Column("previous_end_at", at, nullable=False),
        sa.Column("previous_room_id", big_id, nullable=True),
        sa.Column("new_start_at", at, nullable=False),
        sa.Column("new_end_at", at, nullable=False),
        sa.Column("new_room_id", big_id, nullable=True),
        sa.Column("reason", sa.String(500), nullable=False, server_default=""),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("changed_at", at, nullable=False),
    )
    op.create_index("ix_session_changes_session", "session_changes", ["session_id", "id"])
    op.create_table(
        "bookings",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("resource", sa.String(40), nullable=False),
        sa.Column("holder", sa.String(40), nullable=False),
        sa.Column("start_at", at, nullable=False),
        sa.Column("end_at", at, nullable=False),
    )
    op.create_index("ix_bookings_resource", "bookings", ["resource", "start_at"])
    op.create_index("ix_bookings_holder", "bookings", ["holder"])
    if op.get_bind().dialect.name == "postgresql":
        # No two bookings of one resource overlap, whatever the application does (SQLSTATE 23P01).
        # btree_gist gives gist an equality operator for text; it is a trusted extension (PostgreSQL 13+).
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE bookings ADD CONSTRAINT ex_bookings_no_overlap "
            "EXCLUDE USING gist (resource WITH =, tstzrange(start_at, end_at, '[)') WITH &&)"
        )
    op.create_table(
        "action_items",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("session_id", big_id, sa.ForeignKey("sessions.id"), nullable=False),
        sa.Column("company_id", big_id, nullable=False),
        sa.Column("mentor_id", big_id, nullable=False),
        sa.Column("description", sa.String(1000), nullable=False),
        sa.Column("owner", sa.String(100), nullable=False),
        sa.Column("due_date", sa.Date, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("completed_at", at, nullable=True),
        sa.Column("overdue_at", at, nullable=True),
        sa.Column("created_at", at, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_index("ix_action_items_due", "action_items", ["state", "due_date"])
    op.create_index("ix_action_items_company", "action_items", ["company_id", "id"])
    op.create_index("ix_action_items_mentor", "action_items", ["mentor_id", "id"])
    op.create_index("ix_action_items_owner", "action_items", ["owner", "id"])
    op.create_table(
        "programs",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("start_at", at, nullable=False),
        sa.Column("end_at", at, nullable=False),
        sa.Column("room_id", big_id, sa.ForeignKey("rooms.id"), nullable=True),
        sa.Column("capacity", sa.Integer, nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("registered_count", sa.Integer, nullable=False),
        sa.Column("attended_count", sa.Integer, nullable=False),
        sa.Column("attendance_recorded_at", at, nullable=True),
        sa.Column("created_at", at, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )
    op.create_table(
        "registrations",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("program_id", big_id, sa.ForeignKey("programs.id"), nullable=False),
        sa.Column("participant_name", sa.String(100), nullable=False),
        sa.Column("email", sa.String(200), nullable=False, server_default=""),
        sa.Column("company_id", big_id, nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_at", at, nullable=False),
    )
    op.create_index("ix_registrations_program", "registrations", ["program_id", "id"])
    op.create_table(
        "company_directory",
        sa.Column("company", sa.String(40), primary_key=True),
        sa.Column("korean_name", sa.String(100), nullable=False),
        sa.Column("english_name", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("company_directory")
    op.drop_index("ix_registrations_program", "registrations")
    op.drop_table("registrations")
    op.drop_table("programs")
    for index in ("ix_action_items_owner", "ix_action_items_mentor", "ix_action_items_company", "ix_action_items_due"):
        op.drop_index(index, "action_items")
    op.drop_table("action_items")
    op.drop_index("ix_bookings_holder", "bookings")
    op.drop_index("ix_bookings_resource", "bookings")
    op.drop_table("bookings")  # its exclusion constraint goes with it; btree_gist stays (others may use it)
    op.drop_index("ix_session_changes_session", "session_changes")
    op.drop_table("session_changes")
    for index in ("ix_sessions_company", "ix_sessions_mentor", "ix_sessions_start"):
        op.drop_index(index, "sessions")
    op.drop_table("sessions")
    op.drop_table("session_types")
    op.drop_table("rooms")
    op.drop_index("ix_availability_exceptions_mentor", "availability_exceptions")
    op.drop_table("availability_exceptions")
    op.drop_index("ix_mentor_expertise_tag", "mentor_expertise")
    op.drop_table("mentor_expertise")
    op.drop_table("mentors")
    drop_runtime_tables_v1(op)
