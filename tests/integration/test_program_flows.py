"""The program with the other services over a real nats-server: a closed round updates the company's KPI
funding figure exactly once, whatever is redelivered; a completed technical consulting session is one 1:1
technical consultation in the company's support ledger, once; the growth rules come from the settings."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from google.protobuf import duration_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as pb
from hub.consulting.v1 import consulting_pb2 as spb
from hub.events.v1 import companies_pb2 as ev
from hub.events.v1 import envelope_pb2
from hub.investors.v1 import investors_pb2 as ipb

from hubcore.db import outbox, processed_events, uuid7
from hublocal.natsserver import NatsServer
from services.companies.registry import store as registry_store
from tests.conftest import (
    ADMIN,
    SERVICE,
    Running,
    RunningConsulting,
    RunningInvestors,
    eventually,
    make_settings,
    start_companies,
)
from tests.integration.consulting_world import earlier_today, make_mentor, make_type, schedule_request
from tests.integration.test_investors_api import create_firm, won
from tests.integration.test_investors_flows import register
from tests.integration.test_program_api import company, events, milestone, report, stub


async def test_a_closed_round_updates_the_kpi_funding_figure_exactly_once(
    companies: Running, investors: RunningInvestors
) -> None:
    made = await register(companies, investors, "닥터노트")
    api = stub(companies)
    today = date.today()
    later, earlier = f"{today.year}-Q{(today.month - 1) // 3 + 1}", "2020-01"  # the latest period that has begun
    for period in (earlier, later):
        await api.ReportKpi(
            pb.ReportKpiRequest(
                reason="창업자 대신 입력", report=pb.KpiReport(company=made.name, period=period, headcount=5)
            ),
            metadata=ADMIN,
        )

    async def kpi_funding() -> dict[str, int]:
        found = await api.ListKpiReports(pb.ListKpiReportsRequest(company=made.name), metadata=ADMIN)
        return {r.period: r.funding_raised.units for r in found.reports}

    assert await kpi_funding() == {earlier: 0, later: 0}
    firm = await create_firm(investors)
    opened = await investors.investors.CreateRound(
        ipb.CreateRoundRequest(
            round=ipb.Round(
                company=made.name, round_type=ipb.ROUND_TYPE_SEED, amount=won(2_000_000_000), lead_firm=firm.name
            )
        ),
        metadata=ADMIN,
    )
    await investors.investors.CloseRound(ipb.CloseRoundRequest(name=opened.name), metadata=ADMIN)

    async def counted() -> bool:
        return await kpi_funding() == {earlier: 0, later: 2_000_000_000}

    assert await eventually(counted, timeout=20)
    # The same round closed again, in an event with another id: it still counts once.
    async with investors.runtime.db.read() as conn:
        query = sa.select(outbox.c.data).where(outbox.c.subject == "hub.investors.round.closed")
        data = (await conn.execute(query)).scalars().first()
    assert data is not None
    copy = envelope_pb2.Envelope.FromString(data)
    copy.id = uuid7()
    consumer = next(c for c in companies.runtime.consumers if c.spec.durable == "companies-funding")
    await consumer.apply(copy)
    assert await counted()


async def test_completed_technical_sessions_count_once_as_consultations(
    companies: Running, consulting: RunningConsulting
) -> None:
    """Real consulting service, real events: only the technical session counts, once, whatever is redelivered."""
    firm = await company(companies, "메디비전", "SELECTED")

    async def known() -> bool:
        from services.consulting import store as consulting_store

        async with consulting.runtime.db.read() as conn:
            return await consulting_store.get_company(conn, firm) is not None

    assert await eventually(known, timeout=20)
    mentor = await make_mentor(consulting)
    technical = await make_type(consulting)
    growth = await consulting.consulting.CreateSessionType(
        spb.CreateSessionTypeRequest(
            session_type=spb.SessionType(
                display_name="성장전략 컨설팅", category=spb.SESSION_CATEGORY_GROWTH_STRATEGY,
                default_duration=duration_pb2.Duration(seconds=3600),
            )
        ),
        metadata=ADMIN,
    )  # fmt: skip
    monday = earlier_today(hours=8)  # held sessions have begun
    for n, kind in enumerate((technical, growth, technical)):
        session = await consulting.consulting.ScheduleSession(
            schedule_request(firm, mentor, kind, monday + timedelta(hours=2 * n)), metadata=ADMIN
        )
        if n < 2:  # the third stays scheduled: not held, not counted
            await consulting.consulting.CompleteSession(
                spb.CompleteSessionRequest(name=session.name, notes="완료"), metadata=ADMIN
            )
    api = stub(companies)

    async def counted() -> list[tuple[str, int, str]]:
        ledger = await api.ListSupport(pb.ListSupportRequest(company=firm), metadata=SERVICE)
        return [(pb.SupportKind.Name(g.kind), g.amount, g.source) for g in ledger.grants]

    assert await eventually(counted, timeout=20) == [("SUPPORT_KIND_TECHNICAL_CONSULTATION", 1, "sessions/1")]

    async def both_applied() -> bool:  # the growth-strategy session's event too, which counts nothing
        async with companies.runtime.db.read() as conn:
            query = sa.select(sa.func.count()).where(processed_events.c.consumer == "companies-consultations")
            return int((await conn.execute(query)).scalar_one()) == 2

    assert await eventually(both_applied, timeout=20)
    assert await counted() == [("SUPPORT_KIND_TECHNICAL_CONSULTATION", 1, "sessions/1")]
    # The same completion in an event with another id (a re-publish): still counted once.
    async with consulting.runtime.db.read() as conn:
        query = sa.select(outbox.c.data).where(outbox.c.subject == "hub.consulting.session.completed")
        data = (await conn.execute(query.order_by(outbox.c.seq))).scalars().first()
    assert data is not None
    copy = envelope_pb2.Envelope.FromString(data)
    copy.id = uuid7()
    consumer = next(c for c in companies.runtime.consumers if c.spec.durable == "companies-consultations")
    assert await consumer.apply(copy) is True  # a new event id: applied, and it changed nothing
    assert len(await counted()) == 1
    ledger = await api.ListSupport(pb.ListSupportRequest(company=firm), metadata=SERVICE)
    assert [(t.kind, t.used) for t in ledger.totals] == [(pb.SUPPORT_KIND_TECHNICAL_CONSULTATION, 1)]
    stats = await api.GetProgramStats(pb.GetProgramStatsRequest(), metadata=SERVICE)
    assert stats.technical_consultations == 1
    [(_, packed)] = await events(companies, "hub.companies.support.granted")
    payload = ev.SupportGranted()
    packed.Unpack(payload)
    assert (payload.company, payload.kind, payload.source, payload.used_after) == (
        firm, "TECHNICAL_CONSULTATION", "sessions/1", 1,
    )  # fmt: skip


async def test_firms_grown_by_the_rules_in_the_settings(
    database_url: str, nats_server: NatsServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_GROWTH_FUNDING_KRW", "1000000000")
    monkeypatch.setenv("HUB_GROWTH_REVENUE_PCT", "50")
    monkeypatch.setenv("HUB_GROWTH_MILESTONES", "overseas_entry")
    c = await start_companies(make_settings("companies", database_url, nats_server.url, tmp_path))
    try:
        api = stub(c)
        funded, grew, slow, abroad, customer, applicant = [
            await company(c, name, *steps)
            for name, steps in [
                ("투자유치", ("SELECTED", "RESIDENT")), ("매출성장", ("SELECTED",)), ("완만성장", ("SELECTED",)),
                ("해외진출", ("SELECTED",)), ("첫고객", ("SELECTED",)), ("지원자", ()),
            ]
        ]  # fmt: skip
        async with c.runtime.db.write(actor="test") as uow:  # as the hub.investors.round.closed consumer does
            for number, (firm, amount) in enumerate([(funded, 1_500_000_000), (applicant, 2_000_000_000)]):
                await registry_store.apply_closed_round(
                    uow.conn, round_name=f"rounds/{number}", company_id=int(firm.split("/")[1]), round_type="SEED",
                    amount=amount, closed_on=date(2026, 2, 1),
                )  # fmt: skip
        await report(c, grew, "2025-Q4", 5, 30_000_000)  # 10M a month
        await report(c, grew, "2026-03", 6, 16_000_000)  # 16M a month: +60%
        await report(c, slow, "2025-10", 5, 10_000_000)
        await report(c, slow, "2026-03", 5, 14_000_000)  # +40%
        today = date.today() - timedelta(days=1)
        for firm, kind in [(abroad, pb.MILESTONE_KIND_OVERSEAS_ENTRY), (customer, pb.MILESTONE_KIND_FIRST_CUSTOMER)]:
            await api.CreateMilestone(pb.CreateMilestoneRequest(milestone=milestone(firm, kind, today)), metadata=ADMIN)

        growth = await api.GetGrowth(pb.GetGrowthRequest(), metadata=SERVICE)
        assert growth.rules == [
            "funding raised from closed rounds ≥ 1,000,000,000 KRW",
            "revenue up ≥ 50% from the first KPI report to the latest (monthly average)",
            "a milestone of kind OVERSEAS_ENTRY",
        ]
        reasons = {f.company: list(f.reasons) for f in growth.firms}
        assert reasons == {
            funded: ["raised 1,500,000,000 KRW in closed rounds (rule: ≥ 1,000,000,000)"],
            grew: ["revenue up 60% from 2025-Q4 to 2026-03 (rule: ≥ 50%)"],
            abroad: [f"milestone OVERSEAS_ENTRY on {today.isoformat()}"],
        }
        assert growth.firms_grown == 3 and growth.firms[0].korean_name == "투자유치"
        stats = await api.GetProgramStats(pb.GetProgramStatsRequest(), metadata=SERVICE)
        assert stats.firms_grown == 3
        # a firm that withdraws is no longer the hub's; a milestone deleted no longer counts
        await c.companies.ChangeCompanyStatus(
            cpb.ChangeCompanyStatusRequest(name=funded, status=cpb.COMPANY_STATUS_WITHDRAWN), metadata=ADMIN
        )
        await api.DeleteMilestone(pb.DeleteMilestoneRequest(name="milestones/1"), metadata=ADMIN)
        after = await api.GetGrowth(pb.GetGrowthRequest(), metadata=SERVICE)
        assert [f.company for f in after.firms] == [grew]
    finally:
        await c.channel.close()
        await c.runtime.stop()
