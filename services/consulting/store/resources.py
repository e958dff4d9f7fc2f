"""Mentors and their expertise, availability exceptions, rooms, session types, and the company directory."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import now, save_versioned
from services.consulting.domain import (
    AvailabilityException,
    DirectoryCompany,
    Mentor,
    Room,
    SessionType,
    Window,
)
from services.consulting.store.tables import (
    Row,
    availability_exceptions,
    by_id,
    company_directory,
    insert,
    mentor_expertise,
    mentors,
    minutes,
    rooms,
    session_types,
    utc,
)

# Mentors


def to_mentor(row: Row) -> Mentor:
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
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        version=row.version,
    )


def _mentor_values(m: Mentor) -> dict[str, object]:
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
    mentor_id = await insert(conn, mentors, values)
    await _write_expertise(conn, mentor_id, mentor.expertise)
    return replace(mentor, id=mentor_id, created_at=stamp, updated_at=stamp)


async def save_mentor(conn: AsyncConnection, mentor: Mentor, *, expected_version: int) -> Mentor:
    stamp = now()
    values = _mentor_values(mentor) | {"updated_at": stamp}
    await save_versioned(conn, mentors, mentor.id, expected_version, values, name=mentor.name)
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


async def list_mentors(
    conn: AsyncConnection, *, kinds: list[str], tags: list[str], after: int | None, limit: int
) -> list[Mentor]:
    """Mentors in id order, of any of kinds (all when empty) and tagged with every one of tags."""
    where = [mentors.c.kind.in_(kinds)] if kinds else []
    where += [
        mentors.c.id.in_(sa.select(mentor_expertise.c.mentor_id).where(mentor_expertise.c.tag == t)) for t in tags
    ]
    return [to_mentor(r) for r in await conn.execute(by_id(mentors, *where, after=after, limit=limit))]


# Availability exceptions


def to_exception(row: Row) -> AvailabilityException:
    return AvailabilityException(
        id=row.id,
        mentor_id=row.mentor_id,
        available=row.available,
        start=as_utc(row.start_at),
        end=as_utc(row.end_at),
        reason=row.reason,
        created_at=utc(row.created_at),
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
    new_id = await insert(conn, availability_exceptions, values)
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


async def list_exceptions(
    conn: AsyncConnection, mentor_id: int, *, after: int | None, limit: int
) -> list[AvailabilityException]:
    table = availability_exceptions
    rows = await conn.execute(by_id(table, table.c.mentor_id == mentor_id, after=after, limit=limit))
    return [to_exception(r) for r in rows]


async def delete_exception(conn: AsyncConnection, exception_id: int) -> bool:
    table = availability_exceptions
    return bool((await conn.execute(table.delete().where(table.c.id == exception_id))).rowcount == 1)


# Rooms and session types


def to_room(row: Row) -> Room:
    return Room(row.id, row.display_name, row.capacity, row.floor, utc(row.created_at))


async def insert_room(conn: AsyncConnection, room: Room) -> Room:
    stamp = now()
    values = {"display_name": room.display_name, "floor": room.floor, "capacity": room.capacity, "created_at": stamp}
    new_id = await insert(conn, rooms, values)
    return replace(room, id=new_id, created_at=stamp)


async def get_room(conn: AsyncConnection, room_id: int) -> Room | None:
    row = (await conn.execute(sa.select(rooms).where(rooms.c.id == room_id))).first()
    return to_room(row) if row else None


async def all_rooms(conn: AsyncConnection, min_capacity: int = 0) -> list[Room]:
    rows = await conn.execute(sa.select(rooms).where(rooms.c.capacity >= min_capacity).order_by(rooms.c.id))
    return [to_room(r) for r in rows]


async def list_rooms(conn: AsyncConnection, *, after: int | None, limit: int) -> list[Room]:
    return [to_room(r) for r in await conn.execute(by_id(rooms, after=after, limit=limit))]


def to_session_type(row: Row) -> SessionType:
    return SessionType(
        id=row.id,
        display_name=row.display_name,
        category=row.category,
        default_duration=timedelta(minutes=row.default_minutes),
        buffer_before=timedelta(minutes=row.buffer_before_minutes),
        buffer_after=timedelta(minutes=row.buffer_after_minutes),
        created_at=utc(row.created_at),
    )


async def insert_session_type(conn: AsyncConnection, t: SessionType) -> SessionType:
    stamp = now()
    values = {
        "display_name": t.display_name,
        "category": t.category,
        "default_minutes": minutes(t.default_duration),
        "buffer_before_minutes": minutes(t.buffer_before),
        "buffer_after_minutes": minutes(t.buffer_after),
        "created_at": stamp,
    }
    new_id = await insert(conn, session_types, values)
    return replace(t, id=new_id, created_at=stamp)


async def get_session_type(conn: AsyncConnection, type_id: int) -> SessionType | None:
    row = (await conn.execute(sa.select(session_types).where(session_types.c.id == type_id))).first()
    return to_session_type(row) if row else None


async def list_session_types(conn: AsyncConnection, *, after: int | None, limit: int) -> list[SessionType]:
    return [to_session_type(r) for r in await conn.execute(by_id(session_types, after=after, limit=limit))]


async def session_types_by_id(conn: AsyncConnection) -> dict[int, SessionType]:
    return {r.id: to_session_type(r) for r in await conn.execute(sa.select(session_types))}


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


async def get_company(conn: AsyncConnection, company: str) -> DirectoryCompany | None:
    row = (await conn.execute(sa.select(company_directory).where(company_directory.c.company == company))).first()
    if row is None:
        return None
    return DirectoryCompany(row.company, row.korean_name, row.english_name, row.status, row.archived, row.version)


async def company_names(conn: AsyncConnection, names: list[str]) -> dict[str, str]:
    c = company_directory.c
    rows = await conn.execute(sa.select(c.company, c.korean_name).where(c.company.in_(names)))
    return {r.company: r.korean_name for r in rows}
