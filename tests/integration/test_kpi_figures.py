"""Issue 17 over the real companies service (SQLite, and PostgreSQL with HUB_TEST_DATABASE_URL): a KPI report's
optional figures with the runway computed from cash and burn, versioned corrections that carry figures over and
name each figure's source, the figures in hub.companies.kpi.reported with the actor; bad figures refused naming
the field with nothing written; a company's reporting consent through UpdateCompany and its close date through
CloseCompany with hub.companies.company.closed."""

from __future__ import annotations

from datetime import timedelta

import grpc
from google.protobuf import field_mask_pb2
from google.type import money_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as pb
from hub.events.v1 import companies_pb2 as ev

from hubcore.convert import seoul_today
from hubcore.events import unpack
from hubcore.server import FOUNDER
from services.companies import tables
from tests.conftest import ADMIN, Running
from tests.integration.test_authorization import scoped
from tests.integration.test_program_api import bad_fields, company, count, day, events, precondition, refused, stub

PERIOD = "2026-Q1"


def krw(units: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="KRW", units=units)


def usd(units: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="USD", units=units)


async def test_runway_and_corrections_that_carry_figures_over_with_their_sources(companies: Running) -> None:
    c, api = companies, stub(companies)
    firm = await company(c, "메디비전", "SELECTED")
    founder = scoped(FOUNDER, firm)
    first = await api.ReportKpi(
        pb.ReportKpiRequest(
            report=pb.KpiReport(
                company=firm, period=PERIOD, headcount=5, revenue=krw(30_000_000), cash_on_hand=krw(120_000_000),
                monthly_burn=krw(40_000_000), hires=2, overseas_countries=["vn", "US"],
            )
        ),
        metadata=founder,
    )  # fmt: skip
    assert first.runway_months == 3.0 and first.HasField("runway_months")
    assert (first.cash_on_hand.currency_code, first.cash_on_hand.units) == ("KRW", 120_000_000)
    assert list(first.overseas_countries) == ["VN", "US"]
    assert not first.HasField("full_time_employees") and not first.HasField("exports")

    fixed = await api.ReportKpi(
        pb.ReportKpiRequest(
            reason="창업자 요청으로 번 레이트 정정",
            report=pb.KpiReport(
                company=firm, period=PERIOD, headcount=6, revenue=krw(30_000_000), monthly_burn=krw(50_000_000),
                exports=usd(30_000), full_time_employees=0,
            ),
        ),
        metadata=ADMIN,
    )  # fmt: skip
    assert fixed.version == 2
    assert fixed.cash_on_hand.units == 120_000_000  # carried over from version 1
    assert fixed.monthly_burn.units == 50_000_000
    assert fixed.runway_months == 2.4
    assert (fixed.exports.currency_code, fixed.exports.units) == ("USD", 30_000)
    assert fixed.HasField("full_time_employees") and fixed.full_time_employees == 0  # zero is a figure
    assert fixed.hires == 2 and list(fixed.overseas_countries) == ["VN", "US"]
    assert not fixed.HasField("ip_filed")
    sources = {s.figure: (s.version, s.actor) for s in fixed.figure_sources}
    assert sources["cash_on_hand"] == sources["hires"] == sources["overseas_countries"] == (1, first.actor)
    assert first.actor.startswith("founder:") and fixed.actor.startswith("admin:")
    assert sources["monthly_burn"] == sources["exports"] == sources["full_time_employees"] == (2, fixed.actor)
    assert sources["headcount"] == sources["revenue"] == (2, fixed.actor)
    assert "ip_filed" not in sources
    first_time = next(s.enter_time for s in fixed.figure_sources if s.figure == "cash_on_hand")
    assert first_time == first.create_time

    history = await api.ListKpiReports(pb.ListKpiReportsRequest(company=firm, all_versions=True), metadata=ADMIN)
    assert [(r.version, r.monthly_burn.units, r.runway_months) for r in history.reports] == [
        (2, 50_000_000, 2.4), (1, 40_000_000, 3.0),
    ]  # fmt: skip

    reported = [unpack(e) for e, _ in await events(c, "hub.companies.kpi.reported")]
    assert isinstance(reported[-1], ev.KpiReported)
    latest = reported[-1]
    assert (latest.cash_on_hand_krw, latest.monthly_burn_krw, latest.runway_months) == (120_000_000, 50_000_000, 2.4)
    assert (latest.exports_usd, latest.full_time_employees, latest.hires) == (30_000, 0, 2)
    assert not latest.HasField("ip_filed") and list(latest.overseas_countries) == ["VN", "US"]
    assert latest.actor == fixed.actor and reported[0].actor == first.actor  # type: ignore[attr-defined]


async def test_bad_figures_name_the_field_and_write_nothing(companies: Running) -> None:
    c, api = companies, stub(companies)
    firm = await company(c, "메디비전", "SELECTED")
    before = (await count(c, tables.kpi_reports), len(await events(c, "hub.companies.kpi.reported")))
    cases = [
        (pb.KpiReport(cash_on_hand=usd(1)), "report.cash_on_hand.currency_code"),
        (pb.KpiReport(monthly_burn=krw(-1)), "report.monthly_burn.units"),
        (pb.KpiReport(exports=krw(1)), "report.exports.currency_code"),
        (pb.KpiReport(hires=-2), "report.hires"),
        (pb.KpiReport(ip_granted=-1), "report.ip_granted"),
        (pb.KpiReport(overseas_countries=["VN", "XX"]), "report.overseas_countries[1]"),
    ]
    for figures, field in cases:
        figures.MergeFrom(pb.KpiReport(company=firm, period=PERIOD, headcount=3))
        status = await refused(
            api.ReportKpi(pb.ReportKpiRequest(reason="대신 입력", report=figures), metadata=ADMIN),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert field in bad_fields(status)
    assert (await count(c, tables.kpi_reports), len(await events(c, "hub.companies.kpi.reported"))) == before


async def test_reporting_consent_and_closing_a_company(companies: Running) -> None:
    c = companies
    firm = await company(c, "메디비전", "SELECTED", "RESIDENT", "GRADUATED")
    consent = cpb.UpdateCompanyRequest(
        company=cpb.Company(name=firm, reporting_consent=True),
        update_mask=field_mask_pb2.FieldMask(paths=["reporting_consent"]),
    )
    await refused(c.companies.UpdateCompany(consent, metadata=scoped(FOUNDER, firm)), grpc.StatusCode.PERMISSION_DENIED)
    updated = await c.companies.UpdateCompany(consent, metadata=ADMIN)
    assert updated.reporting_consent
    changed = [unpack(e) for e, _ in await events(c, "hub.companies.company.updated")]
    assert list(changed[-1].changed_fields) == ["reporting_consent"]  # type: ignore[attr-defined]

    today = seoul_today()
    close = c.companies.CloseCompany
    status = await refused(
        close(cpb.CloseCompanyRequest(name="companies/999", close_date=day(today)), metadata=ADMIN),
        grpc.StatusCode.NOT_FOUND,
    )
    status = await refused(
        close(cpb.CloseCompanyRequest(name=firm, close_date=day(today + timedelta(days=1))), metadata=ADMIN),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert bad_fields(status) == ["close_date"]
    await refused(close(cpb.CloseCompanyRequest(name=firm), metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT)
    assert await events(c, "hub.companies.company.closed") == []

    closed_on = today - timedelta(days=30)
    closed = await close(cpb.CloseCompanyRequest(name=firm, close_date=day(closed_on)), metadata=ADMIN)
    assert closed.close_date == day(closed_on) and closed.reporting_consent
    again = await close(cpb.CloseCompanyRequest(name=firm, close_date=day(closed_on)), metadata=ADMIN)
    assert again.etag == closed.etag  # the same date: nothing written
    status = await refused(
        close(cpb.CloseCompanyRequest(name=firm, close_date=day(closed_on - timedelta(days=3))), metadata=ADMIN),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert precondition(status) == "CLOSE_DATE"
    corrected = await close(
        cpb.CloseCompanyRequest(name=firm, close_date=day(closed_on - timedelta(days=3)), reason="폐업일 정정"),
        metadata=ADMIN,
    )
    assert corrected.close_date == day(closed_on - timedelta(days=3))
    found = await c.companies.GetCompany(cpb.GetCompanyRequest(name=firm), metadata=ADMIN)
    assert found.close_date == day(closed_on - timedelta(days=3))

    closings = [(e, unpack(e)) for e, _ in await events(c, "hub.companies.company.closed")]
    assert len(closings) == 2
    (_, first), (envelope, second) = closings
    assert isinstance(first, ev.CompanyClosed) and isinstance(second, ev.CompanyClosed)
    assert first.close_date == day(closed_on) and not first.HasField("previous_close_date")
    assert second.previous_close_date == day(closed_on) and second.reason == "폐업일 정정"
    assert second.company.name == firm and second.company.status == "GRADUATED"
    assert envelope.subject_id == firm
