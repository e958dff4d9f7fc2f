"""`hubctl report`: 성과 보고서, the yearly report the hub files with its funders, for a year or a program period.
The companies service computes its part (GetOutcomeReport, every figure with its sources); consulting's
programs and people trained come from consulting's API; hubcore.reports lays them out and writes XLSX or CSV
(one file per table, UTF-8 with a BOM)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import grpc
import typer
from hub.companies.v1 import program_pb2 as ppb
from hub.consulting.v1 import consulting_pb2 as spb
from rich.progress import Progress

from hubcore import reports
from hubcore.convert import seoul_today
from hubcore.months import MAX_MONTHS
from hubcore.targets import TARGETS
from hubctl.client import Client, err, explain, fail, print_json, print_table


def consulting_months(start_month: str, today_month: str) -> int:
    """How many months of consulting's running totals reach back to the month before the period (at most 60)."""
    year, month = (int(p) for p in start_month.split("-"))
    now_year, now_month = (int(p) for p in today_month.split("-"))
    return max(1, min(MAX_MONTHS, (now_year - year) * 12 + now_month - month + 2))


def gather(hub: Client, request: ppb.GetOutcomeReportRequest) -> list[reports.Table]:
    """The companies service's report, consulting's programs and stats, as the report's tables."""
    with Progress(console=err, transient=True, disable=hub.config.json) as progress:
        task = progress.add_task("성과 보고서: 기업 성과 집계", total=4)
        outcome = hub.call(hub.program.GetOutcomeReport, request)
        progress.update(task, advance=1, description="성과 보고서: 프로그램 목록")
        programs = list(hub.pages(hub.consulting.ListPrograms, spb.ListProgramsRequest(page_size=500), "programs"))
        progress.update(task, advance=1, description="성과 보고서: 교육 인원")
        today = reports.month_of(seoul_today())
        months = consulting_months(outcome.start_month, today)
        try:
            stats = hub.send(hub.consulting.GetConsultingStats, spb.GetConsultingStatsRequest(months=months))
        except grpc.RpcError as error:
            explain(error)
        progress.update(task, advance=1, description="성과 보고서: 표 작성")
        consulting = reports.consulting_part(programs, stats, outcome.start_month, outcome.end_month)
        targets = TARGETS | {k: int(v) for k, v in hub.config.targets.items()}
        tables = reports.outcome_tables(outcome, consulting, targets)
        progress.update(task, advance=1)
    return tables


def command(
    hub: Client,
    year: Annotated[int, typer.Option("--year", help="연도 (a calendar year, 2000-2100)")] = 0,
    start: Annotated[str, typer.Option("--from", help="사업 기간 첫 달 (first month, 2026-03)")] = "",
    end: Annotated[str, typer.Option("--to", help="사업 기간 마지막 달 (last month, 2027-02)")] = "",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="저장할 파일 (.xlsx) 또는 폴더 (CSV: 표마다 한 파일)")
    ] = None,
    csv: Annotated[bool, typer.Option("--csv", help="CSV로 저장 (UTF-8 BOM, 표마다 한 파일)")] = False,
) -> None:
    """성과 보고서 (yearly report to funders): 기업별 성과, 보육 평가, 지원 실적, 허브 목표, 출처."""
    if not year and not (start or end):
        fail("--year 또는 --from/--to 를 지정하세요 (give --year, or --from and --to)", 2)
    request = ppb.GetOutcomeReportRequest(year=year, start_month=start, end_month=end)
    tables = gather(hub, request)
    label = str(year) if year else f"{start}_{end}"
    if hub.config.json:
        print_json({t.key: {"title": t.title, "headers": t.headers, "rows": rows_of(t)} for t in tables})
    if output is None and not csv:
        if not hub.config.json:
            for table in tables[:-1]:
                print_table(table.title, table.headers, [[c.value for c in row] for row in table.rows])
        return
    if csv:
        folder = output or Path(".")
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for table in tables:
            path = folder / f"성과보고서_{label}_{table.key}.csv"
            path.write_bytes(reports.csv_bytes(table))
            written.append(str(path))
        err.print("저장했습니다 (saved): " + ", ".join(written))
        return
    assert output is not None
    path = output if output.suffix.lower() == ".xlsx" else output / f"성과보고서_{label}.xlsx"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(reports.xlsx_bytes(tables, f"성과 보고서 {label}"))
    err.print(f"저장했습니다 (saved): {path}")


def rows_of(table: reports.Table) -> list[dict[str, object]]:
    """Each row as header -> value, with "출처": header -> the sources of each figure that has them."""
    found = []
    for row in table.rows:
        cells = dict(zip(table.headers, row, strict=True))
        sources = {h: list(c.sources) for h, c in cells.items() if c.sources}
        found.append({h: c.value for h, c in cells.items()} | {"출처": sources})
    return found
