"""Use cases of introductions (a program manager's, and a partner's through the partner API) and of
matching firms with companies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from google.protobuf.message import Message
from hub.events.v1 import investors_pb2 as ev
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.convert import timestamp
from hubcore.db import Database, UnitOfWork, now
from hubcore.requests import Terms, check_etag, parse_name
from hubcore.resources import found
from hubcore.rows import filtered, paged
from services.investors import convert, domain, store
from services.investors.domain import webhooks as hooks
from services.investors.usecases import SUBJECT, sharing, webhooks
from services.investors.usecases.firms import load_firm, load_partner

# What a partner is shown: the introduction, the company, and the company's fields it may see
Shared = tuple[domain.Introduction, domain.DirectoryCompany | None, tuple[str, ...]]


@dataclass(frozen=True)
class NewIntroduction:
    """A program manager's request to introduce a company to a firm. The names are as the caller wrote them,
    for the errors; the ids are what they name."""

    company_id: int
    company: str
    firm_id: int
    firm: str
    partner_id: int | None
    partner: str
    note: str
    shared: tuple[str, ...]
    requested_by: str = ""  # partners/{id}: the firm's partner asked for it (the partner API)


def _already_open(existing: str, company: str, firm: str) -> errors.AlreadyExists:
    return errors.AlreadyExists(
        "Introduction",
        existing or f"{company} + {firm}",
        f"{company} already has an open introduction to {firm}" + (f" ({existing})" if existing else ""),
    )


async def create_introduction(uow: UnitOfWork, new: NewIntroduction) -> domain.Introduction:
    """Emits hub.investors.introduction.requested. One open introduction per company and firm."""
    company = await store.get_directory_company(uow.conn, new.company_id)
    if company is None:
        raise errors.NotFound("Company", new.company)
    if company.archived:
        raise errors.FailedPrecondition(f"{new.company} is archived", type_="ARCHIVED", subject=new.company)
    await load_firm(uow.conn, new.firm_id, new.firm)
    if new.partner_id is not None:
        partner = await load_partner(uow.conn, new.partner_id, new.partner)
        if partner.firm_id != new.firm_id:
            raise errors.invalid("introduction.partner", f"is not a partner of {new.firm}")
    if existing := await store.open_introduction(uow.conn, new.company_id, new.firm_id):
        # A firm's partner is not told the name of an introduction its firm cannot see yet.
        raise _already_open("" if new.requested_by else f"introductions/{existing}", new.company, new.firm)
    intro = domain.new_introduction(
        company_id=new.company_id,
        firm_id=new.firm_id,
        note=new.note,
        partner_id=new.partner_id,
        shared=new.shared,
        actor=uow.actor,
        at=now(),
        requested_by=new.requested_by,
    )
    try:
        intro = await store.insert_introduction(uow.conn, intro)
    except store.OpenPairTaken:  # a concurrent request for the same pair committed first
        raise _already_open("", new.company, new.firm) from None
    event = ev.IntroductionRequested(
        introduction=convert.introduction_snapshot(intro), note=intro.note, actor=uow.actor,
        requested_by=intro.requested_by,
    )  # fmt: skip
    event_id = await uow.emit(f"{SUBJECT}.introduction.requested", intro.name, intro.version, event)
    await _tell_webhooks(uow, intro, event_id, event)
    return intro


async def _tell_webhooks(uow: UnitOfWork, intro: domain.Introduction, event_id: str, event: Message) -> None:
    """The introduction's change to the webhooks that hear it, in this transaction (firms: hooks.firms_told_of)."""
    kind = hooks.INTRODUCTION_EVENTS[intro.state]
    await webhooks.heard(uow, kind, event_id, event, company_id=intro.company_id, firm_ids=hooks.firms_told_of(intro))


async def get_introduction(db: Database, intro_id: int, name: str) -> domain.Introduction:
    async with db.read() as conn:
        return found(await store.get_introduction(conn, intro_id), "Introduction", name)


async def list_introductions(
    db: Database, terms: Terms, *, size: int, token: str
) -> tuple[Sequence[domain.Introduction], str]:
    return await filtered(db, terms, token, size, store.list_introductions)


async def list_company_introductions(
    db: Database, company_id: int, terms: Terms, *, size: int, token: str
) -> tuple[Sequence[domain.Introduction], str]:
    """A company's introductions (what its founder reads), by id."""
    return await filtered(db, {**terms, "company": [company_id]}, token, size, store.list_introductions)


async def change_introduction_state(
    uow: UnitOfWork,
    name: str,
    target: str,
    *,
    role: str,
    reason: str,
    etag: str,
    meeting_at: datetime | None = None,
    firm_id: int | None = None,
    company_id: int | None = None,
) -> domain.Introduction:
    """Moves an introduction and emits hub.investors.introduction.<state>. A partner (firm_id set) acts only
    on its firm's introductions that were shared with it, a founder (company_id set) only on their company's;
    any other is NOT_FOUND, as if it did not exist. The company's answer, given by a program manager, needs a
    reason and records whom it was for; its consent grants the firm what the introduction shares."""
    intro = await store.get_introduction(uow.conn, parse_name(name, "introductions"))
    if intro is None or (firm_id is not None and not intro.visible_to_firm(firm_id)):
        raise errors.NotFound("Introduction", name)
    if company_id is not None and intro.company_id != company_id:
        raise errors.NotFound("Introduction", name)
    check_etag(etag, intro.etag)
    by = domain.Acting(uow.actor, role, reason)
    if target in domain.COMPANY_ANSWERS:
        by = domain.acting_for(intro.company, actor=uow.actor, role=role, reason=reason)
    moved, step = intro.transition(
        target, role=role, actor=uow.actor, reason=reason, at=now(), meeting_at=meeting_at, on_behalf_of=by.on_behalf_of
    )
    saved = await store.save_introduction(uow.conn, moved, step, expected_version=intro.version)
    event = ev.IntroductionStateChanged(
        introduction=convert.introduction_snapshot(saved),
        from_state=intro.state,
        to_state=saved.state,
        actor=uow.actor,
        reason=step.reason,
        meeting_time=timestamp(saved.meeting_at) if target == domain.MEETING_HELD else None,
        on_behalf_of=step.on_behalf_of,
    )
    event_id = await uow.emit(f"{SUBJECT}.introduction.{target.lower()}", saved.name, saved.version, event)
    await _tell_webhooks(uow, saved, event_id, event)
    if target == domain.COMPANY_CONSENTED:
        await sharing.grant_for_consent(uow, saved, by)
    return saved


async def update_directory(uow: UnitOfWork, company: domain.DirectoryCompany) -> bool:
    """Takes a company's snapshot into the directory if it is newer than what it holds (events may arrive out
    of order); returns whether it did."""
    return await store.upsert_directory_company(uow.conn, company)


# What a partner sees: only its firm's introductions that the company consented to share, and of the company
# only the introduction's shared fields whose groups the company granted the firm (domain.visible_fields)


async def shown_in(conn: AsyncConnection, intros: Sequence[domain.Introduction]) -> list[Shared]:
    companies = await store.directory_by_id(conn, [i.company_id for i in intros])
    grants = await store.granted_groups(conn, [(i.company_id, i.firm_id) for i in intros])
    granted = [grants.get((i.company_id, i.firm_id), ()) for i in intros]
    return [
        (i, companies.get(i.company_id), domain.visible_fields(i.shared_fields, g))
        for i, g in zip(intros, granted, strict=True)
    ]


async def shared_with(db: Database, intro: domain.Introduction) -> Shared:
    async with db.read() as conn:
        return (await shown_in(conn, [intro]))[0]


async def get_shared_introduction(db: Database, firm_id: int, intro_id: int, name: str) -> Shared:
    async with db.read() as conn:
        intro = await store.get_introduction(conn, intro_id)
        if intro is None or not intro.visible_to_firm(firm_id):
            raise errors.NotFound("Introduction", name)
        return (await shown_in(conn, [intro]))[0]


async def list_shared_introductions(
    db: Database, firm_id: int, terms: Terms, *, size: int, token: str
) -> tuple[list[Shared], str]:
    shown: dict[int, Shared] = {}

    async def fetch(conn: AsyncConnection, before: int | None, limit: int) -> list[domain.Introduction]:
        states = terms.get("state")
        found = await store.shared_introductions(conn, firm_id=firm_id, states=states, before=before, limit=limit)
        shown.update((s[0].id, s) for s in await shown_in(conn, found[:size]))
        return found

    found, next_token = await paged(db, f"partner|{sorted(terms.items())}", token, size, fetch)
    return [shown[i.id] for i in found], next_token


# Matching


async def match_investors(db: Database, company_id: int, name: str, limit: int) -> list[tuple[domain.Fit, domain.Firm]]:
    """The firms whose theses fit the company best, best first."""
    async with db.read() as conn:
        company = await store.get_directory_company(conn, company_id)
        if company is None or company.archived:
            raise errors.NotFound("Company", name)
        firms = await store.all_firms(conn)
        amount = (await store.open_round_amounts(conn, [company_id])).get(company_id)
    fits = [(fit, firm) for firm in firms if (fit := domain.best_fit(company, firm, amount))]
    fits.sort(key=lambda pair: (-pair[0].score, pair[1].id))
    return fits[:limit]


async def match_companies(
    db: Database, firm_id: int, name: str, limit: int
) -> list[tuple[domain.Fit, domain.DirectoryCompany]]:
    """The hub's live companies that fit the firm's theses best, best first."""
    async with db.read() as conn:
        firm = await load_firm(conn, firm_id, name)
        companies = [c for c in await store.live_directory(conn) if c.status != "WITHDRAWN"]
        amounts = await store.open_round_amounts(conn, [c.id for c in companies])
    fits = [(fit, c) for c in companies if (fit := domain.best_fit(c, firm, amounts.get(c.id)))]
    fits.sort(key=lambda pair: (-pair[0].score, pair[1].id))
    return fits[:limit]
