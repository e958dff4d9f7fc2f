"""The yearly outcome report's pure parts: the period asked for, flows that never count a month twice, stocks,
occupancy and room turnover by month, survival, support against quota; the tables with Korean headers, the
sources sheet, the XLSX and the CSV with its BOM."""

from __future__ import annotations

import io
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hub.companies.v1 import program_pb2 as ppb
from hub.consulting.v1 import consulting_pb2 as spb

from hubcore import reports
from hubcore.errors import InvalidArgument
from services.companies.program import domain
from services.companies.program.domain import Assignment, SupportGrant
from services.companies.registry.domain import Company

Y = domain.report_period(2026, "", "")


Report = domain.KpiReport


def report(id_: int, period: str, revenue: int, version: int = 1, **figures: Any) -> Report:
    return Report(id_, 1, period, 0, revenue, 0, 0, version=version, **figures)


@pytest.mark.parametrize(
    ("year", "start", "end", "field"),
    [
        (1999, "", "", "year"),
        (2101, "", "", "year"),
        (2026, "2026-01", "", "year"),
        (0, "", "2026-12", "start_month"),
        (0, "2026-03", "", "end_month"),
        (0, "2026-13", "2026-12", "start_month"),
        (0, "2027-03", "2027-02", "end_month"),
        (0, "2020-01", "2025-02", "end_month"),  # 62 months
    ],
)
def test_a_bad_period_names_its_field(year: int, start: str, end: str, field: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        domain.report_period(year, start, end)
    assert caught.value.violations[0][0] == field


def test_a_program_period_runs_across_years() -> None:
    period = domain.report_period(0, "2026-03", "2027-02")
    assert (period.start, period.end, len(period.months())) == (date(2026, 3, 1), date(2027, 2, 28), 12)


def test_a_longer_report_counts_once_and_its_months_are_not_counted_again() -> None:
    reports_ = [
        report(1, "2026-Q1", 300, hires=3),
        report(2, "2026-01", 100, hires=1),  # inside Q1: not again
        report(3, "2026-04", 50, hires=2),
        report(4, "2026-05", 60),  # no hires figure
        report(5, "2025-12", 999, hires=9),  # before the year
    ]
    counted = domain.outcomes.counted_reports(reports_, Y)
    assert [r.id for r in counted] == [1, 3, 4]
    assert domain.outcomes.flow(counted, "revenue_krw") == (
        410,
        ["kpiReports/1 v1", "kpiReports/3 v1", "kpiReports/4 v1"],
    )
    assert domain.outcomes.flow(counted, "hires") == (5, ["kpiReports/1 v1", "kpiReports/3 v1"])
    assert domain.outcomes.flow(counted, "exports_usd") == (None, [])
    year_report = report(6, "2026", 2000)
    assert [r.id for r in domain.outcomes.counted_reports([*reports_, year_report], Y)] == [6]


def test_a_stock_is_the_latest_report_that_gives_it() -> None:
    rows = [report(1, "2026-Q1", 0, full_time_employees=4), report(2, "2026-06", 0, full_time_employees=6),
            report(3, "2026-07", 0)]  # fmt: skip
    assert domain.outcomes.stock(rows, "full_time_employees", Y) == (6, ["kpiReports/2 v1"])


def stay(
    id_: int, company: int, kind: str, move_in: date, move_out: date | None = None, reason: str = ""
) -> Assignment:
    return Assignment(id_, id_, company, move_in, move_out, reason, kind, f"S{id_}")


def test_occupancy_is_space_days_and_turnover_counts_offices_left_but_not_relocations() -> None:
    april = date(2026, 4, 1)
    stays = [
        stay(1, 1, "PRIVATE_OFFICE", date(2026, 1, 1)),  # all April
        stay(2, 2, "PRIVATE_OFFICE", date(2026, 1, 1), date(2026, 4, 16), "GRADUATED"),  # 15 days
        stay(3, 3, "PRIVATE_OFFICE", date(2026, 3, 1), date(2026, 4, 11), "RELOCATED"),  # 10 days, not turnover
        stay(4, 4, "OPEN_DESK", date(2026, 4, 1), date(2026, 5, 1)),
    ]
    value, sources = domain.outcomes.occupancy_pct(stays, "PRIVATE_OFFICE", 4, april)
    assert value == round(100 * (30 + 15 + 10) / (4 * 30), 1)
    assert sources == ["assignments/1", "assignments/2", "assignments/3"]
    assert domain.outcomes.turnover_pct(stays, 4, april) == (25.0, ["assignments/2"])
    assert domain.outcomes.occupancy_pct(stays, "OPEN_DESK", 0, april) == (None, [])


def test_survival_counts_from_graduation_and_waits_for_its_year() -> None:
    graduated = date(2022, 6, 30)
    assert domain.outcomes.survived(graduated, None, 1, date(2026, 12, 31)) == 1
    assert domain.outcomes.survived(graduated, date(2024, 1, 5), 1, date(2026, 12, 31)) == 1
    assert domain.outcomes.survived(graduated, date(2024, 1, 5), 3, date(2026, 12, 31)) == 0
    assert domain.outcomes.survived(graduated, None, 5, date(2026, 12, 31)) is None


def firm(id_: int, status: str = "RESIDENT") -> Company:
    return Company(id_, f"기업{id_}", "MEDICAL", status=status)


def test_the_report_keeps_each_figures_rows() -> None:
    stays = [
        stay(1, 1, "PRIVATE_OFFICE", date(2025, 1, 1)),
        stay(2, 2, "PRIVATE_OFFICE", date(2024, 1, 1), date(2025, 3, 1), "GRADUATED"),
    ]
    grants = [
        SupportGrant(7, 1, "GPU_HOURS", 40, created_at=datetime(2026, 2, 1, tzinfo=UTC)),
        SupportGrant(8, 1, "GPU_HOURS", 10, created_at=datetime(2025, 12, 31, 16, tzinfo=UTC)),  # 2026-01-01 KST
        SupportGrant(9, 1, "GPU_HOURS", 99, created_at=datetime(2025, 12, 31, 14, tzinfo=UTC)),  # 2025 in Seoul
    ]
    rounds = [domain.ClosedRound("rounds/4", 1, 500_000_000, date(2026, 5, 2)),
              domain.ClosedRound("rounds/5", 1, 100, date(2025, 5, 2))]  # fmt: skip
    made = domain.outcome_report(
        Y, firms=[firm(1), firm(2, "GRADUATED"), firm(3, "APPLICANT")],
        reports={1: [replace(report(12, "2026", 1000, version=2, hires=2), company_id=1)]},
        stays=stays, rounds=rounds, grants=grants, quotas={(1, "GPU_HOURS"): 100}, totals={"PRIVATE_OFFICE": 2},
        grown=[firm(1)],
    )  # fmt: skip
    by = {(f.figure, f.subject): f for f in made.figures}
    assert [r.company.id for r in made.firms] == [1, 2]
    assert by["revenue_krw", "companies/1"].sources == ("kpiReports/12 v2",)
    assert by["investment_krw", "companies/1"].value == 500_000_000
    assert by["investment_krw", "companies/1"].sources == ("rounds/4",)
    assert by["support_used", "GPU_HOURS"].value == 50
    assert by["support_used", "GPU_HOURS"].sources == ("supportGrants/7", "supportGrants/8")
    assert by["support_quota", "GPU_HOURS"].value == 100
    assert by["survival_1y", "companies/2"].value == 1
    assert by["survival_1y", "companies/2"].sources == ("assignments/2", "companies/2")
    assert by["survival_3y", "companies/2"].value is None
    assert by["office_occupancy_pct", "2026-01"].value == 50.0
    assert by["firms_grown", ""].sources == ("companies/1",)
    assert by["jobs_created", ""].value == 2


def outcome_pb() -> ppb.OutcomeReport:
    return ppb.OutcomeReport(
        start_month="2026-01", end_month="2026-12",
        firms=[ppb.OutcomeReport.Firm(company="companies/1", korean_name="메디비전", status="RESIDENT")],
        figures=[
            ppb.OutcomeFigure(figure="revenue_krw", subject="companies/1", value=1000, sources=["kpiReports/12 v2"]),
            ppb.OutcomeFigure(figure="survival_1y", subject="companies/1"),
            ppb.OutcomeFigure(figure="office_occupancy_pct", subject="2026-01", value=50.0, sources=["assignments/1"]),
            ppb.OutcomeFigure(figure="support_used", subject="GPU_HOURS", value=50, sources=["supportGrants/7"]),
            ppb.OutcomeFigure(figure="support_quota", subject="GPU_HOURS", value=100, sources=["companies/1"]),
            ppb.OutcomeFigure(figure="firms_grown", value=1, sources=["companies/1"]),
        ],
    )  # fmt: skip


def program(
    id_: int, start: datetime, attended: int, kind: spb.ProgramKind.ValueType = spb.PROGRAM_KIND_COLLABORATION
) -> spb.Program:
    p = spb.Program(name=f"programs/{id_}", attended_count=attended, kind=kind)
    p.interval.start_time.FromDatetime(start)
    return p


def test_tables_have_korean_headers_and_a_sources_sheet() -> None:
    programs = [
        program(1, datetime(2026, 3, 1, 1, tzinfo=UTC), 30),
        program(2, datetime(2025, 12, 31, 16, tzinfo=UTC), 5, spb.PROGRAM_KIND_SALON),  # 2026-01-01 in Seoul
        program(5, datetime(2026, 4, 1, tzinfo=UTC), 4, spb.PROGRAM_KIND_EDUCATION),
        program(3, datetime(2025, 12, 31, 14, tzinfo=UTC), 7),  # 2025 in Seoul
        program(4, datetime(2026, 5, 1, tzinfo=UTC), 0),  # no attendance recorded
    ]
    stats = spb.ConsultingStats(by_month=[spb.MonthTotals(month=m, people_trained=n)
                                          for m, n in [("2025-12", 10), ("2026-06", 25), ("2026-12", 40)]])  # fmt: skip
    part = reports.consulting_part(programs, stats, "2026-01", "2026-12")
    assert (part.programs, part.participants, part.people_trained) == (
        ["programs/1", "programs/2", "programs/5"], 39, 30,
    )  # fmt: skip
    assert part.collaboration == ["programs/1"]  # the salon and the class are no collaboration programs
    salons_too = spb.ConsultingStats(collaboration_kinds=[spb.PROGRAM_KIND_COLLABORATION, spb.PROGRAM_KIND_SALON])
    assert reports.consulting_part(programs, salons_too, "2026-01", "2026-12").collaboration == [
        "programs/1", "programs/2",
    ]  # fmt: skip
    assert part.trained_basis == "consulting:people_trained 2025-12..2026-12"
    assert (
        reports.consulting_part(
            [], spb.ConsultingStats(by_month=stats.by_month[1:]), "2026-06", "2026-12"
        ).people_trained
        is None
    )
    tables = reports.outcome_tables(outcome_pb(), part, {"programs": 24})
    assert [t.key for t in tables] == ["outcomes", "incubator", "summary", "support", "targets", "sources"]
    firms = tables[0]
    assert firms.headers[:4] == ["기업", "기업명", "상태", "매출액(원)"]
    assert [c.value for c in firms.rows[0][:4]] == ["companies/1", "메디비전", "입주", 1000]
    sources = {(r[1].value, r[2].value): r[4].value for r in tables[-1].rows}
    assert sources["companies/1", "매출액(원)"] == "kpiReports/12 v2"
    assert sources["2026-01", "보육실 입주율(%)"] == "assignments/1"
    assert sources["협력 프로그램", "실적"] == "programs/1"
    assert sources["참여자", "실적"] == "programs/1, programs/2, programs/5"
    support = tables[3].rows[0]
    assert [c.value for c in support] == ["GPU 사용시간", 50, 100, 50.0]

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(reports.xlsx_bytes(tables, "성과 보고서 2026")))
    assert book.sheetnames == [
        "기업별 성과",
        "보육 평가 (월별)",
        "보육 평가 (기간)",
        "지원 실적 (종류별)",
        "허브 목표 대비 실적",
        "출처",
    ]
    assert [c.value for c in book["기업별 성과"][1]][:3] == ["기업", "기업명", "상태"]
    assert book["출처"].max_row == len(tables[-1].rows) + 1

    data = reports.csv_bytes(tables[0])
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.decode("utf-8-sig").splitlines()[0].startswith("기업,기업명,상태,매출액(원)")


def test_text_that_would_run_as_a_formula_is_quoted() -> None:
    table = reports.Table("t", "t", ["a"], [[reports.Cell("=HYPERLINK(1)")]])
    assert reports.csv_bytes(table).decode("utf-8-sig").splitlines()[1] == "'=HYPERLINK(1)"
