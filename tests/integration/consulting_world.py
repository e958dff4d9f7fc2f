"""Building blocks for the consulting tests: mentors, rooms, session types and known companies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from google.protobuf import duration_pb2, timestamp_pb2
from google.type import dayofweek_pb2, interval_pb2, timeofday_pb2
from hub.consulting.v1 import consulting_pb2 as pb

from services.consulting import store
from tests.conftest import ADMIN, RunningConsulting

WEEKDAYS = [
    dayofweek_pb2.MONDAY, dayofweek_pb2.TUESDAY, dayofweek_pb2.WEDNESDAY, dayofweek_pb2.THURSDAY, dayofweek_pb2.FRIDAY,
]  # fmt: skip


def ts(value: datetime) -> timestamp_pb2.Timestamp:
    message = timestamp_pb2.Timestamp()
    message.FromDatetime(value)
    return message


def interval(start: datetime, end: datetime | None = None) -> interval_pb2.Interval:
    message = interval_pb2.Interval(start_time=ts(start))
    if end is not None:
        message.end_time.CopyFrom(ts(end))
    return message


def minutes(n: int) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=n * 60)


def week(start: int = 9, end: int = 18) -> list[pb.WeeklyWindow]:
    return [
        pb.WeeklyWindow(
            day=day, start_time=timeofday_pb2.TimeOfDay(hours=start), end_time=timeofday_pb2.TimeOfDay(hours=end)
        )
        for day in WEEKDAYS
    ]


def future_monday(hour_utc: int = 1, weeks: int = 2) -> datetime:
    """A Monday at least `weeks` weeks ahead, at hour_utc (01:00 UTC is 10:00 in Seoul)."""
    today = datetime.now(UTC).replace(hour=hour_utc, minute=0, second=0, microsecond=0)
    return today + timedelta(days=(7 - today.weekday()) % 7 + 7 * weeks)


def earlier_today(hours: int = 2) -> datetime:
    """A start that has passed (a session can be completed or marked a no-show only once it began)."""
    return datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=hours)


async def make_mentor(
    c: RunningConsulting, korean_name: str = "김도현", *, tz: str = "", expertise: tuple[str, ...] = ("vision",)
) -> pb.Mentor:
    return await c.consulting.CreateMentor(
        pb.CreateMentorRequest(
            mentor=pb.Mentor(
                korean_name=korean_name,
                kind=pb.MENTOR_KIND_FACULTY,
                affiliation="KAIST 전산학부",
                expertise=list(expertise),
                time_zone=tz,
                weekly_availability=week(),
            )
        ),
        metadata=ADMIN,
    )


async def make_type(c: RunningConsulting, *, length: int = 60, before: int = 0, after: int = 0) -> pb.SessionType:
    return await c.consulting.CreateSessionType(
        pb.CreateSessionTypeRequest(
            session_type=pb.SessionType(
                display_name="1:1 기술 자문",
                category=pb.SESSION_CATEGORY_TECHNICAL,
                default_duration=minutes(length),
                buffer_before=minutes(before),
                buffer_after=minutes(after),
            )
        ),
        metadata=ADMIN,
    )


async def make_room(c: RunningConsulting, name: str = "501호 회의실", capacity: int = 8) -> pb.Room:
    return await c.consulting.CreateRoom(
        pb.CreateRoomRequest(room=pb.Room(display_name=name, floor=5, capacity=capacity)), metadata=ADMIN
    )


async def know_company(
    c: RunningConsulting, number: int, korean_name: str = "메디비전", *, status: str = "RESIDENT", version: int = 1
) -> str:
    """Puts a company into the directory as its registered event would (the e2e tests take the real path)."""
    name = f"companies/{number}"
    async with c.runtime.db.write(actor="test") as uow:
        await store.upsert_company(
            uow.conn, company=name, korean_name=korean_name, english_name="", status=status, archived=False,
            version=version,
        )  # fmt: skip
    return name


def schedule_request(
    company: str, mentor: pb.Mentor, kind: pb.SessionType, start: datetime, *, end: datetime | None = None,
    room: str = "", request_id: str = "", agenda: str = "",
) -> pb.ScheduleSessionRequest:  # fmt: skip
    return pb.ScheduleSessionRequest(
        session=pb.Session(
            company=company, mentor=mentor.name, session_type=kind.name, interval=interval(start, end), room=room,
            agenda=agenda,
        ),
        request_id=request_id or f"req-{company}-{mentor.name}-{start.isoformat()}-{room}",
    )  # fmt: skip
