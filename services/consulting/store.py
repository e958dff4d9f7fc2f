"""The consulting service's tables and the queries it needs (SQLAlchemy Core).

Double booking is closed in the database, not in application code alone: every session (and every
program with a room) holds rows in `bookings`, one per resource (mentors/1, companies/2, rooms/3).
- PostgreSQL: an exclusion constraint, EXCLUDE USING gist (resource WITH =, tstzrange(start_at, end_at)
  WITH &&), created by the migration with btree_gist. Two concurrent inserts into an empty slot cannot
  both commit: the second waits for the first and fails with SQLSTATE 23P01.
- SQLite: every write transaction starts with BEGIN IMMEDIATE (hubcore.db), so writers are serialized
  and the overlap check below runs in the same transaction as the insert: nobody can book in between.
On both, reserve() checks first, so the common conflict names the session that holds the time.
"""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import as_utc, now, runtime_metadata
from services.consulting import domain
from services.consulting.domain import (
    ActionItem,
    AvailabilityException,
    Mentor,
    Program,
    Registration,
    Room,
    Session,
    SessionChange,
    SessionType,
    Window,
)

metadata = sa.MetaData()
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
    ),
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


class BookingConflict(Exception):
    def __init__(self, resource: str, holder: str) -> None:
        super().__init__(domain.conflict_message(resource, holder))
        self.resource = resource
        self.holder = holder


def _minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


# Mentors


def to_mentor(row: Any) -> Mentor:
    return Mentor(
        id=row.id,
        korean_name=row.korean_name,
        english_name=row.english_name,
        kind=row.kind,
        affiliation=row.affiliation,
        email=row.email,
        expertise=json.loads(row.expertise),
        time_zone=row.time_zone,
        windows=[Window(*w) for w in json.loads(row.windows)],
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
        version=row.version,
    )


def _mentor_values(m: Mentor) -> dict[str, Any]:
    return {
        "korean_name": m.korean_name,
        "english_name": m.english_name,
        "kind": m.kind,
        "affiliation": m.affiliation,
        "email": m.email,
        "expertise": json.dumps(m.expertise, ensure_ascii=False),
        "time_zone": m.time_zone,
        "windows": json.dumps([[w.weekday, w.start_minute, w.end_minute] for w in m.windows]),
        "version": m.version,
    }


async def insert_mentor(conn: AsyncConnection, mentor: Mentor) -> Mentor:
    stamp = now()
    values = _mentor_values(mentor) | {"created_at": stamp, "updated_at": stamp}
    mentor_id = (await conn.execute(mentors.insert().values(values).returning(mentors.c.id))).scalar_one()
    await _write_expertise(conn, mentor_id, mentor.expertise)
    return replace(mentor, id=mentor_id, created_at=stamp, updated_at=stamp)


async def save_mentor(conn: AsyncConnection, mentor: Mentor, *, expected_version: int) -> Mentor:
    stamp = now()
    result = await conn.execute(
        mentors.update()
        .where(mentors.c.id == mentor.id, mentors.c.version == expected_version)
        .values(_mentor_values(mentor) | {"updated_at": stamp})
    )
    if result.rowcount != 1:
        raise errors.StaleWrite(mentor.name)
    await conn.execute(mentor_expertise.delete().where(mentor_expertise.c.mentor_id == mentor.id))
    await _write_expertise(conn, mentor.id, mentor.expertise)
    return replace(mentor, updated_at=stamp)


async def _write_expertise(conn: AsyncConnection, mentor_id: int, tags: list[str]) -> None:
    if tags:
        await conn.execute(mentor_expertise.insert(), [{"mentor_id": mentor_id, "tag": t} for t in tags])


async def get_mentor(conn: AsyncConnection, mentor_id: int) -> Mentor | None:
    row = (await conn.execute(sa.select(mentors).where(mentors.c.id == mentor_id))).first()
    return to_mentor(row) if row else None


async def mentors_by_ids(conn: AsyncConnection, ids: list[int]) -> dict[int, Mentor]:
    rows = await conn.execute(sa.select(mentors).where(mentors.c.id.in_(ids)))
    return {r.id: to_mentor(r) for r in rows}


async def mentors_with_tag(conn: AsyncConnection, tag: str, limit: int = 500) -> list[Mentor]:
    tagged = sa.select(mentor_expertise.c.mentor_id).where(mentor_expertise.c.tag == tag)
    rows = await conn.execute(sa.select(mentors).where(mentors.c.id.in_(tagged)).order_by(mentors.c.id).limit(limit))
    return [to_mentor(r) for r in rows]


# Availability exceptions


def to_exception(row: Any) -> AvailabilityException:
    return AvailabilityException(
        id=row.id,
        mentor_id=row.mentor_id,
        available=row.available,
        start=as_utc(row.start_at),
        end=as_utc(row.end_at),
        reason=row.reason,
        created_at=_utc(row.created_at),
    )


async def insert_exception(conn: AsyncConnection, x: AvailabilityException) -> AvailabilityException:
    stamp = now()
    values = {
        "mentor_id": x.mentor_id,
        "available": x.available,
        "start_at": x.start,
        "end_at": x.end,
        "reason": x.reason,
        "created_at": stamp,
    }
    new_id = (
        await conn.execute(availability_exceptions.insert().values(values).returning(availability_exceptions.c.id))
    ).scalar_one()
    return replace(x, id=new_id, created_at=stamp)


async def exceptions_between(
    conn: AsyncConnection, mentor_ids: list[int], start: datetime, end: datetime
) -> dict[int, list[AvailabilityException]]:
    c = availability_exceptions.c
    rows = await conn.execute(
        sa.select(availability_exceptions).where(c.mentor_id.in_(mentor_ids), c.start_at < end, c.end_at > start)
    )
    found: dict[int, list[AvailabilityException]] = {}
    for row in rows:
        found.setdefault(row.mentor_id, []).append(to_exception(row))
    return found


# Rooms and session types


def to_room(row: Any) -> Room:
    return Room(row.id, row.display_name, row.capacity, row.floor, _utc(row.created_at))


async def insert_room(conn: AsyncConnection, room: Room) -> Room:
    stamp = now()
    values = {"display_name": room.display_name, "floor": room.floor, "capacity": room.capacity, "created_at": stamp}
    new_id = (await conn.execute(rooms.insert().values(values).returning(rooms.c.id))).scalar_one()
    return replace(room, id=new_id, created_at=stamp)


async def get_room(conn: AsyncConnection, room_id: int) -> Room | None:
    row = (await conn.execute(sa.select(rooms).where(rooms.c.id == room_id))).first()
    return to_room(row) if row else None


async def all_rooms(conn: AsyncConnection, min_capacity: int = 0) -> list[Room]:
    rows = await conn.execute(sa.select(rooms).where(rooms.c.capacity >= min_capacity).order_by(rooms.c.id))
    return [to_room(r) for r in rows]


def to_session_type(row: Any) -> SessionType:
    return SessionType(
        id=row.id,
        display_name=row.display_name,
        category=row.category,
        default_duration=timedelta(minutes=row.default_minutes),
        buffer_before=timedelta(minutes=row.buffer_before_minutes),
        buffer_after=timedelta(minutes=row.buffer_after_minutes),
        created_at=_utc(row.created_at),
    )


async def insert_session_type(conn: AsyncConnection, t: SessionType) -> SessionType:
    stamp = now()
    values = {
        "display_name": t.display_name,
        "category": t.category,
        "default_minutes": _minutes(t.default_duration),
        "buffer_before_minutes": _minutes(t.buffer_before),
        "buffer_after_minutes": _minutes(t.buffer_after),
        "created_at": stamp,
    }
    new_id = (await conn.execute(session_types.insert().values(values).returning(session_types.c.id))).scalar_one()
    return replace(t, id=new_id, created_at=stamp)


async def get_session_type(conn: AsyncConnection, type_id: int) -> SessionType | None:
    row = (await conn.execute(sa.select(session_types).where(session_types.c.id == type_id))).first()
    return to_session_type(row) if row else None


# Sessions and bookings


def to_session(row: Any) -> Session:
    return Session(
        id=row.id,
        company_id=row.company_id,
        mentor_id=row.mentor_id,
        session_type_id=row.session_type_id,
        start=as_utc(row.start_at),
        end=as_utc(row.end_at),
        buffer_before=timedelta(minutes=row.buffer_before_minutes),
        buffer_after=timedelta(minutes=row.buffer_after_minutes),
        room_id=row.room_id,
        agenda=row.agenda,
        state=row.state,
        notes=row.notes,
        cancel_reason=row.cancel_reason,
        sequence=row.sequence,
        created_at=_utc(row.created_at),
        updated_at=_utc(row.updated_at),
        version=row.version,
    )


def _session_values(s: Session) -> dict[str, Any]:
    return {
        "company_id": s.company_id,
        "mentor_id": s.mentor_id,
        "session_type_id": s.session_type_id,
        "room_id": s.room_id,
        "start_at": s.start,
        "end_at": s.end,
        "buffer_before_minutes": _minutes(s.buffer_before),
        "buffer_after_minutes": _minutes(s.buffer_after),
        "agenda": s.agenda,
        "state": s.state,
        "notes": s.notes,
        "cancel_reason": s.cancel_reason,
        "sequence": s.sequence,
        "version": s.version,
    }


async def insert_session(conn: AsyncConnection, session: Session) -> Session:
    stamp = now()
    values = _session_values(session) | {"created_at": stamp, "updated_at": stamp}
    new_id = (await conn.execute(sessions.insert().values(values).returning(sessions.c.id))).scalar_one()
    return replace(session, id=new_id, created_at=stamp, updated_at=stamp)


async def save_session(conn: AsyncConnection, session: Session, *, expected_version: int) -> Session:
    stamp = now()
    result = await conn.execute(
        sessions.update()
        .where(sessions.c.id == session.id, sessions.c.version == expected_version)
        .values(_session_values(session) | {"updated_at": stamp})
    )
    if result.rowcount != 1:
        raise errors.StaleWrite(session.name)
    return replace(session, updated_at=stamp)


async def get_session(conn: AsyncConnection, session_id: int) -> Session | None:
    row = (await conn.execute(sa.select(sessions).where(sessions.c.id == session_id))).first()
    return to_session(row) if row else None


async def find_conflict(
    conn: AsyncConnection, holds: list[tuple[str, datetime, datetime]], *, holder: str
) -> tuple[str, str] | None:
    """The first booking of another holder that overlaps one of holds: (resource, holder)."""
    if not holds:
        return None
    c = bookings.c
    overlapping = sa.or_(*(sa.and_(c.resource == r, c.start_at < e, c.end_at > s) for r, s, e in holds))
    query = sa.select(c.resource, c.holder).where(overlapping, c.holder != holder).order_by(c.start_at).limit(1)
    row = (await conn.execute(query)).first()
    return (row.resource, row.holder) if row else None


async def reserve(conn: AsyncConnection, holds: list[tuple[str, datetime, datetime]], *, holder: str) -> None:
    """Books holds for holder, replacing what it held. Raises BookingConflict when another holder has one
    of the resources at an overlapping time (checked here; on PostgreSQL also enforced by the constraint,
    which surfaces as an IntegrityError that is_overlap() recognizes)."""
    await release(conn, holder=holder)
    conflict = await find_conflict(conn, holds, holder=holder)
    if conflict:
        raise BookingConflict(*conflict)
    if holds:
        await conn.execute(
            bookings.insert(), [{"resource": r, "holder": holder, "start_at": s, "end_at": e} for r, s, e in holds]
        )


async def release(conn: AsyncConnection, *, holder: str) -> None:
    await conn.execute(bookings.delete().where(bookings.c.holder == holder))


def is_overlap(exc: IntegrityError) -> bool:
    """The exclusion constraint refused an overlapping booking (SQLSTATE 23P01)."""
    return getattr(exc.orig, "sqlstate", None) == "23P01" or NO_OVERLAP in str(exc.orig)


async def busy_between(
    conn: AsyncConnection, resources: list[str], start: datetime, end: datetime
) -> dict[str, list[domain.Period]]:
    c = bookings.c
    found: dict[str, list[domain.Period]] = {r: [] for r in resources}
    if not resources:
        return found
    rows = await conn.execute(
        sa.select(c.resource, c.start_at, c.end_at).where(c.resource.in_(resources), c.start_at < end, c.end_at > start)
    )
    for row in rows:
        found[row.resource].append((as_utc(row.start_at), as_utc(row.end_at)))
    return found


async def add_change(conn: AsyncConnection, before: Session, after: Session, reason: str, actor: str) -> None:
    await conn.execute(
        session_changes.insert().values(
            session_id=after.id,
            previous_start_at=before.start,
            previous_end_at=before.end,
            previous_room_id=before.room_id,
            new_start_at=after.start,
            new_end_at=after.end,
            new_room_id=after.room_id,
            reason=reason,
            actor=actor,
            changed_at=now(),
        )
    )


async def changes_of(conn: AsyncConnection, session_ids: list[int]) -> dict[int, list[SessionChange]]:
    c = session_changes.c
    found: dict[int, list[SessionChange]] = {}
    if not session_ids:
        return found
    rows = await conn.execute(sa.select(session_changes).where(c.session_id.in_(session_ids)).order_by(c.id))
    for r in rows:
        found.setdefault(r.session_id, []).append(
            SessionChange(
                previous_start=as_utc(r.previous_start_at),
                previous_end=as_utc(r.previous_end_at),
                previous_room_id=r.previous_room_id,
                new_start=as_utc(r.new_start_at),
                new_end=as_utc(r.new_end_at),
                new_room_id=r.new_room_id,
                reason=r.reason,
                changed_at=as_utc(r.changed_at),
                actor=r.actor,
            )
        )
    return found


# Action items


def to_action_item(row: Any) -> ActionItem:
    return ActionItem(
        id=row.id,
        session_id=row.session_id,
        company_id=row.company_id,
        mentor_id=row.mentor_id,
        description=row.description,
        owner=row.owner,
        due_date=row.due_date,
        state=row.state,
        completed_at=_utc(row.completed_at),
        overdue_at=_utc(row.overdue_at),
        created_at=_utc(row.created_at),
        version=row.version,
    )


async def insert_action_item(conn: AsyncConnection, item: ActionItem) -> ActionItem:
    stamp = now()
    values = {
        "session_id": item.session_id,
        "company_id": item.company_id,
        "mentor_id": item.mentor_id,
        "description": item.description,
        "owner": item.owner,
        "due_date": item.due_date,
        "state": item.state,
        "created_at": stamp,
        "version": item.version,
    }
    new_id = (await conn.execute(action_items.insert().values(values).returning(action_items.c.id))).scalar_one()
    return replace(item, id=new_id, created_at=stamp)


async def get_action_item(conn: AsyncConnection, item_id: int) -> ActionItem | None:
    row = (await conn.execute(sa.select(action_items).where(action_items.c.id == item_id))).first()
    return to_action_item(row) if row else None


async def save_action_item(conn: AsyncConnection, item: ActionItem, *, expected_version: int) -> None:
    result = await conn.execute(
        action_items.update()
        .where(action_items.c.id == item.id, action_items.c.version == expected_version)
        .values(state=item.state, completed_at=item.completed_at, overdue_at=item.overdue_at, version=item.version)
    )
    if result.rowcount != 1:
        raise errors.StaleWrite(item.name)


async def newly_overdue(conn: AsyncConnection, on: date, limit: int = 500) -> list[ActionItem]:
    c = action_items.c
    rows = await conn.execute(
        sa.select(action_items)
        .where(c.state == domain.OPEN, c.due_date < on, c.overdue_at.is_(None))
        .order_by(c.id)
        .limit(limit)
    )
    return [to_action_item(r) for r in rows]


# Programs and registrations


def to_program(row: Any) -> Program:
    return Program(
        id=row.id,
        display_name=row.display_name,
        kind=row.kind,
        start=as_utc(row.start_at),
        end=as_utc(row.end_at),
        room_id=row.room_id,
        capacity=row.capacity,
        description=row.description,
        registered_count=row.registered_count,
        attended_count=row.attended_count,
        attendance_recorded_at=_utc(row.attendance_recorded_at),
        created_at=_utc(row.created_at),
        version=row.version,
    )


async def insert_program(conn: AsyncConnection, p: Program) -> Program:
    stamp = now()
    values = {
        "display_name": p.display_name,
        "kind": p.kind,
        "start_at": p.start,
        "end_at": p.end,
        "room_id": p.room_id,
        "capacity": p.capacity,
        "description": p.description,
        "registered_count": 0,
        "attended_count": 0,
        "created_at": stamp,
        "version": 1,
    }
    new_id = (await conn.execute(programs.insert().values(values).returning(programs.c.id))).scalar_one()
    return replace(p, id=new_id, created_at=stamp)


async def get_program(conn: AsyncConnection, program_id: int) -> Program | None:
    row = (await conn.execute(sa.select(programs).where(programs.c.id == program_id))).first()
    return to_program(row) if row else None


async def save_program_counts(conn: AsyncConnection, p: Program, *, expected_version: int) -> None:
    result = await conn.execute(
        programs.update()
        .where(programs.c.id == p.id, programs.c.version == expected_version)
        .values(
            registered_count=p.registered_count,
            attended_count=p.attended_count,
            attendance_recorded_at=p.attendance_recorded_at,
            version=p.version,
        )
    )
    if result.rowcount != 1:
        raise errors.StaleWrite(p.name)


async def take_place(conn: AsyncConnection, program_id: int) -> bool:
    """Counts one more registration unless the program is full; one atomic statement, so concurrent
    registrations can never overfill it."""
    c = programs.c
    result = await conn.execute(
        programs.update()
        .where(c.id == program_id, sa.or_(c.capacity == 0, c.registered_count < c.capacity))
        .values(registered_count=c.registered_count + 1)
    )
    return bool(result.rowcount == 1)


def to_registration(row: Any) -> Registration:
    return Registration(
        id=row.id,
        program_id=row.program_id,
        participant_name=row.participant_name,
        email=row.email,
        company_id=row.company_id,
        state=row.state,
        created_at=_utc(row.created_at),
    )


async def insert_registration(conn: AsyncConnection, r: Registration) -> Registration:
    stamp = now()
    values = {
        "program_id": r.program_id,
        "participant_name": r.participant_name,
        "email": r.email,
        "company_id": r.company_id,
        "state": r.state,
        "created_at": stamp,
    }
    new_id = (await conn.execute(registrations.insert().values(values).returning(registrations.c.id))).scalar_one()
    return replace(r, id=new_id, created_at=stamp)


async def registrations_by_ids(conn: AsyncConnection, ids: list[int]) -> dict[int, Registration]:
    rows = await conn.execute(sa.select(registrations).where(registrations.c.id.in_(ids)))
    return {r.id: to_registration(r) for r in rows}


async def set_registration_state(conn: AsyncConnection, registration_id: int, state: str) -> None:
    await conn.execute(registrations.update().where(registrations.c.id == registration_id).values(state=state))


async def attended_count(conn: AsyncConnection, program_id: int) -> int:
    c = registrations.c
    query = sa.select(sa.func.count()).where(c.program_id == program_id, c.state == domain.ATTENDED)
    return int((await conn.execute(query)).scalar_one())


# Company directory (read model)


async def upsert_company(
    conn: AsyncConnection, *, company: str, korean_name: str, english_name: str, status: str, archived: bool,
    version: int,
) -> bool:  # fmt: skip
    """Applies a snapshot only if it is newer than what the directory holds; True when it did."""
    c = company_directory.c
    current = (await conn.execute(sa.select(c.version).where(c.company == company))).scalar_one_or_none()
    values = {
        "korean_name": korean_name,
        "english_name": english_name,
        "status": status,
        "archived": archived,
        "version": version,
    }
    if current is None:
        await conn.execute(company_directory.insert().values(company=company, **values))
        return True
    if version > current:
        await conn.execute(company_directory.update().where(c.company == company).values(values))
        return True
    return False


async def get_company(conn: AsyncConnection, company: str) -> Any:
    return (await conn.execute(sa.select(company_directory).where(company_directory.c.company == company))).first()


async def company_names(conn: AsyncConnection, names: list[str]) -> dict[str, str]:
    c = company_directory.c
    rows = await conn.execute(sa.select(c.company, c.korean_name).where(c.company.in_(names)))
    return {r.company: r.korean_name for r in rows}


# Dashboard figures


async def stats(conn: AsyncConnection, on: date) -> dict[str, Any]:
    s, t, r, p, a = sessions.c, session_types.c, registrations.c, programs.c, action_items.c
    by_type = (
        await conn.execute(
            sa.select(t.id, t.display_name, t.category, s.state, sa.func.count(s.id))
            .select_from(session_types.outerjoin(sessions, s.session_type_id == t.id))
            .group_by(t.id, t.display_name, t.category, s.state)
            .order_by(t.id)
        )
    ).all()

    async def count(query: Any) -> int:
        return int((await conn.execute(query)).scalar_one())

    return {
        "by_type": by_type,
        "programs_held": await count(sa.select(sa.func.count()).where(p.attendance_recorded_at.is_not(None))),
        "participants": await count(sa.select(sa.func.count()).where(r.state == domain.ATTENDED)),
        "people_trained": await count(
            sa.select(sa.func.count())
            .select_from(registrations.join(programs, r.program_id == p.id))
            .where(r.state == domain.ATTENDED, p.kind == "EDUCATION")
        ),
        "companies_served": await count(
            sa.select(sa.func.count(sa.distinct(s.company_id))).where(s.state == domain.COMPLETED)
        ),
        "mentors": await count(sa.select(sa.func.count()).select_from(mentors)),
        "open_action_items": await count(sa.select(sa.func.count()).where(a.state == domain.OPEN)),
        "overdue_action_items": await count(sa.select(sa.func.count()).where(a.state == domain.OPEN, a.due_date < on)),
    }


def keyset_after(columns: list[sa.ColumnElement[Any]], values: list[Any]) -> sa.ColumnElement[bool]:
    """Rows strictly after a cursor position in ascending (col1, col2, ...) order."""
    col, rest = columns[0], columns[1:]
    if not rest:
        return col > values[0]
    return sa.or_(col > values[0], sa.and_(col == values[0], keyset_after(rest, values[1:])))
