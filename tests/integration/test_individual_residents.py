"""Individual residents (issue 18): a person admitted without a company (role INDIVIDUAL, selected for a round's
INDIVIDUAL seat) holds a desk with a company's lifecycle, space guarantee and counts; a move-in dated in the
future makes its holder resident on that day (Asia/Seoul), not at once. Against a real database (SQLite, and
PostgreSQL with HUB_TEST_DATABASE_URL) and NATS."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

import grpc
import sqlalchemy as sa
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as pb
from hub.events.v1 import companies_pb2 as ev
from sqlalchemy.ext.asyncio import create_async_engine

from hubcore import migrate
from hubcore.convert import seoul_today as today
from hubcore.db import dead_letters
from hublocal.mailsink import MailSink
from services.companies import tables
from services.companies.__main__ import MIGRATIONS
from services.companies.program import usecases
from tests.conftest import ADMIN, SERVICE, Running, RunningNotifications, eventually
from tests.integration.test_notifications import company_with_founder, mail_to, move, recipient
from tests.integration.test_privacy import export, text_of
from tests.integration.test_program_api import (
    CRITERIA,
    DESK,
    company,
    count,
    day,
    events,
    precondition,
    refused,
    space,
    status_of,
    stub,
)


async def individual(c: Running, name: str, *, selected: bool = True) -> str:
    """A person admitted without a company: role INDIVIDUAL, selected for a round's INDIVIDUAL seat."""
    person = await c.companies.CreatePerson(
        cpb.CreatePersonRequest(person=cpb.Person(korean_name=name, role=cpb.PERSON_ROLE_INDIVIDUAL)), metadata=ADMIN
    )
    if selected:
        api = stub(c)
        r = await api.CreateRound(
            pb.CreateRoundRequest(
                round=pb.Round(
                    title=f"{name} 개인 입주 모집",
                    open_date=day(today() - timedelta(days=7)),
                    close_date=day(today() + timedelta(days=7)),
                    criteria=CRITERIA,
                    seats=[pb.Round.Seats(kind=pb.SEAT_KIND_INDIVIDUAL, count=1)],
                )
            ),
            metadata=ADMIN,
        )
        application = await api.CreateApplication(
            pb.CreateApplicationRequest(
                application=pb.Application(round=r.name, applicant=person.name, seat_kind=pb.SEAT_KIND_INDIVIDUAL)
            ),
            metadata=ADMIN,
        )
        await api.DecideApplication(
            pb.DecideApplicationRequest(name=application.name, decision=pb.APPLICATION_STATE_SELECTED, reason="선정"),
            metadata=ADMIN,
        )
    return person.name


async def person_status(c: Running, name: str) -> str:
    found = await c.companies.GetPerson(cpb.GetPersonRequest(name=name), metadata=ADMIN)
    return str(cpb.CompanyStatus.Name(found.status)).removeprefix("COMPANY_STATUS_")


def hold(space_name: str, holder: str, move_in: date, move_out: date | None = None) -> pb.AssignSpaceRequest:
    assignment = pb.Assignment(space=space_name, holder=holder, move_in_date=day(move_in))
    if move_out:
        assignment.move_out_date.CopyFrom(day(move_out))
    return pb.AssignSpaceRequest(assignment=assignment)


async def status_events(c: Running, subject: str) -> list[tuple[str, str]]:
    """(holder, to_status) of each person.status_changed or company.status_changed event, in order."""
    found = []
    for _, payload in await events(c, subject):
        if "person" in subject:
            person = ev.PersonStatusChanged()
            payload.Unpack(person)
            found.append((person.person.name, person.to_status))
        else:
            firm = ev.CompanyStatusChanged()
            payload.Unpack(firm)
            found.append((firm.company.name, firm.to_status))
    return found


async def test_an_individual_moves_into_a_desk_and_is_counted_beside_companies(companies: Running) -> None:
    c, api = companies, stub(companies)
    desk, other_desk = await space(c, "D-01", DESK, 8), await space(c, "D-02", DESK, 8)
    office = await space(c, "601")
    person = await individual(c, "김서연")
    assert await person_status(c, person) == "SELECTED"
    firm = await company(c, "메디비전", "SELECTED")

    mine = await api.AssignSpace(hold(desk.name, person, today() - timedelta(days=3)), metadata=ADMIN)
    assert (mine.holder, mine.company, mine.space_kind) == (person, "", pb.SPACE_KIND_OPEN_DESK)
    assert await person_status(c, person) == "RESIDENT"
    theirs = await api.AssignSpace(hold(office.name, firm, today()), metadata=ADMIN)
    assert (theirs.holder, theirs.company) == (firm, firm) and await status_of(c, firm) == "RESIDENT"

    now = await api.GetOccupancy(pb.GetOccupancyRequest(), metadata=SERVICE)
    assert (now.offices_taken, now.desks_taken, now.desks_total) == (1, 1, 2)
    assert (now.resident_companies, now.resident_individuals) == (1, 1)
    assert sorted(a.holder for a in now.assignments) == sorted([person, firm])
    history = await api.GetOccupancyHistory(pb.GetOccupancyHistoryRequest(months=1), metadata=SERVICE)
    assert len(history.points) == 1

    # the same desk for the same dates, to a company or to another individual: refused, nothing written
    rival = await individual(c, "이도윤")
    for holder in (rival, firm):
        taken = await refused(
            api.AssignSpace(hold(desk.name, holder, today()), metadata=ADMIN), grpc.StatusCode.FAILED_PRECONDITION
        )
        assert precondition(taken) == "SPACE_TAKEN" and person in taken.message and mine.name in taken.message
    assert await count(c, tables.assignments) == 2 and await person_status(c, rival) == "SELECTED"
    await api.AssignSpace(hold(other_desk.name, rival, today()), metadata=ADMIN)

    [(_, moved_in)] = [
        (e, p) for e, p in await events(c, "hub.companies.residency.moved_in") if e.subject_id == mine.name
    ]
    payload = ev.ResidencyChanged()
    moved_in.Unpack(payload)
    assert (payload.holder, payload.company, payload.space_kind) == (person, "", "OPEN_DESK")
    assert (person, "RESIDENT") in await status_events(c, "hub.companies.person.status_changed")

    # graduating moves the individual along, as it does a company
    await api.EndAssignment(
        pb.EndAssignmentRequest(
            name=mine.name, move_out_date=day(today() + timedelta(days=1)), reason=pb.MOVE_OUT_REASON_GRADUATED
        ),
        metadata=ADMIN,
    )
    assert await person_status(c, person) == "GRADUATED"
    later = await api.GetOccupancy(pb.GetOccupancyRequest(date=day(today() + timedelta(days=1))), metadata=SERVICE)
    assert (later.resident_companies, later.resident_individuals, later.desks_taken) == (1, 1, 1)


async def test_who_may_hold_a_space(companies: Running) -> None:
    c, api = companies, stub(companies)
    desk = await space(c, "D-01", DESK, 8)
    applicant = await individual(c, "박지훈", selected=False)
    wrong = await refused(
        api.AssignSpace(hold(desk.name, applicant, today()), metadata=ADMIN), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert precondition(wrong) == "STATUS_TRANSITION"
    firm = await company(c, "메디비전", "SELECTED")
    founder = await c.companies.CreatePerson(
        cpb.CreatePersonRequest(person=cpb.Person(korean_name="최민준", role=cpb.PERSON_ROLE_FOUNDER, company=firm)),
        metadata=ADMIN,
    )
    wrong = await refused(
        api.AssignSpace(hold(desk.name, founder.name, today()), metadata=ADMIN), grpc.StatusCode.FAILED_PRECONDITION
    )
    assert precondition(wrong) == "NOT_INDIVIDUAL"
    await refused(api.AssignSpace(hold(desk.name, "people/999", today()), metadata=ADMIN), grpc.StatusCode.NOT_FOUND)
    for holder, field in (("", "assignment.holder"), ("rooms/3", "assignment.holder")):
        bad = await refused(
            api.AssignSpace(hold(desk.name, holder, today()), metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert field in bad.message
    assert await count(c, tables.assignments) == 0
    # a person who held a space is the hub's record: deleting is refused, erasing is the way
    person = await individual(c, "김서연")
    await api.AssignSpace(hold(desk.name, person, today()), metadata=ADMIN)
    found = await c.companies.GetPerson(cpb.GetPersonRequest(name=person), metadata=ADMIN)
    gone = await refused(
        c.companies.DeletePerson(cpb.DeletePersonRequest(name=person, etag=found.etag), metadata=ADMIN),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert precondition(gone) == "RESIDENT"


async def test_a_future_move_in_makes_its_holder_resident_on_its_day(companies: Running) -> None:
    """Past and today: resident at once. Future: SELECTED until the day (Asia/Seoul), then RESIDENT with its
    status event, once; the clock's pass on an earlier day changes nothing."""
    c, api = companies, stub(companies)
    desks = [await space(c, f"D-0{n}", DESK, 8) for n in range(1, 5)]
    past, on_the_day = await individual(c, "김서연"), await individual(c, "이도윤")
    later, firm = await individual(c, "박지훈"), await company(c, "메디비전", "SELECTED")
    await api.AssignSpace(hold(desks[0].name, past, today() - timedelta(days=10)), metadata=ADMIN)
    await api.AssignSpace(hold(desks[1].name, on_the_day, today()), metadata=ADMIN)
    in_three = today() + timedelta(days=3)
    booked = await api.AssignSpace(hold(desks[2].name, later, in_three), metadata=ADMIN)
    await api.AssignSpace(hold(desks[3].name, firm, in_three, in_three + timedelta(days=90)), metadata=ADMIN)
    assert [await person_status(c, p) for p in (past, on_the_day, later)] == ["RESIDENT", "RESIDENT", "SELECTED"]
    assert await status_of(c, firm) == "SELECTED" and booked.holder == later
    now = await api.GetOccupancy(pb.GetOccupancyRequest(), metadata=SERVICE)
    assert (now.desks_taken, now.resident_individuals, now.resident_companies) == (2, 2, 0)

    db = c.runtime.db
    assert await usecases.move_in_due(db, today=today()) == 0
    assert await usecases.move_in_due(db, today=in_three - timedelta(days=1)) == 0
    assert await person_status(c, later) == "SELECTED" and await status_of(c, firm) == "SELECTED"
    assert await usecases.move_in_due(db, today=in_three) == 2
    assert await person_status(c, later) == "RESIDENT" and await status_of(c, firm) == "RESIDENT"
    assert await usecases.move_in_due(db, today=in_three) == 0  # once
    assert await usecases.move_in_due(db, today=in_three + timedelta(days=1)) == 0
    person_changes = await status_events(c, "hub.companies.person.status_changed")
    assert person_changes.count((later, "RESIDENT")) == 1
    assert (await status_events(c, "hub.companies.company.status_changed")).count((firm, "RESIDENT")) == 1
    on_its_day = await api.GetOccupancy(pb.GetOccupancyRequest(date=day(in_three)), metadata=SERVICE)
    assert (on_its_day.desks_taken, on_its_day.resident_individuals, on_its_day.resident_companies) == (4, 3, 1)


async def test_a_future_booking_is_refused_now_if_its_holder_could_not_move_in(companies: Running) -> None:
    c, api = companies, stub(companies)
    desk = await space(c, "D-01", DESK, 8)
    applicant = await company(c, "비전검사")
    wrong = await refused(
        api.AssignSpace(hold(desk.name, applicant, today() + timedelta(days=30)), metadata=ADMIN),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert precondition(wrong) == "STATUS_TRANSITION" and await count(c, tables.assignments) == 0


CALLS = 30


async def test_concurrent_holders_of_one_desk_exactly_one_wins(companies: Running) -> None:
    """Individuals and companies race for one desk over overlapping dates: exactly one assignment, on SQLite
    (serialized writers) and PostgreSQL (the exclusion constraint)."""
    c, api = companies, stub(companies)
    desk = await space(c, "D-09", DESK, 8)
    holders = [await individual(c, f"개인{n}") for n in range(CALLS // 2)]
    holders += [await company(c, f"회사{n}", "SELECTED") for n in range(CALLS - len(holders))]
    start = today()
    requests = [
        hold(desk.name, h, start + timedelta(days=n % 5), start + timedelta(days=90)) for n, h in enumerate(holders)
    ]
    results = await asyncio.gather(
        *(api.AssignSpace(r, metadata=ADMIN, timeout=120) for r in requests), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, pb.Assignment)]
    lost = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(won) == 1 and len(lost) == CALLS - 1, results
    assert {e.code() for e in lost} == {grpc.StatusCode.FAILED_PRECONDITION}, {e.details() for e in lost}
    assert await count(c, tables.assignments) == 1
    async with c.runtime.db.read() as conn:
        people_resident = (
            await conn.execute(sa.select(sa.func.count()).where(tables.people.c.status == "RESIDENT"))
        ).scalar_one()
        firms_resident = (
            await conn.execute(sa.select(sa.func.count()).where(tables.companies.c.status == "RESIDENT"))
        ).scalar_one()
    moved_in = date(won[0].move_in_date.year, won[0].move_in_date.month, won[0].move_in_date.day)
    assert people_resident + firms_resident == (1 if moved_in <= today() else 0), "losers wrote nothing"


async def test_the_notifications_consumer_takes_an_individuals_move_in_and_still_welcomes_a_company(
    companies: Running, notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    """A person's stay emits person.status_changed and residency events with holder people/N; the notifications
    worker, which expects companies, passes over them (nothing dead-lettered) and a company that moves in after
    the individual still gets its welcome."""
    c, api = companies, stub(companies)
    desk, office = await space(c, "D-01", DESK, 8), await space(c, "601")
    person = await individual(c, "김서연")
    await api.AssignSpace(hold(desk.name, person, today()), metadata=ADMIN)
    firm, founder = await company_with_founder(c, "메디비전", "seoyeon@medivision.kr")
    await recipient(notifications, founder.name)
    await move(c, firm, "SELECTED")
    await api.AssignSpace(hold(office.name, firm.name, today()), metadata=ADMIN)

    async def welcomed() -> bool:
        return any("입주를 환영합니다" in str(m["Subject"]) for m in mail_to(mail_sink, "seoyeon@medivision.kr"))

    await eventually(welcomed, timeout=20)
    async with notifications.runtime.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(dead_letters))).scalar_one() == 0


async def test_the_migration_makes_the_individuals_already_selected_selected(database_url: str) -> None:
    """0012 on a database with individuals: the one selected in a round is SELECTED, the one only applying stays
    an applicant (""), a founder has no lifecycle."""
    await migrate.upgrade(MIGRATIONS, database_url)  # a new database is made at the head: back to 0011
    await migrate.downgrade(MIGRATIONS, database_url, "0011")
    engine = create_async_engine(database_url)
    person = (
        "INSERT INTO people (id, korean_name, english_name, role, title, email, phone, search_text, created_at,"
        " updated_at, version) VALUES (:id, :name, '', :role, '', '', '', :search, CURRENT_TIMESTAMP,"
        " CURRENT_TIMESTAMP, 1)"
    )
    application = (
        "INSERT INTO applications (id, round_id, applicant, seat_kind, answers, attachment_urls, state,"
        " decision_reason, created_at, version) VALUES (:id, 1, :applicant, :kind, '[]', '[]', :state, '',"
        " CURRENT_TIMESTAMP, 1)"
    )
    async with engine.begin() as conn:
        for n, (name, role) in enumerate(
            (("김서연", "INDIVIDUAL"), ("이도윤", "INDIVIDUAL"), ("최민준", "INDIVIDUAL")), 1
        ):
            await conn.execute(sa.text(person), {"id": n, "name": name, "role": role, "search": name})
        await conn.execute(
            sa.text(
                "INSERT INTO rounds (id, title, open_date, close_date, seats, criteria, questions, created_at)"
                " VALUES (1, '2025 모집', '2025-01-01', '2025-01-31', '{}', '[]', '[]', CURRENT_TIMESTAMP)"
            )
        )
        for n, (applicant, state) in enumerate((("people/1", "SELECTED"), ("people/2", "SUBMITTED")), 1):
            await conn.execute(
                sa.text(application), {"id": n, "applicant": applicant, "kind": "INDIVIDUAL", "state": state}
            )
    await migrate.upgrade(MIGRATIONS, database_url)
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.text("SELECT id, status FROM people ORDER BY id"))).all()
        found: dict[int, str] = {int(r[0]): str(r[1]) for r in rows}
    await engine.dispose()
    assert found == {1: "SELECTED", 2: "", 3: ""}


async def test_an_individuals_export_holds_its_stays(companies: Running) -> None:
    c, api = companies, stub(companies)
    desk = await space(c, "D-01", DESK, 8)
    person = await individual(c, "김서연")
    held = await api.AssignSpace(hold(desk.name, person, today()), metadata=ADMIN)
    exported = text_of(await export(c.channel, person))
    assert '"assignments"' in exported and held.name.split("/")[1] in exported, exported
