"""Personal data across the hub: a company and a person with distinctive names spread to every service (a
session in consulting, a program registration, an introduction in investors, follow-ups and a delivered
mail in notifications); each service's export names them; after ErasePerson and EraseCompany no column of
any table of any service's database holds one of their values any more (every table and column is
scanned, so a table added later is covered), while the tombstones and anonymous figures remain."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf import field_mask_pb2, json_format
from hub.companies.v1 import companies_pb2 as cpb
from hub.consulting.v1 import consulting_pb2 as kpb
from hub.investors.v1 import investors_pb2 as ipb
from hub.investors.v1 import partner_webhooks_pb2 as wpb
from hub.ops.v1 import privacy_pb2, privacy_pb2_grpc

from hubcore.db import Database
from hubcore.privacy import ERASED
from tests.conftest import (
    ADMIN,
    SERVICE,
    Running,
    RunningConsulting,
    RunningInvestors,
    RunningNotifications,
    eventually,
)
from tests.integration.consulting_world import (
    earlier_today,
    future_monday,
    interval,
    make_mentor,
    make_type,
    schedule_request,
)

COMPANY_KO = "쀍뛝바이오"
COMPANY_EN = "Qorvexa Biolabs"
WEBSITE = "https://qorvexa-bio.example"
PERSON_KO = "뷁휂순"
PERSON_EN = "Xylia Bwelhoon"
EMAIL = "xylia.bwel@qorvexa-bio.example"
PHONE = "+821055501234"
SECRETS = [COMPANY_KO, COMPANY_EN, WEBSITE, PERSON_KO, PERSON_EN, EMAIL, PHONE]


async def scan(db: Database, needles: list[str]) -> list[str]:
    """Every value of every column of every table that contains one of the needles (text, or UTF-8 bytes in
    a binary column), as "table.column: needle"."""
    found = []
    metadata = sa.MetaData()
    async with db.engine.connect() as conn:
        await conn.run_sync(lambda sync: metadata.reflect(sync))
        for table in metadata.sorted_tables:
            for row in (await conn.execute(sa.select(table))).all():
                for column, value in row._mapping.items():
                    if isinstance(value, (bytes, bytearray, memoryview)):
                        text = bytes(value).decode("utf-8", "replace")
                    elif isinstance(value, str):
                        text = value
                    else:
                        continue
                    found += [f"{table.name}.{column}: {n}" for n in needles if n.lower() in text.lower()]
    return found


async def export(channel: grpc.aio.Channel, name: str, *match: str) -> privacy_pb2.PersonalDataExport:
    stub = privacy_pb2_grpc.PrivacyServiceStub(channel)
    request = privacy_pb2.ExportPersonalDataRequest(name=name, match_values=list(match))
    result: privacy_pb2.PersonalDataExport = await stub.ExportPersonalData(request, metadata=ADMIN)
    return result


def text_of(exported: privacy_pb2.PersonalDataExport) -> str:
    return json.dumps(json_format.MessageToDict(exported), ensure_ascii=False)


async def spread(
    companies: Running, investors: RunningInvestors, consulting: RunningConsulting, notifications: RunningNotifications
) -> tuple[str, str]:
    company = await companies.companies.CreateCompany(
        cpb.CreateCompanyRequest(
            company=cpb.Company(
                korean_name=COMPANY_KO, english_name=COMPANY_EN, sector=cpb.SECTOR_MEDICAL, website=WEBSITE,
                description=f"{COMPANY_KO}: 병리 영상 판독", tags=["vision"],
            ),
            request_id="privacy-company",
        ),
        metadata=ADMIN,
    )  # fmt: skip
    person = await companies.companies.CreatePerson(
        cpb.CreatePersonRequest(
            person=cpb.Person(
                korean_name=PERSON_KO, english_name=PERSON_EN, company=company.name, role=cpb.PERSON_ROLE_FOUNDER,
                title="대표", email=EMAIL, phone=PHONE,
            ),
            request_id="privacy-person",
        ),
        metadata=ADMIN,
    )  # fmt: skip

    async def known() -> bool:
        from services.consulting import store as consulting_store
        from services.investors import store as investors_store

        async with consulting.runtime.db.read() as conn:
            in_consulting = await consulting_store.get_company(conn, company.name)
        async with investors.runtime.db.read() as conn:
            d = investors_store.directory
            in_investors = (await conn.execute(sa.select(d.c.id).where(d.c.korean_name == COMPANY_KO))).first()
        return bool(in_consulting and in_investors)

    assert await eventually(known)
    # consulting: a session whose agenda names them, a program registration under the person's name
    mentor, kind = await make_mentor(consulting), await make_type(consulting)
    start = future_monday()
    agenda = f"{COMPANY_KO} {PERSON_KO} 대표와 GPU 클러스터 논의"
    await consulting.consulting.ScheduleSession(
        schedule_request(company.name, mentor, kind, start, agenda=agenda, request_id="privacy-session"),
        metadata=ADMIN,
    )
    # ... and a held one, rated 1 by a program manager on the founder's behalf, the comment naming them
    held = await consulting.consulting.ScheduleSession(
        schedule_request(company.name, mentor, kind, earlier_today(), request_id="privacy-held"), metadata=ADMIN
    )
    await consulting.consulting.CompleteSession(kpb.CompleteSessionRequest(name=held.name), metadata=ADMIN)
    await consulting.consulting.RecordSessionFeedback(
        kpb.RecordSessionFeedbackRequest(
            name=held.name, rating=1, fit=kpb.SESSION_FIT_NOT_A_FIT, comment=f"{PERSON_KO} 대표: 기대와 달랐음",
            reason=f"{PERSON_KO} 대표가 전화로 전함",
        ),
        metadata=ADMIN,
    )  # fmt: skip
    program = await consulting.consulting.CreateProgram(
        kpb.CreateProgramRequest(
            program=kpb.Program(
                display_name="AI 실무 교육", kind=kpb.PROGRAM_KIND_EDUCATION,
                interval=interval(start + timedelta(days=1), start + timedelta(days=1, hours=3)),
            )
        ),
        metadata=ADMIN,
    )  # fmt: skip
    await consulting.consulting.CreateRegistration(
        kpb.CreateRegistrationRequest(
            registration=kpb.Registration(
                program=program.name, participant_name=PERSON_KO, email=EMAIL, phone=PHONE, company=company.name
            ),
            request_id="privacy-registration",
        ),
        metadata=ADMIN,
    )
    # investors: an introduction whose note names them, and a webhook delivery of it that waits (its endpoint
    # does not answer), carrying the note
    firm = await investors.investors.CreateFirm(
        ipb.CreateFirmRequest(firm=ipb.Firm(korean_name="한빛벤처스", type=ipb.FIRM_TYPE_VC)), metadata=ADMIN
    )
    hook = wpb.WebhookSubscription(url="https://127.0.0.1:9/hook", event_types=["introduction.proposed"])
    await investors.investors.CreateWebhookSubscription(
        wpb.CreateWebhookSubscriptionRequest(webhook_subscription=hook), metadata=ADMIN
    )
    await investors.investors.CreateIntroduction(
        ipb.CreateIntroductionRequest(
            introduction=ipb.Introduction(
                company=company.name, firm=firm.name, note=f"{PERSON_KO} 대표({EMAIL})가 시드 투자를 찾습니다"
            )
        ),
        metadata=ADMIN,
    )

    # notifications: the person as a recipient, the company's follow-ups, and a mail delivered to the person
    async def spread_to_notifications() -> bool:
        from services.notifications import store as n

        async with notifications.runtime.db.read() as conn:
            recipient = (await conn.execute(sa.select(n.recipients).where(n.recipients.c.email == EMAIL))).first()
            follow_ups = (
                await conn.execute(sa.select(sa.func.count()).where(n.follow_ups.c.company == company.name))
            ).scalar_one()
            sent = (
                await conn.execute(
                    sa.select(sa.func.count()).where(n.deliveries.c.address == EMAIL, n.deliveries.c.state == "SENT")
                )
            ).scalar_one()
        return bool(recipient and follow_ups >= 2 and sent >= 1)

    assert await eventually(spread_to_notifications, timeout=20)
    return company.name, person.name


async def test_export_and_erase_leave_no_copy(
    companies: Running, investors: RunningInvestors, consulting: RunningConsulting, notifications: RunningNotifications
) -> None:
    company, person = await spread(companies, investors, consulting, notifications)
    channels = {
        "companies": companies.channel,
        "investors": investors.channel,
        "consulting": consulting.channel,
        "notifications": notifications.channel,
    }
    dbs = {
        "companies": companies.runtime.db,
        "investors": investors.runtime.db,
        "consulting": consulting.runtime.db,
        "notifications": notifications.runtime.db,
    }
    for service, db in dbs.items():  # the values really did spread (and the scan sees them)
        assert await scan(db, [COMPANY_KO]), service
    from services.investors import store as investors_store

    async with investors.runtime.db.read() as conn:  # the webhook delivery waiting, with the note in its body
        bodies = (await conn.execute(sa.select(investors_store.webhook_deliveries.c.body))).scalars().all()
    assert len(bodies) == 1 and EMAIL in bodies[0]

    # Export: every service names what it holds
    for service, channel in channels.items():
        exported = await export(channel, company, COMPANY_KO, COMPANY_EN)
        assert exported.service == service and exported.name == company
        assert COMPANY_KO in text_of(exported), service
    assert {r.table for r in (await export(companies.channel, company)).records} >= {"companies", "people", "outbox"}
    for service in ("companies", "consulting", "notifications"):
        exported = await export(channels[service], person, PERSON_KO, EMAIL)
        assert EMAIL in text_of(exported), service
    consulting_tables = {r.table for r in (await export(consulting.channel, person, PERSON_KO, EMAIL)).records}
    assert "registrations" in consulting_tables
    # Admin only, and a name it knows
    privacy = privacy_pb2_grpc.PrivacyServiceStub(companies.channel)
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await privacy.ExportPersonalData(privacy_pb2.ExportPersonalDataRequest(name=company), metadata=SERVICE)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as wrong:
        await privacy.ExportPersonalData(privacy_pb2.ExportPersonalDataRequest(name="firms/1"), metadata=ADMIN)
    assert wrong.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    # Erase: the person, then the company; a retry returns the same answer and changes nothing more
    erase_person = cpb.ErasePersonRequest(name=person, reason="정보주체 삭제 요청 2026-041", request_id="erase-p")
    erased = await companies.companies.ErasePerson(erase_person, metadata=ADMIN)
    assert erased.korean_name == ERASED and not erased.email and erased.HasField("erase_time")
    assert await companies.companies.ErasePerson(erase_person, metadata=ADMIN) == erased
    erase_company = cpb.EraseCompanyRequest(name=company, reason="정보주체 삭제 요청 2026-042", request_id="erase-c")
    tombstone = await companies.companies.EraseCompany(erase_company, metadata=ADMIN)
    assert tombstone.korean_name == ERASED and tombstone.sector == cpb.SECTOR_MEDICAL
    assert not tombstone.website and not tombstone.tags and tombstone.HasField("erase_time")

    # Eventually no copy anywhere: every table, every column, every service
    async def leftovers() -> dict[str, list[str]]:
        return {service: found for service, db in dbs.items() if (found := await scan(db, SECRETS))}

    async def clean() -> bool:
        return not await leftovers()

    for _ in range(100):  # up to 20 s
        if not await leftovers():
            break
        await asyncio.sleep(0.2)
    found = await leftovers()
    assert not found, json.dumps(found, ensure_ascii=False, indent=1)

    # What is kept: the tombstones, the references and the anonymous figures
    got = await companies.companies.GetPerson(cpb.GetPersonRequest(name=person), metadata=ADMIN)
    assert got.company == company and got.role == cpb.PERSON_ROLE_FOUNDER
    sessions = await consulting.consulting.ListSessions(
        kpb.ListSessionsRequest(filter=f"company={company}"), metadata=ADMIN
    )
    assert len(sessions.sessions) == 2 and not any(s.agenda or s.feedback.comment for s in sessions.sessions)
    assert [s.feedback.rating for s in sessions.sessions if s.HasField("feedback")] == [1]  # the figure stays
    from services.notifications import store as n

    async with notifications.runtime.db.read() as conn:
        pending = (
            await conn.execute(
                sa.select(sa.func.count()).where(n.follow_ups.c.company == company, n.follow_ups.c.state == "PENDING")
            )
        ).scalar_one()
        sent = (await conn.execute(sa.select(sa.func.count()).where(n.deliveries.c.state == "SENT"))).scalar_one()
    assert pending == 0 and sent >= 1
    async with companies.runtime.db.read() as conn:
        log = (await conn.execute(sa.text("SELECT subject, reason, actor FROM erasures ORDER BY id"))).all()
    assert [(r.subject, r.reason) for r in log] == [(person, erase_person.reason), (company, erase_company.reason)]

    # An erased person or company cannot be written again; the export says it was erased
    mask = field_mask_pb2.FieldMask(paths=["email"])
    again = cpb.UpdatePersonRequest(person=cpb.Person(name=person, email=EMAIL), update_mask=mask)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await companies.companies.UpdatePerson(again, metadata=ADMIN)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (await export(companies.channel, person)).erased
    for service, channel in channels.items():
        text = text_of(await export(channel, company))
        assert not any(s in text for s in SECRETS), service
    assert await clean()
