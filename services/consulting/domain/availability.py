"""Free time: weekly hours made instants day by day in the mentor's zone (so DST moves them), plus extra
hours, minus time away and bookings; and the slots a session fits in."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hubcore.errors import InvalidArgument
from services.consulting.domain.common import DAY_MINUTES, MAX_SEARCH_DAYS, Period, Ref, zone
from services.consulting.domain.resources import AvailabilityException, Mentor, Window

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
class SlotSearch:
    """What FindAvailableSlots asks for."""

    mentors: list[Ref]  # these mentors, or (when empty) everyone tagged with tag
    tag: str
    start: datetime  # the search window, [start, end)
    end: datetime
    session_type: Ref | None
    duration: timedelta | None  # None: the session type's default
    room: Ref | None  # this room; or with need_room, any of at least min_room_capacity
    need_room: bool
    min_room_capacity: int
    company: str  # companies/{id} that must be free too, or ""
    step: timedelta
    limit: int


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
    starts_before: datetime | None = None,
) -> list[Slot]:  # fmt: skip
    """Candidate starts every `step` from the start of each available period, from not_before (and before
    starts_before, when given). A slot lies inside the mentor's available time; the session with its buffers
    meets none of the mentor's bookings (which carry their own buffers); the company, when given, is free;
    and, when rooms are given, at least one is free."""
    slots: list[Slot] = []
    for period_start, period_end in available:
        if starts_before is not None and period_start >= starts_before:
            break
        start = period_start
        if start < not_before:
            skipped = -(-(not_before - period_start) // step)  # ceiling
            start = period_start + skipped * step
        while start + duration <= period_end and len(slots) < limit:
            if starts_before is not None and start >= starts_before:
                break
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
