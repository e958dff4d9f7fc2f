"""Support use cases: quotas, grants by hand (within the quota unless overridden with a reason), the ledger."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy.exc import IntegrityError

from hubcore import errors
from hubcore.db import Database, UnitOfWork
from services.companies.program import convert, domain, store
from services.companies.program.usecases.common import SUBJECT, active_company


async def set_support_quota(uow: UnitOfWork, company_name: str, kind: str, quota: int) -> domain.SupportQuota:
    company = await active_company(uow.conn, company_name, "quota.company")
    try:
        await store.set_quota(uow.conn, company.id, kind, quota)
    except IntegrityError:
        raise errors.Aborted(f"the quota of {company_name} was set at the same moment; retry") from None
    return domain.SupportQuota(company.name, kind, quota, await store.used(uow.conn, company.id, kind))


async def record_support(uow: UnitOfWork, company_name: str, grant: domain.SupportGrant) -> domain.SupportGrant:
    """Grants support to an active company; metered kinds against its quota, which is locked meanwhile."""
    company = await active_company(uow.conn, company_name, "grant.company")
    quota = await store.lock_quota(uow.conn, company.id, grant.kind)
    used = await store.used(uow.conn, company.id, grant.kind)
    domain.check_quota(
        kind=grant.kind, used=used, quota=quota, amount=grant.amount, override_reason=grant.override_reason,
        subject=company.name,
    )  # fmt: skip
    granted = await store.insert_grant(uow.conn, replace(grant, company_id=company.id, actor=uow.actor))
    event = convert.granted_event(granted, used_after=used + granted.amount, quota=quota or 0)
    await uow.emit(f"{SUBJECT}.support.granted", granted.name, 1, event)
    return granted


async def support_ledger(db: Database, company_name: str) -> domain.SupportLedger:
    async with db.read() as conn:
        company = await active_company(conn, company_name, "company")
        grants, used, quotas = await store.support_ledger(conn, company.id)
    return domain.ledger(grants, used, quotas)
