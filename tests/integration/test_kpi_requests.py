"""KPI requests end to end, with real founder tokens (signed with the test key, scope companies/N): a program
manager schedules them; founder A sees only company A's requests and answers by reporting the period; a program
manager answers for a company only with a reason, recorded who for whom; the reminder mail goes through the real
SMTP server once, however often its event is delivered; the on-time completion rate on a crafted set. On SQLite
and PostgreSQL (HUB_TEST_DATABASE_URL), over real NATS."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, timedelta
from email.message import EmailMessage

import grpc
import nats
import pytest
import sqlalchemy as sa
from hub.companies.v1 import kpi_requests_pb2 as kpb
from hub.companies.v1 import program_pb2 as pb
from hub.companies.v1 import program_pb2_grpc
from hub.events.v1 import envelope_pb2
from hub.notifications.v1 import notifications_pb2 as npb
from nats.js import JetStreamContext

from hubcore.convert import seoul_today
from hubcore.db import outbox, uuid7
from hubcore.server import FOUNDER
from hublocal.mailsink import MailSink
from hublocal.natsserver import NatsServer
from services.companies.program import usecases
from services.notifications import rules
from tests.conftest import ADMIN, Running, RunningNotifications, eventually, row_counts
from tests.integration.test_authorization import scoped
from tests.integration.test_notifications import company_with_founder, move
from tests.integration.test_sign_in import failure

MONTH = kpb.KPI_CADENCE_MONTHLY
Metadata = tuple[tuple[str, str], ...]
INVALID = grpc.StatusCode.INVALID_ARGUMENT


def this_month() -> str:
    return seoul_today().strftime("%Y-%m")


def program(companies: Running) -> program_pb2_grpc.ProgramServiceStub:
    return program_pb2_grpc.ProgramServiceStub(companies.channel)


async def resident(companies: Running, korean: str, email: str) -> str:
    company, _ = await company_with_founder(companies, korean, email)
    await move(companies, company, "SELECTED", "RESIDENT")
    return company.name


async def schedule(
    companies: Running, *names: str, figures: tuple[kpb.KpiFigure.ValueType, ...] = ()
) -> kpb.KpiSchedule:
    wanted = kpb.KpiSchedule(cadence=MONTH, companies=list(names), figures=list(figures), due_days=10)
    return await program(companies).CreateKpiSchedule(kpb.CreateKpiScheduleRequest(schedule=wanted), metadata=ADMIN)


async def requests_of(
    companies: Running, parent: str, metadata: Metadata = ADMIN, filter: str = ""
) -> list[kpb.KpiRequest]:
    request = kpb.ListKpiRequestsRequest(parent=parent, filter=filter)
    return list((await program(companies).ListKpiRequests(request, metadata=metadata)).requests)


async def kpi_rows(companies: Running) -> dict[str, int]:
    """The rows a refused call must not change: the KPI tables and the outbox (the consumers' own tables move
    on their own as events arrive)."""
    counts = await row_counts(companies.runtime.db)
    return {t: counts[t] for t in ("kpi_schedules", "kpi_requests", "kpi_reports", "outbox")}


def kpi(company: str, period: str, headcount: int = 7) -> pb.KpiReport:
    return pb.KpiReport(company=company, period=period, headcount=headcount)


async def test_founders_see_their_own_requests_and_answer_them_a_manager_only_with_a_reason(
    companies: Running,
) -> None:
    a = await resident(companies, "메디비전", "kim@medi.kr")
    b = await resident(companies, "누리로보틱스", "lee@nuri.kr")
    made = await schedule(companies, figures=(kpb.KPI_FIGURE_HEADCOUNT, kpb.KPI_FIGURE_REVENUE))
    assert list(made.companies) == [] and made.due_days == 10 and made.actor.startswith("admin:")
    founder_a, founder_b = scoped(FOUNDER, a), scoped(FOUNDER, b)

    [mine] = await requests_of(companies, a, founder_a)
    assert (mine.company, mine.period, mine.state, mine.overdue) == (a, this_month(), kpb.KPI_REQUEST_STATE_OPEN, False)
    assert list(mine.figures) == [kpb.KPI_FIGURE_HEADCOUNT, kpb.KPI_FIGURE_REVENUE] and mine.schedule == made.name
    assert [r.company for r in await requests_of(companies, b, founder_b)] == [b]
    # Another company's requests, or every company's, are not founder A's to read.
    for parent in (b, ""):
        code, _ = await failure(
            program(companies).ListKpiRequests(kpb.ListKpiRequestsRequest(parent=parent), metadata=founder_a)
        )
        assert code == grpc.StatusCode.PERMISSION_DENIED
    assert {r.company for r in await requests_of(companies, "")} == {a, b}

    # Founder A answers by reporting the month (no reason asked of a founder); the request closes, on time.
    report = await program(companies).ReportKpi(pb.ReportKpiRequest(report=kpi(a, this_month())), metadata=founder_a)
    assert report.actor.startswith("founder:") and report.reason == ""
    [answered] = await requests_of(companies, a, founder_a)
    assert answered.state == kpb.KPI_REQUEST_STATE_ANSWERED and answered.on_time and answered.report == report.name
    assert answered.answered_by == report.actor and answered.reason == ""
    assert await requests_of(companies, a, founder_a, "state=OPEN") == []

    # A program manager reporting for company B must say why; refused, it changes nothing.
    before = await kpi_rows(companies)
    code, message = await failure(
        program(companies).ReportKpi(pb.ReportKpiRequest(report=kpi(b, this_month())), metadata=ADMIN)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "reason" in message
    assert await kpi_rows(companies) == before
    why = "창업자 해외 출장 중, 메일로 받은 수치 대리 입력"
    filed = await program(companies).ReportKpi(
        pb.ReportKpiRequest(report=kpi(b, this_month()), reason=why), metadata=ADMIN
    )
    assert filed.actor.startswith("admin:") and filed.reason == why
    [for_b] = await requests_of(companies, b, founder_b)
    assert for_b.state == kpb.KPI_REQUEST_STATE_ANSWERED and (for_b.answered_by, for_b.reason) == (filed.actor, why)
    # A correction is a new report version; the request keeps its first answer.
    await program(companies).ReportKpi(pb.ReportKpiRequest(report=kpi(b, this_month(), 9), reason=why), metadata=ADMIN)
    assert (await requests_of(companies, b, founder_b))[0].report == filed.name

    stats = await program(companies).GetKpiRequestStats(kpb.GetKpiRequestStatsRequest(), metadata=ADMIN)
    assert [(p.period, p.requested, p.answered_on_time, p.on_time_rate) for p in stats.periods] == [
        (this_month(), 2, 2, 1.0)
    ]
    # The clock opens nothing twice; a second schedule for the same companies and month asks nobody again.
    assert await usecases.open_due_requests(companies.runtime.db) == 0
    await schedule(companies, a)
    assert len(await requests_of(companies, "")) == 2


async def test_scheduling_refuses_what_is_not_a_resident_and_bad_input(companies: Running) -> None:
    a = await resident(companies, "메디비전", "kim@medi.kr")
    applicant, _ = await company_with_founder(companies, "지원기업", "ceo@apply.kr")
    before = await kpi_rows(companies)
    cases = [
        (kpb.KpiSchedule(cadence=MONTH, companies=[applicant.name]), grpc.StatusCode.FAILED_PRECONDITION, "RESIDENT"),
        (kpb.KpiSchedule(cadence=MONTH, companies=["companies/999"]), grpc.StatusCode.NOT_FOUND, "companies/999"),
        (
            kpb.KpiSchedule(cadence=MONTH, companies=["firms/1"]),
            grpc.StatusCode.INVALID_ARGUMENT,
            "schedule.companies[0]",
        ),
        (kpb.KpiSchedule(companies=[a]), grpc.StatusCode.INVALID_ARGUMENT, "schedule.cadence"),
        (kpb.KpiSchedule(cadence=MONTH, due_days=91), grpc.StatusCode.INVALID_ARGUMENT, "schedule.due_days"),
        (kpb.KpiSchedule(cadence=MONTH, figures=[kpb.KPI_FIGURE_UNSPECIFIED]), INVALID, "schedule.figures[0]"),
    ]
    for wanted, code, said in cases:
        got = await failure(
            program(companies).CreateKpiSchedule(kpb.CreateKpiScheduleRequest(schedule=wanted), metadata=ADMIN)
        )
        assert got[0] == code and said in got[1], (wanted, got)
    bad_filter = await failure(
        program(companies).ListKpiRequests(kpb.ListKpiRequestsRequest(filter="state=LOST"), metadata=ADMIN)
    )
    assert bad_filter[0] == grpc.StatusCode.INVALID_ARGUMENT
    assert await kpi_rows(companies) == before


async def test_completion_rate_on_a_crafted_set(companies: Running) -> None:
    """Two residents asked for a past month (due long ago) and for this month: A answers both (the past one
    late), B neither. Per period and overall: answered on time over requested."""
    a = await resident(companies, "메디비전", "kim@medi.kr")
    b = await resident(companies, "누리로보틱스", "lee@nuri.kr")
    await schedule(companies)  # this month's, at once
    past = date(2025, 11, 14)
    assert await usecases.open_due_requests(companies.runtime.db, past) == 2  # as the clock did then
    assert await usecases.open_due_requests(companies.runtime.db, past) == 0
    founder_a = scoped(FOUNDER, a)
    for period in ("2025-11", this_month()):
        await program(companies).ReportKpi(pb.ReportKpiRequest(report=kpi(a, period)), metadata=founder_a)

    stats = await program(companies).GetKpiRequestStats(kpb.GetKpiRequestStatsRequest(), metadata=ADMIN)
    figures = [
        (p.period, p.requested, p.answered, p.answered_on_time, p.on_time_rate, p.overdue) for p in stats.periods
    ]
    assert figures == [(this_month(), 2, 1, 1, 0.5, 0), ("2025-11", 2, 1, 0, 0.0, 1)]
    o = stats.overall
    assert (o.requested, o.answered, o.answered_on_time, o.on_time_rate, o.overdue) == (4, 2, 1, 0.25, 1)
    [late] = await requests_of(companies, b, filter="state=OVERDUE")
    assert (late.period, late.due_date.month, late.due_date.day, late.overdue) == ("2025-11", 12, 10, True)
    [answered_late] = await requests_of(companies, a, filter="period=2025-11")
    assert answered_late.state == kpb.KPI_REQUEST_STATE_ANSWERED and not answered_late.on_time


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_server.url)
    yield nc.jetstream()
    await nc.close()


async def follow_ups(notifications: RunningNotifications, filter: str) -> list[npb.FollowUp]:
    listed = await notifications.api.ListFollowUps(npb.ListFollowUpsRequest(filter=filter), metadata=ADMIN)
    return list(listed.follow_ups)


def kpi_mail(sink: MailSink) -> list[EmailMessage]:
    return [m for m in sink.messages if "KPI" in str(m["Subject"])]


async def test_the_reminder_mail_goes_once_and_an_answer_cancels_the_overdue_nudge(
    companies: Running, notifications: RunningNotifications, mail_sink: MailSink, js: JetStreamContext
) -> None:
    a = await resident(companies, "메디비전", "kim@medi.kr")
    await schedule(companies, a, figures=(kpb.KPI_FIGURE_HEADCOUNT, kpb.KPI_FIGURE_REVENUE))
    [request] = await requests_of(companies, a)

    async def planned() -> list[npb.FollowUp]:
        found = await follow_ups(notifications, f"entity={request.name}")
        return found if len(found) == 2 else []

    plans = {f.rule: f for f in await eventually(planned, timeout=20)}
    due = date(request.due_date.year, request.due_date.month, request.due_date.day)
    reminder = plans[rules.KPI_REQUEST_REMINDER]
    assert reminder.due_time.ToDatetime(tzinfo=UTC) == rules.morning_of(due - timedelta(days=3))
    assert plans[rules.KPI_REQUEST_OVERDUE].due_time.ToDatetime(tzinfo=UTC) == rules.morning_of(due + timedelta(days=1))

    notifications.clock.move_to(reminder.due_time.ToDatetime(tzinfo=UTC) + timedelta(seconds=1))
    [mail] = await eventually(lambda: _kpi_mail(mail_sink), timeout=20)
    assert str(mail["To"]).endswith("<kim@medi.kr>")
    assert f"{this_month()} KPI 제출 기한" in str(mail["Subject"])
    assert "요청 항목: 인원, 매출" in mail.get_body(("plain",)).get_content()

    # The opening event delivered again (a copy JetStream keeps, and a new envelope of the same change).
    async with companies.runtime.db.read() as conn:
        opening = sa.select(outbox.c.data).where(outbox.c.subject == "hub.companies.kpi_request.opened")
        data = (await conn.execute(opening)).scalar_one()
    opened = envelope_pb2.Envelope.FromString(data)
    await js.publish(opened.type, data, headers={"Nats-Msg-Id": f"{opened.id}-again"})
    fresh = envelope_pb2.Envelope()
    fresh.CopyFrom(opened)
    fresh.id = uuid7()
    await js.publish(fresh.type, fresh.SerializeToString(), headers={"Nats-Msg-Id": fresh.id})
    await eventually(lambda: _consumer_drained(js), timeout=20)
    await _scheduler_idle(notifications)
    assert len(kpi_mail(mail_sink)) == 1
    [sent] = await follow_ups(notifications, f"entity={request.name} AND rule={rules.KPI_REQUEST_REMINDER}")
    assert sent.state == npb.FOLLOW_UP_STATE_DISPATCHED

    # The founder answers: the overdue nudge is cancelled and never sent.
    await program(companies).ReportKpi(pb.ReportKpiRequest(report=kpi(a, this_month())), metadata=scoped(FOUNDER, a))

    async def nudge_cancelled() -> bool:
        found = await follow_ups(notifications, f"entity={request.name} AND rule={rules.KPI_REQUEST_OVERDUE}")
        return bool(found) and found[0].state == npb.FOLLOW_UP_STATE_CANCELLED

    await eventually(nudge_cancelled, timeout=20)
    notifications.clock.move_to(plans[rules.KPI_REQUEST_OVERDUE].due_time.ToDatetime(tzinfo=UTC) + timedelta(hours=1))
    await _scheduler_idle(notifications)
    assert len(kpi_mail(mail_sink)) == 1


async def _kpi_mail(sink: MailSink) -> list[EmailMessage]:
    return kpi_mail(sink)


async def _consumer_drained(js: JetStreamContext) -> bool:
    info = await js.consumer_info("HUB", "notifications")
    return info.num_pending == 0 and info.num_ack_pending == 0


async def _scheduler_idle(notifications: RunningNotifications) -> None:
    """Many of the scheduler's polls (every 0.05 s), so that anything due would have gone out."""
    await asyncio.sleep(1.0)
