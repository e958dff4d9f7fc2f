"""Mentors and their expertise, availability exceptions, rooms, session types, and the company directory."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.rows import JSON, MINUTES, Rows, TagIndex, any_of, json_codec, upsert_newer
from services.consulting.domain import AvailabilityException, DirectoryCompany, Mentor, Room, SessionType, Window
from services.consulting.store.tables import (
    availability_exceptions,
    company_directory,
    mentor_expertise,
    mentors,
    rooms,
    session_types,
)

EXPERTISE = TagIndex(mentor_expertise, "mentor_id", "expertise")
MENTORS = Rows(
    mentors,
    Mentor,
    codecs={
        "expertise": JSON,
        "windows": json_codec(
            lambda rows: [Window(*w) for w in rows],
            lambda ws: [[w.weekday, w.start_minute, w.end_minute] for w in ws],
            ascii=True,
        ),
    },
    tags=EXPERTISE,
)
EXCEPTIONS = Rows(availability_exceptions, AvailabilityException, columns={"start": "start_at", "end": "end_at"})
ROOMS = Rows(rooms, Room)
SESSION_TYPES = Rows(
    session_types,
    SessionType,
    columns={
        "default_duration": "default_minutes",
        "buffer_before": "buffer_before_minutes",
        "buffer_after": "buffer_after_minutes",
    },
    codecs=dict.fromkeys(["default_duration", "buffer_before", "buffer_after"], MINUTES),
)
DIRECTORY = Rows(company_directory, DirectoryCompany)

# Mentors

get_mentor = MENTORS.get
mentors_by_ids = MENTORS.by_ids
insert_mentor = MENTORS.insert
save_mentor = MENTORS.save


async def mentors_with_tag(conn: AsyncConnection, tag: str, limit: int = 500) -> list[Mentor]:
    """The active mentors with the tag (a deactivated one cannot be booked)."""
    tagged = mentors.c.id.in_(EXPERTISE.owners(tag))
    return await MENTORS.list(conn, tagged, mentors.c.deactivated_at.is_(None), after=None, limit=limit)


async def list_mentors(
    conn: AsyncConnection, *, kinds: list[str], tags: list[str], active: list[bool], after: int | None, limit: int
) -> list[Mentor]:
    """Mentors in id order, of any of kinds (all when empty), tagged with every one of tags, active or not
    as each of `active` says."""
    where = any_of((mentors.c.kind, kinds or None))
    where += [mentors.c.id.in_(EXPERTISE.owners(t)) for t in tags]
    where += [mentors.c.deactivated_at.is_(None) if a else mentors.c.deactivated_at.is_not(None) for a in active]
    return await MENTORS.list(conn, *where, after=after, limit=limit)


# Availability exceptions


insert_exception = EXCEPTIONS.insert
get_exception = EXCEPTIONS.get


async def exceptions_between(
    conn: AsyncConnection, mentor_ids: list[int], start: datetime, end: datetime
) -> dict[int, list[AvailabilityException]]:
    c = availability_exceptions.c
    found: dict[int, list[AvailabilityException]] = {}
    for x in await EXCEPTIONS.all(
        conn, EXCEPTIONS.select(c.mentor_id.in_(mentor_ids), c.start_at < end, c.end_at > start)
    ):
        found.setdefault(x.mentor_id, []).append(x)
    return found


async def list_exceptions(
    conn: AsyncConnection, mentor_id: int, *, after: int | None, limit: int
) -> list[AvailabilityException]:
    return await EXCEPTIONS.list(conn, availability_exceptions.c.mentor_id == mentor_id, after=after, limit=limit)


async def delete_exception(conn: AsyncConnection, exception_id: int) -> bool:
    table = availability_exceptions
    return bool((await conn.execute(table.delete().where(table.c.id == exception_id))).rowcount == 1)


# Rooms and session types


get_room = ROOMS.get
insert_room = ROOMS.insert
get_session_type = SESSION_TYPES.get
insert_session_type = SESSION_TYPES.insert


async def all_rooms(conn: AsyncConnection, min_capacity: int = 0) -> list[Room]:
    return await ROOMS.all(conn, ROOMS.select(rooms.c.capacity >= min_capacity).order_by(rooms.c.id))


async def list_rooms(conn: AsyncConnection, *, after: int | None, limit: int) -> list[Room]:
    return await ROOMS.list(conn, after=after, limit=limit)


async def list_session_types(conn: AsyncConnection, *, after: int | None, limit: int) -> list[SessionType]:
    return await SESSION_TYPES.list(conn, after=after, limit=limit)


async def session_types_by_id(conn: AsyncConnection) -> dict[int, SessionType]:
    return {t.id: t for t in await SESSION_TYPES.all(conn, SESSION_TYPES.select())}


# Company directory (read model)


async def upsert_company(
    conn: AsyncConnection, *, company: str, korean_name: str, english_name: str, status: str, archived: bool,
    version: int,
) -> bool:  # fmt: skip
    """Applies a snapshot only if it is newer than what the directory holds; True when it did."""
    values = {"korean_name": korean_name, "english_name": english_name, "status": status, "archived": archived}
    return await upsert_newer(conn, company_directory, {"company": company}, values | {"version": version})


async def get_company(conn: AsyncConnection, company: str) -> DirectoryCompany | None:
    return await DIRECTORY.first(conn, company_directory.c.company == company)


async def company_names(conn: AsyncConnection, names: list[str]) -> dict[str, str]:
    """The Korean names of the companies named (companies/N), those the directory knows: one query."""
    if not names:
        return {}
    c = company_directory.c
    rows = await conn.execute(sa.select(c.company, c.korean_name).where(c.company.in_(names)))
    return {r.company: r.korean_name for r in rows}


async def display_names(
    conn: AsyncConnection, mentor_ids: set[int], type_ids: set[int], room_ids: set[int]
) -> tuple[dict[int, str], dict[int, str], dict[int, str]]:
    """The Korean names of the mentors and the display names of the session types and rooms asked: one query
    each for a whole page of sessions."""

    async def names(table: sa.Table, column: sa.Column[str], ids: set[int]) -> dict[int, str]:
        if not ids:
            return {}
        rows = await conn.execute(sa.select(table.c.id, column).where(table.c.id.in_(sorted(ids))))
        return {r[0]: r[1] for r in rows}

    return (
        await names(mentors, mentors.c.korean_name, mentor_ids),
        await names(session_types, session_types.c.display_name, type_ids),
        await names(rooms, rooms.c.display_name, room_ids),
    )
