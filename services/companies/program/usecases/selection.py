"""Selection's use cases: rounds, applications, conflicts of interest, scores, the ranking and the decisions."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from functools import partial
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.convert import seoul_today
from hubcore.db import Database, UnitOfWork
from hubcore.requests import check_etag, parse_name
from hubcore.rows import keyset_page, paged
from services.companies.program import convert, domain, store
from services.companies.program.usecases.common import SUBJECT, active_company
from services.companies.registry import store as companies
from services.companies.registry import usecases as registry
from services.companies.registry.domain import RESIDENT, SELECTED


async def find_round(conn: AsyncConnection, name: str, field: str = "name", *, lock: bool = False) -> domain.Round:
    r = await store.get_round(conn, parse_name(name, "rounds", field), lock=lock)
    if r is None:
        raise errors.NotFound("Round", name)
    return r


async def find_application(
    conn: AsyncConnection, name: str, field: str = "name", *, reviewer: int | None = None
) -> domain.Application:
    """The application named; for a reviewer (their id), only one assigned to them (else NOT_FOUND: they do not
    learn which others exist)."""
    a = await store.get_application(conn, parse_name(name, "applications", field))
    if a is None or (reviewer is not None and await store.get_review_assignment(conn, a.id, reviewer) is None):
        raise errors.NotFound("Application", name)
    return a


async def create_round(uow: UnitOfWork, r: domain.Round) -> domain.Round:
    return await store.insert_round(uow.conn, r)


async def get_round(db: Database, name: str, *, reviewer: int | None = None) -> domain.Round:
    """The round; for a reviewer (their id), only one they are assigned in (else NOT_FOUND)."""
    async with db.read() as conn:
        r = await find_round(conn, name)
        if reviewer is not None and not await store.round_has_assignments(conn, r.id, reviewer):
            raise errors.NotFound("Round", name)
        return replace(r, applications=await store.count_applications(conn, r.id))


async def list_rounds(db: Database, *, size: int, token: str) -> tuple[list[domain.Round], str]:
    """A page of rounds, newest first, and the next page's token."""
    fetch = lambda conn, before, limit: store.list_rounds(conn, before=before, limit=limit)  # noqa: E731
    return await paged(db, "rounds", token, size, fetch)


async def list_applications(
    db: Database, terms: dict[str, list[Any]], *, size: int, token: str, reviewer: int | None = None
) -> tuple[list[domain.Application], str]:
    """A page of applications filtered by terms (round ids, states, applicants, assigned reviewers), and the next
    page's token. For a reviewer (their id), only the applications assigned to them."""
    terms = reviewers_own(terms, reviewer)
    async with db.read() as conn:
        fetch = partial(store.list_applications, conn, terms)
        page, following = await keyset_page(
            f"applications|{sorted(terms.items())}", token, size, lambda after, limit: fetch(after=after, limit=limit)
        )
        return await store.with_applicant_names(conn, page), following


def reviewers_own(terms: dict[str, list[Any]], reviewer: int | None) -> dict[str, list[Any]]:
    """A list's terms for a reviewer (their id): theirs only; asking for another reviewer's is PERMISSION_DENIED."""
    if reviewer is None:
        return terms
    if terms.get("reviewer", [reviewer]) != [reviewer]:
        raise errors.PermissionDenied(f"a reviewer may act only for reviewers/{reviewer}")
    return terms | {"reviewer": [reviewer]}


async def create_application(
    uow: UnitOfWork, round_name: str, application: domain.Application, *, today: date
) -> domain.Application:
    """Applies to an open round that offers the seat kind, once per applicant, which must exist."""
    r = await find_round(uow.conn, round_name, "application.round")
    r.require_seat_kind(application.seat_kind)
    r.require_open(today)
    applicant = application.applicant
    if applicant.startswith("companies/"):
        await active_company(uow.conn, applicant, "application.applicant")
    elif await companies.get_person(uow.conn, parse_name(applicant, "people")) is None:
        raise errors.NotFound("Person", applicant)
    existing = await store.find_application(uow.conn, r.id, applicant)
    if existing is not None:
        raise errors.AlreadyExists(
            "Application", f"applications/{existing}", f"{applicant} already applied to {r.name}"
        )
    try:
        made = await store.insert_application(uow.conn, replace(application, round_id=r.id))
    except IntegrityError:  # a concurrent application of the same applicant to the same round won
        raise errors.AlreadyExists("Application", applicant, f"{applicant} already applied to {round_name}") from None
    [named] = await store.with_applicant_names(uow.conn, [made])
    return named


async def get_application(db: Database, name: str, *, reviewer: int | None = None) -> domain.Application:
    async with db.read() as conn:
        [found] = await store.with_applicant_names(conn, [await find_application(conn, name, reviewer=reviewer)])
        return found


async def declare_conflict(db: Database, conflict: domain.Conflict, *, round_name: str, actor: str) -> domain.Conflict:
    """Declares a reviewer's conflict with an applicant of the round named (conflict.round_id is left to this);
    a registered reviewer (reviewers/N) must exist."""
    try:
        async with db.write(actor=actor) as uow:
            r = await find_round(uow.conn, round_name, "conflict.round")
            if domain.Acting(conflict.reviewer).reviewer_id is not None:
                await find_reviewer(uow.conn, conflict.reviewer, "conflict.reviewer")
            await _known_applicant(uow.conn, conflict.applicant)
            await store.declare_conflict(uow.conn, replace(conflict, round_id=r.id))
    except IntegrityError:  # declared at the same moment by another call: it is declared
        pass
    return replace(conflict, round_id=parse_name(round_name, "rounds", "conflict.round"))


async def _known_applicant(conn: AsyncConnection, applicant: str) -> None:
    """A conflict may be declared before the applicant applies, but with a company or person the hub knows."""
    if applicant.startswith("companies/"):
        company = await companies.get_company(conn, parse_name(applicant, "companies", "conflict.applicant"))
        if company is None:
            raise errors.NotFound("Company", applicant)
    elif await companies.get_person(conn, parse_name(applicant, "people", "conflict.applicant")) is None:
        raise errors.NotFound("Person", applicant)


async def find_reviewer(conn: AsyncConnection, name: str, field: str = "name") -> domain.Reviewer:
    found = await store.get_reviewer(conn, parse_name(name, "reviewers", field))
    if found is None:
        raise errors.NotFound("Reviewer", name)
    return found


async def rank_applications(db: Database, round_name: str, scale: str = domain.RAW) -> list[domain.Standing]:
    async with db.read() as conn:
        r = await find_round(conn, round_name, "round")
        applications = await store.round_applications(conn, r.id)
        scores = await store.round_scores(conn, r.id)
        conflicts = await store.round_conflicts(conn, r.id)
    state = {a.name: a.state for a in applications}
    ranked = domain.rank(
        r.criteria, [(a.name, a.applicant, a.created_at or datetime.min) for a in applications], scores, conflicts,
        scale,
    )  # fmt: skip
    return [domain.Standing(n, e, state[e.application]) for n, e in enumerate(ranked, 1)]


async def decide_application(
    uow: UnitOfWork, name: str, decision: str, reason: str, *, etag: str
) -> domain.Application:
    """Selects, waitlists or rejects within the round's seats; a selected company or individual becomes SELECTED."""
    a = await find_application(uow.conn, name)
    check_etag(etag, a.etag)
    r = await find_round(uow.conn, f"rounds/{a.round_id}", lock=True)  # seats: one decision at a time
    selected = await store.count_selected(uow.conn, r.id, a.seat_kind)
    decided = a.decide(decision, reason, selected_of_kind=selected, seats_of_kind=r.seats.get(a.seat_kind, 0))
    decided = replace(decided, decided_on=seoul_today())
    await store.save_application(uow.conn, decided, expected_version=a.version)
    if decision == SELECTED and a.applicant.startswith("companies/"):
        company = await active_company(uow.conn, a.applicant, "name")
        if company.status not in (SELECTED, RESIDENT):  # a resident's renewal stays resident
            await registry.change_status(uow, company, SELECTED, f"{r.title}: {reason}", today=seoul_today())
    if decision == SELECTED and a.applicant.startswith("people/"):
        person = await registry.load_person(uow.conn, int(a.applicant.split("/")[1]), a.applicant)
        if person.role == "INDIVIDUAL" and person.erased_at is None and person.residency not in (SELECTED, RESIDENT):
            await registry.change_person_status(uow, person, SELECTED, f"{r.title}: {reason}", today=seoul_today())
    await uow.emit(f"{SUBJECT}.application.decided", decided.name, decided.version, convert.decided_event(decided, r))
    [named] = await store.with_applicant_names(uow.conn, [decided])
    return named
