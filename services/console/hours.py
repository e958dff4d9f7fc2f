"""A mentor's weekly hours as the mentor page shows and changes them: windows of wall-clock time on a weekday, in
the mentor's own zone (as the consulting service keeps them), read from a form and checked before anything is
sent, so that a window that ends before it starts, overlaps another or has a time that cannot be read is said
with its field and nothing changes. Nothing here calls a service."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from google.type import dayofweek_pb2, timeofday_pb2
from hub.consulting.v1 import consulting_pb2 as spb

DAY_MINUTES = 24 * 60
DAYS = range(1, 8)  # google.type.DayOfWeek: MONDAY = 1 … SUNDAY = 7
CLOCK = re.compile(r"(\d{1,2}):(\d{2})")


@dataclass(frozen=True, order=True)
class Window:
    """Wall-clock hours on one weekday (1 = Monday), in minutes after midnight; end may be 24:00."""

    day: int
    start: int
    end: int

    @classmethod
    def of(cls, w: spb.WeeklyWindow) -> Window:
        return cls(w.day, w.start_time.hours * 60 + w.start_time.minutes, w.end_time.hours * 60 + w.end_time.minutes)

    def pb(self) -> spb.WeeklyWindow:
        return spb.WeeklyWindow(
            day=dayofweek_pb2.DayOfWeek.Value(dayofweek_pb2.DayOfWeek.Name(self.day)),
            start_time=timeofday_pb2.TimeOfDay(hours=self.start // 60, minutes=self.start % 60),
            end_time=timeofday_pb2.TimeOfDay(hours=self.end // 60, minutes=self.end % 60),
        )

    @property
    def start_text(self) -> str:
        return clock_text(self.start)

    @property
    def end_text(self) -> str:
        return clock_text(self.end)

    def overlaps(self, other: Window) -> bool:
        return self.day == other.day and self.start < other.end and other.start < self.end


class Problem(ValueError):
    """What is wrong with a window typed in: the form field, and what is wrong with it (a key the page words)."""

    def __init__(self, field: str, kind: str, other: Window | None = None) -> None:
        super().__init__(f"{field}: {kind}")
        self.field, self.kind, self.other = field, kind, other


def clock_text(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def minute_of(text: str, field: str, *, end: bool = False) -> int:
    """HH:MM (24:00 only as an end) as minutes after midnight; else a Problem naming the field."""
    found = CLOCK.fullmatch(text.strip())
    if found is None:
        raise Problem(field, "malformed")
    hours, minutes = int(found[1]), int(found[2])
    if minutes > 59 or hours > 24 or (hours == 24 and (minutes or not end)):
        raise Problem(field, "malformed")
    return hours * 60 + minutes


def read_window(day: str, start: str, end: str) -> Window:
    """A window from the form's fields (day: 1–7); a Problem names the first field wrong."""
    if not day.strip().isdigit() or int(day) not in DAYS:
        raise Problem("day", "malformed")
    window = Window(int(day), minute_of(start, "start"), minute_of(end, "end", end=True))
    if window.end <= window.start:
        raise Problem("end", "order")
    return window


def with_window(windows: Iterable[Window], new: Window) -> list[Window]:
    """The week with a window added, in order; a Problem if it overlaps one the week has."""
    week = sorted(windows)
    for w in week:
        if w.overlaps(new):
            raise Problem("start", "overlap", w)
    return sorted([*week, new])


def without_window(windows: Iterable[Window], gone: Window) -> list[Window]:
    return [w for w in sorted(windows) if w != gone]


def by_day(windows: Iterable[Window]) -> list[tuple[int, list[Window]]]:
    """Monday to Sunday, each with its windows in order (a day without any: an empty list)."""
    week = sorted(windows)
    return [(day, [w for w in week if w.day == day]) for day in DAYS]
