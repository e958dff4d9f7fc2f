"""The hub program's queries (SQLAlchemy Core: fast, explicit). The tables are in tables.py and the queries of
companies and people in registry/store.py; both are re-exported here for the program's code until it moves
to program/."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import now

# Re-exported for the program's code and tests, until they import tables.py and registry/store.py.
from services.companies.registry.store import apply_closed_round, get_company, get_person, to_company  # noqa: F401
from services.companies.tables import (  # noqa: F401
    NO_OVERLAP,
    access_tokens,
    applications,
    assignments,
    companies,
    company_rounds,
    company_tags,
    conflicts,
    erasures,
    kpi_reports,
    metadata,
    milestones,
    people,
    rounds,
    scores,
    spaces,
    stats_companies,
    support_grants,
    support_quotas,
)  # fmt: skip

# The hub program.


def _assignment_query() -> sa.Select[Any]:
    return sa.select(assignments, spaces.c.kind, spaces.c.label).join(spaces, spaces.c.id == assignments.c.space_id)


async def get_assignment(conn: AsyncConnection, assignment_id: int, *, lock: bool = False) -> Any:
    query = _assignment_query().where(assignments.c.id == assignment_id)
    return (await conn.execute(query.with_for_update(of=assignments) if lock else query)).first()


async def end_assignment(conn: AsyncConnection, assignment_id: int, move_out: date, reason: str) -> None:
    await conn.execute(
        assignments.update().where(assignments.c.id == assignment_id).values(move_out=move_out, move_out_reason=reason)
    )


async def used(conn: AsyncConnection, company_id: int, kind: str) -> int:
    c = support_grants.c
    query = sa.select(sa.func.coalesce(sa.func.sum(c.amount), 0)).where(c.company_id == company_id, c.kind == kind)
    return int((await conn.execute(query)).scalar_one())


async def insert_grant(conn: AsyncConnection, **values: Any) -> Any:
    c = support_grants.c
    grant_id = (
        await conn.execute(support_grants.insert().values(created_at=now(), **values).returning(c.id))
    ).scalar_one()
    return (await conn.execute(sa.select(support_grants).where(c.id == grant_id))).one()


async def record_counted(conn: AsyncConnection, *, source: str, **values: Any) -> Any | None:
    """A ledger entry counted from another service's event, once per source; None if it was counted before
    (a concurrent duplicate is refused by the unique index)."""
    c = support_grants.c
    if (await conn.execute(sa.select(c.id).where(c.source == source))).first() is not None:
        return None
    return await insert_grant(conn, source=source, **values)


async def open_assignments(conn: AsyncConnection, company_id: int, day: date) -> list[Any]:
    """The company's assignments not ended (no move-out reason) that hold a space on or after day, locked."""
    c = assignments.c
    query = _assignment_query().where(
        c.company_id == company_id, c.move_out_reason == "", sa.or_(c.move_out.is_(None), c.move_out > day)
    )
    return list(await conn.execute(query.order_by(c.id).with_for_update(of=assignments)))
