"""Sessions (their state machine and the time they hold), their changes, and the action items they leave."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from hubcore.errors import FailedPrecondition, InvalidArgument, refuse_if
from hubcore.resources import Versioned
from hubcore.text import clean
from services.consulting.domain.common import MAX_SESSION, MIN_SESSION, check_interval
from services.consulting.domain.resources import SessionType

SCHEDULED, COMPLETED, CANCELLED, NO_SHOW = "SCHEDULED", "COMPLETED", "CANCELLED", "NO_SHOW"
SESSION_TRANSITIONS: dict[str, frozenset[str]] = {
    SCHEDULED: frozenset({COMPLETED, CANCELLED, NO_SHOW}),
    COMPLETED: frozenset(),
    CANCELLED: frozenset(),
    NO_SHOW: frozenset(),
}
# Sessions in these states hold their mentor, company and room; the others free them.
HOLDS_TIME = frozenset({SCHEDULED, COMPLETED})
OPEN, DONE = "OPEN", "DONE"  # action items


# Sessions and what they hold


@dataclass(frozen=True)
class Session(Versioned):
    collection = "sessions"

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
    completed_at: datetime | None = None
    notes_at: datetime | None = None  # when the notes were written (at completion or after)

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
        notes = notes.strip()
        return replace(
            self, state=COMPLETED, notes=notes, completed_at=at, notes_at=at if notes else None,
            version=self.version + 1,
        )  # fmt: skip

    def record_notes(self, notes: str, at: datetime) -> Session:
        """The notes of a completed session written after its completion (due within NOTES_DUE of it), once."""
        if self.state != COMPLETED:
            raise FailedPrecondition(
                f"{self.name} is {self.state}; notes are written for a completed session",
                type_="SESSION_STATE", subject=self.name,
            )  # fmt: skip
        if self.notes_at is not None or self.notes:
            raise FailedPrecondition(f"{self.name} has its notes already", type_="NOTES_RECORDED", subject=self.name)
        refuse_if((not notes.strip(), "notes", "is required"))
        return replace(self, notes=notes.strip(), notes_at=at, version=self.version + 1)


# The founder's feedback after a session, and the mentor's notes: both due within 48 hours of the completion.
FEEDBACK_WINDOW = NOTES_DUE = timedelta(hours=48)
FEEDBACK_TARGET_PERCENT = 80.0
GOOD_FIT, STILL_DECIDING, NOT_A_FIT = "GOOD_FIT", "STILL_DECIDING", "NOT_A_FIT"
FITS = (GOOD_FIT, STILL_DECIDING, NOT_A_FIT)


@dataclass(frozen=True)
class Feedback:
    """What the founder thought of a completed session: a rating 1-4 and whether the mentor is a fit. actor
    recorded it; reason says why when a program manager did, on the founder's behalf."""

    id: int
    session_id: int
    company_id: int
    mentor_id: int
    rating: int
    fit: str
    comment: str = ""
    actor: str = ""
    reason: str = ""
    on_time: bool = False  # within FEEDBACK_WINDOW of the completion
    created_at: datetime | None = None

    @property
    def needs_follow_up(self) -> bool:
        """A rating of 1 or "not a fit": the program managers follow it up."""
        return self.rating == 1 or self.fit == NOT_A_FIT


def new_feedback(
    session: Session, *, rating: int, fit: str, comment: str, actor: str, reason: str, on_behalf: bool, at: datetime
) -> Feedback:
    """Feedback on a completed session; on_behalf: a program manager records it for the founder (reason needed)."""
    refuse_if(
        (not 1 <= rating <= 4, "rating", "must be 1 to 4"),
        (fit not in FITS, "fit", "is required: GOOD_FIT, STILL_DECIDING or NOT_A_FIT"),
        (on_behalf and not clean(reason), "reason", "is required when a program manager records a founder's feedback"),
    )
    if session.state != COMPLETED:
        raise FailedPrecondition(
            f"{session.name} is {session.state}; feedback is given on a completed session",
            type_="SESSION_STATE", subject=session.name,
        )  # fmt: skip
    on_time = session.completed_at is not None and at - session.completed_at <= FEEDBACK_WINDOW
    return Feedback(
        id=0, session_id=session.id, company_id=session.company_id, mentor_id=session.mentor_id, rating=rating,
        fit=fit, comment=comment.strip(), actor=actor, reason=clean(reason) if on_behalf else "", on_time=on_time,
    )  # fmt: skip


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


RESOURCE_WORDS = {"mentors": "mentor", "companies": "company", "rooms": "room", "gpuNodes": "GPU node"}


def conflict_message(resource: str, holder: str) -> str:
    collection = resource.split("/", 1)[0]
    what = RESOURCE_WORDS.get(collection, collection)
    return f"{what} {resource} is already booked at an overlapping time by {holder}"


# Action items


@dataclass(frozen=True)
class ActionItem(Versioned):
    collection = "actionItems"

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


# What a list of sessions or action items is filtered by (an empty list: any)


@dataclass(frozen=True)
class SessionFilter:
    mentor: list[int] = field(default_factory=list)
    company: list[int] = field(default_factory=list)
    room: list[int] = field(default_factory=list)
    session_type: list[int] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    start_after: list[datetime] = field(default_factory=list)  # each: starts at or after
    start_before: list[datetime] = field(default_factory=list)  # each: starts before
    has_notes: list[bool] = field(default_factory=list)  # each: its notes are written (true) or not (false)


@dataclass(frozen=True)
class ActionItemFilter:
    company: list[int] = field(default_factory=list)
    mentor: list[int] = field(default_factory=list)
    session: list[int] = field(default_factory=list)
    owner: list[str] = field(default_factory=list)
    state: list[str] = field(default_factory=list)
    overdue: list[bool] = field(default_factory=list)  # each: overdue (True) or not (False) on the day asked
