"""The yearly report page in a real browser, against the whole hub as `make run` starts it (the fixtures and
helpers of test_console.py): a program manager opens /reports, sees the tables with their Korean headers and the
office occupancy of each month drawn with the figures GetOutcomeReport gives, downloads the XLSX (its sheets,
the sources last) and a table's CSV (with its BOM), and a year out of range is refused in words. Screenshots
land in var/screenshots/console/reports-*.png."""

from __future__ import annotations

import io
from pathlib import Path

from hub.companies.v1 import program_pb2 as ppb
from playwright.sync_api import Page

from hubcore.convert import seoul_today
from tests.e2e import test_console
from tests.e2e.test_console import Hub, accessible, shot, sign_in_with_token

browser, hub, page = test_console.browser, test_console.hub, test_console.page
pytestmark = test_console.pytestmark


def test_the_yearly_report_shows_its_tables_and_chart_and_downloads_xlsx_and_csv(page: Page, hub: Hub) -> None:
    from openpyxl import load_workbook

    test_console.hold_an_education_program(hub)
    sign_in_with_token(page, hub)
    page.get_by_role("link", name="성과 보고서").first.click()
    year = seoul_today().year
    assert page.locator("h1").inner_text() == "성과 보고서 (연간, 주관기관 제출용)"
    accessible(page)
    report = hub.program.GetOutcomeReport(ppb.GetOutcomeReportRequest(year=year), metadata=hub.admin)
    heads = page.locator("#table-outcomes + table thead th").all_text_contents()
    assert heads[:4] == ["기업", "기업명", "상태", "매출액(원)"]
    shown = page.locator("#table-outcomes + table tbody tr").count()
    assert shown == len(report.firms) >= 1
    # The chart draws every month's office occupancy, with its value written on it.
    chart = page.locator("svg.chart")
    occupancy = [f.value for f in report.figures if f.figure == "office_occupancy_pct"]
    assert len(occupancy) == 12 and chart.locator("circle.dot").count() == 12
    assert chart.locator("text.value").all_text_contents() == [f"{v:.1f}%" for v in occupancy]
    goals = page.locator("#table-targets + table tbody tr").filter(has_text="참여자").locator("td").all_text_contents()
    assert int(goals[2]) >= 2  # the education program held above: two came
    page.locator("details summary").filter(has_text="출처").click()
    assert page.locator("details table tbody tr").count() >= 1
    shot(page, "reports-01-year")

    with page.expect_download() as xlsx:
        page.get_by_role("link", name="XLSX 내려받기").click()
    book = load_workbook(io.BytesIO(Path(xlsx.value.path()).read_bytes()))
    assert book.sheetnames[0] == "기업별 성과" and book.sheetnames[-1] == "출처"
    assert [c.value for c in book["기업별 성과"][1]][:3] == ["기업", "기업명", "상태"]
    with page.expect_download() as csv:
        page.get_by_role("link", name="CSV: 기업별 성과").click()
    data = Path(csv.value.path()).read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and data.decode("utf-8-sig").startswith("기업,기업명,상태")

    page.goto(hub.url + "/reports?year=1999")
    assert "연도는 2000년부터 2100년 사이로 고르세요." in page.locator("main").inner_text()
    shot(page, "reports-02-bad-year")
