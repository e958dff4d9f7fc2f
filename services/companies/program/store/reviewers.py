"""Reviewers' queries: the reviewers, their assignments (with what became of each) and the scores' records."""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import now
from hubcore.rows import Rows, any_of
from services.companies.program.domain import Application, ReviewAssignment, Reviewer, Score, in_conflict
from services.companies.program.store.selection import APPLICATIONS, round_conflicts
from services.companies.tables import applications, review_assignments, reviewers, scores

REVIEWERS = Rows(reviewers, Reviewer)
ASSIGNMENTS = Rows(review_assignments, ReviewAssignment)

get_reviewer = REVIEWERS.get
insert_reviewer = REVIEWERS.insert


async def list_reviewers(conn: AsyncConnection, *, after: int | None, limit: int) -> list[Reviewer]:
    return await REVIEWERS.list(conn, after=after, limit=limit)


async def assign(conn: AsyncConnection, application_ids: list[int], reviewer_id: int, actor: str) -> None:
    """Assigns the reviewer to the applications, leaving the assignments already made as they are (a concurrent
    assignment of the same pair too)."""
    if not application_ids:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    rows = [
        {"application_id": a, "reviewer_id": reviewer_id, "assigned_by": actor, "assigned_at": now()}
        for a in application_ids
    ]
    insert = dialect.insert(review_assignments).on_conflict_do_nothing(index_elements=["application_id", "reviewer_id"])
    await conn.execute(insert, rows)


async def get_review_assignment(
    conn: AsyncConnection, application_id: int, reviewer_id: int
) -> ReviewAssignment | None:
    c = review_assignments.c
    return await ASSIGNMENTS.first(conn, c.application_id == application_id, c.reviewer_id == reviewer_id)


async def save_abstention(conn: AsyncConnection, assignment: ReviewAssignment) -> None:
    c = review_assignments.c
    await conn.execute(
        review_assignments.update()
        .where(c.application_id == assignment.application_id, c.reviewer_id == assignment.reviewer_id)
        .values(
            abstained_at=assignment.abstained_at,
            abstained_by=assignment.abstained_by,
            abstain_reason=assignment.abstain_reason,
        )
    )


async def round_has_assignments(conn: AsyncConnection, round_id: int, reviewer_id: int | None = None) -> bool:
    """Whether anyone (or the reviewer) is assigned to an application of the round."""
    query = (
        sa.select(review_assignments.c.reviewer_id)
        .join(applications, applications.c.id == review_assignments.c.application_id)
        .where(applications.c.round_id == round_id)
        .limit(1)
    )
    if reviewer_id is not None:
        query = query.where(review_assignments.c.reviewer_id == reviewer_id)
    return (await conn.execute(query)).first() is not None


async def list_assignments(
    conn: AsyncConnection, terms: dict[str, list[Any]], *, after: int | None, limit: int
) -> list[ReviewAssignment]:
    """Assignments in the order they were made, filtered by reviewer, application and round ids, each with its
    state."""
    c = review_assignments.c
    where = any_of(
        (c.reviewer_id, terms.get("reviewer")),
        (c.application_id, terms.get("application")),
        (applications.c.round_id, terms.get("round")),
    )
    query = ASSIGNMENTS.page(*where, after=after, limit=limit).join(applications, applications.c.id == c.application_id)
    return await with_states(conn, await ASSIGNMENTS.all(conn, query))


async def with_states(conn: AsyncConnection, found: list[ReviewAssignment]) -> list[ReviewAssignment]:
    """The assignments with what became of each: scored, abstained, or conflicted since."""
    if not found:
        return []
    of = await APPLICATIONS.by_ids(conn, {a.application_id for a in found})
    who = await REVIEWERS.by_ids(conn, {a.reviewer_id for a in found})
    c = scores.c
    rows = await conn.execute(sa.select(c.application_id, c.reviewer).where(c.application_id.in_(set(of))))
    scored = {(r.application_id, r.reviewer) for r in rows}
    conflicts = {r: await round_conflicts(conn, r) for r in {a.round_id for a in of.values()}}
    result = []
    for a in found:
        application: Application = of[a.application_id]
        conflicted = in_conflict(who[a.reviewer_id].keys, application.applicant, conflicts[application.round_id])
        result.append(a.with_state(scored=(a.application_id, a.reviewer) in scored, conflicted=conflicted))
    return result


async def get_score(conn: AsyncConnection, application: Application, reviewer: str) -> Score | None:
    c = scores.c
    row = (
        await conn.execute(sa.select(scores).where(c.application_id == application.id, c.reviewer == reviewer))
    ).first()
    if row is None:
        return None
    return Score(application.name, reviewer, json.loads(row.score_values), row.comment, recorded_by=row.recorded_by,
                 reason=row.reason)  # fmt: skip


async def correct_score(conn: AsyncConnection, application_id: int, score: Score) -> None:
    """A program manager's correction: the reviewer's score replaced, with who did it and why."""
    c = scores.c
    await conn.execute(
        scores.update()
        .where(c.application_id == application_id, c.reviewer == score.reviewer)
        .values(
            score_values=json.dumps(score.values, sort_keys=True),
            comment=score.comment,
            recorded_by=score.recorded_by,
            reason=score.reason,
        )
    )
