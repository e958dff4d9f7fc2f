"""The yearly outcome report the hub files with its funders: the KISED-style outcome table per firm, the
incubator-evaluation figures by month, support delivered against quota, and the firms grown. Every figure keeps
the resource names of the rows it was computed from. Pure Python.

Definitions (docs/api.md repeats them for the report's readers):
- A report period is whole months, a calendar year or a program period of at most 60 months.
- Flows (revenue, hires, exports, IP filed and granted) add up the latest version of the reports whose period lies
  inside the report period; where a year's or a quarter's report and the months' reports cover the same months,
  the longer report counts and the months covered by it are not counted again.
- Stocks (full-time employees) are the figure of the latest such report that gives it.
- Jobs created (고용창출) are the hires reported over the period.
- Investment attracted (투자유치) is the closed rounds the service mirrors whose closing day is in the period.
- Occupancy (입주율) of a month is the space-days held over the space-days available, by kind (보육실 = private
  offices, open desks), as a percentage.
- Room turnover (보육실 회전율) of a month is the private-office stays that ended in it (move-out day in the
  month) for any reason but a relocation inside the hub, over the private offices, as a percentage; the period's
  is the sum of its months'.
- Survival at 1, 3 and 5 years is for graduates: 1 when the firm had not closed N years after graduating, 0 when
  it had, unset when N years have not passed by the period's end.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from hubcore.convert import SEOUL
from hubcore.errors import invalid
from services.companies.program.domain.kpi import SURVIVAL_YEARS, KpiReport, period_end, period_start, survival
from services.companies.program.domain.spaces import DESK, OFFICE, Assignment, month_start
from services.companies.program.domain.support import SUPPORT_KINDS, SupportGrant
from services.companies.registry.domain import GRADUATED, Company

MAX_REPORT_MONTHS = 60
FIRST_YEAR, LAST_YEAR = 2000, 2100
RELOCATED = "RELOCATED"
FLOWS = ("revenue_krw", "hires", "exports_usd", "ip_filed", "ip_granted")
STOCKS = ("full_time_employees",)
FIRM_FIGURES = (
    "revenue_krw", "full_time_employees", "jobs_created", "investment_krw", "ip_filed", "ip_granted",
    "exports_usd", "survival_1y", "survival_3y", "survival_5y",
)  # fmt: skip
MONTH_FIGURES = ("office_occupancy_pct", "desk_occupancy_pct", "office_turnover_pct")


@dataclass(frozen=True)
class Period:
    """Whole months from first (its first day) to last (its first day)."""

    first: date
    last: date

    @property
    def start(self) -> date:
        return self.first

    @property
    def end(self) -> date:
        """The period's last day."""
        return month_start(self.last, 1) - timedelta(days=1)

    def months(self) -> list[date]:
        count = (self.last.year - self.first.year) * 12 + self.last.month - self.first.month + 1
        return [month_start(self.first, n) for n in range(count)]

    def holds(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end


def month_label(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _month(text: str, field_name: str) -> date:
    match = re.fullmatch(r"(\d{4})-(0[1-9]|1[0-2])", text.strip())
    if not match:
        raise invalid(field_name, "must be a month like 2026-03")
    if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
        raise invalid(field_name, f"must be a month between {FIRST_YEAR} and {LAST_YEAR}")
    return date(int(match.group(1)), int(match.group(2)), 1)


def report_period(year: int, start_month: str, end_month: str) -> Period:
    """A calendar year (2000-2100), or a program period from start_month to end_month (at most 60 months)."""
    if year:
        if start_month.strip() or end_month.strip():
            raise invalid("year", "give a year or start_month and end_month, not both")
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise invalid("year", f"must be {FIRST_YEAR} to {LAST_YEAR}")
        return Period(date(year, 1, 1), date(year, 12, 1))
    if not start_month.strip():
        raise invalid("start_month", "is required without a year")
    if not end_month.strip():
        raise invalid("end_month", "is required without a year")
    first, last = _month(start_month, "start_month"), _month(end_month, "end_month")
    if last < first:
        raise invalid("end_month", f"is before start_month {month_label(first)}")
    period = Period(first, last)
    if len(period.months()) > MAX_REPORT_MONTHS:
        raise invalid("end_month", f"a report covers at most {MAX_REPORT_MONTHS} months")
    return period


def report_span(period: str) -> tuple[date, date]:
    """The first and last day of a report's period: a year "2026", a quarter "2026-Q1" or a month "2026-03"."""
    return period_start(period), period_end(period)


def source_of(report: KpiReport) -> str:
    return f"{report.name} v{report.version}"


@dataclass(frozen=True)
class Figure:
    figure: str
    subject: str
    value: float | None
    sources: tuple[str, ...] = ()


def _figure(name: str, subject: str, value: float | None, sources: Iterable[str]) -> Figure:
    return Figure(name, subject, value, tuple(sorted(set(sources), key=_source_order)))


def _source_order(source: str) -> tuple[str, int, str]:
    """kpiReports/9 before kpiReports/12: by collection, then id."""
    collection, _, rest = source.partition("/")
    number, _, tail = rest.partition(" ")
    return collection, int(number) if number.isdigit() else 0, tail


def counted_reports(reports: Sequence[KpiReport], period: Period) -> list[KpiReport]:
    """The reports a flow adds up: those inside the period, the longer first; a report whose months another
    counted report already covers is left out (the year's report counts, not its months again)."""
    inside = [(report_span(r.period), r) for r in reports]
    inside = [(span, r) for span, r in inside if period.start <= span[0] and span[1] <= period.end]
    inside.sort(key=lambda item: (item[0][0] - item[0][1], item[0][0]))  # longest first
    covered: set[date] = set()
    chosen = []
    for (first, last), report in inside:
        months = {d for d in _months_between(first, last)}
        if months & covered:
            continue
        covered |= months
        chosen.append(report)
    return sorted(chosen, key=lambda r: report_span(r.period))


def _months_between(first: date, last: date) -> list[date]:
    count = (last.year - first.year) * 12 + last.month - first.month + 1
    return [month_start(first, n) for n in range(count)]


ATTRIBUTES = {"exports_usd": ("exports_usd", "exports")}  # a figure's attribute on KpiReport, by its names


def _value(report: KpiReport, figure: str) -> int | None:
    for attribute in ATTRIBUTES.get(figure, (figure,)):
        value = getattr(report, attribute, None)
        if value is not None:
            return int(value)
    return None


def flow(reports: Sequence[KpiReport], figure: str) -> tuple[int | None, list[str]]:
    """The sum of a figure over the counted reports that give it (None when none does), and those reports."""
    given = [(r, v) for r in reports if (v := _value(r, figure)) is not None]
    if not given:
        return None, []
    return sum(v for _, v in given), [source_of(r) for r, _ in given]


def stock(reports: Sequence[KpiReport], figure: str, period: Period) -> tuple[int | None, list[str]]:
    """The figure of the latest report inside the period that gives it."""
    inside = [r for r in reports if period.start <= report_span(r.period)[0] and report_span(r.period)[1] <= period.end]
    given = [r for r in inside if _value(r, figure) is not None]
    if not given:
        return None, []
    latest = max(given, key=lambda r: (report_span(r.period)[1], report_span(r.period)[0]))
    return _value(latest, figure), [source_of(latest)]


@dataclass(frozen=True)
class ClosedRound:
    """A closed round the service mirrors (company_rounds): the investors service's round name."""

    round: str
    company_id: int
    amount_krw: int
    closed_on: date | None


def graduation_day(company_id: int, stays: Sequence[Assignment]) -> tuple[date | None, list[str]]:
    """The day a firm graduated: its last move-out for GRADUATED."""
    ended = [a for a in stays if a.company_id == company_id and a.move_out_reason == GRADUATED and a.move_out]
    if not ended:
        return None, []
    last = max(ended, key=lambda a: a.move_out or date.min)
    return last.move_out, [last.name]


def survived(graduated: date, closed: date | None, years: int, until: date) -> int | None:
    """1 when a firm that graduated on `graduated` was still in business at its `years`-year anniversary, 0
    when it had closed before; None when the anniversary is after `until` (not yet measurable). The KPI
    domain's survival() decides."""
    [counted] = survival([(graduated, closed)], until, (years,))
    return counted.survived if counted.eligible else None


def seoul_day(moment: datetime | None) -> date | None:
    return None if moment is None else moment.astimezone(SEOUL).date()


@dataclass(frozen=True)
class FirmRow:
    company: Company
    graduation_date: date | None
    close_date: date | None


@dataclass(frozen=True)
class OutcomeReport:
    period: Period
    firms: list[FirmRow]
    figures: list[Figure] = field(default_factory=list)


def _held(stay: Assignment, day: date) -> bool:
    return stay.move_in <= day and (stay.move_out is None or day < stay.move_out)


def occupancy_pct(stays: Sequence[Assignment], kind: str, total: int, month: date) -> tuple[float | None, list[str]]:
    """Space-days held in the month over the space-days available, by kind, as a percentage (one decimal)."""
    if not total:
        return None, []
    days = [month + timedelta(days=n) for n in range((month_start(month, 1) - month).days)]
    held, sources = 0, []
    for stay in stays:
        if stay.kind != kind:
            continue
        count = sum(1 for d in days if _held(stay, d))
        if count:
            held += count
            sources.append(stay.name)
    return round(100 * held / (total * len(days)), 1), sources


def turnover_pct(stays: Sequence[Assignment], offices: int, month: date) -> tuple[float | None, list[str]]:
    """Private-office stays that ended in the month, relocations inside the hub aside, over the offices (%)."""
    if not offices:
        return None, []
    last = month_start(month, 1)
    ended = [
        s for s in stays
        if s.kind == OFFICE and s.move_out is not None and month <= s.move_out < last and s.move_out_reason != RELOCATED
    ]  # fmt: skip
    return round(100 * len(ended) / offices, 1), [s.name for s in ended]


def outcome_report(
    period: Period,
    *,
    firms: Sequence[Company],
    reports: dict[int, list[KpiReport]],
    stays: Sequence[Assignment],
    rounds: Sequence[ClosedRound],
    grants: Sequence[SupportGrant],
    quotas: dict[tuple[int, str], int],
    totals: dict[str, int],
    grown: Sequence[Company],
) -> OutcomeReport:
    """The report's figures from the service's rows (latest report versions, every assignment, the mirrored
    rounds, the support ledger and quotas, the spaces by kind, the firms grown)."""
    figures: list[Figure] = []
    rows: list[FirmRow] = []
    in_period_rounds = [r for r in rounds if period.holds(r.closed_on)]
    jobs_total, jobs_sources = 0, []
    for company in firms:
        own = reports.get(company.id, [])
        counted = counted_reports(own, period)
        stayed = any(
            s.company_id == company.id and s.move_in <= period.end and (s.move_out is None or s.move_out > period.start)
            for s in stays
        )
        graduated, graduation_sources = graduation_day(company.id, stays)
        closed = company.closed_on
        if not (stayed or counted or company.status == GRADUATED):
            continue
        rows.append(FirmRow(company, graduated, closed))
        subject = company.name
        for name in FLOWS:
            value, sources = flow(counted, name)
            if name == "hires":
                figures.append(_figure("jobs_created", subject, value, sources))
                if value is not None:
                    jobs_total += value
                    jobs_sources += sources
            else:
                figures.append(_figure(name, subject, value, sources))
        for name in STOCKS:
            figures.append(_figure(name, subject, *stock(own, name, period)))
        own_rounds = [r for r in in_period_rounds if r.company_id == company.id]
        figures.append(
            _figure("investment_krw", subject, sum(r.amount_krw for r in own_rounds), [r.round for r in own_rounds])
        )
        for years in SURVIVAL_YEARS:
            value = None if graduated is None else survived(graduated, closed, years, period.end)
            sources = [*graduation_sources, subject] if graduated is not None else []
            figures.append(_figure(f"survival_{years}y", subject, value, sources))
    offices, desks = totals.get(OFFICE, 0), totals.get(DESK, 0)
    turnover_total, turnover_sources = 0.0, []
    for month in period.months():
        label = month_label(month)
        figures.append(_figure("office_occupancy_pct", label, *occupancy_pct(stays, OFFICE, offices, month)))
        figures.append(_figure("desk_occupancy_pct", label, *occupancy_pct(stays, DESK, desks, month)))
        turnover, sources = turnover_pct(stays, offices, month)
        figures.append(_figure("office_turnover_pct", label, turnover, sources))
        turnover_total += turnover or 0
        turnover_sources += sources
    used: dict[str, tuple[int, list[str]]] = {}
    for grant in grants:
        if period.holds(seoul_day(grant.created_at)):
            amount, sources = used.get(grant.kind, (0, []))
            used[grant.kind] = (amount + grant.amount, [*sources, grant.name])
    quota_by_kind: dict[str, tuple[int, list[str]]] = {}
    for (company_id, kind), quota in sorted(quotas.items()):
        amount, sources = quota_by_kind.get(kind, (0, []))
        quota_by_kind[kind] = (amount + quota, [*sources, f"companies/{company_id}"])
    for kind in SUPPORT_KINDS:
        if kind in used or kind in quota_by_kind:
            figures.append(_figure("support_used", kind, *used.get(kind, (0, []))))
            quota, sources = quota_by_kind.get(kind, (0, []))
            figures.append(_figure("support_quota", kind, quota if kind in quota_by_kind else None, sources))
    graduates = [(row.graduation_date, row.close_date) for row in rows if row.graduation_date is not None]
    for measure in survival(graduates, period.end, SURVIVAL_YEARS):
        name = f"survival_{measure.years}y"
        measured = [f for f in figures if f.figure == name and f.value is not None]
        rate = round(100 * measure.rate, 1) if measure.eligible else None
        figures.append(_figure(f"{name}_pct", "", rate, [s for f in measured for s in f.sources]))
    figures += [
        _figure("office_turnover_pct", "", round(turnover_total, 1) if offices else None, turnover_sources),
        _figure("jobs_created", "", jobs_total, jobs_sources),
        _figure("funds_attracted_krw", "", *_rounds_total(in_period_rounds)),
        _figure("firms_grown", "", len(grown), [c.name for c in grown]),
    ]
    return OutcomeReport(period, rows, figures)


def _rounds_total(rounds: Sequence[ClosedRound]) -> tuple[int, list[str]]:
    return sum(r.amount_krw for r in rounds), [r.round for r in rounds]
