"""Companies and people: what CompanyService's methods do, as plain functions over a unit of work (writes) or a
database (reads). Each loads, applies the domain's rules, stores, emits its event in the same transaction and
returns domain objects; the servicer only parses and converts. change_status is also the program's path to a
company's lifecycle (selection, move-in)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from google.protobuf.message import Message
from hub.events.v1 import companies_pb2 as ev
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.calls import FOUNDER, bound_to
from hubcore.convert import date_message
from hubcore.db import Database, UnitOfWork, cursor_value, now
from hubcore.requests import PageTokens, check_etag, next_page
from hubcore.resources import found
from hubcore.rows import paged
from hubcore.targets import DISCOVERED
from hubcore.text import normalize_text
from services.companies import privacy
from services.companies.access import store as access_store
from services.companies.access import usecases as access
from services.companies.program.store import spaces as program_spaces
from services.companies.registry import domain, store
from services.companies.registry.convert import (
    CompanyFields,
    PersonFields,
    company_snapshot,
    person_snapshot,
    residency_event,
    saved_view_changed,
)
from services.companies.registry.domain import Company, Person, SavedView

SUBJECT = "hub.companies"
COMPANY_ORDERS = tuple(store.COMPANY_ORDER)  # ListCompanies' order_by keys


async def _emit_company(uow: UnitOfWork, event: str, company: Company, payload: Message) -> None:
    await uow.emit(f"{SUBJECT}.company.{event}", company.name, company.version, payload)


# Companies


async def load_company(conn: AsyncConnection, company_id: int, name: str) -> Company:
    return found(await store.get_company(conn, company_id), "Company", name)


async def get_company(db: Database, company_id: int, name: str) -> Company:
    async with db.read() as conn:
        return await load_company(conn, company_id, name)


async def create_company(uow: UnitOfWork, fields: CompanyFields, *, today: date) -> Company:
    company = await store.insert_company(uow.conn, domain.new_company(**fields, today=today))
    await _emit_company(uow, "registered", company, ev.CompanyRegistered(company=company_snapshot(company)))
    return company


@dataclass(frozen=True)
class CompanyQuery:
    """ListCompanies: the filter's terms (status, sector, stage, tag), a text to search, an order_by key of
    store.COMPANY_ORDER, and the page size."""

    terms: Mapping[str, Sequence[object]]
    text: str
    show_deleted: bool
    order: str
    descending: bool
    size: int

    @property
    def key(self) -> str:
        """What a page token is bound to: a token of another query is refused."""
        terms, text = sorted(self.terms.items()), normalize_text(self.text)
        return f"{terms}|{self.order}|{self.descending}|{text}|{self.show_deleted}"


async def list_companies(db: Database, query: CompanyQuery, page_token: str) -> tuple[Sequence[Company], str]:
    """One page of companies and the next page's token ("" on the last page)."""
    sort_type = datetime if query.order in store.TIME_ORDERS else str
    after = PageTokens.decode(page_token, query.key, (sort_type, int))
    async with db.read() as conn:
        found = await store.list_companies(
            conn, terms=query.terms, text=query.text, show_deleted=query.show_deleted, order=query.order,
            descending=query.descending, after=after, limit=query.size + 1,
        )  # fmt: skip
    attribute = store.COMPANY_ORDER[query.order]
    return next_page(found, query.size, query.key, lambda c: [cursor_value(getattr(c, attribute)), c.id])


def _refuse_erased(name: str, erased_at: datetime | None) -> None:
    if erased_at is not None:
        raise errors.FailedPrecondition(f"{name} was erased on request; its data cannot be written again",
                                        type_="ERASED", subject=name)  # fmt: skip


async def update_company(
    uow: UnitOfWork, company_id: int, name: str, etag: str, changes: dict[str, object], *, today: date
) -> Company:
    """Applies the masked changes; a change that changes nothing writes nothing and emits nothing."""
    company = await load_company(uow.conn, company_id, name)
    check_etag(etag, company.etag)
    _refuse_erased(company.name, company.erased_at)
    updated, changed = domain.update_company(company, changes, today=today)
    if not changed:
        return company
    updated = await store.save_company(uow.conn, updated, expected_version=company.version)
    await _emit_company(
        uow, "updated", updated, ev.CompanyUpdated(company=company_snapshot(updated), changed_fields=changed)
    )
    return updated


async def archive_company(uow: UnitOfWork, company_id: int, name: str, etag: str) -> Company:
    company = await load_company(uow.conn, company_id, name)
    check_etag(etag, company.etag)
    archived = await store.save_company(uow.conn, company.archive(now()), expected_version=company.version)
    await access.company_gone(uow, archived.name, f"{archived.name} was archived")
    await _emit_company(uow, "archived", archived, ev.CompanyArchived(company=company_snapshot(archived)))
    return archived


async def close_company(
    uow: UnitOfWork, company_id: int, name: str, closed_on: date, reason: str, *, today: date
) -> Company:
    """Records the day the company ceased business, with hub.companies.company.closed. The same day again
    changes nothing (no write, no event); another day corrects it and needs a reason."""
    company = await load_company(uow.conn, company_id, name)
    _refuse_erased(company.name, company.erased_at)
    closed = domain.close(company, closed_on, reason, today=today)
    if closed is company:
        return company
    saved = await store.save_company(uow.conn, closed, expected_version=company.version)
    payload = ev.CompanyClosed(
        company=company_snapshot(saved), close_date=date_message(closed_on),
        previous_close_date=date_message(company.closed_on), reason=reason,
    )  # fmt: skip
    await _emit_company(uow, "closed", saved, payload)
    return saved


async def change_company_status(
    uow: UnitOfWork, company_id: int, name: str, target: str, reason: str, etag: str, *, today: date
) -> Company:
    company = await load_company(uow.conn, company_id, name)
    check_etag(etag, company.etag)
    return await change_status(uow, company, target, reason, today=today)


async def change_status(uow: UnitOfWork, company: Company, target: str, reason: str, *, today: date) -> Company:
    """The company's lifecycle, one path for ChangeCompanyStatus and the program's use cases: the transition and
    its event; at GRADUATED or WITHDRAWN, every space the company still holds is freed from today (the hub's
    date, Asia/Seoul), each with its moved_out event, in the same transaction."""
    moved = await store.save_company(uow.conn, company.transition(target), expected_version=company.version)
    await _emit_company(
        uow, "status_changed", moved,
        ev.CompanyStatusChanged(company=company_snapshot(moved), from_status=company.status, to_status=target,
                                reason=reason),
    )  # fmt: skip
    if target in (domain.GRADUATED, domain.WITHDRAWN):
        for stay in await program_spaces.open_assignments(uow.conn, company.id, today):
            # A booking that had not begun ends where it starts: it never holds its space.
            await program_spaces.end_assignment(uow.conn, stay.id, max(today, stay.move_in), target)
            ended = await program_spaces.get_assignment(uow.conn, stay.id)
            assert ended is not None  # locked by open_assignments in this transaction
            await uow.emit(f"{SUBJECT}.residency.moved_out", stay.name, 2, residency_event(ended))
    return moved


async def change_person_status(uow: UnitOfWork, person: Person, target: str, reason: str, *, today: date) -> Person:
    """An individual resident's lifecycle, as change_status for a company: the transition and its event
    (hub.companies.person.status_changed); at GRADUATED or WITHDRAWN, every space the person still holds is freed
    from today, each with its moved_out event, in the same transaction."""
    moved = await store.save_person(uow.conn, person.transition(target), expected_version=person.version)
    await uow.emit(
        f"{SUBJECT}.person.status_changed", moved.name, moved.version,
        ev.PersonStatusChanged(person=person_snapshot(moved), from_status=person.residency, to_status=target,
                               reason=reason),
    )  # fmt: skip
    if target in (domain.GRADUATED, domain.WITHDRAWN):
        for stay in await program_spaces.open_assignments(uow.conn, None, today, person_id=person.id):
            await program_spaces.end_assignment(uow.conn, stay.id, max(today, stay.move_in), target)
            ended = await program_spaces.get_assignment(uow.conn, stay.id)
            assert ended is not None  # locked by open_assignments in this transaction
            await uow.emit(f"{SUBJECT}.residency.moved_out", stay.name, 2, residency_event(ended))
    return moved


async def company_stats(
    db: Database, months: list[tuple[str, datetime]]
) -> tuple[dict[str, int], dict[str, int], list[tuple[str, int]]]:
    """Live companies by status and by sector, from the read model the company events keep; and the companies
    discovered, by the month they were registered (label, running total at its end)."""
    async with db.read() as conn:
        by_status, by_sector = await store.stats(conn)
        discovered = await store.registered_by_month(conn, DISCOVERED, [end for _, end in months])
    return by_status, by_sector, list(zip([label for label, _ in months], discovered, strict=True))


async def erase_company(uow: UnitOfWork, company_id: int, name: str, reason: str) -> Company:
    """Erases the company's personal data on request (privacy.py); an erased company is returned as it is."""
    company = await load_company(uow.conn, company_id, name)
    if company.erased_at is not None:
        return company
    return await privacy.erase_company(uow, company, reason)


# People


async def load_person(conn: AsyncConnection, person_id: int, name: str) -> Person:
    return found(await store.get_person(conn, person_id), "Person", name)


async def get_person(db: Database, person_id: int, name: str) -> Person:
    """A person; to a founder, only one of their own company (another is NOT_FOUND, existence included)."""
    async with db.read() as conn:
        person = await load_person(conn, person_id, name)
    own = bound_to(FOUNDER)
    if own is not None and person.company_id != own:
        raise errors.NotFound("Person", name)
    return person


async def _check_company_reference(uow: UnitOfWork, company_id: int | None) -> None:
    if company_id is None:
        return
    name = f"companies/{company_id}"
    company = await load_company(uow.conn, company_id, name)
    if company.deleted_at is not None:
        raise errors.FailedPrecondition(f"{name} is archived", type_="ARCHIVED", subject=name)


async def create_person(uow: UnitOfWork, fields: PersonFields) -> Person:
    person = domain.new_person(**fields)
    await _check_company_reference(uow, person.company_id)
    person = await store.insert_person(uow.conn, person)
    await uow.emit(
        f"{SUBJECT}.person.registered", person.name, person.version,
        ev.PersonRegistered(person=person_snapshot(person)),
    )  # fmt: skip
    return person


async def list_people(
    db: Database, terms: Mapping[str, Sequence[object]], text: str, size: int, page_token: str
) -> tuple[Sequence[Person], str]:
    """One page of people (by id) of the companies and roles in terms, and the next page's token. A founder's are
    their own company's, whatever the filter asks (naming another is PERMISSION_DENIED)."""
    own = bound_to(FOUNDER)
    if own is not None:
        if any(number != own for number in terms.get("company", [])):
            raise errors.PermissionDenied(f"a founder may act only for companies/{own}")
        terms = {**terms, "company": [own]}
    fetch = lambda conn, after, limit: store.list_people(conn, terms=terms, text=text, after_id=after, limit=limit)  # noqa: E731
    return await paged(db, f"{sorted(terms.items())}|{normalize_text(text)}", page_token, size, fetch)


async def update_person(uow: UnitOfWork, person_id: int, name: str, etag: str, changes: dict[str, object]) -> Person:
    """Applies the masked changes (company as company_id); a change that changes nothing writes nothing."""
    person = await load_person(uow.conn, person_id, name)
    check_etag(etag, person.etag)
    _refuse_erased(person.name, person.erased_at)
    updated, changed = domain.update_person(person, changes)
    if not changed:
        return person
    if "company_id" in changed:
        await _check_company_reference(uow, updated.company_id)
    updated = await store.save_person(uow.conn, updated, expected_version=person.version)
    if {"company_id", "email"} & set(changed):
        await access.person_changed(uow, updated)
    await uow.emit(
        f"{SUBJECT}.person.updated", updated.name, updated.version,
        ev.PersonUpdated(person=person_snapshot(updated), changed_fields=[c.removesuffix("_id") for c in changed]),
    )  # fmt: skip
    return updated


async def delete_person(uow: UnitOfWork, person_id: int, name: str, etag: str) -> None:
    person = await load_person(uow.conn, person_id, name)
    check_etag(etag, person.etag)
    if await program_spaces.held_by_person(uow.conn, person_id):
        raise errors.FailedPrecondition(
            f"{person.name} has held a space: an individual resident's stays are the hub's record; erase the"
            " person's data instead (ErasePerson)",
            type_="RESIDENT",
            subject=person.name,
        )
    await store.delete_person(uow.conn, person_id)
    await access.person_gone(uow, person_id, f"{person.name} was deleted")
    # Personal data leaves with the person: the event names them, nothing more.
    await uow.emit(
        f"{SUBJECT}.person.deleted", person.name, person.version + 1,
        ev.PersonDeleted(person=ev.PersonSnapshot(name=person.name)),
    )  # fmt: skip


async def erase_person(uow: UnitOfWork, person_id: int, name: str, reason: str) -> Person:
    """Erases the person's personal data on request (privacy.py); an erased person is returned as they are."""
    person = await load_person(uow.conn, person_id, name)
    if person.erased_at is not None:
        return person
    return await privacy.erase_person(uow, person, reason)


# Saved views


async def create_saved_view(uow: UnitOfWork, fields: Mapping[str, str]) -> SavedView:
    """A view under a title of its own in its list; who saved it is the caller, named as their token is."""
    view = domain.new_saved_view(**fields, creator=uow.actor, creator_display_name=await _holder(uow.conn, uow.actor))
    exists = errors.AlreadyExists("SavedView", view.title, f"a view titled {view.title!r} is in the {view.list} list")
    if await store.find_saved_view(uow.conn, view.list, view.title) is not None:
        raise exists
    try:
        saved = await store.insert_saved_view(uow.conn, view)
    except IntegrityError:  # the same title saved at the same moment
        raise exists from None
    await uow.emit(f"{SUBJECT}.saved_view.created", saved.name, 1, saved_view_changed(saved))
    return saved


async def _holder(conn: AsyncConnection, actor: str) -> str:
    """Whom the actor's token was issued to ("" for a configured token, which is not in the register)."""
    token = actor.partition(":")[2]
    if not token.startswith("accessTokens/"):
        return ""
    issued = await access_store.TOKENS.get(conn, token.removeprefix("accessTokens/"))
    return issued.subject if issued else ""


async def list_saved_views(
    db: Database, terms: Mapping[str, Sequence[object]], size: int, page_token: str
) -> tuple[Sequence[SavedView], str]:
    fetch = lambda conn, after, limit: store.list_saved_views(conn, terms=terms, after_id=after, limit=limit)  # noqa: E731
    return await paged(db, f"{sorted(terms.items())}", page_token, size, fetch)


async def delete_saved_view(uow: UnitOfWork, view_id: int, name: str) -> None:
    """Any program manager may delete any view: the team shares them."""
    view = found(await store.get_saved_view(uow.conn, view_id), "SavedView", name)
    await store.delete_saved_view(uow.conn, view_id)
    await uow.emit(f"{SUBJECT}.saved_view.deleted", view.name, 2, saved_view_changed(view))
