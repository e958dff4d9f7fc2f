"""The program's figures for the dashboard."""

from __future__ import annotations

from datetime import date

from hubcore.db import Database
from services.companies.program import domain, store
from services.companies.program.usecases.milestones import grown


async def program_stats(db: Database, rules: domain.GrowthRules, *, today: date) -> domain.ProgramStats:
    async with db.read() as conn:
        active = await store.active_assignments(conn, today)
        totals = await store.space_totals(conn)
        latest = await store.latest_round(conn)
        reporters = await store.kpi_reporters(conn)
        gpu = await store.total_used(conn, domain.GPU_HOURS)
        consultations = await store.total_used(conn, domain.TECHNICAL_CONSULTATION)
        firms_grown = len(await grown(conn, rules))
    return domain.ProgramStats(
        domain.occupancy(today, active, totals, listed=False), latest, reporters, gpu, consultations, firms_grown
    )
