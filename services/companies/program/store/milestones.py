"""Milestones, as domain objects."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import keyset_after, now
from services.companies.program.domain import Milestone
from services.companies.tables import milestones


def to_milestone(row: Any) -> Milestone:
    return Milestone(
        id=row.id,
        company_id=row.company_id,
        kind=row.kind,
        achieved_on=row.achieved_on,
        evidence_url=row.evidence_url,
        evidence=row.evidence,
        actor=row.actor,
        created_at=as_utc(row.created_at),
    )


async def insert_milestone(conn: AsyncConnection, m: Milestone) -> Milestone:
    values = {
        "company_id": m.company_id, "kind": m.kind, "achieved_on": m.achieved_on, "evidence_url": m.evidence_url,
        "evidence": m.evidence, "actor": m.actor, "created_at": now(),
    }  # fmt: skip
    milestone_id = (await conn.execute(milestones.insert().values(values).returning(milestones.c.id))).scalar_one()
    found = await get_milestone(conn, milestone_id)
    assert found is not None
    return found


async def get_milestone(conn: AsyncConnection, milestone_id: int) -> Milestone | None:
    row = (await conn.execute(sa.select(milestones).where(milestones.c.id == milestone_id))).first()
    return to_milestone(row) if row else None


async def delete_milestone(conn: AsyncConnection, milestone_id: int) -> None:
    await conn.execute(milestones.delete().where(milestones.c.id == milestone_id))


async def list_milestones(
    conn: AsyncConnection, terms: dict[str, list[Any]], *, after: tuple[date, int] | None, limit: int
) -> list[Milestone]:
    """Milestones by achieve date then id, after a position if given, filtered by company ids and kinds."""
    c = milestones.c
    query = sa.select(milestones).order_by(c.achieved_on, c.id).limit(limit)
    for key, column in (("company", c.company_id), ("kind", c.kind)):
        if key in terms:
            query = query.where(column.in_(terms[key]))
    if after is not None:
        query = query.where(keyset_after([c.achieved_on, c.id], after, False))
    return [to_milestone(r) for r in await conn.execute(query)]


async def milestones_by_company(conn: AsyncConnection) -> dict[int, list[tuple[str, date]]]:
    """company -> [(kind, achieved on)]."""
    c = milestones.c
    found: dict[int, list[tuple[str, date]]] = {}
    for row in await conn.execute(sa.select(c.company_id, c.kind, c.achieved_on)):
        found.setdefault(row.company_id, []).append((row.kind, row.achieved_on))
    return found
