"""KPI reports: each company's periodic figures (every version kept), the funding raised to a period's end, and
the trends across cohorts of companies, quarter by quarter. Pure Python."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from hubcore.errors import InvalidArgument, invalid
from hubcore.resources import Named, OfCompany

ROUND_COHORTS, MOVE_IN_YEAR_COHORTS = "ROUND", "MOVE_IN_YEAR"  # how trends group companies ("": all together)


@dataclass(frozen=True)
class KpiReport(Named, OfCompany):
    """One version of a company's report for a period (a month like 2026-03 or a quarter like 2026-Q1)."""

    collection = "kpiReports"

    id: int
    company_id: int
    period: str
    headcount: int
    revenue_krw: int
    customers: int
    patents: int
    note: str = ""
    version: int = 1
    actor: str = ""
    created_at: datetime | None = None
    funding_raised: int = 0  # KRW raised in closed rounds to the period's end: filled by the reads that show it
    reason: str = ""  # why a program manager filed it for the company (the actor says who)


def check_figures(*, currency: str, figures: dict[str, int]) -> None:
    """A report's revenue is in KRW and no figure is negative (figures by field)."""
    if currency not in ("", "KRW"):
        raise invalid("report.revenue.currency_code", "must be KRW")
    bad = [(f, "must not be negative") for f, v in figures.items() if v < 0]
    if bad:
        raise InvalidArgument(bad)


def raised_by(end: date, rounds: Iterable[tuple[int, date | None]]) -> int:
    """Funding raised to the end day from closed rounds (amount, closed on; a round without a date counts)."""
    return sum(amount for amount, closed in rounds if closed is None or closed <= end)


PERIOD = r"(\d{4})-(0[1-9]|1[0-2]|Q[1-4])"


def check_period(period: str, field: str = "report.period", *, today: date | None = None) -> str:
    """A month or quarter within the hub's business years; with today, one that has begun (a report on a period
    not yet begun is a typo, and would count in trends as if it had happened)."""
    match = re.fullmatch(PERIOD, period.strip().upper())
    if not match:
        raise InvalidArgument([(field, "must be a month like 2026-03 or a quarter like 2026-Q1")])
    if not 2000 <= int(match.group(1)) <= 2100:
        raise InvalidArgument([(field, "must be a period between 2000 and 2100")])
    if today is not None and period_start(match.group(0)) > today:
        raise InvalidArgument([(field, "has not begun yet")])
    return match.group(0)


def period_start(period: str) -> date:
    """The first day of a month (2026-03) or a quarter (2026-Q1)."""
    year, part = period.split("-")
    month = (int(part[1]) - 1) * 3 + 1 if part.startswith("Q") else int(part)
    return date(int(year), month, 1)


def period_end(period: str) -> date:
    """The last day of a month (2026-03) or a quarter (2026-Q1)."""
    year, part = period.split("-")
    month = int(part[1]) * 3 if part.startswith("Q") else int(part)
    following = date(int(year) + (month == 12), month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def quarter_of(period: str) -> str:
    """2026-05 -> 2026-Q2; a quarter stays itself."""
    year, part = period.split("-")
    return period if part.startswith("Q") else f"{year}-Q{(int(part) - 1) // 3 + 1}"


def quarterly(reports: list[tuple[str, int, int]]) -> dict[str, tuple[int, int]]:
    """One company's (period, headcount, revenue) reports as quarter -> (headcount, revenue): a quarterly report
    is the quarter's figure; otherwise headcount is the latest month's and revenue the months' sum."""
    result: dict[str, tuple[int, int]] = {}
    months: dict[str, list[tuple[str, int, int]]] = {}
    for period, headcount, revenue in reports:
        if "Q" in period:
            result[period] = (headcount, revenue)
        else:
            months.setdefault(quarter_of(period), []).append((period, headcount, revenue))
    for quarter, rows in months.items():
        if quarter not in result:
            rows.sort()
            result[quarter] = (rows[-1][1], sum(r[2] for r in rows))
    return result


def median(values: list[int]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class TrendPoint:
    quarter: str
    companies: int
    headcount: tuple[int, float]  # sum, median
    revenue: tuple[int, float]
    funding: tuple[int, float]


def trend_points(figures: list[tuple[str, int, int, int]]) -> list[TrendPoint]:
    """(quarter, headcount, revenue, funding), one per company and quarter, as per-quarter sums and medians
    across the companies, in quarter order."""
    by_quarter: dict[str, list[tuple[int, int, int]]] = {}
    for quarter, *values in figures:
        by_quarter.setdefault(quarter, []).append((values[0], values[1], values[2]))
    points = []
    for quarter, rows in sorted(by_quarter.items()):
        h, r, f = ([row[i] for row in rows] for i in (0, 1, 2))
        points.append(TrendPoint(quarter, len(rows), (sum(h), median(h)), (sum(r), median(r)), (sum(f), median(f))))
    return points


def trend_range(start: str, end: str) -> tuple[str | None, str | None]:
    """The quarters a trend covers, from its start and end periods (either may be empty: open)."""
    first, last = (
        quarter_of(check_period(text, field)) if text else None
        for text, field in ((start, "start_period"), (end, "end_period"))
    )
    if first and last and last < first:
        raise invalid("end_period", f"is before start_period {first}")
    return first, last


def cohorts(
    firms: Iterable[int],
    *,
    cohort_by: str,
    by_round: dict[int, int],
    by_year: dict[int, int],
    rounds: list[int] | None = None,
    years: list[int] | None = None,
) -> dict[str, list[int]]:
    """The firms (company ids) grouped by cohort: the round that first selected them (rounds/3), the year they
    first moved in (2026), or all together (""); those without a cohort are left out, as are those outside the
    rounds and years asked for."""

    def cohort_of(company: int) -> str | None:
        if cohort_by == ROUND_COHORTS:
            return f"rounds/{by_round[company]}" if company in by_round else None
        if cohort_by == MOVE_IN_YEAR_COHORTS:
            return str(by_year[company]) if company in by_year else None
        return ""

    groups: dict[str, list[int]] = {} if cohort_by else {"": []}
    for firm in firms:
        if rounds is not None and by_round.get(firm) not in rounds:
            continue
        if years is not None and by_year.get(firm) not in years:
            continue
        cohort = cohort_of(firm)
        if cohort is not None:
            groups.setdefault(cohort, []).append(firm)
    return groups


@dataclass(frozen=True)
class TrendSeries:
    cohort: str
    companies: int
    points: list[TrendPoint]


def trends(
    groups: dict[str, list[int]],
    reports: dict[int, list[KpiReport]],
    funding: dict[int, list[tuple[int, date | None]]],
    *,
    first: str | None,
    last: str | None,
) -> list[TrendSeries]:
    """Each cohort's quarterly sums and medians of headcount, revenue and funding raised, from first to last."""
    series = []
    for cohort, members in sorted(groups.items(), key=lambda g: (len(g[0]), g[0])):
        figures = []
        for company in members:
            rows = [(r.period, r.headcount, r.revenue_krw) for r in reports.get(company, [])]
            for quarter, (headcount, revenue) in quarterly(rows).items():
                if (first and quarter < first) or (last and quarter > last):
                    continue
                figures.append((quarter, headcount, revenue, raised_by(period_end(quarter), funding.get(company, []))))
        series.append(TrendSeries(cohort, len(members), trend_points(figures)))
    return series
