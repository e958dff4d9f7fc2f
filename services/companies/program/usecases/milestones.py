"""Milestones' use cases, and the firms grown by the rules."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import Database, UnitOfWork
from hubcore.requests import PageTokens, next_page
from services.companies.program import convert, domain, store
from services.companies.program.usecases.common import SUBJECT, active_company


async def create_milestone(uow: UnitOfWork, company_name: str, milestone: domain.Milestone) -> domain.Milestone:
    await active_company(uow.conn, company_name, "milestone.company")
    recorded = await store.insert_milestone(uow.conn, replace(milestone, actor=uow.actor))
    await uow.emit(f"{SUBJECT}.milestone.recorded", recorded.name, 1, convert.milestone_event(recorded))
    return recorded


async def list_milestones(
    db: Database, terms: dict[str, list[Any]], *, size: int, token: str
) -> tuple[list[domain.Milestone], str]:
    """A page of milestones by achieve date, filtered by terms (company ids, kinds), and the next page's token."""
    query_key = f"milestones|{sorted(terms.items())}"
    after = PageTokens.decode(token, query_key, (date, int))
    async with db.read() as conn:
        found = await store.list_milestones(conn, terms, after=(after[0], after[1]) if after else None, limit=size + 1)
    page, following = next_page(found, size, query_key, lambda m: [m.achieved_on.isoformat(), m.id])
    return list(page), following


async def delete_milestone(uow: UnitOfWork, milestone_id: int, *, name: str) -> None:
    found = await store.get_milestone(uow.conn, milestone_id)
    if found is None:
        raise errors.NotFound("Milestone", name)
    await store.delete_milestone(uow.conn, milestone_id)
    await uow.emit(f"{SUBJECT}.milestone.deleted", name, 2, convert.milestone_event(found))


async def grown(conn: AsyncConnection, rules: domain.GrowthRules) -> list[domain.Grown]:
    """The hub's firms that count as grown by the rules, each with its reasons."""
    firms = await store.hub_firms(conn, domain.HUB_FIRMS)
    reports = await store.latest_kpi_reports(conn)
    milestones = await store.milestones_by_company(conn)
    revenue = {company: [(r.period, r.revenue_krw) for r in rows] for company, rows in reports.items()}
    return domain.grown(rules, firms, revenue, milestones)


async def growth(db: Database, rules: domain.GrowthRules) -> list[domain.Grown]:
    async with db.read() as conn:
        return await grown(conn, rules)
