"""The program with the investors service over a real nats-server: a closed round updates the company's
KPI funding figure exactly once, whatever is redelivered."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from hub.companies.v1 import program_pb2 as pb
from hub.events.v1 import envelope_pb2
from hub.investors.v1 import investors_pb2 as ipb

from hubcore.db import outbox, uuid7
from tests.conftest import ADMIN, Running, RunningInvestors, eventually
from tests.integration.test_investors_api import create_firm, won
from tests.integration.test_investors_flows import register
from tests.integration.test_program_api import stub


async def test_a_closed_round_updates_the_kpi_funding_figure_exactly_once(
    companies: Running, investors: RunningInvestors
) -> None:
    made = await register(companies, investors, "닥터노트")
    api = stub(companies)
    later, earlier = f"{date.today().year + 1}-Q1", "2020-01"
    for period in (earlier, later):
        await api.ReportKpi(
            pb.ReportKpiRequest(report=pb.KpiReport(company=made.name, period=period, headcount=5)), metadata=ADMIN
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
