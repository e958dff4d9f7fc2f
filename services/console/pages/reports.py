"""Reports: the yearly report the hub files with its funders, for program managers: the outcome table per firm,
the incubator-evaluation figures with occupancy by month drawn, support against quota and the hub's targets,
each figure's sources, and the whole as XLSX or one table as CSV (UTF-8 with a BOM). The companies service
computes its part (GetOutcomeReport); consulting's programs and people trained come from consulting's API;
hubcore.reports lays them out as hubctl's `report` does."""

from __future__ import annotations

from urllib.parse import quote

from hub.companies.v1 import program_pb2 as ppb
from hub.consulting.v1 import consulting_pb2 as spb
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from hubcore import reports
from hubcore.convert import seoul_today
from hubcore.targets import TARGETS
from services.console.backend import Refusal, Signed
from services.console.charts import Series, line_chart
from services.console.pages.home import _all
from services.console.web import Page, admins, refused

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def chosen_year(request: Request) -> int:
    """The year asked for (?year=2026), this year when none; text that is no number is 0, which the service
    refuses naming the field."""
    text = request.query_params.get("year", "") or request.path_params.get("year", "")
    if not text:
        return seoul_today().year
    return int(text) if str(text).isdigit() and len(str(text)) <= 6 else 0


async def all_programs(hub: Signed) -> list[spb.Program]:
    found: list[spb.Program] = []
    request = spb.ListProgramsRequest(page_size=500)
    while True:
        answer = await hub.consulting.ListPrograms(request)
        found += answer.programs
        if not answer.next_page_token:
            return found
        request.page_token = answer.next_page_token


def consulting_months(start_month: str) -> int:
    today = seoul_today()
    year, month = (int(p) for p in start_month.split("-"))
    return max(1, min(60, (today.year - year) * 12 + today.month - month + 2))


async def report_for(hub: Signed, year: int) -> tuple[ppb.OutcomeReport, list[reports.Table]] | Refusal:
    """The year's report and its tables; the companies service's refusal as it is. Consulting not answering
    leaves its figures blank rather than the page."""
    try:
        outcome = await hub.program.GetOutcomeReport(ppb.GetOutcomeReportRequest(year=year))
    except Refusal as refusal:
        return refusal
    answers = await _all({
        "programs": all_programs(hub),
        "stats": hub.consulting.GetConsultingStats(
            spb.GetConsultingStatsRequest(months=consulting_months(outcome.start_month))),
    })  # fmt: skip
    programs = [] if isinstance(answers["programs"], Refusal) else answers["programs"]
    stats = None if isinstance(answers["stats"], Refusal) else answers["stats"]
    part = reports.consulting_part(programs, stats, outcome.start_month, outcome.end_month)
    return outcome, reports.outcome_tables(outcome, part, dict(TARGETS))


def occupancy_chart(page: Page, outcome: ppb.OutcomeReport) -> str:
    months = [
        (f.subject, f.value) for f in outcome.figures if f.figure == "office_occupancy_pct" and f.HasField("value")
    ]
    points = [(f"{m[2:4]}.{m[5:]}", float(v)) for m, v in months]
    title = page._("Office occupancy by month, in percent")
    return line_chart(Series(title, points), title, [f"{v:.1f}%" for _, v in points])


@admins
async def reports_page(request: Request, page: Page) -> Response:
    year = chosen_year(request)
    made = await report_for(page.hub, year)
    if isinstance(made, Refusal):
        return refused(page, made)
    outcome, tables = made
    this_year = seoul_today().year
    return page.render(
        "reports.html", year=year, years=list(range(this_year, this_year - 6, -1)), tables=tables[:-1],
        sources=tables[-1], chart=Markup(occupancy_chart(page, outcome)),
        period=(outcome.start_month, outcome.end_month),
    )  # fmt: skip


def _attachment(name: str) -> dict[str, str]:
    """A download's name, Hangul kept for browsers that read RFC 5987 and an ASCII one for the rest."""
    ascii_name = name.encode("ascii", "ignore").decode() or "report"
    return {"content-disposition": f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(name)}"}


@admins
async def report_xlsx(request: Request, page: Page) -> Response:
    year = chosen_year(request)
    made = await report_for(page.hub, year)
    if isinstance(made, Refusal):
        return refused(page, made)
    body = reports.xlsx_bytes(made[1], f"성과 보고서 {year}")
    return Response(body, media_type=XLSX, headers=_attachment(f"hub-report-{year}.xlsx"))


@admins
async def report_csv(request: Request, page: Page) -> Response:
    year, key = chosen_year(request), request.path_params["table"]
    made = await report_for(page.hub, year)
    if isinstance(made, Refusal):
        return refused(page, made)
    table = next((t for t in made[1] if t.key == key), None)
    if table is None:
        return page.render("refused.html", http_status=404, refusal=None,
                           headline=page._("This page does not exist, or it is not yours to see."))  # fmt: skip
    return Response(reports.csv_bytes(table), media_type="text/csv; charset=utf-8",
                    headers=_attachment(f"hub-report-{year}-{key}.csv"))  # fmt: skip
