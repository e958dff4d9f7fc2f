"""Programs and their registrations, and the dashboard's figures."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import now, save_versioned
from services.consulting import domain
from services.consulting.domain import (
    Program,
    Registration,
)
from services.consulting.store.tables import (
    Row,
    action_items,
    by_id,
    insert,
    mentors,
    programs,
    registrations,
    session_types,
    sessions,
    utc,
)

# Programs and registrations


def to_program(row: Row) -> Program:
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
        attendance_recorded_at=utc(row.attendance_recorded_at),
        created_at=utc(row.created_at),
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
    new_id = await insert(conn, programs, values)
    return replace(p, id=new_id, created_at=stamp)


async def get_program(conn: AsyncConnection, program_id: int) -> Program | None:
    row = (await conn.execute(sa.select(programs).where(programs.c.id == program_id))).first()
    return to_program(row) if row else None


async def list_programs(conn: AsyncConnection, *, kinds: list[str], after: int | None, limit: int) -> list[Program]:
    where = [programs.c.kind.in_(kinds)] if kinds else []
    return [to_program(r) for r in await conn.execute(by_id(programs, *where, after=after, limit=limit))]


async def save_program_counts(conn: AsyncConnection, p: Program, *, expected_version: int) -> None:
    values = {
        "registered_count": p.registered_count,
        "attended_count": p.attended_count,
        "attendance_recorded_at": p.attendance_recorded_at,
        "version": p.version,
    }
    await save_versioned(conn, programs, p.id, expected_version, values, name=p.name)


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


def to_registration(row: Row) -> Registration:
    return Registration(
        id=row.id,
        program_id=row.program_id,
        participant_name=row.participant_name,
        email=row.email,
        company_id=row.company_id,
        state=row.state,
        created_at=utc(row.created_at),
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
    new_id = await insert(conn, registrations, values)
    return replace(r, id=new_id, created_at=stamp)


async def list_registrations(
    conn: AsyncConnection, program_id: int, *, after: int | None, limit: int
) -> list[Registration]:
    rows = await conn.execute(by_id(registrations, registrations.c.program_id == program_id, after=after, limit=limit))
    return [to_registration(r) for r in rows]


async def registrations_by_ids(conn: AsyncConnection, ids: list[int]) -> dict[int, Registration]:
    rows = await conn.execute(sa.select(registrations).where(registrations.c.id.in_(ids)))
    return {r.id: to_registration(r) for r in rows}


async def set_registration_state(conn: AsyncConnection, registration_id: int, state: str) -> None:
    await conn.execute(registrations.update().where(registrations.c.id == registration_id).values(state=state))


async def attended_count(conn: AsyncConnection, program_id: int) -> int:
    c = registrations.c
    query = sa.select(sa.func.count()).where(c.program_id == program_id, c.state == domain.ATTENDED)
    return int((await conn.execute(query)).scalar_one())


# Dashboard figures


async def stats(conn: AsyncConnection, on: date) -> domain.Stats:
    s, t, r, p, a = sessions.c, session_types.c, registrations.c, programs.c, action_items.c
    by_type = await conn.execute(
        sa.select(t.id, t.display_name, t.category, s.state, sa.func.count(s.id))
        .select_from(session_types.outerjoin(sessions, s.session_type_id == t.id))
        .group_by(t.id, t.display_name, t.category, s.state)
        .order_by(t.id)
    )

    async def count(query: sa.Select[Any]) -> int:
        return int((await conn.execute(query)).scalar_one())

    return domain.Stats(
        by_type=[domain.TypeCount(*row) for row in by_type],
        programs_held=await count(sa.select(sa.func.count()).where(p.attendance_recorded_at.is_not(None))),
        participants=await count(sa.select(sa.func.count()).where(r.state == domain.ATTENDED)),
        people_trained=await count(
            sa.select(sa.func.count())
            .select_from(registrations.join(programs, r.program_id == p.id))
            .where(r.state == domain.ATTENDED, p.kind == "EDUCATION")
        ),
        companies_served=await count(
            sa.select(sa.func.count(sa.distinct(s.company_id))).where(s.state == domain.COMPLETED)
        ),
        mentors=await count(sa.select(sa.func.count()).select_from(mentors)),
        open_action_items=await count(sa.select(sa.func.count()).where(a.state == domain.OPEN)),
        overdue_action_items=await count(sa.select(sa.func.count()).where(a.state == domain.OPEN, a.due_date < on)),
    )
