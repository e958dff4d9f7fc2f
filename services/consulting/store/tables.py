"""The consulting service's tables (SQLAlchemy Core, in the column vocabulary of hubcore.columns).

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

import sqlalchemy as sa

from hubcore.columns import (
    day,
    entity,
    flag,
    moment,
    names,
    no_overlap,
    number,
    ref,
    tag_table,
    text,
    versioned,
    with_btree_gist,
)
from hubcore.db import add_runtime_tables

metadata = with_btree_gist(sa.MetaData())
NO_OVERLAP = "ex_bookings_no_overlap"

mentors = entity(
    "mentors",
    metadata,
    *names(),
    text("kind", 20),
    text("affiliation", 200, default=""),
    text("email", 200, default=""),
    text("expertise", default="[]"),  # JSON list
    text("time_zone", 64),
    text("windows", default="[]"),  # JSON [[weekday, start, end], ...]
    *versioned(),
    moment("deactivated_at", nullable=True),  # by a program manager: not bookable (revision 0003)
    text("deactivation_reason", 500, default=""),
)

# One row per expertise tag, so that "every mentor tagged vision" is an index lookup.
mentor_expertise = tag_table("mentor_expertise", metadata, "mentor_id", "mentors.id")

availability_exceptions = entity(
    "availability_exceptions",
    metadata,
    ref("mentor_id", "mentors.id"),
    flag("available"),
    moment("start_at"),
    moment("end_at"),
    text("reason", 500, default=""),
    moment("created_at"),
    sa.Index("ix_availability_exceptions_mentor", "mentor_id", "start_at"),
)

rooms = entity(
    "rooms",
    metadata,
    text("display_name", 100),
    number("floor", default="0"),
    number("capacity"),
    moment("created_at"),
)

session_types = entity(
    "session_types",
    metadata,
    text("display_name", 100),
    text("category", 30),
    number("default_minutes"),
    number("buffer_before_minutes"),
    number("buffer_after_minutes"),
    moment("created_at"),
)

sessions = entity(
    "sessions",
    metadata,
    ref("company_id"),  # companies/{id} in the directory read model
    ref("mentor_id", "mentors.id"),
    ref("session_type_id", "session_types.id"),
    ref("room_id", "rooms.id", nullable=True),
    moment("start_at"),
    moment("end_at"),
    # The type's buffers when booked: a later change to the type does not move existing bookings.
    number("buffer_before_minutes"),
    number("buffer_after_minutes"),
    text("agenda", default=""),
    text("state", 20),
    text("notes", default=""),
    text("cancel_reason", 500, default=""),
    number("sequence"),
    *versioned(),
    moment("completed_at", nullable=True),  # revision 0003: notes and feedback are due 48 hours after it
    moment("notes_at", nullable=True),
    sa.Index("ix_sessions_start", "start_at", "id"),
    sa.Index("ix_sessions_mentor", "mentor_id", "start_at"),
    sa.Index("ix_sessions_company", "company_id", "start_at"),
    sa.Index("ix_sessions_completed", "completed_at"),  # revision 0004: the feedback window's recent completions
)

# The dashboard's session figures (revision 0004), kept by store.sessions in the transaction of every session
# write, so that GetConsultingStats reads a few rows instead of counting every session.
session_counts = sa.Table(
    "session_counts",
    metadata,
    ref("session_type_id", primary_key=True),
    text("state", 20, primary_key=True),
    number("sessions"),
    number("on_time_feedback"),  # of these sessions, those the founder rated within the feedback window
)

# Companies that completed a session, with how many: "companies served" is its row count (revision 0004).
served_companies = sa.Table("served_companies", metadata, ref("company_id", primary_key=True), number("completed"))

# A rescheduled session's earlier times: the history a calendar and a program manager can read.
session_changes = entity(
    "session_changes",
    metadata,
    ref("session_id", "sessions.id"),
    moment("previous_start_at"),
    moment("previous_end_at"),
    ref("previous_room_id", nullable=True),
    moment("new_start_at"),
    moment("new_end_at"),
    ref("new_room_id", nullable=True),
    text("reason", 500, default=""),
    text("actor", 100),
    moment("changed_at"),
    sa.Index("ix_session_changes_session", "session_id", "id"),
)

# Time held by a resource. The exclusion constraint (PostgreSQL) is created by the migration; it is
# declared here too, for PostgreSQL only, so that models and migrations describe the same schema.
bookings = entity(
    "bookings",
    metadata,
    text("resource", 40),  # mentors/1, companies/2, rooms/3
    text("holder", 40),  # sessions/4, programs/5
    moment("start_at"),
    moment("end_at"),
    sa.Index("ix_bookings_resource", "resource", "start_at"),
    sa.Index("ix_bookings_holder", "holder"),
    no_overlap(NO_OVERLAP, "resource", "tstzrange", "start_at", "end_at"),
)

action_items = entity(
    "action_items",
    metadata,
    ref("session_id", "sessions.id"),
    ref("company_id"),
    ref("mentor_id"),
    text("description", 1000),
    text("owner", 100),
    day("due_date"),
    text("state", 10),
    moment("completed_at", nullable=True),
    moment("overdue_at", nullable=True),
    moment("created_at"),
    number("version"),
    sa.Index("ix_action_items_due", "state", "due_date"),
    sa.Index("ix_action_items_company", "company_id", "id"),
    sa.Index("ix_action_items_mentor", "mentor_id", "id"),
    sa.Index("ix_action_items_owner", "owner", "id"),
)

# The founder's feedback on a completed session, once per session (revision 0003).
session_feedback = entity(
    "session_feedback",
    metadata,
    ref("session_id", "sessions.id"),
    ref("company_id"),
    ref("mentor_id"),
    number("rating"),
    text("fit", 20),
    text("comment", 2000, default=""),
    text("actor", 100),
    text("reason", 500, default=""),
    flag("on_time"),
    moment("created_at"),
    sa.Index("uq_session_feedback_session", "session_id", unique=True),
)

programs = entity(
    "programs",
    metadata,
    text("display_name", 200),
    text("kind", 20),
    moment("start_at"),
    moment("end_at"),
    ref("room_id", "rooms.id", nullable=True),
    number("capacity"),
    text("description", default=""),
    number("registered_count"),
    number("attended_count"),
    moment("attendance_recorded_at", nullable=True),
    moment("created_at"),
    number("version"),
)

registrations = entity(
    "registrations",
    metadata,
    ref("program_id", "programs.id"),
    text("participant_name", 100),
    text("email", 200, default=""),
    ref("company_id", nullable=True),
    text("state", 20),
    moment("created_at"),
    text("phone", 40, default=""),
    sa.Index("ix_registrations_program", "program_id", "id"),
)

# Who attended each program, one row per program and person (a person is an email address, letter case aside,
# or a name and company without one): the program figures count these rows instead of deduplicating every
# registration on each call (revision 0005); refreshed from a program's registrations whenever its attendance
# is recorded or an erasure rewrites them (store.refresh_attendees).
program_attendees = sa.Table(
    "program_attendees",
    metadata,
    ref("program_id", "programs.id", primary_key=True),
    text("person", 320, primary_key=True),
    sa.Index("ix_program_attendees_person", "person"),
)

# The GPU cluster (revision 0006): nodes are resources like rooms, booked through `bookings` (gpuNodes/N held by
# gpuBookings/M), so the same exclusion constraint and serialized writes keep two bookings of a node apart.
gpu_nodes = entity(
    "gpu_nodes",
    metadata,
    text("display_name", 100),
    text("kind", 30),
    number("gpus"),
    moment("created_at"),
)

gpu_bookings = entity(
    "gpu_bookings",
    metadata,
    ref("node_id", "gpu_nodes.id"),
    ref("company_id"),  # companies/{id} in the directory read model
    moment("start_at"),
    moment("end_at"),
    text("purpose", 500, default=""),
    text("state", 20),
    text("cancel_reason", 500, default=""),
    number("hours"),  # what it consumes of the company's quota now (0 once cancelled)
    *versioned(),
    sa.Index("ix_gpu_bookings_company", "company_id", "start_at"),
    sa.Index("ix_gpu_bookings_node", "node_id", "start_at"),
)

# Firms waiting for a taken GPU slot, first come first offered (usecases.gpu.offer_freed).
gpu_waitlist = entity(
    "gpu_waitlist",
    metadata,
    ref("node_id", "gpu_nodes.id"),
    ref("company_id"),
    moment("start_at"),
    moment("end_at"),
    text("state", 10),
    moment("created_at"),
    moment("offered_at", nullable=True),
    sa.Index("ix_gpu_waitlist_node", "node_id", "state", "id"),
)

# A company's GPU quota: hours per calendar month (Asia/Seoul) or per program term. The row is locked (FOR UPDATE)
# by every booking of the company, so the used-hours check and the insert commit one company at a time.
gpu_quotas = sa.Table(
    "gpu_quotas",
    metadata,
    ref("company_id", primary_key=True),
    number("hours"),
    text("period", 10),
    moment("term_start", nullable=True),
    moment("term_end", nullable=True),
    moment("updated_at"),
)

# Read model of the companies service, fed by hub.companies.company.> events (newest version wins).
company_directory = sa.Table(
    "company_directory",
    metadata,
    text("company", 40, primary_key=True),
    text("korean_name", 100),
    text("english_name", 100),
    text("status", 20),
    flag("archived"),
    number("version"),
)

# Everything the migrations must create: the service's tables and the runtime's.
add_runtime_tables(metadata)
