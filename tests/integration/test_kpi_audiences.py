"""Issue 17: firms are tracked after they leave. A yearly KPI schedule for the graduates asks every graduate that
consented and has not closed (a non-consenting or closed one is not asked, nor a resident); a request stops after
the company's close date; a yearly schedule for the control group asks the consenting applicants a round did not
select. On the real companies service (SQLite, and PostgreSQL with HUB_TEST_DATABASE_URL)."""

from __future__ import annotations

from datetime import date, timedelta

import grpc
from google.protobuf import field_mask_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import kpi_requests_pb2 as kpb
from hub.companies.v1 import program_pb2 as pb

from hubcore.convert import seoul_today
from hubcore.server import FOUNDER
from services.companies.program import usecases
from tests.conftest import ADMIN, Running
from tests.integration.test_authorization import scoped
from tests.integration.test_program_api import apply, company, day, new_round, precondition, refused, stub

YEARLY = kpb.KPI_CADENCE_YEARLY


async def consent(c: Running, firm: str) -> None:
    await c.companies.UpdateCompany(
        cpb.UpdateCompanyRequest(
            company=cpb.Company(name=firm, reporting_consent=True),
            update_mask=field_mask_pb2.FieldMask(paths=["reporting_consent"]),
        ),
        metadata=ADMIN,
    )


async def close(c: Running, firm: str, on: date, reason: str = "") -> None:
    await c.companies.CloseCompany(
        cpb.CloseCompanyRequest(name=firm, close_date=day(on), reason=reason), metadata=ADMIN
    )


async def yearly(c: Running, audience: kpb.KpiAudience.ValueType, *names: str) -> kpb.KpiSchedule:
    schedule = kpb.KpiSchedule(
        cadence=YEARLY, audience=audience, companies=list(names), due_days=30,
        figures=[kpb.KPI_FIGURE_REVENUE, kpb.KPI_FIGURE_EMPLOYMENT, kpb.KPI_FIGURE_CASH_ON_HAND],
    )  # fmt: skip
    return await stub(c).CreateKpiSchedule(kpb.CreateKpiScheduleRequest(schedule=schedule), metadata=ADMIN)


async def asked(c: Running, period: str) -> dict[str, kpb.KpiRequest]:
    found = await stub(c).ListKpiRequests(kpb.ListKpiRequestsRequest(filter=f"period={period}"), metadata=ADMIN)
    return {r.company: r for r in found.requests}


async def test_graduates_keep_reporting_yearly_while_they_consent_and_operate(companies: Running) -> None:
    c = companies
    today = seoul_today()
    this_year, next_year = str(today.year), str(today.year + 1)
    graduate = await company(c, "계속보고", "SELECTED", "RESIDENT", "GRADUATED")
    silent = await company(c, "동의안함", "SELECTED", "RESIDENT", "GRADUATED")
    closed = await company(c, "작년폐업", "SELECTED", "RESIDENT", "GRADUATED")
    later = await company(c, "올해폐업", "SELECTED", "RESIDENT", "GRADUATED")
    resident = await company(c, "입주중", "SELECTED", "RESIDENT")
    for firm in (graduate, closed, later, resident):
        await consent(c, firm)
    await close(c, closed, date(today.year - 1, 12, 31))  # before this year's period began
    await close(c, later, today)  # during this year's period: asked for this year, never again

    schedule = await yearly(c, kpb.KPI_AUDIENCE_GRADUATES)
    assert (schedule.cadence, schedule.audience) == (YEARLY, kpb.KPI_AUDIENCE_GRADUATES)
    opened = await asked(c, this_year)
    assert set(opened) == {graduate, later}
    request = opened[graduate]
    assert request.due_date == day(date(today.year, 12, 31) + timedelta(days=30))
    assert list(request.figures) == [kpb.KPI_FIGURE_REVENUE, kpb.KPI_FIGURE_CASH_ON_HAND, kpb.KPI_FIGURE_EMPLOYMENT]

    # The graduate answers with the year's report, as a founder.
    report = pb.KpiReport(company=graduate, period=this_year, headcount=9, full_time_employees=7)
    filed = await stub(c).ReportKpi(pb.ReportKpiRequest(report=report), metadata=scoped(FOUNDER, graduate))
    assert filed.period == this_year and filed.full_time_employees == 7
    assert (await asked(c, this_year))[graduate].state == kpb.KPI_REQUEST_STATE_ANSWERED

    # Next year the clock asks the graduate again, and nobody who closed (nor the others).
    assert await usecases.open_due_requests(c.runtime.db, date(today.year + 1, 1, 1)) == 1
    assert set(await asked(c, next_year)) == {graduate}
    assert await usecases.open_due_requests(c.runtime.db, date(today.year + 1, 1, 2)) == 0

    # A schedule naming a company outside its audience is refused.
    status = await refused(yearly(c, kpb.KPI_AUDIENCE_GRADUATES, silent), grpc.StatusCode.FAILED_PRECONDITION)
    assert precondition(status) == "AUDIENCE"


async def test_the_control_group_is_the_consenting_applicants_a_round_did_not_select(companies: Running) -> None:
    c, api = companies, stub(companies)
    today = seoul_today()
    r = await new_round(c, desks=1)
    admitted, control, declined, gone = [await company(c, n) for n in ("선정기업", "대조군", "미동의", "폐업기업")]
    applications = {firm: await apply(c, r.name, firm) for firm in (admitted, control, declined, gone)}
    for firm in (admitted, control, gone):
        await consent(c, firm)
    for firm, state in (
        (admitted, pb.APPLICATION_STATE_SELECTED), (control, pb.APPLICATION_STATE_REJECTED),
        (declined, pb.APPLICATION_STATE_REJECTED), (gone, pb.APPLICATION_STATE_REJECTED),
    ):  # fmt: skip
        await api.DecideApplication(
            pb.DecideApplicationRequest(name=applications[firm].name, decision=state, reason="심사 결과"),
            metadata=ADMIN,
        )
    await close(c, gone, date(today.year - 1, 6, 30))

    await yearly(c, kpb.KPI_AUDIENCE_CONTROL_GROUP)
    assert set(await asked(c, str(today.year))) == {control}
    status = await refused(yearly(c, kpb.KPI_AUDIENCE_CONTROL_GROUP, admitted), grpc.StatusCode.FAILED_PRECONDITION)
    assert precondition(status) == "AUDIENCE"
    # Residents stay the default audience: the admitted firm, once resident, gets the monthly request.
    await c.companies.ChangeCompanyStatus(
        cpb.ChangeCompanyStatusRequest(name=admitted, status=cpb.COMPANY_STATUS_RESIDENT), metadata=ADMIN
    )
    monthly = kpb.KpiSchedule(cadence=kpb.KPI_CADENCE_MONTHLY, due_days=10)
    made = await api.CreateKpiSchedule(kpb.CreateKpiScheduleRequest(schedule=monthly), metadata=ADMIN)
    assert made.audience == kpb.KPI_AUDIENCE_RESIDENTS
    assert set(await asked(c, today.strftime("%Y-%m"))) == {admitted}
