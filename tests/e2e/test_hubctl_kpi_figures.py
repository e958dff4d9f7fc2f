"""hubctl for issue 17 against the real companies service: `kpi report` with the new figures (runway shown, a
correction keeping what it leaves out, each figure's source), a yearly schedule for the consenting graduates, and
`kpi compare` of a round against its control group. Korean first."""

from __future__ import annotations

import json

from hub.companies.v1 import companies_pb2 as cpb

from hubcore.convert import seoul_today
from tests.conftest import ADMIN, Running
from tests.e2e.test_hubctl import hubctl


async def test_kpi_report_with_figures_yearly_graduates_and_compare(companies: Running) -> None:
    made = await hubctl(companies, "companies", "add", "--ko", "메디비전", "--sector", "medical")
    assert made.exit_code == 0, made.output
    year = str(seoul_today().year)
    filed = await hubctl(
        companies, "kpi", "report", "--company", "1", "--period", f"{year}-Q1", "--headcount", "5",
        "--cash", "3억", "--burn", "5000만", "--employees", "4", "--country", "vn", "--country", "US",
        "--reason", "창업자 요청",
    )  # fmt: skip
    assert filed.exit_code == 0, filed.output

    assert "6개월" in filed.stdout and "3억" in filed.stdout and "VN, US" in filed.stdout, filed.stdout
    assert "항목별 입력 출처" in filed.stdout and "cash_on_hand" in filed.stdout
    fixed = await hubctl(
        companies, "--json", "kpi", "report", "--company", "1", "--period", f"{year}-Q1", "--headcount", "5",
        "--burn", "1억", "--exports", "25000", "--reason", "정정",
    )  # fmt: skip
    assert fixed.exit_code == 0, fixed.output
    data = json.loads(fixed.stdout)
    assert data["cash_on_hand"]["units"] == "300000000" and data["runway_months"] == 3.0
    assert data["exports"] == {"currency_code": "USD", "units": "25000"}
    sources = {s["figure"]: s["version"] for s in data["figure_sources"]}
    assert sources["cash_on_hand"] == 1 and sources["monthly_burn"] == 2
    bad = await hubctl(companies, "kpi", "report", "--company", "1", "--period", year, "--country", "XX",
                       "--reason", "x")  # fmt: skip
    assert bad.exit_code != 0 and "overseas_countries[0]" in bad.output, bad.output

    # A graduate that consented gets the yearly request.
    for status in ("selected", "resident", "graduated"):
        assert (await hubctl(companies, "companies", "transition", "1", status)).exit_code == 0
    consented = await hubctl(companies, "companies", "consent", "1")
    assert consented.exit_code == 0 and "보고 동의함" in consented.stdout, consented.output
    scheduled = await hubctl(
        companies, "kpi", "schedule", "--cadence", "yearly", "--audience", "graduates", "--figure", "employment"
    )
    assert scheduled.exit_code == 0 and "매년 yearly" in scheduled.stdout, scheduled.output
    listed = await hubctl(companies, "kpi", "schedules")
    assert "졸업 기업" in listed.stdout and "고용 employment" in listed.stdout, listed.output
    asked = await hubctl(companies, "kpi", "requests", "--period", year)
    assert "메디비전 (1)" in asked.stdout, asked.output
    assert (await hubctl(companies, "kpi", "schedule", "--cadence", "yearly", "--audience", "alumni")).exit_code == 3

    # The comparison of a round (none decided: empty groups, still a table).
    opened = await hubctl(
        companies, "selection", "open", "--title", "작년 모집", "--from", f"{int(year) - 1}-01-01",
        "--to", f"{int(year) - 1}-02-01", "--desks", "2", "--criterion", "tech:기술성:100",
    )  # fmt: skip
    assert opened.exit_code == 0, opened.output
    compared = await hubctl(companies, "kpi", "compare", "--round", "1")
    assert compared.exit_code == 0, compared.output

    assert "선발 기업" in compared.stdout and "대조군" in compared.stdout and "1년 생존" in compared.stdout
    assert f"{int(year) - 1}년" in compared.stdout
    missing = await hubctl(companies, "kpi", "compare", "--round", "99")
    assert missing.exit_code != 0

    # Closing: the date is kept; a later one without a reason is refused; the graduate is not asked next year.
    closed = await hubctl(companies, "companies", "close", "1", "--on", seoul_today().isoformat())
    assert closed.exit_code == 0 and "폐업일 기록" in closed.stdout, closed.output
    future = await hubctl(companies, "companies", "close", "1", "--on", f"{int(year) + 1}-01-01", "--reason", "x")
    assert future.exit_code != 0 and "close_date" in future.output, future.output
    found = await companies.companies.GetCompany(cpb.GetCompanyRequest(name="companies/1"), metadata=ADMIN)
    assert found.HasField("close_date") and found.reporting_consent
