"""What sessions are booked with: mentors and their weekly hours, their exceptions, rooms, session types,
and the companies as this service knows them (a read model of the companies service)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from hubcore.errors import FailedPrecondition, InvalidArgument, refuse_if
from hubcore.resources import NAME_NORMALIZERS, Named, Normalizers, Versioned, created, revise
from hubcore.text import clean, clean_tags, email_address
from services.consulting.domain.common import (
    CATEGORIES,
    DAY_MINUTES,
    HUB_ZONE,
    MAX_BUFFER,
    MAX_SESSION,
    MAX_TAGS,
    MENTOR_KINDS,
    MIN_SESSION,
    zone,
)

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
class Mentor(Versioned):
    collection = "mentors"

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
    deactivated_at: datetime | None = None  # by a program manager: nobody can book them
    deactivation_reason: str = ""

    @property
    def active(self) -> bool:
        return self.deactivated_at is None

    @property
    def state(self) -> str:
        return ACTIVE if self.active else INACTIVE

    def deactivate(self, reason: str, at: datetime) -> Mentor:
        if not self.active:
            raise FailedPrecondition(f"{self.name} is already inactive", type_="MENTOR_STATE", subject=self.name)
        return replace(self, deactivated_at=at, deactivation_reason=clean(reason), version=self.version + 1)

    def reactivate(self) -> Mentor:
        if self.active:
            raise FailedPrecondition(f"{self.name} is already active", type_="MENTOR_STATE", subject=self.name)
        return replace(self, deactivated_at=None, deactivation_reason="", version=self.version + 1)

    def check_bookable(self) -> None:
        """A deactivated mentor cannot be booked (nor a session of theirs moved)."""
        if not self.active:
            raise FailedPrecondition(
                f"{self.name} is inactive ({self.deactivation_reason}) and cannot be booked",
                type_="MENTOR_STATE", subject=self.name,
            )  # fmt: skip


ACTIVE, INACTIVE = "ACTIVE", "INACTIVE"  # mentors
# What a mentor may change of their own record (UpdateMentor with a mentor's token); the rest is the program
# managers'.
SELF_MUTABLE = frozenset({"windows", "time_zone"})


def check_mentor(mentor: Mentor) -> None:
    refuse_if(
        (not mentor.korean_name, "mentor.korean_name", "is required"),
        (mentor.kind not in MENTOR_KINDS, "mentor.kind", "is required"),
        (len(mentor.expertise) > MAX_TAGS, "mentor.expertise", f"has more than {MAX_TAGS} tags"),
    )
    zone(mentor.time_zone, "mentor.time_zone")
    check_windows(mentor.windows, "mentor.weekly_availability")


# How a mentor's values are stored: names NFC and trimmed, email lower case, tags case-folded, a zone given.
MENTOR_NORMALIZERS: Normalizers = {
    **NAME_NORMALIZERS,
    "affiliation": clean,
    "email": email_address,
    "expertise": clean_tags,
    "time_zone": lambda zone: zone.strip() or HUB_ZONE,
}


def new_mentor(**fields: object) -> Mentor:
    return created(Mentor, fields, MENTOR_NORMALIZERS, check_mentor)


def update_mentor(mentor: Mentor, changes: dict[str, object]) -> tuple[Mentor, list[str]]:
    return revise(mentor, changes, MENTOR_NORMALIZERS, check_mentor)


@dataclass(frozen=True)
class AvailabilityException(Named):
    collection = "availabilityExceptions"

    id: int
    mentor_id: int
    available: bool  # True: extra hours; False: away
    start: datetime
    end: datetime
    reason: str = ""
    created_at: datetime | None = None


@dataclass(frozen=True)
class Room(Named):
    collection = "rooms"

    id: int
    display_name: str
    capacity: int
    floor: int = 0
    created_at: datetime | None = None


def new_room(*, display_name: str, capacity: int, floor: int = 0) -> Room:
    room = Room(id=0, display_name=clean(display_name), capacity=capacity, floor=floor)
    refuse_if(
        (not room.display_name, "room.display_name", "is required"),
        (not 1 <= capacity <= 1000, "room.capacity", "must be 1 to 1000"),
        (not -5 <= floor <= 200, "room.floor", "must be -5 to 200"),
    )
    return room


@dataclass(frozen=True)
class SessionType(Named):
    collection = "sessionTypes"

    id: int
    display_name: str
    category: str
    default_duration: timedelta
    buffer_before: timedelta = timedelta(0)
    buffer_after: timedelta = timedelta(0)
    created_at: datetime | None = None


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


@dataclass(frozen=True)
class DirectoryCompany:
    """A company as the companies service's events described it last (the newest version wins)."""

    company: str  # companies/{id}
    korean_name: str
    english_name: str
    status: str
    archived: bool
    version: int

    @property
    def closed(self) -> str:
        """Why no session may be booked with it ("archived", "withdrawn"), or ""."""
        return "archived" if self.archived else "withdrawn" if self.status == "WITHDRAWN" else ""
