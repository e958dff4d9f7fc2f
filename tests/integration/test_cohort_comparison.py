"""Issue 17: GetCohortComparison, a selection round's admitted firms against its control group (the rejected
applicants that consented to report), checked against figures computed here from the rows the test wrote: firms,
reporters, medians of revenue, full-time employees, exports and investment attracted, and survival at 1, 3 and 5
years (admitted firms from their graduation, the control group from the round's decision). Real companies
service, SQLite and PostgreSQL (HUB_TEST_DATABASE_URL)."""

from __future__ import annotations

from datetime import date, timedelta
from statistics import median

import grpc
import sqlalchemy as sa
from google.type import money_pb2
from hub.companies.v1 import program_pb2 as pb

from hubcore.convert import seoul_today
from hubcore.db import now
from hubcore.requests import parse_name
from services.companies import tables
from services.companies.registry import store as registry_store
from tests.conftest import ADMIN, Running
from tests.integration.test_kpi_audiences import close, consent
from tests.integration.test_program_api import apply, bad_fields, company, new_round, refused, space, stub

M = 1_000_000


def krw(units: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="KRW", units=units)


def years_ago(today: date, years: float) -> date:
    return today - timedelta(days=round(365.25 * years))


async def test_a_round_against_its_control_group(companies: Running) -> None:
    c, api = companies, stub(companies)
    today = seoul_today()
    year = today.year - 1
    y = str(year)
    r = await new_round(c, desks=3)
    names = ("선정1", "선정2", "선정3", "대조1", "대조2", "미동의", "타회선정")
    a1, a2, a3, c1, c2, c3, c4 = [await company(c, n) for n in names]
    applications = {firm: await apply(c, r.name, firm) for firm in (a1, a2, a3, c1, c2, c3, c4)}
    for firm in (c1, c2, c4):
        await consent(c, firm)
    for firm in (a1, a2, a3, c1, c2, c3, c4):
        state = pb.APPLICATION_STATE_SELECTED if firm in (a1, a2, a3) else pb.APPLICATION_STATE_REJECTED
        decision = pb.DecideApplicationRequest(name=applications[firm].name, decision=state, reason="심사")
        await api.DecideApplication(decision, metadata=ADMIN)
    # c4 was rejected here but admitted by a later round: not a control firm.
    later = await new_round(c, desks=1, title="2026 하반기")
    again = await apply(c, later.name, c4)
    await api.DecideApplication(
        pb.DecideApplicationRequest(name=again.name, decision=pb.APPLICATION_STATE_SELECTED, reason="재지원 선정"),
        metadata=ADMIN,
    )

    async def report(firm: str, period: str, revenue: int, **figures: object) -> None:
        kpi = pb.KpiReport(company=firm, period=period, headcount=1, revenue=krw(revenue), **figures)  # type: ignore[arg-type]
        await api.ReportKpi(pb.ReportKpiRequest(reason="연간 조사 대리 입력", report=kpi), metadata=ADMIN)

    usd = lambda units: money_pb2.Money(currency_code="USD", units=units)  # noqa: E731
    await report(a1, y, 100 * M, full_time_employees=10, exports=usd(5000))
    await report(a1, f"{year - 1}", 999 * M, full_time_employees=99)  # another year: not counted
    for q, fte in ((1, None), (2, 3), (3, None), (4, 4)):
        extra: dict[str, object] = {"exports": usd(1000)} if q == 1 else {}
        if fte is not None:
            extra["full_time_employees"] = fte
        await report(a2, f"{y}-Q{q}", 10 * M, **extra)
    await report(a2, f"{y}-02", 7 * M)  # a month of a quarter it reported: the quarter stands
    await report(c1, y, 30 * M, full_time_employees=2)
    await report(c2, f"{y}-01", 5 * M)
    await report(c2, f"{y}-02", 5 * M)
    await report(c3, y, 999 * M, full_time_employees=50)  # did not consent: not in the comparison

    room = parse_name((await space(c, "301호")).name, "spaces")
    async with c.runtime.db.write(actor="service:companies") as uow:
        for i, (firm, amount, closed_on) in enumerate(
            ((a1, 500 * M, date(year, 5, 1)), (a2, 200 * M, date(year - 1, 12, 31)), (a3, 300 * M, date(year, 12, 31)),
             (c1, 50 * M, date(year, 1, 1)))
        ):  # fmt: skip
            await registry_store.apply_closed_round(
                uow.conn, round_name=f"rounds/{900 + i}", company_id=parse_name(firm, "companies"),
                round_type="SEED", amount=amount, closed_on=closed_on,
            )  # fmt: skip
        # The history the test crafts: graduations years ago, and the round's decision years ago.
        a1_graduated, a2_graduated = years_ago(today, 4), years_ago(today, 2)
        for firm, graduated in ((a1, a1_graduated), (a2, a2_graduated)):
            await uow.conn.execute(
                tables.assignments.insert().values(
                    space_id=room, company_id=parse_name(firm, "companies"), move_in=graduated - timedelta(days=300),
                    move_out=graduated, move_out_reason="GRADUATED", created_at=now(),
                )
            )  # fmt: skip
        c1_decided, c2_decided = years_ago(today, 6), years_ago(today, 1) - timedelta(days=10)
        for firm, decided in ((c1, c1_decided), (c2, c2_decided)):
            a = tables.applications.c
            await uow.conn.execute(
                sa.update(tables.applications)
                .where(a.id == parse_name(applications[firm].name, "applications"))
                .values(decided_on=decided)
            )
    await close(c, a2, a2_graduated + timedelta(days=540))  # 1.5 years after graduating
    await close(c, c1, c1_decided + timedelta(days=730))  # 2 years after the decision

    got = await api.GetCohortComparison(pb.GetCohortComparisonRequest(round=r.name, period=y), metadata=ADMIN)
    assert (got.round, got.period) == (r.name, y)
    cohort, control = got.cohort, got.control_group

    # Computed here from what was written above.
    assert (cohort.firms, cohort.reporters) == (3, 2)
    assert cohort.revenue_median == median([100 * M, 40 * M])
    assert cohort.full_time_employees_median == median([10, 4])
    assert cohort.exports_median == median([5000, 1000])
    assert cohort.investment_median == median([500 * M, 0, 300 * M])
    assert (control.firms, control.reporters) == (2, 2)
    assert control.revenue_median == median([30 * M, 10 * M])
    assert control.full_time_employees_median == 2
    assert control.exports_median == 0
    assert control.investment_median == median([50 * M, 0])

    def survival(group: pb.CohortComparison.Group) -> list[tuple[int, int, int, int]]:
        return [(s.years, s.eligible, s.survived, s.closed) for s in group.survival]

    # a1: graduated 4 years ago, operating; a2: 2 years ago, closed 1.5 years after; a3 has not graduated.
    assert survival(cohort) == [(1, 2, 2, 0), (3, 1, 1, 0), (5, 0, 0, 0)]
    # c1: decided 6 years ago, closed 2 years after; c2: decided a year and 10 days ago, operating.
    assert survival(control) == [(1, 2, 2, 0), (3, 1, 0, 1), (5, 1, 0, 1)]
    assert control.survival[1].rate == 0.0 and cohort.survival[0].rate == 1.0

    # Bad input names the field; an unknown round is NOT_FOUND.
    for period in ("2026-Q1", f"{today.year + 1}", "작년"):
        status = await refused(
            api.GetCohortComparison(pb.GetCohortComparisonRequest(round=r.name, period=period), metadata=ADMIN),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert bad_fields(status) == ["period"]
    await refused(
        api.GetCohortComparison(pb.GetCohortComparisonRequest(round="rounds/999"), metadata=ADMIN),
        grpc.StatusCode.NOT_FOUND,
    )
    default = await api.GetCohortComparison(pb.GetCohortComparisonRequest(round=r.name), metadata=ADMIN)
    assert default.period == y
