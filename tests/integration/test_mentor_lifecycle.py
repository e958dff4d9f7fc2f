"""Across services, over real NATS, a real SMTP server and the real sign-in flow: a mentor signs in with the code
mailed to them and acts for themselves; a program manager deactivates them and the companies service ends their
identity, so their token is refused by every service. After a session the founder's low rating reaches the
program managers by mail, and a mentor whose notes are missing at 48 hours is nudged, unless they wrote them."""

from __future__ import annotations

from datetime import UTC, timedelta
from email.message import EmailMessage

import grpc
from hub.companies.v1 import companies_pb2 as cpb
from hub.consulting.v1 import consulting_pb2 as pb
from hub.investors.v1 import investors_pb2 as inv
from hub.notifications.v1 import notifications_pb2 as npb
from hub.ops.v1 import identities_pb2 as ipb

from hublocal.mailsink import MailSink
from services.consulting import store as consulting_store
from services.notifications import rules
from tests.conftest import (
    ADMIN,
    Running,
    RunningConsulting,
    RunningInvestors,
    RunningNotifications,
    eventually,
)
from tests.integration.consulting_world import earlier_today, know_company, make_type, schedule_request, week
from tests.integration.test_mentors_self_service import FOUNDER_A
from tests.integration.test_notifications import company_with_founder
from tests.integration.test_sign_in import bearer, failure, mailed_code, sign_in, stub


async def add_mentor(consulting: RunningConsulting, korean_name: str, email: str) -> pb.Mentor:
    mentor = pb.Mentor(korean_name=korean_name, kind=pb.MENTOR_KIND_FACULTY, email=email,
                       expertise=["vision"], weekly_availability=week())  # fmt: skip
    return await consulting.consulting.CreateMentor(pb.CreateMentorRequest(mentor=mentor), metadata=ADMIN)


async def test_deactivating_a_mentor_ends_their_sign_in_and_their_token_is_refused_everywhere(
    companies: Running,
    consulting: RunningConsulting,
    investors: RunningInvestors,
    notifications: RunningNotifications,
    mail_sink: MailSink,
) -> None:
    mentor = await add_mentor(consulting, "박교수", "park@kaist.ac.kr")
    wanted = ipb.Identity(
        role=ipb.IDENTITY_ROLE_MENTOR, scope=mentor.name, email="park@kaist.ac.kr", display_name="박교수"
    )
    identity = await stub(companies).CreateIdentity(ipb.CreateIdentityRequest(identity=wanted), metadata=ADMIN)
    code, _ = await mailed_code(mail_sink, "park@kaist.ac.kr")
    [token] = (await sign_in(companies, "park@kaist.ac.kr", code)).access_tokens
    assert token.scope == mentor.name
    own = bearer(token.secret)
    assert (await consulting.consulting.GetMentor(pb.GetMentorRequest(name=mentor.name), metadata=own)).email

    away = await consulting.consulting.DeactivateMentor(
        pb.DeactivateMentorRequest(name=mentor.name, reason="임기 종료"), metadata=ADMIN
    )
    assert away.state == pb.MENTOR_STATE_INACTIVE
    token_id = token.name.removeprefix("accessTokens/")
    runtimes = (companies.runtime, consulting.runtime, investors.runtime, notifications.runtime)

    async def revoked_everywhere() -> bool:
        return all(token_id in r.verifier.revoked for r in runtimes)

    await eventually(revoked_everywhere, timeout=20)
    for call in (
        consulting.consulting.GetMentor(pb.GetMentorRequest(name=mentor.name), metadata=own),
        companies.companies.GetCompany(cpb.GetCompanyRequest(name="companies/1"), metadata=own),
        investors.investors.ListFirms(inv.ListFirmsRequest(), metadata=own),
        notifications.api.ListFollowUps(npb.ListFollowUpsRequest(), metadata=own),
        stub(companies).RenewAccessToken(ipb.RenewAccessTokenRequest(), metadata=own),
    ):
        refused = await failure(call)
        assert refused[0] == grpc.StatusCode.UNAUTHENTICATED and "revoked" in refused[1], refused
    listed = await stub(companies).ListIdentities(ipb.ListIdentitiesRequest(filter="state=REVOKED"), metadata=ADMIN)
    [ended] = listed.identities
    assert ended.name == identity.name
    assert "deactivated" in ended.revoke_reason and "임기 종료" in ended.revoke_reason
    # Asking for a code mails nothing now: the identity has ended.
    await stub(companies).RequestSignInCode(ipb.RequestSignInCodeRequest(email="park@kaist.ac.kr"))

    # Reactivated, the mentor can be booked again; signing in again takes a new invitation.
    await consulting.consulting.ReactivateMentor(pb.ReactivateMentorRequest(name=mentor.name), metadata=ADMIN)
    kind = await make_type(consulting)
    company = await know_company(consulting, 1)
    booked = await consulting.consulting.ScheduleSession(
        schedule_request(company, mentor, kind, earlier_today()), metadata=ADMIN
    )
    assert booked.mentor == mentor.name
    assert len([m for m in mail_sink.messages if "park@kaist.ac.kr" in str(m["To"])]) == 1


async def test_a_low_rating_is_mailed_to_the_program_managers_and_missing_notes_nudge_the_mentor(
    companies: Running, consulting: RunningConsulting, notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    api = consulting.consulting
    mentor = await add_mentor(consulting, "김도현", "kim@kaist.ac.kr")
    kind = await make_type(consulting)
    registered, _ = await company_with_founder(companies, "메디비전", "seoyeon@medivision.kr")  # companies/1
    company = registered.name

    async def known() -> bool:  # the company by its events in consulting and notifications, the mentor by ours
        listed = await notifications.api.ListRecipients(npb.ListRecipientsRequest(filter="kind=MENTOR"), metadata=ADMIN)
        async with consulting.runtime.db.read() as conn:
            directory = await consulting_store.get_company(conn, company)
        return len(listed.recipients) == 1 and directory is not None

    await eventually(known, timeout=20)
    noted = await api.ScheduleSession(schedule_request(company, mentor, kind, earlier_today(3)), metadata=ADMIN)
    silent = await api.ScheduleSession(schedule_request(company, mentor, kind, earlier_today(5)), metadata=ADMIN)
    # Both completed without notes: a nudge waits for each, 48 hours after.
    for session in (noted, silent):
        await api.CompleteSession(pb.CompleteSessionRequest(name=session.name), metadata=ADMIN)

    async def nudges() -> list[npb.FollowUp]:
        found = [
            f
            for name in (noted.name, silent.name)
            for f in (
                await notifications.api.ListFollowUps(npb.ListFollowUpsRequest(filter=f"entity={name}"), metadata=ADMIN)
            ).follow_ups
            if f.rule == rules.SESSION_NOTES_NUDGE
        ]
        return found if len(found) == 2 else []

    planned = await eventually(nudges, timeout=20)
    completed = (await api.GetSession(pb.GetSessionRequest(name=silent.name), metadata=ADMIN)).complete_time
    due = {f.entity: f.due_time.ToDatetime(tzinfo=UTC) for f in planned}
    assert due[silent.name] == completed.ToDatetime(tzinfo=UTC) + timedelta(hours=48)

    # The founder of the company rates one 1, "not a fit": the program managers get a mail at once.
    rating = pb.RecordSessionFeedbackRequest(
        name=noted.name, rating=1, fit=pb.SESSION_FIT_NOT_A_FIT, comment="질문과 맞지 않는 조언이었습니다"
    )
    await api.RecordSessionFeedback(rating, metadata=FOUNDER_A)

    async def to_managers() -> list[EmailMessage]:
        return [m for m in mail_sink.messages if "pm@hub.example" in str(m["To"]) and "피드백" in str(m["Subject"])]

    [mail] = await eventually(to_managers, timeout=20)
    body = mail.get_body(("plain",)).get_content()
    assert "메디비전" in str(mail["Subject"]) and "1점" in body and "맞지 않음" in body
    assert "질문과 맞지 않는 조언이었습니다" in body and noted.name in body

    # The mentor writes one session's notes: its nudge is cancelled; the other's goes out at 48 hours.
    await api.RecordSessionNotes(pb.RecordSessionNotesRequest(name=noted.name, notes="시장 검증 방법"), metadata=ADMIN)

    async def cancelled() -> bool:
        listed = await notifications.api.ListFollowUps(
            npb.ListFollowUpsRequest(filter=f"entity={noted.name} AND state=CANCELLED"), metadata=ADMIN
        )
        return [f.rule for f in listed.follow_ups] == [rules.SESSION_NOTES_NUDGE]

    await eventually(cancelled, timeout=20)
    notifications.clock.move_to(due[silent.name] + timedelta(seconds=1))
    await notifications.scheduler.tick()

    async def nudged() -> list[EmailMessage]:
        return [m for m in mail_sink.messages if "kim@kaist.ac.kr" in str(m["To"]) and "메모" in str(m["Subject"])]

    [nudge] = await eventually(nudged, timeout=20)
    assert "48시간" in nudge.get_body(("plain",)).get_content()
    await notifications.scheduler.tick()
    assert len(await nudged()) == 1  # the written notes' nudge never goes
