"""A founder's KPI form in a real browser, against the whole hub as `make run` starts it (the fixtures and helpers
of test_console.py): a request that asks for cash, burn, employment and overseas activity shows exactly those
fields (Korean labels) beside the basic ones it asks for, not the others; the founder files the report, which
the service holds with the figures (checked over gRPC), and the company page shows the runway it implies.
Screenshots land in var/screenshots/console/kpi-*.png."""

from __future__ import annotations

from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import kpi_requests_pb2 as kpb
from hub.companies.v1 import program_pb2 as ppb
from hub.ops.v1 import identities_pb2 as idpb
from playwright.sync_api import Page

from tests.e2e import test_console
from tests.e2e.test_console import Hub, accessible, shot

browser, hub, page = test_console.browser, test_console.hub, test_console.page
pytestmark = test_console.pytestmark
EMAIL = "ceo@runwaylab.kr"


def test_a_founder_reports_cash_burn_and_employment_and_sees_the_runway(page: Page, hub: Hub) -> None:
    made = hub.companies.CreateCompany(
        cpb.CreateCompanyRequest(company=cpb.Company(korean_name="런웨이랩", sector=cpb.SECTOR_FINANCE)),
        metadata=hub.admin,
    )
    for status in (cpb.COMPANY_STATUS_SELECTED, cpb.COMPANY_STATUS_RESIDENT):
        hub.companies.ChangeCompanyStatus(
            cpb.ChangeCompanyStatusRequest(name=made.name, status=status), metadata=hub.admin
        )
    person = hub.companies.CreatePerson(
        cpb.CreatePersonRequest(person=cpb.Person(korean_name="이도윤", email=EMAIL, company=made.name,
                                                  role=cpb.PERSON_ROLE_FOUNDER)),
        metadata=hub.admin,
    )  # fmt: skip
    wanted = idpb.Identity(role=idpb.IDENTITY_ROLE_FOUNDER, person=person.name)
    hub.identities.CreateIdentity(idpb.CreateIdentityRequest(identity=wanted), metadata=hub.admin)
    figures = [kpb.KPI_FIGURE_HEADCOUNT, kpb.KPI_FIGURE_REVENUE, kpb.KPI_FIGURE_CASH_ON_HAND,
               kpb.KPI_FIGURE_MONTHLY_BURN, kpb.KPI_FIGURE_EMPLOYMENT, kpb.KPI_FIGURE_OVERSEAS]  # fmt: skip
    schedule = kpb.KpiSchedule(cadence=kpb.KPI_CADENCE_MONTHLY, companies=[made.name], figures=figures)
    hub.program.CreateKpiSchedule(kpb.CreateKpiScheduleRequest(schedule=schedule), metadata=hub.admin)
    [asked] = hub.program.ListKpiRequests(kpb.ListKpiRequestsRequest(parent=made.name), metadata=hub.admin).requests

    hub.codes_mailed_to(EMAIL, 1)  # the invitation's; asking again voids it
    page.goto(hub.url + "/sign-in")
    page.get_by_label("이메일 주소").fill(EMAIL)
    page.get_by_role("button", name="코드 받기").click()
    page.get_by_label("로그인 코드").fill(hub.codes_mailed_to(EMAIL, 2)[-1])
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(f"{hub.url}/{made.name}")

    form = page.locator("form").filter(has_text=asked.period)
    for label in ("인원", "기간 매출 (원)", "기말 보유 현금 (원)", "월 평균 순소진액 (원)", "기말 정규직 수",
                  "기간 중 채용 인원"):  # fmt: skip
        assert form.get_by_label(label, exact=True).count() == 1, label
    assert form.get_by_label("판매·지사·실증을 한 해외 국가 (VN, US 같은 국가 코드)").count() == 1
    for unasked in ("고객 수", "기간 수출액 (미국 달러)", "지식재산권 등록 건수"):
        assert form.get_by_label(unasked).count() == 0, unasked
    assert "모르는 항목은 비워 두세요." in form.inner_text()
    accessible(page)
    form.get_by_label("인원", exact=True).fill("5")
    form.get_by_label("기간 매출 (원)").fill("10,000,000")
    form.get_by_label("기말 보유 현금 (원)").fill("120000000")
    form.get_by_label("월 평균 순소진액 (원)").fill("40000000")
    form.get_by_label("기말 정규직 수").fill("4")
    form.get_by_label("판매·지사·실증을 한 해외 국가 (VN, US 같은 국가 코드)").fill("vn, us")
    shot(page, "kpi-01-founder-form")
    form.get_by_role("button", name="보고 제출").click()
    assert "KPI 보고를 제출했습니다" in page.locator(".flash").inner_text()

    [report] = hub.program.ListKpiReports(ppb.ListKpiReportsRequest(company=made.name), metadata=hub.admin).reports
    assert (report.headcount, report.revenue.units, report.cash_on_hand.units, report.monthly_burn.units) == (
        5, 10_000_000, 120_000_000, 40_000_000,
    )  # fmt: skip
    assert report.full_time_employees == 4 and not report.HasField("hires")  # left blank: not reported
    assert list(report.overseas_countries) == ["VN", "US"] and report.runway_months == 3.0
    assert report.actor.startswith("founder:")
    table = page.locator("section[aria-labelledby=kpi] table.list").inner_text()
    assert "런웨이" in table and "3개월" in table and "1억 2,000만 원" in table, table
    accessible(page)
    shot(page, "kpi-02-founder-reported")
