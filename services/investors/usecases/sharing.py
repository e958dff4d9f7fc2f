"""Use cases of what a company lets firms see: its sharing grants (by its founder, or a program manager on its
behalf with a reason), the grant its consent to an introduction makes, and the access log of partner reads.
The rule that joins grants and an introduction's shared fields: domain/sharing.py."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from hub.events.v1 import investors_pb2 as ev
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import Database, UnitOfWork, now
from hubcore.requests import Terms, check_etag
from hubcore.rows import paged
from services.investors import domain, store
from services.investors.usecases import SUBJECT
from services.investors.usecases.firms import load_firm


async def _emit(uow: UnitOfWork, kind: str, grant: domain.SharingGrant) -> None:
    event = ev.SharingGrantChanged(
        name=grant.name,
        company=grant.company,
        firm=grant.firm,
        field_groups=grant.field_groups,
        actor=grant.actor,
        reason=grant.reason,
        on_behalf_of=grant.on_behalf_of,
        introduction=grant.introduction,
    )
    await uow.emit(f"{SUBJECT}.sharing_grant.{kind}", grant.name, grant.version, event)


async def _load(uow: UnitOfWork, company_id: int, firm_id: int | None, name: str) -> domain.SharingGrant:
    grant = await store.get_grant(uow.conn, company_id, firm_id, lock=True)
    if grant is None:
        raise errors.NotFound("SharingGrant", name)
    return grant


async def create_grant(
    uow: UnitOfWork, company_id: int, firm_id: int | None, firm: str, groups: tuple[str, ...], by: domain.Acting
) -> domain.SharingGrant:
    """Emits hub.investors.sharing_grant.granted. One grant per firm (and one to every firm, firm_id None): a
    revoked one is granted again."""
    company = f"companies/{company_id}"
    if await store.get_directory_company(uow.conn, company_id) is None:
        raise errors.NotFound("Company", company)
    if firm_id is not None:
        await load_firm(uow.conn, firm_id, firm)
    current = await store.get_grant(uow.conn, company_id, firm_id, lock=True)
    if current is None:
        grant = await store.insert_grant(uow.conn, domain.new_grant(company_id, firm_id, groups, by))
    elif current.active:
        raise errors.AlreadyExists("SharingGrant", current.name, f"{firm} already has {current.name}: update it")
    else:
        grant = await store.save_grant(uow.conn, current.changed(groups, by), expected_version=current.version)
    await _emit(uow, "granted", grant)
    return grant


async def update_grant(
    uow: UnitOfWork,
    company_id: int,
    firm_id: int | None,
    name: str,
    groups: tuple[str, ...],
    etag: str,
    by: domain.Acting,
) -> domain.SharingGrant:
    """Replaces an active grant's groups; emits hub.investors.sharing_grant.changed."""
    current = await _load(uow, company_id, firm_id, name)
    if not current.active:
        raise errors.FailedPrecondition(f"{name} is revoked; create it again", type_="STATE", subject=name)
    check_etag(etag, current.etag)
    grant = await store.save_grant(uow.conn, current.changed(groups, by), expected_version=current.version)
    await _emit(uow, "changed", grant)
    return grant


async def revoke_grant(
    uow: UnitOfWork, company_id: int, firm_id: int | None, name: str, etag: str, by: domain.Acting
) -> domain.SharingGrant:
    """The firm sees none of the company's fields from its next call; emits hub.investors.sharing_grant.revoked."""
    current = await _load(uow, company_id, firm_id, name)
    check_etag(etag, current.etag)
    grant = await store.save_grant(uow.conn, current.revoked(by, now()), expected_version=current.version)
    await _emit(uow, "revoked", grant)
    return grant


async def grant_for_consent(uow: UnitOfWork, intro: domain.Introduction, by: domain.Acting) -> None:
    """The company consented to an introduction: its firm is granted the groups of the introduction's shared
    fields, added to what it holds (a grant is never narrowed by a consent)."""
    needed = domain.groups_of(intro.shared_fields)
    current = await store.get_grant(uow.conn, intro.company_id, intro.firm_id, lock=True)
    if current is None:
        grant = domain.new_grant(intro.company_id, intro.firm_id, needed, by, intro.name)
        await _emit(uow, "granted", await store.insert_grant(uow.conn, grant))
        return
    held = current.granted
    if set(needed) <= set(held):
        return
    changed = current.changed(domain.ordered_groups([*held, *needed]), by, introduction=intro.name)
    saved = await store.save_grant(uow.conn, changed, expected_version=current.version)
    await _emit(uow, "granted" if not held else "changed", saved)


async def list_grants(
    db: Database, company_id: int, *, show_revoked: bool, size: int, token: str
) -> tuple[Sequence[domain.SharingGrant], str]:
    async def fetch(conn: AsyncConnection, after: int | None, limit: int) -> list[domain.SharingGrant]:
        return await store.company_grants(conn, company_id, show_revoked=show_revoked, after=after, limit=limit)

    return await paged(db, f"grants|{company_id}|{show_revoked}", token, size, fetch)


# The access log


async def record_reads(uow: UnitOfWork, call: domain.PartnerCall, shown: Iterable[domain.Shown]) -> None:
    """One row per company a partner call showed, in the transaction of the call's audit row (call, saved)."""
    if call.firm_id is None:
        return
    reads = [
        domain.CompanyRead(
            id=0,
            company_id=company_id,
            firm_id=call.firm_id,
            partner_id=call.partner_id,
            api_key_id=call.api_key_id,
            method=call.method,
            introductions=intros,
            field_groups=groups,
            read_at=call.called_at,
            partner_call_id=call.id,
        )
        for company_id, (intros, groups) in domain.reads_of(shown).items()
    ]
    await store.add_company_reads(uow.conn, reads)


async def list_reads(
    db: Database, company_id: int, terms: Terms, *, size: int, token: str
) -> tuple[Sequence[domain.CompanyRead], str]:
    firms = terms.get("firm")

    async def fetch(conn: AsyncConnection, before: int | None, limit: int) -> list[domain.CompanyRead]:
        return await store.company_reads_of(conn, company_id, firms, before=before, limit=limit)

    return await paged(db, f"reads|{company_id}|{sorted(terms.items())}", token, size, fetch)
