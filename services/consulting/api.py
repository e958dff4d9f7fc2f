"""ConsultingService, the gRPC servicer: each method reads its request, calls one use case and converts the
result. The rules and roles are in policy.py, the conversions in convert.py, the work in usecases/."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, timedelta
from typing import Any, TypeAlias, TypeVar

import grpc
from google.api import httpbody_pb2
from google.protobuf import empty_pb2
from google.protobuf.message import Message
from hub.consulting.v1 import consulting_pb2 as pb
from hub.consulting.v1 import consulting_pb2_grpc

from hubcore import errors
from hubcore.convert import calendar_date, duration, instant, interval, seoul_today
from hubcore.db import UnitOfWork, cursor_value, now, remember_many
from hubcore.months import DEFAULT_MONTHS
from hubcore.requests import PageTokens, enum_short, next_page, page_size, parse_name
from hubcore.resources import Numbered
from hubcore.rows import keyset_page
from hubcore.server import caller
from hubcore.servicing import Api
from hubcore.text import clean
from services.consulting import convert, domain
from services.consulting.convert import ref
from services.consulting.domain import Ref
from services.consulting.policy import BATCH_ITEM
from services.consulting.usecases import gpu, imports, programs, resources, sessions, slots
from services.consulting.usecases.booking import Pending, booking, create_booked

Context: TypeAlias = grpc.aio.ServicerContext
R = TypeVar("R", bound=Message)
T = TypeVar("T")


I = TypeVar("I", bound=Numbered)  # noqa: E741


def _page(request: Any, query_key: str, types: tuple[type, ...] = (int,)) -> tuple[int, list[Any] | None]:
    """The page size and the position after which the page starts (by default, the last row id seen)."""
    return page_size(request.page_size), PageTokens.decode(request.page_token, query_key, types)


def _new_items(messages: Sequence[pb.NewActionItem]) -> list[tuple[str, str, date]]:
    """The action items a session left, checked (description, owner, due date)."""
    return [
        domain.new_action_item(
            index=i,
            description=item.description,
            owner=item.owner,
            due_date=calendar_date(item.due_date, f"action_items[{i}].due_date"),
        )
        for i, item in enumerate(messages)
    ]


def _session(held: sessions.Held) -> pb.Session:
    return convert.session_pb(*held)


def _gpu_booking(found: tuple[domain.GpuBooking, str]) -> pb.GpuBooking:
    return convert.gpu_booking_pb(*found)


def _completed(held: sessions.Held, items: Sequence[domain.ActionItem]) -> pb.CompleteSessionResponse:
    return pb.CompleteSessionResponse(
        session=convert.session_pb(*held), action_items=[convert.action_item_pb(a) for a in items]
    )


class ConsultingApi(Api, consulting_pb2_grpc.ConsultingServiceServicer):
    def _booking(self, pending: Pending) -> AbstractAsyncContextManager[UnitOfWork]:
        return booking(self.db, caller().actor, pending)

    async def _once(
        self, method: str, request: Any, response_type: type[R], make: Callable[..., Awaitable[T]],
        present: Callable[[T], R], *, books_time: bool = False,
    ) -> R:  # fmt: skip
        """An idempotent create (AIP-155): make(uow) is the use case and present() its response, which commits
        with the request's key. books_time: make(uow, pending) books time, inside usecases.booking."""
        if not books_time:
            return await super()._once(method, request, response_type, make, present)

        async def build_booked(uow: UnitOfWork, pending: Pending) -> R:
            return present(await make(uow, pending))

        request_id = request.request_id
        return await create_booked(
            self.db, method, request, response_type, build_booked, actor=caller().actor, request_id=request_id
        )

    async def _by_id(
        self, request: Any, query_key: str, fetch: Callable[[int | None, int], Awaitable[list[I]]]
    ) -> tuple[Sequence[I], str]:
        """A page of a List in id order: fetch(after, limit) reads the rows after the last id seen."""
        return await keyset_page(query_key, request.page_token, page_size(request.page_size), fetch)

    async def _by_parent(
        self, request: Any, parent: Ref, kind: str, fetch: Callable[..., Awaitable[list[I]]]
    ) -> tuple[Sequence[I], str]:
        """A page of a List of one parent's children (a mentor's exceptions), in id order."""
        return await self._by_id(
            request, f"{kind}|{parent.id}", lambda after, limit: fetch(self.db, parent.id, after=after, limit=limit)
        )

    # Mentors

    async def CreateMentor(self, request: pb.CreateMentorRequest, context: Context) -> pb.Mentor:
        make = lambda uow: resources.create_mentor(uow, convert.mentor_fields(request.mentor))  # noqa: E731
        return await self._once("CreateMentor", request, pb.Mentor, make, convert.mentor_pb)

    async def GetMentor(self, request: pb.GetMentorRequest, context: Context) -> pb.Mentor:
        return convert.mentor_pb(await resources.get_mentor(self.db, ref(request.name, "mentors")))

    async def ListMentors(self, request: pb.ListMentorsRequest, context: Context) -> pb.ListMentorsResponse:
        terms, query_key = convert.mentor_filter(request.filter)
        kinds, tags = terms.get("kind", []), terms.get("expertise", [])
        active = [state == domain.ACTIVE for state in terms.get("state", [])]
        page, token = await self._by_id(
            request, query_key, lambda after, limit: resources.list_mentors(
                self.db, kinds=kinds, tags=tags, active=active, after=after, limit=limit)
        )  # fmt: skip
        return pb.ListMentorsResponse(mentors=[convert.mentor_pb(m) for m in page], next_page_token=token)

    async def UpdateMentor(self, request: pb.UpdateMentorRequest, context: Context) -> pb.Mentor:
        mentor = ref(request.mentor.name, "mentors", "mentor.name")
        changes = convert.mentor_changes(request.mentor, request.update_mask.paths)
        async with self._write() as uow:
            updated = await resources.update_mentor(uow, mentor, request.mentor.etag, changes)
        return convert.mentor_pb(updated)

    async def DeactivateMentor(self, request: pb.DeactivateMentorRequest, context: Context) -> pb.Mentor:
        mentor = ref(request.name, "mentors")
        deactivate = lambda uow: resources.deactivate_mentor(uow, mentor, request.etag, request.reason)  # noqa: E731
        return convert.mentor_pb(await self._in_write(deactivate))

    async def ReactivateMentor(self, request: pb.ReactivateMentorRequest, context: Context) -> pb.Mentor:
        mentor = ref(request.name, "mentors")
        reactivate = lambda uow: resources.reactivate_mentor(uow, mentor, request.etag, clean(request.reason))  # noqa: E731
        return convert.mentor_pb(await self._in_write(reactivate))

    # Availability exceptions

    async def CreateAvailabilityException(
        self, request: pb.CreateAvailabilityExceptionRequest, context: Context
    ) -> pb.AvailabilityException:
        message = request.availability_exception
        mentor = ref(message.mentor, "mentors", "availability_exception.mentor")
        start, end = interval(message.interval, "availability_exception.interval")
        domain.check_interval(start, end, "availability_exception.interval", longest=timedelta(days=366))
        assert end is not None
        exception = domain.AvailabilityException(
            id=0, mentor_id=mentor.id, available=message.kind == pb.EXCEPTION_KIND_AVAILABLE, start=start, end=end,
            reason=clean(message.reason),
        )  # fmt: skip
        make = lambda uow: resources.create_exception(uow, mentor, exception)  # noqa: E731
        return await self._once(
            "CreateAvailabilityException", request, pb.AvailabilityException, make, convert.exception_pb
        )

    async def ListAvailabilityExceptions(
        self, request: pb.ListAvailabilityExceptionsRequest, context: Context
    ) -> pb.ListAvailabilityExceptionsResponse:
        mentor = ref(request.mentor, "mentors", "mentor")
        page, token = await self._by_parent(request, mentor, "exceptions", resources.list_exceptions)
        return pb.ListAvailabilityExceptionsResponse(
            availability_exceptions=[convert.exception_pb(x) for x in page], next_page_token=token
        )

    async def DeleteAvailabilityException(
        self, request: pb.DeleteAvailabilityExceptionRequest, context: Context
    ) -> empty_pb2.Empty:
        exception = ref(request.name, "availabilityExceptions")
        await self._in_write(lambda uow: resources.delete_exception(uow, exception))
        return empty_pb2.Empty()

    # Rooms and session types

    async def CreateRoom(self, request: pb.CreateRoomRequest, context: Context) -> pb.Room:
        message = request.room
        room = domain.new_room(display_name=message.display_name, capacity=message.capacity, floor=message.floor)
        make = lambda uow: resources.ROOMS.create(uow, room)  # noqa: E731
        return await self._once("CreateRoom", request, pb.Room, make, convert.room_pb)

    async def GetRoom(self, request: pb.GetRoomRequest, context: Context) -> pb.Room:
        return convert.room_pb(await resources.ROOMS.read(self.db, ref(request.name, "rooms")))

    async def ListRooms(self, request: pb.ListRoomsRequest, context: Context) -> pb.ListRoomsResponse:
        page, token = await self._by_id(
            request, "rooms", lambda after, limit: resources.ROOMS.list(self.db, after=after, limit=limit)
        )
        return pb.ListRoomsResponse(rooms=[convert.room_pb(r) for r in page], next_page_token=token)

    async def CreateSessionType(self, request: pb.CreateSessionTypeRequest, context: Context) -> pb.SessionType:
        message = request.session_type
        kind = domain.new_session_type(
            display_name=message.display_name,
            category=enum_short(pb.SessionCategory, "SESSION_CATEGORY", message.category),
            default_duration=duration(message.default_duration),
            buffer_before=duration(message.buffer_before),
            buffer_after=duration(message.buffer_after),
        )
        make = lambda uow: resources.SESSION_TYPES.create(uow, kind)  # noqa: E731
        return await self._once("CreateSessionType", request, pb.SessionType, make, convert.session_type_pb)

    async def GetSessionType(self, request: pb.GetSessionTypeRequest, context: Context) -> pb.SessionType:
        return convert.session_type_pb(await resources.SESSION_TYPES.read(self.db, ref(request.name, "sessionTypes")))

    async def ListSessionTypes(
        self, request: pb.ListSessionTypesRequest, context: Context
    ) -> pb.ListSessionTypesResponse:
        page, token = await self._by_id(
            request, "sessionTypes", lambda after, limit: resources.SESSION_TYPES.list(
                self.db, after=after, limit=limit)
        )  # fmt: skip
        return pb.ListSessionTypesResponse(
            session_types=[convert.session_type_pb(t) for t in page], next_page_token=token
        )

    # Availability

    async def FindAvailableSlots(
        self, request: pb.FindAvailableSlotsRequest, context: Context
    ) -> pb.FindAvailableSlotsResponse:
        found, truncated = await slots.find_available_slots(self.db, convert.slot_search(request))
        return pb.FindAvailableSlotsResponse(slots=[convert.slot_pb(s) for s in found], truncated=truncated)

    # Sessions

    async def ScheduleSession(self, request: pb.ScheduleSessionRequest, context: Context) -> pb.Session:
        message = request.session
        company = ref(message.company, "companies", "session.company")
        mentor = ref(message.mentor, "mentors", "session.mentor")
        kind = ref(message.session_type, "sessionTypes", "session.session_type")
        room = convert.optional_ref(message.room, "rooms", "session.room")
        start, end = interval(message.interval, "session.interval", end_optional=True)
        new = sessions.NewSession(company, mentor, kind, room, start, end, message.agenda)
        make = lambda uow, pending: sessions.schedule_session(uow, pending, new)  # noqa: E731
        return await self._once("ScheduleSession", request, pb.Session, make, _session, books_time=True)

    async def GetSession(self, request: pb.GetSessionRequest, context: Context) -> pb.Session:
        return convert.session_pb(*await sessions.get_session(self.db, ref(request.name, "sessions")))

    async def ListSessions(self, request: pb.ListSessionsRequest, context: Context) -> pb.ListSessionsResponse:
        terms, query_key = convert.session_filter(request.filter)
        size, after = _page(request, query_key, (datetime, int))
        found = await sessions.list_sessions(self.db, terms, after=after, limit=size + 1)
        page, token = next_page(found, size, query_key, lambda held: [cursor_value(held[0].start), held[0].id])
        return pb.ListSessionsResponse(sessions=[convert.session_pb(*held) for held in page], next_page_token=token)

    async def RescheduleSession(self, request: pb.RescheduleSessionRequest, context: Context) -> pb.Session:
        session = ref(request.name, "sessions")
        start, end = interval(request.interval, "interval", end_optional=True)
        room = convert.optional_ref(request.room, "rooms", "room")
        reason = clean(request.reason)
        pending = Pending()
        async with self._booking(pending) as uow:
            held = await sessions.reschedule_session(
                uow, pending, session, request.etag, start=start, end=end, room=room, reason=reason
            )
        return convert.session_pb(*held)

    async def CancelSession(self, request: pb.CancelSessionRequest, context: Context) -> pb.Session:
        session = ref(request.name, "sessions")
        cancel = lambda uow: sessions.cancel_session(uow, session, request.etag, request.reason)  # noqa: E731
        return convert.session_pb(*await self._in_write(cancel))

    async def MarkSessionNoShow(self, request: pb.MarkSessionNoShowRequest, context: Context) -> pb.Session:
        session = ref(request.name, "sessions")
        return convert.session_pb(*await self._in_write(lambda uow: sessions.mark_no_show(uow, session, request.etag)))

    async def CompleteSession(self, request: pb.CompleteSessionRequest, context: Context) -> pb.CompleteSessionResponse:
        session, wanted = ref(request.name, "sessions"), _new_items(request.action_items)
        async with self._write() as uow:
            held, items = await sessions.complete_session(uow, session, request.etag, request.notes, wanted)
        return _completed(held, items)

    async def RecordSessionNotes(
        self, request: pb.RecordSessionNotesRequest, context: Context
    ) -> pb.CompleteSessionResponse:
        session, wanted = ref(request.name, "sessions"), _new_items(request.action_items)
        async with self._write() as uow:
            held, items = await sessions.record_notes(uow, session, request.etag, request.notes, wanted)
        return _completed(held, items)

    async def RecordSessionFeedback(self, request: pb.RecordSessionFeedbackRequest, context: Context) -> pb.Session:
        session = ref(request.name, "sessions")
        answer = sessions.FeedbackAnswer(
            rating=request.rating, fit=enum_short(pb.SessionFit, "SESSION_FIT", request.fit), comment=request.comment,
            reason=request.reason,
        )  # fmt: skip
        record = lambda uow: sessions.record_feedback(uow, session, request.etag, answer)  # noqa: E731
        return await self._once("RecordSessionFeedback", request, pb.Session, record, _session)

    # Action items

    async def GetActionItem(self, request: pb.GetActionItemRequest, context: Context) -> pb.ActionItem:
        return convert.action_item_pb(await sessions.get_action_item(self.db, ref(request.name, "actionItems")))

    async def ListActionItems(self, request: pb.ListActionItemsRequest, context: Context) -> pb.ListActionItemsResponse:
        terms, query_key = convert.action_item_filter(request.filter)
        today = seoul_today()
        page, token = await self._by_id(
            request, query_key, lambda after, limit: sessions.list_action_items(
                self.db, terms, on=today, after=after, limit=limit)
        )  # fmt: skip
        return pb.ListActionItemsResponse(action_items=[convert.action_item_pb(a) for a in page], next_page_token=token)

    async def CompleteActionItem(self, request: pb.CompleteActionItemRequest, context: Context) -> pb.ActionItem:
        item = ref(request.name, "actionItems")
        done = await self._in_write(lambda uow: sessions.complete_action_item(uow, item, request.etag))
        return convert.action_item_pb(done)

    # iCalendar

    async def ExportCalendar(self, request: pb.ExportCalendarRequest, context: Context) -> httpbody_pb2.HttpBody:
        owner = request.owner
        if owner.startswith("mentors/"):
            found = ref(owner, "mentors", "owner")
        elif owner.startswith("companies/"):
            found = ref(owner, "companies", "owner")
        else:
            raise errors.invalid("owner", "must look like mentors/<number> or companies/<number>")
        start, end = None, None
        if request.HasField("interval"):
            start, end = interval(request.interval, "interval", end_optional=True)
        data = await sessions.export_calendar(self.db, found, start, end)
        return httpbody_pb2.HttpBody(content_type="text/calendar; charset=utf-8", data=data)

    # Programs

    async def CreateProgram(self, request: pb.CreateProgramRequest, context: Context) -> pb.Program:
        message = request.program
        start, end = interval(message.interval, "program.interval")
        room = convert.optional_ref(message.room, "rooms", "program.room")
        program = domain.new_program(
            display_name=message.display_name, kind=enum_short(pb.ProgramKind, "PROGRAM_KIND", message.kind),
            start=start, end=end, room_id=room.id if room else None, capacity=message.capacity,
            description=message.description,
        )  # fmt: skip
        make = lambda uow, pending: programs.create_program(uow, pending, program, room)  # noqa: E731
        return await self._once("CreateProgram", request, pb.Program, make, convert.program_pb, books_time=True)

    async def GetProgram(self, request: pb.GetProgramRequest, context: Context) -> pb.Program:
        return convert.program_pb(await programs.get_program(self.db, ref(request.name, "programs")))

    async def ListPrograms(self, request: pb.ListProgramsRequest, context: Context) -> pb.ListProgramsResponse:
        kinds, query_key = convert.program_filter(request.filter)
        page, token = await self._by_id(
            request, query_key, lambda after, limit: programs.list_programs(
                self.db, kinds=kinds, after=after, limit=limit)
        )  # fmt: skip
        return pb.ListProgramsResponse(programs=[convert.program_pb(p) for p in page], next_page_token=token)

    async def CreateRegistration(self, request: pb.CreateRegistrationRequest, context: Context) -> pb.Registration:
        message = request.registration
        program = ref(message.program, "programs", "registration.program")
        registration = convert.registration_fields(message, program)
        make = lambda uow: programs.create_registration(uow, program, registration, message.company)  # noqa: E731
        return await self._once("CreateRegistration", request, pb.Registration, make, convert.registration_pb)

    async def BatchCreateRegistrations(
        self, request: pb.BatchCreateRegistrationsRequest, context: Context
    ) -> pb.BatchCreateRegistrationsResponse:
        program = ref(request.parent, "programs", "parent")
        asked = [convert.batch_item(item, program, BATCH_ITEM) for item in request.requests]

        async def keep(uow: UnitOfWork, made: list[tuple[int, domain.Registration]]) -> None:
            items = [(request.requests[i], convert.registration_pb(r)) for i, r in made]
            await remember_many(uow, imports.METHOD, [(item.request_id, item, answer) for item, answer in items])

        outcomes = await imports.register_many(
            self.db, program, asked, validate_only=request.validate_only, actor=caller().actor, keep=keep,
            stored_id=lambda kept: parse_name(pb.Registration.FromString(kept).name, "registrations"),
        )  # fmt: skip
        return pb.BatchCreateRegistrationsResponse(
            outcomes=[convert.outcome_pb(o, request.validate_only) for o in outcomes]
        )

    async def ListRegistrations(
        self, request: pb.ListRegistrationsRequest, context: Context
    ) -> pb.ListRegistrationsResponse:
        program = ref(request.program, "programs", "program")
        page, token = await self._by_parent(request, program, "registrations", programs.list_registrations)
        return pb.ListRegistrationsResponse(
            registrations=[convert.registration_pb(r) for r in page], next_page_token=token
        )

    async def RecordAttendance(
        self, request: pb.RecordAttendanceRequest, context: Context
    ) -> pb.RecordAttendanceResponse:
        program = ref(request.program, "programs", "program")
        marks = convert.attendance_marks(request.marks)
        async with self._write() as uow:
            recorded, marked = await programs.record_attendance(uow, program, marks)
        return pb.RecordAttendanceResponse(
            program=convert.program_pb(recorded), registrations=[convert.registration_pb(r) for r in marked]
        )

    # Dashboard

    async def GetConsultingStats(self, request: pb.GetConsultingStatsRequest, context: Context) -> pb.ConsultingStats:
        months, period = request.months or DEFAULT_MONTHS, convert.stats_period(request)
        return convert.stats_pb(await programs.stats(self.db, seoul_today(), months, period, programs.counting()))

    # The GPU cluster

    async def CreateGpuNode(self, request: pb.CreateGpuNodeRequest, context: Context) -> pb.GpuNode:
        message = request.gpu_node
        node = domain.new_gpu_node(display_name=message.display_name, kind=message.kind, gpus=message.gpus)
        make = lambda uow: gpu.create_node(uow, node)  # noqa: E731
        return await self._once("CreateGpuNode", request, pb.GpuNode, make, convert.gpu_node_pb)

    async def ListGpuNodes(self, request: pb.ListGpuNodesRequest, context: Context) -> pb.ListGpuNodesResponse:
        page, token = await self._by_id(
            request, "gpuNodes", lambda after, limit: gpu.list_nodes(self.db, after=after, limit=limit)
        )
        return pb.ListGpuNodesResponse(gpu_nodes=[convert.gpu_node_pb(n) for n in page], next_page_token=token)

    async def BookGpu(self, request: pb.BookGpuRequest, context: Context) -> pb.GpuBooking:
        message = request.gpu_booking
        start, end = interval(message.interval, "gpu_booking.interval")
        assert end is not None
        new = gpu.NewGpuBooking(
            node=ref(message.node, "gpuNodes", "gpu_booking.node"),
            company=ref(message.company, "companies", "gpu_booking.company"),
            start=start, end=end, purpose=message.purpose,
        )  # fmt: skip
        make = lambda uow, pending: gpu.book(uow, pending, new)  # noqa: E731
        return await self._once("BookGpu", request, pb.GpuBooking, make, _gpu_booking, books_time=True)

    async def CancelGpuBooking(self, request: pb.CancelGpuBookingRequest, context: Context) -> pb.GpuBooking:
        booking = ref(request.name, "gpuBookings")
        cancel = lambda uow: gpu.cancel(uow, booking, request.etag, request.reason)  # noqa: E731
        return _gpu_booking(await self._in_write(cancel))

    async def MarkGpuBookingNoShow(self, request: pb.MarkGpuBookingNoShowRequest, context: Context) -> pb.GpuBooking:
        booking = ref(request.name, "gpuBookings")
        return _gpu_booking(await self._in_write(lambda uow: gpu.mark_no_show(uow, booking, request.etag)))

    async def ListGpuBookings(self, request: pb.ListGpuBookingsRequest, context: Context) -> pb.ListGpuBookingsResponse:
        company = convert.optional_ref(request.company, "companies", "company")
        node = convert.optional_ref(request.node, "gpuNodes", "node")
        size, after = _page(request, f"gpuBookings|{request.company}|{request.node}")
        found = await gpu.list_bookings(
            self.db, company=company, node=node, after=after[0] if after else None, limit=size + 1
        )
        page, token = next_page(found, size, f"gpuBookings|{request.company}|{request.node}", lambda b: [b[0].id])
        return pb.ListGpuBookingsResponse(gpu_bookings=[_gpu_booking(b) for b in page], next_page_token=token)

    async def SetGpuQuota(self, request: pb.SetGpuQuotaRequest, context: Context) -> pb.GpuQuota:
        message = request.quota
        company = ref(message.company, "companies", "quota.company")
        term_start, term_end = None, None
        if message.HasField("term_interval"):
            term_start, term_end = interval(message.term_interval, "quota.term_interval")
        quota = domain.new_gpu_quota(
            company_id=company.id, hours=message.hours,
            period=enum_short(pb.GpuQuotaPeriod, "GPU_QUOTA_PERIOD", message.period),
            term_start=term_start, term_end=term_end,
        )  # fmt: skip
        await self._in_write(lambda uow: gpu.set_quota(uow, company, quota))
        return convert.gpu_quota_pb(*await gpu.get_quota(self.db, company, term_start or now()))

    async def GetGpuQuota(self, request: pb.GetGpuQuotaRequest, context: Context) -> pb.GpuQuota:
        company = ref(request.company, "companies", "company")
        at = instant(request.time) if request.HasField("time") else now()
        return convert.gpu_quota_pb(*await gpu.get_quota(self.db, company, at))

    async def GetGpuUtilization(self, request: pb.GetGpuUtilizationRequest, context: Context) -> pb.GpuUtilization:
        month = domain.month_named(request.month, "month") if request.month else domain.seoul_month(now())
        found = await gpu.utilization(self.db, month)
        return convert.gpu_utilization_pb(month, found)

    async def JoinGpuWaitlist(self, request: pb.JoinGpuWaitlistRequest, context: Context) -> pb.GpuWaitlistEntry:
        message = request.entry
        start, end = interval(message.interval, "entry.interval")
        assert end is not None
        new = gpu.NewGpuBooking(
            node=ref(message.node, "gpuNodes", "entry.node"),
            company=ref(message.company, "companies", "entry.company"), start=start, end=end, purpose="",
        )  # fmt: skip
        make = lambda uow: gpu.join_waitlist(uow, new)  # noqa: E731
        return await self._once("JoinGpuWaitlist", request, pb.GpuWaitlistEntry, make, convert.gpu_waitlist_pb)
