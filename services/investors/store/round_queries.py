"""Funding rounds with their participants, and the figures drawn from them: queries that return domain
objects."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.requests import Terms
from hubcore.rows import Rows, filtered_by
from services.investors.domain import Round
from services.investors.store.tables import Row, introductions, round_participants, rounds

ROUNDS = Rows(rounds, Round, columns={"amount": "amount_krw", "pre_money": "pre_money_krw"})


def to_round(row: Row, participants: tuple[tuple[int, int], ...]) -> Round:
    return ROUNDS.load(row, participants=participants)


async def _with_participants(conn: AsyncConnection, query: sa.Select[tuple[object, ...]]) -> list[Round]:
    rows = (await conn.execute(query)).all()
    if not rows:
        return []
    p = round_participants.c
    found: dict[int, list[tuple[int, int]]] = {}
    for r in await conn.execute(
        sa.select(round_participants).where(p.round_id.in_([r.id for r in rows])).order_by(p.round_id, p.firm_id)
    ):
        found.setdefault(r.round_id, []).append((r.firm_id, r.amount_krw))
    return [to_round(r, tuple(found.get(r.id, ()))) for r in rows]


async def get_round(conn: AsyncConnection, round_id: int) -> Round | None:
    found = await _with_participants(conn, ROUNDS.select(rounds.c.id == round_id))
    return found[0] if found else None


async def list_rounds(conn: AsyncConnection, terms: Terms, after: int | None, limit: int) -> list[Round]:
    """Rounds by id, of the companies and statuses the terms name; a firm term: rounds any of those firms took
    part in (or led)."""
    c, p = rounds.c, round_participants.c
    where = filtered_by(terms, {"company": c.company_id, "status": c.status})
    if (firm_ids := terms.get("firm")) is not None:
        where.append(c.id.in_(sa.select(p.round_id).where(p.firm_id.in_(firm_ids))))
    return await _with_participants(conn, ROUNDS.page(*where, after=after, limit=limit))


async def insert_round(conn: AsyncConnection, new: Round) -> Round:
    new = await ROUNDS.insert(conn, new)
    if new.participants:
        await conn.execute(
            round_participants.insert(),
            [{"round_id": new.id, "firm_id": f, "amount_krw": a} for f, a in new.participants],
        )
    return new


save_round = ROUNDS.save


async def open_round_amounts(conn: AsyncConnection, company_ids: Iterable[int]) -> dict[int, int]:
    """Each company's current round: the latest OPEN one's amount."""
    c = rounds.c
    query = sa.select(c.company_id, c.amount_krw).where(c.company_id.in_(set(company_ids)), c.status == "OPEN")
    rows = await conn.execute(query.order_by(c.id))
    return {company_id: amount for company_id, amount in rows}


async def firm_knows_company(conn: AsyncConnection, firm_id: int, company_id: int) -> bool:
    """The firm was introduced to the company (the company consented) or took part in one of its rounds."""
    i, r, p = introductions.c, rounds.c, round_participants.c
    introduced = sa.select(i.id).where(i.firm_id == firm_id, i.company_id == company_id, i.shared_at.is_not(None))
    invested = (
        sa.select(r.id)
        .join(round_participants, p.round_id == r.id)
        .where(r.company_id == company_id, p.firm_id == firm_id, r.status != "CANCELLED")
    )
    found = await conn.execute(sa.select(sa.exists(introduced) | sa.exists(invested)))
    return bool(found.scalar())


async def closed_in(conn: AsyncConnection, start: date, end: date) -> tuple[int, int]:
    """How many rounds closed from start (inclusive) to end (exclusive), and the KRW they raised."""
    c = rounds.c
    closed = sa.and_(c.status == "CLOSED", c.closed_on >= start, c.closed_on < end)
    count, raised = (
        await conn.execute(sa.select(sa.func.count(), sa.func.coalesce(sa.func.sum(c.amount_krw), 0)).where(closed))
    ).one()
    return int(count), int(raised)
