"""KPI schedules and requests, as domain objects."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.rows import JSON_TUPLE, Rows, any_of
from services.companies.program.domain import ANSWERED, OPEN, OVERDUE, KpiRequest, KpiSchedule
from services.companies.tables import kpi_reports, kpi_requests, kpi_schedules

KPI_SCHEDULES = Rows(kpi_schedules, KpiSchedule, codecs={"companies": JSON_TUPLE, "figures": JSON_TUPLE})
KPI_REQUESTS = Rows(kpi_requests, KpiRequest, codecs={"figures": JSON_TUPLE})

insert_schedule = KPI_SCHEDULES.insert
insert_request = KPI_REQUESTS.insert


async def list_schedules(conn: AsyncConnection) -> list[KpiSchedule]:
    return await KPI_SCHEDULES.all(conn, KPI_SCHEDULES.select().order_by(kpi_schedules.c.id))


async def requested(conn: AsyncConnection, period: str) -> set[int]:
    """The companies asked for the period already (by any schedule)."""
    c = kpi_requests.c
    return set((await conn.execute(sa.select(c.company_id).where(c.period == period))).scalars())


async def first_report(conn: AsyncConnection, company_id: int, period: str) -> tuple[int, datetime, str, str] | None:
    """The first version of the company's report for the period: its id, when, by whom and why it was filed."""
    c = kpi_reports.c
    query = sa.select(c.id, c.created_at, c.actor, c.reason).where(
        c.company_id == company_id, c.period == period, c.version == 1
    )
    row = (await conn.execute(query)).first()
    return (row.id, as_utc(row.created_at), row.actor, row.reason) if row else None


async def open_request(conn: AsyncConnection, company_id: int, period: str) -> KpiRequest | None:
    c = kpi_requests.c
    return await KPI_REQUESTS.first(conn, c.company_id == company_id, c.period == period, c.state == OPEN)


async def mark_answered(conn: AsyncConnection, answered: KpiRequest) -> bool:
    """Writes the answer if the request is still open (two reports at once: the first answers it)."""
    c = kpi_requests.c
    values = KPI_REQUESTS.columns_of(
        {"state": ANSWERED, "report_id": answered.report_id, "answered_at": answered.answered_at,
         "answered_by": answered.answered_by, "reason": answered.reason}
    )  # fmt: skip
    done = await conn.execute(kpi_requests.update().where(c.id == answered.id, c.state == OPEN).values(values))
    return bool(done.rowcount)


async def list_requests(
    conn: AsyncConnection, terms: dict[str, list[Any]], *, today: date, after: int | None, limit: int
) -> list[KpiRequest]:
    """Requests newest first, filtered by company ids, periods and states (OVERDUE: open past the due date)."""
    c = kpi_requests.c
    where = any_of((c.company_id, terms.get("company")), (c.period, terms.get("period")))
    states = terms.get("state")
    if states:
        wanted: list[sa.ColumnElement[bool]] = [c.state.in_([s for s in states if s != OVERDUE])]
        if OVERDUE in states:
            wanted.append(sa.and_(c.state == OPEN, c.due_on < today))
        where.append(sa.or_(*wanted))
    return await KPI_REQUESTS.list(conn, *where, after=after, limit=limit, descending=True)


async def all_requests(conn: AsyncConnection) -> list[KpiRequest]:
    return await KPI_REQUESTS.all(conn, KPI_REQUESTS.select())
