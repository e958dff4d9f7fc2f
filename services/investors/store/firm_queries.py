"""Firms, partners, and the partner API's audit log: queries that return domain objects."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import contains
from hubcore.requests import Terms
from hubcore.rows import JSON_TUPLE, Rows, add_counts, any_of, filtered_by, json_codec
from services.investors.domain import Firm, Partner, PartnerCall, Thesis
from services.investors.store.tables import firms, partner_calls, partner_refusals, partners

FIRMS = Rows(
    firms,
    Firm,
    codecs={
        "theses": json_codec(
            lambda theses: tuple(
                Thesis(t["title"], tuple(t["sectors"]), tuple(t["stages"]), t["ticket_min"], t["ticket_max"],
                       tuple(t["geographies"]))
                for t in theses
            ),
            lambda theses: [asdict(t) for t in theses],
        )
    },
)  # fmt: skip
PARTNERS = Rows(partners, Partner, codecs={"focus": JSON_TUPLE})
PARTNER_CALLS = Rows(partner_calls, PartnerCall)

# Firms

get_firm = FIRMS.get
firms_by_id = FIRMS.by_ids
insert_firm = FIRMS.insert
save_firm = FIRMS.save


async def all_firms(conn: AsyncConnection) -> list[Firm]:
    return await FIRMS.all(conn, FIRMS.select().order_by(firms.c.id))


async def list_firms(
    conn: AsyncConnection, *, types: list[str] | None, query: str, after: int | None, limit: int
) -> list[Firm]:
    """Firms by id, of the types given, whose names hold the query ("" for any)."""
    where = any_of((firms.c.type, types))
    if query.strip():
        where.append(contains(firms.c.search_text, query))
    return await FIRMS.list(conn, *where, after=after, limit=limit)


async def count_firms(conn: AsyncConnection) -> int:
    return await FIRMS.count(conn)


# Partners

get_partner = PARTNERS.get
insert_partner = PARTNERS.insert
save_partner = PARTNERS.save


async def list_partners(conn: AsyncConnection, terms: Terms, after: int | None, limit: int) -> list[Partner]:
    return await PARTNERS.list(conn, *filtered_by(terms, {"firm": partners.c.firm_id}), after=after, limit=limit)


# The audit log (API keys: key_queries.py)

insert_partner_call = PARTNER_CALLS.insert


async def list_partner_calls(conn: AsyncConnection, terms: Terms, before: int | None, limit: int) -> list[PartnerCall]:
    """The newest calls first, of the firms, API keys and codes the terms name."""
    c = partner_calls.c
    where = filtered_by(terms, {"firm": c.firm_id, "api_key": c.api_key_id, "code": c.code})
    return await PARTNER_CALLS.list(conn, *where, after=before, limit=limit, descending=True)


async def add_partner_refusals(conn: AsyncConnection, counts: dict[tuple[str, datetime], tuple[int, int]]) -> None:
    """Adds refused calls to their (peer, minute) rows: another replica may have written the same rows."""
    rows = [
        {"peer": peer, "minute": minute, "unauthenticated": unauthenticated, "rate_limited": limited}
        for (peer, minute), (unauthenticated, limited) in counts.items()
    ]
    await add_counts(conn, partner_refusals, ("peer", "minute"), rows)
