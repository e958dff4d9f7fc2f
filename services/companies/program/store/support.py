"""The support ledger and quotas, as domain objects."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.rows import EMPTY_AS_NULL, Rows, update_or_insert
from services.companies.program.domain import SupportGrant
from services.companies.tables import support_grants, support_quotas

GRANTS = Rows(support_grants, SupportGrant, codecs={"source": EMPTY_AS_NULL})  # sources are unique

insert_grant = GRANTS.insert


async def set_quota(conn: AsyncConnection, company_id: int, kind: str, quota: int) -> None:
    await update_or_insert(conn, support_quotas, {"company_id": company_id, "kind": kind}, {"quota": quota})


async def lock_quota(conn: AsyncConnection, company_id: int, kind: str) -> int | None:
    """The quota, locked for this transaction on PostgreSQL (FOR UPDATE), so that concurrent usage against it
    is checked one at a time; SQLite's write transactions are serialized anyway."""
    c = support_quotas.c
    query = sa.select(c.quota).where(c.company_id == company_id, c.kind == kind).with_for_update()
    return (await conn.execute(query)).scalar_one_or_none()


async def used(conn: AsyncConnection, company_id: int, kind: str) -> int:
    c = support_grants.c
    query = sa.select(sa.func.coalesce(sa.func.sum(c.amount), 0)).where(c.company_id == company_id, c.kind == kind)
    return int((await conn.execute(query)).scalar_one())


async def total_used(conn: AsyncConnection, kind: str) -> int:
    """Used by every company."""
    c = support_grants.c
    query = sa.select(sa.func.coalesce(sa.func.sum(c.amount), 0)).where(c.kind == kind)
    return int((await conn.execute(query)).scalar_one())


async def record_counted(conn: AsyncConnection, grant: SupportGrant) -> SupportGrant | None:
    """A ledger entry counted from another service's event, once per source; None if it was counted before
    (a concurrent duplicate is refused by the unique index)."""
    c = support_grants.c
    if (await conn.execute(sa.select(c.id).where(c.source == grant.source))).first() is not None:
        return None
    return await insert_grant(conn, grant)


async def support_ledger(
    conn: AsyncConnection, company_id: int
) -> tuple[list[SupportGrant], dict[str, int], dict[str, int]]:
    """The company's grants in order, and by kind what it used and its quotas."""
    g, q = support_grants.c, support_quotas.c
    grants = await GRANTS.all(conn, GRANTS.select(g.company_id == company_id).order_by(g.id))
    totals = await conn.execute(
        sa.select(g.kind, sa.func.sum(g.amount)).where(g.company_id == company_id).group_by(g.kind)
    )
    quotas = await conn.execute(sa.select(q.kind, q.quota).where(q.company_id == company_id))
    return grants, {k: int(n) for k, n in totals.all()}, {k: int(n) for k, n in quotas.all()}


async def all_grants(conn: AsyncConnection) -> list[SupportGrant]:
    """Every entry of every company's ledger, in order."""
    return await GRANTS.all(conn, GRANTS.select().order_by(support_grants.c.id))


async def all_quotas(conn: AsyncConnection) -> dict[tuple[int, str], int]:
    """(company, kind) -> quota."""
    q = support_quotas.c
    rows = await conn.execute(sa.select(q.company_id, q.kind, q.quota))
    return {(int(row.company_id), row.kind): int(row.quota) for row in rows}
