"""Many registrations for one program at once (a spreadsheet import, BatchCreateRegistrations): each request its
own outcome, in one transaction that holds the program, so the people it compares against cannot change under
it. A request is done once (its request_id, kept as CreateRegistration's, so a single create and a batch retry
each other); a person already registered, or registered by an earlier request, is not registered twice
(domain/people.py says who is the same person); a validate_only call decides all of it and writes nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from hubcore import errors
from hubcore.db import Database, UnitOfWork, stored_responses
from services.consulting import domain, store
from services.consulting.domain import ALREADY_DONE, CREATED, REJECTED, SAME_PERSON, Asked, Outcome, Suspect

METHOD = "CreateRegistration"  # the idempotency keys' method: a batch's item is a CreateRegistration


# keep(uow, [(i, made), …]) writes each request i's idempotency key with its response; stored_id(response) reads the
# registration number back from a kept response.
Keep = Callable[[UnitOfWork, list[tuple[int, domain.Registration]]], Awaitable[None]]


async def register_many(
    db: Database, ref: domain.Ref, asked: list[Asked], *, validate_only: bool, actor: str, keep: Keep,
    stored_id: Callable[[bytes], int],
) -> list[Outcome]:  # fmt: skip
    """Each request's outcome, in one transaction holding the program; validate_only decides all of it (against
    the program as it is, with the same lock) and writes nothing."""
    async with db.write(actor=actor) as uow:
        outcomes, pending = await _decide(uow, ref, asked, stored_id)
        return outcomes if validate_only else await _write(uow, ref.id, pending, outcomes, keep)


async def _decide(
    uow: UnitOfWork, ref: domain.Ref, asked: list[Asked], stored_id: Callable[[bytes], int]
) -> tuple[list[Outcome], list[tuple[int, domain.Registration]]]:
    """Every request decided in memory against the program's people (those to create numbered -1, -2, …), so
    _write can insert them, their places and their request ids in a few statements: a 2,000-row sheet is not
    6,000 round trips."""
    conn = uow.conn
    program = await store.lock_program(conn, ref.id)
    if program is None:
        raise errors.NotFound("Program", ref.name)
    existing = await store.program_registrations(conn, program.id)
    people = domain.People(domain.who(r) for r in existing)
    owners: list[tuple[domain.Registration, int]] = [(r, 0) for r in existing]  # beside people.whos
    by_id = {r.id: r for r in existing}
    position = {r.id: j for j, r in enumerate(existing)}  # a registration's index in people and owners
    kept = await stored_responses(conn, METHOD, [a.request_id for a in asked])
    done = {key: (fingerprint, stored_id(response)) for key, (fingerprint, response) in kept.items()}
    places = program.capacity - program.registered_count if program.capacity else len(asked)
    companies: dict[int, bool] = {}
    pending: list[tuple[int, domain.Registration]] = []  # (request, registration to insert; id -1, -2, …)
    outcomes: list[Outcome] = []
    for i, one in enumerate(asked):
        if one.problem is not None or one.registration is None:
            outcomes.append(Outcome(REJECTED, None, *(one.problem or ("", ""))))
            continue
        if one.request_id in done:
            fingerprint, number = done[one.request_id]
            first = by_id.get(number) if fingerprint == one.fingerprint else None
            if first is None:
                outcomes.append(Outcome(REJECTED, None, "request_id", "was already used for a different request"))
                continue
            alike = people.alike(domain.who(first), position[first.id])
            outcomes.append(Outcome(ALREADY_DONE, first, suspects=tuple(Suspect(*owners[j], why) for j, why in alike)))
            continue
        new = domain.who(one.registration)
        found = people.find(new)
        suspects = tuple(Suspect(*owners[j], reason) for j, reason in found.suspects)
        if found.same is not None:
            same, index = owners[found.same]
            outcomes.append(Outcome(SAME_PERSON, same, reason=found.reason, suspects=suspects, same_as=index))
            continue
        company = one.registration.company_id
        if company is not None and company not in companies:
            companies[company] = await store.get_company(conn, f"companies/{company}") is not None
        if company is not None and not companies[company]:
            outcomes.append(Outcome(REJECTED, None, "registration.company", f"companies/{company} is not known"))
            continue
        if len(pending) >= places:
            outcomes.append(Outcome(REJECTED, None, "", f"{program.name} is full ({program.capacity} places)"))
            continue
        made = replace(one.registration, id=-len(pending) - 1)
        pending.append((i, made))
        if one.request_id:
            done[one.request_id] = (one.fingerprint, made.id)  # the same request again below is this one
        by_id[made.id], position[made.id] = made, len(owners)
        people.add(new)
        owners.append((made, i + 1))
        outcomes.append(Outcome(CREATED, made, suspects=suspects))
    return outcomes, pending


async def _write(
    uow: UnitOfWork, program_id: int, pending: list[tuple[int, domain.Registration]], outcomes: list[Outcome],
    keep: Keep,
) -> list[Outcome]:  # fmt: skip
    """Inserts the pending registrations, counts their places, keeps their request ids; the outcomes with the
    registrations' real numbers."""
    made = await store.insert_registrations(uow.conn, [r for _, r in pending])
    if not made:
        return outcomes
    await store.add_places(uow.conn, program_id, len(made))
    await keep(uow, [(i, r) for (i, _), r in zip(pending, made, strict=True)])
    real = {-k - 1: r for k, r in enumerate(made)}

    def named(r: domain.Registration) -> domain.Registration:
        return real.get(r.id, r)

    return [
        replace(o, registration=o.registration and named(o.registration),
                suspects=tuple(replace(s, registration=named(s.registration)) for s in o.suspects))
        for o in outcomes
    ]  # fmt: skip
