"""Programs (events with a room and a capacity), their registrations and attendance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from hubcore.errors import FailedPrecondition, refuse_if
from hubcore.resources import Named
from hubcore.text import clean
from services.consulting.domain.common import PROGRAM_KINDS, check_interval

REGISTERED, ATTENDED, ABSENT = "REGISTERED", "ATTENDED", "ABSENT"

# Programs


@dataclass(frozen=True)
class Program(Named):
    collection = "programs"

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


def new_program(
    *, display_name: str, kind: str, start: datetime | None, end: datetime | None, room_id: int | None,
    capacity: int, description: str,
) -> Program:  # fmt: skip
    refuse_if(
        (not clean(display_name), "program.display_name", "is required"),
        (kind not in PROGRAM_KINDS, "program.kind", "is required"),
        (not 0 <= capacity <= 100_000, "program.capacity", "must be 0 (no limit) to 100000"),
    )
    check_interval(start, end, "program.interval", longest=timedelta(days=366))
    assert start is not None and end is not None
    return Program(0, clean(display_name), kind, start, end, room_id, capacity, description.strip())


@dataclass(frozen=True)
class Registration(Named):
    collection = "registrations"

    id: int
    program_id: int
    participant_name: str
    email: str = ""
    company_id: int | None = None
    state: str = REGISTERED
    created_at: datetime | None = None
    phone: str = ""


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


# The dashboard


@dataclass(frozen=True)
class TypeCount:
    """How many sessions of one type are in one state (state None: a type without sessions)."""

    type_id: int
    display_name: str
    category: str
    state: str | None
    count: int


@dataclass(frozen=True)
class MonthTotals:
    """The three program figures as they stood at the end of a month ("2026-03", Asia/Seoul)."""

    month: str
    programs_held: int
    participants: int
    people_trained: int
    collaboration_programs_held: int = 0


@dataclass(frozen=True)
class Counting:
    """What the targets' figures count (hubcore.settings.CountingSettings): a person is trained once they have
    attended trained_min_classes education programs; programs of collaboration_kinds are collaboration programs.
    A person attending three classes is one person trained (at the threshold), not three."""

    trained_min_classes: int = 1
    collaboration_kinds: tuple[str, ...] = ("COLLABORATION",)

    def __post_init__(self) -> None:
        unknown = [k for k in self.collaboration_kinds if k not in PROGRAM_KINDS]
        if unknown or not self.collaboration_kinds:
            raise ValueError(f"HUB_COLLABORATION_KINDS: {unknown or 'none'} (program kinds: {PROGRAM_KINDS})")
        if not 1 <= self.trained_min_classes <= 100:
            raise ValueError(f"HUB_TRAINED_MIN_CLASSES must be 1 to 100, not {self.trained_min_classes}")


@dataclass(frozen=True)
class HeldProgram:
    """A program whose attendance was recorded, with the different people who attended it."""

    id: int
    display_name: str
    kind: str
    start: datetime
    participants: int

    @property
    def name(self) -> str:
        return f"programs/{self.id}"


@dataclass(frozen=True)
class Stats:
    by_type: list[TypeCount]
    programs_held: int
    participants: int
    people_trained: int
    companies_served: int
    mentors: int
    open_action_items: int
    overdue_action_items: int
    active_mentors: int = 0
    feedback_due: int = 0  # completed sessions whose 48 hours for feedback have passed
    feedback_on_time: int = 0  # of those, rated within the 48 hours
    by_month: list[MonthTotals] = field(default_factory=list)  # the running totals, oldest month first
    distinct_participants: int = 0  # different people at any program (participants counts per program)
    collaboration_programs: list[HeldProgram] = field(default_factory=list)  # held, of the collaboration kinds
    counting: Counting = field(default_factory=Counting)

    @property
    def collaboration_programs_held(self) -> int:
        return len(self.collaboration_programs)

    @property
    def feedback_completion_percent(self) -> float:
        """The share of feedback_due rated on time, in percent (100 when none is due yet); the target is 80."""
        return round(100.0 * self.feedback_on_time / self.feedback_due, 1) if self.feedback_due else 100.0
