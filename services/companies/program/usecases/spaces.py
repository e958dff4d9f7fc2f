"""Spaces' use cases: the offices and desks, assigning them to companies or individual residents (who become
residents on the day of the move-in), ending a stay, the clock that moves holders in on the day, and the
occupancy."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.convert import seoul_today
from hubcore.db import Database, UnitOfWork
from hubcore.requests import parse_name
from hubcore.resources import found
from services.companies.program import domain, store
from services.companies.program.usecases.common import SUBJECT, active_company
from services.companies.registry import store as people
from services.companies.registry import usecases as registry
from services.companies.registry.convert import residency_event
from services.companies.registry.domain import RESIDENT, SELECTED, Company, Person

log = structlog.get_logger()
MOVE_IN_EVERY_SECONDS = 600.0  # the clock that makes a future move-in's holder resident on its day


async def individual(conn: AsyncConnection, name: str, field: str) -> Person:
    """The individual resident named (people/7): a person with role INDIVIDUAL, not erased."""
    person = found(await people.get_person(conn, parse_name(name, "people", field)), "Person", name)
    person.require_individual()
    return person


async def holder_of(conn: AsyncConnection, stay: domain.Assignment, name: str, field: str) -> Company | Person:
    """The stay's holder: the active company or the individual resident (name as the caller wrote it)."""
    if stay.person_id is not None:
        return await individual(conn, name, field)
    return await active_company(conn, name, field)


def status_of(holder: Company | Person) -> str:
    """The lifecycle status of a company or an individual resident."""
    return holder.status if isinstance(holder, Company) else holder.residency


async def become_resident(uow: UnitOfWork, holder: Company | Person, reason: str, *, today: date) -> None:
    """The holder's move-in day has come: RESIDENT (once), with its status event."""
    if isinstance(holder, Company):
        if holder.status != RESIDENT:
            await registry.change_status(uow, holder, RESIDENT, reason, today=today)
    elif holder.residency != RESIDENT:
        await registry.change_person_status(uow, holder, RESIDENT, reason, today=today)


async def create_space(uow: UnitOfWork, space: domain.Space) -> domain.Space:
    """A space with a label of its own."""
    exists = errors.AlreadyExists("Space", space.label, f"a space labelled {space.label!r} exists")
    if await store.find_space(uow.conn, space.label) is not None:
        raise exists
    try:
        return await store.insert_space(uow.conn, space.kind, space.label, space.floor, space.seats)
    except IntegrityError:  # the same label created at the same moment
        raise exists from None


async def list_spaces(db: Database) -> list[domain.Space]:
    async with db.read() as conn:
        return await store.list_spaces(conn)


async def assign_space(
    uow: UnitOfWork, stay: domain.Assignment, *, space_name: str, holder_name: str, holder_field: str
) -> domain.Assignment:
    """Assigns a free space for the stay's [move_in, move_out) to its holder: an active company or an individual
    resident, selected or resident (the names as the caller wrote them, for the messages). The holder becomes
    RESIDENT at once when the move-in is today or past (Asia/Seoul), on its day when it is in the future
    (move_in_loop)."""
    if await store.get_space(uow.conn, stay.space_id) is None:
        raise errors.NotFound("Space", space_name)
    holder = await holder_of(uow.conn, stay, holder_name, holder_field)
    today = seoul_today()
    try:
        assigned = await store.assign_space(
            uow.conn, space_id=stay.space_id, company_id=stay.company_id, person_id=stay.person_id,
            move_in=stay.move_in, move_out=stay.move_out,
        )  # fmt: skip
    except store.SpaceTaken as taken:
        raise errors.FailedPrecondition(
            f"{space_name} is assigned to {taken.holder} for an overlapping period (assignments/{taken.assignment})",
            type_="SPACE_TAKEN",
            subject=space_name,
        ) from None
    except IntegrityError as exc:  # PostgreSQL's exclusion constraint: a concurrent writer won after our check
        if not store.is_overlap(exc):
            raise
        raise errors.FailedPrecondition(
            f"{space_name} was assigned for an overlapping period at the same moment; look at the occupancy again",
            type_="SPACE_TAKEN",
            subject=space_name,
        ) from None
    if not domain.starts_later(assigned, today):
        await become_resident(uow, holder, f"moved into {assigned.label}", today=today)
    elif status_of(holder) != RESIDENT:
        holder.transition(RESIDENT)  # refused now, not on the day, if the lifecycle does not allow it
    await uow.emit(f"{SUBJECT}.residency.moved_in", assigned.name, 1, residency_event(assigned))
    return assigned


async def move_in_due(db: Database, *, today: date) -> int:
    """Makes the SELECTED holders of the stays that hold their space today RESIDENT (a move-in that was dated in
    the future), each in its own transaction with its status event; how many became resident."""
    async with db.read() as conn:
        due = await store.due_move_ins(conn, today)
    moved = 0
    for stay in due:
        async with db.write(actor="service:companies") as uow:
            holder: Company | Person | None
            if stay.person_id is not None:
                holder = await people.get_person(uow.conn, stay.person_id)
            else:
                holder = await people.get_company(uow.conn, stay.company_id or 0)
            # Only a SELECTED holder moves in on the day: a resident already is, and one that left (or an
            # archived or erased one) is not moved back by an old booking.
            if holder is None or status_of(holder) != SELECTED or getattr(holder, "deleted_at", None) is not None:
                continue
            if getattr(holder, "erased_at", None) is not None:
                continue
            await become_resident(uow, holder, f"moved into {stay.label} on {stay.move_in}", today=today)
            moved += 1
    return moved


def move_in_loop(db: Database, every: float = MOVE_IN_EVERY_SECONDS) -> Callable[[], Awaitable[None]]:
    """The clock: on the day of a move-in dated in the future, its holder becomes RESIDENT."""

    async def run() -> None:
        while True:
            try:
                moved = await move_in_due(db, today=seoul_today())
                if moved:
                    log.info("holders moved in on their day", count=moved)
            except (IntegrityError, errors.FailedPrecondition) as exc:  # another replica moved them at the same moment
                log.info("moving holders in raced another replica; the clock tries again", error=str(exc))
            await asyncio.sleep(every)

    return run


async def end_assignment(
    uow: UnitOfWork, assignment_id: int, *, name: str, move_out: date, reason: str
) -> domain.Assignment:
    """Ends a stay on move_out; graduating or withdrawing moves the company's status along."""
    found = await store.get_assignment(uow.conn, assignment_id, lock=True)
    if found is None:
        raise errors.NotFound("Assignment", name)
    found.check_end(move_out, name=name)
    await store.end_assignment(uow.conn, assignment_id, move_out, reason)
    ended = await store.get_assignment(uow.conn, assignment_id)
    assert ended is not None
    if reason in domain.FINAL_MOVE_OUTS:
        holder = await holder_of(uow.conn, ended, ended.holder, "name")
        why = f"moved out of {ended.label}"
        if isinstance(holder, Company):
            if holder.status != reason:
                await registry.change_status(uow, holder, reason, why, today=seoul_today())
        elif holder.residency != reason:
            await registry.change_person_status(uow, holder, reason, why, today=seoul_today())
    await uow.emit(f"{SUBJECT}.residency.moved_out", name, 2, residency_event(ended))
    return ended


async def occupancy(db: Database, day: date) -> domain.Occupancy:
    async with db.read() as conn:
        active = await store.active_assignments(conn, day)
        totals = await store.space_totals(conn)
    return domain.occupancy(day, active, totals)


async def occupancy_history(db: Database, start: date | None, months: int, *, today: date) -> list[domain.Occupancy]:
    """The occupancy on the first day of each of the months from start's (by default, up to today's)."""
    points = domain.history_points(start, months, today)
    async with db.read() as conn:
        held = await store.assignments_between(conn, points[0], points[-1])
        totals = await store.space_totals(conn)
    return domain.history(points, held, totals)
