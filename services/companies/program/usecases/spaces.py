"""Spaces' use cases: the offices and desks, assigning them to companies (which become residents), ending a stay,
and the occupancy."""

from __future__ import annotations

from datetime import date

from sqlalchemy.exc import IntegrityError

from hubcore import errors
from hubcore.convert import seoul_today
from hubcore.db import Database, UnitOfWork
from services.companies.program import domain, store
from services.companies.program.usecases.common import SUBJECT, active_company
from services.companies.registry import usecases as registry
from services.companies.registry.convert import residency_event
from services.companies.registry.domain import RESIDENT


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
    uow: UnitOfWork, stay: domain.Assignment, *, space_name: str, company_name: str
) -> domain.Assignment:
    """Assigns a free space for the stay's [move_in, move_out) to an active company, which becomes RESIDENT (the
    names as the caller wrote them, for the messages)."""
    if await store.get_space(uow.conn, stay.space_id) is None:
        raise errors.NotFound("Space", space_name)
    company = await active_company(uow.conn, company_name, "assignment.company")
    try:
        assigned = await store.assign_space(
            uow.conn, space_id=stay.space_id, company_id=stay.company_id, move_in=stay.move_in, move_out=stay.move_out
        )
    except store.SpaceTaken as taken:
        raise errors.FailedPrecondition(
            f"{space_name} is assigned to companies/{taken.company_id} for an overlapping period "
            f"(assignments/{taken.assignment})",
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
    if company.status != RESIDENT:
        await registry.change_status(uow, company, RESIDENT, f"moved into {assigned.label}", today=seoul_today())
    await uow.emit(f"{SUBJECT}.residency.moved_in", assigned.name, 1, residency_event(assigned))
    return assigned


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
        company = await active_company(uow.conn, f"companies/{ended.company_id}", "name")
        if company.status != reason:
            await registry.change_status(uow, company, reason, f"moved out of {ended.label}", today=seoul_today())
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
