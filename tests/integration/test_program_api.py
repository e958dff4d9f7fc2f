"""ProgramService against a real database: selection (scores, weights, conflicts of interest, ties,
decisions and their events), spaces (no overlapping assignments, also under concurrency, on SQLite and
PostgreSQL; occupancy; the company's lifecycle follows), KPI reports (versioned), support quotas. Bad
input is INVALID_ARGUMENT naming the field and writes nothing."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.rpc import error_details_pb2
from google.type import date_pb2, money_pb2
from grpc_status import rpc_status
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as pb
from hub.companies.v1 import program_pb2_grpc
from hub.events.v1 import companies_pb2 as ev
from hub.events.v1 import envelope_pb2
from sqlalchemy.exc import IntegrityError

from hubcore.convert import seoul_today as today
from hubcore.db import outbox
from services.companies import tables
from services.companies.program import store as program_store
from services.companies.registry import store as registry_store
from tests.conftest import ADMIN, SERVICE, Running

OFFICE, DESK = pb.SPACE_KIND_PRIVATE_OFFICE, pb.SPACE_KIND_OPEN_DESK
CRITERIA = [
    pb.Round.Criterion(key="tech", title="기술성", weight=40),
    pb.Round.Criterion(key="market", title="시장성", weight=30),
    pb.Round.Criterion(key="team", title="팀", weight=30),
]


def day(value: date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


def stub(companies: Running) -> program_pb2_grpc.ProgramServiceStub:
    return program_pb2_grpc.ProgramServiceStub(companies.channel)


async def refused(call: Any, code: grpc.StatusCode) -> Any:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return rpc_status.from_call(caught.value)


def detail(status: Any, kind: Any) -> Any:
    for packed in status.details:
        if packed.Is(kind.DESCRIPTOR):
            found = kind()
            packed.Unpack(found)
            return found
    raise AssertionError(f"no {kind.DESCRIPTOR.name} in {status}")


def bad_fields(status: Any) -> list[str]:
    return [v.field for v in detail(status, error_details_pb2.BadRequest).field_violations]


def precondition(status: Any) -> str:
    return str(detail(status, error_details_pb2.PreconditionFailure).violations[0].type)


async def company(c: Running, name: str, *steps: str) -> str:
    made = await c.companies.CreateCompany(
        cpb.CreateCompanyRequest(company=cpb.Company(korean_name=name, sector=cpb.SECTOR_MEDICAL)), metadata=ADMIN
    )
    for step in steps:
        await c.companies.ChangeCompanyStatus(
            cpb.ChangeCompanyStatusRequest(name=made.name, status=cpb.CompanyStatus.Value(f"COMPANY_STATUS_{step}")),
            metadata=ADMIN,
        )
    return made.name


async def status_of(c: Running, name: str) -> str:
    found = await c.companies.GetCompany(cpb.GetCompanyRequest(name=name), metadata=ADMIN)
    return str(cpb.CompanyStatus.Name(found.status)).removeprefix("COMPANY_STATUS_")


async def new_round(c: Running, desks: int = 2, **fields: Any) -> pb.Round:
    values: dict[str, Any] = {
        "title": "2026 상반기 입주기업 모집", "open_date": day(today() - timedelta(days=7)),
        "close_date": day(today() + timedelta(days=7)), "criteria": CRITERIA, "questions": ["핵심 기술은?"],
        "seats": [pb.Round.Seats(kind=pb.SEAT_KIND_OPEN_DESK, count=desks)],
    } | fields  # fmt: skip
    return await stub(c).CreateRound(pb.CreateRoundRequest(round=pb.Round(**values)), metadata=ADMIN)


async def apply(c: Running, round_name: str, applicant: str) -> pb.Application:
    application = pb.Application(
        round=round_name,
        applicant=applicant,
        seat_kind=pb.SEAT_KIND_OPEN_DESK,
        answers=[pb.Application.Answer(question="핵심 기술은?", text="의료영상 분할")],
        attachment_urls=["https://example.kr/deck.pdf"],
    )
    return await stub(c).CreateApplication(pb.CreateApplicationRequest(application=application), metadata=ADMIN)


async def score(c: Running, application: str, reviewer: str, tech: int, market: int, team: int) -> pb.Score:
    values = {"tech": tech, "market": market, "team": team}
    return await stub(c).ScoreApplication(
        pb.ScoreApplicationRequest(score=pb.Score(application=application, reviewer=reviewer, values=values)),
        metadata=ADMIN,
    )


async def events(c: Running, subject: str) -> list[tuple[envelope_pb2.Envelope, Any]]:
    async with c.runtime.db.read() as conn:
        rows = (
            await conn.execute(sa.select(outbox.c.data).where(outbox.c.subject == subject).order_by(outbox.c.seq))
        ).scalars()
        found = []
        for data in rows:
            envelope = envelope_pb2.Envelope.FromString(data)
            found.append(envelope)
    return [(e, e.payload) for e in found]


async def count(c: Running, table: sa.Table) -> int:
    async with c.runtime.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


async def test_selection_scores_conflicts_ties_decisions_and_events(companies: Running) -> None:
    c, api = companies, stub(companies)
    r = await new_round(c, desks=1)
    assert (r.name, r.application_count, len(r.criteria)) == ("rounds/1", 0, 3)
    a, b, d = [await company(c, n) for n in ("메디비전", "닥터노트", "에듀마인드")]
    apps = [await apply(c, r.name, x) for x in (a, b, d)]
    assert apps[0].state == pb.APPLICATION_STATE_SUBMITTED and apps[0].answers[0].text == "의료영상 분할"
    assert (await api.GetRound(pb.GetRoundRequest(name=r.name), metadata=SERVICE)).competition_ratio == 3.0

    dup = await refused(apply(c, r.name, a), grpc.StatusCode.ALREADY_EXISTS)
    assert "already applied" in dup.message

    # kim declared a conflict with b: kim cannot score b, and kim's earlier score of a... counts (no conflict)
    await api.DeclareConflict(
        pb.DeclareConflictRequest(
            conflict=pb.Conflict(round=r.name, reviewer="Kim@hub.kr", applicant=b, reason="전 직장")
        ),
        metadata=ADMIN,
    )
    coi = await refused(score(c, apps[1].name, "kim@hub.kr", 9, 9, 9), grpc.StatusCode.FAILED_PRECONDITION)
    assert precondition(coi) == "CONFLICT_OF_INTEREST"
    first = await score(c, apps[0].name, "kim@hub.kr", 6, 8, 8)
    assert first.weighted == pytest.approx(7.2)
    await refused(score(c, apps[0].name, "kim@hub.kr", 1, 1, 1), grpc.StatusCode.ALREADY_EXISTS)
    await score(c, apps[1].name, "lee@hub.kr", 9, 6, 6)  # 7.2 as well: ahead on the heaviest criterion
    await score(c, apps[2].name, "lee@hub.kr", 8, 7, 7)  # 7.4
    bad = await refused(score(c, apps[2].name, "park@hub.kr", 11, 7, 7), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(bad) == ["score.values"]

    ranking = await api.RankApplications(pb.RankApplicationsRequest(round=r.name), metadata=SERVICE)
    assert [(e.rank, e.application) for e in ranking.entries] == [
        (1, apps[2].name), (2, apps[1].name), (3, apps[0].name),
    ]  # fmt: skip
    assert "tied with applications/2 at 7.20; behind on 기술성" in ranking.entries[2].explanation

    decided = await api.DecideApplication(
        pb.DecideApplicationRequest(name=apps[2].name, decision=pb.APPLICATION_STATE_SELECTED, reason="1위"),
        metadata=ADMIN,
    )
    assert decided.state == pb.APPLICATION_STATE_SELECTED and decided.decision_reason == "1위"
    assert await status_of(c, d) == "SELECTED"
    full = await refused(
        api.DecideApplication(
            pb.DecideApplicationRequest(name=apps[1].name, decision=pb.APPLICATION_STATE_SELECTED, reason="2위"),
            metadata=ADMIN,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert precondition(full) == "SEATS_FILLED" and await status_of(c, b) == "APPLICANT"
    await api.DecideApplication(
        pb.DecideApplicationRequest(name=apps[1].name, decision=pb.APPLICATION_STATE_WAITLISTED, reason="예비"),
        metadata=ADMIN,
    )
    [(envelope, _)] = (await events(c, "hub.companies.application.decided"))[:1]
    payload = ev.ApplicationDecided()
    envelope.payload.Unpack(payload)
    assert (payload.application, payload.decision, payload.applicant, payload.reason) == (
        apps[2].name,
        "SELECTED",
        d,
        "1위",
    )
    changed = await events(c, "hub.companies.company.status_changed")
    assert [e.subject_id for e, _ in changed] == [d]


async def test_bad_input_names_the_field_and_writes_nothing(companies: Running) -> None:
    c, api = companies, stub(companies)
    bad = await refused(
        api.CreateRound(pb.CreateRoundRequest(round=pb.Round(title=" ", criteria=CRITERIA)), metadata=ADMIN),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert "round.title" in bad_fields(bad)
    bad = await refused(new_round(c, close_date=day(today() - timedelta(days=30))), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(bad) == ["round.close_date"]
    bad = await refused(
        api.AssignSpace(
            pb.AssignSpaceRequest(assignment=pb.Assignment(space="rooms/1", company="companies/1")), metadata=ADMIN
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert bad_fields(bad) == ["assignment.space"]
    bad = await refused(
        api.ReportKpi(
            pb.ReportKpiRequest(
                reason="창업자 대신 입력", report=pb.KpiReport(company="companies/1", period="2026-13")
            ),
            metadata=ADMIN,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert bad_fields(bad) == ["report.period"]
    next_year = f"{today().year + 1}-Q1"  # a period not begun yet
    bad = await refused(
        api.ReportKpi(
            pb.ReportKpiRequest(
                reason="창업자 대신 입력", report=pb.KpiReport(company="companies/1", period=next_year)
            ),
            metadata=ADMIN,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert bad_fields(bad) == ["report.period"]
    bad = await refused(
        api.RecordSupport(
            pb.RecordSupportRequest(
                grant=pb.SupportGrant(company="companies/1", kind=pb.SUPPORT_KIND_GPU_HOURS, amount=-3)
            ),
            metadata=ADMIN,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert bad_fields(bad) == ["grant.amount"]
    for table in (tables.rounds, tables.assignments, tables.kpi_reports, tables.support_grants, outbox):
        assert await count(c, table) == 0, table.name


async def test_not_found_and_permissions(companies: Running) -> None:
    api = stub(companies)
    missing = await refused(
        api.GetRound(pb.GetRoundRequest(name="rounds/99"), metadata=ADMIN), grpc.StatusCode.NOT_FOUND
    )
    assert detail(missing, error_details_pb2.ResourceInfo).resource_name == "rounds/99"
    await refused(
        api.GetApplication(pb.GetApplicationRequest(name="applications/9"), metadata=ADMIN), grpc.StatusCode.NOT_FOUND
    )
    await refused(
        api.AssignSpace(
            pb.AssignSpaceRequest(
                assignment=pb.Assignment(space="spaces/5", company="companies/1", move_in_date=day(today()))
            ),
            metadata=ADMIN,
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    await refused(
        api.ListKpiReports(pb.ListKpiReportsRequest(company="companies/8"), metadata=SERVICE), grpc.StatusCode.NOT_FOUND
    )
    await refused(
        api.CreateSpace(
            pb.CreateSpaceRequest(space=pb.Space(kind=DESK, label="D-01", floor=8, seats=1)), metadata=SERVICE
        ),
        grpc.StatusCode.PERMISSION_DENIED,
    )


async def space(c: Running, label: str, kind: Any = OFFICE, floor: int = 6) -> pb.Space:
    return await stub(c).CreateSpace(
        pb.CreateSpaceRequest(
            space=pb.Space(kind=kind, label=label, floor=floor, seats=4), request_id=f"space-{label}"
        ),
        metadata=ADMIN,
    )


def assign(space_name: str, company_name: str, move_in: date, move_out: date | None = None) -> pb.AssignSpaceRequest:
    assignment = pb.Assignment(space=space_name, company=company_name, move_in_date=day(move_in))
    if move_out:
        assignment.move_out_date.CopyFrom(day(move_out))
    return pb.AssignSpaceRequest(assignment=assignment)


async def test_assignments_never_overlap_and_the_lifecycle_follows(companies: Running) -> None:
    c, api = companies, stub(companies)
    office, desk = await space(c, "601"), await space(c, "D-01", DESK, 8)
    assert (await space(c, "601")).name == office.name  # idempotent on request_id
    a, b = await company(c, "메디비전", "SELECTED"), await company(c, "닥터노트", "SELECTED")
    start = today()
    first = await api.AssignSpace(assign(office.name, a, start - timedelta(days=30)), metadata=ADMIN)
    assert await status_of(c, a) == "RESIDENT"
    taken = await refused(
        api.AssignSpace(assign(office.name, b, start + timedelta(days=60)), metadata=ADMIN),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert precondition(taken) == "SPACE_TAKEN" and first.name in taken.message and a in taken.message
    await api.AssignSpace(assign(desk.name, b, start), metadata=ADMIN)

    occupancy = await api.GetOccupancy(pb.GetOccupancyRequest(), metadata=SERVICE)
    assert (occupancy.offices_taken, occupancy.offices_total, occupancy.desks_taken, occupancy.desks_total) == (
        1,
        1,
        1,
        1,
    )
    before = await api.GetOccupancy(pb.GetOccupancyRequest(date=day(start - timedelta(days=1))), metadata=SERVICE)
    assert (before.offices_taken, before.desks_taken) == (1, 0)

    ended = await api.EndAssignment(
        pb.EndAssignmentRequest(
            name=first.name, move_out_date=day(start + timedelta(days=10)), reason=pb.MOVE_OUT_REASON_GRADUATED
        ),
        metadata=ADMIN,
    )
    assert ended.move_out_reason == pb.MOVE_OUT_REASON_GRADUATED and await status_of(c, a) == "GRADUATED"
    await refused(
        api.EndAssignment(
            pb.EndAssignmentRequest(name=first.name, move_out_date=day(start), reason=pb.MOVE_OUT_REASON_RELOCATED),
            metadata=ADMIN,
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    # the office is free from the move-out date on: the day before is still taken
    await refused(
        api.AssignSpace(assign(office.name, b, start + timedelta(days=9)), metadata=ADMIN),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    await api.AssignSpace(assign(office.name, b, start + timedelta(days=10)), metadata=ADMIN)
    later = await api.GetOccupancy(pb.GetOccupancyRequest(date=day(start + timedelta(days=11))), metadata=SERVICE)
    assert [x.company for x in later.assignments] == [b, b]
    moved = await events(c, "hub.companies.residency.moved_in")
    assert len(moved) == 3 and len(await events(c, "hub.companies.residency.moved_out")) == 1

    applicant, free_desk = await company(c, "비전검사"), await space(c, "D-02", DESK, 8)
    wrong = await refused(
        api.AssignSpace(assign(free_desk.name, applicant, start + timedelta(days=400)), metadata=ADMIN),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert precondition(wrong) == "STATUS_TRANSITION"


CALLS = 30


async def test_concurrent_assignments_of_one_space_exactly_one_wins(companies: Running) -> None:
    c, api = companies, stub(companies)
    office = await space(c, "801", floor=8)
    firms = [await company(c, f"회사{n}", "SELECTED") for n in range(CALLS)]
    start = today() + timedelta(days=30)
    requests = [
        assign(office.name, f, start + timedelta(days=n % 5), start + timedelta(days=90)) for n, f in enumerate(firms)
    ]
    results = await asyncio.gather(
        *(api.AssignSpace(r, metadata=ADMIN, timeout=120) for r in requests), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, pb.Assignment)]
    lost = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(won) == 1 and len(lost) == CALLS - 1, results
    assert {e.code() for e in lost} == {grpc.StatusCode.FAILED_PRECONDITION}, {e.details() for e in lost}
    assert await count(c, tables.assignments) == 1
    # the move-in is in the future: the winner becomes RESIDENT on its day (test_individual_residents.py)
    assert [f for f in firms if await status_of(c, f) != "SELECTED"] == [], "losers wrote nothing"


async def test_postgresql_refuses_an_overlap_even_without_the_check(companies: Running) -> None:
    db = companies.runtime.db
    if db.is_sqlite:
        pytest.skip("SQLite relies on serialized writes (BEGIN IMMEDIATE) and the check in the same transaction")
    office = await space(companies, "602")
    firm = await company(companies, "메디비전", "SELECTED")
    company_id = int(firm.split("/")[1])
    space_id = int(office.name.split("/")[1])
    row = {"space_id": space_id, "company_id": company_id, "move_out": None, "created_at": sa.func.now()}
    async with db.write(actor="test") as uow:
        await uow.conn.execute(tables.assignments.insert().values(move_in=date(2026, 1, 1), **row))
    with pytest.raises(IntegrityError) as caught:
        async with db.write(actor="test") as uow:
            await uow.conn.execute(tables.assignments.insert().values(move_in=date(2030, 1, 1), **row))
    assert program_store.is_overlap(caught.value)


async def test_kpi_reports_are_versioned_never_overwritten(companies: Running) -> None:
    c, api = companies, stub(companies)
    firm = await company(c, "메디비전", "SELECTED")

    async def report(headcount: int, revenue: int, period: str = "2026-Q1") -> pb.KpiReport:
        kpi = pb.KpiReport(
            company=firm, period=period, headcount=headcount,
            revenue=money_pb2.Money(currency_code="KRW", units=revenue), customers=3,
        )  # fmt: skip
        return await api.ReportKpi(pb.ReportKpiRequest(reason="창업자 대신 입력", report=kpi), metadata=ADMIN)

    first = await report(8, 120_000_000)
    fixed = await report(9, 125_000_000)
    await report(11, 90_000_000, "2026-04")
    assert (first.version, fixed.version) == (1, 2)
    latest = await api.ListKpiReports(pb.ListKpiReportsRequest(company=firm), metadata=SERVICE)
    assert [(r.period, r.version, r.headcount) for r in latest.reports] == [("2026-Q1", 2, 9), ("2026-04", 1, 11)]
    history = await api.ListKpiReports(pb.ListKpiReportsRequest(company=firm, all_versions=True), metadata=SERVICE)
    assert [(r.period, r.version, r.revenue.units) for r in history.reports] == [
        ("2026-Q1", 2, 125_000_000), ("2026-Q1", 1, 120_000_000), ("2026-04", 1, 90_000_000),
    ]  # fmt: skip
    reported = await events(c, "hub.companies.kpi.reported")
    assert [(e.subject_id, e.version) for e, _ in reported] == [
        (f"{firm}/kpi/2026-Q1", 1), (f"{firm}/kpi/2026-Q1", 2), (f"{firm}/kpi/2026-04", 1),
    ]  # fmt: skip


async def test_gpu_quota_refused_past_it_unless_overridden(companies: Running) -> None:
    c, api = companies, stub(companies)
    firm = await company(c, "메디비전", "SELECTED")

    def grant(amount: int, override: str = "", kind: Any = pb.SUPPORT_KIND_GPU_HOURS) -> Any:
        message = pb.SupportGrant(company=firm, kind=kind, amount=amount, override_reason=override)
        return api.RecordSupport(pb.RecordSupportRequest(grant=message), metadata=ADMIN)

    none = await refused(grant(1), grpc.StatusCode.FAILED_PRECONDITION)
    assert precondition(none) == "NO_QUOTA"
    await api.SetSupportQuota(
        pb.SetSupportQuotaRequest(quota=pb.SupportQuota(company=firm, kind=pb.SUPPORT_KIND_GPU_HOURS, quota=100)),
        metadata=ADMIN,
    )
    await grant(60)
    over = await refused(grant(41), grpc.StatusCode.FAILED_PRECONDITION)
    assert precondition(over) == "QUOTA_EXCEEDED" and "used 60 of 100" in over.message
    overridden = await grant(41, "경진대회 마감 전 추가 배정")
    assert overridden.override_reason and overridden.actor.startswith("admin:")
    await grant(2, kind=pb.SUPPORT_KIND_EDUCATION_SEAT)
    ledger = await api.ListSupport(pb.ListSupportRequest(company=firm), metadata=SERVICE)
    assert [(t.kind, t.used, t.quota) for t in ledger.totals] == [
        (pb.SUPPORT_KIND_GPU_HOURS, 101, 100), (pb.SUPPORT_KIND_EDUCATION_SEAT, 2, 0),
    ]  # fmt: skip
    granted = await events(c, "hub.companies.support.granted")
    payload = ev.SupportGranted()
    granted[1][0].payload.Unpack(payload)
    assert (payload.override_reason, payload.used_after, payload.quota) == ("경진대회 마감 전 추가 배정", 101, 100)


async def test_concurrent_gpu_usage_never_exceeds_the_quota(companies: Running) -> None:
    c, api = companies, stub(companies)
    firm = await company(c, "메디비전", "SELECTED")
    await api.SetSupportQuota(
        pb.SetSupportQuotaRequest(quota=pb.SupportQuota(company=firm, kind=pb.SUPPORT_KIND_GPU_HOURS, quota=10)),
        metadata=ADMIN,
    )
    message = pb.SupportGrant(company=firm, kind=pb.SUPPORT_KIND_GPU_HOURS, amount=3)
    results = await asyncio.gather(
        *(api.RecordSupport(pb.RecordSupportRequest(grant=message), metadata=ADMIN, timeout=120) for _ in range(12)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, pb.SupportGrant) for r in results) == 3, results


async def test_program_stats(companies: Running) -> None:
    c, api = companies, stub(companies)
    office, _desk = await space(c, "601"), await space(c, "D-01", DESK, 8)
    await space(c, "602")
    firm = await company(c, "메디비전", "SELECTED")
    await api.AssignSpace(assign(office.name, firm, today()), metadata=ADMIN)
    r = await new_round(c, desks=2)
    for n in range(5):
        await apply(c, r.name, await company(c, f"지원{n}"))
    await api.ReportKpi(
        pb.ReportKpiRequest(
            reason="창업자 대신 입력", report=pb.KpiReport(company=firm, period="2026-03", headcount=3)
        ),
        metadata=ADMIN,
    )
    stats = await api.GetProgramStats(pb.GetProgramStatsRequest(), metadata=SERVICE)
    assert (stats.offices_taken, stats.offices_total, stats.desks_taken, stats.desks_total) == (1, 2, 0, 1)
    assert (stats.latest_round, stats.applications, stats.seats, stats.competition_ratio) == (r.name, 5, 2, 2.5)
    assert stats.kpi_reporters == 1


async def test_the_demo_seed_fills_the_program_once(companies: Running) -> None:
    from services.companies import seed
    from tests.conftest import ADMIN_TOKEN

    for _ in range(2):  # a repeated seed creates nothing twice
        await asyncio.to_thread(seed.run, companies.address, ADMIN_TOKEN)
    stats = await stub(companies).GetProgramStats(pb.GetProgramStatsRequest(), metadata=SERVICE)
    assert (stats.offices_taken, stats.offices_total, stats.desks_taken, stats.desks_total) == (4, 16, 0, 30)
    assert (stats.applications, stats.seats, stats.kpi_reporters) == (2, 8, 4)
    assert stats.competition_ratio == 0.25 and stats.gpu_hours_used > 0 and stats.firms_grown == 3
    residents = await companies.companies.ListCompanies(
        cpb.ListCompaniesRequest(filter="status=RESIDENT"), metadata=ADMIN
    )
    assert len(residents.companies) == 4


async def test_list_rounds_and_applications_with_filters_and_pages(companies: Running) -> None:
    c, api = companies, stub(companies)
    first, second = await new_round(c), await new_round(c, title="2026 하반기")
    firms = [await company(c, f"회사{n}") for n in range(3)]
    made = [await apply(c, first.name, f) for f in firms] + [await apply(c, second.name, firms[0])]
    await api.DecideApplication(
        pb.DecideApplicationRequest(name=made[1].name, decision=pb.APPLICATION_STATE_REJECTED, reason="적합성"),
        metadata=ADMIN,
    )
    rounds = await api.ListRounds(pb.ListRoundsRequest(page_size=1), metadata=SERVICE)
    assert [r.name for r in rounds.rounds] == [second.name] and rounds.rounds[0].application_count == 1
    rest = await api.ListRounds(pb.ListRoundsRequest(page_size=1, page_token=rounds.next_page_token), metadata=SERVICE)
    assert [(r.name, r.application_count) for r in rest.rounds] == [(first.name, 3)] and not rest.next_page_token

    def listing(text: str, size: int = 0, token: str = "") -> Any:
        request = pb.ListApplicationsRequest(filter=text, page_size=size, page_token=token)
        return api.ListApplications(request, metadata=SERVICE)

    page = await listing(f"round={first.name}", 2)
    more = await listing(f"round={first.name}", 2, page.next_page_token)
    assert [a.name for a in [*page.applications, *more.applications]] == [a.name for a in made[:3]]
    rejected = await listing("state=REJECTED")
    assert [a.name for a in rejected.applications] == [made[1].name]
    mine = await listing(f"applicant={firms[0]}")
    assert [a.round for a in mine.applications] == [first.name, second.name]
    bad = await refused(listing("colour=red"), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(bad) == ["filter"]
    bad = await refused(listing("state=REJECTED", token=page.next_page_token), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(bad) == ["page_token"]


async def test_occupancy_over_time(companies: Running) -> None:
    c, api = companies, stub(companies)
    office, desk = await space(c, "601"), await space(c, "D-01", DESK, 8)
    a, b = await company(c, "메디비전", "SELECTED"), await company(c, "닥터노트", "SELECTED")
    await api.AssignSpace(assign(office.name, a, date(2026, 2, 10), date(2026, 5, 1)), metadata=ADMIN)
    await api.AssignSpace(assign(desk.name, b, date(2026, 4, 1)), metadata=ADMIN)
    history = await api.GetOccupancyHistory(
        pb.GetOccupancyHistoryRequest(start_date=day(date(2026, 1, 20)), months=6), metadata=SERVICE
    )
    assert [(p.date.month, p.offices_taken, p.desks_taken) for p in history.points] == [
        (1, 0, 0), (2, 0, 0), (3, 1, 0), (4, 1, 1), (5, 0, 1), (6, 0, 1),
    ]  # fmt: skip
    assert {(p.offices_total, p.desks_total) for p in history.points} == {(1, 1)}
    default = await api.GetOccupancyHistory(pb.GetOccupancyHistoryRequest(), metadata=SERVICE)
    assert len(default.points) == 12 and default.points[-1].date.month == today().month
    bad = await refused(
        api.GetOccupancyHistory(pb.GetOccupancyHistoryRequest(months=37), metadata=SERVICE),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert bad_fields(bad) == ["months"]


async def test_concurrent_selections_never_exceed_the_seats(companies: Running) -> None:
    c, api = companies, stub(companies)
    r = await new_round(c, desks=2)
    made = [await apply(c, r.name, await company(c, f"회사{n}")) for n in range(10)]
    results = await asyncio.gather(
        *(
            api.DecideApplication(
                pb.DecideApplicationRequest(name=a.name, decision=pb.APPLICATION_STATE_SELECTED, reason="선발"),
                metadata=ADMIN,
                timeout=120,
            )
            for a in made
        ),
        return_exceptions=True,
    )
    won = [x for x in results if isinstance(x, pb.Application)]
    assert len(won) == 2, results
    assert {x.code() for x in results if isinstance(x, grpc.aio.AioRpcError)} == {grpc.StatusCode.FAILED_PRECONDITION}
    selected = await api.ListApplications(pb.ListApplicationsRequest(filter="state=SELECTED"), metadata=SERVICE)
    assert len(selected.applications) == 2


async def test_graduating_or_withdrawing_frees_the_companys_spaces_at_once(companies: Running) -> None:
    """ChangeCompanyStatus to GRADUATED or WITHDRAWN ends every space the company holds, moving out today, with
    its moved_out event, in the same transaction; ended or other companies' assignments are left alone."""
    c, api = companies, stub(companies)
    office, desk, other = await space(c, "601"), await space(c, "D-01", DESK, 8), await space(c, "602")
    grad, quitter_name, stays_name = [await company(c, n, "SELECTED") for n in ("메디비전", "닥터노트", "에듀마인드")]
    start = today() - timedelta(days=40)
    held = await api.AssignSpace(assign(office.name, grad, start), metadata=ADMIN)
    booked = await api.AssignSpace(assign(desk.name, quitter_name, start, today() + timedelta(days=90)), metadata=ADMIN)
    await api.AssignSpace(assign(other.name, stays_name, start), metadata=ADMIN)

    async def change(name: str, status: Any) -> None:
        await c.companies.ChangeCompanyStatus(cpb.ChangeCompanyStatusRequest(name=name, status=status), metadata=ADMIN)

    await change(held.company, cpb.COMPANY_STATUS_GRADUATED)
    await change(quitter_name, cpb.COMPANY_STATUS_WITHDRAWN)
    now = await api.GetOccupancy(pb.GetOccupancyRequest(), metadata=SERVICE)
    assert [a.company for a in now.assignments] == [stays_name] and (now.offices_taken, now.desks_taken) == (1, 0)
    yesterday = await api.GetOccupancy(pb.GetOccupancyRequest(date=day(today() - timedelta(days=1))), metadata=SERVICE)
    assert (yesterday.offices_taken, yesterday.desks_taken) == (2, 1)
    moved = [(e.subject_id, p) for e, p in await events(c, "hub.companies.residency.moved_out")]
    assert [s for s, _ in moved] == [held.name, booked.name]
    payload = ev.ResidencyChanged()
    moved[0][1].Unpack(payload)
    assert (payload.move_out_reason, payload.move_out_date) == ("GRADUATED", day(today()))
    moved[1][1].Unpack(payload)
    assert (payload.move_out_reason, payload.move_out_date) == ("WITHDRAWN", day(today()))
    # the office is free from today: another company moves in
    await api.AssignSpace(assign(office.name, stays_name, today()), metadata=ADMIN)
    # a refused transition ends nothing
    await refused(change(stays_name, cpb.COMPANY_STATUS_SELECTED), grpc.StatusCode.FAILED_PRECONDITION)
    assert len((await api.GetOccupancy(pb.GetOccupancyRequest(), metadata=SERVICE)).assignments) == 2


def milestone(firm: str, kind: Any, when: date, url: str = "https://news.example.kr/1", text: str = "") -> Any:
    return pb.Milestone(company=firm, kind=kind, achieve_date=day(when), evidence_url=url, evidence=text)


async def test_milestones_create_list_delete_idempotent_with_events(companies: Running) -> None:
    c, api = companies, stub(companies)
    a, b = await company(c, "메디비전", "SELECTED"), await company(c, "닥터노트", "SELECTED")
    first = pb.CreateMilestoneRequest(
        milestone=milestone(a, pb.MILESTONE_KIND_FIRST_CUSTOMER, date(2026, 3, 2), text="서울대병원 계약"),
        request_id="m-1",
    )
    made = await api.CreateMilestone(first, metadata=ADMIN)
    assert (made.name, made.company, made.evidence) == ("milestones/1", a, "서울대병원 계약")
    assert made.actor.startswith("admin:")
    assert await api.CreateMilestone(first, metadata=ADMIN) == made  # a retry returns the first
    reused = pb.CreateMilestoneRequest(
        milestone=milestone(b, pb.MILESTONE_KIND_FUNDING, date(2026, 1, 1)), request_id="m-1"
    )
    bad = await refused(api.CreateMilestone(reused, metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(bad) == ["request_id"]
    for kind, when, firm in [
        (pb.MILESTONE_KIND_PRODUCT_LAUNCH, date(2025, 11, 1), a), (pb.MILESTONE_KIND_FUNDING, date(2026, 3, 2), b),
        (pb.MILESTONE_KIND_OVERSEAS_ENTRY, date(2026, 6, 30), a),
    ]:  # fmt: skip
        await api.CreateMilestone(pb.CreateMilestoneRequest(milestone=milestone(firm, kind, when)), metadata=ADMIN)

    def listing(text: str = "", size: int = 0, token: str = "") -> Any:
        return api.ListMilestones(
            pb.ListMilestonesRequest(filter=text, page_size=size, page_token=token), metadata=SERVICE
        )

    page = await listing(size=2)
    rest = await listing(size=2, token=page.next_page_token)
    assert [(m.name, m.achieve_date.year) for m in [*page.milestones, *rest.milestones]] == [
        ("milestones/2", 2025), ("milestones/1", 2026), ("milestones/3", 2026), ("milestones/4", 2026),
    ]  # fmt: skip
    assert not rest.next_page_token
    mine = await listing(f"company={a} AND kind=OVERSEAS_ENTRY")
    assert [m.name for m in mine.milestones] == ["milestones/4"]
    bad = await refused(listing("kind=IPO"), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(bad) == ["filter"]
    bad = await refused(listing(f"company={a}", token=page.next_page_token), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(bad) == ["page_token"]

    await api.DeleteMilestone(pb.DeleteMilestoneRequest(name="milestones/2"), metadata=ADMIN)
    await refused(
        api.DeleteMilestone(pb.DeleteMilestoneRequest(name="milestones/2"), metadata=ADMIN), grpc.StatusCode.NOT_FOUND
    )
    assert [m.name for m in (await listing(f"company={a}")).milestones] == ["milestones/1", "milestones/4"]
    recorded = await events(c, "hub.companies.milestone.recorded")
    assert [e.subject_id for e, _ in recorded] == [f"milestones/{n}" for n in (1, 2, 3, 4)]
    payload = ev.MilestoneChanged()
    recorded[0][1].Unpack(payload)
    assert (payload.company, payload.kind, payload.evidence) == (a, "FIRST_CUSTOMER", "서울대병원 계약")
    [(deleted, _)] = await events(c, "hub.companies.milestone.deleted")
    assert (deleted.subject_id, deleted.version) == ("milestones/2", 2)
    await refused(
        api.DeleteMilestone(pb.DeleteMilestoneRequest(name="milestones/1"), metadata=SERVICE),
        grpc.StatusCode.PERMISSION_DENIED,
    )


async def test_bad_milestones_name_the_field_and_write_nothing(companies: Running) -> None:
    c, api = companies, stub(companies)
    firm = await company(c, "메디비전", "SELECTED")
    cases = [
        (milestone(firm, pb.MILESTONE_KIND_FUNDING, today() + timedelta(days=1)), ["milestone.achieve_date"]),
        (milestone(firm, pb.MILESTONE_KIND_FUNDING, today(), url=""), ["milestone.evidence"]),
        (milestone(firm, pb.MILESTONE_KIND_FUNDING, today(), url="ftp://x"), ["milestone.evidence_url"]),
        (milestone(firm, 0, today()), ["milestone.kind"]),
        (milestone("rounds/1", pb.MILESTONE_KIND_FUNDING, today()), ["milestone.company"]),
        (pb.Milestone(company=firm, kind=pb.MILESTONE_KIND_FUNDING, evidence="투자"), ["milestone.achieve_date"]),
    ]
    for message, fields in cases:
        bad = await refused(
            api.CreateMilestone(pb.CreateMilestoneRequest(milestone=message), metadata=ADMIN),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert bad_fields(bad) == fields, message
    await refused(
        api.CreateMilestone(
            pb.CreateMilestoneRequest(milestone=milestone("companies/99", pb.MILESTONE_KIND_FUNDING, today())),
            metadata=ADMIN,
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    await refused(
        api.DeleteMilestone(pb.DeleteMilestoneRequest(name="companies/1"), metadata=ADMIN),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert (
        await count(c, tables.milestones) == 0 and await count(c, outbox) == 2
    )  # the company's registration and selection


async def report(c: Running, firm: str, period: str, headcount: int, revenue: int) -> None:
    kpi = pb.KpiReport(
        company=firm, period=period, headcount=headcount, revenue=money_pb2.Money(currency_code="KRW", units=revenue)
    )
    await stub(c).ReportKpi(pb.ReportKpiRequest(reason="창업자 대신 입력", report=kpi), metadata=ADMIN)


async def test_kpi_trends_over_time_and_by_cohort(companies: Running) -> None:
    c, api = companies, stub(companies)
    r1 = await new_round(c, desks=3)
    a, b, d = [await company(c, n) for n in ("메디비전", "닥터노트", "에듀마인드")]
    for firm in (a, b):
        application = await apply(c, r1.name, firm)
        await api.DecideApplication(
            pb.DecideApplicationRequest(name=application.name, decision=pb.APPLICATION_STATE_SELECTED, reason="선발"),
            metadata=ADMIN,
        )
    office, desk = await space(c, "601"), await space(c, "D-01", DESK, 8)
    await api.AssignSpace(assign(office.name, a, date(2025, 3, 1)), metadata=ADMIN)
    await api.AssignSpace(assign(desk.name, b, date(2026, 1, 5)), metadata=ADMIN)
    # a: quarterly; b: monthly (rolled up: latest headcount, summed revenue); d: no cohort of either kind
    await report(c, a, "2025-Q4", 4, 30_000_000)
    await report(c, a, "2026-Q1", 5, 60_000_000)
    await report(c, a, "2026-Q1", 6, 90_000_000)  # a correction: the latest version counts
    for month, headcount in (("2026-01", 2), ("2026-02", 3), ("2026-03", 3)):
        await report(c, b, month, headcount, 10_000_000)
    await report(c, d, "2026-Q1", 10, 0)
    async with c.runtime.db.write(actor="test") as uow:  # a round closed in 2026-02 (as the investors consumer does)
        await registry_store.apply_closed_round(
            uow.conn, round_name="rounds/77", company_id=int(b.split("/")[1]), round_type="SEED",
            amount=500_000_000, closed_on=date(2026, 2, 10),
        )  # fmt: skip

    def trends(cohort_by: Any = 0, text: str = "", start: str = "", end: str = "") -> Any:
        request = pb.GetKpiTrendsRequest(cohort_by=cohort_by, filter=text, start_period=start, end_period=end)
        return api.GetKpiTrends(request, metadata=SERVICE)

    def points(series: Any) -> list[tuple[Any, ...]]:
        return [
            (p.period, p.companies, p.headcount_sum, p.headcount_median, p.revenue_sum, p.revenue_median,
             p.funding_sum, p.funding_median)
            for p in series.points
        ]  # fmt: skip

    [everyone] = (await trends()).series
    assert (everyone.cohort, everyone.companies) == ("", 3)
    assert points(everyone) == [
        ("2025-Q4", 1, 4, 4.0, 30_000_000, 30_000_000.0, 0, 0.0),
        ("2026-Q1", 3, 19, 6.0, 120_000_000, 30_000_000.0, 500_000_000, 0.0),
    ]
    by_round = (await trends(pb.COHORT_KIND_ROUND)).series
    assert [(s.cohort, s.companies) for s in by_round] == [(r1.name, 2)]
    assert points(by_round[0])[-1] == ("2026-Q1", 2, 9, 4.5, 120_000_000, 60_000_000.0, 500_000_000, 250_000_000.0)
    by_year = (await trends(pb.COHORT_KIND_MOVE_IN_YEAR)).series
    assert [(s.cohort, s.companies, len(s.points)) for s in by_year] == [("2025", 1, 2), ("2026", 1, 1)]
    [only] = (await trends(pb.COHORT_KIND_MOVE_IN_YEAR, "move_in_year=2026")).series
    assert points(only) == [("2026-Q1", 1, 3, 3.0, 30_000_000, 30_000_000.0, 500_000_000, 500_000_000.0)]
    [window] = (await trends(text=f"round={r1.name}", start="2026-01", end="2026-Q1")).series
    assert [p.period for p in window.points] == ["2026-Q1"] and window.companies == 2
    assert (await trends(text="round=rounds/9")).series[0].companies == 0
    for kwargs, field in [
        ({"text": "move_in_year=soon"}, "filter"), ({"text": "cohort=1"}, "filter"),
        ({"start": "2026-Q5"}, "start_period"), ({"start": "2026-Q2", "end": "2026-Q1"}, "end_period"),
    ]:  # fmt: skip
        bad = await refused(trends(**kwargs), grpc.StatusCode.INVALID_ARGUMENT)
        assert bad_fields(bad) == [field]


async def test_technical_consultations_are_never_recorded_by_hand(companies: Running) -> None:
    firm = await company(companies, "메디비전", "SELECTED")
    grant = pb.SupportGrant(company=firm, kind=pb.SUPPORT_KIND_TECHNICAL_CONSULTATION, amount=1)
    bad = await refused(
        stub(companies).RecordSupport(pb.RecordSupportRequest(grant=grant), metadata=ADMIN),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert bad_fields(bad) == ["grant.kind"] and "consulting" in bad.message
    assert await count(companies, tables.support_grants) == 0


@pytest.mark.parametrize("order_by", ["", "update_time desc", "korean_name", "english_name desc"])
async def test_companies_page_by_every_order_with_tokens_the_decoder_takes_back(
    companies: Running, order_by: str
) -> None:
    """Each order's token carries its own sort key (a time or a name) and the id: the typed decoder reads
    each back, and the pages cover every company once."""
    made = {await company(companies, name) for name in ("가온", "나래", "다솜")}
    request = cpb.ListCompaniesRequest(page_size=1, order_by=order_by)
    seen: list[str] = []
    while True:
        page = await companies.companies.ListCompanies(request, metadata=ADMIN)
        seen += [c.name for c in page.companies]
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert sorted(seen) == sorted(made)
