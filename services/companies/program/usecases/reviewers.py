"""Reviewers' use cases: the reviewers, their assignments to applications, abstentions, and scores (a reviewer's own,
or one a program manager records or corrects for them with a reason)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import IntegrityError

from hubcore import errors
from hubcore.db import Database, UnitOfWork, now
from hubcore.rows import paged
from services.companies.program import domain, store
from services.companies.program.usecases.selection import find_application, find_reviewer, find_round, reviewers_own


async def create_reviewer(uow: UnitOfWork, reviewer: domain.Reviewer) -> domain.Reviewer:
    return await store.insert_reviewer(uow.conn, reviewer)


async def get_reviewer(db: Database, number: int, name: str) -> domain.Reviewer:
    async with db.read() as conn:
        return await find_reviewer(conn, name)


async def list_reviewers(db: Database, *, size: int, token: str) -> tuple[list[domain.Reviewer], str]:
    fetch = lambda conn, after, limit: store.list_reviewers(conn, after=after, limit=limit)  # noqa: E731
    return await paged(db, "reviewers", token, size, fetch)


async def assign_reviewer(
    uow: UnitOfWork, reviewer_name: str, application_names: list[str], round_name: str
) -> tuple[list[domain.ReviewAssignment], list[str]]:
    """Assigns the reviewer to the applications named, or to every application of the round; a conflict declared
    with an applicant refuses an application named and leaves one of the round out (the second list)."""
    errors.refuse_if(
        (bool(application_names) == bool(round_name), "applications", "name applications or a round (one of them)"),
        (len(application_names) > domain.MAX_ASSIGNED_AT_ONCE, "applications",
         f"at most {domain.MAX_ASSIGNED_AT_ONCE} at once"),
    )  # fmt: skip
    reviewer = await find_reviewer(uow.conn, reviewer_name, "reviewer")
    if round_name:
        found = await store.round_applications(uow.conn, (await find_round(uow.conn, round_name, "round")).id)
    else:
        named = dict.fromkeys(application_names)  # each once, in the order given
        found = [await find_application(uow.conn, n, f"applications[{i}]") for i, n in enumerate(named)]
    conflicts = {r: await store.round_conflicts(uow.conn, r) for r in {a.round_id for a in found}}
    conflicted = [a for a in found if domain.in_conflict(reviewer.keys, a.applicant, conflicts[a.round_id])]
    if conflicted and not round_name:
        a = conflicted[0]
        domain.check_scorer(reviewer.name, a, conflicts[a.round_id], reviewer.keys)  # says why, FAILED_PRECONDITION
    wanted = [a.id for a in found if a not in conflicted]
    await store.assign(uow.conn, wanted, reviewer.id, uow.actor)
    assignments = [await store.get_review_assignment(uow.conn, a, reviewer.id) for a in wanted]
    return await store.with_states(uow.conn, [a for a in assignments if a]), [a.name for a in conflicted]


async def list_assignments(
    db: Database, terms: dict[str, list[Any]], *, size: int, token: str, reviewer: int | None = None
) -> tuple[list[domain.ReviewAssignment], str]:
    """A page of assignments, in the order they were made; a reviewer's (their id) own only."""
    terms = reviewers_own(terms, reviewer)
    fetch = lambda conn, after, limit: store.list_assignments(conn, terms, after=after, limit=limit)  # noqa: E731
    return await paged(db, f"reviewAssignments|{sorted(terms.items())}", token, size, fetch)


async def _assignment(
    uow: UnitOfWork, application: domain.Application, acting: domain.Acting
) -> domain.ReviewAssignment:
    """The acting reviewer's assignment to the application, with its state."""
    reviewer = acting.reviewer_id
    found = await store.get_review_assignment(uow.conn, application.id, reviewer) if reviewer is not None else None
    if found is None:
        raise domain.not_assigned(application, acting)
    [assignment] = await store.with_states(uow.conn, [found])
    return assignment


async def abstain(
    uow: UnitOfWork, application_name: str, acting: domain.Acting, reason: str
) -> domain.ReviewAssignment:
    """The reviewer steps back from an application assigned to them (not one scored or in conflict)."""
    if acting.reviewer_id is None:
        raise errors.invalid("reviewer", "must name a reviewer: reviewers/<number>")
    own = acting.reviewer_id if acting.own else None
    a = await find_application(uow.conn, application_name, "application", reviewer=own)
    abstained = (await _assignment(uow, a, acting)).abstain(now(), uow.actor, reason)
    await store.save_abstention(uow.conn, abstained)
    return abstained


async def score_application(
    uow: UnitOfWork, application_name: str, acting: domain.Acting, values: dict[str, int], comment: str
) -> domain.Score:
    """One score per reviewer and application, on every criterion of the round; not by a reviewer in conflict or
    who abstained. A reviewer scores what they are assigned to; a program manager records a registered reviewer's
    score (or corrects it) only with a reason, and a free-text name only in a round without assigned reviewers."""
    acting.require_reason("records a score")
    own = acting.reviewer_id if acting.own else None
    a = await find_application(uow.conn, application_name, "score.application", reviewer=own)
    r = await find_round(uow.conn, f"rounds/{a.round_id}")
    domain.check_score_values(r, values)
    keys: frozenset[str] = frozenset()
    if acting.reviewer_id is not None:
        keys = (await find_reviewer(uow.conn, acting.reviewer, "score.reviewer")).keys
        (await _assignment(uow, a, acting)).require_scorable()
    elif await store.round_has_assignments(uow.conn, r.id):
        raise errors.FailedPrecondition(
            f"{r.name} has reviewers assigned: record a score for one of them (reviewers/<number>), with a reason",
            type_="REVIEWERS_ASSIGNED", subject=r.name,
        )  # fmt: skip
    domain.check_scorer(acting.reviewer, a, await store.round_conflicts(uow.conn, r.id), keys)
    score = domain.Score(
        a.name, acting.reviewer, values, comment, domain.weighted_score(r.criteria, values), uow.actor, acting.reason
    )
    already = errors.AlreadyExists(
        "Score", f"{a.name}/scores/{acting.reviewer}", f"{acting.reviewer} already scored {a.name}"
    )
    if await store.get_score(uow.conn, a, acting.reviewer) is not None:
        if acting.own or not acting.reason:
            raise already
        await store.correct_score(uow.conn, a.id, score)  # a program manager's correction, with its reason
        return score
    try:
        await store.insert_score(uow.conn, a.id, score)
    except IntegrityError:  # the same reviewer's score, recorded at the same moment
        raise already from None
    return score
