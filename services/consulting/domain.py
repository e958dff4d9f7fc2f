"""Consulting: mentors, availability, rooms, session types, sessions, action items, programs.

Pure Python: no database, no network. Instants are timezone-aware UTC datetimes; weekly availability is
wall-clock minutes in the mentor's IANA zone, turned into instants day by day (so DST moves them).
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from hubcore.errors import FailedPrecondition, InvalidArgument
from hubcore.text import clean, clean_tags

HUB_ZONE = "Asia/Seoul"  # the hub's own clock: default mentor zone, search dates, "overdue"
MENTOR_KINDS = ("FACULTY", "EXPERT", "VC")
CATEGORIES = ("GROWTH_STRATEGY", "TECHNICAL", "VC_ADVISORY", "OVERSEAS_EXPANSION", "OTHER")
PROGRAM_KINDS = ("COLLABORATION", "JOB_MATCHING", "SALON", "EDUCATION", "OTHER")
MAX_TAGS = 20
MIN_SESSION = timedelta(minutes=5)
MAX_SESSION = timedelta(hours=12)
MAX_BUFFER = timedelta(hours=2)
MAX_SEARCH_DAYS = 62
DAY_MINUTES = 24 * 60
ICAL_DOMAIN = "hub.kaist.ac.kr"

SCHEDULED, COMPLETED, CANCELLED, NO_SHOW = "SCHEDULED", "COMPLETED", "CANCELLED", "NO_SHOW"
SESSION_TRANSITIONS: dict[str, frozenset[str]] = {
    SCHEDULED: frozenset({COMPLETED, CANCELLED, NO_SHOW}),
    COMPLETED: frozenset(),
    CANCELLED: frozenset(),
    NO_SHOW: frozenset(),
}
# Sessions in these states hold their mentor, company and room; the others free them.
HOLDS_TIME = frozenset({SCHEDULED, COMPLETED})
OPEN, DONE = "OPEN", "DONE"
REGISTERED, ATTENDED, ABSENT = "REGISTERED", "ATTENDED", "ABSENT"

Period = tuple[datetime, datetime]  # [start, end) in UTC


def zone(name: str, field_path: str) -> ZoneInfo:
    """An IANA zone, or INVALID_ARGUMENT naming the field."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidArgument([(field_path, f"{name!r} is not an IANA time zone like Asia/Seoul")]) from None


def today(tz: str = HUB_ZONE, *, at: datetime | None = None) -> date:
    return (at or datetime.now(UTC)).astimezone(ZoneInfo(tz)).date()


# Mentors and their week


@dataclass(frozen=True)
class Window:
    """Wall-clock hours on one weekday (0 = Monday) in minutes after midnight; end may be 1440 (24:00)."""

    weekday: int
    start_minute: int
    end_minute: int


def check_windows(windows: Sequence[Window], field_path: str) -> None:
    problems = []
    for i, w in enumerate(windows):
        path = f"{field_path}[{i}]"
        if not 0 <= w.weekday <= 6:
            problems.append((f"{path}.day", "is required"))
        if not 0 <= w.start_minute < DAY_MINUTES or not 0 < w.end_minute <= DAY_MINUTES:
            problems.append((path, "times must be between 00:00 and 24:00"))
        elif w.end_minute <= w.start_minute:
            problems.append((f"{path}.end_time", "must be after start_time"))
    if len(windows) > 50:
        problems.append((field_path, "has more than 50 windows"))
    if problems:
        raise InvalidArgument(problems)


@dataclass(frozen=True)
class Mentor:
    id: int
    korean_name: str
    kind: str
    english_name: str = ""
    affiliation: str = ""
    email: str = ""
    expertise: list[str] = field(default_factory=list)
    time_zone: str = HUB_ZONE
    windows: list[Window] = field(default_factory=list)
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1

    @property
    def name(self) -> str:
        return f"mentors/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)


def check_mentor(mentor: Mentor) -> None:
    problems = []
    if not mentor.korean_name:
        problems.append(("mentor.korean_name", "is required"))
    if mentor.kind not in MENTOR_KINDS:
        problems.append(("mentor.kind", "is required"))
    if len(mentor.expertise) > MAX_TAGS:
        problems.append(("mentor.expertise", f"has more than {MAX_TAGS} tags"))
    if problems:
        raise InvalidArgument(problems)
    zone(mentor.time_zone, "mentor.time_zone")
    check_windows(mentor.windows, "mentor.weekly_availability")


def new_mentor(**fields: object) -> Mentor:
    mentor = Mentor(id=0, **fields)  # type: ignore[arg-type]
    mentor = _normalized_mentor(mentor)
    check_mentor(mentor)
    return mentor


def _normalized_mentor(mentor: Mentor) -> Mentor:
    return replace(
        mentor,
        korean_name=clean(mentor.korean_name),
        english_name=clean(mentor.english_name),
        affiliation=clean(mentor.affiliation),
        email=mentor.email.strip().lower(),
        expertise=clean_tags(mentor.expertise),
        time_zone=mentor.time_zone.strip() or HUB_ZONE,
    )


def update_mentor(mentor: Mentor, changes: dict[str, object]) -> tuple[Mentor, list[str]]:
    candidate = _normalized_mentor(replace(mentor, **changes))  # type: ignore[arg-type]
    changed = sorted(k for k in changes if getattr(candidate, k) != getattr(mentor, k))
    if not changed:
        return mentor, []
    updated = replace(candidate, version=mentor.version + 1)
    check_mentor(updated)
    return updated, changed


@dataclass(frozen=True)
class AvailabilityException:
    id: int
    mentor_id: int
    available: bool  # True: extra hours; False: away
    start: datetime
    end: datetime
    reason: str = ""
    created_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"availabilityExceptions/{self.id}"


def check_interval(start: datetime | None, end: datetime | None, field_path: str, *, longest: timedelta) -> None:
    if start is None:
        raise InvalidArgument([(f"{field_path}.start_time", "is required")])
    if end is None:
        raise InvalidArgument([(f"{field_path}.end_time", "is required")])
    if end <= start:
        raise InvalidArgument([(f"{field_path}.end_time", "must be after start_time")])
    if end - start > longest:
        raise InvalidArgument([(field_path, f"must be at most {_human(longest)} long")])


def _human(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} hours" if hours < 48 else f"{hours / 24:g} days"


@dataclass(frozen=True)
class Room:
    id: int
    display_name: str
    capacity: int
    floor: int = 0
    created_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"rooms/{self.id}"


def new_room(*, display_name: str, capacity: int, floor: int = 0) -> Room:
    room = Room(id=0, display_name=clean(display_name), capacity=capacity, floor=floor)
    problems = []
    if not room.display_name:
        problems.append(("room.display_name", "is required"))
    if not 1 <= capacity <= 1000:
        problems.append(("room.capacity", "must be 1 to 1000"))
    if not -5 <= floor <= 200:
        problems.append(("room.floor", "must be -5 to 200"))
    if problems:
        raise InvalidArgument(problems)
    return room


@dataclass(frozen=True)
class SessionType:
    id: int
    display_name: str
    category: str
    default_duration: timedelta
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    created_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"sessionTypes/{self.id}"


def _whole_minutes(span: timedelta) -> bool:
    return span.total_seconds() % 60 == 0


def new_session_type(
    *, display_name: str, category: str, default_duration: timedelta, buffer_before: timedelta, buffer_after: timedelta
) -> SessionType:
    kind = SessionType(0, clean(display_name), category, default_duration, buffer_before, buffer_after)
    problems = []
    if not kind.display_name:
        problems.append(("session_type.display_name", "is required"))
    if category not in CATEGORIES:
        problems.append(("session_type.category", "is required"))
    if not (MIN_SESSION <= default_duration <= MAX_SESSION and _whole_minutes(default_duration)):
        problems.append(("session_type.default_duration", "must be whole minutes from 5 minutes to 12 hours"))
    for path, span in (("buffer_before", buffer_before), ("buffer_after", buffer_after)):
        if not (timedelta(0) <= span <= MAX_BUFFER and _whole_minutes(span)):
            problems.append((f"session_type.{path}", "must be whole minutes from 0 to 2 hours"))
    if problems:
        raise InvalidArgument(problems)
    return kind


# Sessions and what they hold


@dataclass(frozen=True)
class Session:
    id: int
    company_id: int
    mentor_id: int
    session_type_id: int
    start: datetime
    end: datetime
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    room_id: int | None = None
    agenda: str = ""
    state: str = SCHEDULED
    notes: str = ""
    cancel_reason: str = ""
    sequence: int = 0
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1

    @property
    def name(self) -> str:
        return f"sessions/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    def holds(self) -> list[tuple[str, datetime, datetime]]:
        """The bookings this session holds: the mentor with the type's buffers, the company and the room
        for the session itself. No two bookings of one resource may overlap."""
        if self.state not in HOLDS_TIME:
            return []
        held = [
            (f"mentors/{self.mentor_id}", self.start - self.buffer_before, self.end + self.buffer_after),
            (f"companies/{self.company_id}", self.start, self.end),
        ]
        if self.room_id is not None:
            held.append((f"rooms/{self.room_id}", self.start, self.end))
        return held

    def _move(self, target: str) -> None:
        if target not in SESSION_TRANSITIONS[self.state]:
            raise FailedPrecondition(
                f"{self.name} is {self.state} and cannot become {target}", type_="SESSION_STATE", subject=self.name
            )

    def reschedule(self, start: datetime, end: datetime, room_id: int | None) -> Session:
        if self.state != SCHEDULED:
            raise FailedPrecondition(
                f"{self.name} is {self.state}; only a scheduled session can be moved",
                type_="SESSION_STATE",
                subject=self.name,
            )
        check_interval(start, end, "interval", longest=MAX_SESSION)
        if (start, end, room_id) == (self.start, self.end, self.room_id):
            raise FailedPrecondition(
                f"{self.name} is already at that time and room", type_="SESSION_UNCHANGED", subject=self.name
            )
        return replace(
            self, start=start, end=end, room_id=room_id, sequence=self.sequence + 1, version=self.version + 1
        )

    def cancel(self, reason: str) -> Session:
        self._move(CANCELLED)
        return replace(
            self, state=CANCELLED, cancel_reason=clean(reason), sequence=self.sequence + 1, version=self.version + 1
        )

    def _started(self, at: datetime, what: str) -> None:
        # Held or missed only once it began: a future session counted as held would inflate the dashboard.
        if at < self.start:
            raise FailedPrecondition(
                f"{self.name} starts at {self.start.isoformat()} and cannot be {what} before it has started",
                type_="SESSION_NOT_STARTED",
                subject=self.name,
            )

    def no_show(self, at: datetime) -> Session:
        self._move(NO_SHOW)
        self._started(at, "marked a no-show")
        return replace(self, state=NO_SHOW, version=self.version + 1)

    def complete(self, notes: str, at: datetime) -> Session:
        self._move(COMPLETED)
        self._started(at, "completed")
        return replace(self, state=COMPLETED, notes=notes.strip(), version=self.version + 1)


def new_session(
    *, company_id: int, mentor_id: int, session_type: SessionType, start: datetime, end: datetime | None,
    room_id: int | None, agenda: str,
) -> Session:  # fmt: skip
    end = end or start + session_type.default_duration
    check_interval(start, end, "session.interval", longest=MAX_SESSION)
    if end - start < MIN_SESSION:
        raise InvalidArgument([("session.interval", "must be at least 5 minutes long")])
    return Session(
        id=0,
        company_id=company_id,
        mentor_id=mentor_id,
        session_type_id=session_type.id,
        start=start,
        end=end,
        buffer_before=session_type.buffer_before,
        buffer_after=session_type.buffer_after,
        room_id=room_id,
        agenda=agenda.strip(),
    )


@dataclass(frozen=True)
class SessionChange:
    previous_start: datetime
    previous_end: datetime
    previous_room_id: int | None
    new_start: datetime
    new_end: datetime
    new_room_id: int | None
    reason: str
    changed_at: datetime
    actor: str


def conflict_message(resource: str, holder: str) -> str:
    what = resource.split("/", 1)[0].rstrip("s")
    return f"{what} {resource} is already booked at an overlapping time by {holder}"


# Action items


@dataclass(frozen=True)
class ActionItem:
    id: int
    session_id: int
    company_id: int
    mentor_id: int
    description: str
    owner: str
    due_date: date
    state: str = OPEN
    completed_at: datetime | None = None
    overdue_at: datetime | None = None  # when the overdue event went out
    created_at: datetime | None = None
    version: int = 1

    @property
    def name(self) -> str:
        return f"actionItems/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    def is_overdue(self, on: date) -> bool:
        return self.state == OPEN and self.due_date < on

    def complete(self, when: datetime) -> ActionItem:
        if self.state != OPEN:
            raise FailedPrecondition(f"{self.name} is already done", type_="ACTION_ITEM_STATE", subject=self.name)
        return replace(self, state=DONE, completed_at=when, version=self.version + 1)


def new_action_item(*, index: int, description: str, owner: str, due_date: date | None) -> tuple[str, str, date]:
    path = f"action_items[{index}]"
    problems = []
    if not clean(description):
        problems.append((f"{path}.description", "is required"))
    elif len(clean(description)) > 1000:
        problems.append((f"{path}.description", "must be 1 to 1000 characters long"))
    if not clean(owner):
        problems.append((f"{path}.owner", "is required"))
    elif len(clean(owner)) > 100:
        problems.append((f"{path}.owner", "must be 1 to 100 characters long"))
    if due_date is None:
        problems.append((f"{path}.due_date", "is required"))
    if problems:
        raise InvalidArgument(problems)
    assert due_date is not None
    return clean(description), clean(owner), due_date


# Programs


@dataclass(frozen=True)
class Program:
    id: int
    display_name: str
    kind: str
    start: datetime
    end: datetime
    room_id: int | None = None
    capacity: int = 0
    description: str = ""
    registered_count: int = 0
    attended_count: int = 0
    attendance_recorded_at: datetime | None = None
    created_at: datetime | None = None
    version: int = 1

    @property
    def name(self) -> str:
        return f"programs/{self.id}"


def new_program(
    *, display_name: str, kind: str, start: datetime | None, end: datetime | None, room_id: int | None,
    capacity: int, description: str,
) -> Program:  # fmt: skip
    problems = []
    if not clean(display_name):
        problems.append(("program.display_name", "is required"))
    if kind not in PROGRAM_KINDS:
        problems.append(("program.kind", "is required"))
    if not 0 <= capacity <= 100_000:
        problems.append(("program.capacity", "must be 0 (no limit) to 100000"))
    if problems:
        raise InvalidArgument(problems)
    check_interval(start, end, "program.interval", longest=timedelta(days=366))
    assert start is not None and end is not None
    return Program(0, clean(display_name), kind, start, end, room_id, capacity, description.strip())


@dataclass(frozen=True)
class Registration:
    id: int
    program_id: int
    participant_name: str
    email: str = ""
    company_id: int | None = None
    state: str = REGISTERED
    created_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"registrations/{self.id}"


def check_attendance(program: Program, at: datetime) -> None:
    """Attendance is a record of what happened: not for a program that has not begun."""
    if at < program.start:
        raise FailedPrecondition(
            f"{program.name} starts at {program.start.isoformat()}; attendance can be recorded once it has begun",
            type_="PROGRAM_NOT_STARTED",
            subject=program.name,
        )


def check_capacity(program: Program) -> None:
    if program.capacity and program.registered_count >= program.capacity:
        raise FailedPrecondition(
            f"{program.name} is full ({program.capacity} places)", type_="PROGRAM_FULL", subject=program.name
        )


# Availability


def merge(periods: Iterable[Period]) -> list[Period]:
    """Sorted, with overlapping or touching periods joined: disjoint and ordered by start and end alike."""
    result: list[Period] = []
    for start, end in sorted(periods):
        if end <= start:
            continue
        if result and start <= result[-1][1]:
            if end > result[-1][1]:
                result[-1] = (result[-1][0], end)
        else:
            result.append((start, end))
    return result


def subtract(periods: Sequence[Period], holes: Sequence[Period]) -> list[Period]:
    """periods minus holes; both merged."""
    result: list[Period] = []
    holes = merge(holes)
    for start, end in periods:
        cursor = start
        for h_start, h_end in holes:
            if h_end <= cursor or h_start >= end:
                continue
            if h_start > cursor:
                result.append((cursor, h_start))
            cursor = max(cursor, h_end)
        if cursor < end:
            result.append((cursor, end))
    return result


def clip(periods: Sequence[Period], start: datetime, end: datetime) -> list[Period]:
    return [(max(s, start), min(e, end)) for s, e in periods if s < end and e > start]


def overlaps(busy: Sequence[Period], starts: Sequence[datetime], start: datetime, end: datetime) -> bool:
    """Whether [start, end) meets any period of a merged list (starts: its start times, for bisect)."""
    i = bisect_left(starts, end)  # periods 0..i-1 start before end; the last of them ends latest
    return i > 0 and busy[i - 1][1] > start


def local_instant(day: date, minute: int, tz: ZoneInfo) -> datetime:
    """Wall-clock minute of a local day as a UTC instant. A time in a spring-forward gap lands just after
    the gap; an ambiguous fall-back time takes its first occurrence (fold=0)."""
    day = day + timedelta(days=minute // DAY_MINUTES)
    minute %= DAY_MINUTES
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=tz).astimezone(UTC)


def weekly_periods(windows: Sequence[Window], tz: ZoneInfo, start: datetime, end: datetime) -> list[Period]:
    """The weekly windows as UTC periods within [start, end), computed day by day in the mentor's zone."""
    day = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date() + timedelta(days=1)
    periods = []
    while day <= last:
        for w in windows:
            if w.weekday == day.weekday():
                periods.append((local_instant(day, w.start_minute, tz), local_instant(day, w.end_minute, tz)))
        day += timedelta(days=1)
    return clip(merge(periods), start, end)


def available_periods(
    mentor: Mentor, exceptions: Sequence[AvailabilityException], start: datetime, end: datetime
) -> list[Period]:
    """Weekly rules, plus extra hours, minus time away."""
    periods = weekly_periods(mentor.windows, ZoneInfo(mentor.time_zone), start, end)
    extra = [(x.start, x.end) for x in exceptions if x.available]
    away = [(x.start, x.end) for x in exceptions if not x.available]
    return clip(subtract(merge([*periods, *extra]), away), start, end)


def search_window(first: date, last: date, tz_name: str) -> Period:
    """[first 00:00, last+1 00:00) in the zone the caller reads dates in, as UTC."""
    if last < first:
        raise InvalidArgument([("end_date", "must not be before start_date")])
    if (last - first).days + 1 > MAX_SEARCH_DAYS:
        raise InvalidArgument([("end_date", f"the search may span at most {MAX_SEARCH_DAYS} days")])
    tz = zone(tz_name, "time_zone")
    return local_instant(first, 0, tz), local_instant(last + timedelta(days=1), 0, tz)


@dataclass
class Busy:
    """A resource's bookings in the search window, merged, ready for bisect."""

    periods: list[Period]
    starts: list[datetime]

    @classmethod
    def of(cls, periods: Iterable[Period]) -> Busy:
        merged = merge(periods)
        return cls(merged, [s for s, _ in merged])

    def meets(self, start: datetime, end: datetime) -> bool:
        return overlaps(self.periods, self.starts, start, end)


@dataclass(frozen=True)
class Slot:
    start: datetime
    end: datetime
    mentor_id: int
    rooms: tuple[int, ...] = ()


def find_slots(
    *, mentor_id: int, available: Sequence[Period], mentor_busy: Busy, duration: timedelta,
    buffer_before: timedelta, buffer_after: timedelta, step: timedelta, not_before: datetime,
    company_busy: Busy | None = None, rooms: dict[int, Busy] | None = None, limit: int = 1000,
) -> list[Slot]:  # fmt: skip
    """Candidate starts every `step` from the start of each available period. A slot lies inside the
    mentor's available time; the session with its buffers meets none of the mentor's bookings (which carry
    their own buffers); the company, when given, is free; and, when rooms are given, at least one is free."""
    slots: list[Slot] = []
    for period_start, period_end in available:
        start = period_start
        if start < not_before:
            skipped = -(-(not_before - period_start) // step)  # ceiling
            start = period_start + skipped * step
        while start + duration <= period_end and len(slots) < limit:
            end = start + duration
            if not mentor_busy.meets(start - buffer_before, end + buffer_after) and not (
                company_busy and company_busy.meets(start, end)
            ):
                free_rooms: tuple[int, ...] = ()
                if rooms is not None:
                    free_rooms = tuple(r for r, busy in rooms.items() if not busy.meets(start, end))
                if rooms is None or free_rooms:
                    slots.append(Slot(start, end, mentor_id, free_rooms))
            start += step
    return slots


# iCalendar (RFC 5545)


@dataclass(frozen=True)
class CalendarEntry:
    session: Session
    summary: str
    location: str = ""
    description: str = ""


def session_uid(session_id: int) -> str:
    """Stable for the life of the session, so a calendar app updates the event rather than adding one."""
    return f"session-{session_id}@{ICAL_DOMAIN}"


def to_ical(title: str, entries: Iterable[CalendarEntry]) -> bytes:
    calendar = icalendar.Calendar()
    calendar.add("prodid", "-//Hub CRM//consulting//KO")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", title)
    for entry in entries:
        s = entry.session
        event = icalendar.Event()
        event.add("uid", session_uid(s.id))
        event.add("sequence", s.sequence)
        event.add("dtstamp", s.updated_at or s.created_at or datetime.now(UTC))
        event.add("dtstart", s.start)
        event.add("dtend", s.end)
        event.add("summary", entry.summary)
        event.add("status", "CANCELLED" if s.state in (CANCELLED, NO_SHOW) else "CONFIRMED")
        if entry.location:
            event.add("location", entry.location)
        if entry.description:
            event.add("description", entry.description)
        if s.updated_at:
            event.add("last-modified", s.updated_at)
        calendar.add_component(event)
    return bytes(calendar.to_ical())
