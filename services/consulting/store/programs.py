"""Programs and their registrations, and the dashboard's figures."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.months import running_totals
from hubcore.rows import Rows, any_of
from services.consulting import domain
from services.consulting.domain import Program, Registration
from services.consulting.store.tables import (
    action_items,
    mentors,
    programs,
    registrations,
    served_companies,
    session_counts,
    session_feedback,
    session_types,
    sessions,
)

# Programs and registrations


PROGRAMS = Rows(programs, Program, columns={"start": "start_at", "end": "end_at"})
REGISTRATIONS = Rows(registrations, Registration)

get_program = PROGRAMS.get
insert_program = PROGRAMS.insert
save_program_counts = PROGRAMS.save  # the counts and the attendance, at the next version


async def list_programs(conn: AsyncConnection, *, kinds: list[str], after: int | None, limit: int) -> list[Program]:
    return await PROGRAMS.list(conn, *any_of((programs.c.kind, kinds or None)), after=after, limit=limit)


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


insert_registration = REGISTRATIONS.insert
registrations_by_ids = REGISTRATIONS.by_ids


async def list_registrations(
    conn: AsyncConnection, program_id: int, *, after: int | None, limit: int
) -> list[Registration]:
    return await REGISTRATIONS.list(conn, registrations.c.program_id == program_id, after=after, limit=limit)


async def set_registration_state(conn: AsyncConnection, registration_id: int, state: str) -> None:
    await conn.execute(registrations.update().where(registrations.c.id == registration_id).values(state=state))


async def attended_count(conn: AsyncConnection, program_id: int) -> int:
    c = registrations.c
    query = sa.select(sa.func.count()).where(c.program_id == program_id, c.state == domain.ATTENDED)
    return int((await conn.execute(query)).scalar_one())


# Dashboard figures


def _person() -> Any:
    """Who attended, as one value: the email address (letter case aside), or the name and company without one."""
    r = registrations.c
    named = r.participant_name + "|" + sa.func.coalesce(sa.cast(r.company_id, sa.String), "")
    return sa.case((r.email != "", sa.func.lower(r.email)), else_=named)


_ATTENDED = registrations.join(programs, registrations.c.program_id == programs.c.id)


def _trained() -> sa.Select[Any]:
    """One row per person who attended an education program, with the start of the first they attended."""
    r, p = registrations.c, programs.c
    first = sa.func.min(p.start_at).label("first")
    return (
        sa.select(first)
        .select_from(_ATTENDED)
        .where(r.state == domain.ATTENDED, p.kind == "EDUCATION")
        .group_by(_person())
    )


async def month_totals(conn: AsyncConnection, months: list[tuple[str, datetime]]) -> list[domain.MonthTotals]:
    """The program figures at the end of each month (label, end): a program and its attendances count from
    its start, a person trained from the start of their first education program attended."""
    r, p = registrations.c, programs.c
    ends = [end for _, end in months]
    first = _trained().subquery().c.first
    held = sa.select(*running_totals(p.start_at, ends)).where(p.attendance_recorded_at.is_not(None))
    attended = sa.select(*running_totals(p.start_at, ends)).select_from(_ATTENDED).where(r.state == domain.ATTENDED)
    rows = [(await conn.execute(q)).one() for q in (held, attended, sa.select(*running_totals(first, ends)))]
    return [
        domain.MonthTotals(label, int(rows[0][i]), int(rows[1][i]), int(rows[2][i]))
        for i, (label, _) in enumerate(months)
    ]


async def stats(conn: AsyncConnection, on: date, completed_before: datetime) -> domain.Stats:
    """The figures as of the day `on`; feedback counts the sessions completed before completed_before (whose
    window for feedback has closed). Sessions are read from their counts (session_counts, served_companies),
    less the few completed since completed_before, so the cost does not grow with the sessions held."""
    s, t, r, p, a, f, n = (
        sessions.c,
        session_types.c,
        registrations.c,
        programs.c,
        action_items.c,
        session_feedback.c,
        session_counts.c,
    )
    by_type = await conn.execute(
        sa.select(t.id, t.display_name, t.category, n.state, sa.func.coalesce(n.sessions, 0))
        .select_from(session_types.outerjoin(session_counts, sa.and_(n.session_type_id == t.id, n.sessions > 0)))
        .order_by(t.id, n.state)
    )
    completed = n.state == domain.COMPLETED
    recent = (s.state == domain.COMPLETED, s.completed_at >= completed_before)

    def count(*where: Any, of: Any = None, over: Any = None) -> Any:
        query = sa.select(sa.func.coalesce(of, 0) if of is not None else sa.func.count())
        return (query.select_from(over) if over is not None else query).where(*where).scalar_subquery()

    figures = (
        await conn.execute(
            sa.select(
                count(p.attendance_recorded_at.is_not(None)),
                count(r.state == domain.ATTENDED),
                count(over=_trained().subquery()),
                count(over=served_companies),
                count(over=mentors),
                count(a.state == domain.OPEN),
                count(a.state == domain.OPEN, a.due_date < on),
                count(mentors.c.deactivated_at.is_(None)),
                count(completed, of=sa.func.sum(n.sessions)) - count(*recent),
                count(completed, of=sa.func.sum(n.on_time_feedback))
                - count(*recent, f.on_time.is_(True), over=sessions.join(session_feedback, f.session_id == s.id)),
            )
        )
    ).one()
    held, participants, trained, served, all_mentors, open_items, overdue, active, due, on_time = map(int, figures)
    return domain.Stats(
        by_type=[domain.TypeCount(*row) for row in by_type],
        programs_held=held, participants=participants, people_trained=trained, companies_served=served,
        mentors=all_mentors, open_action_items=open_items, overdue_action_items=overdue, active_mentors=active,
        feedback_due=due, feedback_on_time=on_time,
    )  # fmt: skip
