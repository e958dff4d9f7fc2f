"""Use cases of the partner API's deal flow: the companies whose founders put them in a firm's deal flow (with
the fit the program managers' matching computes), the introductions a firm's partner asks for, and the KPI
updates of the companies the firm invested in, kept from the companies service's events. Every one is scoped
to the caller's firm; a company the firm may not see is NOT_FOUND, as if it did not exist."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import Database, UnitOfWork
from hubcore.requests import Terms
from hubcore.rows import paged
from services.investors import convert, domain, store
from services.investors.domain import webhooks as hooks
from services.investors.usecases import webhooks
from services.investors.usecases.firms import load_firm
from services.investors.usecases.introductions import NewIntroduction, Shared, create_introduction, shown_in

# A KPI update as a partner is shown it: the update and the figure groups the firm was granted
SharedUpdate = tuple[domain.CompanyUpdate, tuple[str, ...]]


async def list_deal_flow(
    db: Database, firm_id: int, terms: Terms, *, min_score: int, limit: int
) -> list[domain.DealFlowEntry]:
    """The companies in the firm's deal flow that meet the filter, best fit first. The open round's amount
    (the ticket criterion) counts only if the company granted the firm its KPI_FINANCE figures."""
    async with db.read() as conn:
        firm = await load_firm(conn, firm_id, f"firms/{firm_id}")
        grants = await store.deal_flow_grants(conn, firm_id)
        companies = await store.directory_by_id(conn, list(grants))
        live = [c for c in companies.values() if not c.archived and c.status != "WITHDRAWN" and domain.wanted(c, terms)]
        amounts = await store.open_round_amounts(conn, [c.id for c in live])
        open_intros = await store.open_seen_introductions(conn, firm_id, [c.id for c in live])
    entries = []
    for company in live:
        groups = grants[company.id]
        amount = amounts.get(company.id) if "KPI_FINANCE" in groups else None
        fit = domain.deal_flow_fit(company, firm, terms.get("thesis") or (), amount)
        if fit is None and (terms.get("thesis") or min_score):
            continue  # the named theses are not the firm's, or there is no score to reach
        if fit is not None and fit.score < min_score:
            continue
        fields = domain.shown_fields(groups)
        entries.append(domain.DealFlowEntry(company, fields, groups, fit, open_intros.get(company.id, "")))
    entries.sort(key=lambda e: (-(e.fit.score if e.fit else 0), e.company.id))
    return entries[:limit]


async def request_introduction(
    uow: UnitOfWork, firm_id: int, key_id: int, company_id: int, company: str, note: str
) -> Shared:
    """A firm's partner asks for an introduction to a company of its deal flow: REQUESTED, addressed to the
    partner, showing the fields the grant shows; emits hub.investors.introduction.requested (requested_by set).
    The company must be in the firm's deal flow now (else NOT_FOUND)."""
    key = await store.get_api_key(uow.conn, key_id)
    if key is None or key.firm_id != firm_id:
        raise errors.PermissionDenied("the caller's key is not a key of its firm")
    granted = (await store.granted_groups(uow.conn, [(company_id, firm_id)])).get((company_id, firm_id), ())
    directory = await store.get_directory_company(uow.conn, company_id)
    if not domain.in_deal_flow(granted) or directory is None or directory.archived:
        raise errors.NotFound("Company", company)
    new = NewIntroduction(
        company_id=company_id, company=company, firm_id=firm_id, firm=f"firms/{firm_id}", partner_id=key.partner_id,
        partner=f"partners/{key.partner_id}", note=note, shared=domain.shown_fields(granted),
        requested_by=f"partners/{key.partner_id}",
    )  # fmt: skip
    intro = await create_introduction(uow, new)
    return (await shown_in(uow.conn, [intro]))[0]


# KPI updates


async def record_company_update(uow: UnitOfWork, update: domain.CompanyUpdate, event_id: str) -> bool:
    """Keeps a KPI report (or its correction) from hub.companies.kpi.reported; an older version than the one
    held changes nothing (events may arrive out of order). A kept one is an update.shared webhook event for each
    firm that invested in the company and was granted KPI figures, cut to its groups, in this transaction."""
    kept = await store.upsert_company_update(uow.conn, update)
    if kept:
        firms = await store.investing_firms(uow.conn, update.company_id)
        granted = await store.granted_groups(uow.conn, [(update.company_id, firm) for firm in sorted(firms)])
        for (company_id, firm_id), held in sorted(granted.items()):
            if kpis := tuple(g for g in held if g in domain.KPI_GROUPS):
                # One event per firm (each sees its own figures); its id is derived, so a redelivery is the same.
                shared_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{event_id}/firms/{firm_id}"))
                message = convert.company_update_pb(update, kpis)
                await webhooks.heard(uow, hooks.UPDATE_SHARED, shared_id, message, company_id=company_id,
                                     firm_ids={firm_id})  # fmt: skip
    return kept


async def list_company_updates(
    db: Database, firm_id: int, terms: Terms, *, size: int, token: str
) -> tuple[list[SharedUpdate], str]:
    """The KPI updates of the companies the firm invested in whose founders granted it KPI figures, newest
    first, each cut to the groups granted."""
    groups: dict[int, tuple[str, ...]] = {}

    async def fetch(conn: AsyncConnection, before: int | None, limit: int) -> list[domain.CompanyUpdate]:
        invested = await store.invested_companies(conn, firm_id)
        if wanted := terms.get("company"):
            invested &= set(wanted)
        granted = await store.granted_groups(conn, [(c, firm_id) for c in invested])
        for (company_id, _), held in granted.items():
            kpis = tuple(g for g in held if g in domain.KPI_GROUPS)
            if kpis:
                groups[company_id] = kpis
        return await store.company_updates_of(conn, groups, before=before, limit=limit)

    found, next_token = await paged(db, f"updates|{sorted(terms.items())}", token, size, fetch)
    return [(u, groups[u.company_id]) for u in found], next_token


def updates_shown(found: Sequence[SharedUpdate]) -> list[domain.Shown]:
    """What a page of updates showed of each company, for its access log."""
    return [domain.Shown(0, u.company_id, tuple(u.granted(g))) for u, g in found]
