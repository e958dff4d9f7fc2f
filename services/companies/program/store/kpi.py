"""KPI reports (every version kept), the closed rounds counted toward funding, and the hub's firms, as domain
objects."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import now
from hubcore.rows import JSON_TUPLE, Rows, any_of, json_codec
from services.companies.program.domain import KpiReport, with_sources
from services.companies.registry.domain import Company
from services.companies.registry.store import COMPANIES
from services.companies.tables import companies, company_rounds, kpi_reports


def _load_sources(stored: dict[str, list[Any]]) -> dict[str, tuple[int, str, datetime | None]]:
    return {f: (int(v), a, as_utc(datetime.fromisoformat(t)) if t else None) for f, (v, a, t) in stored.items()}


def _dump_sources(sources: dict[str, tuple[int, str, datetime | None]] | None) -> dict[str, list[Any]]:
    return {f: [v, a, t.isoformat() if t else None] for f, (v, a, t) in (sources or {}).items()}


KPI_REPORTS = Rows(
    kpi_reports,
    KpiReport,
    codecs={"overseas_countries": JSON_TUPLE, "figure_sources": json_codec(_load_sources, _dump_sources)},
)


async def insert_kpi_report(conn: AsyncConnection, report: KpiReport) -> KpiReport:
    """The next version of the company's report for the period; earlier versions stay as they are. The figures
    it leaves unset are carried over from the latest version, and every figure names the version that set it
    (domain.with_sources). Two concurrent reports for one period cannot take the same version (unique
    constraint). report.created_at is when it is filed."""
    c = kpi_reports.c
    query = KPI_REPORTS.select(c.company_id == report.company_id, c.period == report.period)
    found = await KPI_REPORTS.all(conn, query.order_by(c.version.desc()).limit(1))
    previous = found[0] if found else None
    stamp = now()  # the version's time, which its own figures' sources name
    version = replace(report, version=previous.version + 1 if previous else 1, created_at=stamp)
    filed = await KPI_REPORTS.insert(conn, with_sources(version, previous), created_at=stamp)
    return replace(filed, created_at=stamp)


async def list_kpi_reports(conn: AsyncConnection, company_id: int, *, all_versions: bool) -> list[KpiReport]:
    """The company's reports, newest period first: the latest version of each, or every version."""
    c = kpi_reports.c
    query = KPI_REPORTS.select(c.company_id == company_id)
    if not all_versions:
        newest = (
            sa.select(c.period, sa.func.max(c.version).label("version"))
            .where(c.company_id == company_id)
            .group_by(c.period)
            .subquery()
        )
        query = query.join(newest, sa.and_(c.period == newest.c.period, c.version == newest.c.version))
    return await KPI_REPORTS.all(conn, query.order_by(c.period.desc(), c.version.desc()))


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
        found.setdefault(row.company_id, []).append(KPI_REPORTS.load(row))
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
    query = COMPANIES.select(c.deleted_at.is_(None), *any_of((c.status, statuses))).order_by(c.id)
    return await COMPANIES.all(conn, query)
