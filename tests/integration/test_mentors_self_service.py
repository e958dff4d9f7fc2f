"""Mentors keep their own calendars and founders see their company's sessions, with real signed tokens of their
role and scope (hubcore.tokens.sign with the test signing key, as sign-in issues them): mentor A against mentor
B, founder A against founder B. What is not theirs is PERMISSION_DENIED where the request names it in its scope,
NOT_FOUND where it names a session or an exception of another's, and a refused call changes nothing. After a
completed session the founder rates it once; the dashboard counts the share rated within 48 hours."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import sqlalchemy as sa
from google.protobuf import field_mask_pb2
from google.type import date_pb2
from hub.consulting.v1 import consulting_pb2 as pb

from hubcore import tokens
from hubcore.db import now
from services.consulting import store
from tests.conftest import ADMIN, TOKEN_SIGNING_KEY, RunningConsulting, row_counts
from tests.integration.consulting_world import (
    earlier_today,
    future_monday,
    interval,
    know_company,
    make_mentor,
    make_room,
    make_type,
    schedule_request,
    week,
)
from tests.integration.test_sign_in import failure

DENIED, NOT_FOUND = grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.NOT_FOUND


def signed(role: str, scope: str) -> tuple[tuple[str, str], ...]:
    """A founder's or mentor's token as sign-in issues it: signed, 8 hours, bound to its scope."""
    moment = now().replace(microsecond=0)
    claims = tokens.Claims(tokens.new_token_id(), "김서연", role, moment, moment + timedelta(hours=8), scope)
    return (("authorization", f"Bearer {tokens.sign(claims, TOKEN_SIGNING_KEY)}"),)


MENTOR_A, MENTOR_B = signed("mentor", "mentors/1"), signed("mentor", "mentors/2")
FOUNDER_A, FOUNDER_B = signed("founder", "companies/1"), signed("founder", "companies/2")


class World:
    """Mentors 1 and 2, companies 1 and 2, one session type; sessions booked in the past (so they can be held)."""

    def __init__(self, c: RunningConsulting) -> None:
        self.c = c
        self.api = c.consulting
        self.hours = 1

    async def build(self) -> World:
        self.kind = await make_type(self.c)
        self.a, self.b = await make_mentor(self.c, "김도현"), await make_mentor(self.c, "박교수")
        await know_company(self.c, 1, "메디비전")
        await know_company(self.c, 2, "누리로보틱스")
        return self

    async def book(self, company: str, mentor: pb.Mentor) -> pb.Session:
        self.hours += 2  # each one earlier than the last: nobody is double-booked
        request = schedule_request(company, mentor, self.kind, earlier_today(self.hours))
        return await self.api.ScheduleSession(request, metadata=ADMIN)

    async def held(self, company: str, mentor: pb.Mentor, notes: str = "") -> pb.Session:
        session = await self.book(company, mentor)
        done = await self.api.CompleteSession(pb.CompleteSessionRequest(name=session.name, notes=notes), metadata=ADMIN)
        return done.session


async def test_a_mentor_keeps_their_own_calendar_and_nothing_of_another_mentor(consulting: RunningConsulting) -> None:
    w = await World(consulting).build()
    api = w.api
    own = await api.GetMentor(pb.GetMentorRequest(name=w.a.name), metadata=MENTOR_A)
    assert own.korean_name == "김도현" and own.state == pb.MENTOR_STATE_ACTIVE
    assert (await failure(api.GetMentor(pb.GetMentorRequest(name=w.b.name), metadata=MENTOR_A)))[0] == DENIED

    # Their week and time zone, and nothing else of their record; another's not at all.
    evenings = pb.Mentor(name=w.a.name, time_zone="America/Los_Angeles", weekly_availability=week(18, 21))
    mask = field_mask_pb2.FieldMask(paths=["weekly_availability", "time_zone"])
    moved = await api.UpdateMentor(pb.UpdateMentorRequest(mentor=evenings, update_mask=mask), metadata=MENTOR_A)
    assert moved.time_zone == "America/Los_Angeles" and moved.weekly_availability[0].start_time.hours == 18
    before = await row_counts(consulting.runtime.db)
    renamed = pb.Mentor(name=w.a.name, korean_name="김교수", time_zone="Asia/Seoul")
    both = field_mask_pb2.FieldMask(paths=["time_zone", "korean_name"])
    code, message = await failure(api.UpdateMentor(pb.UpdateMentorRequest(mentor=renamed, update_mask=both),
                                                   metadata=MENTOR_A))  # fmt: skip
    assert code == DENIED and "korean_name" in message
    others = pb.UpdateMentorRequest(mentor=pb.Mentor(name=w.b.name, time_zone="UTC"), update_mask=mask)
    assert (await failure(api.UpdateMentor(others, metadata=MENTOR_A)))[0] == DENIED
    unchanged = await api.GetMentor(pb.GetMentorRequest(name=w.a.name), metadata=ADMIN)
    assert (unchanged.korean_name, unchanged.time_zone, unchanged.etag) == ("김도현", "America/Los_Angeles", moved.etag)
    assert (await api.GetMentor(pb.GetMentorRequest(name=w.b.name), metadata=ADMIN)).time_zone == "Asia/Seoul"

    # Availability exceptions: their own made, listed and deleted; another's is not there for them.
    monday = future_monday()
    away = pb.AvailabilityException(mentor=w.a.name, kind=pb.EXCEPTION_KIND_UNAVAILABLE,
                                    interval=interval(monday, monday + timedelta(days=1)), reason="학회")  # fmt: skip
    mine = await api.CreateAvailabilityException(pb.CreateAvailabilityExceptionRequest(availability_exception=away),
                                                 metadata=MENTOR_A)  # fmt: skip
    away.mentor = w.b.name
    theirs = await api.CreateAvailabilityException(
        pb.CreateAvailabilityExceptionRequest(availability_exception=away), metadata=MENTOR_B
    )
    listed = await api.ListAvailabilityExceptions(pb.ListAvailabilityExceptionsRequest(mentor=w.a.name),
                                                  metadata=MENTOR_A)  # fmt: skip
    assert [x.name for x in listed.availability_exceptions] == [mine.name]
    before = await row_counts(consulting.runtime.db)
    delete_theirs = pb.DeleteAvailabilityExceptionRequest(name=theirs.name)
    assert (await failure(api.DeleteAvailabilityException(delete_theirs, metadata=MENTOR_A)))[0] == NOT_FOUND
    assert await row_counts(consulting.runtime.db) == before
    await api.DeleteAvailabilityException(pb.DeleteAvailabilityExceptionRequest(name=mine.name), metadata=MENTOR_A)
    left = await api.ListAvailabilityExceptions(pb.ListAvailabilityExceptionsRequest(mentor=w.b.name), metadata=ADMIN)
    assert [x.name for x in left.availability_exceptions] == [theirs.name]

    # Sessions: their own listed (whatever the filter), another's invisible, even by name.
    a1, a2 = await w.book("companies/1", w.a), await w.book("companies/2", w.a)
    b1 = await w.book("companies/1", w.b)
    listed_a = await api.ListSessions(pb.ListSessionsRequest(), metadata=MENTOR_A)
    assert sorted(s.name for s in listed_a.sessions) == sorted([a1.name, a2.name])
    by_company = await api.ListSessions(pb.ListSessionsRequest(filter="company=companies/1"), metadata=MENTOR_B)
    assert [s.name for s in by_company.sessions] == [b1.name]
    naming_b = pb.ListSessionsRequest(filter=f"mentor={w.b.name}")
    assert (await failure(api.ListSessions(naming_b, metadata=MENTOR_A)))[0] == DENIED
    assert (await api.GetSession(pb.GetSessionRequest(name=a1.name), metadata=MENTOR_A)).mentor == w.a.name
    code, message = await failure(api.GetSession(pb.GetSessionRequest(name=b1.name), metadata=MENTOR_A))
    assert (code, message) == (NOT_FOUND, f"{b1.name} not found")

    # They hold, note and miss only their own sessions; another's is untouched.
    before = await row_counts(consulting.runtime.db)
    for call in (
        api.CompleteSession(pb.CompleteSessionRequest(name=b1.name, notes="남의 세션"), metadata=MENTOR_A),
        api.MarkSessionNoShow(pb.MarkSessionNoShowRequest(name=b1.name), metadata=MENTOR_A),
        api.RecordSessionNotes(pb.RecordSessionNotesRequest(name=b1.name, notes="남의 메모"), metadata=MENTOR_A),
    ):
        assert (await failure(call))[0] == NOT_FOUND
    assert await row_counts(consulting.runtime.db) == before
    assert (await api.GetSession(pb.GetSessionRequest(name=b1.name), metadata=ADMIN)).etag == b1.etag
    done = await api.CompleteSession(pb.CompleteSessionRequest(name=a1.name), metadata=MENTOR_A)
    assert done.session.state == pb.SESSION_STATE_COMPLETED and done.session.HasField("complete_time")
    assert not done.session.HasField("notes_time")
    item = pb.NewActionItem(description="IR 자료 보완", owner="김서연")
    item.due_date.year, item.due_date.month, item.due_date.day = 2030, 1, 15
    noted = await api.RecordSessionNotes(
        pb.RecordSessionNotesRequest(name=a1.name, notes="투자 유치 전략", action_items=[item]), metadata=MENTOR_A
    )
    assert noted.session.notes == "투자 유치 전략" and noted.session.HasField("notes_time")
    assert [(i.description, i.mentor) for i in noted.action_items] == [("IR 자료 보완", w.a.name)]
    again = pb.RecordSessionNotesRequest(name=a1.name, notes="다시")
    assert (await failure(api.RecordSessionNotes(again, metadata=MENTOR_A)))[0] == grpc.StatusCode.FAILED_PRECONDITION
    missed = await api.MarkSessionNoShow(pb.MarkSessionNoShowRequest(name=a2.name), metadata=MENTOR_A)
    assert missed.state == pb.SESSION_STATE_NO_SHOW
    # Booking, moving and cancelling stay the program managers'.
    for call in (
        api.ScheduleSession(schedule_request("companies/1", w.a, w.kind, future_monday()), metadata=MENTOR_A),
        api.CancelSession(pb.CancelSessionRequest(name=b1.name, reason="x"), metadata=MENTOR_B),
    ):
        assert (await failure(call))[0] == DENIED


def due(year: int, month: int, day: int, description: str) -> pb.NewActionItem:
    item = pb.NewActionItem(description=description, owner="김서연")
    item.due_date.year, item.due_date.month, item.due_date.day = year, month, day
    return item


async def test_a_mentor_reads_rooms_and_types_works_their_own_action_items_and_exports_their_calendar(
    consulting: RunningConsulting,
) -> None:
    w = await World(consulting).build()
    api, db = w.api, consulting.runtime.db
    room = await make_room(consulting)
    # Rooms and session types are not secret: a mentor's pages name them.
    assert [r.name for r in (await api.ListRooms(pb.ListRoomsRequest(), metadata=MENTOR_A)).rooms] == [room.name]
    assert (await api.GetRoom(pb.GetRoomRequest(name=room.name), metadata=MENTOR_B)).display_name == "501호 회의실"
    listed_types = await api.ListSessionTypes(pb.ListSessionTypesRequest(), metadata=MENTOR_A)
    assert [t.display_name for t in listed_types.session_types] == ["1:1 기술 자문"]
    assert (await api.GetSessionType(pb.GetSessionTypeRequest(name=w.kind.name), metadata=MENTOR_B)).name == w.kind.name

    # Each mentor's completed session left action items; a mentor sees and completes only their own.
    a1, b1 = await w.book("companies/1", w.a), await w.book("companies/2", w.b)
    done_a = await api.CompleteSession(
        pb.CompleteSessionRequest(name=a1.name, action_items=[due(2030, 1, 15, "IR 자료 보완")]), metadata=MENTOR_A
    )
    done_b = await api.CompleteSession(
        pb.CompleteSessionRequest(name=b1.name, action_items=[due(2030, 2, 1, "특허 출원 검토")]), metadata=MENTOR_B
    )
    [mine], [theirs] = done_a.action_items, done_b.action_items
    for terms in ("", "state=OPEN", "company=companies/1", f"mentor={w.a.name}", f"session={a1.name}"):
        found = await api.ListActionItems(pb.ListActionItemsRequest(filter=terms), metadata=MENTOR_A)
        assert [i.name for i in found.action_items] == [mine.name], terms
    for terms in (f"session={b1.name}", "company=companies/2"):  # another's session: none of theirs there
        assert not (await api.ListActionItems(pb.ListActionItemsRequest(filter=terms), metadata=MENTOR_A)).action_items
    naming_b = pb.ListActionItemsRequest(filter=f"mentor={w.b.name}")
    assert (await failure(api.ListActionItems(naming_b, metadata=MENTOR_A)))[0] == DENIED
    assert (await api.GetActionItem(pb.GetActionItemRequest(name=mine.name), metadata=MENTOR_A)).description == (
        "IR 자료 보완"
    )
    code, message = await failure(api.GetActionItem(pb.GetActionItemRequest(name=theirs.name), metadata=MENTOR_A))
    assert (code, message) == (NOT_FOUND, f"{theirs.name} not found")
    before = await row_counts(db)
    complete_theirs = pb.CompleteActionItemRequest(name=theirs.name)
    assert (await failure(api.CompleteActionItem(complete_theirs, metadata=MENTOR_A)))[0] == NOT_FOUND
    assert await row_counts(db) == before
    assert (await api.GetActionItem(pb.GetActionItemRequest(name=theirs.name), metadata=ADMIN)).etag == theirs.etag
    completed = await api.CompleteActionItem(pb.CompleteActionItemRequest(name=mine.name, etag=mine.etag),
                                             metadata=MENTOR_A)  # fmt: skip
    assert completed.state == pb.ACTION_ITEM_STATE_DONE and completed.HasField("complete_time")
    # A founder lists no action items (policy); the matrix in test_authorization.py covers every role.
    assert (await failure(api.ListActionItems(pb.ListActionItemsRequest(), metadata=FOUNDER_A)))[0] == DENIED

    # Their own calendar, named by company; another mentor's or a company's is not theirs to export.
    exported = await api.ExportCalendar(pb.ExportCalendarRequest(owner=w.a.name), metadata=MENTOR_A)
    text = exported.data.decode()
    assert exported.content_type.startswith("text/calendar") and "메디비전" in text and "누리로보틱스" not in text
    for owner in (w.b.name, "companies/1"):
        assert (await failure(api.ExportCalendar(pb.ExportCalendarRequest(owner=owner), metadata=MENTOR_A)))[0] == (
            DENIED
        )


async def test_sessions_name_their_company_for_whoever_reads_them_in_one_query_a_page(
    consulting: RunningConsulting,
) -> None:
    w = await World(consulting).build()
    api = w.api
    await know_company(consulting, 3, "스마트팩토리랩")
    booked = await w.book("companies/1", w.a)  # a write's answer names it too
    assert booked.company_display_name == "메디비전"
    for company in ("companies/2", "companies/3", "companies/2"):
        await w.book(company, w.a)
    names = {"companies/1": "메디비전", "companies/2": "누리로보틱스", "companies/3": "스마트팩토리랩"}
    for who in (ADMIN, MENTOR_A):
        listed = (await api.ListSessions(pb.ListSessionsRequest(), metadata=who)).sessions
        assert len(listed) == 4 and all(s.company_display_name == names[s.company] for s in listed)
    mine = await api.ListSessions(pb.ListSessionsRequest(), metadata=FOUNDER_A)
    assert [s.company_display_name for s in mine.sessions] == ["메디비전"]
    # A founder may not read mentors or session types: the session names them (and its room, none here).
    assert [(s.mentor_display_name, s.session_type_display_name, s.room_display_name) for s in mine.sessions] == [
        ("김도현", "1:1 기술 자문", "")
    ]
    assert booked.mentor_display_name == "김도현" and booked.session_type_display_name == "1:1 기술 자문"
    got = await api.GetSession(pb.GetSessionRequest(name=booked.name), metadata=MENTOR_A)
    assert got.company_display_name == "메디비전"
    done = await api.CompleteSession(pb.CompleteSessionRequest(name=booked.name), metadata=MENTOR_A)
    assert done.session.company_display_name == "메디비전"

    # The directory learns a new name (a newer event): the sessions say it from then on.
    await know_company(consulting, 1, "메디비전헬스", version=2)
    assert (await api.GetSession(pb.GetSessionRequest(name=booked.name), metadata=ADMIN)).company_display_name == (
        "메디비전헬스"
    )

    # One query of the directory for a page of sessions, however many companies it names.
    statements: list[str] = []

    def seen(conn: object, cursor: object, statement: str, *rest: object) -> None:
        statements.append(statement)

    engines = consulting.runtime.db.sync_engines
    for engine in engines:
        sa.event.listen(engine, "before_cursor_execute", seen)
    try:
        await api.ListSessions(pb.ListSessionsRequest(), metadata=ADMIN)
    finally:
        for engine in engines:
            sa.event.remove(engine, "before_cursor_execute", seen)
    assert sum("company_directory" in s for s in statements) == 1, statements


async def test_founders_see_their_company_sessions_and_rate_each_completed_one_once(
    consulting: RunningConsulting,
) -> None:
    w = await World(consulting).build()
    api = w.api
    rated, late, unrated = (await w.held("companies/1", w.a), await w.held("companies/1", w.b),
                            await w.held("companies/1", w.a))  # fmt: skip
    upcoming = await w.api.ScheduleSession(
        schedule_request("companies/1", w.a, w.kind, future_monday()), metadata=ADMIN
    )
    other = await w.held("companies/2", w.b)

    listed = await api.ListSessions(pb.ListSessionsRequest(), metadata=FOUNDER_A)
    assert {s.name for s in listed.sessions} == {rated.name, late.name, unrated.name, upcoming.name}
    assert [s.name for s in (await api.ListSessions(pb.ListSessionsRequest(), metadata=FOUNDER_B)).sessions] == [
        other.name
    ]
    naming_b = pb.ListSessionsRequest(filter="company=companies/2")
    assert (await failure(api.ListSessions(naming_b, metadata=FOUNDER_A)))[0] == DENIED
    assert (await failure(api.GetSession(pb.GetSessionRequest(name=other.name), metadata=FOUNDER_A)))[0] == NOT_FOUND
    assert (await api.GetSession(pb.GetSessionRequest(name=rated.name), metadata=FOUNDER_A)).company == "companies/1"

    # Bad feedback is refused, naming the field, and changes nothing.
    before = await row_counts(consulting.runtime.db)

    def feedback(
        name: str, rating: int = 1, fit: int = pb.SESSION_FIT_NOT_A_FIT, **more: str
    ) -> pb.RecordSessionFeedbackRequest:
        return pb.RecordSessionFeedbackRequest(name=name, rating=rating, fit=fit, **more)  # type: ignore[arg-type]

    cases = [
        (feedback(rated.name, rating=5), FOUNDER_A, grpc.StatusCode.INVALID_ARGUMENT, "rating"),
        (feedback(rated.name, rating=0), FOUNDER_A, grpc.StatusCode.INVALID_ARGUMENT, "rating"),
        (feedback(rated.name, fit=0), FOUNDER_A, grpc.StatusCode.INVALID_ARGUMENT, "fit"),
        (feedback(rated.name, fit=9), FOUNDER_A, grpc.StatusCode.INVALID_ARGUMENT, "fit"),
        (feedback(upcoming.name), FOUNDER_A, grpc.StatusCode.FAILED_PRECONDITION, "completed session"),
        (feedback(other.name), FOUNDER_A, NOT_FOUND, other.name),
        (feedback(rated.name), FOUNDER_B, NOT_FOUND, rated.name),
        (feedback(rated.name), MENTOR_A, DENIED, "mentor"),
        (feedback(rated.name), ADMIN, grpc.StatusCode.INVALID_ARGUMENT, "reason"),  # on someone's behalf: why
    ]
    for request, who, code, said in cases:
        got = await failure(api.RecordSessionFeedback(request, metadata=who))
        assert got[0] == code and said in got[1], (request, got)
    assert await row_counts(consulting.runtime.db) == before

    # The founder rates it, once; a retry with the request_id gets the first answer (the console's form carries
    # one); a program manager records another on the founder's behalf, with the reason.
    first = feedback(rated.name, comment="기대와 달랐습니다", request_id="feedback-rated", etag=rated.etag)
    given = await api.RecordSessionFeedback(first, metadata=FOUNDER_A)
    assert await api.RecordSessionFeedback(first, metadata=FOUNDER_A) == given
    # The same request and request_id from another founder is not a retry of theirs: no first answer for them.
    stolen = await failure(api.RecordSessionFeedback(first, metadata=FOUNDER_B))
    assert stolen[0] == NOT_FOUND and "기대와 달랐습니다" not in stolen[1]
    reused = feedback(rated.name, rating=4, request_id="feedback-rated")
    code, message = await failure(api.RecordSessionFeedback(reused, metadata=FOUNDER_A))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "request_id" in message
    assert given.company_display_name == "메디비전"
    fb = given.feedback
    assert (fb.rating, fb.fit, fb.comment, fb.reason, fb.on_time) == (
        1,
        pb.SESSION_FIT_NOT_A_FIT,
        "기대와 달랐습니다",
        "",
        True,
    )
    assert fb.actor.startswith("founder:") and given.etag != rated.etag
    twice = await failure(api.RecordSessionFeedback(feedback(rated.name, rating=4), metadata=FOUNDER_A))
    assert twice[0] == grpc.StatusCode.ALREADY_EXISTS
    by_pm = await api.RecordSessionFeedback(
        feedback(late.name, rating=3, fit=pb.SESSION_FIT_STILL_DECIDING, reason="전화로 받은 의견"), metadata=ADMIN
    )
    assert (by_pm.feedback.actor.split(":")[0], by_pm.feedback.reason) == ("admin", "전화로 받은 의견")
    assert (await api.GetSession(pb.GetSessionRequest(name=rated.name), metadata=FOUNDER_A)).feedback.rating == 1

    # Completion: of the completed sessions whose 48 hours have passed, the share rated within them. "late" was
    # rated on time too; then the 48 hours of all three pass, and of another session rated only after them.
    figures = await api.GetConsultingStats(pb.GetConsultingStatsRequest(), metadata=ADMIN)
    assert (figures.feedback_due, figures.feedback_completion_percent) == (0, 100.0)
    async with consulting.runtime.db.engine.begin() as conn:
        ids = [int(s.name.removeprefix("sessions/")) for s in (rated, late, unrated, other)]
        table = store.sessions
        await conn.execute(table.update().where(table.c.id.in_(ids)).values(completed_at=now() - timedelta(hours=49)))
    tardy = await api.RecordSessionFeedback(feedback(other.name, rating=4, fit=pb.SESSION_FIT_GOOD_FIT),
                                            metadata=FOUNDER_B)  # fmt: skip
    assert not tardy.feedback.on_time
    figures = await api.GetConsultingStats(pb.GetConsultingStatsRequest(), metadata=ADMIN)
    assert (figures.feedback_due, figures.feedback_on_time, figures.feedback_completion_percent) == (4, 2, 50.0)
    async with consulting.runtime.db.read() as conn:
        stored = (await conn.execute(sa.select(sa.func.count()).select_from(store.session_feedback))).scalar_one()
    assert stored == 3


async def test_a_deactivated_mentor_cannot_be_booked_nor_act_until_reactivated(consulting: RunningConsulting) -> None:
    w = await World(consulting).build()
    api = w.api
    held = await w.book("companies/1", w.a)
    bad = await failure(api.DeactivateMentor(pb.DeactivateMentorRequest(name=w.a.name), metadata=ADMIN))
    assert bad[0] == grpc.StatusCode.INVALID_ARGUMENT and "reason" in bad[1]
    assert (await failure(api.DeactivateMentor(pb.DeactivateMentorRequest(name=w.a.name, reason="퇴임"),
                                               metadata=MENTOR_A)))[0] == DENIED  # fmt: skip
    away = await api.DeactivateMentor(pb.DeactivateMentorRequest(name=w.a.name, reason="퇴임"), metadata=ADMIN)
    assert (away.state, away.deactivation_reason) == (pb.MENTOR_STATE_INACTIVE, "퇴임") and away.HasField(
        "deactivate_time"
    )
    twice = await failure(
        api.DeactivateMentor(pb.DeactivateMentorRequest(name=w.a.name, reason="퇴임"), metadata=ADMIN)
    )
    assert twice[0] == grpc.StatusCode.FAILED_PRECONDITION

    # Not bookable, not offered in slots, not moved; their token (not yet revoked here) is refused at once.
    monday = future_monday()
    booking = schedule_request("companies/1", w.a, w.kind, monday)
    code, message = await failure(api.ScheduleSession(booking, metadata=ADMIN))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "inactive" in message
    search = pb.FindAvailableSlotsRequest(mentors=[w.a.name], start_date=_day(monday), end_date=_day(monday))
    search.duration.FromTimedelta(timedelta(hours=1))
    assert not (await api.FindAvailableSlots(search, metadata=ADMIN)).slots
    tagged = pb.FindAvailableSlotsRequest(expertise="vision", start_date=_day(monday), end_date=_day(monday))
    tagged.duration.FromTimedelta(timedelta(hours=1))
    assert {s.mentor for s in (await api.FindAvailableSlots(tagged, metadata=ADMIN)).slots} == {w.b.name}
    move = pb.RescheduleSessionRequest(name=held.name, interval=interval(monday))
    assert (await failure(api.RescheduleSession(move, metadata=ADMIN)))[0] == grpc.StatusCode.FAILED_PRECONDITION
    for call in (
        api.ListSessions(pb.ListSessionsRequest(), metadata=MENTOR_A),
        api.CompleteSession(pb.CompleteSessionRequest(name=held.name), metadata=MENTOR_A),
        api.ListActionItems(pb.ListActionItemsRequest(), metadata=MENTOR_A),
        api.ExportCalendar(pb.ExportCalendarRequest(owner=w.a.name), metadata=MENTOR_A),
    ):
        assert (await failure(call))[0] == DENIED
    active = await api.ListMentors(pb.ListMentorsRequest(filter="state=ACTIVE"), metadata=ADMIN)
    assert [m.name for m in active.mentors] == [w.b.name]
    figures = await api.GetConsultingStats(pb.GetConsultingStatsRequest(), metadata=ADMIN)
    assert (figures.mentors, figures.active_mentors) == (2, 1)

    back = await api.ReactivateMentor(pb.ReactivateMentorRequest(name=w.a.name, reason="복귀"), metadata=ADMIN)
    assert back.state == pb.MENTOR_STATE_ACTIVE and not back.deactivation_reason
    assert (await api.ScheduleSession(booking, metadata=ADMIN)).mentor == w.a.name
    assert len((await api.ListSessions(pb.ListSessionsRequest(), metadata=MENTOR_A)).sessions) == 2


def _day(moment: datetime) -> date_pb2.Date:
    """The day of a moment in Seoul."""
    local = moment.astimezone(ZoneInfo("Asia/Seoul"))
    return date_pb2.Date(year=local.year, month=local.month, day=local.day)
