"""KPI requests' use cases: schedules, each period's requests as the period begins (on the clock, and at once for a
new schedule), their answer by the company's report, the founders' list and the completion rate."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import date
from functools import partial
from typing import Any

import structlog
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.convert import seoul_today
from hubcore.db import Database, UnitOfWork, now
from hubcore.rows import keyset_page
from services.companies.program import convert, domain, store
from services.companies.program.usecases.common import SUBJECT, active_company
from services.companies.registry.domain import RESIDENT

log = structlog.get_logger()
OPEN_EVERY_SECONDS = 3600.0  # how often the clock looks for periods that have begun


async def create_schedule(
    uow: UnitOfWork, schedule: domain.KpiSchedule, company_names: Sequence[str], *, today: date
) -> domain.KpiSchedule:
    """The schedule, for the companies named (none: every company of its audience as each period opens), each
    of which must be of its audience now (a resident; a consenting graduate; a consenting rejected applicant);
    this period's requests open at once."""
    ids = []
    members = await audience(uow.conn, schedule.audience, schedule.period(today)) if company_names else set()
    for i, name in enumerate(company_names):
        company = await active_company(uow.conn, name, f"schedule.companies[{i}]")
        if schedule.audience == domain.RESIDENTS and company.status != RESIDENT:
            raise errors.FailedPrecondition(
                f"{name} is {company.status}, not RESIDENT: KPI requests go to residents", type_="STATUS", subject=name
            )
        if company.id not in members:
            raise errors.FailedPrecondition(
                f"{name} is not of the schedule's audience {schedule.audience} (consent, status, close date)",
                type_="AUDIENCE", subject=name,
            )  # fmt: skip
        ids.append(company.id)
    made = await store.insert_schedule(uow.conn, replace(schedule, companies=tuple(ids), actor=uow.actor))
    await open_requests(uow, today, [made])
    return made


async def list_schedules(db: Database) -> list[domain.KpiSchedule]:
    async with db.read() as conn:
        return await store.list_schedules(conn)


async def audience(conn: AsyncConnection, audience: str, period: str) -> set[int]:
    """The companies of the audience for the period (domain.audience_of), as they stand now."""
    rejected, admitted = await store.decided_companies(conn)
    firms = await store.hub_firms(conn)
    start = domain.period_start(period)
    return domain.audience_of(audience, firms, rejected=rejected, admitted=admitted, start=start)


async def open_requests(
    uow: UnitOfWork, today: date, schedules: Sequence[domain.KpiSchedule] | None = None
) -> list[domain.KpiRequest]:
    """Each schedule's request for the period today falls in, to each company of its audience it covers
    (residents; consenting graduates; the consenting control group; none closed before the period began) that
    was not asked for that period yet (by any schedule): running it again opens nothing twice. A company that
    reported the period already has its request answered by that report."""
    schedules = await store.list_schedules(uow.conn) if schedules is None else schedules
    opened = []
    for schedule in schedules:
        period = schedule.period(today)
        members = await audience(uow.conn, schedule.audience, period)
        asked = await store.requested(uow.conn, period)
        for company_id in sorted((set(schedule.companies) or members) & members - asked):
            request = domain.KpiRequest(0, schedule.id, company_id, period, schedule.due_on(period), schedule.figures)
            made = await store.insert_request(uow.conn, request)
            reported = await store.first_report(uow.conn, company_id, period)
            if reported is not None:
                made = made.answer(*reported)
                await store.mark_answered(uow.conn, made)
            await uow.emit(f"{SUBJECT}.kpi_request.opened", made.name, 1, convert.kpi_request_event(made))
            opened.append(made)
    return opened


async def answer_request(uow: UnitOfWork, report: domain.KpiReport) -> domain.KpiRequest | None:
    """The company's open request for the report's period, answered by it (who filed it, and why if a program
    manager did); a correction, or a period nobody asked for, answers nothing."""
    request = await store.open_request(uow.conn, report.company_id, report.period)
    if request is None:
        return None
    answered = request.answer(report.id, report.created_at or now(), report.actor, report.reason)
    if not await store.mark_answered(uow.conn, answered):
        return None
    await uow.emit(f"{SUBJECT}.kpi_request.answered", answered.name, 2, convert.kpi_request_event(answered))
    return answered


async def list_requests(
    db: Database, parent: str, terms: dict[str, list[Any]], *, size: int, token: str
) -> tuple[list[domain.KpiRequest], str]:
    """A page of requests, newest first: of the parent company (every company's when empty), filtered by terms
    (states, periods)."""
    async with db.read() as conn:
        if parent:
            terms = terms | {"company": [(await active_company(conn, parent, "parent")).id]}
        fetch = partial(store.list_requests, conn, terms, today=seoul_today())
        return await keyset_page(
            f"kpiRequests|{sorted(terms.items())}", token, size, lambda after, limit: fetch(after=after, limit=limit)
        )


async def request_stats(db: Database, today: date) -> tuple[list[domain.Completion], domain.Completion]:
    async with db.read() as conn:
        return domain.completion(await store.all_requests(conn), today)


async def open_due_requests(db: Database, today: date | None = None) -> int:
    """What the clock does: opens the requests of the periods that have begun. Returns how many it opened."""
    async with db.write(actor="service:companies") as uow:
        return len(await open_requests(uow, today or seoul_today()))


def request_loop(db: Database, every: float = OPEN_EVERY_SECONDS) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        while True:
            try:
                opened = await open_due_requests(db)
                if opened:
                    log.info("KPI requests opened", count=opened)
            except IntegrityError:  # another replica opened the same requests at the same moment
                log.info("opening KPI requests raced another replica; the clock tries again")
            await asyncio.sleep(every)

    return run
