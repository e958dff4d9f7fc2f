"""The company directory (the read model of the companies service's events) and introductions with their
history: queries that return domain objects."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import now, save_versioned
from services.investors.domain import DirectoryCompany, Introduction, Transition
from services.investors.store.tables import Row, directory, introduction_history, introductions, page, within


class OpenPairTaken(Exception):
    """The company already has an open introduction to the firm: a concurrent request committed it first, and
    the unique index refused this one."""


def to_directory_company(row: Row) -> DirectoryCompany:
    return DirectoryCompany(
        id=row.id,
        korean_name=row.korean_name,
        english_name=row.english_name,
        sector=row.sector,
        stage=row.stage,
        status=row.status,
        tags=tuple(json.loads(row.tags)),
        website=row.website,
        archived=row.archived,
        version=row.version,
    )


async def get_directory_company(conn: AsyncConnection, company_id: int) -> DirectoryCompany | None:
    row = (await conn.execute(sa.select(directory).where(directory.c.id == company_id))).first()
    return to_directory_company(row) if row else None


async def directory_by_id(conn: AsyncConnection, ids: Iterable[int]) -> dict[int, DirectoryCompany]:
    rows = await conn.execute(sa.select(directory).where(directory.c.id.in_(set(ids))))
    return {r.id: to_directory_company(r) for r in rows}


async def live_directory(conn: AsyncConnection) -> list[DirectoryCompany]:
    rows = await conn.execute(sa.select(directory).where(directory.c.archived.is_(False)).order_by(directory.c.id))
    return [to_directory_company(r) for r in rows]


async def upsert_directory_company(conn: AsyncConnection, company: DirectoryCompany) -> bool:
    """Applies a snapshot if it is newer than what the directory holds; returns whether it did."""
    current = (
        await conn.execute(sa.select(directory.c.version).where(directory.c.id == company.id))
    ).scalar_one_or_none()
    values = {
        "korean_name": company.korean_name,
        "english_name": company.english_name,
        "sector": company.sector,
        "stage": company.stage,
        "status": company.status,
        "tags": json.dumps(list(company.tags), ensure_ascii=False),
        "website": company.website,
        "archived": company.archived,
        "version": company.version,
    }
    if current is None:
        await conn.execute(directory.insert().values(id=company.id, **values))
        return True
    if company.version > current:
        await conn.execute(directory.update().where(directory.c.id == company.id).values(values))
        return True
    return False


# Introductions


def to_introduction(row: Row, history: tuple[Transition, ...] = ()) -> Introduction:
    return Introduction(
        id=row.id,
        company_id=row.company_id,
        firm_id=row.firm_id,
        partner_id=row.partner_id,
        state=row.state,
        note=row.note,
        shared_fields=tuple(json.loads(row.shared_fields)),
        meeting_at=as_utc(row.meeting_at) if row.meeting_at else None,
        shared_at=as_utc(row.shared_at) if row.shared_at else None,
        closed_at=as_utc(row.closed_at) if row.closed_at else None,
        created_at=as_utc(row.created_at),
        updated_at=as_utc(row.updated_at),
        version=row.version,
        history=history,
    )


def _introduction_values(intro: Introduction) -> dict[str, object]:
    return {
        "company_id": intro.company_id,
        "firm_id": intro.firm_id,
        "partner_id": intro.partner_id,
        "state": intro.state,
        "note": intro.note,
        "shared_fields": json.dumps(list(intro.shared_fields)),
        "meeting_at": intro.meeting_at,
        "shared_at": intro.shared_at,
        "closed_at": intro.closed_at,
        "version": intro.version,
    }


async def histories(conn: AsyncConnection, ids: list[int]) -> dict[int, tuple[Transition, ...]]:
    h = introduction_history.c
    rows = await conn.execute(
        sa.select(introduction_history).where(h.introduction_id.in_(ids)).order_by(h.introduction_id, h.id)
    )
    found: dict[int, list[Transition]] = {}
    for r in rows:
        found.setdefault(r.introduction_id, []).append(
            Transition(r.from_state, r.to_state, r.actor, r.reason, as_utc(r.at))
        )
    return {k: tuple(v) for k, v in found.items()}


async def get_introduction(conn: AsyncConnection, intro_id: int) -> Introduction | None:
    row = (await conn.execute(sa.select(introductions).where(introductions.c.id == intro_id))).first()
    if row is None:
        return None
    return to_introduction(row, (await histories(conn, [intro_id])).get(intro_id, ()))


async def open_introduction(conn: AsyncConnection, company_id: int, firm_id: int) -> int | None:
    c = introductions.c
    query = sa.select(c.id).where(c.company_id == company_id, c.firm_id == firm_id, c.closed_at.is_(None))
    return (await conn.execute(query)).scalar_one_or_none()


async def _with_history(conn: AsyncConnection, query: sa.Select[tuple[object, ...]]) -> list[Introduction]:
    rows = (await conn.execute(query)).all()
    found = await histories(conn, [r.id for r in rows]) if rows else {}
    return [to_introduction(r, found.get(r.id, ())) for r in rows]


async def list_introductions(
    conn: AsyncConnection,
    *,
    company_ids: list[int] | None,
    firm_ids: list[int] | None,
    states: list[str] | None,
    after: int | None,
    limit: int,
) -> list[Introduction]:
    c = introductions.c
    select = within(sa.select(introductions), (c.company_id, company_ids), (c.firm_id, firm_ids), (c.state, states))
    return await _with_history(conn, page(select, c.id, after, limit))


async def shared_introductions(
    conn: AsyncConnection, *, firm_id: int, states: list[str] | None, before: int | None, limit: int
) -> list[Introduction]:
    """A firm's introductions that the company consented to share, the newest first."""
    c = introductions.c
    select = within(sa.select(introductions).where(c.firm_id == firm_id, c.shared_at.is_not(None)), (c.state, states))
    return await _with_history(conn, page(select, c.id, before, limit, descending=True))


async def introductions_by_state(conn: AsyncConnection) -> list[tuple[str, int]]:
    c = introductions.c
    rows = await conn.execute(sa.select(c.state, sa.func.count()).group_by(c.state))
    return sorted((state, int(count)) for state, count in rows)


async def _write_history(conn: AsyncConnection, intro_id: int, steps: Iterable[Transition]) -> None:
    rows = [
        {
            "introduction_id": intro_id,
            "from_state": s.from_state,
            "to_state": s.to_state,
            "actor": s.actor,
            "reason": s.reason,
            "at": s.at,
        }
        for s in steps
    ]
    if rows:
        await conn.execute(introduction_history.insert(), rows)


async def insert_introduction(conn: AsyncConnection, intro: Introduction) -> Introduction:
    """Raises OpenPairTaken when the unique index of open pairs refuses it."""
    stamp = now()
    values = _introduction_values(intro) | {"created_at": stamp, "updated_at": stamp}
    try:
        query = introductions.insert().values(values).returning(introductions.c.id)
        intro_id = (await conn.execute(query)).scalar_one()
        await _write_history(conn, intro_id, intro.history)
    except IntegrityError as exc:
        if "introductions" not in str(exc.orig):
            raise
        raise OpenPairTaken from exc
    return replace(intro, id=intro_id, created_at=stamp, updated_at=stamp)


async def save_introduction(
    conn: AsyncConnection, intro: Introduction, step: Transition, *, expected_version: int
) -> Introduction:
    stamp = now()
    values = _introduction_values(intro) | {"updated_at": stamp}
    await save_versioned(conn, introductions, intro.id, expected_version, values, name=intro.name)
    await _write_history(conn, intro.id, [step])
    return replace(intro, updated_at=stamp)
