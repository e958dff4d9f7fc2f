"""KPI reports: each company's periodic figures (every version kept), the funding raised to a period's end, and
the trends across cohorts of companies, quarter by quarter. Pure Python."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import cache

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
    # The optional figures (None: not reported; a correction that leaves one unset carries it over).
    cash_on_hand_krw: int | None = None
    monthly_burn_krw: int | None = None
    full_time_employees: int | None = None
    hires: int | None = None
    exports_usd: int | None = None
    ip_filed: int | None = None
    ip_granted: int | None = None
    overseas_countries: tuple[str, ...] = ()  # ISO 3166-1 alpha-2; empty: not reported
    # figure -> (version, actor, when) of the version that last set it: see with_sources.
    figure_sources: Mapping[str, tuple[int, str, datetime | None]] | None = None

    @property
    def runway_months(self) -> float | None:
        return runway(self.cash_on_hand_krw, self.monthly_burn_krw)

    def sources(self) -> list[FigureSource]:
        """Each figure's source, in the order of FIGURE_FIELDS."""
        known = self.figure_sources or {}
        return [FigureSource(f, *known[f]) for f in (*CORE_FIGURES, *OPTIONAL_FIGURES) if f in known]


@dataclass(frozen=True)
class FigureSource:
    figure: str
    version: int
    actor: str
    entered_at: datetime | None


CORE_FIGURES = ("headcount", "revenue_krw", "customers", "patents")  # every version sets them
OPTIONAL_FIGURES = (
    "cash_on_hand_krw", "monthly_burn_krw", "full_time_employees", "hires", "exports_usd", "ip_filed", "ip_granted",
    "overseas_countries",
)  # fmt: skip
# A figure's name as the API's KpiReport calls it (figure_sources[].figure).
FIGURE_NAMES = {"revenue_krw": "revenue", "cash_on_hand_krw": "cash_on_hand", "monthly_burn_krw": "monthly_burn",
                "exports_usd": "exports"}  # fmt: skip


def runway(cash: int | None, burn: int | None) -> float | None:
    """Months of runway: cash on hand / monthly burn, to one decimal (half up); None when either is unknown or
    the company is not burning (burn 0)."""
    if cash is None or burn is None or burn <= 0:
        return None
    return float((Decimal(cash) / Decimal(burn)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def reported(report: KpiReport, figure: str) -> bool:
    value = getattr(report, figure)
    return value is not None and value != ()


def with_sources(report: KpiReport, previous: KpiReport | None) -> KpiReport:
    """A new version as it is kept: each optional figure it leaves unset carried over from the previous version,
    and for every figure the version, actor and time that last set it (this one, or the source the previous
    version names). The report's version, actor and created_at are the new version's."""
    this = (report.version, report.actor, report.created_at)
    before = dict(previous.figure_sources or {}) if previous is not None else {}
    sources = {f: this for f in CORE_FIGURES}
    carried: dict[str, object] = {}
    for figure in OPTIONAL_FIGURES:
        if reported(report, figure):
            sources[figure] = this
        elif previous is not None and reported(previous, figure):
            carried[figure] = getattr(previous, figure)
            if figure in before:
                sources[figure] = before[figure]
    return replace(report, **carried, figure_sources=sources)  # type: ignore[arg-type]


def check_figures(
    *, currency: str, figures: Mapping[str, int | None], currencies: Mapping[str, tuple[str, str]] | None = None
) -> None:
    """A report's revenue is in KRW and no figure is negative (figures by field). currencies: for each optional
    amount given, field -> (the currency it was sent in, the one it must be: KRW, or USD for exports)."""
    bad = [] if currency in ("", "KRW") else [("report.revenue.currency_code", "must be KRW")]
    for field, (sent, wanted) in (currencies or {}).items():
        if sent != wanted:
            bad.append((f"{field}.currency_code", f"must be {wanted}"))
    bad += [(f, "must not be negative") for f, v in figures.items() if v is not None and v < 0]
    if bad:
        raise InvalidArgument(bad)


@cache
def territories() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes, as babel's CLDR data knows the territories (not regions like 001 or EU)."""
    from babel import Locale

    known = (str(code) for code in Locale("en").territories)
    return frozenset(c for c in known if re.fullmatch("[A-Z]{2}", c) and c not in ("EU", "EZ", "UN", "ZZ", "QO"))


def check_countries(codes: Iterable[str], field: str = "report.overseas_countries") -> tuple[str, ...]:
    """Country codes, upper-cased and without repeats, each an ISO 3166-1 alpha-2 code (KR, US, VN)."""
    cleaned = [code.strip().upper() for code in codes]
    bad = [(f"{field}[{i}]", "must be an ISO 3166-1 alpha-2 country code like US or VN")
           for i, code in enumerate(cleaned) if code not in territories()]  # fmt: skip
    if bad:
        raise InvalidArgument(bad)
    return tuple(dict.fromkeys(cleaned))


def raised_by(end: date, rounds: Iterable[tuple[int, date | None]]) -> int:
    """Funding raised to the end day from closed rounds (amount, closed on; a round without a date counts)."""
    return sum(amount for amount, closed in rounds if closed is None or closed <= end)


PERIOD = r"(\d{4})(?:-(0[1-9]|1[0-2]|Q[1-4]))?"


def check_period(period: str, field: str = "report.period", *, today: date | None = None) -> str:
    """A month, quarter or year within the hub's business years; with today, one that has begun (a report on a
    period not yet begun is a typo, and would count in trends as if it had happened)."""
    match = re.fullmatch(PERIOD, period.strip().upper())
    if not match:
        raise InvalidArgument([(field, "must be a month like 2026-03, a quarter like 2026-Q1 or a year like 2026")])
    if not 2000 <= int(match.group(1)) <= 2100:
        raise InvalidArgument([(field, "must be a period between 2000 and 2100")])
    if today is not None and period_start(match.group(0)) > today:
        raise InvalidArgument([(field, "has not begun yet")])
    return match.group(0)


def is_year(period: str) -> bool:
    return "-" not in period


def months_in(period: str) -> int:
    """How many months a period spans: 1, 3 (a quarter) or 12 (a year)."""
    return 12 if is_year(period) else 3 if "Q" in period else 1


def period_start(period: str) -> date:
    """The first day of a month (2026-03), a quarter (2026-Q1) or a year (2026)."""
    if is_year(period):
        return date(int(period), 1, 1)
    year, part = period.split("-")
    month = (int(part[1]) - 1) * 3 + 1 if part.startswith("Q") else int(part)
    return date(int(year), month, 1)


def period_end(period: str) -> date:
    """The last day of a month (2026-03), a quarter (2026-Q1) or a year (2026)."""
    if is_year(period):
        return date(int(period), 12, 31)
    year, part = period.split("-")
    month = int(part[1]) * 3 if part.startswith("Q") else int(part)
    following = date(int(year) + (month == 12), month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


def quarter_of(period: str) -> str:
    """2026-05 -> 2026-Q2; a quarter stays itself, and so does a year (which no quarter holds)."""
    if is_year(period):
        return period
    year, part = period.split("-")
    return period if part.startswith("Q") else f"{year}-Q{(int(part) - 1) // 3 + 1}"


def quarterly(reports: list[tuple[str, int, int]]) -> dict[str, tuple[int, int]]:
    """One company's (period, headcount, revenue) reports as quarter -> (headcount, revenue): a quarterly report
    is the quarter's figure; otherwise headcount is the latest month's and revenue the months' sum."""
    result: dict[str, tuple[int, int]] = {}
    months: dict[str, list[tuple[str, int, int]]] = {}
    for period, headcount, revenue in reports:
        if is_year(period):  # a year's report (graduates, the control group) is no quarter's figure
            continue
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
    """The quarters a trend covers, from its start and end periods (either may be empty: open; a year starts
    at its first quarter and ends at its last)."""
    first, last = (
        quarter_of(check_period(text, field)) if text else None
        for text, field in ((start, "start_period"), (end, "end_period"))
    )
    first = f"{first}-Q1" if first and is_year(first) else first
    last = f"{last}-Q4" if last and is_year(last) else last
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


# Survival: of the firms tracked since a day (graduates from their graduation, the control group from the day its
# round decided), how many were still in business N years on.

SURVIVAL_YEARS = (1, 3, 5)


@dataclass(frozen=True)
class Survival:
    """Survival at `years`: firms tracked for at least that long (eligible), those still in business at their
    anniversary (survived: no close date, or one after it) and those that closed by then (closed)."""

    years: int
    eligible: int
    survived: int
    closed: int

    @property
    def rate(self) -> float:
        return self.survived / self.eligible if self.eligible else 0.0


def anniversary(start: date, years: int) -> date:
    """The day `years` years after start (28 February for a 29 February start in a common year)."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def survival(
    firms: Iterable[tuple[date, date | None]], on: date, years: Iterable[int] = SURVIVAL_YEARS
) -> list[Survival]:
    """Survival at each of `years` as of the day `on`, of firms given as (tracked since, closed on or None). A
    firm is eligible at N years when its N-year anniversary is on or before `on`; it survived when it had not
    closed before that anniversary (a close date after `on` is not known yet and does not count)."""
    rows = list(firms)
    result = []
    for n in years:
        eligible = survived = 0
        for start, closed in rows:
            mark = anniversary(start, n)
            if mark > on:
                continue
            eligible += 1
            survived += closed is None or closed >= mark
        result.append(Survival(n, eligible, survived, eligible - survived))
    return result


# A cohort against its control group, for one year.


@dataclass(frozen=True)
class YearFigures:
    """A firm's figures for a year: revenue (KRW), full-time employees at its end, exports (USD); None: not
    reported."""

    revenue_krw: int
    full_time_employees: int | None
    exports_usd: int | None


def year_figures(reports: Iterable[KpiReport], year: str) -> YearFigures | None:
    """The firm's figures for the year from its reports (the latest version of each period): its yearly report
    if it filed one; otherwise its months and quarters in the year, revenue and exports summed (a quarter's
    report stands for the months in it) and the employees of the latest that gives them. None: no report
    covers the year."""
    rows = [r for r in reports if r.period == year or (not is_year(r.period) and r.period.startswith(f"{year}-"))]
    if not rows:
        return None
    yearly = [r for r in rows if r.period == year]
    if yearly:
        r = yearly[0]
        return YearFigures(r.revenue_krw, r.full_time_employees, r.exports_usd)
    quarters = {r.period for r in rows if "Q" in r.period}
    counted = [r for r in rows if "Q" in r.period or quarter_of(r.period) not in quarters]
    exports = [r.exports_usd for r in counted if r.exports_usd is not None]
    employed = sorted((period_end(r.period), months_in(r.period), r.full_time_employees) for r in rows
                      if r.full_time_employees is not None)  # fmt: skip
    return YearFigures(
        sum(r.revenue_krw for r in counted), employed[-1][2] if employed else None, sum(exports) if exports else None
    )


@dataclass(frozen=True)
class GroupFigures:
    firms: int
    reporters: int
    revenue_median: float
    full_time_employees_median: float
    exports_median: float
    investment_median: float
    survival: list[Survival]


def group_figures(
    firms: Iterable[int],
    year: str,
    *,
    reports: Mapping[int, list[KpiReport]],
    funding: Mapping[int, list[tuple[int, date | None]]],
    tracked: Mapping[int, tuple[date, date | None]],
    on: date,
) -> GroupFigures:
    """One group's comparison figures for the year: its firms, those with a report covering the year, the
    medians across them of revenue, full-time employees and exports (each across the firms that gave it), the
    median across every firm of the investment attracted in the year (closed rounds dated in it), and survival
    as of `on` of the firms tracked (firm -> (tracked since, closed on))."""
    members = list(dict.fromkeys(firms))
    start, end = period_start(year), period_end(year)
    figures = [f for f in (year_figures(reports.get(m, []), year) for m in members) if f is not None]
    employed = [f.full_time_employees for f in figures if f.full_time_employees is not None]
    invested = [
        sum(amount for amount, closed in funding.get(m, []) if closed is not None and start <= closed <= end)
        for m in members
    ]
    return GroupFigures(
        firms=len(members),
        reporters=len(figures),
        revenue_median=median([f.revenue_krw for f in figures]),
        full_time_employees_median=median(employed),
        exports_median=median([f.exports_usd for f in figures if f.exports_usd is not None]),
        investment_median=median(invested),
        survival=survival([tracked[m] for m in members if m in tracked], on),
    )
