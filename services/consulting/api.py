"""ConsultingService: proto <-> domain, the use cases' transactions, and the events they emit."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

import grpc
import sqlalchemy as sa
from google.api import httpbody_pb2
from google.protobuf import duration_pb2, empty_pb2, timestamp_pb2
from google.type import dayofweek_pb2, interval_pb2, timeofday_pb2
from hub.consulting.v1 import consulting_pb2 as pb
from hub.consulting.v1 import consulting_pb2_grpc
from hub.events.v1 import consulting_pb2 as ev
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import Database, UnitOfWork, cursor_value, keyset_after, now, remember, timestamp
from hubcore.requests import (
    Check,
    PageTokens,
    Rules,
    calendar_date,
    check_etag,
    date_message,
    email,
    enum_short,
    length,
    max_items,
    page_size,
    parse_filter,
    parse_name,
    required,
    short_value,
)
from hubcore.server import ADMIN, SERVICE, caller
from services.consulting import domain, store

Context: TypeAlias = grpc.aio.ServicerContext
SUBJECT = "hub.consulting"
DEFAULT_SLOTS, MAX_SLOTS = 100, 1000
MAX_EXPORT = 2000

MENTOR_FIELDS: dict[str, list[Check]] = {
    "mentor.korean_name": [required, length(1, 100)],
    "mentor.english_name": [length(1, 100)],
    "mentor.kind": [required],
    "mentor.affiliation": [length(0, 200)],
    "mentor.email": [email, length(3, 200)],
    "mentor.expertise": [max_items(domain.MAX_TAGS, length(1, 30))],
    "mentor.time_zone": [length(0, 64)],
}
MENTOR_MUTABLE = frozenset(
    {"korean_name", "english_name", "kind", "affiliation", "email", "expertise", "time_zone", "weekly_availability"}
)
REQUEST_ID: dict[str, list[Check]] = {"request_id": [length(1, 100)]}

RULES: dict[type, Rules] = {
    pb.CreateMentorRequest: Rules({**MENTOR_FIELDS, **REQUEST_ID}),
    pb.GetMentorRequest: Rules({"name": [required]}),
    pb.ListMentorsRequest: Rules({"filter": [length(0, 500)]}),
    pb.UpdateMentorRequest: Rules(
        {"mentor.name": [required], **MENTOR_FIELDS}, "update_mask", "mentor", MENTOR_MUTABLE
    ),
    pb.CreateAvailabilityExceptionRequest: Rules(
        {
            "availability_exception.mentor": [required],
            "availability_exception.kind": [required],
            "availability_exception.reason": [length(0, 500)],
            **REQUEST_ID,
        }
    ),
    pb.ListAvailabilityExceptionsRequest: Rules({"mentor": [required]}),
    pb.DeleteAvailabilityExceptionRequest: Rules({"name": [required]}),
    pb.CreateRoomRequest: Rules(
        {"room.display_name": [required, length(1, 100)], "room.capacity": [required], **REQUEST_ID}
    ),
    pb.GetRoomRequest: Rules({"name": [required]}),
    pb.CreateSessionTypeRequest: Rules(
        {"session_type.display_name": [required, length(1, 100)], "session_type.category": [required], **REQUEST_ID}
    ),
    pb.GetSessionTypeRequest: Rules({"name": [required]}),
    pb.FindAvailableSlotsRequest: Rules(
        {"mentors": [max_items(100)], "expertise": [length(0, 30)], "time_zone": [length(0, 64)]}
    ),
    pb.ScheduleSessionRequest: Rules(
        {
            "session.company": [required],
            "session.mentor": [required],
            "session.session_type": [required],
            "session.agenda": [length(0, 2000)],
            "request_id": [required, length(1, 100)],
        }
    ),
    pb.GetSessionRequest: Rules({"name": [required]}),
    pb.ListSessionsRequest: Rules({"filter": [length(0, 500)]}),
    pb.RescheduleSessionRequest: Rules({"name": [required], "reason": [length(0, 500)]}),
    pb.CancelSessionRequest: Rules({"name": [required], "reason": [required, length(1, 500)]}),
    pb.MarkSessionNoShowRequest: Rules({"name": [required]}),
    pb.CompleteSessionRequest: Rules({"name": [required], "action_items": [max_items(50)]}),
    pb.GetActionItemRequest: Rules({"name": [required]}),
    pb.ListActionItemsRequest: Rules({"filter": [length(0, 500)]}),
    pb.CompleteActionItemRequest: Rules({"name": [required]}),
    pb.ExportCalendarRequest: Rules({"owner": [required]}),
    pb.CreateProgramRequest: Rules(
        {
            "program.display_name": [required, length(1, 200)],
            "program.kind": [required],
            "program.description": [length(0, 5000)],
            **REQUEST_ID,
        }
    ),
    pb.GetProgramRequest: Rules({"name": [required]}),
    pb.ListProgramsRequest: Rules({"filter": [length(0, 500)]}),
    pb.CreateRegistrationRequest: Rules(
        {
            "registration.program": [required],
            "registration.participant_name": [required, length(1, 100)],
            "registration.email": [email, length(3, 200)],
            **REQUEST_ID,
        }
    ),
    pb.ListRegistrationsRequest: Rules({"program": [required]}),
    pb.RecordAttendanceRequest: Rules({"program": [required], "marks": [max_items(1000)]}),
}
READ = frozenset({ADMIN, SERVICE})
ROLES = {
    name: READ
    for name in (
        "GetMentor", "ListMentors", "ListAvailabilityExceptions", "GetRoom", "ListRooms", "GetSessionType",
        "ListSessionTypes", "FindAvailableSlots", "GetSession", "ListSessions", "GetActionItem", "ListActionItems",
        "ExportCalendar", "GetProgram", "ListPrograms", "ListRegistrations", "GetConsultingStats",
    )
}  # fmt: skip
DEFAULT_ROLES = frozenset({ADMIN})


# Values between proto and domain


def _instant(ts: timestamp_pb2.Timestamp) -> datetime:
    return ts.ToDatetime(tzinfo=UTC)


def _interval(
    value: interval_pb2.Interval, path: str, *, end_optional: bool = False
) -> tuple[datetime, datetime | None]:
    if not value.HasField("start_time"):
        raise errors.invalid(f"{path}.start_time", "is required")
    end = _instant(value.end_time) if value.HasField("end_time") else None
    if end is None and not end_optional:
        raise errors.invalid(f"{path}.end_time", "is required")
    return _instant(value.start_time), end


def _interval_pb(start: datetime, end: datetime) -> interval_pb2.Interval:
    return interval_pb2.Interval(start_time=timestamp(start), end_time=timestamp(end))


def _duration(value: duration_pb2.Duration) -> timedelta:
    return timedelta(seconds=value.seconds, microseconds=value.nanos // 1000)


def _duration_pb(span: timedelta) -> duration_pb2.Duration:
    message = duration_pb2.Duration()
    message.FromTimedelta(span)
    return message


def _minute(value: timeofday_pb2.TimeOfDay, path: str) -> int:
    if value.seconds or value.nanos or not 0 <= value.minutes <= 59 or not 0 <= value.hours <= 24:
        raise errors.invalid(path, "must be a time of day in whole minutes, 00:00 to 24:00")
    if value.hours == 24 and value.minutes:
        raise errors.invalid(path, "must not be after 24:00")
    return value.hours * 60 + value.minutes


def _windows(messages: Any, path: str) -> list[domain.Window]:
    windows = []
    for i, w in enumerate(messages):
        if w.day == dayofweek_pb2.DAY_OF_WEEK_UNSPECIFIED:
            raise errors.invalid(f"{path}[{i}].day", "is required")
        windows.append(
            domain.Window(
                weekday=w.day - 1,  # google.type.DayOfWeek: MONDAY = 1
                start_minute=_minute(w.start_time, f"{path}[{i}].start_time"),
                end_minute=_minute(w.end_time, f"{path}[{i}].end_time"),
            )
        )
    return windows


def _window_pb(w: domain.Window) -> pb.WeeklyWindow:
    return pb.WeeklyWindow(
        day=dayofweek_pb2.DayOfWeek.Value(dayofweek_pb2.DayOfWeek.Name(w.weekday + 1)),
        start_time=timeofday_pb2.TimeOfDay(hours=w.start_minute // 60, minutes=w.start_minute % 60),
        end_time=timeofday_pb2.TimeOfDay(hours=w.end_minute // 60, minutes=w.end_minute % 60),
    )


def _optional_id(name: str, collection: str, path: str) -> int | None:
    return parse_name(name, collection, path) if name else None


def _name(collection: str, number: int | None) -> str:
    return f"{collection}/{number}" if number is not None else ""


def mentor_pb(m: domain.Mentor) -> pb.Mentor:
    return pb.Mentor(
        name=m.name,
        korean_name=m.korean_name,
        english_name=m.english_name,
        kind=pb.MentorKind.Value(f"MENTOR_KIND_{m.kind}"),
        affiliation=m.affiliation,
        email=m.email,
        expertise=m.expertise,
        time_zone=m.time_zone,
        weekly_availability=[_window_pb(w) for w in m.windows],
        create_time=timestamp(m.created_at),
        update_time=timestamp(m.updated_at),
        etag=m.etag,
    )


def mentor_fields(message: pb.Mentor) -> dict[str, Any]:
    return {
        "korean_name": message.korean_name,
        "english_name": message.english_name,
        "kind": enum_short(pb.MentorKind, "MENTOR_KIND", message.kind),
        "affiliation": message.affiliation,
        "email": message.email,
        "expertise": list(message.expertise),
        "time_zone": message.time_zone,
        "windows": _windows(message.weekly_availability, "mentor.weekly_availability"),
    }


def exception_pb(x: domain.AvailabilityException) -> pb.AvailabilityException:
    return pb.AvailabilityException(
        name=x.name,
        mentor=f"mentors/{x.mentor_id}",
        kind=pb.EXCEPTION_KIND_AVAILABLE if x.available else pb.EXCEPTION_KIND_UNAVAILABLE,
        interval=_interval_pb(x.start, x.end),
        reason=x.reason,
        create_time=timestamp(x.created_at),
    )


def room_pb(r: domain.Room) -> pb.Room:
    return pb.Room(
        name=r.name,
        display_name=r.display_name,
        floor=r.floor,
        capacity=r.capacity,
        create_time=timestamp(r.created_at),
    )


def session_type_pb(t: domain.SessionType) -> pb.SessionType:
    return pb.SessionType(
        name=t.name,
        display_name=t.display_name,
        category=pb.SessionCategory.Value(f"SESSION_CATEGORY_{t.category}"),
        default_duration=_duration_pb(t.default_duration),
        buffer_before=_duration_pb(t.buffer_before),
        buffer_after=_duration_pb(t.buffer_after),
        create_time=timestamp(t.created_at),
    )


def session_pb(s: domain.Session, history: list[domain.SessionChange] | None = None) -> pb.Session:
    return pb.Session(
        name=s.name,
        company=f"companies/{s.company_id}",
        mentor=f"mentors/{s.mentor_id}",
        session_type=f"sessionTypes/{s.session_type_id}",
        interval=_interval_pb(s.start, s.end),
        room=_name("rooms", s.room_id),
        agenda=s.agenda,
        state=pb.SessionState.Value(f"SESSION_STATE_{s.state}"),
        notes=s.notes,
        cancel_reason=s.cancel_reason,
        sequence=s.sequence,
        history=[
            pb.SessionChange(
                previous_interval=_interval_pb(c.previous_start, c.previous_end),
                previous_room=_name("rooms", c.previous_room_id),
                new_interval=_interval_pb(c.new_start, c.new_end),
                new_room=_name("rooms", c.new_room_id),
                reason=c.reason,
                change_time=timestamp(c.changed_at),
                actor=c.actor,
            )
            for c in history or []
        ],
        create_time=timestamp(s.created_at),
        update_time=timestamp(s.updated_at),
        etag=s.etag,
    )


def mentor_snapshot(mentor: domain.Mentor) -> ev.MentorSnapshot:
    return ev.MentorSnapshot(
        name=mentor.name, korean_name=mentor.korean_name, english_name=mentor.english_name, email=mentor.email,
        time_zone=mentor.time_zone, kind=mentor.kind,
    )  # fmt: skip


def session_snapshot(s: domain.Session, mentor: domain.Mentor, kind: domain.SessionType) -> ev.SessionSnapshot:
    return ev.SessionSnapshot(
        name=s.name,
        company=f"companies/{s.company_id}",
        mentor=mentor.name,
        mentor_name=mentor.korean_name,
        session_type=kind.name,
        session_type_name=kind.display_name,
        category=kind.category,
        start_time=timestamp(s.start),
        end_time=timestamp(s.end),
        room=_name("rooms", s.room_id),
        agenda=s.agenda,
        state=s.state,
        sequence=s.sequence,
    )


def action_item_pb(a: domain.ActionItem) -> pb.ActionItem:
    return pb.ActionItem(
        name=a.name,
        session=f"sessions/{a.session_id}",
        company=f"companies/{a.company_id}",
        mentor=f"mentors/{a.mentor_id}",
        description=a.description,
        owner=a.owner,
        due_date=date_message(a.due_date),
        state=pb.ActionItemState.Value(f"ACTION_ITEM_STATE_{a.state}"),
        overdue=a.is_overdue(domain.today()),
        complete_time=timestamp(a.completed_at),
        create_time=timestamp(a.created_at),
        etag=a.etag,
    )


def action_item_snapshot(a: domain.ActionItem) -> ev.ActionItemSnapshot:
    return ev.ActionItemSnapshot(
        name=a.name,
        session=f"sessions/{a.session_id}",
        company=f"companies/{a.company_id}",
        mentor=f"mentors/{a.mentor_id}",
        description=a.description,
        owner=a.owner,
        due_date=date_message(a.due_date),
        state=a.state,
    )


def program_pb(p: domain.Program) -> pb.Program:
    return pb.Program(
        name=p.name,
        display_name=p.display_name,
        kind=pb.ProgramKind.Value(f"PROGRAM_KIND_{p.kind}"),
        interval=_interval_pb(p.start, p.end),
        room=_name("rooms", p.room_id),
        capacity=p.capacity,
        description=p.description,
        registered_count=p.registered_count,
        attended_count=p.attended_count,
        create_time=timestamp(p.created_at),
    )


def registration_pb(r: domain.Registration) -> pb.Registration:
    return pb.Registration(
        name=r.name,
        program=f"programs/{r.program_id}",
        participant_name=r.participant_name,
        email=r.email,
        company=_name("companies", r.company_id),
        state=pb.RegistrationState.Value(f"REGISTRATION_STATE_{r.state}"),
        create_time=timestamp(r.created_at),
    )


def _conflict(resource: str, holder: str) -> errors.FailedPrecondition:
    return errors.FailedPrecondition(
        domain.conflict_message(resource, holder), type_="BOOKING_CONFLICT", subject=holder
    )


@dataclass
class _Pending:
    """What a write transaction is booking, kept to name the winner if PostgreSQL's constraint refuses it."""

    holder: str = ""
    holds: list[tuple[str, datetime, datetime]] = field(default_factory=list)


async def _load(conn: AsyncConnection, loader: Any, number: int, kind: str, name: str) -> Any:
    found = await loader(conn, number)
    if found is None:
        raise errors.NotFound(kind, name)
    return found


def _page(request: Any, query_key: str, types: tuple[type, ...] = (int,)) -> tuple[int, list[Any] | None]:
    """The page size and the position after which the page starts (by default, the last row id seen)."""
    size = page_size(request.page_size)
    return size, PageTokens.decode(request.page_token, query_key, types)


def _bool(raw: str) -> bool:
    if raw.lower() not in ("true", "false"):
        raise ValueError("must be true or false")
    return raw.lower() == "true"


def _when(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{raw!r} is not an RFC 3339 time like 2026-03-02T09:00:00Z") from None
    if value.tzinfo is None:
        raise ValueError(f"{raw!r} needs a UTC offset, e.g. 2026-03-02T09:00:00Z")
    return value.astimezone(UTC)


class ConsultingApi(consulting_pb2_grpc.ConsultingServiceServicer):
    def __init__(self, db: Database) -> None:
        self.db = db

    def _write(self) -> Any:
        return self.db.write(actor=caller().actor)

    @asynccontextmanager
    async def _booking(self, pending: _Pending) -> AsyncIterator[UnitOfWork]:
        """A write transaction that books time. A booking refused by PostgreSQL's exclusion constraint (a
        concurrent writer won the race after our check) becomes FAILED_PRECONDITION naming the winner."""
        try:
            async with self._write() as uow:
                yield uow
        except store.BookingConflict as conflict:
            raise _conflict(conflict.resource, conflict.holder) from None
        except IntegrityError as exc:
            if not store.is_overlap(exc):
                raise
            async with self.db.read() as conn:
                found = await store.find_conflict(conn, pending.holds, holder=pending.holder)
            if found:
                raise _conflict(*found) from None
            raise errors.FailedPrecondition(
                "another booking took this time at the same moment; search for free slots again",
                type_="BOOKING_CONFLICT",
                subject=pending.holder,
            ) from None

    async def _reserve(self, uow: UnitOfWork, pending: _Pending, holder: str, holds: Any) -> None:
        pending.holder, pending.holds = holder, list(holds)
        await store.reserve(uow.conn, pending.holds, holder=holder)

    # Mentors

    async def CreateMentor(self, request: pb.CreateMentorRequest, context: Context) -> pb.Mentor:
        async def work() -> pb.Mentor:
            mentor = domain.new_mentor(**mentor_fields(request.mentor))
            async with self._write() as uow:
                mentor = await store.insert_mentor(uow.conn, mentor)
                snapshot = mentor_snapshot(mentor)
                await uow.emit(f"{SUBJECT}.mentor.registered", mentor.name, mentor.version,
                               ev.MentorRegistered(mentor=snapshot))  # fmt: skip
                response = mentor_pb(mentor)
                await remember(uow, "CreateMentor", request.request_id, request, response)
            return response

        result: pb.Mentor = await self.db.idempotent("CreateMentor", request.request_id, request, pb.Mentor, work)
        return result

    async def GetMentor(self, request: pb.GetMentorRequest, context: Context) -> pb.Mentor:
        mentor_id = parse_name(request.name, "mentors")
        async with self.db.read() as conn:
            return mentor_pb(await _load(conn, store.get_mentor, mentor_id, "Mentor", request.name))

    async def ListMentors(self, request: pb.ListMentorsRequest, context: Context) -> pb.ListMentorsResponse:
        terms = parse_filter(
            request.filter,
            {"expertise": lambda v: domain.clean(v).casefold(), "kind": short_value(pb.MentorKind, "MENTOR_KIND")},
        )
        size, after = _page(request, f"mentors|{sorted(terms.items())}")
        c = store.mentors.c
        query = sa.select(store.mentors).order_by(c.id).limit(size + 1)
        if "kind" in terms:
            query = query.where(c.kind.in_(terms["kind"]))
        for tag in terms.get("expertise", []):
            tagged = sa.select(store.mentor_expertise.c.mentor_id).where(store.mentor_expertise.c.tag == tag)
            query = query.where(c.id.in_(tagged))
        if after is not None:
            query = query.where(c.id > after[0])
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        response = pb.ListMentorsResponse(mentors=[mentor_pb(store.to_mentor(r)) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = PageTokens.encode(f"mentors|{sorted(terms.items())}", [rows[size - 1].id])
        return response

    async def UpdateMentor(self, request: pb.UpdateMentorRequest, context: Context) -> pb.Mentor:
        mentor_id = parse_name(request.mentor.name, "mentors", "mentor.name")
        wanted = mentor_fields(request.mentor)
        fields = {"weekly_availability": "windows"}
        changes = {fields.get(p, p): wanted[fields.get(p, p)] for p in request.update_mask.paths}
        async with self._write() as uow:
            mentor = await _load(uow.conn, store.get_mentor, mentor_id, "Mentor", request.mentor.name)
            check_etag(request.mentor.etag, mentor.etag)
            updated, changed = domain.update_mentor(mentor, changes)
            if not changed:
                return mentor_pb(mentor)
            updated = await store.save_mentor(uow.conn, updated, expected_version=mentor.version)
            before, after = mentor_snapshot(mentor), mentor_snapshot(updated)
            shown = [f.name for f in after.DESCRIPTOR.fields if getattr(before, f.name) != getattr(after, f.name)]
            if shown:  # other services know only the snapshot: a change to availability is none of theirs
                await uow.emit(f"{SUBJECT}.mentor.updated", updated.name, updated.version,
                               ev.MentorUpdated(mentor=after, changed_fields=shown))  # fmt: skip
        return mentor_pb(updated)

    # Availability exceptions

    async def CreateAvailabilityException(
        self, request: pb.CreateAvailabilityExceptionRequest, context: Context
    ) -> pb.AvailabilityException:
        message = request.availability_exception
        mentor_id = parse_name(message.mentor, "mentors", "availability_exception.mentor")
        start, end = _interval(message.interval, "availability_exception.interval")
        domain.check_interval(start, end, "availability_exception.interval", longest=timedelta(days=366))
        assert end is not None
        exception = domain.AvailabilityException(
            id=0,
            mentor_id=mentor_id,
            available=message.kind == pb.EXCEPTION_KIND_AVAILABLE,
            start=start,
            end=end,
            reason=domain.clean(message.reason),
        )

        async def work() -> pb.AvailabilityException:
            async with self._write() as uow:
                await _load(uow.conn, store.get_mentor, mentor_id, "Mentor", message.mentor)
                response = exception_pb(await store.insert_exception(uow.conn, exception))
                await remember(uow, "CreateAvailabilityException", request.request_id, request, response)
            return response

        result: pb.AvailabilityException = await self.db.idempotent(
            "CreateAvailabilityException", request.request_id, request, pb.AvailabilityException, work
        )
        return result

    async def ListAvailabilityExceptions(
        self, request: pb.ListAvailabilityExceptionsRequest, context: Context
    ) -> pb.ListAvailabilityExceptionsResponse:
        mentor_id = parse_name(request.mentor, "mentors", "mentor")
        size, after = _page(request, f"exceptions|{mentor_id}")
        c = store.availability_exceptions.c
        query = sa.select(store.availability_exceptions).where(c.mentor_id == mentor_id).order_by(c.id).limit(size + 1)
        if after is not None:
            query = query.where(c.id > after[0])
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        response = pb.ListAvailabilityExceptionsResponse(
            availability_exceptions=[exception_pb(store.to_exception(r)) for r in rows[:size]]
        )
        if len(rows) > size:
            response.next_page_token = PageTokens.encode(f"exceptions|{mentor_id}", [rows[size - 1].id])
        return response

    async def DeleteAvailabilityException(
        self, request: pb.DeleteAvailabilityExceptionRequest, context: Context
    ) -> empty_pb2.Empty:
        number = parse_name(request.name, "availabilityExceptions")
        async with self._write() as uow:
            table = store.availability_exceptions
            result = await uow.conn.execute(table.delete().where(table.c.id == number))
            if result.rowcount != 1:
                raise errors.NotFound("AvailabilityException", request.name)
        return empty_pb2.Empty()

    # Rooms and session types

    async def CreateRoom(self, request: pb.CreateRoomRequest, context: Context) -> pb.Room:
        room = domain.new_room(
            display_name=request.room.display_name, capacity=request.room.capacity, floor=request.room.floor
        )

        async def work() -> pb.Room:
            async with self._write() as uow:
                response = room_pb(await store.insert_room(uow.conn, room))
                await remember(uow, "CreateRoom", request.request_id, request, response)
            return response

        result: pb.Room = await self.db.idempotent("CreateRoom", request.request_id, request, pb.Room, work)
        return result

    async def GetRoom(self, request: pb.GetRoomRequest, context: Context) -> pb.Room:
        room_id = parse_name(request.name, "rooms")
        async with self.db.read() as conn:
            return room_pb(await _load(conn, store.get_room, room_id, "Room", request.name))

    async def ListRooms(self, request: pb.ListRoomsRequest, context: Context) -> pb.ListRoomsResponse:
        size, after = _page(request, "rooms")
        c = store.rooms.c
        query = sa.select(store.rooms).order_by(c.id).limit(size + 1)
        if after is not None:
            query = query.where(c.id > after[0])
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        response = pb.ListRoomsResponse(rooms=[room_pb(store.to_room(r)) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = PageTokens.encode("rooms", [rows[size - 1].id])
        return response

    async def CreateSessionType(self, request: pb.CreateSessionTypeRequest, context: Context) -> pb.SessionType:
        message = request.session_type
        kind = domain.new_session_type(
            display_name=message.display_name,
            category=enum_short(pb.SessionCategory, "SESSION_CATEGORY", message.category),
            default_duration=_duration(message.default_duration),
            buffer_before=_duration(message.buffer_before),
            buffer_after=_duration(message.buffer_after),
        )

        async def work() -> pb.SessionType:
            async with self._write() as uow:
                response = session_type_pb(await store.insert_session_type(uow.conn, kind))
                await remember(uow, "CreateSessionType", request.request_id, request, response)
            return response

        result: pb.SessionType = await self.db.idempotent(
            "CreateSessionType", request.request_id, request, pb.SessionType, work
        )
        return result

    async def GetSessionType(self, request: pb.GetSessionTypeRequest, context: Context) -> pb.SessionType:
        type_id = parse_name(request.name, "sessionTypes")
        async with self.db.read() as conn:
            return session_type_pb(await _load(conn, store.get_session_type, type_id, "SessionType", request.name))

    async def ListSessionTypes(
        self, request: pb.ListSessionTypesRequest, context: Context
    ) -> pb.ListSessionTypesResponse:
        size, after = _page(request, "sessionTypes")
        c = store.session_types.c
        query = sa.select(store.session_types).order_by(c.id).limit(size + 1)
        if after is not None:
            query = query.where(c.id > after[0])
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        response = pb.ListSessionTypesResponse(
            session_types=[session_type_pb(store.to_session_type(r)) for r in rows[:size]]
        )
        if len(rows) > size:
            response.next_page_token = PageTokens.encode("sessionTypes", [rows[size - 1].id])
        return response

    # Availability

    async def FindAvailableSlots(
        self, request: pb.FindAvailableSlotsRequest, context: Context
    ) -> pb.FindAvailableSlotsResponse:
        tag = domain.clean(request.expertise).casefold()
        if bool(request.mentors) == bool(tag):
            raise errors.invalid("mentors", "give either mentors or an expertise tag (exactly one of the two)")
        mentor_ids = [parse_name(m, "mentors", f"mentors[{i}]") for i, m in enumerate(request.mentors)]
        first = calendar_date(request.start_date, "start_date")
        last = calendar_date(request.end_date, "end_date")
        if first is None or last is None:
            raise errors.invalid("start_date" if first is None else "end_date", "is required")
        window_start, window_end = domain.search_window(first, last, request.time_zone.strip() or domain.HUB_ZONE)
        type_id = _optional_id(request.session_type, "sessionTypes", "session_type")
        room_id = _optional_id(request.room, "rooms", "room")
        company = request.company
        if company:
            parse_name(company, "companies", "company")
        if request.min_room_capacity < 0:
            raise errors.invalid("min_room_capacity", "must not be negative")
        if request.page_size < 0:
            raise errors.invalid("page_size", "must not be negative")
        limit = min(request.page_size or DEFAULT_SLOTS, MAX_SLOTS)
        step = _duration(request.granularity) if request.HasField("granularity") else timedelta(minutes=30)
        if not (timedelta(minutes=5) <= step <= timedelta(hours=24) and step.total_seconds() % 60 == 0):
            raise errors.invalid("granularity", "must be whole minutes from 5 minutes to 24 hours")

        async with self.db.read() as conn:
            kind = (
                await _load(conn, store.get_session_type, type_id, "SessionType", request.session_type)
                if type_id
                else None
            )
            if company and await store.get_company(conn, company) is None:
                raise errors.NotFound("Company", company)  # as ScheduleSession would: no slots for no one
            if request.HasField("duration"):
                duration = _duration(request.duration)
            elif kind is not None:
                duration = kind.default_duration
            else:
                raise errors.invalid("duration", "is required without a session_type")
            if not domain.MIN_SESSION <= duration <= domain.MAX_SESSION:
                raise errors.invalid("duration", "must be from 5 minutes to 12 hours")
            if mentor_ids:
                found = await store.mentors_by_ids(conn, mentor_ids)
                for i, mentor_id in enumerate(mentor_ids):
                    if mentor_id not in found:
                        raise errors.NotFound("Mentor", request.mentors[i])
                mentors = [found[m] for m in dict.fromkeys(mentor_ids)]
            else:
                mentors = await store.mentors_with_tag(conn, tag)
            ids = [m.id for m in mentors]
            exceptions = await store.exceptions_between(conn, ids, window_start, window_end)
            reach = domain.MAX_BUFFER * 2  # bookings carry buffers; look that far beyond the window
            rooms = []
            if room_id is not None:
                rooms = [await _load(conn, store.get_room, room_id, "Room", request.room)]
            elif request.need_room:
                rooms = await store.all_rooms(conn, request.min_room_capacity)
            resources = [m.name for m in mentors] + [r.name for r in rooms] + ([company] if company else [])
            busy = await store.busy_between(conn, resources, window_start - reach, window_end + reach)

        buffer_before = kind.buffer_before if kind else timedelta(0)
        buffer_after = kind.buffer_after if kind else timedelta(0)
        room_busy = {r.id: domain.Busy.of(busy[r.name]) for r in rooms} if (rooms or request.need_room) else None
        slots: list[domain.Slot] = []
        for mentor in mentors:
            slots += domain.find_slots(
                mentor_id=mentor.id,
                available=domain.available_periods(mentor, exceptions.get(mentor.id, []), window_start, window_end),
                mentor_busy=domain.Busy.of(busy[mentor.name]),
                duration=duration,
                buffer_before=buffer_before,
                buffer_after=buffer_after,
                step=step,
                not_before=now(),
                company_busy=domain.Busy.of(busy[company]) if company else None,
                rooms=room_busy,
                limit=limit + 1,
            )
        slots.sort(key=lambda s: (s.start, s.mentor_id))
        return pb.FindAvailableSlotsResponse(
            slots=[
                pb.Slot(
                    mentor=f"mentors/{s.mentor_id}",
                    interval=_interval_pb(s.start, s.end),
                    rooms=[f"rooms/{r}" for r in s.rooms],
                )
                for s in slots[:limit]
            ],
            truncated=len(slots) > limit,
        )

    # Sessions

    async def _session_context(
        self, conn: AsyncConnection, session: domain.Session
    ) -> tuple[domain.Mentor, domain.SessionType]:
        mentor = await store.get_mentor(conn, session.mentor_id)
        kind = await store.get_session_type(conn, session.session_type_id)
        assert mentor is not None and kind is not None  # foreign keys
        return mentor, kind

    async def ScheduleSession(self, request: pb.ScheduleSessionRequest, context: Context) -> pb.Session:
        message = request.session
        company = message.company
        company_id = parse_name(company, "companies", "session.company")
        mentor_id = parse_name(message.mentor, "mentors", "session.mentor")
        type_id = parse_name(message.session_type, "sessionTypes", "session.session_type")
        room_id = _optional_id(message.room, "rooms", "session.room")
        start, end = _interval(message.interval, "session.interval", end_optional=True)

        async def work() -> pb.Session:
            pending = _Pending()
            async with self._booking(pending) as uow:
                conn = uow.conn
                known = await store.get_company(conn, company)
                if known is None:
                    raise errors.NotFound("Company", company)
                if known.archived or known.status == "WITHDRAWN":
                    why = "archived" if known.archived else "withdrawn"
                    raise errors.FailedPrecondition(f"{company} is {why}", type_="COMPANY_STATE", subject=company)
                mentor = await _load(conn, store.get_mentor, mentor_id, "Mentor", message.mentor)
                kind = await _load(conn, store.get_session_type, type_id, "SessionType", message.session_type)
                if room_id is not None:
                    await _load(conn, store.get_room, room_id, "Room", message.room)
                session = domain.new_session(
                    company_id=company_id, mentor_id=mentor_id, session_type=kind, start=start, end=end,
                    room_id=room_id, agenda=message.agenda,
                )  # fmt: skip
                session = await store.insert_session(conn, session)
                await self._reserve(uow, pending, session.name, session.holds())
                await uow.emit(
                    f"{SUBJECT}.session.scheduled",
                    session.name,
                    session.version,
                    ev.SessionScheduled(session=session_snapshot(session, mentor, kind)),
                )
                response = session_pb(session)
                await remember(uow, "ScheduleSession", request.request_id, request, response)
            return response

        result: pb.Session = await self.db.idempotent("ScheduleSession", request.request_id, request, pb.Session, work)
        return result

    async def GetSession(self, request: pb.GetSessionRequest, context: Context) -> pb.Session:
        session_id = parse_name(request.name, "sessions")
        async with self.db.read() as conn:
            session = await _load(conn, store.get_session, session_id, "Session", request.name)
            history = await store.changes_of(conn, [session_id])
        return session_pb(session, history.get(session_id))

    async def ListSessions(self, request: pb.ListSessionsRequest, context: Context) -> pb.ListSessionsResponse:
        terms = parse_filter(
            request.filter,
            {
                "mentor": lambda v: parse_name(v, "mentors", "filter"),
                "company": lambda v: parse_name(v, "companies", "filter"),
                "room": lambda v: parse_name(v, "rooms", "filter"),
                "session_type": lambda v: parse_name(v, "sessionTypes", "filter"),
                "state": short_value(pb.SessionState, "SESSION_STATE"),
                "start_after": _when,
                "start_before": _when,
            },
        )
        query_key = f"sessions|{sorted((k, [str(x) for x in v]) for k, v in terms.items())}"
        size, after = _page(request, query_key, (datetime, int))
        c = store.sessions.c
        query = sa.select(store.sessions)
        for key, column in (
            ("mentor", c.mentor_id), ("company", c.company_id), ("room", c.room_id),
            ("session_type", c.session_type_id), ("state", c.state),
        ):  # fmt: skip
            if key in terms:
                query = query.where(column.in_(terms[key]))
        for value in terms.get("start_after", []):
            query = query.where(c.start_at >= value)
        for value in terms.get("start_before", []):
            query = query.where(c.start_at < value)
        if after is not None:
            query = query.where(keyset_after([c.start_at, c.id], after, False))
        query = query.order_by(c.start_at, c.id).limit(size + 1)
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
            found = [store.to_session(r) for r in rows[:size]]
            history = await store.changes_of(conn, [s.id for s in found])
        response = pb.ListSessionsResponse(sessions=[session_pb(s, history.get(s.id)) for s in found])
        if len(rows) > size:
            last = rows[size - 1]
            response.next_page_token = PageTokens.encode(query_key, [cursor_value(last.start_at), last.id])
        return response

    async def RescheduleSession(self, request: pb.RescheduleSessionRequest, context: Context) -> pb.Session:
        session_id = parse_name(request.name, "sessions")
        start, end = _interval(request.interval, "interval", end_optional=True)
        room_id = _optional_id(request.room, "rooms", "room")
        reason = domain.clean(request.reason)
        pending = _Pending()
        async with self._booking(pending) as uow:
            conn = uow.conn
            session = await _load(conn, store.get_session, session_id, "Session", request.name)
            check_etag(request.etag, session.etag)
            if room_id is not None:
                await _load(conn, store.get_room, room_id, "Room", request.room)
            moved = session.reschedule(
                start, end or start + (session.end - session.start), room_id if room_id is not None else session.room_id
            )
            moved = await self._save(conn, moved, session.version)
            await self._reserve(uow, pending, moved.name, moved.holds())
            await store.add_change(conn, session, moved, reason, caller().actor)
            mentor, kind = await self._session_context(conn, moved)
            await uow.emit(
                f"{SUBJECT}.session.rescheduled",
                moved.name,
                moved.version,
                ev.SessionRescheduled(
                    session=session_snapshot(moved, mentor, kind),
                    previous_start_time=timestamp(session.start),
                    previous_end_time=timestamp(session.end),
                    previous_room=_name("rooms", session.room_id),
                    reason=reason,
                ),
            )
            history = await store.changes_of(conn, [session_id])
        return session_pb(moved, history.get(session_id))

    async def _save(self, conn: AsyncConnection, session: domain.Session, expected_version: int) -> domain.Session:
        return await store.save_session(conn, session, expected_version=expected_version)

    async def CancelSession(self, request: pb.CancelSessionRequest, context: Context) -> pb.Session:
        session_id = parse_name(request.name, "sessions")
        async with self._write() as uow:
            session = await _load(uow.conn, store.get_session, session_id, "Session", request.name)
            check_etag(request.etag, session.etag)
            cancelled = await self._save(uow.conn, session.cancel(request.reason), session.version)
            await store.release(uow.conn, holder=cancelled.name)
            mentor, kind = await self._session_context(uow.conn, cancelled)
            await uow.emit(
                f"{SUBJECT}.session.cancelled",
                cancelled.name,
                cancelled.version,
                ev.SessionCancelled(session=session_snapshot(cancelled, mentor, kind), reason=cancelled.cancel_reason),
            )
            history = await store.changes_of(uow.conn, [session_id])
        return session_pb(cancelled, history.get(session_id))

    async def MarkSessionNoShow(self, request: pb.MarkSessionNoShowRequest, context: Context) -> pb.Session:
        session_id = parse_name(request.name, "sessions")
        async with self._write() as uow:
            session = await _load(uow.conn, store.get_session, session_id, "Session", request.name)
            check_etag(request.etag, session.etag)
            missed = await self._save(uow.conn, session.no_show(now()), session.version)
            await store.release(uow.conn, holder=missed.name)
            mentor, kind = await self._session_context(uow.conn, missed)
            await uow.emit(
                f"{SUBJECT}.session.no_show",
                missed.name,
                missed.version,
                ev.SessionNoShow(session=session_snapshot(missed, mentor, kind)),
            )
            history = await store.changes_of(uow.conn, [session_id])
        return session_pb(missed, history.get(session_id))

    async def CompleteSession(self, request: pb.CompleteSessionRequest, context: Context) -> pb.CompleteSessionResponse:
        session_id = parse_name(request.name, "sessions")
        wanted = [
            domain.new_action_item(
                index=i,
                description=item.description,
                owner=item.owner,
                due_date=calendar_date(item.due_date, f"action_items[{i}].due_date"),
            )
            for i, item in enumerate(request.action_items)
        ]
        async with self._write() as uow:
            conn = uow.conn
            session = await _load(conn, store.get_session, session_id, "Session", request.name)
            check_etag(request.etag, session.etag)
            done = await self._save(conn, session.complete(request.notes, now()), session.version)
            items = []
            for description, owner, due in wanted:
                item = domain.ActionItem(
                    id=0, session_id=done.id, company_id=done.company_id, mentor_id=done.mentor_id,
                    description=description, owner=owner, due_date=due,
                )  # fmt: skip
                items.append(await store.insert_action_item(conn, item))
            mentor, kind = await self._session_context(conn, done)
            await uow.emit(
                f"{SUBJECT}.session.completed",
                done.name,
                done.version,
                ev.SessionCompleted(
                    session=session_snapshot(done, mentor, kind), notes=done.notes, action_items=[a.name for a in items]
                ),
            )
            for item in items:
                await uow.emit(
                    f"{SUBJECT}.action_item.created",
                    item.name,
                    item.version,
                    ev.ActionItemCreated(action_item=action_item_snapshot(item)),
                )
            history = await store.changes_of(conn, [session_id])
        return pb.CompleteSessionResponse(
            session=session_pb(done, history.get(session_id)), action_items=[action_item_pb(a) for a in items]
        )

    # Action items

    async def GetActionItem(self, request: pb.GetActionItemRequest, context: Context) -> pb.ActionItem:
        item_id = parse_name(request.name, "actionItems")
        async with self.db.read() as conn:
            return action_item_pb(await _load(conn, store.get_action_item, item_id, "ActionItem", request.name))

    async def ListActionItems(self, request: pb.ListActionItemsRequest, context: Context) -> pb.ListActionItemsResponse:
        terms = parse_filter(
            request.filter,
            {
                "company": lambda v: parse_name(v, "companies", "filter"),
                "mentor": lambda v: parse_name(v, "mentors", "filter"),
                "session": lambda v: parse_name(v, "sessions", "filter"),
                "owner": domain.clean,
                "state": short_value(pb.ActionItemState, "ACTION_ITEM_STATE"),
                "overdue": _bool,
            },
        )
        query_key = f"actionItems|{sorted(terms.items())}"
        size, after = _page(request, query_key)
        c = store.action_items.c
        query = sa.select(store.action_items).order_by(c.id).limit(size + 1)
        for key, column in (
            ("company", c.company_id), ("mentor", c.mentor_id), ("session", c.session_id), ("owner", c.owner),
            ("state", c.state),
        ):  # fmt: skip
            if key in terms:
                query = query.where(column.in_(terms[key]))
        today = domain.today()
        for overdue in terms.get("overdue", []):
            late = sa.and_(c.state == domain.OPEN, c.due_date < today)
            query = query.where(late if overdue else sa.not_(late))
        if after is not None:
            query = query.where(c.id > after[0])
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        response = pb.ListActionItemsResponse(
            action_items=[action_item_pb(store.to_action_item(r)) for r in rows[:size]]
        )
        if len(rows) > size:
            response.next_page_token = PageTokens.encode(query_key, [rows[size - 1].id])
        return response

    async def CompleteActionItem(self, request: pb.CompleteActionItemRequest, context: Context) -> pb.ActionItem:
        item_id = parse_name(request.name, "actionItems")
        async with self._write() as uow:
            item = await _load(uow.conn, store.get_action_item, item_id, "ActionItem", request.name)
            check_etag(request.etag, item.etag)
            done = item.complete(now())
            await store.save_action_item(uow.conn, done, expected_version=item.version)
            await uow.emit(
                f"{SUBJECT}.action_item.completed",
                done.name,
                done.version,
                ev.ActionItemCompleted(action_item=action_item_snapshot(done)),
            )
        return action_item_pb(done)

    # iCalendar

    async def ExportCalendar(self, request: pb.ExportCalendarRequest, context: Context) -> httpbody_pb2.HttpBody:
        owner = request.owner
        c = store.sessions.c
        if owner.startswith("mentors/"):
            where = c.mentor_id == parse_name(owner, "mentors", "owner")
        elif owner.startswith("companies/"):
            where = c.company_id == parse_name(owner, "companies", "owner")
        else:
            raise errors.invalid("owner", "must look like mentors/<number> or companies/<number>")
        start, end = now() - timedelta(days=30), None
        if request.HasField("interval"):
            start, end = _interval(request.interval, "interval", end_optional=True)
        query = sa.select(store.sessions).where(where, c.start_at >= start)
        if end is not None:
            query = query.where(c.start_at < end)
        query = query.order_by(c.start_at, c.id).limit(MAX_EXPORT)
        async with self.db.read() as conn:
            if owner.startswith("mentors/"):
                holder = await _load(conn, store.get_mentor, int(owner.split("/")[1]), "Mentor", owner)
                title = f"{holder.korean_name} 자문 일정"
            else:
                known = await store.get_company(conn, owner)
                if known is None:
                    raise errors.NotFound("Company", owner)
                title = f"{known.korean_name} 자문 일정"
            found = [store.to_session(r) for r in (await conn.execute(query)).all()]
            mentors = await store.mentors_by_ids(conn, list({s.mentor_id for s in found}))
            kinds = {
                t.id: t for t in [store.to_session_type(r) for r in await conn.execute(sa.select(store.session_types))]
            }
            rooms = {r.id: r for r in await store.all_rooms(conn)}
            companies = await store.company_names(conn, list({f"companies/{s.company_id}" for s in found}))
        entries = [
            domain.CalendarEntry(
                session=s,
                summary=f"{kinds[s.session_type_id].display_name} · "
                f"{companies.get(f'companies/{s.company_id}', f'companies/{s.company_id}')} × "
                f"{mentors[s.mentor_id].korean_name}",
                location=rooms[s.room_id].display_name if s.room_id in rooms else "",
                description=s.agenda,
            )
            for s in found
        ]
        return httpbody_pb2.HttpBody(content_type="text/calendar; charset=utf-8", data=domain.to_ical(title, entries))

    # Programs

    async def CreateProgram(self, request: pb.CreateProgramRequest, context: Context) -> pb.Program:
        message = request.program
        start, end = _interval(message.interval, "program.interval")
        program = domain.new_program(
            display_name=message.display_name,
            kind=enum_short(pb.ProgramKind, "PROGRAM_KIND", message.kind),
            start=start,
            end=end,
            room_id=_optional_id(message.room, "rooms", "program.room"),
            capacity=message.capacity,
            description=message.description,
        )

        async def work() -> pb.Program:
            pending = _Pending()
            async with self._booking(pending) as uow:
                if program.room_id is not None:
                    await _load(uow.conn, store.get_room, program.room_id, "Room", message.room)
                made = await store.insert_program(uow.conn, program)
                if made.room_id is not None:
                    await self._reserve(uow, pending, made.name, [(f"rooms/{made.room_id}", made.start, made.end)])
                response = program_pb(made)
                await remember(uow, "CreateProgram", request.request_id, request, response)
            return response

        result: pb.Program = await self.db.idempotent("CreateProgram", request.request_id, request, pb.Program, work)
        return result

    async def GetProgram(self, request: pb.GetProgramRequest, context: Context) -> pb.Program:
        program_id = parse_name(request.name, "programs")
        async with self.db.read() as conn:
            return program_pb(await _load(conn, store.get_program, program_id, "Program", request.name))

    async def ListPrograms(self, request: pb.ListProgramsRequest, context: Context) -> pb.ListProgramsResponse:
        terms = parse_filter(request.filter, {"kind": short_value(pb.ProgramKind, "PROGRAM_KIND")})
        query_key = f"programs|{sorted(terms.items())}"
        size, after = _page(request, query_key)
        c = store.programs.c
        query = sa.select(store.programs).order_by(c.id).limit(size + 1)
        if "kind" in terms:
            query = query.where(c.kind.in_(terms["kind"]))
        if after is not None:
            query = query.where(c.id > after[0])
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        response = pb.ListProgramsResponse(programs=[program_pb(store.to_program(r)) for r in rows[:size]])
        if len(rows) > size:
            response.next_page_token = PageTokens.encode(query_key, [rows[size - 1].id])
        return response

    async def CreateRegistration(self, request: pb.CreateRegistrationRequest, context: Context) -> pb.Registration:
        message = request.registration
        program_id = parse_name(message.program, "programs", "registration.program")
        registration = domain.Registration(
            id=0,
            program_id=program_id,
            participant_name=domain.clean(message.participant_name),
            email=message.email.strip().lower(),
            company_id=_optional_id(message.company, "companies", "registration.company"),
        )

        async def work() -> pb.Registration:
            async with self._write() as uow:
                program = await _load(uow.conn, store.get_program, program_id, "Program", message.program)
                if message.company and await store.get_company(uow.conn, message.company) is None:
                    raise errors.NotFound("Company", message.company)  # a typo would count for no one
                if not await store.take_place(uow.conn, program_id):
                    domain.check_capacity(replace(program, registered_count=program.capacity))
                response = registration_pb(await store.insert_registration(uow.conn, registration))
                await remember(uow, "CreateRegistration", request.request_id, request, response)
            return response

        result: pb.Registration = await self.db.idempotent(
            "CreateRegistration", request.request_id, request, pb.Registration, work
        )
        return result

    async def ListRegistrations(
        self, request: pb.ListRegistrationsRequest, context: Context
    ) -> pb.ListRegistrationsResponse:
        program_id = parse_name(request.program, "programs", "program")
        size, after = _page(request, f"registrations|{program_id}")
        c = store.registrations.c
        query = sa.select(store.registrations).where(c.program_id == program_id).order_by(c.id).limit(size + 1)
        if after is not None:
            query = query.where(c.id > after[0])
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        response = pb.ListRegistrationsResponse(
            registrations=[registration_pb(store.to_registration(r)) for r in rows[:size]]
        )
        if len(rows) > size:
            response.next_page_token = PageTokens.encode(f"registrations|{program_id}", [rows[size - 1].id])
        return response

    async def RecordAttendance(
        self, request: pb.RecordAttendanceRequest, context: Context
    ) -> pb.RecordAttendanceResponse:
        program_id = parse_name(request.program, "programs", "program")
        if not request.marks:
            raise errors.invalid("marks", "is required")
        marks: dict[int, bool] = {}
        for i, mark in enumerate(request.marks):
            number = parse_name(mark.registration, "registrations", f"marks[{i}].registration")
            if number in marks:
                raise errors.invalid(f"marks[{i}].registration", "is marked twice")
            marks[number] = mark.attended
        async with self._write() as uow:
            conn = uow.conn
            program = await _load(conn, store.get_program, program_id, "Program", request.program)
            domain.check_attendance(program, now())
            found = await store.registrations_by_ids(conn, list(marks))
            for i, number in enumerate(marks):
                if number not in found or found[number].program_id != program_id:
                    raise errors.invalid(f"marks[{i}].registration", f"is not a registration of {program.name}")
            updated = []
            for number, attended in marks.items():
                state = domain.ATTENDED if attended else domain.ABSENT
                await store.set_registration_state(conn, number, state)
                updated.append(replace(found[number], state=state))
            program = replace(
                program,
                attended_count=await store.attended_count(conn, program_id),
                attendance_recorded_at=now(),
                version=program.version + 1,
            )
            await store.save_program_counts(conn, program, expected_version=program.version - 1)
            await uow.emit(
                f"{SUBJECT}.program.attendance_recorded",
                program.name,
                program.version,
                ev.ProgramAttendanceRecorded(
                    program=program.name,
                    display_name=program.display_name,
                    kind=program.kind,
                    records=[
                        ev.AttendanceRecord(
                            registration=r.name,
                            participant_name=r.participant_name,
                            company=_name("companies", r.company_id),
                            attended=r.state == domain.ATTENDED,
                        )
                        for r in updated
                    ],
                    attended_count=program.attended_count,
                    registered_count=program.registered_count,
                ),
            )
        return pb.RecordAttendanceResponse(
            program=program_pb(program), registrations=[registration_pb(r) for r in updated]
        )

    # Dashboard

    async def GetConsultingStats(self, request: pb.GetConsultingStatsRequest, context: Context) -> pb.ConsultingStats:
        async with self.db.read() as conn:
            figures = await store.stats(conn, domain.today())
        by_type: dict[int, pb.ConsultingStats.TypeCount] = {}
        fields = {
            domain.SCHEDULED: "scheduled",
            domain.COMPLETED: "completed",
            domain.CANCELLED: "cancelled",
            domain.NO_SHOW: "no_show",
        }
        for type_id, display_name, category, state, count in figures.pop("by_type"):
            entry = by_type.setdefault(
                type_id,
                pb.ConsultingStats.TypeCount(
                    session_type=f"sessionTypes/{type_id}", display_name=display_name, category=category
                ),
            )
            if state in fields:
                setattr(entry, fields[state], count)
        return pb.ConsultingStats(sessions_by_type=list(by_type.values()), **figures)
