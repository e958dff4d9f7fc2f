"""Follow-ups and deliveries: their states, plans, business days, quiet hours, back-off and the Korean way
of writing amounts and dates; the follow-ups, deliveries and recipients the store returns, and what may be
done to them. Pure Python: no database, no network; rules.py builds on it."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any, ClassVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

from hubcore import errors
from hubcore.resources import Named

# Follow-up states
PENDING, DISPATCHED, CANCELLED, EXPIRED = "PENDING", "DISPATCHED", "CANCELLED", "EXPIRED"
# Delivery states (PENDING and CANCELLED shared with follow-ups)
SENDING, SENT, FAILED, SKIPPED = "SENDING", "SENT", "FAILED", "SKIPPED"
FOLLOW_UP_STATES = (PENDING, DISPATCHED, CANCELLED, EXPIRED)
DELIVERY_STATES = (PENDING, SENDING, SENT, FAILED, CANCELLED, SKIPPED)

EMAIL, WEBHOOK = "EMAIL", "WEBHOOK"
CHANNELS = (EMAIL, WEBHOOK)
PERSON, MENTOR, PARTNER, PROGRAM_MANAGER = "PERSON", "MENTOR", "PARTNER", "PROGRAM_MANAGER"
IDENTITY = "IDENTITY"  # a sign-in identity: only its codes go to it
LANGUAGES = ("ko", "en")

# Audiences a plan names; resolved to recipients when the follow-up comes due, so that a contact added
# meanwhile is included and one deleted meanwhile is not.
MANAGERS = "managers"


def company_contacts(company: str) -> str:
    return f"company:{company}"


def recipient(source: str) -> str:
    return f"recipient:{source}"


SEOUL = ZoneInfo("Asia/Seoul")


@dataclass(frozen=True)
class Plan:
    """A follow-up a rule wants: sent to the audience at due_at, unless it is past expires_at by then.

    rule + entity + occasion is its idempotency key: planning it again changes nothing once it was
    dispatched, and moves it while it is pending."""

    rule: str
    entity: str
    occasion: str
    due_at: datetime
    audience: tuple[str, ...]
    company: str = ""
    expires_at: datetime | None = None
    context: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return follow_up_key(self.rule, self.entity, self.occasion)


@dataclass(frozen=True)
class Cancel:
    """Cancel the pending follow-ups of an entity for these rules, except the occasions listed (kept)."""

    entity: str
    rules: tuple[str, ...]
    reason: str
    keep_occasions: tuple[str, ...] = ()


Action = Plan | Cancel


def follow_up_key(rule: str, entity: str, occasion: str) -> str:
    return f"{rule}:{entity}:{occasion}"


# What the store holds: follow-ups, deliveries and recipients


class Cancellable(Named):
    """A follow-up or a delivery: it may be cancelled while it is pending, and not once it has moved on."""

    noun: ClassVar[str]  # what a message calls it
    state: str

    def check_cancellable(self) -> None:
        if self.state != PENDING:
            raise errors.FailedPrecondition(
                f"{self.name} is {self.state}; only a pending {self.noun} can be cancelled",
                type_="STATE",
                subject=self.name,
            )


@dataclass(frozen=True)
class FollowUp(Cancellable):
    collection = "followUps"
    noun = "follow-up"

    id: int
    rule: str
    entity: str
    occasion: str
    company: str
    state: str
    due_at: datetime
    expires_at: datetime | None
    dispatched_at: datetime | None
    note: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class Delivery(Cancellable):
    collection = "deliveries"
    noun = "delivery"

    id: int
    follow_up_id: int
    recipient_id: int
    rule: str
    entity: str
    company: str
    channel: str
    address: str
    state: str
    attempts: int
    retries_from: int  # attempts at the last manual retry
    next_attempt_at: datetime | None
    last_error: str
    subject: str
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime

    def check_retryable(self) -> None:
        if self.state in (SENT, SENDING):
            raise errors.FailedPrecondition(
                f"{self.name} is {self.state}; only one not sent can be retried", type_="STATE", subject=self.name
            )


@dataclass(frozen=True)
class MessageTemplate:
    """A rule's message as it reads, rendered with sample values (a preview)."""

    rule: str
    description: str
    language: str
    subject: str
    body: str
    essential: bool


@dataclass(frozen=True)
class Preference:
    """A recipient's own choices; empty (or None) means the service's default (config.py)."""

    channels: tuple[str, ...] = ()
    language: str = ""
    time_zone: str = ""
    quiet_start: int | None = None  # minutes after local midnight
    quiet_end: int | None = None
    muted_rules: tuple[str, ...] = ()  # sorted
    webhook_url: str = ""
    version: int = 1

    @property
    def effective_channels(self) -> tuple[str, ...]:
        return effective_channels(self.channels)

    def changes(self, wanted: dict[str, object]) -> dict[str, object]:
        """The wanted values that differ from these (an update that changes nothing keeps the version)."""
        return {field: value for field, value in wanted.items() if getattr(self, field) != value}


@dataclass(frozen=True)
class Recipient(Named):
    collection = "recipients"

    id: int
    source: str  # people/7, programManagers/<email>
    kind: str
    korean_name: str
    english_name: str
    email: str
    company: str
    active: bool
    preference: Preference
    source_version: int = 0  # the owning service's version of the person we hold


def effective_channels(chosen: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The channels a recipient chose that we know of; none means email."""
    known = tuple(c for c in chosen if c in CHANNELS)
    return known or (EMAIL,)


def check_preference(wanted: dict[str, object], known_rules: Iterable[str]) -> None:
    """The values a preference may take (the fields being updated only)."""
    problems: list[tuple[str, str]] = []
    if "language" in wanted and wanted["language"] not in LANGUAGES:
        problems.append(("preference.language", f"must be one of {', '.join(LANGUAGES)}"))
    if "time_zone" in wanted and not valid_time_zone(str(wanted["time_zone"])):
        problems.append(("preference.time_zone", "must be an IANA time zone such as Asia/Seoul"))
    muted = wanted.get("muted_rules", ())
    if isinstance(muted, tuple) and muted:
        known = sorted(known_rules)
        unknown = sorted(set(muted) - set(known))
        if unknown:
            problems.append(("preference.muted_rules", f"unknown rules {unknown} (known: {', '.join(known)})"))
    if problems:
        raise errors.InvalidArgument(problems)


@dataclass(frozen=True)
class Stuck:
    """What needs a program manager: follow-ups overdue for dispatch and deliveries failing, with counts."""

    overdue: list[FollowUp]
    failing: list[Delivery]
    overdue_count: int
    failing_count: int


@dataclass(frozen=True)
class Stats:
    pending_follow_ups: int
    overdue_follow_ups: int
    pending_deliveries: int
    retrying_deliveries: int
    failed_deliveries: int
    sent_last_24h: int
    next_due_at: datetime | None
    held_for_quiet_hours: int
    held_until: datetime | None


# Time zones and business days


def zone(name: str, default: str = "Asia/Seoul") -> ZoneInfo:
    try:
        return ZoneInfo(name or default)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(default)


def valid_time_zone(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


@lru_cache(maxsize=16)
def _korean_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("KR", years=year)


def is_business_day(day: date) -> bool:
    """Monday to Friday, and not a Korean public holiday (substitute holidays included)."""
    return day.weekday() < 5 and day not in _korean_holidays(day.year)


def add_business_days(start: datetime, days: int, tz: ZoneInfo = SEOUL) -> datetime:
    """The same local time of day, `days` business days later (counted in tz)."""
    local = start.astimezone(tz)
    day = local.date()
    counted = 0
    while counted < days:
        day += timedelta(days=1)
        if is_business_day(day):
            counted += 1
    return datetime.combine(day, local.timetz().replace(tzinfo=None), tzinfo=tz)


def at_local(day: date, hour: int, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=tz)


def quiet_until(now: datetime, tz: ZoneInfo, start: int, end: int) -> datetime | None:
    """If now falls in the quiet hours [start, end) (minutes after local midnight; the span may cross
    midnight), when they end; otherwise None. start == end means no quiet hours."""
    if start == end:
        return None
    local = now.astimezone(tz)
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    day = local.date() if minute < end else local.date() + timedelta(days=1)
    return datetime.combine(day, time(end // 60, end % 60), tzinfo=tz)


def retry_delay(attempt: int, base: float, cap: float, rand: Callable[[], float] = random.random) -> float:
    """Seconds before the next attempt after `attempt` failed ones: exponential, capped, with jitter
    (half fixed, half random) so that many failures at once do not come back at once."""
    ceiling = min(cap, base * 2 ** max(attempt - 1, 0))
    return ceiling / 2 + rand() * ceiling / 2


# Formatting: dates, the way each language writes them (amounts: hubcore.korean.format_krw)

KOREAN_WEEKDAYS = "월화수목금토일"


def format_datetime(value: datetime, tz: ZoneInfo, language: str = "ko") -> str:
    """ko: 2026년 12월 1일 (화) 오후 3:00; en: Tue 1 Dec 2026, 3:00 PM — with the zone's abbreviation when it
    is not Seoul (KST is what every Korean reader assumes)."""
    local = value.astimezone(tz)
    suffix = "" if tz.key == "Asia/Seoul" else f" ({local.tzname()})"
    if language == "ko":
        half = "오전" if local.hour < 12 else "오후"
        hour = local.hour % 12 or 12
        return (
            f"{local.year}년 {local.month}월 {local.day}일 ({KOREAN_WEEKDAYS[local.weekday()]}) "
            f"{half} {hour}:{local.minute:02d}{suffix}"
        )
    hour = local.hour % 12 or 12
    ampm = "AM" if local.hour < 12 else "PM"
    return f"{local:%a} {local.day} {local:%b %Y}, {hour}:{local.minute:02d} {ampm}{suffix or ' KST'}"


def format_date(value: date, language: str = "ko") -> str:
    if language == "ko":
        return f"{value.year}년 {value.month}월 {value.day}일 ({KOREAN_WEEKDAYS[value.weekday()]})"
    return f"{value:%a} {value.day} {value:%b %Y}"


def pick_name(korean: str, english: str, language: str) -> str:
    """The name to address someone by: English readers get the English name when there is one."""
    if language == "en" and english:
        return english
    return korean or english
