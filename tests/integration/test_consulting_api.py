"""ConsultingService over gRPC against a real database (SQLite and PostgreSQL) and NATS."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import grpc
import icalendar
import pytest
import sqlalchemy as sa
from google.protobuf import any_pb2, duration_pb2
from google.rpc import error_details_pb2
from google.type import date_pb2, dayofweek_pb2, timeofday_pb2
from grpc_status import rpc_status
from hub.consulting.v1 import consulting_pb2 as pb
from hub.events.v1 import companies_pb2 as company_events
from hub.events.v1 import envelope_pb2

from hubcore.convert import seoul_today
from hubcore.db import outbox
from services.consulting import handlers, store
from tests.conftest import ADMIN, SERVICE, RunningConsulting
from tests.integration.consulting_world import (
    earlier_today,
    future_monday,
    interval,
    know_company,
    make_mentor,
    make_room,
    make_type,
    minutes,
    schedule_request,
)


def details(exc: grpc.aio.AioRpcError, kind: Any) -> Any:
    status = rpc_status.from_call(exc)
    assert status is not None
    for packed in status.details:
        message = kind()
        if isinstance(packed, any_pb2.Any) and packed.Is(message.DESCRIPTOR):
            packed.Unpack(message)
            return message
    raise AssertionError(f"no {kind.__name__} in {status}")


async def refused(call: Any, code: grpc.StatusCode) -> grpc.aio.AioRpcError:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return caught.value


async def events_of(c: RunningConsulting, subject: str) -> list[envelope_pb2.Envelope]:
    async with c.runtime.db.read() as conn:
        rows = await conn.execute(sa.select(outbox.c.data).where(outbox.c.subject == subject).order_by(outbox.c.seq))
        return [envelope_pb2.Envelope.FromString(r.data) for r in rows]


async def count(c: RunningConsulting, table: sa.Table) -> int:
    async with c.runtime.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


async def test_conflicts_name_the_holding_session_and_buffers_count(consulting: RunningConsulting) -> None:
    c = consulting
    kim, lee = await make_mentor(c, "김도현"), await make_mentor(c, "이수진")
    kind = await make_type(c, length=60, after=15)
    room = await make_room(c)
    one, two, three = [await know_company(c, n, f"회사{n}") for n in (1, 2, 3)]
    start = future_monday()
    first = await c.consulting.ScheduleSession(schedule_request(one, kim, kind, start, room=room.name), metadata=ADMIN)
    assert first.state == pb.SESSION_STATE_SCHEDULED and first.sequence == 0
    assert first.interval.end_time.ToDatetime(tzinfo=UTC) == start + timedelta(minutes=60)

    clashes = [
        schedule_request(two, kim, kind, start + timedelta(minutes=60)),  # inside Kim's 15-minute buffer
        schedule_request(one, lee, kind, start + timedelta(minutes=30)),  # the company is busy
        schedule_request(three, lee, kind, start + timedelta(minutes=30), room=room.name),  # the room is taken
    ]
    for request, resource in zip(clashes, [kim.name, one, room.name], strict=True):
        exc = await refused(c.consulting.ScheduleSession(request, metadata=ADMIN), grpc.StatusCode.FAILED_PRECONDITION)
        assert first.name in exc.details() and resource in exc.details()
        [violation] = details(exc, error_details_pb2.PreconditionFailure).violations
        assert (violation.type, violation.subject) == ("BOOKING_CONFLICT", first.name)

    after_buffer = schedule_request(two, kim, kind, start + timedelta(minutes=75))
    assert (await c.consulting.ScheduleSession(after_buffer, metadata=ADMIN)).name
    unknown = schedule_request("companies/99", lee, kind, start + timedelta(days=1))
    exc = await refused(c.consulting.ScheduleSession(unknown, metadata=ADMIN), grpc.StatusCode.NOT_FOUND)
    assert "companies/99" in exc.details()
    assert await count(c, store.sessions) == 2, "a refused booking writes nothing"
    assert len(await events_of(c, "hub.consulting.session.scheduled")) == 2


async def test_schedule_is_idempotent_on_request_id(consulting: RunningConsulting) -> None:
    c = consulting
    mentor, kind, company = await make_mentor(c), await make_type(c), await know_company(c, 1)
    request = schedule_request(company, mentor, kind, future_monday(), request_id="demo-1")
    first = await c.consulting.ScheduleSession(request, metadata=ADMIN)
    again = await c.consulting.ScheduleSession(request, metadata=ADMIN)
    assert again == first
    other = schedule_request(company, mentor, kind, future_monday() + timedelta(hours=3), request_id="demo-1")
    exc = await refused(c.consulting.ScheduleSession(other, metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT)
    assert [v.field for v in details(exc, error_details_pb2.BadRequest).field_violations] == ["request_id"]
    assert await count(c, store.sessions) == 1
    assert len(await events_of(c, "hub.consulting.session.scheduled")) == 1


def _bad_requests(mentor: str, kind: str, company: str) -> list[tuple[str, Any, str]]:
    start = interval(future_monday())
    backwards = interval(future_monday(), future_monday() - timedelta(hours=1))

    def schedule(request_id: str = "x", **fields: Any) -> pb.ScheduleSessionRequest:
        session = {"company": company, "mentor": mentor, "session_type": kind, "interval": start} | fields
        return pb.ScheduleSessionRequest(session=pb.Session(**session), request_id=request_id)

    def find(**fields: Any) -> pb.FindAvailableSlotsRequest:
        day = date_pb2.Date(year=2027, month=1, day=4)
        values = {"mentors": [mentor], "start_date": day, "end_date": day, "duration": minutes(60)} | fields
        return pb.FindAvailableSlotsRequest(**values)

    def mentor_request(**fields: Any) -> pb.CreateMentorRequest:
        values: dict[str, Any] = {"korean_name": "박", "kind": pb.MENTOR_KIND_VC} | fields
        return pb.CreateMentorRequest(mentor=pb.Mentor(**values))

    eight, nine = timeofday_pb2.TimeOfDay(hours=8), timeofday_pb2.TimeOfDay(hours=9)
    backwards_week = [pb.WeeklyWindow(day=dayofweek_pb2.MONDAY, start_time=nine, end_time=eight)]
    short_type = pb.SessionType(display_name="x", category=pb.SESSION_CATEGORY_OTHER, default_duration=minutes(1))
    undated = pb.CompleteSessionRequest(
        name="sessions/1", action_items=[pb.NewActionItem(description="IR 자료", owner="김서연")]
    )
    return [
        ("ScheduleSession", schedule(request_id=""), "request_id"),
        ("ScheduleSession", schedule(company=""), "session.company"),
        ("ScheduleSession", schedule(company="firms/1"), "session.company"),
        ("ScheduleSession", schedule(interval=None), "session.interval.start_time"),
        ("ScheduleSession", schedule(interval=backwards), "session.interval.end_time"),
        ("ScheduleSession", schedule(room="rooms/x"), "session.room"),
        ("CreateMentor", mentor_request(time_zone="Mars/Olympus"), "mentor.time_zone"),
        ("CreateMentor", mentor_request(weekly_availability=backwards_week), "mentor.weekly_availability[0].end_time"),
        ("CreateMentor", mentor_request(kind=99), "mentor.kind"),
        ("CreateSessionType", pb.CreateSessionTypeRequest(session_type=short_type), "session_type.default_duration"),
        ("FindAvailableSlots", find(mentors=[]), "mentors"),
        ("FindAvailableSlots", find(start_date=date_pb2.Date(year=2027, month=2, day=30)), "start_date"),
        ("FindAvailableSlots", find(duration=None), "duration"),
        ("FindAvailableSlots", find(time_zone="Seoul"), "time_zone"),
        ("FindAvailableSlots", find(granularity=minutes(0)), "granularity"),
        *_out_of_range(schedule, find),
        ("CancelSession", pb.CancelSessionRequest(name="sessions/1"), "reason"),
        ("ListSessions", pb.ListSessionsRequest(filter="start_after=yesterday"), "filter"),
        ("ListActionItems", pb.ListActionItemsRequest(filter="overdue=maybe"), "filter"),
        ("ExportCalendar", pb.ExportCalendarRequest(owner="rooms/1"), "owner"),
        ("CompleteSession", undated, "action_items[0].due_date"),
    ]


def _out_of_range(schedule: Any, find: Any) -> list[tuple[str, Any, str]]:
    """Times outside the business range (2000..2100) and absurd durations, with everything else valid."""
    cases: list[tuple[str, Any, str]] = []
    for when in (datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, tzinfo=UTC),
                 datetime(1999, 12, 31, 9, tzinfo=UTC), datetime(2101, 1, 3, 9, tzinfo=UTC)):  # fmt: skip
        cases.append(("ScheduleSession", schedule(interval=interval(when)), "session.interval.start_time"))
        cases.append(
            ("ScheduleSession", schedule(interval=interval(future_monday(), when)), "session.interval.end_time")
        )
        day = date_pb2.Date(year=when.year, month=when.month, day=when.day)
        cases.append(("FindAvailableSlots", find(start_date=day, end_date=day), "start_date"))
    huge, negative = duration_pb2.Duration(seconds=10**15), duration_pb2.Duration(seconds=-60)
    for bad in (huge, negative):
        cases.append(("FindAvailableSlots", find(duration=bad), "duration"))
        cases.append(("FindAvailableSlots", find(granularity=bad), "granularity"))
        kind = pb.SessionType(display_name="x", category=pb.SESSION_CATEGORY_OTHER, default_duration=bad)
        cases.append(
            ("CreateSessionType", pb.CreateSessionTypeRequest(session_type=kind), "session_type.default_duration")
        )
    return cases


async def test_bad_input_is_invalid_argument_naming_the_field_and_writes_nothing(consulting: RunningConsulting) -> None:
    c = consulting
    mentor, kind, company = await make_mentor(c), await make_type(c), await know_company(c, 1)
    for method, request, field in _bad_requests(mentor.name, kind.name, company):
        exc = await refused(getattr(c.consulting, method)(request, metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT)
        fields = [v.field for v in details(exc, error_details_pb2.BadRequest).field_violations]
        assert field in fields, (method, fields, exc.details())
    assert await count(c, store.sessions) == 0 and await count(c, store.mentors) == 1
    assert await count(c, store.session_types) == 1
    # Reading is allowed to other services, and scheduling (the playbooks book consultations); other writes are not.
    await c.consulting.GetMentor(pb.GetMentorRequest(name=mentor.name), metadata=SERVICE)
    cancel = pb.CancelSessionRequest(name="sessions/1", reason="x")
    await refused(c.consulting.CancelSession(cancel, metadata=SERVICE), grpc.StatusCode.PERMISSION_DENIED)
    request = schedule_request(company, mentor, kind, future_monday())
    created = await c.consulting.ScheduleSession(request, metadata=SERVICE)
    assert created.name and await count(c, store.sessions) == 1


async def test_reschedule_keeps_history_cancel_and_no_show_free_the_time(consulting: RunningConsulting) -> None:
    c = consulting
    mentor, kind, room = await make_mentor(c), await make_type(c), await make_room(c)
    one, two = await know_company(c, 1), await know_company(c, 2, "닥터노트")
    start = future_monday()
    request = schedule_request(one, mentor, kind, start, room=room.name)
    first = await c.consulting.ScheduleSession(request, metadata=ADMIN)
    stale = pb.RescheduleSessionRequest(name=first.name, interval=interval(start + timedelta(days=1)), etag="999")
    await refused(c.consulting.RescheduleSession(stale, metadata=ADMIN), grpc.StatusCode.ABORTED)
    moved = await c.consulting.RescheduleSession(
        pb.RescheduleSessionRequest(
            name=first.name, interval=interval(start + timedelta(days=1)), reason="멘토 출장", etag=first.etag
        ),
        metadata=ADMIN,
    )
    assert moved.sequence == 1 and moved.room == room.name
    assert moved.interval.end_time.ToDatetime(tzinfo=UTC) == start + timedelta(days=1, hours=1)  # keeps its length
    [change] = moved.history
    assert change.previous_interval == first.interval and change.reason == "멘토 출장"
    assert (await c.consulting.GetSession(pb.GetSessionRequest(name=first.name), metadata=ADMIN)).history == [change]

    # The old time is free again; the new one is held.
    taken = await c.consulting.ScheduleSession(schedule_request(two, mentor, kind, start), metadata=ADMIN)
    clash = schedule_request(two, mentor, kind, start + timedelta(days=1, minutes=30))
    await refused(c.consulting.ScheduleSession(clash, metadata=ADMIN), grpc.StatusCode.FAILED_PRECONDITION)
    onto_taken = pb.RescheduleSessionRequest(name=first.name, interval=interval(start + timedelta(minutes=30)))
    exc = await refused(c.consulting.RescheduleSession(onto_taken, metadata=ADMIN), grpc.StatusCode.FAILED_PRECONDITION)
    assert taken.name in exc.details()

    cancelled = await c.consulting.CancelSession(
        pb.CancelSessionRequest(name=first.name, reason="회사 사정"), metadata=ADMIN
    )
    assert cancelled.state == pb.SESSION_STATE_CANCELLED and cancelled.sequence == 2
    assert (await c.consulting.ScheduleSession(clash, metadata=ADMIN)).name  # freed by the cancellation
    gone = await c.consulting.ScheduleSession(schedule_request(two, mentor, kind, earlier_today()), metadata=ADMIN)
    missed = await c.consulting.MarkSessionNoShow(pb.MarkSessionNoShowRequest(name=gone.name), metadata=ADMIN)
    assert missed.state == pb.SESSION_STATE_NO_SHOW
    again = pb.CancelSessionRequest(name=gone.name, reason="x")
    await refused(c.consulting.CancelSession(again, metadata=ADMIN), grpc.StatusCode.FAILED_PRECONDITION)
    subjects = ["scheduled", "rescheduled", "cancelled", "no_show"]
    counts = [len(await events_of(c, f"hub.consulting.session.{s}")) for s in subjects]
    assert counts == [4, 1, 1, 1]


async def test_completion_creates_action_items_that_fall_overdue_once(consulting: RunningConsulting) -> None:
    c = consulting
    mentor, kind, company = await make_mentor(c), await make_type(c), await know_company(c, 1)
    ahead = await c.consulting.ScheduleSession(schedule_request(company, mentor, kind, future_monday()), metadata=ADMIN)
    for early in (
        c.consulting.CompleteSession(pb.CompleteSessionRequest(name=ahead.name, notes="미리"), metadata=ADMIN),
        c.consulting.MarkSessionNoShow(pb.MarkSessionNoShowRequest(name=ahead.name), metadata=ADMIN),
    ):
        exc = await refused(early, grpc.StatusCode.FAILED_PRECONDITION)
        assert "before it has started" in (exc.details() or "")
    unchanged = await c.consulting.GetSession(pb.GetSessionRequest(name=ahead.name), metadata=ADMIN)
    assert unchanged.state == pb.SESSION_STATE_SCHEDULED and unchanged.etag == ahead.etag
    stats = await c.consulting.GetConsultingStats(pb.GetConsultingStatsRequest(), metadata=SERVICE)
    assert [t.completed for t in stats.sessions_by_type] in ([], [0]), "a session not yet held is not counted"
    request = schedule_request(company, mentor, kind, earlier_today())
    session = await c.consulting.ScheduleSession(request, metadata=ADMIN)
    today = seoul_today()

    def due(day: date) -> date_pb2.Date:
        return date_pb2.Date(year=day.year, month=day.month, day=day.day)

    done = await c.consulting.CompleteSession(
        pb.CompleteSessionRequest(
            name=session.name,
            notes="시리즈 A 준비 논의",
            action_items=[
                pb.NewActionItem(description="IR 자료 보완", owner="김서연", due_date=due(today - timedelta(days=1))),
                pb.NewActionItem(description="특허 출원 검토", owner="김도현", due_date=due(today + timedelta(days=7))),
            ],
        ),
        metadata=ADMIN,
    )
    assert done.session.state == pb.SESSION_STATE_COMPLETED and done.session.notes == "시리즈 A 준비 논의"
    late, later = done.action_items
    assert late.overdue and not later.overdue and late.company == company and late.mentor == mentor.name
    twice = pb.CompleteSessionRequest(name=session.name)
    await refused(c.consulting.CompleteSession(twice, metadata=ADMIN), grpc.StatusCode.FAILED_PRECONDITION)

    async def listed(text: str) -> list[str]:
        found = await c.consulting.ListActionItems(pb.ListActionItemsRequest(filter=text), metadata=ADMIN)
        return [a.name for a in found.action_items]

    assert await listed(f"company={company} AND overdue=true") == [late.name]
    assert await listed(f"mentor={mentor.name} AND state=OPEN") == [late.name, later.name]
    assert await listed('owner="김도현"') == [later.name]
    assert await listed("overdue=false") == [later.name]

    assert await handlers.sweep_overdue(c.runtime.db) == 1
    assert await handlers.sweep_overdue(c.runtime.db) == 0, "an item falls overdue once"
    [overdue] = await events_of(c, "hub.consulting.action_item.overdue")
    assert overdue.subject_id == late.name

    closed = await c.consulting.CompleteActionItem(pb.CompleteActionItemRequest(name=late.name), metadata=ADMIN)
    assert closed.state == pb.ACTION_ITEM_STATE_DONE and not closed.overdue and closed.HasField("complete_time")
    again = pb.CompleteActionItemRequest(name=late.name)
    await refused(c.consulting.CompleteActionItem(again, metadata=ADMIN), grpc.StatusCode.FAILED_PRECONDITION)
    assert await listed("overdue=true") == []
    counts = [
        len(await events_of(c, subject))
        for subject in ("hub.consulting.session.completed", "hub.consulting.action_item.created",
                        "hub.consulting.action_item.completed")
    ]  # fmt: skip
    assert counts == [1, 2, 1]


def _date(day: date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def _next_dst_start() -> date:
    """The next second Sunday of March (when Los Angeles moves to PDT) at least a week ahead."""
    year = datetime.now(UTC).year
    while True:
        march = date(year, 3, 1)
        second_sunday = march + timedelta(days=(6 - march.weekday()) % 7 + 7)
        if second_sunday - timedelta(days=7) > datetime.now(UTC).date():
            return second_sunday
        year += 1


async def test_find_available_slots_by_mentor_tag_room_and_across_dst(consulting: RunningConsulting) -> None:
    c = consulting
    seoul = await make_mentor(c, "김도현", expertise=("vision", "의료영상"))
    la = await make_mentor(c, "Grace Park", tz="America/Los_Angeles", expertise=("vision", "overseas"))
    kind = await make_type(c, length=60, after=30)
    room = await make_room(c)
    company = await know_company(c, 1)
    monday = future_monday(hour_utc=0)  # 09:00 in Seoul
    day = _date(monday.date())

    def find(end: date_pb2.Date = day, **fields: Any) -> pb.FindAvailableSlotsRequest:
        return pb.FindAvailableSlotsRequest(start_date=day, end_date=end, session_type=kind.name, **fields)

    free = await c.consulting.FindAvailableSlots(find(mentors=[seoul.name]), metadata=ADMIN)
    assert free.slots[0].interval.start_time.ToDatetime(tzinfo=UTC) == monday
    assert len(free.slots) == 17  # 09:00 to 17:00 every 30 minutes (an hour each, inside 09:00-18:00)
    await c.consulting.ScheduleSession(
        schedule_request(company, seoul, kind, monday + timedelta(hours=1), room=room.name), metadata=ADMIN
    )
    free = await c.consulting.FindAvailableSlots(find(mentors=[seoul.name]), metadata=ADMIN)
    starts = [s.interval.start_time.ToDatetime(tzinfo=UTC) - monday for s in free.slots]
    # Booked 10:00-11:00 plus 30 minutes after; a new session needs its own 30 minutes after, so 09:00 would
    # run into 10:00 and 11:00 into the booking's buffer: the first free start is 11:30.
    assert starts[0] == timedelta(hours=2, minutes=30) and len(starts) == 12
    with_room = await c.consulting.FindAvailableSlots(find(mentors=[seoul.name], need_room=True), metadata=ADMIN)
    assert all(s.rooms == [room.name] for s in with_room.slots)
    busy_company = await c.consulting.FindAvailableSlots(find(mentors=[seoul.name], company=company), metadata=ADMIN)
    assert len(busy_company.slots) == len(free.slots)  # the company's only session is the mentor's too
    away = pb.AvailabilityException(
        mentor=seoul.name, kind=pb.EXCEPTION_KIND_UNAVAILABLE, interval=interval(monday, monday + timedelta(hours=6))
    )
    await c.consulting.CreateAvailabilityException(
        pb.CreateAvailabilityExceptionRequest(availability_exception=away), metadata=ADMIN
    )
    afternoon = await c.consulting.FindAvailableSlots(find(mentors=[seoul.name]), metadata=ADMIN)
    assert afternoon.slots[0].interval.start_time.ToDatetime(tzinfo=UTC) == monday + timedelta(hours=6)

    # Monday 09:00 in Los Angeles is Tuesday 02:00 in Seoul: search Monday and Tuesday (Seoul dates).
    tuesday = _date(monday.date() + timedelta(days=1))
    tagged = await c.consulting.FindAvailableSlots(find(tuesday, expertise="VISION", page_size=500), metadata=ADMIN)
    assert {s.mentor for s in tagged.slots} == {seoul.name, la.name}
    limited = await c.consulting.FindAvailableSlots(find(expertise="vision", page_size=3), metadata=ADMIN)
    assert len(limited.slots) == 3 and limited.truncated

    dst = _next_dst_start()
    before, after = dst - timedelta(days=6), dst + timedelta(days=1)  # the Mondays around the change

    async def first_la_slot(monday_date: date) -> datetime:
        request = pb.FindAvailableSlotsRequest(
            mentors=[la.name], start_date=_date(monday_date), end_date=_date(monday_date),
            time_zone="America/Los_Angeles", duration=minutes(60),
        )  # fmt: skip
        found = await c.consulting.FindAvailableSlots(request, metadata=ADMIN)
        return found.slots[0].interval.start_time.ToDatetime(tzinfo=UTC)

    assert (await first_la_slot(before)).hour == 17  # 09:00 PST
    assert (await first_la_slot(after)).hour == 16  # 09:00 PDT


async def test_find_available_slots_for_what_does_not_exist_is_not_found(consulting: RunningConsulting) -> None:
    c = consulting
    mentor, kind = await make_mentor(c), await make_type(c)
    await know_company(c, 1)
    day = _date(future_monday().date())
    base = {"mentors": [mentor.name], "start_date": day, "end_date": day, "session_type": kind.name}
    assert (await c.consulting.FindAvailableSlots(pb.FindAvailableSlotsRequest(**base, company="companies/1"),
                                                  metadata=ADMIN)).slots  # fmt: skip
    for wrong in ({"company": "companies/77"}, {"mentors": ["mentors/77"]}, {"room": "rooms/77"},
                  {"session_type": "sessionTypes/77"}):  # fmt: skip
        request = pb.FindAvailableSlotsRequest(**(base | wrong))
        exc = await refused(c.consulting.FindAvailableSlots(request, metadata=ADMIN), grpc.StatusCode.NOT_FOUND)
        assert "/77" in (exc.details() or ""), exc.details()


async def test_calendar_export_keeps_uids_and_raises_sequence(consulting: RunningConsulting) -> None:
    c = consulting
    mentor, kind, room = await make_mentor(c), await make_type(c), await make_room(c)
    company = await know_company(c, 1, "메디비전")
    start = future_monday()
    session = await c.consulting.ScheduleSession(
        schedule_request(company, mentor, kind, start, room=room.name, agenda="투자 유치 전략"), metadata=ADMIN
    )

    async def events(owner: str) -> list[Any]:
        body = await c.consulting.ExportCalendar(pb.ExportCalendarRequest(owner=owner), metadata=ADMIN)
        assert body.content_type.startswith("text/calendar")
        return list(icalendar.Calendar.from_ical(body.data).walk("VEVENT"))

    [before] = await events(mentor.name)
    assert str(before["uid"]) == f"session-{session.name.split('/')[1]}@hub.kaist.ac.kr"
    assert int(before["sequence"]) == 0 and before.decoded("dtstart") == start
    assert "메디비전" in str(before["summary"]) and str(before["location"]) == "501호 회의실"
    assert str(before["description"]) == "투자 유치 전략"
    await c.consulting.RescheduleSession(
        pb.RescheduleSessionRequest(name=session.name, interval=interval(start + timedelta(hours=2))), metadata=ADMIN
    )
    [after] = await events(company)
    assert str(after["uid"]) == str(before["uid"]) and int(after["sequence"]) == 1
    assert after.decoded("dtstart") == start + timedelta(hours=2)
    await refused(
        c.consulting.ExportCalendar(pb.ExportCalendarRequest(owner="companies/77"), metadata=ADMIN),
        grpc.StatusCode.NOT_FOUND,
    )


async def test_programs_registrations_attendance_and_stats(consulting: RunningConsulting) -> None:
    c = consulting
    room = await make_room(c, "세미나실 A", capacity=40)
    ahead = await c.consulting.CreateProgram(
        pb.CreateProgramRequest(
            program=pb.Program(display_name="다음 달 살롱", kind=pb.PROGRAM_KIND_SALON,
                               interval=interval(future_monday(), future_monday() + timedelta(hours=2))),
        ),
        metadata=ADMIN,
    )  # fmt: skip
    early = await c.consulting.CreateRegistration(
        pb.CreateRegistrationRequest(registration=pb.Registration(program=ahead.name, participant_name="김서연")),
        metadata=ADMIN,
    )
    too_soon = pb.RecordAttendanceRequest(
        program=ahead.name, marks=[pb.AttendanceMark(registration=early.name, attended=True)]
    )
    exc = await refused(c.consulting.RecordAttendance(too_soon, metadata=ADMIN), grpc.StatusCode.FAILED_PRECONDITION)
    assert "once it has begun" in (exc.details() or "")
    assert (await c.consulting.GetProgram(pb.GetProgramRequest(name=ahead.name), metadata=ADMIN)).attended_count == 0
    start = earlier_today(hours=1)  # a program under way: its attendance can be taken
    program = await c.consulting.CreateProgram(
        pb.CreateProgramRequest(
            program=pb.Program(
                display_name="AI 실무 교육 1기", kind=pb.PROGRAM_KIND_EDUCATION, capacity=2, room=room.name,
                interval=interval(start, start + timedelta(hours=3)),
            ),
            request_id="program-1",
        ),
        metadata=ADMIN,
    )  # fmt: skip
    stranger = pb.Registration(program=program.name, participant_name="최민수", company="companies/404")
    await refused(
        c.consulting.CreateRegistration(pb.CreateRegistrationRequest(registration=stranger), metadata=ADMIN),
        grpc.StatusCode.NOT_FOUND,
    )
    await know_company(c, 2, "누리로봇")
    people = []
    for n, name in enumerate(["김서연", "이준호"]):
        await know_company(c, n + 1, name + "의 회사")
        registration = pb.Registration(program=program.name, participant_name=name, company=f"companies/{n + 1}")
        people.append(
            await c.consulting.CreateRegistration(
                pb.CreateRegistrationRequest(registration=registration, request_id=f"r{n}"), metadata=ADMIN
            )
        )
    full = pb.CreateRegistrationRequest(registration=pb.Registration(program=program.name, participant_name="박지민"))
    await refused(c.consulting.CreateRegistration(full, metadata=ADMIN), grpc.StatusCode.FAILED_PRECONDITION)
    # The program holds its room: a session there at the same time is refused.
    mentor, kind, company = await make_mentor(c), await make_type(c), "companies/1"
    clash = schedule_request(company, mentor, kind, start + timedelta(hours=1), room=room.name)
    exc = await refused(c.consulting.ScheduleSession(clash, metadata=ADMIN), grpc.StatusCode.FAILED_PRECONDITION)
    assert program.name in exc.details()

    recorded = await c.consulting.RecordAttendance(
        pb.RecordAttendanceRequest(
            program=program.name,
            marks=[
                pb.AttendanceMark(registration=people[0].name, attended=True),
                pb.AttendanceMark(registration=people[1].name, attended=False),
            ],
        ),
        metadata=ADMIN,
    )
    assert recorded.program.attended_count == 1 and recorded.program.registered_count == 2
    assert [r.state for r in recorded.registrations] == [
        pb.REGISTRATION_STATE_ATTENDED,
        pb.REGISTRATION_STATE_ABSENT,
    ]
    wrong = pb.RecordAttendanceRequest(program=program.name, marks=[pb.AttendanceMark(registration="registrations/99")])
    exc = await refused(c.consulting.RecordAttendance(wrong, metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT)
    assert details(exc, error_details_pb2.BadRequest).field_violations[0].field == "marks[0].registration"
    [event] = await events_of(c, "hub.consulting.program.attendance_recorded")
    assert event.subject_id == program.name

    held = schedule_request(company, mentor, kind, earlier_today())
    session = await c.consulting.ScheduleSession(held, metadata=ADMIN)
    await c.consulting.CompleteSession(pb.CompleteSessionRequest(name=session.name), metadata=ADMIN)
    stats = await c.consulting.GetConsultingStats(pb.GetConsultingStatsRequest(), metadata=SERVICE)
    assert (stats.programs_held, stats.participants, stats.people_trained) == (1, 1, 1)
    assert (stats.companies_served, stats.mentors) == (1, 1)
    [by_type] = stats.sessions_by_type
    assert (by_type.display_name, by_type.category, by_type.completed, by_type.scheduled) == (
        "1:1 기술 자문",
        "TECHNICAL",
        1,
        0,
    )


async def test_directory_applies_only_newer_versions_and_refuses_archived(consulting: RunningConsulting) -> None:
    c = consulting

    async def deliver(version: int, korean_name: str, *, archived: bool = False) -> None:
        snapshot = company_events.CompanySnapshot(name="companies/5", korean_name=korean_name, status="RESIDENT")
        if archived:
            snapshot.delete_time.GetCurrentTime()
        envelope = envelope_pb2.Envelope(id=f"e{version}", subject_id="companies/5", version=version)
        async with c.runtime.db.write(actor="test") as uow:
            await handlers.update_directory(uow, envelope, company_events.CompanyUpdated(company=snapshot))

    await deliver(2, "새이름")
    await deliver(1, "옛이름")  # arrives late: ignored
    async with c.runtime.db.read() as conn:
        row = await store.get_company(conn, "companies/5")
    assert row is not None  # get_company is typed now (DirectoryCompany | None)
    assert (row.korean_name, row.version) == ("새이름", 2)
    await deliver(3, "새이름", archived=True)
    mentor, kind = await make_mentor(c), await make_type(c)
    request = schedule_request("companies/5", mentor, kind, future_monday())
    exc = await refused(c.consulting.ScheduleSession(request, metadata=ADMIN), grpc.StatusCode.FAILED_PRECONDITION)
    assert "archived" in exc.details()


async def test_sessions_completed_without_their_notes_are_found_by_filter(consulting: RunningConsulting) -> None:
    c = consulting
    kind = await make_type(c)
    written, unwritten = [
        await c.consulting.ScheduleSession(
            schedule_request(await know_company(c, n), await make_mentor(c), kind, earlier_today()), metadata=ADMIN
        )
        for n in (1, 2)
    ]
    await c.consulting.CompleteSession(pb.CompleteSessionRequest(name=written.name, notes="실증 계획 합의"),
                                       metadata=ADMIN)  # fmt: skip
    await c.consulting.CompleteSession(pb.CompleteSessionRequest(name=unwritten.name), metadata=ADMIN)

    async def listed(text: str) -> list[str]:
        found = await c.consulting.ListSessions(pb.ListSessionsRequest(filter=text), metadata=ADMIN)
        return [s.name for s in found.sessions]

    assert await listed("state=COMPLETED AND has_notes=false") == [unwritten.name]
    assert await listed("has_notes=true") == [written.name]
    exc = await refused(c.consulting.ListSessions(pb.ListSessionsRequest(filter="has_notes=maybe"), metadata=ADMIN),
                        grpc.StatusCode.INVALID_ARGUMENT)  # fmt: skip
    assert "filter" in str(details(exc, error_details_pb2.BadRequest))
