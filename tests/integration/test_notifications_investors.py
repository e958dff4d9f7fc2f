"""Introductions and rounds, end to end: the companies and investors services and the notifications worker
on one NATS, a real SMTP server, and the worker's clock moved over business days."""

from __future__ import annotations

from datetime import UTC, timedelta
from email.message import EmailMessage

import grpc
from google.type import money_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.investors.v1 import investors_pb2 as ipb
from hub.notifications.v1 import notifications_pb2 as pb

from hublocal.mailsink import MailSink
from services.notifications import domain, rules
from tests.conftest import ADMIN, Running, RunningInvestors, RunningNotifications, eventually


def mail(sink: MailSink, to: str) -> list[EmailMessage]:
    return [m for m in sink.messages if to in str(m["To"])]


async def follow_ups(notifications: RunningNotifications, filter: str) -> list[pb.FollowUp]:
    listed = await notifications.api.ListFollowUps(pb.ListFollowUpsRequest(filter=filter), metadata=ADMIN)
    return list(listed.follow_ups)


async def test_an_introduction_asks_nudges_and_stops_and_a_closed_round_is_celebrated(
    companies: Running, investors: RunningInvestors, notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    company = await companies.companies.CreateCompany(
        cpb.CreateCompanyRequest(company=cpb.Company(korean_name="메디비전", sector=cpb.SECTOR_MEDICAL)), metadata=ADMIN
    )
    await companies.companies.CreatePerson(
        cpb.CreatePersonRequest(person=cpb.Person(korean_name="김서연", email="seoyeon@medivision.kr",
                                                  company=company.name, role=cpb.PERSON_ROLE_FOUNDER)),
        metadata=ADMIN,
    )  # fmt: skip
    firm = await investors.investors.CreateFirm(
        ipb.CreateFirmRequest(firm=ipb.Firm(korean_name="카이스트벤처스", english_name="KAIST Ventures",
                                            type=ipb.FIRM_TYPE_VC)), metadata=ADMIN)  # fmt: skip
    partner = await investors.investors.CreatePartner(
        ipb.CreatePartnerRequest(partner=ipb.Partner(firm=firm.name, korean_name="이파트너", email="lee@kv.vc")),
        metadata=ADMIN,
    )

    async def introduced() -> ipb.Introduction | None:
        try:  # the investors service learns of the company from its event
            return await investors.investors.CreateIntroduction(
                ipb.CreateIntroductionRequest(
                    introduction=ipb.Introduction(company=company.name, firm=firm.name, partner=partner.name,
                                                  note="시리즈 A 관심"), request_id="intro-1"),
                metadata=ADMIN,
            )  # fmt: skip
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.FAILED_PRECONDITION):
                return None
            raise

    intro = await eventually(introduced, timeout=20)
    [asked] = await eventually(lambda: _mail(mail_sink, "seoyeon@medivision.kr", 1), timeout=20)
    assert str(asked["Subject"]) == "[KAIST AI 허브] 카이스트벤처스 소개 동의 요청"

    intro = await investors.investors.ChangeIntroductionState(
        ipb.ChangeIntroductionStateRequest(
            name=intro.name, state=ipb.INTRODUCTION_STATE_COMPANY_CONSENTED, reason="전화로 동의"
        ),
        metadata=ADMIN,
    )
    [request] = await eventually(lambda: _mail(mail_sink, "lee@kv.vc", 1), timeout=20)
    assert "메디비전" in str(request["Subject"]) and "이파트너님" in request.get_content()
    [nudge] = await eventually(lambda: _pending(notifications, rules.INTRO_ANSWER_NUDGE), timeout=20)
    [escalation] = await follow_ups(notifications, f"rule={rules.INTRO_ESCALATION}")
    consented = intro.update_time.ToDatetime(tzinfo=UTC)
    for planned, days in ((nudge, 3), (escalation, 6)):  # N and 2N business days after the consent
        expected = domain.add_business_days(consented, days)
        assert abs(planned.due_time.ToDatetime(tzinfo=UTC) - expected) < timedelta(seconds=5)

    # Three business days pass without an answer: the partner is nudged, the managers not yet.
    notifications.clock.move_to(nudge.due_time.ToDatetime(tzinfo=UTC) + timedelta(minutes=1))
    await eventually(lambda: _mail(mail_sink, "lee@kv.vc", 2), timeout=20)
    assert not mail(mail_sink, "pm@hub.example")

    # The partner accepts: the escalation is cancelled and the company hears the answer.
    notifications.clock.offset = timedelta()
    await investors.investors.ChangeIntroductionState(
        ipb.ChangeIntroductionStateRequest(name=intro.name, state=ipb.INTRODUCTION_STATE_PARTNER_ACCEPTED),
        metadata=ADMIN,
    )
    answered = await eventually(lambda: _mail(mail_sink, "seoyeon@medivision.kr", 2), timeout=20)
    assert "수락" in str(answered[-1]["Subject"])
    [cancelled] = await follow_ups(notifications, f"rule={rules.INTRO_ESCALATION}")
    assert cancelled.state == pb.FOLLOW_UP_STATE_CANCELLED
    notifications.clock.move_to(escalation.due_time.ToDatetime(tzinfo=UTC) + timedelta(hours=1))
    assert await notifications.scheduler.tick() == 0
    assert not mail(mail_sink, "pm@hub.example")

    # A round closes: congratulations in won, the Korean way, and a note to the program managers.
    notifications.clock.offset = timedelta()
    made = await investors.investors.CreateRound(
        ipb.CreateRoundRequest(round=ipb.Round(company=company.name, round_type=ipb.ROUND_TYPE_SEED,
                                               amount=money_pb2.Money(currency_code="KRW", units=1_530_000_000),
                                               lead_firm=firm.name)), metadata=ADMIN)  # fmt: skip
    await investors.investors.CloseRound(ipb.CloseRoundRequest(name=made.name), metadata=ADMIN)
    congratulated = await eventually(lambda: _mail(mail_sink, "seoyeon@medivision.kr", 3), timeout=20)
    assert "15억 3,000만 원" in congratulated[-1].get_content()
    assert "카이스트벤처스" in congratulated[-1].get_content()
    [note] = await eventually(lambda: _mail(mail_sink, "pm@hub.example", 1), timeout=20)
    assert str(note["Subject"]) == "[투자] 메디비전 SEED 15억 3,000만 원 마감"


async def _mail(sink: MailSink, to: str, count: int) -> list[EmailMessage]:
    found = mail(sink, to)
    return found if len(found) == count else []


async def _pending(notifications: RunningNotifications, rule: str) -> list[pb.FollowUp]:
    return await follow_ups(notifications, f"rule={rule} AND state=PENDING")
