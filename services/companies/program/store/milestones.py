"""Milestones, as domain objects."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import keyset_after
from hubcore.rows import Rows, any_of
from services.companies.program.domain import Milestone
from services.companies.tables import milestones

MILESTONES = Rows(milestones, Milestone)

get_milestone = MILESTONES.get
insert_milestone = MILESTONES.insert


async def delete_milestone(conn: AsyncConnection, milestone_id: int) -> None:
    await conn.execute(milestones.delete().where(milestones.c.id == milestone_id))


async def list_milestones(
    conn: AsyncConnection, terms: dict[str, list[Any]], *, after: tuple[date, int] | None, limit: int
) -> list[Milestone]:
    """Milestones by achieve date then id, after a position if given, filtered by company ids and kinds."""
    c = milestones.c
    query = MILESTONES.select(*any_of((c.company_id, terms.get("company")), (c.kind, terms.get("kind"))))
    if after is not None:
        query = query.where(keyset_after([c.achieved_on, c.id], after, False))
    return await MILESTONES.all(conn, query.order_by(c.achieved_on, c.id).limit(limit))


async def milestones_by_company(conn: AsyncConnection) -> dict[int, list[tuple[str, date]]]:
    """company -> [(kind, achieved on)]."""
    c = milestones.c
    found: dict[int, list[tuple[str, date]]] = {}
    for row in await conn.execute(sa.select(c.company_id, c.kind, c.achieved_on)):
        found.setdefault(row.company_id, []).append((row.kind, row.achieved_on))
    return found
