"""The calendar's arithmetic, in the hub's zone: which week a page shows (Monday to Sunday), the UTC bounds the
services are asked for, and a day and a wall-clock time typed into a form read as a moment. Nothing here calls
a service."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from google.protobuf.timestamp_pb2 import Timestamp
from google.type import date_pb2

WEEK = timedelta(days=7)
YEARS = range(1971, 9999)  # days a page may be asked for: a week's arithmetic stays within what dates can hold


@dataclass(frozen=True)
class Week:
    """Monday to Sunday in one zone."""

    monday: date
    zone: ZoneInfo

    @classmethod
    def of(cls, asked: str, today: date, zone: ZoneInfo) -> Week:
        """The week holding the day asked (YYYY-MM-DD, any day of it), else the week holding today."""
        day = day_of(asked) or today
        return cls(day - timedelta(days=day.weekday()), zone)

    @property
    def days(self) -> list[date]:
        return [self.monday + timedelta(days=n) for n in range(7)]

    @property
    def previous(self) -> date:
        return self.monday - WEEK

    @property
    def next(self) -> date:
        return self.monday + WEEK

    def bounds(self) -> tuple[datetime, datetime]:
        """Its first and last moment as UTC: from Monday 00:00 to the next Monday 00:00 in its zone."""
        return midnight(self.monday, self.zone), midnight(self.next, self.zone)


def midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def rfc3339(moment: datetime) -> str:
    """How the services' filters take a time: 2026-03-02T01:00:00Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_moment(day: str, clock: str, zone: ZoneInfo) -> datetime | None:
    """A day (YYYY-MM-DD) and a wall-clock time (HH:MM) typed into a form, read in the zone; None if either
    cannot be read."""
    on = day_of(day)
    try:
        at = time.fromisoformat(clock.strip())
    except ValueError:
        return None
    if on is None:
        return None
    return datetime.combine(on, at.replace(second=0, microsecond=0), tzinfo=zone).astimezone(UTC)


def moment_of(text: str) -> datetime | None:
    """A moment a page wrote into a form (RFC 3339, with its offset); None if it cannot be read."""
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def day_of(text: str) -> date | None:
    """A day typed into a form or an address (YYYY-MM-DD); None if it cannot be read or is out of range."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    return day if day.year in YEARS else None


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment.astimezone(UTC))
    return stamp


def date_pb(day: date) -> date_pb2.Date:
    return date_pb2.Date(year=day.year, month=day.month, day=day.day)


def local_day(stamp: Timestamp, zone: ZoneInfo) -> date:
    return stamp.ToDatetime(tzinfo=UTC).astimezone(zone).date()


def local_text(stamp: Timestamp, zone: ZoneInfo) -> tuple[str, str]:
    """A moment as a form's day and time fields hold it: (2026-03-02, 10:00)."""
    moment = stamp.ToDatetime(tzinfo=UTC).astimezone(zone)
    return moment.date().isoformat(), moment.strftime("%H:%M")
