"""FindAvailableSlots reads the window part by part (1, 2, 4… days) and stops once a page is full: its answer is
the same as the first `page_size` slots of the whole window computed at once, whatever the page size, with slots
that cross from one part into the next, bookings just past a part's end, rooms and a company to keep free."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.type import date_pb2
from hub.consulting.v1 import consulting_pb2 as pb

from hubcore.db import now
from services.consulting import convert, domain, store
from tests.conftest import ADMIN, RunningConsulting
from tests.integration.consulting_world import (
    future_monday,
    interval,
    know_company,
    make_mentor,
    make_room,
    make_type,
    schedule_request,
)


async def whole_window(c: RunningConsulting, request: pb.FindAvailableSlotsRequest) -> list[tuple[datetime, int]]:
    """The slots as the search computed them before it read by parts: every booking of the window at once,
    every mentor's slots, sorted; the first page_size of them."""
    search = convert.slot_search(request)
    async with c.runtime.db.read() as conn:
        kind = await store.get_session_type(conn, search.session_type.id) if search.session_type else None
        mentors = list((await store.mentors_by_ids(conn, [m.id for m in search.mentors])).values())
        exceptions = await store.exceptions_between(conn, [m.id for m in mentors], search.start, search.end)
        rooms = await store.all_rooms(conn, search.min_room_capacity) if search.need_room else []
        resources = [m.name for m in mentors] + [r.name for r in rooms] + ([search.company] if search.company else [])
        reach = domain.MAX_BUFFER * 2
        busy = await store.busy_between(conn, resources, search.start - reach, search.end + reach)
    duration = search.duration or (kind.default_duration if kind else timedelta(0))
    found: list[domain.Slot] = []
    for mentor in mentors:
        found += domain.find_slots(
            mentor_id=mentor.id,
            available=domain.available_periods(mentor, exceptions.get(mentor.id, []), search.start, search.end),
            mentor_busy=domain.Busy.of(busy[mentor.name]),
            duration=duration,
            buffer_before=kind.buffer_before if kind else timedelta(0),
            buffer_after=kind.buffer_after if kind else timedelta(0),
            step=search.step,
            not_before=now(),
            company_busy=domain.Busy.of(busy[search.company]) if search.company else None,
            rooms={r.id: domain.Busy.of(busy[r.name]) for r in rooms} if search.need_room else None,
        )
    found.sort(key=lambda s: (s.start, s.mentor_id))
    return [(s.start, s.mentor_id) for s in found[: search.limit]]


def answered(response: pb.FindAvailableSlotsResponse) -> list[tuple[datetime, int]]:
    return [
        (s.interval.start_time.ToDatetime(tzinfo=UTC), int(s.mentor.removeprefix("mentors/"))) for s in response.slots
    ]


async def test_slots_read_part_by_part_are_the_first_of_the_whole_window(consulting: RunningConsulting) -> None:
    c = consulting
    seoul, other = await make_mentor(c, "김도현"), await make_mentor(c, "이서연")
    la = await make_mentor(c, "Grace Park", tz="America/Los_Angeles")
    kind = await make_type(c, length=60, after=30)
    room = await make_room(c)
    company, another = await know_company(c, 1), await know_company(c, 2, "닥터노트")
    monday = future_monday(hour_utc=0)  # 09:00 in Seoul
    midnight = monday.replace(hour=15)  # Tuesday 00:00 in Seoul: where the search's first part ends
    # Extra hours across that midnight for two mentors: the first's 23:30 slot reaches into the second part; the
    # other's is taken by a booking at 00:45, which the first part must read although it starts after its end.
    for mentor in (seoul, other):
        late = pb.AvailabilityException(
            mentor=mentor.name, kind=pb.EXCEPTION_KIND_AVAILABLE,
            interval=interval(midnight - timedelta(hours=2), midnight + timedelta(hours=3)),
        )  # fmt: skip
        await c.consulting.CreateAvailabilityException(
            pb.CreateAvailabilityExceptionRequest(availability_exception=late), metadata=ADMIN
        )
    bookings = [
        (midnight + timedelta(minutes=60), seoul, company, room.name),
        (midnight + timedelta(minutes=45), other, another, ""),
        (monday, seoul, company, room.name),
        (monday + timedelta(hours=3), other, company, room.name),
        (monday + timedelta(days=1, hours=2), seoul, company, room.name),
        (monday + timedelta(days=2), other, company, ""),
        (monday + timedelta(days=3, hours=4), la, company, room.name),
        (monday + timedelta(days=5, hours=1), seoul, another, ""),
    ]
    for start, mentor, who, where in bookings:
        await c.consulting.ScheduleSession(schedule_request(who, mentor, kind, start, room=where), metadata=ADMIN)

    first = date_pb2.Date(year=monday.year, month=monday.month, day=monday.day)
    last_day = monday.date() + timedelta(days=13)
    last = date_pb2.Date(year=last_day.year, month=last_day.month, day=last_day.day)
    mentors = [seoul.name, other.name, la.name]
    searches = [
        pb.FindAvailableSlotsRequest(mentors=mentors, start_date=first, end_date=last, session_type=kind.name,
                                     page_size=size, **more)  # type: ignore[arg-type]
        for size in (1, 10, 17, 40, 90, 200, 500)
        for more in ({}, {"need_room": True, "company": company})
    ]  # fmt: skip
    crossed = False
    for request in searches:
        response = await c.consulting.FindAvailableSlots(request, metadata=ADMIN)
        expected = await whole_window(c, request)
        assert answered(response) == expected, request
        every = pb.FindAvailableSlotsRequest()
        every.CopyFrom(request)
        every.page_size = 1000
        reference_all = await whole_window(c, every)
        assert response.truncated == (len(reference_all) > len(expected))
        crossed |= any(start < midnight < start + timedelta(hours=1) for start, _ in expected)
    assert crossed, "no page held a slot crossing the first part's end: the test would not see a cut there"
