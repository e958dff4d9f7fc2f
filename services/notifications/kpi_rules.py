"""The KPI rules: the monthly reminder to resident companies without last month's report (on the clock), and
a KPI request's reminder and overdue nudge. Pure, like every rule (rules.py says how rules work); apart from
rules.py only to keep each module short."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hub.events.v1 import companies_pb2 as companies_ev

from services.notifications.config import Config
from services.notifications.domain import Action, Cancel, Plan, company_contacts, is_business_day
from services.notifications.rules import KPI_REMINDER, KPI_REQUEST_OVERDUE, KPI_REQUEST_REMINDER, morning_of


def covering_periods(month: str) -> tuple[str, str, str]:
    """A month ("2026-11") is reported by its own report, its quarter's ("2026-Q4") or its year's ("2026")."""
    year, number = month.split("-")
    return month, f"{year}-Q{(int(number) - 1) // 3 + 1}", year


def months_covered(period: str) -> list[str]:
    """The months a report covers: 2026-11 -> [2026-11]; 2026-Q4 -> [2026-10, 2026-11, 2026-12]; a year (the
    graduates' and the control group's yearly report) its twelve."""
    if "-" not in period:
        return [f"{period}-{m:02d}" for m in range(1, 13)]
    year, part = period.split("-")
    if part.startswith("Q"):
        first = (int(part[1]) - 1) * 3 + 1
        return [f"{year}-{m:02d}" for m in range(first, first + 3)]
    return [period]


def nth_business_day(year: int, month: int, n: int) -> date:
    day, counted = date(year, month, 1), 0
    while True:
        if is_business_day(day):
            counted += 1
            if counted == n:
                return day
        day += timedelta(days=1)


def kpi_reminders(
    today: date, residents: list[CompanyView], reported: set[tuple[str, str]], *, cfg: Config,
    requested: frozenset[tuple[str, str]] | set[tuple[str, str]] = frozenset(),
) -> list[Action]:  # fmt: skip
    """On the clock: every resident company without a report for last month (its own or its quarter's)
    is reminded on the Nth business day of this month at 09:00, Seoul time (a worker that comes up more than
    three days later lets it expire rather than nag late). Keyed by company and month, so running this every
    few minutes plans each reminder once; a report filed meanwhile cancels it. A company a KPI request asks
    for that month (or its quarter) is left to the request's reminders (requested: company, period)."""
    first = today.replace(day=1)
    last_month = first - timedelta(days=1)
    period = f"{last_month.year}-{last_month.month:02d}"
    due_day = nth_business_day(first.year, first.month, cfg.kpi_due_business_day)
    plans: list[Action] = []
    for company in residents:
        if any((company.name, p) in reported | requested for p in covering_periods(period)):
            continue
        context = {"company": company.name, "company_ko": company.korean_name, "company_en": company.english_name,
                   "period": period, "due_day": due_day.isoformat()}  # fmt: skip
        plans.append(Plan(KPI_REMINDER, company.name, period, morning_of(due_day), (company_contacts(company.name),),
                          company=company.name, expires_at=morning_of(due_day) + timedelta(days=3),
                          context=context))  # fmt: skip
    return plans


@dataclass(frozen=True)
class CompanyView:
    name: str
    korean_name: str
    english_name: str = ""


FIGURE_WORDS = {"HEADCOUNT": ("인원", "headcount"), "REVENUE": ("매출", "revenue"),
                "CUSTOMERS": ("고객", "customers"), "PATENTS": ("특허", "patents")}  # fmt: skip


def kpi_request_changed(
    event: companies_ev.KpiRequestChanged, names: dict[str, str], *, now: datetime, cfg: Config
) -> list[Action]:
    """An open request: a reminder to the company at 09:00 N days before its due date (at once if that has
    passed), and a nudge at 09:00 the day after it unless answered by then. Answered: both cancelled. Keyed by the
    request and its period, so a redelivered event sends nothing twice."""
    rules = (KPI_REQUEST_REMINDER, KPI_REQUEST_OVERDUE)
    if event.state != "OPEN":
        return [Cancel(event.request, rules, reason=f"answered ({event.report})")]
    due = date(event.due_date.year, event.due_date.month, event.due_date.day)
    words = [FIGURE_WORDS[f] for f in event.figures if f in FIGURE_WORDS]
    context = names | {"company": event.company, "period": event.period, "due_day": due.isoformat(),
                       "request": event.request, "figures_ko": ", ".join(w[0] for w in words),
                       "figures_en": ", ".join(w[1] for w in words)}  # fmt: skip
    audience, late = (company_contacts(event.company),), morning_of(due + timedelta(days=1))
    remind = max(morning_of(due - timedelta(days=cfg.kpi_request_reminder_days)), now)
    plans: list[Action] = [
        Plan(KPI_REQUEST_OVERDUE, event.request, event.period, late, audience, company=event.company,
             expires_at=late + timedelta(days=3), context=context),
    ]  # fmt: skip
    if remind < late:
        plans.append(Plan(KPI_REQUEST_REMINDER, event.request, event.period, remind, audience, company=event.company,
                          expires_at=late, context=context))  # fmt: skip
    return plans
