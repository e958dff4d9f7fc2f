"""KPI requests: what program managers ask of the companies by cadence (a schedule), each period's request to a
company with its due date and the figures it asks for, its answer (the company's report of the period), and the
completion rate: requests answered on time over requests made. Pure Python."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from hubcore.errors import invalid
from hubcore.resources import Named, OfCompany
from services.companies.program.domain.kpi import months_in, period_end
from services.companies.registry.domain import GRADUATED, RESIDENT, SELECTED, Company

SEOUL = ZoneInfo("Asia/Seoul")
MONTHLY, QUARTERLY, YEARLY = "MONTHLY", "QUARTERLY", "YEARLY"
CADENCES = (MONTHLY, QUARTERLY, YEARLY)
FIGURES = (
    "HEADCOUNT", "REVENUE", "CUSTOMERS", "PATENTS", "CASH_ON_HAND", "MONTHLY_BURN", "EMPLOYMENT", "EXPORTS", "IP",
    "OVERSEAS",
)  # fmt: skip
BASIC_FIGURES = FIGURES[:4]  # what a schedule that names none asks for (as before the optional figures)
RESIDENTS, GRADUATES, CONTROL_GROUP = "RESIDENTS", "GRADUATES", "CONTROL_GROUP"
AUDIENCES = (RESIDENTS, GRADUATES, CONTROL_GROUP)
OPEN, ANSWERED, OVERDUE = "OPEN", "ANSWERED", "OVERDUE"  # OVERDUE: a filter's word for open past the due date
DEFAULT_DUE_DAYS, MAX_DUE_DAYS = 10, 90
ADMIN = "admin"  # the role of the program managers, who act for a company only with a reason


@dataclass(frozen=True)
class KpiSchedule(Named):
    collection = "kpiSchedules"

    id: int
    cadence: str
    companies: tuple[int, ...]  # company ids; empty: every resident company when a period opens
    figures: tuple[str, ...]
    due_days: int
    actor: str = ""
    created_at: datetime | None = None
    audience: str = "RESIDENTS"  # whom it asks when companies is empty: RESIDENTS, GRADUATES or CONTROL_GROUP

    def period(self, today: date) -> str:
        """The period that today falls in, by the schedule's cadence: 2026-11, 2026-Q4 or 2026."""
        if self.cadence == YEARLY:
            return str(today.year)
        if self.cadence == QUARTERLY:
            return f"{today.year}-Q{(today.month - 1) // 3 + 1}"
        return f"{today.year}-{today.month:02d}"

    def due_on(self, period: str) -> date:
        return period_end(period) + timedelta(days=self.due_days)


def new_schedule(
    cadence: str, companies: Iterable[int], figures: Iterable[str], due_days: int, audience: str = ""
) -> KpiSchedule:
    """A checked schedule: a cadence, figures without repeats (none: the basic four), a due date within reach,
    an audience (none: the residents)."""
    if cadence not in CADENCES:
        raise invalid("schedule.cadence", "must be MONTHLY, QUARTERLY or YEARLY")
    if audience and audience not in AUDIENCES:
        raise invalid("schedule.audience", f"must be one of {', '.join(AUDIENCES)}")
    if not 0 <= due_days <= MAX_DUE_DAYS:
        raise invalid("schedule.due_days", f"must be between 1 and {MAX_DUE_DAYS} (0: {DEFAULT_DUE_DAYS})")
    asked = tuple(dict.fromkeys(figures)) or BASIC_FIGURES
    for i, figure in enumerate(figures):
        if figure not in FIGURES:
            raise invalid(f"schedule.figures[{i}]", f"must be one of {', '.join(FIGURES)}")
    return KpiSchedule(
        0, cadence, tuple(dict.fromkeys(companies)), tuple(f for f in FIGURES if f in asked),
        due_days or DEFAULT_DUE_DAYS, audience=audience or RESIDENTS,
    )  # fmt: skip


def reporting(company: Company, start: date) -> bool:
    """Still asked for a period that starts on `start`: live, and not closed before the period began."""
    return company.deleted_at is None and (company.closed_on is None or company.closed_on >= start)


def audience_of(
    audience: str, firms: Iterable[Company], *, rejected: set[int], admitted: set[int], start: date
) -> set[int]:
    """The companies (ids) a schedule of that audience asks for the period starting on `start`: the residents;
    the graduates who consented to keep reporting; or the control group, companies a round did not select
    (rejected) that no round admitted and that consented. Nobody closed before the period began."""
    chosen = set()
    for c in firms:
        if not reporting(c, start):
            continue
        if audience == GRADUATES:
            wanted = c.status == GRADUATED and c.reporting_consent
        elif audience == CONTROL_GROUP:
            wanted = c.id in rejected and c.id not in admitted and c.reporting_consent
            wanted = wanted and c.status not in (SELECTED, RESIDENT, GRADUATED)
        else:
            wanted = c.status == RESIDENT
        if wanted:
            chosen.add(c.id)
    return chosen


@dataclass(frozen=True)
class KpiRequest(Named, OfCompany):
    collection = "kpiRequests"

    id: int
    schedule_id: int
    company_id: int
    period: str
    due_on: date
    figures: tuple[str, ...]
    state: str = OPEN
    report_id: int | None = None
    answered_at: datetime | None = None
    answered_by: str = ""
    reason: str = ""  # why a program manager answered for the company
    created_at: datetime | None = None

    @property
    def schedule(self) -> str:
        return f"{KpiSchedule.collection}/{self.schedule_id}"

    @property
    def report(self) -> str:
        return f"kpiReports/{self.report_id}" if self.report_id else ""

    @property
    def on_time(self) -> bool:
        """Answered by the end of its due date, Asia/Seoul."""
        return self.answered_at is not None and self.answered_at.astimezone(SEOUL).date() <= self.due_on

    def overdue(self, today: date) -> bool:
        return self.state == OPEN and today > self.due_on

    def answer(self, report_id: int, at: datetime, actor: str, reason: str) -> KpiRequest:
        """Answered by the report; an answered request keeps its first answer (a correction changes nothing)."""
        if self.state == ANSWERED:
            return self
        return KpiRequest(
            self.id, self.schedule_id, self.company_id, self.period, self.due_on, self.figures, ANSWERED,
            report_id, at, actor, reason, self.created_at,
        )  # fmt: skip


def on_behalf(role: str, reason: str) -> str:
    """The reason a caller gives for filing a company's report: a program manager acting for the company must
    give one; a founder reports for their own company and gives none."""
    reason = reason.strip()
    if role == ADMIN and not reason:
        raise invalid("reason", "is required when a program manager reports for a company: say why")
    return reason if role == ADMIN else ""


@dataclass(frozen=True)
class Completion:
    """One period's requests (or every period's, period ""): how many were made, answered, answered on time,
    and still open past their due date."""

    period: str
    requested: int = 0
    answered: int = 0
    on_time: int = 0
    overdue: int = 0

    @property
    def rate(self) -> float:
        return self.on_time / self.requested if self.requested else 0.0


def completion(requests: Iterable[KpiRequest], today: date) -> tuple[list[Completion], Completion]:
    """Per period (newest first) and overall."""
    counts: dict[str, list[int]] = {}
    for r in requests:
        row = counts.setdefault(r.period, [0, 0, 0, 0])
        for i, counted in enumerate((True, r.state == ANSWERED, r.on_time, r.overdue(today))):
            row[i] += counted
    periods = [Completion(p, *row) for p, row in sorted(counts.items(), key=lambda item: _order(item[0]), reverse=True)]
    totals = [sum(c[i] for c in counts.values()) for i in range(4)]
    return periods, Completion("", *totals)


def _order(period: str) -> tuple[date, int]:
    """Periods by their end, a quarter after the months it holds and a year after its quarters."""
    return period_end(period), months_in(period)
