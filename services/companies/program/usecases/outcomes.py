"""The yearly outcome report: the service's part, read in one transaction so its figures agree."""

from __future__ import annotations

from hubcore.db import Database
from services.companies.program import domain, store
from services.companies.program.usecases.milestones import grown


async def outcome_report(db: Database, period: domain.Period, rules: domain.GrowthRules) -> domain.OutcomeReport:
    """The report's figures for the period, from the latest report versions, every stay, the mirrored rounds,
    the support ledger and quotas, and the firms grown by the rules."""
    async with db.read() as conn:
        firms = await store.hub_firms(conn)
        reports = await store.latest_kpi_reports(conn)
        stays = await store.all_assignments(conn)
        rounds = await store.mirrored_rounds(conn)
        grants = await store.all_grants(conn)
        quotas = await store.all_quotas(conn)
        totals = await store.space_totals(conn)
        firms_grown = [g.company for g in await grown(conn, rules)]
    return domain.outcome_report(
        period, firms=firms, reports=reports, stays=stays, rounds=rounds, grants=grants, quotas=quotas,
        totals=totals, grown=firms_grown,
    )  # fmt: skip
