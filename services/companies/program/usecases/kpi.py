"""KPI use cases: a company's reports (a correction is a new version) and the trends across cohorts."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from functools import partial
from typing import Any

from sqlalchemy.exc import IntegrityError

from hubcore import errors
from hubcore.db import Database, UnitOfWork
from services.companies.program import convert, domain, store
from services.companies.program.usecases.common import SUBJECT, active_company
from services.companies.program.usecases.kpi_requests import answer_request
from services.companies.program.usecases.selection import find_round
from services.companies.registry.domain import SELECTED


async def report_kpi(uow: UnitOfWork, company_name: str, report: domain.KpiReport) -> domain.KpiReport:
    """Files the next version of the company's report for the period, with the funding raised to its end."""
    company = await active_company(uow.conn, company_name, "report.company")
    try:
        filed = await store.insert_kpi_report(uow.conn, replace(report, company_id=company.id, actor=uow.actor))
    except IntegrityError as exc:
        if "uq_kpi_reports_version" not in str(exc.orig) and "kpi_reports" not in str(exc.orig):
            raise
        raise errors.Aborted(
            f"another report for {company_name} {report.period} was filed at the same moment; retry"
        ) from None
    rounds = (await store.closed_rounds(uow.conn, company.id)).get(company.id, [])
    filed = replace(filed, funding_raised=domain.raised_by(domain.period_end(filed.period), rounds))
    await uow.emit(
        f"{SUBJECT}.kpi.reported", f"{company.name}/kpi/{filed.period}", filed.version, convert.kpi_event(filed)
    )
    await answer_request(uow, filed)
    return filed


async def list_kpi_reports(db: Database, company_name: str, *, all_versions: bool) -> list[domain.KpiReport]:
    """The company's reports, newest period first, each with the funding raised to its period's end."""
    async with db.read() as conn:
        company = await active_company(conn, company_name, "company")
        reports = await store.list_kpi_reports(conn, company.id, all_versions=all_versions)
        rounds = (await store.closed_rounds(conn, company.id)).get(company.id, [])
    return [replace(r, funding_raised=domain.raised_by(domain.period_end(r.period), rounds)) for r in reports]


async def kpi_trends(
    db: Database, terms: dict[str, list[Any]], *, cohort_by: str, first: str | None, last: str | None
) -> list[domain.TrendSeries]:
    """The hub's firms' KPI trends by cohort, filtered by terms (round ids, move-in years)."""
    async with db.read() as conn:
        firms = await store.hub_firms(conn)
        reports = await store.latest_kpi_reports(conn)
        funding = await store.closed_rounds(conn)
        by_round = await store.round_cohorts(conn)
        by_year = await store.move_in_cohorts(conn)
    groups = domain.cohorts(
        [f.id for f in firms], cohort_by=cohort_by, by_round=by_round, by_year=by_year,
        rounds=terms.get("round"), years=terms.get("move_in_year"),
    )  # fmt: skip
    return domain.trends(groups, reports, funding, first=first, last=last)


async def cohort_comparison(
    db: Database, round_name: str, year: str, *, today: date
) -> tuple[domain.Round, domain.GroupFigures, domain.GroupFigures]:
    """The round's admitted firms against its control group (the firms it rejected that consented to report and
    that no round admitted) for the year, survival as of today: admitted firms are tracked from their
    graduation, the control group from the day the round decided (its close date where that was not kept)."""
    async with db.read() as conn:
        r = await find_round(conn, round_name)
        decisions = await store.round_decisions(conn, r.id)
        firms = {f.id: f for f in await store.hub_firms(conn)}
        _, admitted_anywhere = await store.decided_companies(conn)
        reports = await store.latest_kpi_reports(conn)
        funding = await store.closed_rounds(conn)
        graduated = await store.graduations(conn)
    cohort = sorted({c for c, state, _ in decisions if state == SELECTED and c in firms})
    control = {
        c: decided or r.close_date
        for c, state, decided in decisions
        if state == domain.REJECTED and c in firms and firms[c].reporting_consent and c not in admitted_anywhere
    }
    tracked = {c: (graduated[c], firms[c].closed_on) for c in cohort if c in graduated}
    tracked |= {c: (since, firms[c].closed_on) for c, since in control.items()}
    group = partial(domain.group_figures, year=year, reports=reports, funding=funding, tracked=tracked, on=today)
    return r, group(cohort), group(sorted(control))
