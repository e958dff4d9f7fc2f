"""Use case: the free slots of mentors (named, or everyone with an expertise tag), with a room and the
company free too when asked."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import Database, now
from services.consulting import domain, store
from services.consulting.usecases.booking import load


async def find_available_slots(db: Database, search: domain.SlotSearch) -> tuple[list[domain.Slot], bool]:
    """The first `limit` slots in (start, mentor) order, and whether there were more."""
    async with db.read() as conn:
        kind = (
            await load(conn, store.get_session_type, search.session_type, "SessionType")
            if search.session_type
            else None
        )
        if search.company and await store.get_company(conn, search.company) is None:
            raise errors.NotFound("Company", search.company)  # as ScheduleSession would: no slots for no one
        if search.duration is not None:
            duration = search.duration
        elif kind is not None:
            duration = kind.default_duration
        else:
            raise errors.invalid("duration", "is required without a session_type")
        if not domain.MIN_SESSION <= duration <= domain.MAX_SESSION:
            raise errors.invalid("duration", "must be from 5 minutes to 12 hours")
        if search.mentors:
            found = await store.mentors_by_ids(conn, [m.id for m in search.mentors])
            for ref in search.mentors:
                if ref.id not in found:
                    raise errors.NotFound("Mentor", ref.name)
            # A deactivated mentor cannot be booked: no free time of theirs is offered.
            mentors = [found[m] for m in dict.fromkeys(m.id for m in search.mentors) if found[m].active]
        else:
            mentors = await store.mentors_with_tag(conn, search.tag)
        ids = [m.id for m in mentors]
        exceptions = await store.exceptions_between(conn, ids, search.start, search.end)
        rooms = []
        if search.room is not None:
            rooms = [await load(conn, store.get_room, search.room, "Room")]
        elif search.need_room:
            rooms = await store.all_rooms(conn, search.min_room_capacity)
        available = {
            m.id: domain.available_periods(m, exceptions.get(m.id, []), search.start, search.end) for m in mentors
        }
        slots: list[domain.Slot] = []
        # The window in parts of 1, 2, 4… days, earliest first: a page is usually full within the first, and then
        # the bookings of the rest of the window are never read (a month of a busy calendar is thousands).
        part_start, days = search.start, 1
        while part_start < search.end and len(slots) <= search.limit:
            part_end = min(part_start + timedelta(days=days), search.end)
            part = await _slots_starting_in(
                conn, search, mentors, rooms, available, duration, kind, part_start, part_end
            )
            slots += part[: search.limit + 1 - len(slots)]
            part_start, days = part_end, days * 2
    return slots[: search.limit], len(slots) > search.limit


async def _slots_starting_in(
    conn: AsyncConnection, search: domain.SlotSearch, mentors: list[domain.Mentor], rooms: list[domain.Room],
    available: dict[int, list[domain.Period]], duration: timedelta, kind: domain.SessionType | None,
    start: datetime, end: datetime,
) -> list[domain.Slot]:  # fmt: skip
    """The free slots that start in [start, end), in (start, mentor) order; their bookings are read up to the
    end of the last such slot, and as far again as buffers reach (bookings carry their own)."""
    reach = domain.MAX_BUFFER * 2
    company = [search.company] if search.company else []
    resources = [m.name for m in mentors] + [r.name for r in rooms] + company
    busy = await store.busy_between(conn, resources, start - reach, end + duration + reach)
    room_busy = {r.id: domain.Busy.of(busy[r.name]) for r in rooms} if (rooms or search.need_room) else None
    slots: list[domain.Slot] = []
    for mentor in mentors:
        slots += domain.find_slots(
            mentor_id=mentor.id,
            available=available[mentor.id],
            mentor_busy=domain.Busy.of(busy[mentor.name]),
            duration=duration,
            buffer_before=kind.buffer_before if kind else timedelta(0),
            buffer_after=kind.buffer_after if kind else timedelta(0),
            step=search.step,
            not_before=max(now(), start),
            company_busy=domain.Busy.of(busy[search.company]) if search.company else None,
            rooms=room_busy,
            limit=search.limit + 1,
            starts_before=end,
        )
    slots.sort(key=lambda s: (s.start, s.mentor_id))
    return slots
