"""The notifications worker end to end: companies events over real NATS, a real SMTP server (aiosmtpd)
and a real HTTP receiver that checks signatures, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from google.type import timeofday_pb2
from grpc_status import rpc_status
from hub.companies.v1 import companies_pb2 as cpb
from hub.notifications.v1 import notifications_pb2 as pb

from hubcore.db import outbox
from hublocal.mailsink import MailSink
from services.notifications import domain, rules, store
from tests.conftest import ADMIN, SERVICE, Running, RunningNotifications, WebhookReceiver, eventually

SEOUL = ZoneInfo("Asia/Seoul")


async def company_with_founder(companies: Running, korean: str, email: str) -> tuple[cpb.Company, cpb.Person]:
    company = await companies.companies.CreateCompany(
        cpb.CreateCompanyRequest(company=cpb.Company(korean_name=korean, english_name="MediVision",
                                                     sector=cpb.SECTOR_MEDICAL)), metadata=ADMIN)  # fmt: skip
    person = await companies.companies.CreatePerson(
        cpb.CreatePersonRequest(person=cpb.Person(korean_name="김서연", english_name="Seoyeon Kim", email=email,
                                                  company=company.name, role=cpb.PERSON_ROLE_FOUNDER)),
        metadata=ADMIN,
    )  # fmt: skip
    return company, person


async def move(companies: Running, company: cpb.Company, *statuses: str) -> None:
    for status in statuses:
        await companies.companies.ChangeCompanyStatus(
            cpb.ChangeCompanyStatusRequest(
                name=company.name, status=cpb.CompanyStatus.Value(f"COMPANY_STATUS_{status}")
            ),
            metadata=ADMIN,
        )


def mail_to(sink: MailSink, address: str) -> list[EmailMessage]:
    return [m for m in sink.messages if address in str(m["To"])]


async def recipient(notifications: RunningNotifications, source: str) -> pb.Recipient:
    async def found() -> pb.Recipient | None:
        request = pb.ListRecipientsRequest(filter=f"source={source}")
        listed = await notifications.api.ListRecipients(request, metadata=ADMIN)
        return listed.recipients[0] if listed.recipients else None

    return await eventually(found)


async def deliveries(notifications: RunningNotifications, filter: str = "") -> list[pb.Delivery]:
    listed = await notifications.api.ListDeliveries(pb.ListDeliveriesRequest(filter=filter), metadata=ADMIN)
    return list(listed.deliveries)


async def test_status_changes_send_korean_mail_once_to_each_person_and_the_program_manager(
    companies: Running, notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    company, founder = await company_with_founder(companies, "메디비전", "seoyeon@medivision.kr")
    await recipient(notifications, founder.name)
    await move(companies, company, "SELECTED", "RESIDENT")

    async def all_sent() -> bool:
        return len(mail_sink.messages) == 4  # selected + welcome to the founder, two notes to the manager

    await eventually(all_sent, timeout=20)
    founder_mail = mail_to(mail_sink, "seoyeon@medivision.kr")
    subjects = sorted(str(m["Subject"]) for m in founder_mail)
    assert subjects == ["[KAIST AI 허브] 메디비전 선발을 축하드립니다", "[KAIST AI 허브] 메디비전 입주를 환영합니다"]
    assert all("김서연님" in m.get_content() for m in founder_mail)
    assert len(mail_to(mail_sink, "pm@hub.example")) == 2
    assert len({m["Message-ID"] for m in mail_sink.messages}) == 4

    # A person who joins the resident company later gets their own welcome, once.
    await companies.companies.CreatePerson(
        cpb.CreatePersonRequest(person=cpb.Person(korean_name="이준호", email="junho@medivision.kr",
                                                  company=company.name, role=cpb.PERSON_ROLE_STAFF)),
        metadata=ADMIN,
    )  # fmt: skip
    await eventually(lambda: _count(mail_sink, "junho@medivision.kr", 1), timeout=20)
    sent = await eventually(lambda: _listed(notifications, "state=SENT", 5))
    assert len(sent) == 5 and all(d.attempts == 1 and d.HasField("send_time") for d in sent)
    stats = await notifications.api.GetNotificationStats(pb.GetNotificationStatsRequest(), metadata=SERVICE)
    assert (stats.sent_last_24h, stats.failed_deliveries, stats.pending_follow_ups) == (5, 0, 0)
    assert len(mail_sink.messages) == 5


async def _count(sink: MailSink, address: str, expected: int) -> bool:
    return len(mail_to(sink, address)) == expected


async def _listed(notifications: RunningNotifications, filter: str, expected: int) -> list[pb.Delivery]:
    found = await deliveries(notifications, filter)
    return found if len(found) == expected else []


# The scheduler and the channels, fed directly with recipients and follow-ups


async def add_person(notifications: RunningNotifications, source: str, email: str, company: str = "") -> pb.Recipient:
    async with notifications.runtime.db.write(actor="test") as uow:
        await store.upsert_recipient(
            uow.conn, source=source, version=1, active=True, kind=domain.PERSON, korean_name="김서연",
            english_name="Seoyeon Kim", email=email, company=company, role="FOUNDER",
        )  # fmt: skip
    return await recipient(notifications, source)


async def plan(
    notifications: RunningNotifications, audience: str, *, entity: str = "companies/1",
    rule: str = rules.COMPANY_SELECTED, due: datetime | None = None, expires: datetime | None = None,
) -> None:  # fmt: skip
    moment = due or notifications.clock()
    context = {"company": entity, "company_ko": "메디비전", "company_en": "MediVision"}
    async with notifications.runtime.db.write(actor="test") as uow:
        await store.apply_plan(
            uow.conn,
            domain.Plan(rule, entity, "test", moment, (audience,), company=entity, expires_at=expires, context=context),
        )


async def set_preference(notifications: RunningNotifications, who: pb.Recipient, **fields: object) -> pb.Preference:
    preference = pb.Preference(name=who.preference.name, **fields)  # type: ignore[arg-type]
    return await notifications.api.UpdatePreference(
        pb.UpdatePreferenceRequest(preference=preference, update_mask=field_mask_pb2.FieldMask(paths=list(fields))),
        metadata=ADMIN,
    )


async def settled(notifications: RunningNotifications, state: str, count: int = 1) -> list[pb.Delivery]:
    return await eventually(lambda: _listed(notifications, f"state={state}", count), timeout=20)


async def test_webhook_is_signed_slack_compatible_and_email_goes_too(
    notifications: RunningNotifications, mail_sink: MailSink, webhook_receiver: WebhookReceiver
) -> None:
    who = await add_person(notifications, "people/1", "seoyeon@medivision.kr", "companies/1")
    await set_preference(
        notifications, who, channels=[pb.CHANNEL_EMAIL, pb.CHANNEL_WEBHOOK], webhook_url=webhook_receiver.url()
    )
    await plan(notifications, domain.company_contacts("companies/1"))
    sent = await settled(notifications, "SENT", 2)
    assert {d.channel for d in sent} == {pb.CHANNEL_EMAIL, pb.CHANNEL_WEBHOOK}
    [hook] = webhook_receiver.accepted()
    assert hook.signed and hook.headers["X-Hub-Signature"].startswith("v1=")
    webhook = next(d for d in sent if d.channel == pb.CHANNEL_WEBHOOK)
    assert hook.headers["X-Hub-Delivery"] == webhook.name and webhook.address == webhook_receiver.url()
    body = hook.json
    assert body["text"].startswith("*[KAIST AI 허브] 메디비전 선발을 축하드립니다*\n")
    assert (body["rule"], body["company"], body["delivery"]) == ("company.selected", "companies/1", webhook.name)
    assert len(mail_sink.messages) == 1


async def test_smtp_refusals_are_retried_with_back_off_then_sent(
    notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    await add_person(notifications, "people/1", "seoyeon@medivision.kr")
    mail_sink.handler.refuse_times = 2  # 451: try again later
    await plan(notifications, domain.recipient("people/1"))
    [sent] = await settled(notifications, "SENT")
    assert sent.attempts == 3 and mail_sink.handler.refused == 2 and len(mail_sink.messages) == 1
    assert sent.last_error == ""


async def test_a_permanent_refusal_fails_at_once_is_visible_and_can_be_retried(
    notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    await add_person(notifications, "people/1", "nobody@medivision.kr")
    mail_sink.handler.refuse_with, mail_sink.handler.refuse_times = "550 5.1.1 no such user", 1
    await plan(notifications, domain.recipient("people/1"))
    [failed] = await settled(notifications, "FAILED")
    assert failed.attempts == 1 and "550" in failed.last_error and not mail_sink.messages
    stuck = await notifications.api.ListStuckFollowUps(pb.ListStuckFollowUpsRequest(), metadata=ADMIN)
    assert [d.name for d in stuck.failing_deliveries] == [failed.name] and stuck.failing_count == 1
    stats = await notifications.api.GetNotificationStats(pb.GetNotificationStatsRequest(), metadata=ADMIN)
    assert stats.failed_deliveries == 1

    retried = await notifications.api.RetryDelivery(pb.RetryDeliveryRequest(name=failed.name), metadata=ADMIN)
    assert retried.state in (pb.DELIVERY_STATE_PENDING, pb.DELIVERY_STATE_SENDING, pb.DELIVERY_STATE_SENT)
    [sent] = await settled(notifications, "SENT")
    assert sent.name == failed.name and sent.attempts == 2 and len(mail_sink.messages) == 1
    stuck = await notifications.api.ListStuckFollowUps(pb.ListStuckFollowUpsRequest(), metadata=ADMIN)
    assert stuck.failing_count == 0
    async with notifications.runtime.db.read() as conn:
        subjects = list((await conn.execute(sa.select(outbox.c.subject).order_by(outbox.c.seq))).scalars())
    assert subjects == ["hub.notifications.delivery.failed", "hub.notifications.delivery.sent"]


async def test_a_recipients_failed_deliveries_are_retried_together_and_no_one_elses(
    notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    """The worked example of docs/adding-a-service.md: RetryRecipientDeliveries, once an address is fixed."""
    seoyeon = await add_person(notifications, "people/1", "seoyeon@medivision.kr")
    await add_person(notifications, "people/2", "junho@medivision.kr")
    mail_sink.handler.refuse_with, mail_sink.handler.refuse_times = "550 5.1.1 no such user", 3
    for entity in ("companies/1", "companies/2"):
        await plan(notifications, domain.recipient("people/1"), entity=entity)
    await plan(notifications, domain.recipient("people/2"), entity="companies/3")
    failed = await settled(notifications, "FAILED", 3)
    theirs = sorted(d.name for d in failed if d.address == "seoyeon@medivision.kr")
    assert len(theirs) == 2 and not mail_sink.messages

    request = pb.RetryRecipientDeliveriesRequest(name=seoyeon.name)
    retried = await notifications.api.RetryRecipientDeliveries(request, metadata=ADMIN)
    assert [d.name for d in retried.deliveries] == theirs
    sent = await settled(notifications, "SENT", 2)
    assert sorted(d.name for d in sent) == theirs and len(mail_sink.messages) == 2
    [still] = await _listed(notifications, "state=FAILED", 1)
    assert still.address == "junho@medivision.kr"  # another recipient's failure is left alone

    again = await notifications.api.RetryRecipientDeliveries(request, metadata=ADMIN)
    assert not again.deliveries  # nothing failed is left for them
    for name, code in (
        ("recipients/999", grpc.StatusCode.NOT_FOUND),
        ("deliveries/1", grpc.StatusCode.INVALID_ARGUMENT),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await notifications.api.RetryRecipientDeliveries(
                pb.RetryRecipientDeliveriesRequest(name=name), metadata=ADMIN
            )
        assert error.value.code() == code
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await notifications.api.RetryRecipientDeliveries(request, metadata=SERVICE)
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_a_webhook_that_keeps_failing_ends_failed_after_the_last_attempt(
    notifications: RunningNotifications, webhook_receiver: WebhookReceiver
) -> None:
    who = await add_person(notifications, "people/1", "")
    await set_preference(notifications, who, channels=[pb.CHANNEL_WEBHOOK], webhook_url=webhook_receiver.url())
    webhook_receiver.answers = [503, 503, 503]
    await plan(notifications, domain.recipient("people/1"))
    [failed] = await settled(notifications, "FAILED")
    assert failed.attempts == 3 and "HTTP 503" in failed.last_error and not webhook_receiver.accepted()
    await notifications.api.RetryDelivery(pb.RetryDeliveryRequest(name=failed.name), metadata=ADMIN)
    [sent] = await settled(notifications, "SENT")
    assert sent.attempts == 4 and len(webhook_receiver.accepted()) == 1


async def test_quiet_hours_hold_email_until_morning_but_not_webhooks(
    notifications: RunningNotifications, mail_sink: MailSink, webhook_receiver: WebhookReceiver
) -> None:
    who = await add_person(notifications, "people/1", "seoyeon@medivision.kr")
    await set_preference(
        notifications, who, channels=[pb.CHANNEL_EMAIL, pb.CHANNEL_WEBHOOK], webhook_url=webhook_receiver.url(),
        quiet_start=timeofday_pb2.TimeOfDay(hours=22), quiet_end=timeofday_pb2.TimeOfDay(hours=8),
    )  # fmt: skip
    night = datetime(2026, 12, 1, 23, 30, tzinfo=SEOUL)
    notifications.clock.move_to(night)
    await plan(notifications, domain.recipient("people/1"), due=night)
    await settled(notifications, "SENT")  # the webhook
    [held] = await _listed(notifications, "channel=EMAIL", 1)
    assert held.state == pb.DELIVERY_STATE_PENDING and held.attempts == 0
    assert held.next_attempt_time.ToDatetime().replace(tzinfo=ZoneInfo("UTC")) == datetime(2026, 12, 2, 8, tzinfo=SEOUL)
    assert not mail_sink.messages
    notifications.clock.move_to(datetime(2026, 12, 2, 8, 0, 30, tzinfo=SEOUL))
    await settled(notifications, "SENT", 2)
    assert len(mail_sink.messages) == 1


async def test_an_unsubscribed_rule_is_skipped_and_says_why(
    notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    who = await add_person(notifications, "people/1", "seoyeon@medivision.kr")
    await set_preference(notifications, who, muted_rules=[rules.COMPANY_SELECTED])
    await plan(notifications, domain.recipient("people/1"))
    await plan(notifications, domain.recipient("people/1"), rule=rules.COMPANY_WELCOME)
    [skipped] = await settled(notifications, "SKIPPED")
    assert skipped.rule == rules.COMPANY_SELECTED and "unsubscribed" in skipped.last_error
    [sent] = await settled(notifications, "SENT")
    assert sent.rule == rules.COMPANY_WELCOME and len(mail_sink.messages) == 1


async def test_english_readers_get_english(notifications: RunningNotifications, mail_sink: MailSink) -> None:
    who = await add_person(notifications, "people/1", "seoyeon@medivision.kr")
    preference = await set_preference(notifications, who, language="en", time_zone="Europe/Berlin")
    assert (preference.language, preference.time_zone, preference.etag) == ("en", "Europe/Berlin", "2")
    await plan(notifications, domain.recipient("people/1"))
    await settled(notifications, "SENT")
    [mail] = mail_sink.messages
    assert str(mail["Subject"]) == "[KAIST AI Hub] Congratulations: MediVision has been selected"
    assert mail.get_content().startswith("Dear Seoyeon Kim,")


async def test_expired_and_cancelled_follow_ups_send_nothing(
    notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    await add_person(notifications, "people/1", "seoyeon@medivision.kr")
    past = notifications.clock() - timedelta(hours=2)
    await plan(notifications, domain.recipient("people/1"), due=past, expires=past + timedelta(hours=1))
    await plan(notifications, domain.recipient("people/1"), rule=rules.COMPANY_WELCOME, due=past + timedelta(days=3))

    async def expired() -> list[pb.FollowUp]:
        listed = await notifications.api.ListFollowUps(pb.ListFollowUpsRequest(filter="state=EXPIRED"), metadata=ADMIN)
        return list(listed.follow_ups)

    [gone] = await eventually(expired)
    assert gone.rule == rules.COMPANY_SELECTED
    [pending] = (
        await notifications.api.ListFollowUps(pb.ListFollowUpsRequest(filter="state=PENDING"), metadata=ADMIN)
    ).follow_ups
    cancelled = await notifications.api.CancelFollowUp(
        pb.CancelFollowUpRequest(name=pending.name, reason="회사 요청"), metadata=ADMIN
    )
    assert cancelled.state == pb.FOLLOW_UP_STATE_CANCELLED and cancelled.note == "회사 요청"
    with pytest.raises(grpc.aio.AioRpcError) as failed:
        await notifications.api.CancelFollowUp(pb.CancelFollowUpRequest(name=pending.name), metadata=ADMIN)
    assert failed.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    notifications.clock.move_to(past + timedelta(days=4))
    assert await notifications.scheduler.tick() == 0
    assert not mail_sink.messages and not await deliveries(notifications)


# The API's answers to bad input


def violations(error: grpc.aio.AioRpcError) -> dict[str, str]:
    status = rpc_status.from_call(error)
    assert status is not None
    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            return {v.field: v.description for v in bad.field_violations}
    return {}


async def test_bad_input_is_invalid_argument_naming_the_field(notifications: RunningNotifications) -> None:
    who = await add_person(notifications, "people/1", "seoyeon@medivision.kr")
    api = notifications.api
    cases: list[tuple[object, object, str]] = [
        (api.ListDeliveries, pb.ListDeliveriesRequest(filter="state=LOST"), "filter"),
        (api.ListDeliveries, pb.ListDeliveriesRequest(filter="colour=red"), "filter"),
        (api.ListDeliveries, pb.ListDeliveriesRequest(page_size=-1), "page_size"),
        (api.ListDeliveries, pb.ListDeliveriesRequest(page_token="garbage"), "page_token"),
        (api.ListFollowUps, pb.ListFollowUpsRequest(filter="company=acme"), "filter"),
        (api.GetDelivery, pb.GetDeliveryRequest(name="deliveries/x"), "name"),
        (api.GetDelivery, pb.GetDeliveryRequest(), "name"),
        (api.RetryDelivery, pb.RetryDeliveryRequest(name="followUps/1"), "name"),
        (api.GetPreference, pb.GetPreferenceRequest(name=who.name), "name"),
    ]
    bad_preferences: list[tuple[dict[str, object], str]] = [
        ({"language": "fr"}, "preference.language"),
        ({"time_zone": "Asia/Nowhere"}, "preference.time_zone"),
        ({"muted_rules": ["no.such.rule"]}, "preference.muted_rules"),
        ({"webhook_url": "ftp://example.com"}, "preference.webhook_url"),
        ({"quiet_start": timeofday_pb2.TimeOfDay(hours=25)}, "preference.quiet_start"),
        ({"channels": [pb.CHANNEL_UNSPECIFIED]}, "preference.channels"),
    ]
    for fields, field in bad_preferences:
        preference = pb.Preference(name=who.preference.name, **fields)  # type: ignore[arg-type]
        mask = field_mask_pb2.FieldMask(paths=list(fields))
        cases.append((api.UpdatePreference, pb.UpdatePreferenceRequest(preference=preference, update_mask=mask), field))
    mask = field_mask_pb2.FieldMask(paths=["email"])
    cases.append((api.UpdatePreference, pb.UpdatePreferenceRequest(preference=who.preference, update_mask=mask),
                  "update_mask"))  # fmt: skip
    for method, request, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await method(request, metadata=ADMIN)  # type: ignore[operator]
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (request, error.value.details())
        assert field in violations(error.value), (request, violations(error.value))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await api.GetDelivery(pb.GetDeliveryRequest(name="deliveries/99"), metadata=ADMIN)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await api.RetryDelivery(pb.RetryDeliveryRequest(name="deliveries/1"), metadata=SERVICE)
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
    stale = pb.Preference(name=who.preference.name, language="en", etag="7")
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await api.UpdatePreference(
            pb.UpdatePreferenceRequest(preference=stale, update_mask=field_mask_pb2.FieldMask(paths=["language"])),
            metadata=ADMIN,
        )
    assert error.value.code() == grpc.StatusCode.ABORTED


async def test_lists_page_and_filter(notifications: RunningNotifications, mail_sink: MailSink) -> None:
    await add_person(notifications, "people/1", "seoyeon@medivision.kr", "companies/1")
    await add_person(notifications, "people/2", "junho@doctornote.kr", "companies/2")
    for company in ("companies/1", "companies/2"):
        await plan(notifications, domain.company_contacts(company), entity=company)
    await settled(notifications, "SENT", 2)
    first = await notifications.api.ListDeliveries(pb.ListDeliveriesRequest(page_size=1), metadata=ADMIN)
    second = await notifications.api.ListDeliveries(
        pb.ListDeliveriesRequest(page_size=1, page_token=first.next_page_token), metadata=ADMIN
    )
    assert second.next_page_token == "" and first.deliveries[0].name != second.deliveries[0].name
    only = await deliveries(notifications, "company=companies/2 AND channel=EMAIL")
    assert [d.address for d in only] == ["junho@doctornote.kr"]
    people = await notifications.api.ListRecipients(pb.ListRecipientsRequest(filter="kind=PERSON"), metadata=ADMIN)
    assert len(people.recipients) == 2
    managers = await notifications.api.ListRecipients(
        pb.ListRecipientsRequest(filter="kind=PROGRAM_MANAGER"), metadata=ADMIN
    )
    assert [m.email for m in managers.recipients] == ["pm@hub.example"]


async def test_every_rules_message_is_previewed_in_korean_and_english_for_program_managers_only(
    notifications: RunningNotifications,
) -> None:
    api = notifications.api
    korean = (await api.ListMessageTemplates(pb.ListMessageTemplatesRequest(), metadata=ADMIN)).templates
    english = (await api.ListMessageTemplates(pb.ListMessageTemplatesRequest(language="en"), metadata=ADMIN)).templates
    assert [t.rule for t in korean] == [t.rule for t in english] and len(korean) >= 20
    recap = {t.rule: t for t in korean}["session.recap"]
    assert recap.language == "ko" and "메디비전" in recap.subject + recap.body and "{{" not in recap.body
    assert "모델 경량화" in recap.body  # the sample notes
    code = {t.rule: t for t in english}["access.sign_in_code"]
    assert code.essential and code.language == "en" and "042917" in code.subject + code.body
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await api.ListMessageTemplates(pb.ListMessageTemplatesRequest(language="fr"), metadata=ADMIN)
    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "language" in (refused.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await api.ListMessageTemplates(pb.ListMessageTemplatesRequest(), metadata=SERVICE)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
