"""The yearly outcome report on a seeded hub: several firms with KPI reports and their corrections, moves in and
out (a relocation, a withdrawal, graduations), closed rounds, support against quota and a graduate that closed.
Every figure GetOutcomeReport gives is computed again here, plainly, from the raw rows of the service's tables,
with the rows it names as its sources. Bad periods are INVALID_ARGUMENT naming the field. `hubctl report` on the
same hub, with consulting's programs, writes an XLSX with Korean headers and a sources sheet and CSVs with a BOM."""

from __future__ import annotations

import asyncio
import io
from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.type import money_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as pb
from hub.consulting.v1 import consulting_pb2 as spb

from hubcore.convert import SEOUL
from services.companies import tables
from services.companies.registry import store as registry_store
from tests.conftest import ADMIN, ADMIN_TOKEN, Running, RunningConsulting
from tests.integration.consulting_world import earlier_today, interval
from tests.integration.test_program_api import bad_fields, company, day, refused, stub

YEAR = 2026
FIRST, LAST = date(YEAR, 1, 1), date(YEAR, 12, 31)
OFFICE, DESK = pb.SPACE_KIND_PRIVATE_OFFICE, pb.SPACE_KIND_OPEN_DESK
REASONS = {"GRADUATED": pb.MOVE_OUT_REASON_GRADUATED, "WITHDRAWN": pb.MOVE_OUT_REASON_WITHDRAWN,
           "RELOCATED": pb.MOVE_OUT_REASON_RELOCATED}  # fmt: skip


def krw(units: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="KRW", units=units)


async def seed(c: Running) -> dict[str, str]:
    """Four firms over two offices and a desk, and a fifth that came and graduated within the year."""
    api = stub(c)
    spaces = {}
    for label, kind, floor in (("601", OFFICE, 6), ("602", OFFICE, 6), ("D-01", DESK, 8)):
        made = await api.CreateSpace(
            pb.CreateSpaceRequest(space=pb.Space(kind=kind, label=label, floor=floor, seats=1)), metadata=ADMIN
        )
        spaces[label] = made.name
    names = (("a", "메디비전"), ("b", "누리로봇"), ("c", "닥터노트"), ("d", "오래된졸업"), ("e", "한빛소재"))
    firms = {key: await company(c, name, "SELECTED") for key, name in names}

    async def stay(firm: str, space: str, move_in: date, move_out: date | None = None, why: str = "") -> None:
        made = await api.AssignSpace(
            pb.AssignSpaceRequest(assignment=pb.Assignment(space=spaces[space], company=firms[firm],
                                                           move_in_date=day(move_in))), metadata=ADMIN)  # fmt: skip
        if move_out is not None:
            end = pb.EndAssignmentRequest(name=made.name, move_out_date=day(move_out), reason=REASONS[why])
            await api.EndAssignment(end, metadata=ADMIN)

    await stay("d", "601", date(2020, 1, 1), date(2021, 1, 31), "GRADUATED")
    await stay("c", "602", date(2024, 1, 1), date(2025, 1, 31), "GRADUATED")
    await stay("a", "601", date(2025, 7, 1))
    await stay("b", "602", date(2026, 2, 1), date(2026, 5, 16), "RELOCATED")
    await stay("b", "D-01", date(2026, 5, 16), date(2026, 9, 1), "WITHDRAWN")
    await stay("e", "602", date(2026, 6, 1), date(2026, 10, 1), "GRADUATED")
    await c.companies.CloseCompany(
        cpb.CloseCompanyRequest(name=firms["c"], close_date=day(date(2025, 10, 1))), metadata=ADMIN
    )

    async def report(firm: str, period: str, revenue: int, **figures: Any) -> None:
        if "exports" in figures:
            figures["exports"] = money_pb2.Money(currency_code="USD", units=figures["exports"])
        kpi = pb.KpiReport(company=firms[firm], period=period, revenue=krw(revenue), **figures)
        await api.ReportKpi(pb.ReportKpiRequest(reason="창업자 대신 입력", report=kpi), metadata=ADMIN)

    await report("a", "2025-12", 999_000_000, hires=9)  # before the year
    await report("a", "2026-Q1", 300_000_000, full_time_employees=5, hires=2, exports=10_000, ip_filed=1)
    await report("a", "2026-Q1", 320_000_000, full_time_employees=5, hires=3, exports=12_000, ip_filed=1)  # fix
    await report("a", "2026-01", 100_000_000, hires=1)  # inside the quarter reported: not counted again
    await report("a", "2026-04", 120_000_000, full_time_employees=7, hires=2, ip_granted=1)
    await report("b", "2026-Q2", 50_000_000, full_time_employees=3, hires=1)
    await report("d", "2026-Q3", 800_000_000, full_time_employees=20, exports=90_000)  # a graduate still reporting

    async with c.runtime.db.write(actor="test") as uow:  # as the hub.investors.round.closed consumer does
        for name, firm, amount, closed in (("rounds/1", "a", 500_000_000, date(2026, 2, 10)),
                                           ("rounds/2", "a", 200_000_000, date(2025, 11, 1)),
                                           ("rounds/3", "b", 100_000_000, date(2026, 8, 1))):  # fmt: skip
            await registry_store.apply_closed_round(
                uow.conn, round_name=name, company_id=int(firms[firm].split("/")[1]), round_type="SEED",
                amount=amount, closed_on=closed,
            )  # fmt: skip
    quota = pb.SupportQuota(company=firms["a"], kind=pb.SUPPORT_KIND_GPU_HOURS, quota=100)
    await api.SetSupportQuota(pb.SetSupportQuotaRequest(quota=quota), metadata=ADMIN)
    for firm, support, amount in (("a", pb.SUPPORT_KIND_GPU_HOURS, 40), ("a", pb.SUPPORT_KIND_GPU_HOURS, 15),
                                  ("b", pb.SUPPORT_KIND_EDUCATION_SEAT, 2)):  # fmt: skip
        grant = pb.SupportGrant(company=firms[firm], kind=support, amount=amount)
        await api.RecordSupport(pb.RecordSupportRequest(grant=grant), metadata=ADMIN)
    return firms


async def raw(c: Running) -> dict[str, list[Any]]:
    async with c.runtime.db.read() as conn:
        found = {}
        for name in ("kpi_reports", "assignments", "spaces", "company_rounds", "support_grants", "support_quotas"):
            found[name] = list((await conn.execute(sa.select(getattr(tables, name)))).all())
    return found


def months() -> list[date]:
    return [date(YEAR, m, 1) for m in range(1, 13)]


def month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def span(period: str) -> tuple[date, date]:
    if "-" not in period:
        return date(int(period), 1, 1), date(int(period), 12, 31)
    year, part = period.split("-")
    if part.startswith("Q"):
        first = date(int(year), int(part[1]) * 3 - 2, 1)
        return first, month_end(date(int(year), int(part[1]) * 3, 1))
    first = date(int(year), int(part), 1)
    return first, month_end(first)


def expected_firm_figures(rows: dict[str, list[Any]], company_id: int) -> dict[str, tuple[Any, set[str]]]:
    """The firm's figures computed from the raw rows, month by month: each month of the year is covered by the
    longest report (latest version) covering it, and each report so chosen counts once."""
    latest: dict[str, Any] = {}
    for r in rows["kpi_reports"]:
        if r.company_id == company_id and (r.period not in latest or r.version > latest[r.period].version):
            latest[r.period] = r
    inside = [r for r in latest.values() if span(r.period)[0] >= FIRST and span(r.period)[1] <= LAST]
    chosen: dict[int, Any] = {}
    for month in months():
        covering = [r for r in inside if span(r.period)[0] <= month <= span(r.period)[1]]
        if covering:
            best = max(covering, key=lambda r: span(r.period)[1] - span(r.period)[0])
            chosen[best.id] = best
    figures: dict[str, tuple[Any, set[str]]] = {}
    for key, column in (("revenue_krw", "revenue_krw"), ("jobs_created", "hires"), ("exports_usd", "exports_usd"),
                        ("ip_filed", "ip_filed"), ("ip_granted", "ip_granted")):  # fmt: skip
        given = [r for r in chosen.values() if getattr(r, column, None) is not None]
        value = sum(getattr(r, column) for r in given) if given else None
        figures[key] = (value, {f"kpiReports/{r.id} v{r.version}" for r in given})
    staffed = [r for r in inside if getattr(r, "full_time_employees", None) is not None]
    last = max(staffed, key=lambda r: span(r.period)[1]) if staffed else None
    figures["full_time_employees"] = (
        (last.full_time_employees, {f"kpiReports/{last.id} v{last.version}"}) if last else (None, set())
    )
    closed = [r for r in rows["company_rounds"] if r.company_id == company_id and r.closed_on and
              FIRST <= r.closed_on <= LAST]  # fmt: skip
    figures["investment_krw"] = (sum(r.amount_krw for r in closed), {r.round for r in closed})
    return figures


def expected_months(rows: dict[str, list[Any]]) -> dict[tuple[str, str], tuple[Any, set[str]]]:
    kinds = {s.id: s.kind for s in rows["spaces"]}
    offices = sum(1 for k in kinds.values() if k == "PRIVATE_OFFICE")
    desks = len(kinds) - offices
    found = {}
    for month in months():
        label, end = f"{month:%Y-%m}", month_end(month)
        days = [month + timedelta(days=n) for n in range((end - month).days + 1)]
        for kind, total, key in (("PRIVATE_OFFICE", offices, "office_occupancy_pct"),
                                 ("OPEN_DESK", desks, "desk_occupancy_pct")):  # fmt: skip
            held, names = 0, set()
            for a in rows["assignments"]:
                if kinds[a.space_id] != kind:
                    continue
                n = sum(1 for d in days if a.move_in <= d and (a.move_out is None or d < a.move_out))
                held += n
                if n:
                    names.add(f"assignments/{a.id}")
            found[key, label] = (round(100 * held / (total * len(days)), 1), names)
        left = [a for a in rows["assignments"] if kinds[a.space_id] == "PRIVATE_OFFICE" and a.move_out and
                month <= a.move_out <= end and a.move_out_reason != "RELOCATED"]  # fmt: skip
        found["office_turnover_pct", label] = (
            round(100 * len(left) / offices, 1),
            {f"assignments/{a.id}" for a in left},
        )
    return found


def as_found(report: pb.OutcomeReport) -> dict[tuple[str, str], tuple[Any, set[str]]]:
    return {(f.figure, f.subject): (f.value if f.HasField("value") else None, set(f.sources)) for f in report.figures}


async def test_the_yearly_report_matches_the_raw_rows(companies: Running) -> None:
    firms = await seed(companies)
    report = await stub(companies).GetOutcomeReport(pb.GetOutcomeReportRequest(year=YEAR), metadata=ADMIN)
    rows = await raw(companies)
    found = as_found(report)
    assert (report.start_month, report.end_month) == ("2026-01", "2026-12")
    # Every firm that held a space or reported in the year, and the graduates.
    assert {f.company for f in report.firms} == set(firms.values())
    for key in ("a", "b", "d"):
        company_id = int(firms[key].split("/")[1])
        for figure, (value, sources) in expected_firm_figures(rows, company_id).items():
            assert found[figure, firms[key]] == (value, sources), (key, figure)
    a = firms["a"]
    assert found["revenue_krw", a][0] == 320_000_000 + 120_000_000  # the correction, not the months inside Q1
    assert found["jobs_created", a][0] == 3 + 2 and found["exports_usd", a][0] == 12_000
    assert found["investment_krw", a] == (500_000_000, {"rounds/1"})
    for month, value in expected_months(rows).items():
        assert found[month] == value, month
    assert found["office_turnover_pct", "2026-10"][0] == 50.0  # 한빛소재 graduated; 누리로봇's relocation is not
    assert found["office_turnover_pct", "2026-05"] == (0.0, set())
    # Survival: 닥터노트 graduated 2025-01-31 and closed 2025-10-01; 오래된졸업 graduated 2021-01-31, still going.
    graduated = {r.company_id: r for r in rows["assignments"] if r.move_out_reason == "GRADUATED"}
    c_id, d_id = (int(firms[k].split("/")[1]) for k in ("c", "d"))
    assert found["survival_1y", firms["c"]] == (0.0, {f"assignments/{graduated[c_id].id}", firms["c"]})
    assert found["survival_3y", firms["c"]][0] is None
    assert [found[f"survival_{n}y", firms["d"]][0] for n in (1, 3, 5)] == [1.0, 1.0, 1.0]
    assert found["survival_1y", firms["e"]][0] is None  # graduated in October: a year has not passed
    assert found["survival_1y_pct", ""][0] == 50.0
    assert found["survival_5y_pct", ""] == (100.0, {f"assignments/{graduated[d_id].id}", firms["d"]})
    grants = [g for g in rows["support_grants"] if FIRST <= g.created_at.astimezone(SEOUL).date() <= LAST]
    used: dict[str, tuple[int, set[str]]] = defaultdict(lambda: (0, set()))
    for g in grants:
        used[g.kind] = (used[g.kind][0] + g.amount, used[g.kind][1] | {f"supportGrants/{g.id}"})
    assert found["support_used", "GPU_HOURS"] == used["GPU_HOURS"] and used["GPU_HOURS"][0] == 55
    assert found["support_used", "EDUCATION_SEAT"] == used["EDUCATION_SEAT"]
    assert found["support_quota", "GPU_HOURS"] == (100, {a})
    assert found["support_quota", "EDUCATION_SEAT"] == (None, set())
    in_year = [r for r in rows["company_rounds"] if r.closed_on and FIRST <= r.closed_on <= LAST]
    assert found["funds_attracted_krw", ""] == (sum(r.amount_krw for r in in_year), {r.round for r in in_year})
    jobs = [v for (figure, subject), (v, _) in found.items() if figure == "jobs_created" and subject and v]
    assert found["jobs_created", ""][0] == sum(jobs) == 6


async def test_a_program_period_counts_only_its_months(companies: Running) -> None:
    firms = await seed(companies)
    request = pb.GetOutcomeReportRequest(start_month="2026-03", end_month="2027-02")
    found = as_found(await stub(companies).GetOutcomeReport(request, metadata=ADMIN))
    assert found["revenue_krw", firms["a"]][0] == 120_000_000  # 2026-Q1 is not inside the period
    assert found["investment_krw", firms["a"]] == (0, set())
    assert found["investment_krw", firms["b"]] == (100_000_000, {"rounds/3"})
    assert ("office_occupancy_pct", "2027-02") in found and ("office_occupancy_pct", "2026-02") not in found


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (pb.GetOutcomeReportRequest(year=1999), "year"),
        (pb.GetOutcomeReportRequest(year=12026), "year"),
        (pb.GetOutcomeReportRequest(start_month="2027-03", end_month="2027-02"), "end_month"),
        (pb.GetOutcomeReportRequest(start_month="2026-3", end_month="2027-02"), "start_month"),
        (pb.GetOutcomeReportRequest(), "start_month"),
    ],
)
async def test_bad_periods_name_the_field(companies: Running, request_: pb.GetOutcomeReportRequest, field: str) -> None:
    status = await refused(stub(companies).GetOutcomeReport(request_, metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(status) == [field]


async def test_hubctl_report_writes_xlsx_and_csv_with_sources(
    companies: Running, consulting: RunningConsulting, tmp_path: Path
) -> None:
    from openpyxl import load_workbook

    from hubctl import report as command
    from hubctl.client import Client, Config

    firms = await seed(companies)
    start = earlier_today(hours=1)
    program = await consulting.consulting.CreateProgram(
        spb.CreateProgramRequest(program=spb.Program(display_name="AI 실무 교육 1기", kind=spb.PROGRAM_KIND_EDUCATION,
                                                     interval=interval(start, start + timedelta(hours=2)))),
        metadata=ADMIN,
    )  # fmt: skip
    marks = []
    for name in ("김서연", "이준호", "박지민"):
        made = await consulting.consulting.CreateRegistration(
            spb.CreateRegistrationRequest(registration=spb.Registration(program=program.name, participant_name=name)),
            metadata=ADMIN,
        )
        marks.append(spb.AttendanceMark(registration=made.name, attended=name != "박지민"))
    await consulting.consulting.RecordAttendance(
        spb.RecordAttendanceRequest(program=program.name, marks=marks), metadata=ADMIN
    )
    hub = Client(Config(token=ADMIN_TOKEN, addresses={"companies": companies.address,
                                                      "consulting": consulting.address}))  # fmt: skip
    xlsx = tmp_path / "report.xlsx"
    await asyncio.to_thread(command.command, hub, year=YEAR, start="", end="", output=xlsx, csv=False)
    book = load_workbook(io.BytesIO(xlsx.read_bytes()))
    assert book.sheetnames[0] == "기업별 성과" and book.sheetnames[-1] == "출처"
    outcomes = book["기업별 성과"]
    assert [c.value for c in outcomes[1]][:4] == ["기업", "기업명", "상태", "매출액(원)"]
    by_firm = {row[0].value: [c.value for c in row] for row in outcomes.iter_rows(min_row=2)}
    assert by_firm[firms["a"]][1:4] == ["메디비전", "입주", 440_000_000]
    goals = {row[0].value: [c.value for c in row] for row in book["허브 목표 대비 실적"].iter_rows(min_row=2)}
    # An education class is no collaboration program (HUB_COLLABORATION_KINDS); its two people are participants.
    assert goals["협력 프로그램"][2] == 0 and goals["참여자"][2] == 2
    sources = [[c.value for c in row] for row in book["출처"].iter_rows(min_row=2)]
    revenue = next(r for r in sources if r[1] == firms["a"] and r[2] == "매출액(원)")
    assert revenue[3] == 440_000_000 and "kpiReports/" in revenue[4] and " v2" in revenue[4]
    assert any(r[1] == "참여자" and r[4] == program.name for r in sources)

    folder = tmp_path / "csv"
    await asyncio.to_thread(command.command, hub, year=YEAR, start="", end="", output=folder, csv=True)
    files = sorted(p.name for p in folder.iterdir())
    assert len(files) == 6 and all(name.startswith("성과보고서_2026_") for name in files)
    for path in folder.iterdir():
        assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    first = (folder / "성과보고서_2026_outcomes.csv").read_text(encoding="utf-8-sig").splitlines()[0]
    assert first.startswith("기업,기업명,상태,매출액(원)")
