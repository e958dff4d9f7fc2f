"""The yearly report the hub files with its funders, as tables, for hubctl (`hubctl report`) and the console's
/reports page alike: the companies service's OutcomeReport (GetOutcomeReport) and consulting's programs and
people trained, laid out with Korean headers; each cell keeps the resource names it was computed from, and a
sources table lists them, one row per figure. Written as XLSX (openpyxl) or as CSV with a BOM (utf-8-sig, so
Excel opens Hangul intact), one file per table. Pure: the callers fetch the figures and save the bytes."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from hub.companies.v1 import program_pb2 as ppb
from hub.consulting.v1 import consulting_pb2 as spb

from hubcore.convert import SEOUL
from hubcore.sheets import spreadsheet_cell
from hubcore.targets import TARGETS


@dataclass(frozen=True)
class Cell:
    value: Any
    sources: tuple[str, ...] = ()


@dataclass(frozen=True)
class Table:
    key: str  # the file name's part: outcomes, incubator, support, targets, sources
    title: str  # the sheet's Korean title
    headers: list[str]
    rows: list[list[Cell]] = field(default_factory=list)


FIRM_COLUMNS = [
    ("revenue_krw", "매출액(원)"),
    ("full_time_employees", "상시근로자(명)"),
    ("jobs_created", "고용창출(명)"),
    ("investment_krw", "투자유치(원)"),
    ("ip_filed", "지식재산권 출원(건)"),
    ("ip_granted", "지식재산권 등록(건)"),
    ("exports_usd", "수출액(USD)"),
    ("survival_1y", "1년 생존"),
    ("survival_3y", "3년 생존"),
    ("survival_5y", "5년 생존"),
]
MONTH_COLUMNS = [
    ("office_occupancy_pct", "보육실 입주율(%)"),
    ("desk_occupancy_pct", "오픈데스크 입주율(%)"),
    ("office_turnover_pct", "보육실 회전율(%)"),
]
SUMMARY_ROWS = [
    ("office_turnover_pct", "보육실 회전율(기간 합, %)"),
    ("jobs_created", "고용창출(명)"),
    ("funds_attracted_krw", "투자·지원자금 유치(원)"),
    ("survival_1y_pct", "졸업기업 1년 생존율(%)"),
    ("survival_3y_pct", "졸업기업 3년 생존율(%)"),
    ("survival_5y_pct", "졸업기업 5년 생존율(%)"),
]
SUPPORT_KINDS_KO = {
    "GPU_HOURS": "GPU 사용시간",
    "EDUCATION_SEAT": "교육 좌석",
    "OVERSEAS_PROGRAM": "해외 진출 프로그램",
    "LEGAL_IP_CLINIC": "법률·IP 클리닉",
    "INVESTMENT_SUPPORT": "투자 지원",
    "TECHNICAL_CONSULTATION": "1:1 기술 자문",
}
STATUS_KO = {"APPLICANT": "지원", "SELECTED": "선정", "RESIDENT": "입주", "GRADUATED": "졸업", "WITHDRAWN": "중도 퇴소"}
SURVIVAL_KO = {1.0: "생존", 0.0: "폐업"}
TARGET_ROWS = [
    ("firms", "성장 기업", "성장 규칙을 충족한 기업 (누적, 현재 기준)"),
    ("experts", "전문가 양성", "기간 중 교육 수료 기준(교육 프로그램 N회 출석, HUB_TRAINED_MIN_CLASSES)을 채운 사람"),
    ("programs", "협력 프로그램", "기간 중 열리고 출석이 기록된 협업 종류의 프로그램 (HUB_COLLABORATION_KINDS)"),
    ("participants", "참여자", "기간 중 열린 모든 종류 프로그램의 출석 인원 (프로그램별 합)"),
]


COLLABORATION = {spb.PROGRAM_KIND_COLLABORATION}  # consulting's default, when it did not answer


@dataclass(frozen=True)
class ConsultingPart:
    """Consulting's figures for the period: the programs held in it (with attendance), their participants and the
    people trained (first education program attended) in it."""

    programs: list[str]
    participants: int
    people_trained: int | None  # None when consulting's series does not reach the period
    attended: dict[str, int] = field(default_factory=dict)  # program -> attendances
    trained_basis: str = ""  # the running totals it is the difference of
    collaboration: list[str] = field(default_factory=list)  # the held programs of the collaboration kinds


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def consulting_part(
    programs: Iterable[spb.Program], stats: spb.ConsultingStats | None, start_month: str, end_month: str
) -> ConsultingPart:
    """Programs whose start falls in the period's months and whose attendance was recorded (the collaboration
    programs among them by the kinds consulting counts as such, stats.collaboration_kinds); people trained in
    the period from consulting's running totals by month (the total at the period's last month, or the latest
    month when the period runs on, minus the total before its first)."""
    held: dict[str, int] = {}
    kinds = set(stats.collaboration_kinds) if stats is not None and stats.collaboration_kinds else COLLABORATION
    collaboration = []
    for program in programs:
        started = program.interval.start_time.ToDatetime(tzinfo=SEOUL)
        if program.attended_count and start_month <= month_of(started) <= end_month:
            held[program.name] = program.attended_count
            if program.kind in kinds:
                collaboration.append(program.name)
    trained, basis = None, ""
    if stats is not None and stats.by_month:
        totals = {m.month: m.people_trained for m in stats.by_month}
        inside = [m for m in sorted(totals) if m <= end_month]
        before = [m for m in sorted(totals) if m < start_month]
        if inside and before:  # without the month before the period, its first month's total is no difference
            trained = totals[inside[-1]] - totals[before[-1]]
            basis = f"consulting:people_trained {before[-1]}..{inside[-1]}"
    return ConsultingPart(
        sorted(held, key=_by_id), sum(held.values()), trained, held, basis, sorted(collaboration, key=_by_id)
    )


def _by_id(name: str) -> tuple[str, int]:
    collection, _, number = name.partition("/")
    return collection, int(number) if number.isdigit() else 0


class Figures:
    """The OutcomeReport's figures by (figure, subject)."""

    def __init__(self, report: ppb.OutcomeReport) -> None:
        self.report = report
        self.by_key = {(f.figure, f.subject): f for f in report.figures}

    def cell(self, figure: str, subject: str = "", shown: Any = None) -> Cell:
        found = self.by_key.get((figure, subject))
        if found is None or not found.HasField("value"):
            return Cell("", tuple(found.sources) if found else ())
        value = _number(found.value)
        return Cell(value if shown is None else shown(value), tuple(found.sources))

    def subjects(self, figure: str) -> list[str]:
        return [f.subject for f in self.report.figures if f.figure == figure and f.subject]


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def _survival(value: Any) -> str:
    return SURVIVAL_KO.get(float(value), str(value))


def outcome_tables(report: ppb.OutcomeReport, consulting: ConsultingPart, targets: dict[str, int]) -> list[Table]:
    """The report's tables in order, the sources table last."""
    figures = Figures(report)
    firms = Table("outcomes", "기업별 성과", ["기업", "기업명", "상태", *(h for _, h in FIRM_COLUMNS)])
    for firm in report.firms:
        cells = [Cell(firm.company), Cell(firm.korean_name), Cell(STATUS_KO.get(firm.status, firm.status))]
        for key, _ in FIRM_COLUMNS:
            cells.append(figures.cell(key, firm.company, _survival if key.startswith("survival") else None))
        firms.rows.append(cells)
    months = Table("incubator", "보육 평가 (월별)", ["월", *(h for _, h in MONTH_COLUMNS)])
    for month in figures.subjects("office_occupancy_pct"):
        months.rows.append([Cell(month), *(figures.cell(key, month) for key, _ in MONTH_COLUMNS)])
    summary = Table("summary", "보육 평가 (기간)", ["항목", "값"])
    summary.rows.extend([Cell(label), figures.cell(key)] for key, label in SUMMARY_ROWS)
    support = Table("support", "지원 실적 (종류별)", ["지원 종류", "지원 실적", "한도 합계", "소진율(%)"])
    for kind in figures.subjects("support_used"):
        used, quota = figures.cell("support_used", kind), figures.cell("support_quota", kind)
        rate = round(100 * used.value / quota.value, 1) if isinstance(quota.value, int) and quota.value else ""
        support.rows.append([Cell(SUPPORT_KINDS_KO.get(kind, kind)), used, quota, Cell(rate)])
    goals = Table("targets", "허브 목표 대비 실적", ["목표", "목표치", "실적", "달성률(%)", "기준"])
    achieved: dict[str, Cell] = {
        "firms": figures.cell("firms_grown"),
        "experts": Cell(
            "" if consulting.people_trained is None else consulting.people_trained,
            (consulting.trained_basis,) if consulting.trained_basis else (),
        ),
        "programs": Cell(len(consulting.collaboration), tuple(consulting.collaboration)),
        "participants": Cell(consulting.participants, tuple(consulting.programs)),
    }
    for key, label, basis in TARGET_ROWS:
        goal, done = targets.get(key, TARGETS[key]), achieved[key]
        share = round(100 * done.value / goal, 1) if isinstance(done.value, int) and goal else ""
        goals.rows.append([Cell(label), Cell(goal), done, Cell(share), Cell(basis)])
    tables = [firms, months, summary, support, goals]
    return [*tables, sources_table(tables)]


def sources_table(tables: Sequence[Table]) -> Table:
    """One row per figure that came from rows: the table, the row, the column, the value and its sources."""
    sources = Table("sources", "출처", ["표", "행", "항목", "값", "출처 (자원 이름)"])
    for table in tables:
        for row in table.rows:
            for header, cell in zip(table.headers[1:], row[1:], strict=True):
                if cell.sources:
                    label = row[0].value
                    sources.rows.append(
                        [Cell(table.title), Cell(label), Cell(header), Cell(cell.value), Cell(", ".join(cell.sources))]
                    )
    return sources


def xlsx_bytes(tables: Sequence[Table], title: str) -> bytes:
    """One workbook, a sheet per table (Korean titles), the headers bold and frozen."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    book.remove(book.active)
    for table in tables:
        sheet = book.create_sheet(table.title[:31].replace("/", "·"))
        sheet.append(table.headers)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in table.rows:
            sheet.append([spreadsheet_cell(c.value) for c in row])
        sheet.freeze_panes = "A2"
        for index, header in enumerate(table.headers, start=1):
            width = max([len(str(header)) * 2, *(len(str(r[index - 1].value)) for r in table.rows)], default=10)
            sheet.column_dimensions[sheet.cell(1, index).column_letter].width = min(max(width, 8), 60)
    book.properties.title = title
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def csv_bytes(table: Table) -> bytes:
    """A table as CSV, UTF-8 with a BOM (Excel opens Hangul intact), its text cells safe from formulas."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(table.headers)
    writer.writerows([spreadsheet_cell(c.value) for c in row] for row in table.rows)
    return buffer.getvalue().encode("utf-8-sig")
