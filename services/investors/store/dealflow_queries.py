"""A firm's deal flow (the grants that put companies in it), the companies it invested in, and the KPI
updates kept from the companies service's events: queries that return domain objects."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.rows import Rows, json_codec, upsert_newer
from services.investors.domain import DEAL_FLOW, CompanyUpdate
from services.investors.store.sharing_queries import GRANTS, held_by
from services.investors.store.tables import company_updates, round_participants, rounds, sharing_grants

UPDATES = Rows(company_updates, CompanyUpdate, codecs={"figures": json_codec(dict, dict, ascii=True)})


async def deal_flow_grants(conn: AsyncConnection, firm_id: int) -> dict[int, tuple[str, ...]]:
    """The companies in the firm's deal flow, with the groups the firm may see of each: a company whose active
    grant to the firm, or to every firm, holds DEAL_FLOW."""
    g = sharing_grants.c
    query = GRANTS.select(g.revoked_at.is_(None), sa.or_(g.firm_id == firm_id, g.firm_id.is_(None)))
    found = await GRANTS.all(conn, query)
    held = held_by([(x.company_id, firm_id) for x in found], found)
    return {company: groups for (company, _), groups in sorted(held.items()) if DEAL_FLOW in groups}


async def invested_companies(conn: AsyncConnection, firm_id: int) -> set[int]:
    """The companies in whose rounds (not cancelled) the firm took part."""
    r, p = rounds.c, round_participants.c
    query = (
        sa.select(r.company_id)
        .join(round_participants, p.round_id == r.id)
        .where(p.firm_id == firm_id, r.status != "CANCELLED")
    )
    return set((await conn.execute(query)).scalars())


async def investing_firms(conn: AsyncConnection, company_id: int) -> set[int]:
    """The firms that took part in the company's rounds (not cancelled)."""
    r, p = rounds.c, round_participants.c
    query = (
        sa.select(p.firm_id).join(rounds, p.round_id == r.id).where(r.company_id == company_id, r.status != "CANCELLED")
    )
    return set((await conn.execute(query)).scalars())


async def upsert_company_update(conn: AsyncConnection, update: CompanyUpdate) -> bool:
    """Keeps a company's report for a period if its version is newer than the one held; returns whether it did."""
    key = {"company_id": update.company_id, "period": update.period}
    return await upsert_newer(conn, company_updates, key, UPDATES.values(update))


async def company_updates_of(
    conn: AsyncConnection, company_ids: Iterable[int], *, before: int | None, limit: int
) -> list[CompanyUpdate]:
    """The companies' updates, the newest report first."""
    wanted = set(company_ids)
    if not wanted:
        return []
    u = company_updates.c
    return await UPDATES.list(conn, u.company_id.in_(wanted), after=before, limit=limit, descending=True)
