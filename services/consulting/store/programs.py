"""Programs and their registrations, and the dashboard's figures."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.months import running_totals
from hubcore.rows import Rows, any_of
from services.consulting import domain
from services.consulting.domain import Period, Program, Registration
from services.consulting.store.tables import (
    action_items,
    mentors,
    program_attendees,
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
insert_registrations = REGISTRATIONS.insert_all  # an import's, in a few statements, with their ids in order


async def add_places(conn: AsyncConnection, program_id: int, count: int) -> None:
    """Counts count more registrations (an import that checked the places left with the program locked)."""
    c = programs.c
    await conn.execute(programs.update().where(c.id == program_id).values(registered_count=c.registered_count + count))


registrations_by_ids = REGISTRATIONS.by_ids


async def lock_program(conn: AsyncConnection, program_id: int) -> Program | None:
    """The program, its row locked until the transaction ends (PostgreSQL; SQLite's writers are serialized):
    two imports into one program take their turns, so each sees the people the other registered."""
    return await PROGRAMS.get(conn, program_id, lock=True)


async def program_registrations(conn: AsyncConnection, program_id: int) -> list[Registration]:
    """Every registration of the program, in the order made."""
    r = registrations.c
    return await REGISTRATIONS.all(conn, REGISTRATIONS.select(r.program_id == program_id).order_by(r.id))


async def list_registrations(
    conn: AsyncConnection, program_id: int, *, after: int | None, limit: int
) -> list[Registration]:
    return await REGISTRATIONS.list(conn, registrations.c.program_id == program_id, after=after, limit=limit)


async def set_registration_state(conn: AsyncConnection, registration_id: int, state: str) -> None:
    await conn.execute(registrations.update().where(registrations.c.id == registration_id).values(state=state))


async def attended_count(conn: AsyncConnection, program_id: int) -> int:
    """The different people who attended (its rows of program_attendees, refreshed first)."""
    query = sa.select(sa.func.count()).where(program_attendees.c.program_id == program_id)
    return int((await conn.execute(query)).scalar_one())


# Dashboard figures


def _person() -> Any:
    """Who attended, as one value: the email address (letter case aside), or the name and company without one."""
    r = registrations.c
    named = r.participant_name + "|" + sa.func.coalesce(sa.cast(r.company_id, sa.String), "")
    return sa.case((r.email != "", sa.func.lower(r.email)), else_=named)


def _within(period: Period | None, moment: Any = programs.c.start_at) -> tuple[Any, ...]:
    """Programs that started within the period ([start, end) in UTC), or every program without one (a trained
    person counts in the period when the class that made them trained started within it)."""
    return () if period is None else (moment >= period[0], moment < period[1])


async def refresh_attendees(conn: AsyncConnection, program_ids: list[int]) -> None:
    """Rewrites the programs' rows of program_attendees from their registrations: one per person who attended
    (a person registered twice at one program counts once there). In the transaction that changed them."""
    ids, r, a = sorted(set(program_ids)), registrations.c, program_attendees.c
    if not ids:
        return
    await conn.execute(program_attendees.delete().where(a.program_id.in_(ids)))
    came = sa.select(r.program_id, _person()).where(r.program_id.in_(ids), r.state == domain.ATTENDED).distinct()
    await conn.execute(program_attendees.insert().from_select(["program_id", "person"], came))
    people = sa.select(sa.func.count()).where(a.program_id == programs.c.id).scalar_subquery()
    await conn.execute(programs.update().where(programs.c.id.in_(ids)).values(attended_count=people))


def _presences(*where: Any) -> sa.Subquery:
    """One row per person and program attended, with the program's start (from program_attendees)."""
    a, p = program_attendees.c, programs.c
    return (
        sa.select(a.person, a.program_id, p.start_at)
        .select_from(program_attendees.join(programs, p.id == a.program_id))
        .where(*where)
        .subquery()
    )


def _trained(min_classes: int) -> sa.Select[Any]:
    """One row per person who attended at least min_classes education programs, with the start of the class
    that made them trained (their min_classes-th, in order of start)."""
    classes = _presences(programs.c.kind == "EDUCATION")
    if min_classes == 1:  # the first class: a grouped minimum, no sort by person and start
        return sa.select(sa.func.min(classes.c.start_at).label("first")).group_by(classes.c.person)
    order = sa.func.row_number().over(
        partition_by=classes.c.person, order_by=(classes.c.start_at, classes.c.program_id)
    )
    numbered = sa.select(classes.c.start_at, order.label("n")).subquery()
    return sa.select(numbered.c.start_at.label("first")).where(numbered.c.n == min_classes)


def _held(kinds: tuple[str, ...] | None = None) -> tuple[Any, ...]:
    p = programs.c
    return (p.attendance_recorded_at.is_not(None), *(() if kinds is None else (p.kind.in_(kinds),)))


async def month_totals(
    conn: AsyncConnection, months: list[tuple[str, datetime]], counting: domain.Counting
) -> list[domain.MonthTotals]:
    """The program figures at the end of each month (label, end): a program and its attendances count from
    its start, a person trained from the start of the class that made them trained."""
    p = programs.c
    ends = [end for _, end in months]
    first = _trained(counting.trained_min_classes).subquery().c.first
    queries = (
        sa.select(*running_totals(p.start_at, ends)).where(*_held()),
        sa.select(*running_totals(p.start_at, ends, weight=p.attended_count)).where(*_held()),
        sa.select(*running_totals(first, ends)),
        sa.select(*running_totals(p.start_at, ends)).where(*_held(counting.collaboration_kinds)),
    )
    rows = [(await conn.execute(q)).one() for q in queries]
    return [domain.MonthTotals(label, *(int(row[i]) for row in rows)) for i, (label, _) in enumerate(months)]


async def held_programs(
    conn: AsyncConnection, kinds: tuple[str, ...], period: Period | None
) -> list[domain.HeldProgram]:
    """The programs of these kinds held in the period, oldest first, each with the different people who came."""
    p = programs.c
    rows = await conn.execute(
        sa.select(p.id, p.display_name, p.kind, p.start_at, p.attended_count)
        .where(*_held(kinds), *_within(period))
        .order_by(p.start_at, p.id)
    )
    return [domain.HeldProgram(*row) for row in rows]


async def stats(
    conn: AsyncConnection, on: date, completed_before: datetime, counting: domain.Counting, period: Period | None
) -> domain.Stats:
    """The figures as of the day `on`, the program figures of the programs started within the period (all
    without one); feedback counts the sessions completed before completed_before (whose window for feedback
    has closed). Sessions are read from their counts (session_counts, served_companies),
    less the few completed since completed_before, so the cost does not grow with the sessions held."""
    s, t, a, f, n = (
        sessions.c,
        session_types.c,
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
    qualified = _trained(counting.trained_min_classes).subquery()
    recent = (s.state == domain.COMPLETED, s.completed_at >= completed_before)

    def count(*where: Any, of: Any = None, over: Any = None) -> Any:
        query = sa.select(sa.func.coalesce(of, 0) if of is not None else sa.func.count())
        return (query.select_from(over) if over is not None else query).where(*where).scalar_subquery()

    figures = (
        await conn.execute(
            sa.select(
                count(*_held(), *_within(period), over=programs),
                count(*_held(), *_within(period), of=sa.func.sum(programs.c.attended_count), over=programs),
                count(over=sa.select(_presences(*_within(period)).c.person).distinct().subquery()),
                count(*_within(period, qualified.c.first), over=qualified),
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
    held, participants, distinct, trained, served, all_mentors, open_items, overdue, active, due, on_time = map(
        int, figures
    )
    collaboration = await held_programs(conn, counting.collaboration_kinds, period)
    return domain.Stats(
        by_type=[domain.TypeCount(*row) for row in by_type],
        programs_held=held, participants=participants, people_trained=trained, companies_served=served,
        mentors=all_mentors, open_action_items=open_items, overdue_action_items=overdue, active_mentors=active,
        feedback_due=due, feedback_on_time=on_time, distinct_participants=distinct,
        collaboration_programs=collaboration, counting=counting,
    )  # fmt: skip
