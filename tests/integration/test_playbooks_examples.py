"""The other four seeded example playbooks end to end on real services, each switched on as a program manager
would: no session in 60 days (the clock), an introduction unanswered for 14 days (the clock), a session rated 1
(an event) and a KPI request overdue 7 days (the clock). Each fires once for its subject, its notices reach the
notifications worker as follow-ups of rule playbook.notice, and the clock's next turn fires nothing more."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hub.companies.v1 import kpi_requests_pb2 as kpb
from hub.companies.v1 import program_pb2_grpc
from hub.consulting.v1 import consulting_pb2 as spb
from hub.investors.v1 import investors_pb2 as ipb
from hub.notifications.v1 import notifications_pb2 as npb
from hub.playbooks.v1 import playbooks_pb2 as pb

from hubcore.db import now
from services.playbooks import domain
from tests.conftest import (
    ADMIN,
    Running,
    RunningConsulting,
    RunningInvestors,
    RunningNotifications,
    RunningPlaybooks,
    eventually,
)
from tests.integration.consulting_world import earlier_today, make_mentor, make_type, schedule_request
from tests.integration.test_investors_api import create_firm
from tests.integration.test_playbooks_api import seeded
from tests.integration.test_playbooks_runway import done, hub_company


async def switch_on(playbooks: RunningPlaybooks, kind: int) -> pb.Playbook:
    example = next(p for p in await seeded(playbooks) if p.trigger.kind == kind)
    return await playbooks.api.EnablePlaybook(pb.EnablePlaybookRequest(name=example.name), metadata=ADMIN)


async def notices(notifications: RunningNotifications, firing: str, count: int) -> list[npb.FollowUp]:
    async def planned() -> list[npb.FollowUp]:
        found = await notifications.api.ListFollowUps(
            npb.ListFollowUpsRequest(filter=f"rule=playbook.notice AND entity={firing}"), metadata=ADMIN
        )
        return list(found.follow_ups) if len(found.follow_ups) == count else []

    return sorted(await eventually(planned, timeout=20), key=lambda f: f.occasion)


async def audience(notifications: RunningNotifications, follow_up: npb.FollowUp) -> list[str]:
    """Whom the follow-up goes to, as the notifications worker keeps it."""
    import json

    import sqlalchemy as sa

    from services.notifications.tables import follow_ups

    async with notifications.runtime.db.read() as conn:
        number = int(follow_up.name.split("/")[1])
        kept = (await conn.execute(sa.select(follow_ups.c.audience).where(follow_ups.c.id == number))).scalar_one()
    return list(json.loads(kept))


async def later(playbooks: RunningPlaybooks, moment: datetime) -> int:
    """The clock moved to a moment, and the clock's rules run once."""
    playbooks.clock.move_to(moment)
    made: int = await playbooks.handlers.tick(playbooks.runtime.db)
    return made


async def facts_heard(playbooks: RunningPlaybooks, kind: str, state: str = "") -> None:
    from sqlalchemy import select

    from services.playbooks.tables import facts

    async def heard() -> bool:
        async with playbooks.runtime.db.read() as conn:
            rows = (await conn.execute(select(facts.c.data).where(facts.c.kind == kind))).scalars().all()
        return any(state in row for row in rows)

    await eventually(heard, timeout=20)


async def test_no_session_in_60_days_nudges_the_company_once(
    companies: Running, consulting: RunningConsulting, investors: RunningInvestors,
    notifications: RunningNotifications, playbooks: RunningPlaybooks,
) -> None:  # fmt: skip
    company = await hub_company(companies, consulting, investors)
    rule = await switch_on(playbooks, pb.TRIGGER_KIND_NO_SESSION)
    await facts_heard(playbooks, domain.COMPANY_FACT, "RESIDENT")
    assert await later(playbooks, now() + timedelta(days=59)) == 0
    assert await later(playbooks, now() + timedelta(days=61)) == 1
    [fired] = await done(playbooks, rule, 1)
    assert fired.subject == company and fired.actions[0].outcome == "COMPANY told"
    [notice] = await notices(notifications, fired.name, 1)
    assert notice.company == company and await audience(notifications, notice) == [f"company:{company}"]
    assert await later(playbooks, now() + timedelta(days=90)) == 0  # the same episode


async def test_an_introduction_unanswered_for_14_days_chases_the_partner_once(
    companies: Running, consulting: RunningConsulting, investors: RunningInvestors,
    notifications: RunningNotifications, playbooks: RunningPlaybooks,
) -> None:  # fmt: skip
    company = await hub_company(companies, consulting, investors)
    firm = await create_firm(investors)
    intro = await investors.investors.CreateIntroduction(
        ipb.CreateIntroductionRequest(introduction=ipb.Introduction(company=company, firm=firm.name, note="시드")),
        metadata=ADMIN,
    )
    rule = await switch_on(playbooks, pb.TRIGGER_KIND_INTRODUCTION_UNANSWERED)
    await investors.investors.AnswerIntroduction(
        ipb.AnswerIntroductionRequest(name=intro.name, consent=True, reason="창업자 구두 동의"), metadata=ADMIN
    )
    await facts_heard(playbooks, domain.INTRODUCTION, "COMPANY_CONSENTED")
    assert await later(playbooks, now() + timedelta(days=13)) == 0
    assert await later(playbooks, now() + timedelta(days=15)) == 1
    [fired] = await done(playbooks, rule, 1)
    assert (fired.subject, fired.company) == (intro.name, company)
    assert fired.actions[0].kind == pb.ACTION_KIND_CHASE_PARTNER and fired.actions[0].outcome == "PARTNER told"
    [notice] = await notices(notifications, fired.name, 1)
    assert await audience(notifications, notice) == [
        "managers"
    ]  # the introduction names no partner: the program managers chase
    assert await later(playbooks, now() + timedelta(days=30)) == 0


async def test_a_session_rated_1_goes_to_the_program_managers_once(
    companies: Running, consulting: RunningConsulting, investors: RunningInvestors,
    notifications: RunningNotifications, playbooks: RunningPlaybooks,
) -> None:  # fmt: skip
    company = await hub_company(companies, consulting, investors)
    rule = await switch_on(playbooks, pb.TRIGGER_KIND_SESSION_RATED_LOW)
    mentor, kind = await make_mentor(consulting), await make_type(consulting)
    held = await consulting.consulting.ScheduleSession(
        schedule_request(company, mentor, kind, earlier_today()), metadata=ADMIN
    )
    await consulting.consulting.CompleteSession(spb.CompleteSessionRequest(name=held.name, notes="논의"),
                                                metadata=ADMIN)  # fmt: skip
    await consulting.consulting.RecordSessionFeedback(
        spb.RecordSessionFeedbackRequest(name=held.name, rating=1, fit=spb.SESSION_FIT_STILL_DECIDING,
                                         reason="창업자 전화 피드백", request_id="fb-1"),
        metadata=ADMIN,
    )  # fmt: skip
    [fired] = await done(playbooks, rule, 1)
    assert (fired.subject, fired.company, fired.facts[0].values["rating"]) == (held.name, company, "1")
    [notice] = await notices(notifications, fired.name, 1)
    assert await audience(notifications, notice) == ["managers"]


async def test_a_kpi_request_overdue_7_days_gets_a_second_reminder_then_the_program_managers(
    companies: Running, consulting: RunningConsulting, investors: RunningInvestors,
    notifications: RunningNotifications, playbooks: RunningPlaybooks,
) -> None:  # fmt: skip
    company = await hub_company(companies, consulting, investors)
    rule = await switch_on(playbooks, pb.TRIGGER_KIND_KPI_REQUEST_OVERDUE)
    program: Any = program_pb2_grpc.ProgramServiceStub(companies.channel)
    wanted = kpb.KpiSchedule(cadence=kpb.KPI_CADENCE_MONTHLY, companies=[company], due_days=10)
    await program.CreateKpiSchedule(kpb.CreateKpiScheduleRequest(schedule=wanted), metadata=ADMIN)
    [request] = (await program.ListKpiRequests(kpb.ListKpiRequestsRequest(parent=company), metadata=ADMIN)).requests
    await facts_heard(playbooks, domain.KPI_REQUEST, "OPEN")
    due = request.due_date
    overdue = domain.overdue_from(datetime(due.year, due.month, due.day).date(), 7)
    assert await later(playbooks, overdue - timedelta(minutes=1)) == 0
    assert await later(playbooks, overdue + timedelta(minutes=1)) == 1
    [fired] = await done(playbooks, rule, 1)
    assert fired.subject == request.name
    assert [a.kind for a in fired.actions] == [pb.ACTION_KIND_SECOND_REMINDER, pb.ACTION_KIND_NOTIFY]
    reminder, note = await notices(notifications, fired.name, 2)
    assert await audience(notifications, reminder) == [f"company:{company}"]
    assert await audience(notifications, note) == ["managers"]
    assert await later(playbooks, overdue + timedelta(days=3)) == 0
