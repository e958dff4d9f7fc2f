"""What every part of the consulting domain shares: its limits, the hub's zone, an interval's rules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from hubcore.errors import InvalidArgument

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

Period = tuple[datetime, datetime]  # [start, end) in UTC


def zone(name: str, field_path: str) -> ZoneInfo:
    """An IANA zone, or INVALID_ARGUMENT naming the field."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidArgument([(field_path, f"{name!r} is not an IANA time zone like Asia/Seoul")]) from None


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
class Ref:
    """A resource the caller named: its number, and its name as sent (what a NOT_FOUND repeats)."""

    id: int
    name: str
