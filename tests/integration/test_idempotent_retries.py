"""Concurrent retries of one request (issue 12): every method that is idempotent on request_id answers ten
identical calls in flight at once with the first call's response, changes what one call changes (one
resource, one event), and refuses the same request_id with a different request (INVALID_ARGUMENT). The same
holds when the duplicates go to two replicas of the service on one database. The requests are chosen so that
a duplicate that ran its work again would trip over the first one's own effects (its booking, its label, its
application, the last seat, the quota), which is how these broke. The list of methods is checked against
the services' source, so a new idempotent method without a case here fails the suite."""

from __future__ import annotations

import ast
import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message
from google.type import money_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import kpi_requests_pb2 as kpb
from hub.companies.v1 import program_pb2 as ppb
from hub.consulting.v1 import consulting_pb2 as spb
from hub.investors.v1 import investors_pb2 as ipb
from hub.investors.v1 import partner_dealflow_pb2 as dpb
from hub.investors.v1 import partner_pb2 as rpb
from hub.investors.v1 import partner_webhooks_pb2 as wpb
from hub.playbooks.v1 import playbooks_pb2 as bpb

from hubcore.convert import seoul_today as today
from hublocal.natsserver import NatsServer
from tests.conftest import (
    ADMIN,
    investors_settings,
    make_settings,
    playbooks_config,
    row_counts,
    start_companies,
    start_consulting,
    start_investors,
    start_playbooks,
)
from tests.integration.consulting_world import (
    earlier_today,
    future_monday,
    interval,
    know_company,
    make_mentor,
    make_room,
    make_type,
    minutes,
    schedule_request,
    week,
)
from tests.integration.test_gpu_bookings import book_request, make_node, month_start, wait_request
from tests.integration.test_gpu_bookings import set_quota as set_gpu_quota
from tests.integration.test_investors_api import add_company, create_firm, won
from tests.integration.test_mentors_self_service import signed
from tests.integration.test_partner_api import bearer, issue_key, walk
from tests.integration.test_playbooks_api import notify_rule, seeded
from tests.integration.test_program_api import CRITERIA, OFFICE, bad_fields, company, day, refused, space, stub

SERVICES = Path(__file__).resolve().parents[2] / "services"
DUPLICATES = 10
# Rows that are not the call's own doing: a consumer's projection of the events (written whenever it gets to
# them), the partner API's audit log (a row per call, duplicates included, by design) and the companies' access
# log (a row per answer that showed the company, a replayed answer included: it showed it again).
NOT_THE_CALLS = {"processed_events", "stats_companies", "partner_calls", "company_reads"}


@dataclass
class Prepared:
    """A valid request with its request_id, the same request_id with a different request, and how to send
    either to one replica."""

    send: Callable[[Any, Message], Awaitable[Message]]
    request: Message
    other: Message


Prepare = Callable[[Any, int], Awaitable[Prepared]]  # (the first replica, n): prerequisites unique to n
CASES: dict[str, Prepare] = {}


def case(key: str) -> Callable[[Prepare], Prepare]:
    """Registers the case of an idempotent method, keyed "service.Method" (CreateRound is in two services)."""

    def register(prepare: Prepare) -> Prepare:
        CASES[key] = prepare
        return prepare

    return register


def changed(request: Message, edit: Callable[[Any], None]) -> Message:
    other = type(request)()
    other.CopyFrom(request)
    edit(other)
    return other


# Companies


@case("companies.CreateCompany")
async def _create_company(c: Any, n: int) -> Prepared:
    request = cpb.CreateCompanyRequest(
        company=cpb.Company(korean_name=f"메디비전{n}", sector=cpb.SECTOR_MEDICAL), request_id=f"company-{n}"
    )
    return Prepared(
        lambda r, q: r.companies.CreateCompany(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.company, "korean_name", "닥터노트")),
    )


async def _person(c: Any, n: int) -> cpb.Person:
    return await c.companies.CreatePerson(
        cpb.CreatePersonRequest(person=_founder(await company(c, f"메디비전{n}"), n)), metadata=ADMIN
    )


def _founder(firm: str, n: int) -> cpb.Person:
    return cpb.Person(
        korean_name="김서연", english_name="Seoyeon Kim", email=f"seoyeon{n}@example.kr", company=firm,
        role=cpb.PERSON_ROLE_FOUNDER, title="대표이사",
    )  # fmt: skip


@case("companies.CreatePerson")
async def _create_person(c: Any, n: int) -> Prepared:
    request = cpb.CreatePersonRequest(person=_founder(await company(c, f"메디비전{n}"), n), request_id=f"person-{n}")
    return Prepared(
        lambda r, q: r.companies.CreatePerson(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.person, "title", "CTO")),
    )


@case("companies.ErasePerson")
async def _erase_person(c: Any, n: int) -> Prepared:
    person = await _person(c, n)
    request = cpb.ErasePersonRequest(name=person.name, reason="정보주체 삭제 요청 2026-041", request_id=f"erase-{n}")
    return Prepared(
        lambda r, q: r.companies.ErasePerson(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q, "reason", "다른 요청")),
    )


@case("companies.EraseCompany")
async def _erase_company(c: Any, n: int) -> Prepared:
    firm = await company(c, f"메디비전{n}")
    request = cpb.EraseCompanyRequest(name=firm, reason="정보주체 삭제 요청 2026-042", request_id=f"erase-{n}")
    return Prepared(
        lambda r, q: r.companies.EraseCompany(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q, "reason", "다른 요청")),
    )


@case("companies.CreateRound")
async def _create_program_round(c: Any, n: int) -> Prepared:
    request = ppb.CreateRoundRequest(round=_round(), request_id=f"round-{n}")
    return Prepared(
        lambda r, q: stub(r).CreateRound(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.round, "title", "2026 하반기 입주기업 모집")),
    )


def _round(desks: int = 2) -> ppb.Round:
    return ppb.Round(
        title="2026 상반기 입주기업 모집", open_date=day(today() - timedelta(days=7)),
        close_date=day(today() + timedelta(days=7)), criteria=CRITERIA, questions=["핵심 기술은?"],
        seats=[ppb.Round.Seats(kind=ppb.SEAT_KIND_OPEN_DESK, count=desks)],
    )  # fmt: skip


@case("companies.CreateApplication")
async def _create_application(c: Any, n: int) -> Prepared:
    r = await stub(c).CreateRound(ppb.CreateRoundRequest(round=_round()), metadata=ADMIN)
    application = ppb.Application(
        round=r.name, applicant=await company(c, f"메디비전{n}"), seat_kind=ppb.SEAT_KIND_OPEN_DESK,
        answers=[ppb.Application.Answer(question="핵심 기술은?", text="의료영상 분할")],
    )  # fmt: skip
    request = ppb.CreateApplicationRequest(application=application, request_id=f"application-{n}")
    return Prepared(
        lambda r, q: stub(r).CreateApplication(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.application.answers[0], "text", "음성 인식")),
    )


@case("companies.CreateSpace")
async def _create_space(c: Any, n: int) -> Prepared:
    request = ppb.CreateSpaceRequest(
        space=ppb.Space(kind=OFFICE, label=f"60{n}", floor=6, seats=4), request_id=f"space-{n}"
    )
    return Prepared(
        lambda r, q: stub(r).CreateSpace(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.space, "seats", 6)),
    )


@case("companies.AssignSpace")
async def _assign_space(c: Any, n: int) -> Prepared:
    office, firm = await space(c, f"70{n}"), await company(c, f"메디비전{n}", "SELECTED")
    assignment = ppb.Assignment(space=office.name, company=firm, move_in_date=day(today()))
    request = ppb.AssignSpaceRequest(assignment=assignment, request_id=f"assign-{n}")
    return Prepared(
        lambda r, q: stub(r).AssignSpace(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: q.assignment.move_out_date.CopyFrom(day(today() + timedelta(days=90)))),
    )


@case("companies.ReportKpi")
async def _report_kpi(c: Any, n: int) -> Prepared:
    firm = await company(c, f"메디비전{n}", "SELECTED")
    report = ppb.KpiReport(
        company=firm, period="2026-Q1", headcount=8, revenue=money_pb2.Money(currency_code="KRW", units=120_000_000),
        customers=3,
    )  # fmt: skip
    request = ppb.ReportKpiRequest(reason="창업자 대신 입력", report=report, request_id=f"kpi-{n}")
    return Prepared(
        lambda r, q: stub(r).ReportKpi(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.report, "headcount", 9)),
    )


@case("companies.RecordSupport")
async def _record_support(c: Any, n: int) -> Prepared:
    firm = await company(c, f"메디비전{n}", "SELECTED")
    quota = ppb.SupportQuota(company=firm, kind=ppb.SUPPORT_KIND_GPU_HOURS, quota=3)
    await stub(c).SetSupportQuota(ppb.SetSupportQuotaRequest(quota=quota), metadata=ADMIN)
    grant = ppb.SupportGrant(company=firm, kind=ppb.SUPPORT_KIND_GPU_HOURS, amount=3)  # all of the quota
    request = ppb.RecordSupportRequest(grant=grant, request_id=f"support-{n}")
    return Prepared(
        lambda r, q: stub(r).RecordSupport(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.grant, "amount", 2)),
    )


@case("companies.CreateSavedView")
async def _create_saved_view(c: Any, n: int) -> Prepared:
    view = cpb.SavedView(list="companies", title=f"입주 AI 헬스케어 {n}", query="status=RESIDENT&sector=MEDICAL")
    request = cpb.CreateSavedViewRequest(saved_view=view, request_id=f"saved-view-{n}")
    return Prepared(
        lambda r, q: r.companies.CreateSavedView(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.saved_view, "query", "stage=SEED")),
    )


@case("companies.CreateMilestone")
async def _create_milestone(c: Any, n: int) -> Prepared:
    firm = await company(c, f"메디비전{n}", "SELECTED")
    milestone = ppb.Milestone(
        company=firm, kind=ppb.MILESTONE_KIND_FIRST_CUSTOMER, achieve_date=day(today() - timedelta(days=30)),
        evidence_url="https://news.example.kr/1", evidence="서울대병원 계약",
    )  # fmt: skip
    request = ppb.CreateMilestoneRequest(milestone=milestone, request_id=f"milestone-{n}")
    return Prepared(
        lambda r, q: stub(r).CreateMilestone(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.milestone, "evidence", "삼성서울병원 계약")),
    )


@case("companies.CreateKpiSchedule")
async def _create_kpi_schedule(c: Any, n: int) -> Prepared:
    firm = await company(c, f"메디비전{n}", "SELECTED", "RESIDENT")
    schedule = kpb.KpiSchedule(cadence=kpb.KPI_CADENCE_MONTHLY, companies=[firm], due_days=10)
    request = kpb.CreateKpiScheduleRequest(schedule=schedule, request_id=f"kpi-schedule-{n}")
    return Prepared(
        lambda r, q: stub(r).CreateKpiSchedule(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.schedule, "due_days", 20)),
    )


@case("companies.CreateReviewer")
async def _create_reviewer(c: Any, n: int) -> Prepared:
    reviewer = ppb.Reviewer(korean_name="박지훈", email=f"jh.park{n}@kaist.ac.kr", affiliation="KAIST 전산학부")
    request = ppb.CreateReviewerRequest(reviewer=reviewer, request_id=f"reviewer-{n}")
    return Prepared(
        lambda r, q: stub(r).CreateReviewer(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.reviewer, "affiliation", "서울대 경영학과")),
    )


# Investors


@case("investors.CreateFirm")
async def _create_firm(i: Any, n: int) -> Prepared:
    request = ipb.CreateFirmRequest(
        firm=ipb.Firm(korean_name=f"한빛벤처스{n}", type=ipb.FIRM_TYPE_VC), request_id=f"firm-{n}"
    )
    return Prepared(
        lambda r, q: r.investors.CreateFirm(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.firm, "korean_name", "누리캐피탈")),
    )


@case("investors.CreatePartner")
async def _create_partner(i: Any, n: int) -> Prepared:
    firm = await create_firm(i, f"한빛벤처스{n}")
    request = ipb.CreatePartnerRequest(
        partner=ipb.Partner(firm=firm.name, korean_name="박민준"), request_id=f"partner-{n}"
    )
    return Prepared(
        lambda r, q: r.investors.CreatePartner(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.partner, "korean_name", "최유진")),
    )


@case("investors.CreateIntroduction")
async def _create_introduction(i: Any, n: int) -> Prepared:
    firm = await create_firm(i, f"한빛벤처스{n}")
    await add_company(i, 100 + n)
    intro = ipb.Introduction(company=f"companies/{100 + n}", firm=firm.name, note="시드 라운드 리드를 찾고 있습니다")
    request = ipb.CreateIntroductionRequest(introduction=intro, request_id=f"introduction-{n}")
    return Prepared(
        lambda r, q: r.investors.CreateIntroduction(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.introduction, "note", "다른 메모")),
    )


@case("investors.CreateRound")
async def _create_round(i: Any, n: int) -> Prepared:
    await add_company(i, 200 + n)
    funding = ipb.Round(company=f"companies/{200 + n}", round_type=ipb.ROUND_TYPE_SEED, amount=won(2_000_000_000))
    request = ipb.CreateRoundRequest(round=funding, request_id=f"round-{n}")
    return Prepared(
        lambda r, q: r.investors.CreateRound(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: q.round.amount.CopyFrom(won(3_000_000_000))),
    )


async def firm_with_key(i: Any, name: str) -> tuple[ipb.Firm, str]:
    """A firm with one partner and the partner's API key."""
    firm = await create_firm(i, name)
    partner = await i.investors.CreatePartner(
        ipb.CreatePartnerRequest(partner=ipb.Partner(firm=firm.name, korean_name="박민준")), metadata=ADMIN
    )
    return firm, (await issue_key(i, partner.name))[1]


@case("investors.ReportRound")
async def _report_round(i: Any, n: int) -> Prepared:
    firm, key = await firm_with_key(i, f"한빛벤처스{n}")
    await add_company(i, 300 + n)
    await walk(i, f"companies/{300 + n}", firm.name, [ipb.IntroductionState.INTRODUCTION_STATE_COMPANY_CONSENTED])
    funding = ipb.Round(company=f"companies/{300 + n}", round_type=ipb.ROUND_TYPE_SEED, amount=won(1_000_000_000))
    request = rpb.ReportRoundRequest(round=funding, request_id=f"report-{n}")
    return Prepared(
        lambda r, q: r.partner.ReportRound(q, metadata=bearer(key), timeout=60),
        request,
        changed(request, lambda q: q.round.amount.CopyFrom(won(1_500_000_000))),
    )


@case("investors.RequestIntroduction")
async def _request_introduction(i: Any, n: int) -> Prepared:
    firm, key = await firm_with_key(i, f"누리캐피탈{n}")
    await add_company(i, 400 + n)
    groups = [ipb.FIELD_GROUP_PROFILE, ipb.FIELD_GROUP_DEAL_FLOW]
    shown = ipb.SharingGrant(firm=firm.name, field_groups=groups)
    await i.investors.CreateSharingGrant(
        ipb.CreateSharingGrantRequest(parent=f"companies/{400 + n}", sharing_grant=shown, reason="창업자 요청"),
        metadata=ADMIN,
    )
    request = dpb.RequestIntroductionRequest(
        company=f"companies/{400 + n}", note="시드 리드를 검토합니다", request_id=f"ask-{n}"
    )
    return Prepared(
        lambda r, q: r.partner.RequestIntroduction(q, metadata=bearer(key), timeout=60),
        request,
        changed(request, lambda q: setattr(q, "note", "다른 메모")),
    )


@case("investors.CreateWebhookSubscription")
async def _create_webhook_subscription(i: Any, n: int) -> Prepared:
    hook = wpb.WebhookSubscription(url=f"https://hooks.example.kr/{n}", event_types=["round.reported"])
    request = wpb.CreateWebhookSubscriptionRequest(webhook_subscription=hook, request_id=f"webhook-{n}")
    return Prepared(
        lambda r, q: r.investors.CreateWebhookSubscription(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.webhook_subscription, "description", "다른 설명")),
    )


# Consulting


@case("consulting.CreateMentor")
async def _create_mentor(s: Any, n: int) -> Prepared:
    mentor = spb.Mentor(
        korean_name="김도현", kind=spb.MENTOR_KIND_FACULTY, affiliation="KAIST 전산학부", expertise=["vision"],
        weekly_availability=week(),
    )  # fmt: skip
    request = spb.CreateMentorRequest(mentor=mentor, request_id=f"mentor-{n}")
    return Prepared(
        lambda r, q: r.consulting.CreateMentor(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.mentor, "affiliation", "POSTECH")),
    )


@case("consulting.CreateAvailabilityException")
async def _create_exception(s: Any, n: int) -> Prepared:
    mentor, monday = await make_mentor(s), future_monday()
    away = spb.AvailabilityException(
        mentor=mentor.name, kind=spb.EXCEPTION_KIND_UNAVAILABLE, interval=interval(monday, monday + timedelta(hours=6)),
        reason="학회 출장",
    )  # fmt: skip
    request = spb.CreateAvailabilityExceptionRequest(availability_exception=away, request_id=f"away-{n}")
    return Prepared(
        lambda r, q: r.consulting.CreateAvailabilityException(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.availability_exception, "reason", "휴가")),
    )


@case("consulting.CreateRoom")
async def _create_room(s: Any, n: int) -> Prepared:
    request = spb.CreateRoomRequest(room=spb.Room(display_name=f"50{n}호 회의실", floor=5, capacity=8),
                                    request_id=f"room-{n}")  # fmt: skip
    return Prepared(
        lambda r, q: r.consulting.CreateRoom(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.room, "capacity", 10)),
    )


@case("consulting.CreateSessionType")
async def _create_session_type(s: Any, n: int) -> Prepared:
    kind = spb.SessionType(
        display_name="1:1 기술 자문", category=spb.SESSION_CATEGORY_TECHNICAL, default_duration=minutes(60)
    )
    request = spb.CreateSessionTypeRequest(session_type=kind, request_id=f"type-{n}")
    return Prepared(
        lambda r, q: r.consulting.CreateSessionType(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: q.session_type.default_duration.CopyFrom(minutes(90))),
    )


@case("consulting.ScheduleSession")
async def _schedule_session(s: Any, n: int) -> Prepared:
    mentor, kind, room = await make_mentor(s), await make_type(s), await make_room(s, f"50{n}호 회의실")
    firm = await know_company(s, 10 + n)
    request = schedule_request(firm, mentor, kind, future_monday(), room=room.name, request_id=f"session-{n}")
    return Prepared(
        lambda r, q: r.consulting.ScheduleSession(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.session, "agenda", "투자 유치 전략")),
    )


@case("consulting.CreateGpuNode")
async def _create_gpu_node(s: Any, n: int) -> Prepared:
    request = spb.CreateGpuNodeRequest(gpu_node=spb.GpuNode(display_name=f"A100 node {n}", kind="A100", gpus=8),
                                       request_id=f"gpu-node-{n}")  # fmt: skip
    return Prepared(
        lambda r, q: r.consulting.CreateGpuNode(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.gpu_node, "gpus", 4)),
    )


@case("consulting.BookGpu")
async def _book_gpu(s: Any, n: int) -> Prepared:
    node = await make_node(s, f"A100 node {n}")
    firm = await know_company(s, 50 + n)
    await set_gpu_quota(s, firm, 10)
    request = book_request(node, firm, month_start() + timedelta(hours=10), hours=2, tag=f"{n}")
    return Prepared(
        lambda r, q: r.consulting.BookGpu(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.gpu_booking, "purpose", "추론")),
    )


@case("consulting.JoinGpuWaitlist")
async def _join_gpu_waitlist(s: Any, n: int) -> Prepared:
    node = await make_node(s, f"A100 node {n}")
    holder, waiting = await know_company(s, 60 + n), await know_company(s, 70 + n)
    await set_gpu_quota(s, holder, 10)
    start = month_start() + timedelta(hours=10)
    await s.consulting.BookGpu(book_request(node, holder, start, hours=2, tag=f"w{n}"), metadata=ADMIN)
    request = wait_request(node, waiting, start)
    return Prepared(
        lambda r, q: r.consulting.JoinGpuWaitlist(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: q.entry.interval.end_time.FromSeconds(q.entry.interval.end_time.seconds + 3600)),
    )


@case("consulting.RecordSessionFeedback")
async def _record_feedback(s: Any, n: int) -> Prepared:
    mentor, kind = await make_mentor(s), await make_type(s)
    firm = await know_company(s, 30 + n)
    held = await s.consulting.ScheduleSession(schedule_request(firm, mentor, kind, earlier_today()), metadata=ADMIN)
    await s.consulting.CompleteSession(spb.CompleteSessionRequest(name=held.name), metadata=ADMIN)
    founder = signed("founder", firm)  # the founder themself, as the console sends it
    request = spb.RecordSessionFeedbackRequest(
        name=held.name, rating=3, fit=spb.SESSION_FIT_GOOD_FIT, comment="도움이 됐습니다", request_id=f"feedback-{n}"
    )
    return Prepared(
        lambda r, q: r.consulting.RecordSessionFeedback(q, metadata=founder, timeout=60),
        request,
        changed(request, lambda q: setattr(q, "rating", 4)),
    )


@case("consulting.CreateProgram")
async def _create_program(s: Any, n: int) -> Prepared:
    room, start = await make_room(s, f"세미나실 {n}", capacity=40), future_monday()
    program = spb.Program(
        display_name="AI 실무 교육 1기", kind=spb.PROGRAM_KIND_EDUCATION, capacity=20, room=room.name,
        interval=interval(start, start + timedelta(hours=3)),
    )  # fmt: skip
    request = spb.CreateProgramRequest(program=program, request_id=f"program-{n}")
    return Prepared(
        lambda r, q: r.consulting.CreateProgram(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.program, "capacity", 30)),
    )


@case("consulting.CreateRegistration")
async def _create_registration(s: Any, n: int) -> Prepared:
    start = future_monday()
    program = await s.consulting.CreateProgram(
        spb.CreateProgramRequest(
            program=spb.Program(
                display_name="AI 실무 교육 1기", kind=spb.PROGRAM_KIND_EDUCATION, capacity=1,  # one place
                interval=interval(start, start + timedelta(hours=3)),
            )
        ),
        metadata=ADMIN,
    )  # fmt: skip
    firm = await know_company(s, 20 + n)  # a registration names a company the hub knows
    registration = spb.Registration(program=program.name, participant_name="김서연", company=firm)
    request = spb.CreateRegistrationRequest(registration=registration, request_id=f"registration-{n}")
    return Prepared(
        lambda r, q: r.consulting.CreateRegistration(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.registration, "participant_name", "이준호")),
    )


# What the services' source says is idempotent


def idempotent_methods() -> set[str]:
    """ "service.Method" of every servicer method that calls Database.idempotent, directly or through a
    forwarder such as ProgramApi._once (a function whose key is one of its own parameters)."""
    found = set()
    for path in sorted(SERVICES.glob("*/**/*.py")):
        service = path.relative_to(SERVICES).parts[0]
        for function in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(function, ast.AsyncFunctionDef | ast.FunctionDef):
                continue
            parameters = {a.arg for a in function.args.args + function.args.kwonlyargs}
            for node in _own_nodes(function):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in ("idempotent", "_once", "create_once")
                    and node.args
                ):
                    continue
                key = node.args[0]
                if isinstance(key, ast.Name) and key.id in parameters:
                    continue  # a forwarder: its callers are the methods
                if isinstance(key, ast.Constant):
                    assert key.value == function.name, f"{path}: {function.name} keys its requests {key.value!r}"
                found.add(f"{service}.{function.name}")
    return found


def _own_nodes(function: ast.AST) -> list[ast.AST]:
    """The nodes of a function's body, not those of the functions nested in it (they are walked themselves)."""
    nodes, stack = [], list(ast.iter_child_nodes(function))
    while stack:
        node = stack.pop()
        nodes.append(node)
        if not isinstance(node, ast.AsyncFunctionDef | ast.FunctionDef | ast.Lambda):
            stack.extend(ast.iter_child_nodes(node))
    return nodes


# Playbooks


@case("playbooks.CreatePlaybook")
async def _create_playbook(c: Any, n: int) -> Prepared:
    request = bpb.CreatePlaybookRequest(playbook=notify_rule(threshold=n + 1), request_id=f"playbook-{n}")
    return Prepared(
        lambda r, q: r.api.CreatePlaybook(q, metadata=ADMIN, timeout=60),
        request,
        changed(request, lambda q: setattr(q.playbook, "display_name", "다른 규칙")),
    )


def test_every_idempotent_method_has_a_case() -> None:
    found = idempotent_methods()
    assert len(found) >= 20, found  # the scan itself works
    assert set(CASES) == found, {"without a case": found - set(CASES), "no longer idempotent": set(CASES) - found}


# The runs


@asynccontextmanager
async def replicas(
    service: str, count: int, new_database: Callable[[str], Awaitable[str]], nats: NatsServer, tmp_path: Path
) -> AsyncIterator[list[Any]]:
    """count instances of a service on one database and one NATS, as replicas run."""
    url = await new_database(service)
    started: list[Any] = []
    try:
        for _ in range(count):
            if service == "investors":
                running: Any = await start_investors(investors_settings(url, nats.url, tmp_path))
            elif service == "playbooks":  # acts through no other service in these cases
                settings = make_settings(service, url, nats.url, tmp_path)
                running = await start_playbooks(settings, playbooks_config("127.0.0.1:9", "127.0.0.1:9"))
                await seeded(running)  # the examples are in before anything is counted
            else:
                start = {"companies": start_companies, "consulting": start_consulting}[service]
                running = await start(make_settings(service, url, nats.url, tmp_path))
            started.append(running)
            await asyncio.wait_for(running.runtime.ready.wait(), 10)
        yield started
    finally:
        for running in started:
            for channel in {running.channel, getattr(running, "partner_channel", running.channel)}:
                await channel.close()
            await running.runtime.stop()


async def counted(running: Any) -> Counter[str]:
    counts = await row_counts(running.runtime.db)
    return Counter({table: n for table, n in counts.items() if table not in NOT_THE_CALLS})


def delta(before: Counter[str], after: Counter[str]) -> dict[str, int]:
    return {table: after[table] - before[table] for table in after | before if after[table] != before[table]}


def outcome(result: Any) -> str:
    if isinstance(result, grpc.aio.AioRpcError):
        return f"{result.code().name}: {result.details()}"
    if isinstance(result, BaseException):
        return repr(result)
    return "OK"


async def duplicates_get_the_first_response(key: str, running: list[Any]) -> None:
    prepare, first = CASES[key], running[0]
    # What one call changes, on prerequisites of its own
    alone = await prepare(first, 0)
    before = await counted(first)
    await alone.send(first, alone.request)
    one_call = delta(before, await counted(first))
    assert one_call.get("idempotency_keys") == 1, one_call

    prepared = await prepare(first, 1)
    before = await counted(first)
    results = await asyncio.gather(
        *(prepared.send(running[n % len(running)], prepared.request) for n in range(DUPLICATES)),
        return_exceptions=True,
    )
    outcomes = Counter(outcome(r) for r in results)
    assert outcomes == {"OK": DUPLICATES}, f"{key}: {dict(outcomes)}"
    answers = {r.SerializeToString(deterministic=True) for r in results if isinstance(r, Message)}
    assert len(answers) == 1, f"{key}: {len(answers)} different responses to one request"
    assert delta(before, await counted(first)) == one_call, f"{key}: duplicates changed more than one call"

    # A retry after they finished, to the other replica, gets the same; a different request is refused
    before = await counted(first)
    assert await prepared.send(running[-1], prepared.request) == results[0]
    status = await refused(prepared.send(running[-1], prepared.other), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(status) == ["request_id"]
    assert await counted(first) == before


@pytest.mark.parametrize("key", sorted(CASES))
async def test_concurrent_duplicates_get_the_first_response(
    key: str, new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> None:
    async with replicas(key.split(".")[0], 1, new_database, nats_server, tmp_path) as running:
        await duplicates_get_the_first_response(key, running)


@pytest.mark.parametrize("key", sorted(CASES))
async def test_duplicates_sent_to_two_replicas_get_the_first_response(
    key: str, new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> None:
    """No lock of one process spans replicas: the duplicate that loses runs its work, fails against the
    first one's effects, and must then answer with the first one's stored response."""
    async with replicas(key.split(".")[0], 2, new_database, nats_server, tmp_path) as running:
        await duplicates_get_the_first_response(key, running)
