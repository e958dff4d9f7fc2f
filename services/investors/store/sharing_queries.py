"""Sharing grants (what a company lets each firm see) and the access log of partner reads: queries that
return domain objects."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.rows import JSON_TUPLE, Rows, json_codec
from services.investors.domain import CompanyRead, SharingGrant, ordered_groups
from services.investors.store.tables import company_reads, sharing_grants

ASCII_TUPLE = json_codec(tuple, list, ascii=True)
GRANTS = Rows(sharing_grants, SharingGrant, codecs={"field_groups": ASCII_TUPLE})
READS = Rows(company_reads, CompanyRead, codecs={"introductions": JSON_TUPLE, "field_groups": ASCII_TUPLE})


async def get_grant(
    conn: AsyncConnection, company_id: int, firm_id: int | None, *, lock: bool = False
) -> SharingGrant | None:
    """The company's grant to the firm, or (firm_id None) to every firm."""
    g = sharing_grants.c
    query = GRANTS.select(g.company_id == company_id, g.firm_id.is_(None) if firm_id is None else g.firm_id == firm_id)
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    return GRANTS.load(row) if row else None


Pair = tuple[int, int]  # (company, firm)


async def granted_groups(conn: AsyncConnection, pairs: Iterable[Pair]) -> dict[Pair, tuple[str, ...]]:
    """The groups each (company, firm) pair may see: what the company's active grants to the firm and to every
    firm hold together; a pair without either is absent."""
    wanted = set(pairs)
    if not wanted:
        return {}
    g = sharing_grants.c
    firms = sa.or_(g.firm_id.in_({f for _, f in wanted}), g.firm_id.is_(None))
    query = GRANTS.select(g.revoked_at.is_(None), g.company_id.in_({c for c, _ in wanted}), firms)
    return held_by(wanted, [GRANTS.load(row) for row in await conn.execute(query)])


def held_by(pairs: Iterable[Pair], grants: Iterable[SharingGrant]) -> dict[Pair, tuple[str, ...]]:
    """What each pair may see of the grants given: its firm's grant and the company's grant to every firm."""
    wanted, held = set(pairs), {}
    found = list(grants)
    every = {x.company_id: x.field_groups for x in found if x.firm_id is None}
    for x in found:
        if x.firm_id is not None and (x.company_id, x.firm_id) in wanted:
            held[(x.company_id, x.firm_id)] = set(x.field_groups)
    for company_id, firm_id in wanted:
        if company_id in every:
            held.setdefault((company_id, firm_id), set()).update(every[company_id])
    return {pair: ordered_groups(groups) for pair, groups in held.items()}


async def company_grants(
    conn: AsyncConnection, company_id: int, *, show_revoked: bool, after: int | None, limit: int
) -> list[SharingGrant]:
    g = sharing_grants.c
    where = [g.company_id == company_id] + ([] if show_revoked else [g.revoked_at.is_(None)])
    return await GRANTS.list(conn, *where, after=after, limit=limit)


async def insert_grant(conn: AsyncConnection, grant: SharingGrant) -> SharingGrant:
    return await GRANTS.insert(conn, grant)


async def save_grant(conn: AsyncConnection, grant: SharingGrant, *, expected_version: int) -> SharingGrant:
    return await GRANTS.save(conn, grant, expected_version=expected_version)


async def add_company_reads(conn: AsyncConnection, reads: Iterable[CompanyRead]) -> None:
    await READS.insert_many(conn, reads)


async def company_reads_of(
    conn: AsyncConnection, company_id: int, firms: list[int] | None, *, before: int | None, limit: int
) -> list[CompanyRead]:
    """The company's access log, newest first."""
    r = company_reads.c
    where = [r.company_id == company_id] + ([r.firm_id.in_(firms)] if firms is not None else [])
    return await READS.list(conn, *where, after=before, limit=limit, descending=True)
