"""What the consulting service accepts and from whom: the input rules per request (run by the server before
the use case; the domain checks what needs the resource or several fields at once) and the roles per method."""

from __future__ import annotations

from hub.consulting.v1 import consulting_pb2 as pb

from hubcore.months import MAX_MONTHS
from hubcore.requests import Check, Rules, at_most, email, length, max_items, required
from hubcore.server import ADMIN, FOUNDER, MENTOR, SERVICE, Bound, also_for_services
from services.consulting import domain

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

REGISTRATION_FIELDS: dict[str, list[Check]] = {
    "registration.participant_name": [required, length(1, 100)],
    "registration.email": [email, length(3, 200)],
    "registration.phone": [length(0, 40)],
    **REQUEST_ID,
}
MAX_BATCH = 2000  # requests in one BatchCreateRegistrations: a large sheet in one call
# A batch's request, checked on its own: registration.program may be empty (the batch's parent is meant).
BATCH_ITEM = Rules(REGISTRATION_FIELDS)

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
    pb.DeactivateMentorRequest: Rules({"name": [required], "reason": [required, length(1, 500)]}),
    pb.ReactivateMentorRequest: Rules({"name": [required], "reason": [length(0, 500)]}),
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
    pb.RecordSessionNotesRequest: Rules({"name": [required], "notes": [required], "action_items": [max_items(50)]}),
    pb.RecordSessionFeedbackRequest: Rules(
        {
            "name": [required],
            "rating": [required],
            "fit": [required],
            "comment": [length(0, 2000)],
            "reason": [length(0, 500)],
            **REQUEST_ID,
        }
    ),
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
    pb.CreateRegistrationRequest: Rules({"registration.program": [required], **REGISTRATION_FIELDS}),
    # Each request's own rules are applied per request by the method (a bad row refuses that row alone).
    pb.BatchCreateRegistrationsRequest: Rules({"parent": [required], "requests": [max_items(MAX_BATCH)]}),
    pb.ListRegistrationsRequest: Rules({"program": [required]}),
    pb.RecordAttendanceRequest: Rules({"program": [required], "marks": [max_items(1000)]}),
    pb.GetConsultingStatsRequest: Rules({"months": [at_most(MAX_MONTHS)]}),
    pb.CreateGpuNodeRequest: Rules(
        {"gpu_node.display_name": [required, length(1, 100)], "gpu_node.kind": [required, length(1, 30)], **REQUEST_ID}
    ),
    pb.BookGpuRequest: Rules(
        {
            "gpu_booking.node": [required],
            "gpu_booking.company": [required],
            "gpu_booking.purpose": [length(0, 500)],
            "request_id": [required, length(1, 100)],
        }
    ),
    pb.CancelGpuBookingRequest: Rules({"name": [required], "reason": [required, length(1, 500)]}),
    pb.MarkGpuBookingNoShowRequest: Rules({"name": [required]}),
    pb.ListGpuBookingsRequest: Rules({}),
    pb.SetGpuQuotaRequest: Rules({"quota.company": [required], "quota.period": [required]}),
    pb.GetGpuQuotaRequest: Rules({"company": [required]}),
    pb.GetGpuUtilizationRequest: Rules({"month": [length(0, 7)]}),
    pb.JoinGpuWaitlistRequest: Rules(
        {"entry.node": [required], "entry.company": [required], "request_id": [required, length(1, 100)]}
    ),
}
ROLES = also_for_services(
    "GetMentor", "ListMentors", "ListAvailabilityExceptions", "GetRoom", "ListRooms", "GetSessionType",
    "ListSessionTypes", "FindAvailableSlots", "GetSession", "ListSessions", "GetActionItem", "ListActionItems",
    "ExportCalendar", "GetProgram", "ListPrograms", "ListRegistrations", "GetConsultingStats", "ListGpuNodes",
    "ListGpuBookings", "GetGpuQuota", "GetGpuUtilization",
)  # fmt: skip
# Mentors read their own record, set their own week and time zone (use case: those fields only) and keep their own
# availability exceptions (their token's mentor).
ROLES["GetMentor"] |= {Bound(MENTOR, "name")}
ROLES["UpdateMentor"] = frozenset({ADMIN, Bound(MENTOR, "mentor.name")})
ROLES["ListAvailabilityExceptions"] |= {Bound(MENTOR, "mentor")}
ROLES["CreateAvailabilityException"] = frozenset({ADMIN, Bound(MENTOR, "availability_exception.mentor")})
# Where the request names a session, an action item or an exception, the use case checks it is the caller's
# (usecases.booking: load_session, load_action_item, own_only; resources.delete_exception): another mentor's or
# company's is NOT_FOUND to them, and a List is forced to their own (a filter naming another's: PERMISSION_DENIED).
ROLES["DeleteAvailabilityException"] = frozenset({ADMIN, MENTOR})
ROLES["GetSession"] = ROLES["ListSessions"] = frozenset({ADMIN, SERVICE, FOUNDER, MENTOR})
for _method in ("CompleteSession", "RecordSessionNotes", "MarkSessionNoShow", "CompleteActionItem"):
    ROLES[_method] = frozenset({ADMIN, MENTOR})  # the sessions they lead, and those sessions' action items
for _method in ("GetActionItem", "ListActionItems"):
    ROLES[_method] |= {MENTOR}
# Rooms and session types are not secret: a mentor's pages name them. A mentor exports their own calendar.
for _method in ("GetRoom", "ListRooms", "GetSessionType", "ListSessionTypes"):
    ROLES[_method] |= {MENTOR}
ROLES["ExportCalendar"] |= {Bound(MENTOR, "owner")}
ROLES["RecordSessionFeedback"] = frozenset({ADMIN, FOUNDER})  # a program manager with a reason (use case)
# The playbooks service books the consultations its rules call for, with a service token and a request_id.
ROLES["ScheduleSession"] = frozenset({ADMIN, SERVICE})
# GPU time: a founder books, cancels and lists their own company's (the use case: another's booking is NOT_FOUND
# to them, a list is forced to their company) and reads their quota; nodes are not secret. Program managers set
# quotas, add nodes and mark no-shows.
ROLES["ListGpuNodes"] |= {FOUNDER}
ROLES["BookGpu"] = frozenset({ADMIN, Bound(FOUNDER, "gpu_booking.company")})
ROLES["CancelGpuBooking"] = ROLES["ListGpuBookings"] = frozenset({ADMIN, SERVICE, FOUNDER})
ROLES["GetGpuQuota"] |= {Bound(FOUNDER, "company")}
ROLES["JoinGpuWaitlist"] = frozenset({ADMIN, Bound(FOUNDER, "entry.company")})
DEFAULT_ROLES = frozenset({ADMIN})
