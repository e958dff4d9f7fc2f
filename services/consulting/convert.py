"""Consulting messages <-> domain objects: the API's resources (*_pb), what a request asks for (*_fields,
the filters, names), and the events' snapshots (*_snapshot). Imported by the servicer, the use cases (for the
events they emit) and the handlers; it never touches the database."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import TypedDict

from google.type import dayofweek_pb2, interval_pb2, timeofday_pb2
from hub.consulting.v1 import consulting_pb2 as pb
from hub.events.v1 import consulting_pb2 as ev

from hubcore import errors
from hubcore.convert import SEOUL, Reader, Writer, calendar_date, duration, interval_message, seoul_today, timestamp
from hubcore.db import request_fingerprint
from hubcore.requests import Rules, names, parse_filter, parse_name, short_value, validate
from hubcore.text import clean, email_address
from services.consulting import domain

# Names and filters


def ref(name: str, collection: str, field: str = "name") -> domain.Ref:
    return domain.Ref(parse_name(name, collection, field), name)


def optional_ref(name: str, collection: str, field: str) -> domain.Ref | None:
    return ref(name, collection, field) if name else None


def name_of(collection: str, number: int | None) -> str:
    return f"{collection}/{number}" if number is not None else ""


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


def mentor_filter(text: str) -> tuple[dict[str, list[str]], str]:
    """(kind, expertise, state) terms of ListMentors, and the page tokens' query key."""
    terms = parse_filter(
        text,
        {
            "expertise": lambda v: clean(v).casefold(),
            "kind": short_value(pb.MentorKind, "MENTOR_KIND"),
            "state": short_value(pb.MentorState, "MENTOR_STATE"),
        },
    )
    return terms, f"mentors|{sorted(terms.items())}"


def session_filter(text: str) -> tuple[domain.SessionFilter, str]:
    terms = parse_filter(
        text,
        {
            "mentor": names("mentors"),
            "company": names("companies"),
            "room": names("rooms"),
            "session_type": names("sessionTypes"),
            "state": short_value(pb.SessionState, "SESSION_STATE"),
            "start_after": _when,
            "start_before": _when,
            "has_notes": _bool,
        },
    )
    query_key = f"sessions|{sorted((k, [str(x) for x in v]) for k, v in terms.items())}"
    return domain.SessionFilter(**terms), query_key


def action_item_filter(text: str) -> tuple[domain.ActionItemFilter, str]:
    terms = parse_filter(
        text,
        {
            "company": names("companies"),
            "mentor": names("mentors"),
            "session": names("sessions"),
            "owner": clean,
            "state": short_value(pb.ActionItemState, "ACTION_ITEM_STATE"),
            "overdue": _bool,
        },
    )
    return domain.ActionItemFilter(**terms), f"actionItems|{sorted(terms.items())}"


def program_filter(text: str) -> tuple[list[str], str]:
    """The kinds ListPrograms asks for, and the page tokens' query key."""
    terms = parse_filter(text, {"kind": short_value(pb.ProgramKind, "PROGRAM_KIND")})
    return terms.get("kind", []), f"programs|{sorted(terms.items())}"


# Mentors and their week


def _minute(value: timeofday_pb2.TimeOfDay, path: str) -> int:
    if value.seconds or value.nanos or not 0 <= value.minutes <= 59 or not 0 <= value.hours <= 24:
        raise errors.invalid(path, "must be a time of day in whole minutes, 00:00 to 24:00")
    if value.hours == 24 and value.minutes:
        raise errors.invalid(path, "must not be after 24:00")
    return value.hours * 60 + value.minutes


def _windows(messages: Iterable[pb.WeeklyWindow], path: str) -> list[domain.Window]:
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


mentor_pb = Writer(
    pb.Mentor, domain.Mentor, compute={"weekly_availability": lambda m: [_window_pb(w) for w in m.windows]}
)


class MentorFields(TypedDict):
    korean_name: str
    english_name: str
    kind: str
    affiliation: str
    email: str
    expertise: list[str]
    time_zone: str
    windows: list[domain.Window]


_mentor = Reader(
    pb.Mentor,
    MentorFields,
    "mentor",
    rename={"windows": "weekly_availability"},
    read={"windows": lambda m: _windows(m.weekly_availability, "mentor.weekly_availability")},
)
mentor_changes = _mentor.changes  # the fields an update mask names, by the domain's names


def mentor_fields(message: pb.Mentor) -> dict[str, object]:
    return dict(_mentor(message))


mentor_snapshot = Writer(ev.MentorSnapshot, domain.Mentor)


def _interval(x: domain.AvailabilityException | domain.Session | domain.Slot | domain.Program) -> interval_pb2.Interval:
    return interval_message(x.start, x.end)


exception_pb = Writer(
    pb.AvailabilityException,
    domain.AvailabilityException,
    refs={"mentor": "mentors"},
    compute={
        "kind": lambda x: pb.EXCEPTION_KIND_AVAILABLE if x.available else pb.EXCEPTION_KIND_UNAVAILABLE,
        "interval": _interval,
    },
)


# Rooms and session types

room_pb = Writer(pb.Room, domain.Room)
session_type_pb = Writer(pb.SessionType, domain.SessionType)


# Sessions and action items


DISPLAY_NAMES = ("company_display_name", "mentor_display_name", "session_type_display_name", "room_display_name")
SESSION_REFS = {"company": "companies", "mentor": "mentors", "session_type": "sessionTypes", "room": "rooms"}
_session = Writer(
    pb.Session, domain.Session, refs=SESSION_REFS, compute={"interval": _interval},
    skip=("history", "feedback", *DISPLAY_NAMES),  # given per call: usecases.sessions.Held
)  # fmt: skip
feedback_pb = Writer(pb.SessionFeedback, domain.Feedback)
change_pb = Writer(
    pb.SessionChange,
    domain.SessionChange,
    refs={"previous_room": "rooms", "new_room": "rooms"},
    compute={
        "previous_interval": lambda c: interval_message(c.previous_start, c.previous_end),
        "new_interval": lambda c: interval_message(c.new_start, c.new_end),
    },
)
_snapshot = Writer(
    ev.SessionSnapshot,
    domain.Session,
    refs={"company": "companies", "room": "rooms"},
    rename={"start_time": "start", "end_time": "end"},
    skip=("mentor", "mentor_name", "session_type", "session_type_name", "category"),
)


def session_pb(
    s: domain.Session, history: list[domain.SessionChange] | None = None, feedback: domain.Feedback | None = None,
    *names: str,
) -> pb.Session:  # fmt: skip
    """names: the company's, the mentor's, the type's and the room's display names, as usecases.sessions.Held
    carries them."""
    return _session(
        s, history=[change_pb(c) for c in history or []], feedback=feedback_pb(feedback) if feedback else None,
        **dict(zip(DISPLAY_NAMES, names, strict=False)),
    )  # fmt: skip


def session_snapshot(s: domain.Session, mentor: domain.Mentor, kind: domain.SessionType) -> ev.SessionSnapshot:
    return _snapshot(
        s, mentor=mentor.name, mentor_name=mentor.korean_name, session_type=kind.name,
        session_type_name=kind.display_name, category=kind.category,
    )  # fmt: skip


DEFAULT_SLOTS, MAX_SLOTS = 100, 1000


def slot_search(request: pb.FindAvailableSlotsRequest) -> domain.SlotSearch:
    tag = clean(request.expertise).casefold()
    if bool(request.mentors) == bool(tag):
        raise errors.invalid("mentors", "give either mentors or an expertise tag (exactly one of the two)")
    mentors = [ref(m, "mentors", f"mentors[{i}]") for i, m in enumerate(request.mentors)]
    first = calendar_date(request.start_date, "start_date")
    last = calendar_date(request.end_date, "end_date")
    if first is None or last is None:
        raise errors.invalid("start_date" if first is None else "end_date", "is required")
    window_start, window_end = domain.search_window(first, last, request.time_zone.strip() or domain.HUB_ZONE)
    session_type = optional_ref(request.session_type, "sessionTypes", "session_type")
    room = optional_ref(request.room, "rooms", "room")
    if request.company:
        parse_name(request.company, "companies", "company")
    if request.min_room_capacity < 0:
        raise errors.invalid("min_room_capacity", "must not be negative")
    if request.page_size < 0:
        raise errors.invalid("page_size", "must not be negative")
    step = duration(request.granularity) if request.HasField("granularity") else timedelta(minutes=30)
    if not (timedelta(minutes=5) <= step <= timedelta(hours=24) and step.total_seconds() % 60 == 0):
        raise errors.invalid("granularity", "must be whole minutes from 5 minutes to 24 hours")
    return domain.SlotSearch(
        mentors=mentors, tag=tag, start=window_start, end=window_end, session_type=session_type,
        duration=duration(request.duration) if request.HasField("duration") else None, room=room,
        need_room=request.need_room, min_room_capacity=request.min_room_capacity, company=request.company,
        step=step, limit=min(request.page_size or DEFAULT_SLOTS, MAX_SLOTS),
    )  # fmt: skip


slot_pb = Writer(
    pb.Slot,
    domain.Slot,
    refs={"mentor": "mentors"},
    compute={"interval": _interval, "rooms": lambda s: [f"rooms/{r}" for r in s.rooms]},
)
ACTION_ITEM_REFS = {"session": "sessions", "company": "companies", "mentor": "mentors"}
action_item_pb = Writer(
    pb.ActionItem, domain.ActionItem, refs=ACTION_ITEM_REFS, compute={"overdue": lambda a: a.is_overdue(seoul_today())}
)
action_item_snapshot = Writer(ev.ActionItemSnapshot, domain.ActionItem, refs=ACTION_ITEM_REFS)


# Programs


program_pb = Writer(pb.Program, domain.Program, refs={"room": "rooms"}, compute={"interval": _interval})
registration_pb = Writer(pb.Registration, domain.Registration, refs={"program": "programs", "company": "companies"})


def registration_fields(message: pb.Registration, program: domain.Ref) -> domain.Registration:
    company = optional_ref(message.company, "companies", "registration.company")
    return domain.Registration(
        id=0, program_id=program.id, participant_name=clean(message.participant_name),
        email=email_address(message.email), company_id=company.id if company else None, phone=clean(message.phone),
    )  # fmt: skip


def batch_item(item: pb.CreateRegistrationRequest, program: domain.Ref, rules: Rules) -> domain.Asked:
    """One request of a batch, checked by the single create's rules; a bad one is refused alone."""
    try:
        validate(item, rules)
        if item.registration.program not in ("", program.name):
            raise errors.invalid("registration.program", f"must be the batch's parent, {program.name}")
        registration = registration_fields(item.registration, program)
    except errors.InvalidArgument as refused:
        return domain.Asked(None, problem=refused.violations[0])
    return domain.Asked(registration, item.request_id, request_fingerprint(item))


def outcome_pb(outcome: domain.Outcome, validate_only: bool) -> pb.RegistrationOutcome:
    """An outcome; in a validate_only call what the call itself made has no name (it was rolled back)."""

    def named(registration: domain.Registration, made_here: bool) -> pb.Registration:
        message = registration_pb(registration)
        if made_here and validate_only:
            message.ClearField("name")
        return message

    made_here = outcome.result == domain.CREATED or outcome.same_as > 0
    return pb.RegistrationOutcome(
        result=pb.RegistrationOutcome.Result.Value(f"RESULT_{outcome.result}"),
        registration=named(outcome.registration, made_here) if outcome.registration else None,
        field=outcome.field, reason=outcome.reason, same_as_request=outcome.same_as,
        suspects=[
            pb.SuspectedDuplicate(registration=named(s.registration, s.index > 0).name, request_index=s.index,
                                  participant_name=s.registration.participant_name, reason=s.reason)
            for s in outcome.suspects
        ],
    )  # fmt: skip


def attendance_recorded(p: domain.Program, marked: list[domain.Registration]) -> ev.ProgramAttendanceRecorded:
    return ev.ProgramAttendanceRecorded(
        program=p.name,
        display_name=p.display_name,
        kind=p.kind,
        records=[
            ev.AttendanceRecord(
                registration=r.name,
                participant_name=r.participant_name,
                company=name_of("companies", r.company_id),
                attended=r.state == domain.ATTENDED,
            )
            for r in marked
        ],
        attended_count=p.attended_count,
        registered_count=p.registered_count,
    )


def attendance_marks(marks: Sequence[pb.AttendanceMark]) -> dict[int, bool]:
    """Attended or not, by registration number; each registration once."""
    if not marks:
        raise errors.invalid("marks", "is required")
    found: dict[int, bool] = {}
    for i, mark in enumerate(marks):
        number = parse_name(mark.registration, "registrations", f"marks[{i}].registration")
        if number in found:
            raise errors.invalid(f"marks[{i}].registration", "is marked twice")
        found[number] = mark.attended
    return found


# The dashboard

STATE_FIELDS = {
    domain.SCHEDULED: "scheduled",
    domain.COMPLETED: "completed",
    domain.CANCELLED: "cancelled",
    domain.NO_SHOW: "no_show",
}


def _sessions_by_type(figures: domain.Stats) -> list[pb.ConsultingStats.TypeCount]:
    by_type: dict[int, pb.ConsultingStats.TypeCount] = {}
    for row in figures.by_type:
        entry = by_type.setdefault(
            row.type_id,
            pb.ConsultingStats.TypeCount(
                session_type=f"sessionTypes/{row.type_id}", display_name=row.display_name, category=row.category
            ),
        )
        if row.state in STATE_FIELDS:
            setattr(entry, STATE_FIELDS[row.state], row.count)
    return list(by_type.values())


def stats_period(request: pb.GetConsultingStatsRequest) -> domain.Period | None:
    """The targets' period a request names (its first and last Seoul days, both counted) as [start, end) in UTC;
    None when it names none."""
    first = calendar_date(request.period_start, "period_start")
    last = calendar_date(request.period_end, "period_end")
    if first is None and last is None:
        return None
    if first is None or last is None:
        missing = "period_start" if first is None else "period_end"
        raise errors.invalid(missing, "is required when the other end of the period is given")
    if last < first:
        raise errors.invalid("period_end", "must not be before period_start")
    midnight = [datetime(d.year, d.month, d.day, tzinfo=SEOUL).astimezone(UTC) for d in (first, last)]
    return midnight[0], midnight[1] + timedelta(days=1)


month_totals_pb = Writer(pb.MonthTotals, domain.MonthTotals)
held_program_pb = Writer(
    pb.HeldProgram,
    domain.HeldProgram,
    compute={
        "program": lambda held: held.name,
        "kind": lambda held: pb.ProgramKind.Value(f"PROGRAM_KIND_{held.kind}"),
        "start_time": lambda held: timestamp(held.start),
    },
)
stats_pb = Writer(
    pb.ConsultingStats,
    domain.Stats,
    compute={
        "sessions_by_type": _sessions_by_type,
        "by_month": lambda figures: [month_totals_pb(m) for m in figures.by_month],
        "collaboration_programs": lambda figures: [held_program_pb(p) for p in figures.collaboration_programs],
        "collaboration_kinds": lambda figures: [
            pb.ProgramKind.Value(f"PROGRAM_KIND_{k}") for k in figures.counting.collaboration_kinds
        ],
        "trained_min_classes": lambda figures: figures.counting.trained_min_classes,
    },
)


# The GPU cluster


gpu_node_pb = Writer(pb.GpuNode, domain.GpuNode)
_gpu_booking = Writer(
    pb.GpuBooking, domain.GpuBooking, refs={"node": "gpuNodes", "company": "companies"},
    compute={"interval": lambda b: interval_message(b.start, b.end)}, skip=("node_display_name",),
)  # fmt: skip
_gpu_booking_snapshot = Writer(
    ev.GpuBookingSnapshot, domain.GpuBooking, refs={"node": "gpuNodes", "company": "companies"},
    rename={"start_time": "start", "end_time": "end"}, skip=("node_display_name",),
)  # fmt: skip


def gpu_booking_pb(booking: domain.GpuBooking, node_name: str = "") -> pb.GpuBooking:
    return _gpu_booking(booking, node_display_name=node_name)


def gpu_booking_snapshot(booking: domain.GpuBooking, node: domain.GpuNode) -> ev.GpuBookingSnapshot:
    return _gpu_booking_snapshot(booking, node_display_name=node.display_name)


def gpu_quota_pb(quota: domain.GpuQuota, period: tuple[datetime, datetime] | None, used: int) -> pb.GpuQuota:
    made = pb.GpuQuota(
        company=quota.company, hours=quota.hours, period=pb.GpuQuotaPeriod.Value(f"GPU_QUOTA_PERIOD_{quota.period}"),
        used_hours=used,
    )  # fmt: skip
    if quota.term_start is not None and quota.term_end is not None:
        made.term_interval.CopyFrom(interval_message(quota.term_start, quota.term_end))
    if period is not None:
        made.period_interval.CopyFrom(interval_message(*period))
    return made


def gpu_utilization_pb(month: tuple[datetime, datetime], nodes: list[domain.NodeUtilization]) -> pb.GpuUtilization:
    booked, hours = sum(n.booked_hours for n in nodes), sum(n.hours_in_month for n in nodes)
    return pb.GpuUtilization(
        month=month[0].astimezone(domain.zone(domain.HUB_ZONE, "month")).strftime("%Y-%m"),
        nodes=[
            pb.GpuNodeUtilization(
                node=n.node.name, display_name=n.node.display_name, kind=n.node.kind, booked_hours=n.booked_hours,
                no_show_hours=n.no_show_hours, hours_in_month=n.hours_in_month, utilization_percent=n.percent,
            )
            for n in nodes
        ],
        utilization_percent=round(100 * booked / hours, 1) if hours else 0.0,
    )  # fmt: skip


gpu_waitlist_pb = Writer(
    pb.GpuWaitlistEntry, domain.GpuWaitlistEntry, refs={"node": "gpuNodes", "company": "companies"},
    compute={"interval": lambda e: interval_message(e.start, e.end)},
)  # fmt: skip
