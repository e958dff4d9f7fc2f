"""Spaces and assignments, as domain objects. No two assignments of one space overlap in time: on PostgreSQL an
exclusion constraint refuses what a concurrent writer slipped in (see services/companies/tables.py, NO_OVERLAP);
on SQLite writers are serialized and assign_space() checks in the same transaction as its insert."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.rows import Rows
from services.companies.program.domain import Assignment, Space
from services.companies.program.domain.spaces import holder_name
from services.companies.tables import NO_OVERLAP, assignments, spaces

SPACES = Rows(spaces, Space)
ASSIGNMENTS = Rows(assignments, Assignment)  # read with their space's kind and label (_assignment_query)

get_space = SPACES.get


async def insert_space(conn: AsyncConnection, kind: str, label: str, floor: int, seats: int) -> Space:
    return await SPACES.insert(conn, Space(0, kind, label, floor, seats))


async def find_space(conn: AsyncConnection, label: str) -> Space | None:
    return await SPACES.first(conn, spaces.c.label == label)


async def list_spaces(conn: AsyncConnection) -> list[Space]:
    return await SPACES.all(conn, SPACES.select().order_by(spaces.c.kind.desc(), spaces.c.label))


async def space_totals(conn: AsyncConnection) -> dict[str, int]:
    rows = await conn.execute(sa.select(spaces.c.kind, sa.func.count()).group_by(spaces.c.kind))
    return {k: int(n) for k, n in rows.all()}


class SpaceTaken(Exception):
    """Another assignment holds the space for an overlapping period (its holder: companies/3 or people/7)."""

    def __init__(self, assignment: int, holder: str) -> None:
        super().__init__(f"assignments/{assignment}")
        self.assignment = assignment
        self.holder = holder


def is_overlap(exc: IntegrityError) -> bool:
    """The exclusion constraint refused an overlapping assignment (SQLSTATE 23P01)."""
    return getattr(exc.orig, "sqlstate", None) == "23P01" or NO_OVERLAP in str(exc.orig)


def to_assignment(row: Any) -> Assignment:
    return ASSIGNMENTS.load(row, kind=row.kind, label=row.label)


def _assignment_query() -> sa.Select[Any]:
    """Assignments with their space's kind and label."""
    return sa.select(assignments, spaces.c.kind, spaces.c.label).join(spaces, spaces.c.id == assignments.c.space_id)


async def find_overlap(
    conn: AsyncConnection, space_id: int, move_in: date, move_out: date | None
) -> tuple[int, str] | None:
    """(assignment id, holder's name) of the first assignment of the space that overlaps [move_in, move_out)."""
    c = assignments.c
    query = sa.select(c.id, c.company_id, c.person_id).where(
        c.space_id == space_id,
        sa.or_(c.move_out.is_(None), c.move_out > move_in),
        *([c.move_in < move_out] if move_out is not None else []),
    )
    row = (await conn.execute(query.order_by(c.move_in).limit(1))).first()
    return (row.id, holder_name(row.company_id, row.person_id)) if row else None


async def assign_space(
    conn: AsyncConnection,
    *,
    space_id: int,
    company_id: int | None,
    move_in: date,
    move_out: date | None,
    person_id: int | None = None,
) -> Assignment:
    """Checks and inserts in one transaction (serialized on SQLite; on PostgreSQL the exclusion constraint
    refuses what a concurrent writer slipped in, as an IntegrityError that is_overlap() recognizes)."""
    holder = await find_overlap(conn, space_id, move_in, move_out)
    if holder is not None:
        raise SpaceTaken(*holder)
    new = await ASSIGNMENTS.insert(conn, Assignment(0, space_id, company_id, move_in, move_out, person_id=person_id))
    found = await get_assignment(conn, new.id)
    assert found is not None
    return found


async def get_assignment(conn: AsyncConnection, assignment_id: int, *, lock: bool = False) -> Assignment | None:
    query = _assignment_query().where(assignments.c.id == assignment_id)
    row = (await conn.execute(query.with_for_update(of=assignments) if lock else query)).first()
    return to_assignment(row) if row else None


async def end_assignment(conn: AsyncConnection, assignment_id: int, move_out: date, reason: str) -> None:
    await conn.execute(
        assignments.update().where(assignments.c.id == assignment_id).values(move_out=move_out, move_out_reason=reason)
    )


async def open_assignments(
    conn: AsyncConnection, company_id: int | None, day: date, *, person_id: int | None = None
) -> list[Assignment]:
    """The holder's (a company's, or with person_id an individual's) assignments not ended (no move-out reason)
    that hold a space on or after day, locked."""
    c = assignments.c
    holder = c.company_id == company_id if person_id is None else c.person_id == person_id
    query = _assignment_query().where(holder, c.move_out_reason == "", sa.or_(c.move_out.is_(None), c.move_out > day))
    return [to_assignment(r) for r in await conn.execute(query.order_by(c.id).with_for_update(of=assignments))]


async def active_assignments(conn: AsyncConnection, day: date) -> list[Assignment]:
    """The assignments that hold their space on day, by the space's label."""
    c = assignments.c
    query = _assignment_query().where(c.move_in <= day, sa.or_(c.move_out.is_(None), c.move_out > day))
    return [to_assignment(r) for r in await conn.execute(query.order_by(spaces.c.label))]


async def assignments_between(conn: AsyncConnection, first: date, last: date) -> list[Assignment]:
    """Assignments that hold their space at some day from first to last."""
    c = assignments.c
    query = _assignment_query().where(c.move_in <= last, sa.or_(c.move_out.is_(None), c.move_out > first))
    return [to_assignment(r) for r in await conn.execute(query)]


async def move_in_cohorts(conn: AsyncConnection) -> dict[int, int]:
    """company -> the year of its first move-in."""
    c = assignments.c
    query = sa.select(c.company_id, sa.func.min(c.move_in)).where(c.company_id.is_not(None)).group_by(c.company_id)
    return {int(company): first.year for company, first in (await conn.execute(query)).all()}


async def all_assignments(conn: AsyncConnection) -> list[Assignment]:
    """Every stay, with its space's kind and label, in id order (a graduate's last move-out may be years old)."""
    return [to_assignment(r) for r in await conn.execute(_assignment_query().order_by(assignments.c.id))]


async def graduations(conn: AsyncConnection) -> dict[int, date]:
    """company -> the day it graduated: its last move-out with reason GRADUATED."""
    a = assignments.c
    query = sa.select(a.company_id, sa.func.max(a.move_out)).where(
        a.move_out_reason == "GRADUATED", a.company_id.is_not(None)
    )
    rows = (await conn.execute(query.group_by(a.company_id))).all()
    return {int(company): day for company, day in rows if day is not None}


async def due_move_ins(conn: AsyncConnection, day: date) -> list[Assignment]:
    """The stays that hold their space on day (not ended), for the clock that makes their holders resident on the
    day of the move-in; the holders already resident are filtered by the caller."""
    c = assignments.c
    query = _assignment_query().where(
        c.move_in <= day, c.move_out_reason == "", sa.or_(c.move_out.is_(None), c.move_out > day)
    )
    return [to_assignment(r) for r in await conn.execute(query.order_by(c.move_in, c.id))]


async def held_by_person(conn: AsyncConnection, person_id: int) -> bool:
    """Whether the person has ever been assigned a space."""
    found = await conn.execute(sa.select(assignments.c.id).where(assignments.c.person_id == person_id).limit(1))
    return found.first() is not None
