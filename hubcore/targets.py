"""The hub's targets as its funders set them, shared by hubctl's dashboard and the console's home page (hubctl
lets a config file's [targets] table override them), the period they are to be reached in, and the pace: how
far into the period we are, whether the figure keeps up, and how much a month it still needs.

The period comes from settings: HUB_TARGETS_START and HUB_TARGETS_END (its first and last days, both counted,
YYYY-MM-DD); without them it is the hub's own, three years from its opening, HUB_OPENED_ON (default 2025-03-01:
the start of the Korean academic and funding year in which this system's first cohort was admitted; set it to
the hub's real opening date)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from hubcore.settings import variable

TARGETS = {"firms": 50, "experts": 500, "programs": 24, "participants": 8000, "offices": 16, "desks": 30}
DISCOVERED = ("SELECTED", "RESIDENT", "GRADUATED")  # firms the hub has discovered (the grown are among them)
OPENED_ON = date(2025, 3, 1)
PERIOD_YEARS = 3
MONTH_DAYS = 365.25 / 12  # an average month, for "a month needed"

# What the pace is like: not begun, reached, ended short, on pace or behind it.
BEFORE, REACHED, ENDED, ON_PACE, BEHIND = "BEFORE", "REACHED", "ENDED", "ON_PACE", "BEHIND"


@dataclass(frozen=True)
class TargetPeriod:
    """The days the targets are to be reached in: first and last, both counted."""

    start: date
    end: date

    @classmethod
    def from_env(cls) -> TargetPeriod:
        opened = _day("HUB_OPENED_ON") or OPENED_ON
        start = _day("HUB_TARGETS_START") or opened
        end = _day("HUB_TARGETS_END") or years_after(start, PERIOD_YEARS) - timedelta(days=1)
        if end < start:
            raise ValueError(f"HUB_TARGETS_END ({end}) is before the period's start ({start})")
        return cls(start, end)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _day(name: str) -> date | None:
    text = variable(name).strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{name} must be a day like 2025-03-01, not {text!r}") from None


def years_after(day: date, years: int) -> date:
    """The same day `years` later (29 February becomes 1 March when the year has none)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return date(day.year + years, 3, 1)


@dataclass(frozen=True)
class Pace:
    """Where a figure stands in the period on a day."""

    done: int
    goal: int
    state: str  # BEFORE, REACHED, ENDED, ON_PACE or BEHIND
    elapsed_percent: int  # of the period's days, those before today
    expected: int  # where an even pace would be by the start of today
    per_month: int  # what the rest needs a month, from today to the period's end (0 once reached or ended)
    months_left: float


def pace(done: int, goal: int, period: TargetPeriod, today: date) -> Pace:
    """The pace of `done` towards `goal` on `today`. A month is an average one (30.44 days); under a month left,
    the whole rest is needed within it."""
    elapsed = min(max((today - period.start).days, 0), period.days)  # the days before today
    days_left = period.days - elapsed  # today and the days after it
    expected = math.ceil(goal * elapsed / period.days)
    remaining = max(goal - done, 0)
    months_left = days_left / MONTH_DAYS
    per_month = math.ceil(remaining / max(months_left, 1.0)) if remaining and days_left else 0
    if remaining == 0:
        state = REACHED
    elif today > period.end:
        state = ENDED
    elif today < period.start:
        state = BEFORE
    else:
        state = ON_PACE if done >= expected else BEHIND
    return Pace(done, goal, state, round(100 * elapsed / period.days), expected, per_month, round(months_left, 1))


UNITS_KO = {"firms": "개사", "experts": "명", "programs": "개", "participants": "명"}


def pace_ko(key: str, p: Pace) -> str:
    """The pace as hubctl says it: "월 14명 필요", "달성", "기간 종료 (30명 미달)"."""
    unit = UNITS_KO.get(key, "")
    if p.state == REACHED:
        return "달성"
    if p.state == ENDED:
        return f"기간 종료 ({p.goal - p.done:,}{unit} 미달)"
    needed = f"월 {p.per_month:,}{unit} 필요"
    if p.state == BEFORE:
        return f"시작 전 · {needed}"
    return f"{needed} ({'계획대로' if p.state == ON_PACE else '계획보다 늦음'})"
