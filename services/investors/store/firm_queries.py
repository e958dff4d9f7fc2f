"""Firms, partners, their API keys, and the partner API's audit log: queries that return domain objects."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import contains, now, save_versioned
from services.investors.domain import ApiKey, Firm, Partner, PartnerCall, Thesis
from services.investors.store.tables import (
    Row,
    api_keys,
    firms,
    page,
    partner_calls,
    partner_refusals,
    partners,
    within,
)

# Firms


def to_firm(row: Row) -> Firm:
    theses = tuple(
        Thesis(
            title=t["title"],
            sectors=tuple(t["sectors"]),
            stages=tuple(t["stages"]),
            ticket_min=t["ticket_min"],
            ticket_max=t["ticket_max"],
            geographies=tuple(t["geographies"]),
        )
        for t in json.loads(row.theses)
    )
    return Firm(
        id=row.id,
        korean_name=row.korean_name,
        english_name=row.english_name,
        type=row.type,
        website=row.website,
        description=row.description,
        theses=theses,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        version=row.version,
    )


def _firm_values(firm: Firm) -> dict[str, object]:
    return {
        "korean_name": firm.korean_name,
        "english_name": firm.english_name,
        "type": firm.type,
        "website": firm.website,
        "description": firm.description,
        "theses": json.dumps([asdict(t) for t in firm.theses], ensure_ascii=False),
        "search_text": firm.search_text,
        "version": firm.version,
    }


async def get_firm(conn: AsyncConnection, firm_id: int) -> Firm | None:
    row = (await conn.execute(sa.select(firms).where(firms.c.id == firm_id))).first()
    return to_firm(row) if row else None


async def firms_by_id(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, Firm]:
    rows = await conn.execute(sa.select(firms).where(firms.c.id.in_(set(ids))))
    return {r.id: to_firm(r) for r in rows}


async def all_firms(conn: AsyncConnection) -> list[Firm]:
    return [to_firm(r) for r in await conn.execute(sa.select(firms).order_by(firms.c.id))]


async def list_firms(
    conn: AsyncConnection, *, types: list[str] | None, query: str, after: int | None, limit: int
) -> list[Firm]:
    """Firms by id, of the types given, whose names hold the query ("" for any)."""
    select = within(sa.select(firms), (firms.c.type, types))
    if query.strip():
        select = select.where(contains(firms.c.search_text, query))
    return [to_firm(r) for r in await conn.execute(page(select, firms.c.id, after, limit))]


async def count_firms(conn: AsyncConnection) -> int:
    return int((await conn.execute(sa.select(sa.func.count()).select_from(firms))).scalar_one())


async def insert_firm(conn: AsyncConnection, firm: Firm) -> Firm:
    stamp = now()
    values = _firm_values(firm) | {"created_at": stamp, "updated_at": stamp}
    firm_id = (await conn.execute(firms.insert().values(values).returning(firms.c.id))).scalar_one()
    return replace(firm, id=firm_id, created_at=stamp, updated_at=stamp)


async def save_firm(conn: AsyncConnection, firm: Firm, *, expected_version: int) -> Firm:
    stamp = now()
    values = _firm_values(firm) | {"updated_at": stamp}
    await save_versioned(conn, firms, firm.id, expected_version, values, name=firm.name)
    return replace(firm, updated_at=stamp)


# Partners


def to_partner(row: Row) -> Partner:
    return Partner(
        id=row.id,
        firm_id=row.firm_id,
        korean_name=row.korean_name,
        english_name=row.english_name,
        title=row.title,
        email=row.email,
        phone=row.phone,
        focus=tuple(json.loads(row.focus)),
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        version=row.version,
    )


def _partner_values(partner: Partner) -> dict[str, object]:
    return {
        "firm_id": partner.firm_id,
        "korean_name": partner.korean_name,
        "english_name": partner.english_name,
        "title": partner.title,
        "email": partner.email,
        "phone": partner.phone,
        "focus": json.dumps(list(partner.focus), ensure_ascii=False),
        "version": partner.version,
    }


async def get_partner(conn: AsyncConnection, partner_id: int) -> Partner | None:
    row = (await conn.execute(sa.select(partners).where(partners.c.id == partner_id))).first()
    return to_partner(row) if row else None


async def list_partners(
    conn: AsyncConnection, *, firm_ids: list[int] | None, after: int | None, limit: int
) -> list[Partner]:
    select = within(sa.select(partners), (partners.c.firm_id, firm_ids))
    return [to_partner(r) for r in await conn.execute(page(select, partners.c.id, after, limit))]


async def insert_partner(conn: AsyncConnection, partner: Partner) -> Partner:
    stamp = now()
    values = _partner_values(partner) | {"created_at": stamp, "updated_at": stamp}
    partner_id = (await conn.execute(partners.insert().values(values).returning(partners.c.id))).scalar_one()
    return replace(partner, id=partner_id, created_at=stamp, updated_at=stamp)


async def save_partner(conn: AsyncConnection, partner: Partner, *, expected_version: int) -> Partner:
    stamp = now()
    values = _partner_values(partner) | {"updated_at": stamp}
    await save_versioned(conn, partners, partner.id, expected_version, values, name=partner.name)
    return replace(partner, updated_at=stamp)


# API keys and the audit log


def to_api_key(row: Row) -> ApiKey:
    return ApiKey(
        id=row.id,
        partner_id=row.partner_id,
        firm_id=row.firm_id,
        prefix=row.prefix,
        description=row.description,
        created_at=as_utc(row.created_at),
        expire_at=as_utc(row.expire_at),
        revoked_at=as_utc(row.revoked_at) if row.revoked_at else None,
    )


async def get_api_key(conn: AsyncConnection, key_id: int) -> ApiKey | None:
    row = (await conn.execute(sa.select(api_keys).where(api_keys.c.id == key_id))).first()
    return to_api_key(row) if row else None


async def api_key_by_hash(conn: AsyncConnection, key_hash: str) -> ApiKey | None:
    row = (await conn.execute(sa.select(api_keys).where(api_keys.c.key_hash == key_hash))).first()
    return to_api_key(row) if row else None


async def list_api_keys(
    conn: AsyncConnection,
    *,
    partner_ids: list[int] | None,
    firm_ids: list[int] | None,
    show_revoked: bool,
    after: int | None,
    limit: int,
) -> list[ApiKey]:
    c = api_keys.c
    select = within(sa.select(api_keys), (c.partner_id, partner_ids), (c.firm_id, firm_ids))
    if not show_revoked:
        select = select.where(c.revoked_at.is_(None))
    return [to_api_key(r) for r in await conn.execute(page(select, c.id, after, limit))]


async def insert_api_key(conn: AsyncConnection, key: ApiKey, key_hash: str) -> ApiKey:
    stamp = now()
    values = {
        "partner_id": key.partner_id,
        "firm_id": key.firm_id,
        "key_hash": key_hash,
        "prefix": key.prefix,
        "description": key.description,
        "created_at": stamp,
        "expire_at": key.expire_at,
    }
    key_id = (await conn.execute(api_keys.insert().values(values).returning(api_keys.c.id))).scalar_one()
    return replace(key, id=key_id, created_at=stamp)


async def revoke_api_key(conn: AsyncConnection, key: ApiKey) -> None:
    await conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key.id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=key.revoked_at)
    )


def to_partner_call(row: Row) -> PartnerCall:
    return PartnerCall(
        id=row.id,
        api_key_id=row.api_key_id,
        partner_id=row.partner_id,
        firm_id=row.firm_id,
        method=row.method,
        resource=row.resource,
        code=row.code,
        called_at=as_utc(row.called_at),
        request_id=row.request_id,
        peer=row.peer,
    )


async def insert_partner_call(conn: AsyncConnection, call: PartnerCall) -> None:
    values = {
        "api_key_id": call.api_key_id,
        "partner_id": call.partner_id,
        "firm_id": call.firm_id,
        "method": call.method,
        "resource": call.resource,
        "code": call.code,
        "called_at": call.called_at,
        "request_id": call.request_id,
        "peer": call.peer,
    }
    await conn.execute(partner_calls.insert().values(values))


async def list_partner_calls(
    conn: AsyncConnection,
    *,
    firm_ids: list[int] | None,
    api_key_ids: list[int] | None,
    codes: list[str] | None,
    before: int | None,
    limit: int,
) -> list[PartnerCall]:
    """The newest calls first."""
    c = partner_calls.c
    select = within(sa.select(partner_calls), (c.firm_id, firm_ids), (c.api_key_id, api_key_ids), (c.code, codes))
    rows = await conn.execute(page(select, c.id, before, limit, descending=True))
    return [to_partner_call(r) for r in rows]


async def add_partner_refusals(conn: AsyncConnection, counts: dict[tuple[str, datetime], tuple[int, int]]) -> None:
    """Adds refused calls to their (peer, minute) rows: another replica may have written the same rows."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(partner_refusals)
    c = partner_refusals.c
    upsert = insert.on_conflict_do_update(
        index_elements=[c.peer, c.minute],
        set_={
            "unauthenticated": c.unauthenticated + insert.excluded.unauthenticated,
            "rate_limited": c.rate_limited + insert.excluded.rate_limited,
        },
    )
    rows = [
        {"peer": peer, "minute": minute, "unauthenticated": unauthenticated, "rate_limited": limited}
        for (peer, minute), (unauthenticated, limited) in counts.items()
    ]
    if rows:
        await conn.execute(upsert, rows)
