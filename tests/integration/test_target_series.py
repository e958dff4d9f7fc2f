"""The targets' figures month by month (GetConsultingStats.by_month, GetCompanyStats.discovered_by_month), on
SQLite and PostgreSQL: running totals by Asia/Seoul month, ending at the figures the home page shows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import grpc
from hub.companies.v1 import companies_pb2 as cpb
from hub.consulting.v1 import consulting_pb2 as pb

from hubcore.convert import SEOUL, seoul_today
from hubcore.months import last_months
from services.companies.tables import companies as company_rows
from services.consulting import store
from tests.conftest import ADMIN, SERVICE, Running, RunningConsulting, eventually
from tests.integration.consulting_world import earlier_today, interval, know_company
from tests.integration.test_program_api import company


def month_start(back: int) -> datetime:
    """The first instant of the month `back` months before this one, in Seoul (15:00 UTC the day before)."""
    label, _ = last_months(back + 1, seoul_today())[0]
    year, month = map(int, label.split("-"))
    return datetime(year, month, 1, tzinfo=SEOUL).astimezone(UTC)


async def held_program(
    c: RunningConsulting, title: str, kind: pb.ProgramKind.ValueType, people: list[tuple[str, str, str, bool]]
) -> str:
    """A program under way whose attendance is recorded: (name, email, company, attended) per person."""
    start = earlier_today(hours=1)
    made = await c.consulting.CreateProgram(
        pb.CreateProgramRequest(program=pb.Program(
            display_name=title, kind=kind, capacity=10, interval=interval(start, start + timedelta(hours=2)),
        )),
        metadata=ADMIN,
    )  # fmt: skip
    marks = []
    for name, email, company_name, attended in people:
        registration = pb.Registration(program=made.name, participant_name=name, email=email, company=company_name)
        made_registration = await c.consulting.CreateRegistration(
            pb.CreateRegistrationRequest(registration=registration), metadata=ADMIN
        )
        marks.append(pb.AttendanceMark(registration=made_registration.name, attended=attended))
    if marks:
        await c.consulting.RecordAttendance(pb.RecordAttendanceRequest(program=made.name, marks=marks), metadata=ADMIN)
    return made.name


async def starts_at(c: RunningConsulting, program: str, start: datetime) -> None:
    """Moves a held program back in time, as if it had been held then."""
    table = store.programs
    async with c.runtime.db.engine.begin() as conn:
        await conn.execute(
            table.update()
            .where(table.c.id == int(program.removeprefix("programs/")))
            .values(start_at=start, end_at=start + timedelta(hours=2))
        )


async def test_programs_participants_and_people_trained_by_seoul_month(consulting: RunningConsulting) -> None:
    c = consulting
    await know_company(c, 1, "메디비전")
    await know_company(c, 2, "누리로봇")
    first = await held_program(c, "AI 실무 교육 1기", pb.PROGRAM_KIND_EDUCATION, [
        ("김서연", "seoyeon@medivision.kr", "companies/1", True), ("이준호", "", "companies/1", True),
        ("박지민", "jimin@nuri.kr", "companies/2", False),
    ])  # fmt: skip
    second = await held_program(c, "AI 실무 교육 2기", pb.PROGRAM_KIND_EDUCATION, [
        ("김서연", "SeoYeon@MediVision.kr", "companies/1", True),  # the same person: counted trained once
        ("이준호", "", "companies/2", True),  # a namesake of another company: a second person
    ])  # fmt: skip
    third = await held_program(c, "투자 설명회", pb.PROGRAM_KIND_COLLABORATION, [("홍길동", "", "", True)])
    await held_program(c, "AI 실무 교육 3기", pb.PROGRAM_KIND_EDUCATION, [])  # no attendance: not held
    # The first began at midnight on the 1st in Seoul two months ago: in UTC that is still the month before.
    await starts_at(c, first, month_start(2))
    await starts_at(c, second, month_start(1) + timedelta(days=14))
    await starts_at(c, third, datetime.now(UTC))

    stats = await c.consulting.GetConsultingStats(pb.GetConsultingStatsRequest(months=4), metadata=SERVICE)
    assert [m.month for m in stats.by_month] == [label for label, _ in last_months(4, seoul_today())]
    assert [(m.programs_held, m.participants, m.people_trained) for m in stats.by_month] == [
        (0, 0, 0), (1, 2, 2), (2, 4, 3), (3, 5, 3),
    ]  # fmt: skip
    assert (stats.programs_held, stats.participants, stats.people_trained) == (3, 5, 3)

    default = await c.consulting.GetConsultingStats(pb.GetConsultingStatsRequest(), metadata=SERVICE)
    assert len(default.by_month) == 12 and default.by_month[-1].month == seoul_today().strftime("%Y-%m")
    for months in (-1, 61):
        try:
            await c.consulting.GetConsultingStats(pb.GetConsultingStatsRequest(months=months), metadata=SERVICE)
            raise AssertionError(f"months={months} was accepted")
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and "months" in (exc.details() or "")


async def test_companies_discovered_by_the_seoul_month_they_were_registered(companies: Running) -> None:
    c = companies
    older = await company(c, "메디비전", "SELECTED", "RESIDENT")
    newer = await company(c, "누리로봇", "SELECTED")
    await company(c, "에듀마인드")  # an applicant: not discovered
    await company(c, "그린팜", "SELECTED", "WITHDRAWN")  # withdrawn: no longer counts
    gone = await company(c, "오션랩", "SELECTED")
    await c.companies.DeleteCompany(cpb.DeleteCompanyRequest(name=gone), metadata=ADMIN)  # archived
    table = company_rows.c
    async with c.runtime.db.engine.begin() as conn:
        for name, created in ((older, month_start(2) + timedelta(days=3)), (newer, month_start(1))):
            number = int(name.removeprefix("companies/"))
            await conn.execute(company_rows.update().where(table.id == number).values(created_at=created))

    # "newer" was registered at midnight on the 1st in Seoul: last month, though UTC still says the month before.
    stats = await c.companies.GetCompanyStats(cpb.GetCompanyStatsRequest(months=3), metadata=SERVICE)
    assert [(m.month, m.count) for m in stats.discovered_by_month] == list(
        zip([label for label, _ in last_months(3, seoul_today())], [1, 2, 2], strict=True)
    )

    async def discovered_now() -> bool:
        figures = await c.companies.GetCompanyStats(cpb.GetCompanyStatsRequest(), metadata=ADMIN)
        by_status = {s.key: s.count for s in figures.by_status}
        return sum(by_status.get(s, 0) for s in ("SELECTED", "RESIDENT", "GRADUATED")) == 2

    await eventually(discovered_now)  # the card's figure (from the events' read model) agrees with the series
    figures = await c.companies.GetCompanyStats(cpb.GetCompanyStatsRequest(), metadata=ADMIN)
    assert len(figures.discovered_by_month) == 12 and figures.discovered_by_month[-1].count == 2
    try:
        await c.companies.GetCompanyStats(cpb.GetCompanyStatsRequest(months=61), metadata=ADMIN)
        raise AssertionError("months=61 was accepted")
    except grpc.aio.AioRpcError as exc:
        assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT and "months" in (exc.details() or "")
