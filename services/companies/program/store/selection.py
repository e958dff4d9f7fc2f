"""Selection's queries: rounds, applications, conflicts of interest and scores, as domain objects."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import now
from hubcore.rows import JSON, Rows, any_of, json_codec
from services.companies.program.domain import REJECTED, Application, Conflict, Criterion, Round, Score
from services.companies.registry.domain import SELECTED
from services.companies.tables import applications, companies, conflicts, people, review_assignments, rounds, scores

ROUNDS = Rows(
    rounds,
    Round,
    codecs={
        "seats": json_codec(ascii=True),
        "criteria": json_codec(
            lambda rows: [Criterion(*row) for row in rows], lambda cs: [[c.key, c.title, c.weight] for c in cs]
        ),
        "questions": JSON,
    },
)
CONFLICTS = Rows(conflicts, Conflict)
APPLICATIONS = Rows(
    applications,
    Application,
    codecs={
        "answers": json_codec(lambda pairs: [(q, t) for q, t in pairs], lambda pairs: [list(x) for x in pairs]),
        "attachment_urls": json_codec(ascii=True),
    },
)

get_round = ROUNDS.get
insert_round = ROUNDS.insert
get_application = APPLICATIONS.get
insert_application = APPLICATIONS.insert
save_application = APPLICATIONS.save


async def latest_round(conn: AsyncConnection) -> Round | None:
    """The latest round, with its count of applications."""
    row = (await conn.execute(ROUNDS.select().order_by(rounds.c.id.desc()).limit(1))).first()
    return ROUNDS.load(row, applications=await count_applications(conn, row.id)) if row else None


async def list_rounds(conn: AsyncConnection, *, before: int | None, limit: int) -> list[Round]:
    """Rounds newest first, below the id before if given, each with its count of applications."""
    found = await ROUNDS.list(conn, after=before, limit=limit, descending=True)
    counts = await application_counts(conn, [r.id for r in found])
    return [replace(r, applications=counts.get(r.id, 0)) for r in found]


async def application_counts(conn: AsyncConnection, round_ids: list[int]) -> dict[int, int]:
    c = applications.c
    rows = await conn.execute(
        sa.select(c.round_id, sa.func.count()).where(c.round_id.in_(round_ids)).group_by(c.round_id)
    )
    return {r: int(n) for r, n in rows.all()}


async def count_applications(conn: AsyncConnection, round_id: int) -> int:
    return await APPLICATIONS.count(conn, applications.c.round_id == round_id)


async def find_application(conn: AsyncConnection, round_id: int, applicant: str) -> int | None:
    c = applications.c
    query = sa.select(c.id).where(c.round_id == round_id, c.applicant == applicant)
    return (await conn.execute(query)).scalar_one_or_none()


async def round_applications(conn: AsyncConnection, round_id: int) -> list[Application]:
    c = applications.c
    return await APPLICATIONS.all(conn, APPLICATIONS.select(c.round_id == round_id).order_by(c.id))


async def list_applications(
    conn: AsyncConnection, terms: dict[str, list[Any]], *, after: int | None, limit: int
) -> list[Application]:
    """Applications by id, after the id after if given, filtered by round ids, states, applicants and the
    reviewers assigned to them."""
    c = applications.c
    where = any_of(
        (c.round_id, terms.get("round")), (c.state, terms.get("state")), (c.applicant, terms.get("applicant"))
    )
    if terms.get("reviewer"):
        r = review_assignments.c
        where.append(c.id.in_(sa.select(r.application_id).where(r.reviewer_id.in_(terms["reviewer"]))))
    return await APPLICATIONS.list(conn, *where, after=after, limit=limit)


async def with_applicant_names(conn: AsyncConnection, found: list[Application]) -> list[Application]:
    """The applications with their applicants' Korean names, read in one query per kind of applicant."""
    ids: dict[str, set[int]] = {"companies": set(), "people": set()}
    for a in found:
        kind, _, number = a.applicant.partition("/")
        ids[kind].add(int(number))
    names: dict[str, str] = {}
    for kind, table in (("companies", companies), ("people", people)):
        if ids[kind]:
            rows = await conn.execute(sa.select(table.c.id, table.c.korean_name).where(table.c.id.in_(ids[kind])))
            names |= {f"{kind}/{row.id}": row.korean_name or "" for row in rows}
    return [replace(a, applicant_name=names.get(a.applicant, "")) for a in found]


async def count_selected(conn: AsyncConnection, round_id: int, seat_kind: str) -> int:
    c = applications.c
    return await APPLICATIONS.count(conn, c.round_id == round_id, c.seat_kind == seat_kind, c.state == SELECTED)


async def declare_conflict(conn: AsyncConnection, conflict: Conflict) -> None:
    c = conflicts.c
    known = await conn.execute(
        sa.select(c.reviewer).where(
            c.round_id == conflict.round_id, c.reviewer == conflict.reviewer, c.applicant == conflict.applicant
        )
    )
    if known.first() is None:  # a concurrent declaration of the same conflict is caught by the primary key
        await CONFLICTS.insert(conn, conflict)


async def round_conflicts(conn: AsyncConnection, round_id: int) -> set[tuple[str, str]]:
    """(reviewer, applicant) pairs declared in conflict."""
    rows = await conn.execute(
        sa.select(conflicts.c.reviewer, conflicts.c.applicant).where(conflicts.c.round_id == round_id)
    )
    return {(r.reviewer, r.applicant) for r in rows}


async def insert_score(conn: AsyncConnection, application_id: int, score: Score) -> None:
    await conn.execute(
        scores.insert().values(
            application_id=application_id,
            reviewer=score.reviewer,
            score_values=json.dumps(score.values, sort_keys=True),
            comment=score.comment,
            created_at=now(),
            recorded_by=score.recorded_by,
            reason=score.reason,
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


async def decided_companies(conn: AsyncConnection) -> tuple[set[int], set[int]]:
    """The companies some round rejected, and those some round selected (ids)."""
    c = applications.c
    query = sa.select(c.applicant, c.state).where(c.state.in_((SELECTED, REJECTED)), c.applicant.like("companies/%"))
    rejected: set[int] = set()
    admitted: set[int] = set()
    for applicant, state in (await conn.execute(query)).all():
        (admitted if state == SELECTED else rejected).add(int(applicant.split("/")[1]))
    return rejected, admitted


async def round_decisions(conn: AsyncConnection, round_id: int) -> list[tuple[int, str, date | None]]:
    """The round's decided company applications: (company id, SELECTED or REJECTED, the day decided)."""
    c = applications.c
    query = sa.select(c.applicant, c.state, c.decided_on).where(
        c.round_id == round_id, c.state.in_((SELECTED, REJECTED)), c.applicant.like("companies/%")
    )
    return [(int(a.split("/")[1]), state, day) for a, state, day in (await conn.execute(query)).all()]
