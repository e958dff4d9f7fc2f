"""The company directory (the read model of the companies service's events) and introductions with their
history: queries that return domain objects."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.requests import Terms
from hubcore.rows import JSON_TUPLE, Rows, any_of, filtered_by, json_codec, upsert_newer
from services.investors.domain import DirectoryCompany, Introduction, Transition
from services.investors.store.tables import Row, directory, introduction_history, introductions


class OpenPairTaken(Exception):
    """The company already has an open introduction to the firm: a concurrent request committed it first, and
    the unique index refused this one."""


DIRECTORY = Rows(directory, DirectoryCompany, codecs={"tags": JSON_TUPLE})  # the id is the company's
HISTORY = Rows(introduction_history, Transition)
INTRODUCTIONS = Rows(introductions, Introduction, codecs={"shared_fields": json_codec(tuple, list, ascii=True)})

get_directory_company = DIRECTORY.get
directory_by_id = DIRECTORY.by_ids


async def live_directory(conn: AsyncConnection) -> list[DirectoryCompany]:
    return await DIRECTORY.all(conn, DIRECTORY.select(directory.c.archived.is_(False)).order_by(directory.c.id))


async def upsert_directory_company(conn: AsyncConnection, company: DirectoryCompany) -> bool:
    """Applies a snapshot if it is newer than what the directory holds; returns whether it did."""
    return await upsert_newer(conn, directory, {"id": company.id}, DIRECTORY.values(company))


# Introductions


def to_introduction(row: Row, history: tuple[Transition, ...] = ()) -> Introduction:
    return INTRODUCTIONS.load(row, history=history)


async def histories(conn: AsyncConnection, ids: list[int]) -> dict[int, tuple[Transition, ...]]:
    h = introduction_history.c
    found: dict[int, list[Transition]] = {}
    for row in await conn.execute(HISTORY.select(h.introduction_id.in_(ids)).order_by(h.introduction_id, h.id)):
        found.setdefault(row.introduction_id, []).append(HISTORY.load(row))
    return {k: tuple(v) for k, v in found.items()}


async def get_introduction(conn: AsyncConnection, intro_id: int) -> Introduction | None:
    found = await _with_history(conn, INTRODUCTIONS.select(introductions.c.id == intro_id))
    return found[0] if found else None


async def open_introduction(conn: AsyncConnection, company_id: int, firm_id: int) -> int | None:
    c = introductions.c
    query = sa.select(c.id).where(c.company_id == company_id, c.firm_id == firm_id, c.closed_at.is_(None))
    return (await conn.execute(query)).scalar_one_or_none()


async def _with_history(conn: AsyncConnection, query: sa.Select[tuple[object, ...]]) -> list[Introduction]:
    rows = (await conn.execute(query)).all()
    found = await histories(conn, [r.id for r in rows]) if rows else {}
    return [to_introduction(r, found.get(r.id, ())) for r in rows]


async def list_introductions(conn: AsyncConnection, terms: Terms, after: int | None, limit: int) -> list[Introduction]:
    """By id, of the companies, firms and states the terms name."""
    c = introductions.c
    where = filtered_by(terms, {"company": c.company_id, "firm": c.firm_id, "state": c.state})
    return await _with_history(conn, INTRODUCTIONS.page(*where, after=after, limit=limit))


async def shared_introductions(
    conn: AsyncConnection, *, firm_id: int, states: list[str] | None, before: int | None, limit: int
) -> list[Introduction]:
    """A firm's introductions that the company consented to share or that the firm asked for, the newest first."""
    c = introductions.c
    where = [*_seen_by(firm_id), *any_of((c.state, states))]
    return await _with_history(conn, INTRODUCTIONS.page(*where, after=before, limit=limit, descending=True))


def _seen_by(firm_id: int) -> list[sa.ColumnElement[bool]]:
    """The firm's introductions it may see (Introduction.visible_to_firm, in SQL)."""
    c = introductions.c
    return [c.firm_id == firm_id, sa.or_(c.shared_at.is_not(None), c.requested_by != "")]


async def open_seen_introductions(conn: AsyncConnection, firm_id: int, company_ids: list[int]) -> dict[int, str]:
    """The firm's open introductions it may see, by company: introductions/{id}."""
    c = introductions.c
    query = sa.select(c.company_id, c.id).where(
        *_seen_by(firm_id), c.closed_at.is_(None), c.company_id.in_(company_ids)
    )
    return {company_id: f"introductions/{intro_id}" for company_id, intro_id in await conn.execute(query)}


async def introductions_by_state(conn: AsyncConnection) -> list[tuple[str, int]]:
    c = introductions.c
    rows = await conn.execute(sa.select(c.state, sa.func.count()).group_by(c.state))
    return sorted((state, int(count)) for state, count in rows)


async def insert_introduction(conn: AsyncConnection, intro: Introduction) -> Introduction:
    """Raises OpenPairTaken when the unique index of open pairs refuses it."""
    try:
        intro = await INTRODUCTIONS.insert(conn, intro)
        await HISTORY.insert_many(conn, intro.history, introduction_id=intro.id)
    except IntegrityError as exc:
        if "introductions" not in str(exc.orig):
            raise
        raise OpenPairTaken from exc
    return intro


async def save_introduction(
    conn: AsyncConnection, intro: Introduction, step: Transition, *, expected_version: int
) -> Introduction:
    intro = await INTRODUCTIONS.save(conn, intro, expected_version=expected_version)
    await HISTORY.insert(conn, step, introduction_id=intro.id)
    return intro
