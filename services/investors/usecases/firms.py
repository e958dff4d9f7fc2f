"""Use cases of the register: firms, partners, and the partner API's audit log (API keys: keys.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import TypeVar

from google.protobuf.message import Message
from hub.events.v1 import investors_pb2 as ev
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import Database, UnitOfWork
from hubcore.requests import Terms, check_etag
from hubcore.resources import Versioned, found
from hubcore.rows import filtered, paged
from hubcore.text import normalize_text
from services.investors import convert, domain, store
from services.investors.usecases import SUBJECT

V = TypeVar("V", bound=Versioned)
E = TypeVar("E", domain.Introduction, domain.SharingGrant)
M = TypeVar("M", bound=Message)


async def _update(
    uow: UnitOfWork,
    kind: str,
    current: V,
    etag: str,
    update: Callable[[], tuple[V, list[str]]],
    save: Callable[..., Awaitable[V]],
    event: Callable[[V, list[str]], Message],
) -> V:
    """An update under optimistic concurrency: the etag the caller read, the domain's update() (the changed
    value and the fields that changed), then save (StaleWrite if another write won) and hub.investors.<kind>.updated.
    Nothing changed: nothing is written or emitted."""
    check_etag(etag, current.etag)
    updated, changed = update()
    if not changed:
        return current
    saved = await save(uow.conn, updated, expected_version=current.version)
    await uow.emit(f"{SUBJECT}.{kind}.updated", saved.name, saved.version, event(saved, changed))
    return saved


# Firms


async def load_firm(conn: AsyncConnection, firm_id: int, name: str) -> domain.Firm:
    return found(await store.get_firm(conn, firm_id), "Firm", name)


async def create_firm(uow: UnitOfWork, fields: convert.FirmFields) -> domain.Firm:
    firm = await store.insert_firm(uow.conn, domain.new_firm(**fields))
    await uow.emit(
        f"{SUBJECT}.firm.registered", firm.name, firm.version, ev.FirmRegistered(firm=convert.firm_snapshot(firm))
    )
    return firm


async def get_firm(db: Database, firm_id: int, name: str) -> domain.Firm:
    async with db.read() as conn:
        return await load_firm(conn, firm_id, name)


EVERY_FIRM_NAME = "모든 투자사"  # a company's grant to every firm (firms/-)


async def firm_names(db: Database, firm_ids: Iterable[int]) -> dict[int, str]:
    """The Korean names of the firms an answer names, for the callers who may not read firms (founders)."""
    async with db.read() as conn:
        return {i: firm.korean_name for i, firm in (await store.firms_by_id(conn, firm_ids)).items()}


async def with_firm_names(db: Database, found: Sequence[E], write: Callable[..., M]) -> list[M]:
    """Introductions or sharing grants as messages that name their firm (firm_display_name)."""
    names = await firm_names(db, {item.firm_id for item in found if item.firm_id is not None})
    names_of = lambda firm_id: EVERY_FIRM_NAME if firm_id is None else names.get(firm_id, "")  # noqa: E731
    return [write(item, firm_display_name=names_of(item.firm_id)) for item in found]


async def list_firms(
    db: Database, terms: Terms, query: str, *, size: int, token: str
) -> tuple[Sequence[domain.Firm], str]:
    def fetch(conn: AsyncConnection, after: int | None, limit: int) -> Awaitable[list[domain.Firm]]:
        return store.list_firms(conn, types=terms.get("type"), query=query, after=after, limit=limit)

    return await paged(db, f"{sorted(terms.items())}|{normalize_text(query)}", token, size, fetch)


async def update_firm(uow: UnitOfWork, firm_id: int, name: str, etag: str, changes: dict[str, object]) -> domain.Firm:
    def event(firm: domain.Firm, changed: list[str]) -> ev.FirmUpdated:
        return ev.FirmUpdated(firm=convert.firm_snapshot(firm), changed_fields=changed)

    firm = await load_firm(uow.conn, firm_id, name)
    return await _update(uow, "firm", firm, etag, lambda: domain.update_firm(firm, changes), store.save_firm, event)


# Partners


async def load_partner(conn: AsyncConnection, partner_id: int, name: str) -> domain.Partner:
    return found(await store.get_partner(conn, partner_id), "Partner", name)


async def create_partner(uow: UnitOfWork, firm_id: int, firm: str, fields: convert.PartnerFields) -> domain.Partner:
    new = domain.new_partner(firm_id=firm_id, **fields)
    await load_firm(uow.conn, firm_id, firm)
    partner = await store.insert_partner(uow.conn, new)
    event = ev.PartnerRegistered(partner=convert.partner_snapshot(partner))
    await uow.emit(f"{SUBJECT}.partner.registered", partner.name, partner.version, event)
    return partner


async def get_partner(db: Database, partner_id: int, name: str) -> domain.Partner:
    async with db.read() as conn:
        return await load_partner(conn, partner_id, name)


async def list_partners(db: Database, terms: Terms, *, size: int, token: str) -> tuple[Sequence[domain.Partner], str]:
    return await filtered(db, terms, token, size, store.list_partners)


async def update_partner(
    uow: UnitOfWork, partner_id: int, name: str, etag: str, changes: dict[str, object]
) -> domain.Partner:
    def event(partner: domain.Partner, changed: list[str]) -> ev.PartnerUpdated:
        return ev.PartnerUpdated(partner=convert.partner_snapshot(partner), changed_fields=changed)

    partner = await load_partner(uow.conn, partner_id, name)
    return await _update(
        uow, "partner", partner, etag, lambda: domain.update_partner(partner, changes), store.save_partner, event
    )


# The partner API's audit log


async def record_partner_call(uow: UnitOfWork, call: domain.PartnerCall) -> domain.PartnerCall:
    return await store.insert_partner_call(uow.conn, call)


async def list_partner_calls(
    db: Database, terms: Terms, *, size: int, token: str
) -> tuple[Sequence[domain.PartnerCall], str]:
    return await filtered(db, terms, token, size, store.list_partner_calls)
