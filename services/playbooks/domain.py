"""Playbooks: rules kept as data (a trigger and ordered actions), the facts they read, when a rule's condition
holds for a subject, episodes, firings and their actions' states, and the dry run's replay of history.
Pure Python: no database, no network. The same `holds` decides a live firing and a dry run's."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, ClassVar

from hubcore import errors
from hubcore.convert import SEOUL
from hubcore.resources import Named, Versioned

# Trigger kinds
KPI_THRESHOLD = "KPI_THRESHOLD"
NO_SESSION = "NO_SESSION"
INTRODUCTION_UNANSWERED = "INTRODUCTION_UNANSWERED"
SESSION_RATED_LOW = "SESSION_RATED_LOW"
KPI_REQUEST_OVERDUE = "KPI_REQUEST_OVERDUE"
TRIGGERS = (KPI_THRESHOLD, NO_SESSION, INTRODUCTION_UNANSWERED, SESSION_RATED_LOW, KPI_REQUEST_OVERDUE)
BELOW, ABOVE = "BELOW", "ABOVE"

# Action kinds
BOOK_CONSULTATION = "BOOK_CONSULTATION"
PROPOSE_INTRODUCTIONS = "PROPOSE_INTRODUCTIONS"
NOTIFY = "NOTIFY"
CHASE_PARTNER = "CHASE_PARTNER"
SECOND_REMINDER = "SECOND_REMINDER"
NOTICES = (NOTIFY, CHASE_PARTNER, SECOND_REMINDER)  # carried out by an event the notifications worker sends
ACTIONS = (BOOK_CONSULTATION, PROPOSE_INTRODUCTIONS, *NOTICES)
PROGRAM_MANAGERS, COMPANY, PARTNER = "PROGRAM_MANAGERS", "COMPANY", "PARTNER"
AUDIENCES = (PROGRAM_MANAGERS, COMPANY, PARTNER)

# Fact kinds: what the service keeps of the events it hears
KPI_REPORT, COMPANY_FACT, SESSION, FEEDBACK, INTRODUCTION, KPI_REQUEST = (
    "KPI_REPORT", "COMPANY", "SESSION", "FEEDBACK", "INTRODUCTION", "KPI_REQUEST",
)  # fmt: skip

# Action and firing states
PENDING, DONE, FAILED, RUNNING = "PENDING", "DONE", "FAILED", "RUNNING"

# The KPI report's figures a threshold may name.
METRICS = (
    "runway_months", "cash_on_hand_krw", "monthly_burn_krw", "headcount", "revenue_krw", "funding_raised_krw",
    "customers", "patents", "full_time_employees", "hires", "exports_usd", "ip_filed", "ip_granted",
)  # fmt: skip
MAX_ACTIONS = 10
MAX_WINDOW = timedelta(days=366)


@dataclass(frozen=True)
class Trigger:
    kind: str
    metric: str = ""
    comparison: str = ""
    threshold: float = 0.0
    days: int = 0
    max_rating: int = 0
    not_a_fit: bool = False


@dataclass(frozen=True)
class Action:
    kind: str
    session_type: str = ""
    expertise: str = ""
    mentors: tuple[str, ...] = ()
    within_days: int = 0
    top: int = 0
    audience: str = ""
    message: str = ""

    @property
    def told(self) -> str:
        """Whom a notice goes to: NOTIFY's audience, the partner for a chase, the company for a reminder."""
        return {CHASE_PARTNER: PARTNER, SECOND_REMINDER: COMPANY}.get(self.kind, self.audience)


@dataclass(frozen=True)
class Playbook(Versioned):
    collection: ClassVar[str] = "playbooks"
    id: int
    display_name: str
    trigger: Trigger
    actions: tuple[Action, ...]
    description: str = ""
    enabled: bool = False
    revision: int = 1
    version: int = 1
    created_at: datetime | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Fact:
    """What an event said, as a trigger reads it: about `subject` (of `company`), at `occurred_at`."""

    kind: str
    subject: str
    company: str
    occurred_at: datetime
    values: Mapping[str, Any] = field(default_factory=dict)
    event_id: str = ""
    id: int = 0


@dataclass(frozen=True)
class FiringAction:
    firing_id: int
    position: int
    kind: str
    request_id: str
    state: str = PENDING
    outcome: str = ""
    results: tuple[str, ...] = ()
    plan: Mapping[str, Any] = field(default_factory=dict)  # what was chosen before the call (a slot, firms)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    updated_at: datetime | None = None
    id: int = 0


@dataclass(frozen=True)
class Firing(Named):
    collection: ClassVar[str] = "firings"
    id: int
    playbook_id: int
    playbook_revision: int
    playbook_display_name: str
    subject: str
    company: str
    episode: int
    facts: tuple[Fact, ...]
    fired_at: datetime
    rule: Mapping[str, Any] = field(default_factory=dict)  # the playbook's definition as it fired
    actions: tuple[FiringAction, ...] = ()

    @property
    def playbook(self) -> str:
        return f"playbooks/{self.playbook_id}"

    @property
    def state(self) -> str:
        states = {a.state for a in self.actions}
        if PENDING in states:
            return RUNNING
        return FAILED if FAILED in states else DONE


def request_id(firing_id: int, position: int, part: str = "") -> str:
    """The idempotency key of one action of one firing (and one part of it: a firm, a fresh plan): the same
    on every retry and every replica, so the services carry out each effect once."""
    digest = hashlib.sha256(f"playbooks/firings/{firing_id}/actions/{position}/{part}".encode()).hexdigest()
    return f"pb-{firing_id}-{position}-{digest[:16]}"


# The rule's definition: checked once, here, for create, update and a dry run's given rule.


def check_playbook(playbook: Playbook, prefix: str = "playbook") -> None:
    """INVALID_ARGUMENT naming each field a rule cannot work with."""
    problems: list[tuple[str, str]] = []
    if not 1 <= len(playbook.display_name.strip()) <= 100:
        problems.append((f"{prefix}.display_name", "is required (up to 100 characters)"))
    t, where = playbook.trigger, f"{prefix}.trigger"
    if t.kind not in TRIGGERS:
        problems.append((f"{where}.kind", f"must be one of {', '.join(TRIGGERS)}"))
    if t.kind == KPI_THRESHOLD:
        if t.metric not in METRICS:
            problems.append((f"{where}.metric", f"must be one of {', '.join(METRICS)}"))
        if t.comparison not in (BELOW, ABOVE):
            problems.append((f"{where}.comparison", "must be BELOW or ABOVE"))
    if t.kind in (NO_SESSION, INTRODUCTION_UNANSWERED, KPI_REQUEST_OVERDUE) and not 1 <= t.days <= 365:
        problems.append((f"{where}.days", "must be 1 to 365"))
    if t.kind == SESSION_RATED_LOW and not (1 <= t.max_rating <= 4 or (t.max_rating == 0 and t.not_a_fit)):
        problems.append((f"{where}.max_rating", "must be 1 to 4 (or 0 with not_a_fit)"))
    if not 1 <= len(playbook.actions) <= MAX_ACTIONS:
        problems.append((f"{prefix}.actions", f"must hold 1 to {MAX_ACTIONS} actions"))
    for i, action in enumerate(playbook.actions):
        problems += _action_problems(action, f"{prefix}.actions[{i}]", t.kind)
    if problems:
        raise errors.InvalidArgument(problems)


def _action_problems(action: Action, where: str, trigger: str) -> list[tuple[str, str]]:
    problems: list[tuple[str, str]] = []
    if action.kind not in ACTIONS:
        return [(f"{where}.kind", f"must be one of {', '.join(ACTIONS)}")]
    if action.kind == BOOK_CONSULTATION:
        if not action.session_type.startswith("sessionTypes/"):
            problems.append((f"{where}.session_type", "must name a session type (sessionTypes/{id})"))
        if bool(action.expertise) == bool(action.mentors):
            problems.append((f"{where}.expertise", "exactly one of expertise and mentors must be given"))
        if not 1 <= action.within_days <= 62:
            problems.append((f"{where}.within_days", "must be 1 to 62"))
    if action.kind == PROPOSE_INTRODUCTIONS and not 1 <= action.top <= 10:
        problems.append((f"{where}.top", "must be 1 to 10"))
    if action.kind == NOTIFY and action.audience not in AUDIENCES:
        problems.append((f"{where}.audience", f"must be one of {', '.join(AUDIENCES)}"))
    if action.told == PARTNER and trigger != INTRODUCTION_UNANSWERED:
        problems.append((f"{where}.kind", "only an introduction's rule knows a partner to tell"))
    if len(action.message) > 500:
        problems.append((f"{where}.message", "must be at most 500 characters"))
    return problems


# Which facts a trigger reads, and whose they are


def kinds_read(trigger: Trigger) -> tuple[str, ...]:
    return {
        KPI_THRESHOLD: (KPI_REPORT,),
        NO_SESSION: (COMPANY_FACT, SESSION),
        INTRODUCTION_UNANSWERED: (INTRODUCTION,),
        SESSION_RATED_LOW: (FEEDBACK,),
        KPI_REQUEST_OVERDUE: (KPI_REQUEST,),
    }[trigger.kind]


def by_company(trigger: Trigger) -> bool:
    """Whether the rule's subject is the company (KPI and session rules) or the fact's own subject."""
    return trigger.kind in (KPI_THRESHOLD, NO_SESSION)


def key_of(trigger: Trigger, fact: Fact) -> str:
    return fact.company if by_company(trigger) else fact.subject


def timed(trigger: Trigger) -> bool:
    """Whether the condition can begin to hold with no new event, as time passes (the clock evaluates it)."""
    return trigger.kind in (NO_SESSION, INTRODUCTION_UNANSWERED, KPI_REQUEST_OVERDUE)


def _at(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _latest(facts: Iterable[Fact], kind: str) -> Fact | None:
    found = [f for f in facts if f.kind == kind]
    return found[-1] if found else None


def overdue_from(due: date, days: int) -> datetime:
    """A request due on a day is overdue from the next midnight in Seoul; `days` overdue, that many days later."""
    return datetime.combine(due + timedelta(days=1 + days), time(), SEOUL)


def holds(trigger: Trigger, facts: Sequence[Fact], at: datetime) -> tuple[bool, list[Fact]]:
    """Whether the condition holds at `at` for one subject, given its facts so far (in time order; later ones
    are ignored), and the facts that made it hold."""
    known = [f for f in facts if f.occurred_at <= at]
    kind = trigger.kind
    if kind == KPI_THRESHOLD:
        reports = [f for f in known if f.values.get(trigger.metric) is not None]
        if not reports:
            return False, []
        value = float(reports[-1].values[trigger.metric])
        below = value < trigger.threshold
        return (below if trigger.comparison == BELOW else value > trigger.threshold), [reports[-1]]
    if kind == NO_SESSION:
        return _no_session(trigger, known, at)
    if kind == INTRODUCTION_UNANSWERED:
        last = _latest(known, INTRODUCTION)
        waiting = last is not None and last.values.get("state") == "COMPANY_CONSENTED"
        return (waiting and at - last.occurred_at >= timedelta(days=trigger.days)), [last] if last else []  # type: ignore[union-attr]
    if kind == SESSION_RATED_LOW:
        last = _latest(known, FEEDBACK)
        if last is None:
            return False, []
        rating, fit = int(last.values.get("rating", 0)), last.values.get("fit", "")
        low = (0 < rating <= trigger.max_rating) or (trigger.not_a_fit and fit == "NOT_A_FIT")
        return low, [last]
    if kind == KPI_REQUEST_OVERDUE:
        last = _latest(known, KPI_REQUEST)
        if last is None or last.values.get("state") != "OPEN" or not last.values.get("due_date"):
            return False, []
        due = date.fromisoformat(last.values["due_date"])
        return at >= overdue_from(due, trigger.days), [last]
    raise ValueError(f"unknown trigger {kind}")


def _no_session(trigger: Trigger, known: Sequence[Fact], at: datetime) -> tuple[bool, list[Fact]]:
    """A resident company with no session held or booked for `days` days (counted from when it became resident
    when it has had none)."""
    company = _latest(known, COMPANY_FACT)
    if company is None or company.values.get("status") != "RESIDENT":
        return False, []
    since, matched = company.occurred_at, [company]
    for fact in known:
        if fact.kind == COMPANY_FACT and fact.values.get("status") == "RESIDENT" and fact.values.get("became"):
            since = fact.occurred_at  # the latest move into residency
    sessions: dict[str, Fact] = {}
    for fact in known:
        if fact.kind == SESSION:
            sessions[fact.subject] = fact
    for fact in sessions.values():
        if fact.values.get("state") in ("CANCELLED", "NO_SHOW"):
            continue
        start = _at(fact.values.get("start")) or fact.occurred_at
        moment = min(start, at)  # a session booked for later counts from now
        if moment >= since:
            since, matched = moment, [company, fact]
    return at - since >= timedelta(days=trigger.days), matched


def moments(trigger: Trigger, facts: Iterable[Fact]) -> set[datetime]:
    """Every moment the condition may change for a subject: each fact's time, and for the clock's rules the
    moments a wait of `days` ends."""
    found: set[datetime] = set()
    wait = timedelta(days=trigger.days)
    for fact in facts:
        found.add(fact.occurred_at)
        if trigger.kind in (NO_SESSION, INTRODUCTION_UNANSWERED):
            found.add(fact.occurred_at + wait)
            start = _at(fact.values.get("start"))
            if start:
                found.add(start + wait)
        if trigger.kind == KPI_REQUEST_OVERDUE and fact.values.get("due_date"):
            found.add(overdue_from(date.fromisoformat(fact.values["due_date"]), trigger.days))
    return found


@dataclass(frozen=True)
class WouldFire:
    subject: str
    company: str
    at: datetime
    episode: int
    facts: tuple[Fact, ...]


def replay(trigger: Trigger, facts: Sequence[Fact], start: datetime, end: datetime) -> list[WouldFire]:
    """The firings a rule switched on at `start` would have made until `end`: for each subject, at each moment
    its condition may change, a firing when it begins to hold (episode 1, 2, …, after it cleared)."""
    subjects: dict[str, list[Fact]] = {}
    for fact in sorted(facts, key=lambda f: (f.occurred_at, f.id)):
        if fact.kind in kinds_read(trigger) and key_of(trigger, fact):
            subjects.setdefault(key_of(trigger, fact), []).append(fact)
    fired: list[WouldFire] = []
    for subject, own in subjects.items():
        open_, episode = False, 0
        for moment in sorted({start} | {m for m in moments(trigger, own) if start <= m <= end}):
            now_holds, matched = holds(trigger, own, moment)
            if now_holds and not open_:
                episode += 1
                company = next((f.company for f in matched if f.company), own[-1].company)
                fired.append(WouldFire(subject, company, moment, episode, tuple(matched)))
            open_ = now_holds
    return sorted(fired, key=lambda w: (w.at, w.subject))


def check_window(start: datetime | None, end: datetime | None) -> tuple[datetime, datetime]:
    errors.refuse_if(
        (start is None, "start_time", "is required"),
        (end is None, "end_time", "is required"),
    )
    assert start is not None and end is not None
    errors.refuse_if(
        (end <= start, "end_time", "must be after start_time"),
        (end - start > MAX_WINDOW, "end_time", "must be at most 366 days after start_time"),
    )
    return start, end


def retry_delay(attempts: int, base: float, cap: float) -> timedelta:
    return timedelta(seconds=min(cap, base * 2 ** max(attempts - 1, 0)))
