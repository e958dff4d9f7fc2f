"""Use cases of programs (events with a room and places), their registrations and attendance, and the
dashboard's figures."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

from hubcore import errors
from hubcore.db import Database, UnitOfWork, now
from hubcore.months import last_months
from hubcore.settings import CountingSettings
from services.consulting import convert, domain, store
from services.consulting.usecases.booking import SUBJECT, Pending, load, reserve


async def create_program(uow: UnitOfWork, pending: Pending, program: domain.Program, room: domain.Ref | None
                         ) -> domain.Program:  # fmt: skip
    """Creates a program, booking its room for its time; run inside booking()."""
    if room is not None:
        await load(uow.conn, store.get_room, room, "Room")
    made = await store.insert_program(uow.conn, program)
    if made.room_id is not None:
        await reserve(uow, pending, made.name, [(f"rooms/{made.room_id}", made.start, made.end)])
    return made


async def get_program(db: Database, ref: domain.Ref) -> domain.Program:
    async with db.read() as conn:
        return await load(conn, store.get_program, ref, "Program")


async def list_programs(db: Database, *, kinds: list[str], after: int | None, limit: int) -> list[domain.Program]:
    async with db.read() as conn:
        return await store.list_programs(conn, kinds=kinds, after=after, limit=limit)


async def create_registration(
    uow: UnitOfWork, program: domain.Ref, registration: domain.Registration, company: str
) -> domain.Registration:
    """Registers someone (of company, when not "") for a program with a place left."""
    found = await load(uow.conn, store.get_program, program, "Program")
    if company and await store.get_company(uow.conn, company) is None:
        raise errors.NotFound("Company", company)  # a typo would count for no one
    if not await store.take_place(uow.conn, program.id):
        domain.check_capacity(replace(found, registered_count=found.capacity))
    return await store.insert_registration(uow.conn, registration)


async def list_registrations(
    db: Database, program_id: int, *, after: int | None, limit: int
) -> list[domain.Registration]:
    async with db.read() as conn:
        return await store.list_registrations(conn, program_id, after=after, limit=limit)


async def record_attendance(
    uow: UnitOfWork, ref: domain.Ref, marks: dict[int, bool]
) -> tuple[domain.Program, list[domain.Registration]]:
    """Marks registrations (by number) attended or absent, once the program has begun."""
    conn = uow.conn
    program = await load(conn, store.get_program, ref, "Program")
    domain.check_attendance(program, now())
    found = await store.registrations_by_ids(conn, list(marks))
    for i, number in enumerate(marks):
        if number not in found or found[number].program_id != program.id:
            raise errors.invalid(f"marks[{i}].registration", f"is not a registration of {program.name}")
    updated = []
    for number, attended in marks.items():
        state = domain.ATTENDED if attended else domain.ABSENT
        await store.set_registration_state(conn, number, state)
        updated.append(replace(found[number], state=state))
    await store.refresh_attendees(conn, [program.id])
    program = replace(
        program,
        attended_count=await store.attended_count(conn, program.id),
        attendance_recorded_at=now(),
        version=program.version + 1,
    )
    await store.save_program_counts(conn, program, expected_version=program.version - 1)
    await uow.emit(f"{SUBJECT}.program.attendance_recorded", program.name, program.version,
                   convert.attendance_recorded(program, updated))  # fmt: skip
    return program, updated


def counting() -> domain.Counting:
    """What the targets' figures count, from the settings (read per call; __main__ checks them at start-up)."""
    settings = CountingSettings.from_env()
    return domain.Counting(settings.trained_min_classes, settings.collaboration_kinds)


async def stats(
    db: Database, on: date, months: int, period: domain.Period | None, counting: domain.Counting
) -> domain.Stats:
    """The dashboard's figures as of the day `on` (the program figures within the targets' period, when one is
    given), with their running totals over the last `months` months."""
    async with db.read() as conn:
        figures = await store.stats(conn, on, now() - domain.FEEDBACK_WINDOW, counting, period)
        return replace(figures, by_month=await store.month_totals(conn, last_months(months, on), counting))
