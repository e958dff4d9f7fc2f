"""KPI reports (every version kept), the closed rounds counted toward funding, and the hub's firms, as domain
objects."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import now
from services.companies.program.domain import KpiReport
from services.companies.registry.domain import Company
from services.companies.registry.store import to_company
from services.companies.tables import companies, company_rounds, kpi_reports


def to_kpi_report(row: Any) -> KpiReport:
    return KpiReport(
        id=row.id,
        company_id=row.company_id,
        period=row.period,
        headcount=row.headcount,
        revenue_krw=row.revenue_krw,
        customers=row.customers,
        patents=row.patents,
        note=row.note,
        version=row.version,
        actor=row.actor,
        created_at=as_utc(row.created_at),
    )


async def insert_kpi_report(conn: AsyncConnection, report: KpiReport) -> KpiReport:
    """The next version of the company's report for the period; earlier versions stay as they are. Two
    concurrent reports for one period cannot take the same version (unique constraint)."""
    c = kpi_reports.c
    latest = (
        await conn.execute(
            sa.select(sa.func.max(c.version)).where(c.company_id == report.company_id, c.period == report.period)
        )
    ).scalar_one()
    values = {
        "company_id": report.company_id, "period": report.period, "version": (latest or 0) + 1,
        "headcount": report.headcount, "revenue_krw": report.revenue_krw, "customers": report.customers,
        "patents": report.patents, "note": report.note, "actor": report.actor, "created_at": now(),
    }  # fmt: skip
    report_id = (await conn.execute(kpi_reports.insert().values(values).returning(c.id))).scalar_one()
    return to_kpi_report((await conn.execute(sa.select(kpi_reports).where(c.id == report_id))).one())


async def list_kpi_reports(conn: AsyncConnection, company_id: int, *, all_versions: bool) -> list[KpiReport]:
    """The company's reports, newest period first: the latest version of each, or every version."""
    c = kpi_reports.c
    query = sa.select(kpi_reports).where(c.company_id == company_id)
    if not all_versions:
        newest = (
            sa.select(c.period, sa.func.max(c.version).label("version"))
            .where(c.company_id == company_id)
            .group_by(c.period)
            .subquery()
        )
        query = query.join(newest, sa.and_(c.period == newest.c.period, c.version == newest.c.version))
    return [to_kpi_report(r) for r in await conn.execute(query.order_by(c.period.desc(), c.version.desc()))]


async def latest_kpi_reports(conn: AsyncConnection) -> dict[int, list[KpiReport]]:
    """Every company's reports, the latest version of each period, by company."""
    c = kpi_reports.c
    newest = sa.select(c.company_id, c.period, sa.func.max(c.version).label("version")).group_by(c.company_id, c.period)
    n = newest.subquery()
    query = sa.select(kpi_reports).join(
        n, sa.and_(c.company_id == n.c.company_id, c.period == n.c.period, c.version == n.c.version)
    )
    found: dict[int, list[KpiReport]] = {}
    for row in await conn.execute(query.order_by(c.company_id, c.period)):
        found.setdefault(row.company_id, []).append(to_kpi_report(row))
    return found


async def kpi_reporters(conn: AsyncConnection) -> int:
    query = sa.select(sa.func.count(sa.distinct(kpi_reports.c.company_id)))
    return int((await conn.execute(query)).scalar_one())


async def closed_rounds(
    conn: AsyncConnection, company_id: int | None = None
) -> dict[int, list[tuple[int, date | None]]]:
    """The closed rounds counted (company_rounds, each once, from hub.investors.round.closed), of one company or
    all, as company -> [(amount, closed_on)]."""
    r = company_rounds.c
    query = sa.select(r.company_id, r.amount_krw, r.closed_on)
    if company_id is not None:
        query = query.where(r.company_id == company_id)
    found: dict[int, list[tuple[int, date | None]]] = {}
    for row in await conn.execute(query):
        found.setdefault(row.company_id, []).append((int(row.amount_krw), row.closed_on))
    return found


async def hub_firms(conn: AsyncConnection, statuses: tuple[str, ...] | None = None) -> list[Company]:
    """Live (not archived) companies, of the given statuses if any, by id."""
    c = companies.c
    query = sa.select(companies).where(c.deleted_at.is_(None)).order_by(c.id)
    if statuses is not None:
        query = query.where(c.status.in_(statuses))
    return [to_company(r) for r in await conn.execute(query)]
