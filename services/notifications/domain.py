"""Follow-ups and deliveries: their states, plans, business days, quiet hours, back-off and the Korean way
of writing amounts and dates. Pure Python: no database, no network; rules.py builds on it."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays

# Follow-up states
PENDING, DISPATCHED, CANCELLED, EXPIRED = "PENDING", "DISPATCHED", "CANCELLED", "EXPIRED"
# Delivery states (PENDING and CANCELLED shared with follow-ups)
SENDING, SENT, FAILED, SKIPPED = "SENDING", "SENT", "FAILED", "SKIPPED"
FOLLOW_UP_STATES = (PENDING, DISPATCHED, CANCELLED, EXPIRED)
DELIVERY_STATES = (PENDING, SENDING, SENT, FAILED, CANCELLED, SKIPPED)

EMAIL, WEBHOOK = "EMAIL", "WEBHOOK"
CHANNELS = (EMAIL, WEBHOOK)
PERSON, MENTOR, PARTNER, PROGRAM_MANAGER = "PERSON", "MENTOR", "PARTNER", "PROGRAM_MANAGER"
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
