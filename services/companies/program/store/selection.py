"""Selection's queries: rounds, applications, conflicts of interest and scores, as domain objects."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import now, save_versioned
from services.companies.program.domain import Application, Conflict, Criterion, Round
from services.companies.registry.domain import SELECTED
from services.companies.tables import applications, conflicts, rounds, scores


def to_round(row: Any, applications: int = 0) -> Round:
    return Round(
        id=row.id,
        title=row.title,
        open_date=row.open_date,
        close_date=row.close_date,
        seats=json.loads(row.seats),
        criteria=[Criterion(k, t, w) for k, t, w in json.loads(row.criteria)],
        questions=json.loads(row.questions),
        created_at=as_utc(row.created_at),
        applications=applications,
    )


async def insert_round(conn: AsyncConnection, r: Round) -> Round:
    stamp = now()
    round_id = (
        await conn.execute(
            rounds.insert()
            .values(
                title=r.title,
                open_date=r.open_date,
                close_date=r.close_date,
                seats=json.dumps(r.seats),
                criteria=json.dumps([[c.key, c.title, c.weight] for c in r.criteria], ensure_ascii=False),
                questions=json.dumps(r.questions, ensure_ascii=False),
                created_at=stamp,
            )
            .returning(rounds.c.id)
        )
    ).scalar_one()
    return replace(r, id=round_id, created_at=stamp)


async def get_round(conn: AsyncConnection, round_id: int, *, lock: bool = False) -> Round | None:
    """lock: FOR UPDATE on PostgreSQL, so that decisions on one round's seats are taken one at a time."""
    query = sa.select(rounds).where(rounds.c.id == round_id)
    row = (await conn.execute(query.with_for_update() if lock else query)).first()
    return to_round(row) if row else None


async def latest_round(conn: AsyncConnection) -> Round | None:
    """The latest round, with its count of applications."""
    row = (await conn.execute(sa.select(rounds).order_by(rounds.c.id.desc()).limit(1))).first()
    return to_round(row, await count_applications(conn, row.id)) if row else None


async def list_rounds(conn: AsyncConnection, *, before: int | None, limit: int) -> list[Round]:
    """Rounds newest first, below the id before if given, each with its count of applications."""
    c = rounds.c
    query = sa.select(rounds).order_by(c.id.desc()).limit(limit)
    if before is not None:
        query = query.where(c.id < before)
    found = list(await conn.execute(query))
    counts = await application_counts(conn, [r.id for r in found])
    return [to_round(r, counts.get(r.id, 0)) for r in found]


async def application_counts(conn: AsyncConnection, round_ids: list[int]) -> dict[int, int]:
    c = applications.c
    rows = await conn.execute(
        sa.select(c.round_id, sa.func.count()).where(c.round_id.in_(round_ids)).group_by(c.round_id)
    )
    return {r: int(n) for r, n in rows.all()}


async def count_applications(conn: AsyncConnection, round_id: int) -> int:
    query = sa.select(sa.func.count()).select_from(applications).where(applications.c.round_id == round_id)
    return int((await conn.execute(query)).scalar_one())


def to_application(row: Any) -> Application:
    return Application(
        id=row.id,
        round_id=row.round_id,
        applicant=row.applicant,
        seat_kind=row.seat_kind,
        answers=[(q, t) for q, t in json.loads(row.answers)],
        attachment_urls=json.loads(row.attachment_urls),
        state=row.state,
        decision_reason=row.decision_reason,
        created_at=as_utc(row.created_at),
        version=row.version,
    )


async def insert_application(conn: AsyncConnection, a: Application) -> Application:
    stamp = now()
    application_id = (
        await conn.execute(
            applications.insert()
            .values(
                round_id=a.round_id,
                applicant=a.applicant,
                seat_kind=a.seat_kind,
                answers=json.dumps([list(x) for x in a.answers], ensure_ascii=False),
                attachment_urls=json.dumps(a.attachment_urls),
                state=a.state,
                decision_reason=a.decision_reason,
                created_at=stamp,
                version=a.version,
            )
            .returning(applications.c.id)
        )
    ).scalar_one()
    return replace(a, id=application_id, created_at=stamp)


async def find_application(conn: AsyncConnection, round_id: int, applicant: str) -> int | None:
    c = applications.c
    query = sa.select(c.id).where(c.round_id == round_id, c.applicant == applicant)
    return (await conn.execute(query)).scalar_one_or_none()


async def get_application(conn: AsyncConnection, application_id: int) -> Application | None:
    row = (await conn.execute(sa.select(applications).where(applications.c.id == application_id))).first()
    return to_application(row) if row else None


async def round_applications(conn: AsyncConnection, round_id: int) -> list[Application]:
    c = applications.c
    rows = await conn.execute(sa.select(applications).where(c.round_id == round_id).order_by(c.id))
    return [to_application(r) for r in rows]


async def list_applications(
    conn: AsyncConnection, terms: dict[str, list[Any]], *, after: int | None, limit: int
) -> list[Application]:
    """Applications by id, after the id after if given, filtered by round ids, states and applicants."""
    c = applications.c
    query = sa.select(applications).order_by(c.id).limit(limit)
    for key, column in (("round", c.round_id), ("state", c.state), ("applicant", c.applicant)):
        if key in terms:
            query = query.where(column.in_(terms[key]))
    if after is not None:
        query = query.where(c.id > after)
    return [to_application(r) for r in await conn.execute(query)]


async def save_application(conn: AsyncConnection, a: Application, *, expected_version: int) -> None:
    values = {"state": a.state, "decision_reason": a.decision_reason, "version": a.version}
    await save_versioned(conn, applications, a.id, expected_version, values, name=a.name)


async def count_selected(conn: AsyncConnection, round_id: int, seat_kind: str) -> int:
    c = applications.c
    query = (
        sa.select(sa.func.count())
        .select_from(applications)
        .where(c.round_id == round_id, c.seat_kind == seat_kind, c.state == SELECTED)
    )
    return int((await conn.execute(query)).scalar_one())


async def declare_conflict(conn: AsyncConnection, conflict: Conflict) -> None:
    c = conflicts.c
    known = await conn.execute(
        sa.select(c.reviewer).where(
            c.round_id == conflict.round_id, c.reviewer == conflict.reviewer, c.applicant == conflict.applicant
        )
    )
    if known.first() is None:  # a concurrent declaration of the same conflict is caught by the primary key
        await conn.execute(
            conflicts.insert().values(
                round_id=conflict.round_id,
                reviewer=conflict.reviewer,
                applicant=conflict.applicant,
                reason=conflict.reason,
                created_at=now(),
            )
        )


async def round_conflicts(conn: AsyncConnection, round_id: int) -> set[tuple[str, str]]:
    """(reviewer, applicant) pairs declared in conflict."""
    rows = await conn.execute(
        sa.select(conflicts.c.reviewer, conflicts.c.applicant).where(conflicts.c.round_id == round_id)
    )
    return {(r.reviewer, r.applicant) for r in rows}


async def has_score(conn: AsyncConnection, application_id: int, reviewer: str) -> bool:
    c = scores.c
    found = await conn.execute(sa.select(c.reviewer).where(c.application_id == application_id, c.reviewer == reviewer))
    return found.first() is not None


async def insert_score(
    conn: AsyncConnection, application_id: int, reviewer: str, values: dict[str, int], comment: str
) -> None:
    await conn.execute(
        scores.insert().values(
            application_id=application_id,
            reviewer=reviewer,
            score_values=json.dumps(values, sort_keys=True),
            comment=comment,
            created_at=now(),
        )
    )


async def round_scores(conn: AsyncConnection, round_id: int) -> list[tuple[str, str, dict[str, int]]]:
    """(application name, reviewer, values) of every score of the round's applications."""
    query = (
        sa.select(scores.c.application_id, scores.c.reviewer, scores.c.score_values)
        .join(applications, applications.c.id == scores.c.application_id)
        .where(applications.c.round_id == round_id)
    )
    return [
        (f"applications/{r.application_id}", r.reviewer, json.loads(r.score_values)) for r in await conn.execute(query)
    ]


async def round_cohorts(conn: AsyncConnection) -> dict[int, int]:
    """company -> the first round that selected it."""
    c = applications.c
    query = (
        sa.select(c.applicant, sa.func.min(c.round_id))
        .where(c.state == SELECTED, c.applicant.like("companies/%"))
        .group_by(c.applicant)
    )
    return {int(applicant.split("/")[1]): int(r) for applicant, r in (await conn.execute(query)).all()}
