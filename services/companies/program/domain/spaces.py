"""Spaces and residency: the hub's offices and desks, the companies assigned to them, and the occupancy. Pure
Python."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from hubcore.errors import FailedPrecondition, invalid
from hubcore.requests import parse_name
from hubcore.resources import Named
from services.companies.registry.domain import GRADUATED, WITHDRAWN

SPACE_KINDS = ("PRIVATE_OFFICE", "OPEN_DESK")
OFFICE, DESK = SPACE_KINDS
MOVE_OUT_REASONS = ("GRADUATED", "WITHDRAWN", "RELOCATED")
# Moving out for these reasons ends the company's residency: its status follows.
FINAL_MOVE_OUTS = (GRADUATED, WITHDRAWN)
MAX_HISTORY_MONTHS = 36


@dataclass(frozen=True)
class Space(Named):
    collection = "spaces"

    id: int
    kind: str  # one of SPACE_KINDS
    label: str
    floor: int
    seats: int


def check_space(*, floor: int, seats: int) -> None:
    for field_name, value in (("space.floor", floor), ("space.seats", seats)):
        if value <= 0:
            raise invalid(field_name, "must be positive")


@dataclass(frozen=True)
class Assignment(Named):
    """A holder's stay in a space, [move_in, move_out): move_out is the first free day, None while open-ended.
    The holder is a company (company_id) or an individual resident (person_id), exactly one of the two. kind and
    label are the space's."""

    collection = "assignments"

    id: int
    space_id: int
    company_id: int | None
    move_in: date
    move_out: date | None = None
    move_out_reason: str = ""  # set when the stay was ended
    kind: str = ""
    label: str = ""
    person_id: int | None = None

    @property
    def holder(self) -> str:
        """The holder's resource name: companies/3 or people/7."""
        return holder_name(self.company_id, self.person_id)

    def check_end(self, move_out: date, *, name: str) -> None:
        """Ending a stay (name as the caller wrote it): once, after the move-in, never beyond what was booked."""
        if self.move_out_reason:
            raise FailedPrecondition(
                f"{name} ended on {self.move_out} ({self.move_out_reason})", type_="ENDED", subject=name
            )
        if move_out <= self.move_in:
            raise invalid("move_out_date", f"must be after the move-in date {self.move_in}")
        if self.move_out is not None and move_out > self.move_out:
            raise FailedPrecondition(
                f"{name} is booked until {self.move_out}; assign the space again to extend",
                type_="EXTENDS",
                subject=name,
            )


def holder_name(company_id: int | None, person_id: int | None) -> str:
    return f"companies/{company_id}" if company_id is not None else f"people/{person_id}"


def holder_ids(name: str, field: str) -> tuple[int | None, int | None]:
    """(company id, person id) of a holder's name: companies/3 or people/7 (an individual resident)."""
    if name.startswith("people/"):
        return None, parse_name(name, "people", field)
    if not name.startswith("companies/"):
        raise invalid(field, "must name the holder: companies/<number> or people/<number>")
    return parse_name(name, "companies", field), None


def starts_later(stay: Assignment, today: date) -> bool:
    """A move-in dated after today (Asia/Seoul) makes its holder resident on that day, not at once."""
    return stay.move_in > today


def check_stay(move_in: date | None, move_out: date | None) -> date:
    """The move-in date of a new assignment, which is required; a move-out date comes after it."""
    if move_in is None:
        raise invalid("assignment.move_in_date", "is required")
    if move_out is not None and move_out <= move_in:
        raise invalid("assignment.move_out_date", "must be after move_in_date")
    return move_in


def overlaps(start: date, end: date | None, other_start: date, other_end: date | None) -> bool:
    """Half-open periods [start, end), None meaning open-ended."""
    return (other_end is None or start < other_end) and (end is None or other_start < end)


def month_start(start: date, months_later: int) -> date:
    """The first day of the month months_later after start's month."""
    index = start.year * 12 + start.month - 1 + months_later
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Occupancy:
    day: date
    offices_taken: int
    offices_total: int
    desks_taken: int
    desks_total: int
    assignments: list[Assignment] = field(default_factory=list)
    resident_companies: int = 0  # distinct holders on the day, by kind
    resident_individuals: int = 0


def occupancy(day: date, active: Sequence[Assignment], totals: dict[str, int], *, listed: bool = True) -> Occupancy:
    """The spaces taken on day by the active assignments, against the totals by kind, and the residents who
    hold them (companies and individuals alike); listed: with the assignments themselves."""
    taken = {kind: len({a.space_id for a in active if a.kind == kind}) for kind in SPACE_KINDS}
    return Occupancy(
        day, taken[OFFICE], totals.get(OFFICE, 0), taken[DESK], totals.get(DESK, 0), list(active) if listed else [],
        resident_companies=len({a.company_id for a in active if a.company_id is not None}),
        resident_individuals=len({a.person_id for a in active if a.person_id is not None}),
    )  # fmt: skip


def history_months(months: int) -> int:
    """How many months an occupancy history covers: 12 unless asked, at most MAX_HISTORY_MONTHS."""
    months = months or 12
    if not 1 <= months <= MAX_HISTORY_MONTHS:
        raise invalid("months", f"must be 1 to {MAX_HISTORY_MONTHS}")
    return months


def history(points: list[date], held: Sequence[Assignment], totals: dict[str, int]) -> list[Occupancy]:
    """The occupancy on each day of points, from the assignments held at some day between the first and the last."""
    return [
        occupancy(
            p, [a for a in held if overlaps(a.move_in, a.move_out, p, p + timedelta(days=1))], totals, listed=False
        )
        for p in points
    ]


def history_points(start: date | None, months: int, today: date) -> list[date]:
    """The first day of each month from start's (by default, of the months up to today's)."""
    first = start or month_start(today, -(months - 1))
    return [month_start(first, n) for n in range(months)]
