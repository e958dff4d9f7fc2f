"""The consulting service's tables (SQLAlchemy Core), and what every store module shares.

Double booking is closed in the database, not in application code alone: every session (and every
program with a room) holds rows in `bookings`, one per resource (mentors/1, companies/2, rooms/3).
- PostgreSQL: an exclusion constraint, EXCLUDE USING gist (resource WITH =, tstzrange(start_at, end_at)
  WITH &&) with btree_gist, declared on the table below (PostgreSQL only). Two concurrent inserts into an
  empty slot cannot both commit: the second waits for the first and fails with SQLSTATE 23P01.
- SQLite: every write transaction starts with BEGIN IMMEDIATE (hubcore.db), so writers are serialized
  and the overlap check of reserve() runs in the same transaction as the insert: nobody can book in between.
On both, reserve() (store.sessions) checks first, so the common conflict names the session that holds the time.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import runtime_metadata

metadata = sa.MetaData()
# The exclusion constraint below needs gist to compare plain values with =.
sa.event.listen(
    metadata, "before_create", sa.DDL("CREATE EXTENSION IF NOT EXISTS btree_gist").execute_if(dialect="postgresql")
)
big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
at = sa.DateTime(timezone=True)
NO_OVERLAP = "ex_bookings_no_overlap"

mentors = sa.Table(
    "mentors",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("korean_name", sa.String(100), nullable=False),
    sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("affiliation", sa.String(200), nullable=False, server_default=""),
    sa.Column("email", sa.String(200), nullable=False, server_default=""),
    sa.Column("expertise", sa.Text, nullable=False, server_default="[]"),  # JSON list
    sa.Column("time_zone", sa.String(64), nullable=False),
    sa.Column("windows", sa.Text, nullable=False, server_default="[]"),  # JSON [[weekday, start, end], ...]
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

# One row per expertise tag, so that "every mentor tagged vision" is an index lookup.
mentor_expertise = sa.Table(
    "mentor_expertise",
    metadata,
    sa.Column("mentor_id", big_id, sa.ForeignKey("mentors.id"), primary_key=True),
    sa.Column("tag", sa.String(30), primary_key=True),
    sa.Index("ix_mentor_expertise_tag", "tag"),
)

availability_exceptions = sa.Table(
    "availability_exceptions",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("mentor_id", big_id, sa.ForeignKey("mentors.id"), nullable=False),
    sa.Column("available", sa.Boolean, nullable=False),
    sa.Column("start_at", at, nullable=False),
    sa.Column("end_at", at, nullable=False),
    sa.Column("reason", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
    sa.Index("ix_availability_exceptions_mentor", "mentor_id", "start_at"),
)

rooms = sa.Table(
    "rooms",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("floor", sa.Integer, nullable=False, server_default="0"),
    sa.Column("capacity", sa.Integer, nullable=False),
    sa.Column("created_at", at, nullable=False),
)

session_types = sa.Table(
    "session_types",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("display_name", sa.String(100), nullable=False),
    sa.Column("category", sa.String(30), nullable=False),
    sa.Column("default_minutes", sa.Integer, nullable=False),
    sa.Column("buffer_before_minutes", sa.Integer, nullable=False),
    sa.Column("buffer_after_minutes", sa.Integer, nullable=False),
    sa.Column("created_at", at, nullable=False),
)

sessions = sa.Table(
    "sessions",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("company_id", big_id, nullable=False),  # companies/{id} in the directory read model
    sa.Column("mentor_id", big_id, sa.ForeignKey("mentors.id"), nullable=False),
    sa.Column("session_type_id", big_id, sa.ForeignKey("session_types.id"), nullable=False),
    sa.Column("room_id", big_id, sa.ForeignKey("rooms.id"), nullable=True),
    sa.Column("start_at", at, nullable=False),
    sa.Column("end_at", at, nullable=False),
    # The type's buffers when booked: a later change to the type does not move existing bookings.
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
    sa.Index("ix_sessions_start", "start_at", "id"),
    sa.Index("ix_sessions_mentor", "mentor_id", "start_at"),
    sa.Index("ix_sessions_company", "company_id", "start_at"),
)

# A rescheduled session's earlier times: the history a calendar and a program manager can read.
session_changes = sa.Table(
    "session_changes",
    metadata,
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
    sa.Index("ix_session_changes_session", "session_id", "id"),
)

# Time held by a resource. The exclusion constraint (PostgreSQL) is created by the migration; it is
# declared here too, for PostgreSQL only, so that models and migrations describe the same schema.
bookings = sa.Table(
    "bookings",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("resource", sa.String(40), nullable=False),  # mentors/1, companies/2, rooms/3
    sa.Column("holder", sa.String(40), nullable=False),  # sessions/4, programs/5
    sa.Column("start_at", at, nullable=False),
    sa.Column("end_at", at, nullable=False),
    sa.Index("ix_bookings_resource", "resource", "start_at"),
    sa.Index("ix_bookings_holder", "holder"),
    postgresql.ExcludeConstraint(
        ("resource", "="),
        (sa.func.tstzrange(sa.column("start_at"), sa.column("end_at"), sa.literal_column("'[)'")), "&&"),
        name=NO_OVERLAP,
        using="gist",
    ).ddl_if(dialect="postgresql"),
)

action_items = sa.Table(
    "action_items",
    metadata,
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
    sa.Index("ix_action_items_due", "state", "due_date"),
    sa.Index("ix_action_items_company", "company_id", "id"),
    sa.Index("ix_action_items_mentor", "mentor_id", "id"),
    sa.Index("ix_action_items_owner", "owner", "id"),
)

programs = sa.Table(
    "programs",
    metadata,
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

registrations = sa.Table(
    "registrations",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("program_id", big_id, sa.ForeignKey("programs.id"), nullable=False),
    sa.Column("participant_name", sa.String(100), nullable=False),
    sa.Column("email", sa.String(200), nullable=False, server_default=""),
    sa.Column("company_id", big_id, nullable=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("created_at", at, nullable=False),
    sa.Index("ix_registrations_program", "program_id", "id"),
)

# Read model of the companies service, fed by hub.companies.company.> events (newest version wins).
company_directory = sa.Table(
    "company_directory",
    metadata,
    sa.Column("company", sa.String(40), primary_key=True),
    sa.Column("korean_name", sa.String(100), nullable=False),
    sa.Column("english_name", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("archived", sa.Boolean, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
)

for _table in runtime_metadata.sorted_tables:
    _table.to_metadata(metadata)


Row = sa.Row[Any]  # a row as the database hands it back; each store module maps it to a domain object


def by_id(table: sa.Table, *where: sa.ColumnElement[bool], after: int | None, limit: int) -> sa.Select[Any]:
    """A keyset page of a table in id order: the rows after the id `after` that meet every condition."""
    query = sa.select(table).where(*where).order_by(table.c.id).limit(limit)
    return query if after is None else query.where(table.c.id > after)


async def insert(conn: AsyncConnection, table: sa.Table, values: dict[str, object]) -> int:
    """Inserts a row; its new id."""
    return int((await conn.execute(table.insert().values(values).returning(table.c.id))).scalar_one())


def minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None
