"""Founders and mentors sign in for themselves, end to end: a program manager's invitation, the one-time code
mailed by the notifications worker through a real SMTP server (aiosmtpd), the code exchanged for a token of the
person's role and scope, the token used (its own company only), renewed, refused once used again, expired,
brute-forced or after the person left the company; on SQLite and PostgreSQL, over real NATS."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import grpc
import sqlalchemy as sa
from google.protobuf import field_mask_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as ppb
from hub.companies.v1 import program_pb2_grpc
from hub.ops.v1 import identities_pb2 as ipb
from hub.ops.v1 import identities_pb2_grpc
from hub.ops.v1 import tokens_pb2 as tpb

from hubcore.calls import FORWARDED_FOR
from hublocal.mailsink import MailSink
from hublocal.natsserver import NatsServer
from services.companies import tables
from tests.conftest import (
    ADMIN,
    SERVICE,
    Running,
    RunningNotifications,
    eventually,
    make_settings,
    start_companies,
)
from tests.integration.test_notifications import company_with_founder


async def failure(call: Awaitable[object]) -> tuple[grpc.StatusCode, str]:
    """The status code and message of a call that must fail."""
    try:
        await call
    except grpc.aio.AioRpcError as exc:
        return exc.code(), exc.details() or ""
    raise AssertionError("the call succeeded")


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def stub(companies: Running) -> identities_pb2_grpc.IdentityServiceStub:
    return identities_pb2_grpc.IdentityServiceStub(companies.channel)


async def invite_founder(companies: Running, person: cpb.Person) -> ipb.Identity:
    wanted = ipb.Identity(role=ipb.IDENTITY_ROLE_FOUNDER, person=person.name)
    return await stub(companies).CreateIdentity(ipb.CreateIdentityRequest(identity=wanted), metadata=ADMIN)


async def mailed_code(sink: MailSink, address: str, count: int = 1) -> tuple[str, EmailMessage]:
    """The code of the count-th mail to the address, once it has arrived."""

    async def arrived() -> list[EmailMessage]:
        mails = [m for m in sink.messages if address in str(m["To"])]
        return mails if len(mails) >= count else []

    mail = (await eventually(arrived, timeout=15))[count - 1]
    body = mail.get_body(("plain",))
    assert body is not None
    found = re.search(r"로그인 코드: (\d{6})", body.get_content())
    assert found, body.get_content()
    return found.group(1), mail


async def sign_in(companies: Running, email: str, code: str) -> ipb.SignInResponse:
    return await stub(companies).SignIn(ipb.SignInRequest(email=email, code=code))


async def test_an_invited_founder_signs_in_with_the_mailed_code_and_acts_for_their_company_alone(
    companies: Running, notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    company, person = await company_with_founder(companies, "메디비전", "Seoyeon@MediVision.kr")
    other, stranger = await company_with_founder(companies, "누리로보틱스", "lee@nuri.kr")
    identity = await invite_founder(companies, person)
    assert (identity.scope, identity.email, identity.display_name) == (company.name, "seoyeon@medivision.kr", "김서연")
    assert identity.state == ipb.IDENTITY_STATE_ACTIVE and identity.invited_by.startswith("admin:")

    code, mail = await mailed_code(mail_sink, "seoyeon@medivision.kr")
    assert "메디비전의 창업자로 초대되었습니다" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert code in str(mail["Subject"])
    signed = await sign_in(companies, "Seoyeon@MediVision.KR", code)
    [token] = signed.access_tokens
    assert (token.role, token.scope) == (tpb.ACCESS_TOKEN_ROLE_FOUNDER, company.name)
    lifetime = token.expire_time.ToDatetime() - token.create_time.ToDatetime()
    assert timedelta(hours=7, minutes=59) < lifetime <= timedelta(hours=8)

    founder = bearer(token.secret)
    own = await companies.companies.GetCompany(cpb.GetCompanyRequest(name=company.name), metadata=founder)
    assert own.korean_name == "메디비전"
    program = program_pb2_grpc.ProgramServiceStub(companies.channel)
    await program.ListKpiReports(ppb.ListKpiReportsRequest(company=company.name), metadata=founder)
    # Their company's people, and no one else: another company's person does not exist for them.
    people = await companies.companies.ListPeople(cpb.ListPeopleRequest(), metadata=founder)
    assert [p.name for p in people.people] == [person.name]
    assert (await companies.companies.GetPerson(cpb.GetPersonRequest(name=person.name), metadata=founder)).email
    hidden = await failure(companies.companies.GetPerson(cpb.GetPersonRequest(name=stranger.name), metadata=founder))
    assert hidden[0] == grpc.StatusCode.NOT_FOUND
    asked = cpb.ListPeopleRequest(filter=f"company={other.name}")
    assert (await failure(companies.companies.ListPeople(asked, metadata=founder)))[
        0
    ] == grpc.StatusCode.PERMISSION_DENIED
    # Another company, any list of every company, and the program managers' calls are not theirs.
    for call in (
        companies.companies.GetCompany(cpb.GetCompanyRequest(name=other.name), metadata=founder),
        program.ListKpiReports(ppb.ListKpiReportsRequest(company=other.name), metadata=founder),
        companies.companies.ListCompanies(cpb.ListCompaniesRequest(), metadata=founder),
        stub(companies).ListIdentities(ipb.ListIdentitiesRequest(), metadata=founder),
    ):
        assert (await failure(call))[0] == grpc.StatusCode.PERMISSION_DENIED

    # The code worked once.
    again = await failure(sign_in(companies, "seoyeon@medivision.kr", code))
    assert again[0] == grpc.StatusCode.UNAUTHENTICATED

    # Renewal: a fresh token of the same identity; the one presented stops working at once.
    renewed = await stub(companies).RenewAccessToken(ipb.RenewAccessTokenRequest(), metadata=founder)
    assert renewed.scope == company.name and renewed.secret != token.secret
    old = await failure(companies.companies.GetCompany(cpb.GetCompanyRequest(name=company.name), metadata=founder))
    assert old[0] == grpc.StatusCode.UNAUTHENTICATED and "revoked" in old[1]
    await companies.companies.GetCompany(cpb.GetCompanyRequest(name=company.name), metadata=bearer(renewed.secret))

    # Every step is in the sign-in log, newest first, with who acted.
    request = ipb.ListSignInEventsRequest(filter="email=seoyeon@medivision.kr")
    log = (await stub(companies).ListSignInEvents(request, metadata=ADMIN)).sign_in_events
    assert [e.outcome for e in log] == ["RENEWED", "WRONG_CODE", "SIGNED_IN", "CODE_SENT"]
    assert log[0].actor.startswith("founder:accessTokens/") and log[2].identity == identity.name
    assert log[2].actor.startswith("sign-in:") and log[3].actor.startswith("admin:")


async def test_a_program_manager_signs_in_to_an_admin_token_and_signing_out_revokes_it(
    companies: Running, notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    wanted = ipb.Identity(role=ipb.IDENTITY_ROLE_ADMIN, email="Minji@Hub.KAIST.ac.kr", display_name="김민지")
    identity = await stub(companies).CreateIdentity(ipb.CreateIdentityRequest(identity=wanted), metadata=ADMIN)
    assert (identity.role, identity.scope, identity.email) == (ipb.IDENTITY_ROLE_ADMIN, "", "minji@hub.kaist.ac.kr")
    code, mail = await mailed_code(mail_sink, "minji@hub.kaist.ac.kr")
    assert "프로그램 매니저로 초대되었습니다" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [token] = (await sign_in(companies, "minji@hub.kaist.ac.kr", code)).access_tokens
    assert (token.role, token.scope) == (tpb.ACCESS_TOKEN_ROLE_ADMIN, "")
    manager = bearer(token.secret)
    await companies.companies.ListCompanies(cpb.ListCompaniesRequest(), metadata=manager)
    await stub(companies).ListIdentities(ipb.ListIdentitiesRequest(), metadata=manager)

    signed_out = await stub(companies).SignOut(ipb.SignOutRequest(), metadata=manager)
    assert signed_out.name == token.name and signed_out.revoke_reason == "signed out"
    gone = await failure(companies.companies.ListCompanies(cpb.ListCompaniesRequest(), metadata=manager))
    assert gone[0] == grpc.StatusCode.UNAUTHENTICATED and "revoked" in gone[1]
    request = ipb.ListSignInEventsRequest(filter="email=minji@hub.kaist.ac.kr")
    log = (await stub(companies).ListSignInEvents(request, metadata=ADMIN)).sign_in_events
    assert [e.outcome for e in log] == ["SIGNED_OUT", "SIGNED_IN", "CODE_SENT"]
    # The machine's configured admin token is not in the register: nothing to revoke, and it keeps working.
    kept = await failure(stub(companies).SignOut(ipb.SignOutRequest(), metadata=ADMIN))
    assert kept[0] == grpc.StatusCode.FAILED_PRECONDITION
    await companies.companies.ListCompanies(cpb.ListCompaniesRequest(), metadata=ADMIN)
    # A program manager is invited by email and name alone.
    for bad, field in (
        (ipb.Identity(role=ipb.IDENTITY_ROLE_ADMIN, email="x@hub.kr"), "identity.display_name"),
        (ipb.Identity(role=ipb.IDENTITY_ROLE_ADMIN, email="x@hub.kr", display_name="X", scope="companies/1"),
         "identity.scope"),
    ):  # fmt: skip
        refused = await failure(stub(companies).CreateIdentity(ipb.CreateIdentityRequest(identity=bad), metadata=ADMIN))
        assert refused[0] == grpc.StatusCode.INVALID_ARGUMENT and field in refused[1]


async def test_leaving_the_company_ends_the_identity_and_revokes_its_tokens_everywhere(
    companies: Running, notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    company, person = await company_with_founder(companies, "메디비전", "kim@medi.kr")
    other, _ = await company_with_founder(companies, "누리로보틱스", "lee@nuri.kr")
    identity = await invite_founder(companies, person)
    code, _ = await mailed_code(mail_sink, "kim@medi.kr")
    signed = await sign_in(companies, "kim@medi.kr", code)
    founder = bearer(signed.access_tokens[0].secret)
    await companies.companies.GetCompany(cpb.GetCompanyRequest(name=company.name), metadata=founder)

    moved = cpb.Person(name=person.name, company=other.name, etag=person.etag)
    await companies.companies.UpdatePerson(
        cpb.UpdatePersonRequest(person=moved, update_mask=field_mask_pb2.FieldMask(paths=["company"])), metadata=ADMIN
    )
    # The revocation travels as hub.ops.access_token.revoked, to this service's consumer and every other's.
    token_id = signed.access_tokens[0].name.removeprefix("accessTokens/")

    async def revoked_everywhere() -> bool:
        return all(token_id in r.verifier.revoked for r in (companies.runtime, notifications.runtime))

    await eventually(revoked_everywhere, timeout=10)
    gone = await failure(companies.companies.GetCompany(cpb.GetCompanyRequest(name=company.name), metadata=founder))
    assert gone[0] == grpc.StatusCode.UNAUTHENTICATED and "revoked" in gone[1]
    listed = await stub(companies).ListIdentities(ipb.ListIdentitiesRequest(filter="state=REVOKED"), metadata=ADMIN)
    [ended] = listed.identities
    assert ended.name == identity.name and f"left {company.name}" in ended.revoke_reason
    # Asking for a code now mails nothing, and answers as for anyone.
    answer = await stub(companies).RequestSignInCode(ipb.RequestSignInCodeRequest(email="kim@medi.kr"))
    assert answer.HasField("expire_time")
    await asyncio.sleep(1.0)
    assert len([m for m in mail_sink.messages if "kim@medi.kr" in str(m["To"])]) == 1


async def test_wrong_codes_void_the_code_and_an_expired_code_is_refused(
    companies: Running, notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    _, person = await company_with_founder(companies, "메디비전", "kim@medi.kr")
    await invite_founder(companies, person)
    code, _ = await mailed_code(mail_sink, "kim@medi.kr")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(5):
        assert (await failure(sign_in(companies, "kim@medi.kr", wrong)))[0] == grpc.StatusCode.UNAUTHENTICATED
    # Five wrong codes voided it: the right one no longer works.
    assert (await failure(sign_in(companies, "kim@medi.kr", code)))[0] == grpc.StatusCode.UNAUTHENTICATED

    # A new code, made to expire: refused too, and nothing was issued by any of it.
    await stub(companies).RequestSignInCode(ipb.RequestSignInCodeRequest(email="kim@medi.kr"))
    fresh, _ = await mailed_code(mail_sink, "kim@medi.kr", count=2)
    async with companies.runtime.db.engine.begin() as conn:
        newest = sa.select(sa.func.max(tables.sign_in_codes.c.id)).scalar_subquery()
        expire = tables.sign_in_codes.update().where(tables.sign_in_codes.c.id == newest)
        await conn.execute(expire.values(expire_at=sa.func.current_timestamp()))
    assert (await failure(sign_in(companies, "kim@medi.kr", fresh)))[0] == grpc.StatusCode.UNAUTHENTICATED
    async with companies.runtime.db.read() as conn:
        hashes = list((await conn.execute(sa.select(tables.sign_in_codes.c.code_hash))).scalars())
        issued = (await conn.execute(sa.select(sa.func.count()).select_from(tables.access_tokens))).scalar_one()
    assert issued == 0
    assert all(len(h) == 64 and code not in h and fresh not in h for h in hashes)  # kept as keyed hashes only


async def test_asking_for_a_code_tells_nobody_who_is_invited(
    companies: Running, notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    _, person = await company_with_founder(companies, "메디비전", "kim@medi.kr")
    await invite_founder(companies, person)
    await mailed_code(mail_sink, "kim@medi.kr")
    known = await stub(companies).RequestSignInCode(ipb.RequestSignInCodeRequest(email="kim@medi.kr"))
    unknown = await stub(companies).RequestSignInCode(ipb.RequestSignInCodeRequest(email="nobody@medi.kr"))
    assert known.ListFields() and [f.name for f, _ in known.ListFields()] == [f.name for f, _ in unknown.ListFields()]
    await mailed_code(mail_sink, "kim@medi.kr", count=2)
    await asyncio.sleep(0.5)
    assert not [m for m in mail_sink.messages if "nobody@" in str(m["To"])]


async def test_invitations_refuse_what_cannot_sign_in(companies: Running) -> None:
    company, person = await company_with_founder(companies, "메디비전", "")
    founder = ipb.Identity(role=ipb.IDENTITY_ROLE_FOUNDER, person=person.name)
    cases = {
        "no email": (founder, grpc.StatusCode.FAILED_PRECONDITION),
        "no person": (ipb.Identity(role=ipb.IDENTITY_ROLE_FOUNDER, person="people/999"), grpc.StatusCode.NOT_FOUND),
        "scope by hand": (
            ipb.Identity(role=ipb.IDENTITY_ROLE_FOUNDER, person=person.name, scope=company.name),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        "mentor without email": (
            ipb.Identity(role=ipb.IDENTITY_ROLE_MENTOR, scope="mentors/1", display_name="박교수"),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        "no role": (ipb.Identity(person=person.name), grpc.StatusCode.INVALID_ARGUMENT),
    }
    for label, (wanted, code) in cases.items():
        got = await failure(stub(companies).CreateIdentity(ipb.CreateIdentityRequest(identity=wanted), metadata=ADMIN))
        assert got[0] == code, (label, got)
    mentor = ipb.Identity(
        role=ipb.IDENTITY_ROLE_MENTOR, scope="mentors/3", email="park@kaist.ac.kr", display_name="박교수"
    )
    made = await stub(companies).CreateIdentity(ipb.CreateIdentityRequest(identity=mentor), metadata=ADMIN)
    assert (made.scope, made.email, made.language) == ("mentors/3", "park@kaist.ac.kr", "ko")
    twice = await failure(stub(companies).CreateIdentity(ipb.CreateIdentityRequest(identity=mentor), metadata=ADMIN))
    assert twice[0] == grpc.StatusCode.ALREADY_EXISTS
    # An admin token cannot be made a founder's by hand: those come from signing in.
    by_hand = tpb.AccessToken(subject="김서연", role=tpb.ACCESS_TOKEN_ROLE_FOUNDER)
    from hub.ops.v1 import tokens_pb2_grpc

    register = tokens_pb2_grpc.AccessTokenServiceStub(companies.channel)
    got = await failure(register.CreateAccessToken(tpb.CreateAccessTokenRequest(access_token=by_hand), metadata=ADMIN))
    assert got[0] == grpc.StatusCode.INVALID_ARGUMENT


async def test_too_many_sign_in_attempts_from_one_address_are_refused_before_any_work(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> None:
    settings = make_settings(
        "companies", await new_database("companies"), nats_server.url, tmp_path,
        sign_in_peer_burst=3, sign_in_peer_rate=0.001,
    )  # fmt: skip
    running = await start_companies(settings)
    try:
        codes = []
        for _ in range(5):
            try:
                await stub(running).SignIn(ipb.SignInRequest(email="kim@medi.kr", code="123456"))
            except grpc.aio.AioRpcError as exc:
                codes.append(exc.code())
        assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 3 + [grpc.StatusCode.RESOURCE_EXHAUSTED] * 2
        async with running.runtime.db.read() as conn:
            logged = (await conn.execute(sa.select(sa.func.count()).select_from(tables.sign_in_events))).scalar_one()
        assert logged == 3  # the refused ones did no work
    finally:
        await running.channel.close()
        await running.runtime.stop()


async def test_a_front_end_with_a_service_token_passes_on_each_persons_address_and_no_one_else_can(
    companies: Running,
) -> None:
    """The console signs people in for them: with its service token, the address it forwards is the caller, so
    one person's attempts do not use up everyone's; the same header from anyone else is ignored."""
    api, burst = stub(companies), companies.runtime.settings.sign_in_peer_burst

    def ask(*metadata: tuple[str, str]) -> Awaitable[object]:
        return api.RequestSignInCode(ipb.RequestSignInCodeRequest(email="nobody@hub.kr"), metadata=metadata)

    first = (*SERVICE, (FORWARDED_FOR, "203.0.113.5"))
    for _ in range(burst):
        await ask(*first)
    assert (await failure(ask(*first)))[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    await ask(*SERVICE, (FORWARDED_FOR, "203.0.113.6"))  # another person behind the same console
    # Without a service token the header is nobody's word: the limit is the real peer's.
    for n in range(burst):
        await ask((FORWARDED_FOR, f"198.51.100.{n}"))
    assert (await failure(ask((FORWARDED_FOR, "198.51.100.99"))))[0] == grpc.StatusCode.RESOURCE_EXHAUSTED
    request = ipb.ListSignInEventsRequest(page_size=100)
    peers = {e.peer for e in (await api.ListSignInEvents(request, metadata=ADMIN)).sign_in_events}
    assert {"203.0.113.5", "203.0.113.6"} <= peers and not any(p.startswith("198.51.100.") for p in peers)
