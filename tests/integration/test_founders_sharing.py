"""Founders decide what investors see, with real founder tokens (signed as sign-in signs them): they answer
their company's introductions, grant and revoke what each firm sees (at once, on the partner API), and read
every partner read of their company, each exactly once; program managers act for them only with a reason,
recorded as done by whom for whom. Founder A never reaches company B's introductions, grants or log."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
import sqlalchemy as sa
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_pb2 as ppb

from hubcore import tokens
from hubcore.db import now
from hubcore.server import FOUNDER
from services.investors import store
from tests.conftest import ADMIN, TOKEN_SIGNING_KEY, RunningInvestors
from tests.integration.test_investors_api import add_company, bad_fields, create_firm, introduce, refused
from tests.integration.test_partner_api import bearer, issue_key

S, G = pb.IntroductionState, pb.FieldGroup
Code = grpc.StatusCode
ALL_FIELDS = ["korean_name", "english_name", "sector", "stage", "tags", "website"]


def founder(company: str) -> tuple[tuple[str, str], ...]:
    """A founder's token for the company, as SignIn issues it."""
    moment = now().replace(microsecond=0)
    claims = tokens.Claims(tokens.new_token_id(), "김서연", FOUNDER, moment, moment + timedelta(hours=8), company)
    return bearer(tokens.sign(claims, TOKEN_SIGNING_KEY))


A, B = founder("companies/1"), founder("companies/2")


async def setup(investors: RunningInvestors) -> tuple[pb.Firm, str, str, str]:
    """A firm with a partner's key; companies 1 and 2, each introduced to it (sharing every field)."""
    firm = await create_firm(investors)
    partner = await investors.investors.CreatePartner(
        pb.CreatePartnerRequest(partner=pb.Partner(firm=firm.name, korean_name="이파트너")), metadata=ADMIN
    )
    _, key = await issue_key(investors, partner.name)
    for n in (1, 2):
        await add_company(investors, n, english_name=f"Company{n}", website=f"https://c{n}.kr", tags=("vision",))
    intro_a = await introduce(investors, "companies/1", firm.name, shared_fields=ALL_FIELDS)
    intro_b = await introduce(investors, "companies/2", firm.name, shared_fields=ALL_FIELDS)
    return firm, key, intro_a.name, intro_b.name


async def answer(investors: RunningInvestors, who: Any, name: str, consent: bool = True, reason: str = "") -> Any:
    request = pb.AnswerIntroductionRequest(name=name, consent=consent, reason=reason)
    return await investors.investors.AnswerIntroduction(request, metadata=who)


async def seen(investors: RunningInvestors, key: str, name: str) -> ppb.SharedCompany:
    got = await investors.partner.GetIntroduction(
        ppb.PartnerServiceGetIntroductionRequest(name=name), metadata=bearer(key)
    )
    return got.company


async def grants(investors: RunningInvestors, who: Any, company: str) -> list[pb.SharingGrant]:
    request = pb.ListSharingGrantsRequest(parent=company, show_revoked=True)
    return list((await investors.investors.ListSharingGrants(request, metadata=who)).sharing_grants)


async def test_founders_answer_only_their_companys_introductions(investors: RunningInvestors) -> None:
    firm, _, intro_a, intro_b = await setup(investors)
    listed = await investors.investors.ListCompanyIntroductions(
        pb.ListCompanyIntroductionsRequest(parent="companies/1"), metadata=A
    )
    assert [i.name for i in listed.introductions] == [intro_a]
    # A founder may not read firms; the introduction names its firm for them.
    assert listed.introductions[0].firm_display_name == firm.korean_name != ""
    await refused(
        investors.investors.ListCompanyIntroductions(
            pb.ListCompanyIntroductionsRequest(parent="companies/2"), metadata=A
        ),
        Code.PERMISSION_DENIED,
    )
    # Another company's introduction does not exist for founder A, and stays as it was.
    await refused(answer(investors, A, intro_b), Code.NOT_FOUND)
    got_b = await investors.investors.GetIntroduction(pb.GetIntroductionRequest(name=intro_b), metadata=ADMIN)
    assert got_b.state == S.INTRODUCTION_STATE_REQUESTED and await grants(investors, ADMIN, "companies/2") == []

    consented = await answer(investors, A, intro_a, reason="좋습니다")
    step = consented.history[-1]
    assert consented.state == S.INTRODUCTION_STATE_COMPANY_CONSENTED
    assert step.actor.startswith("founder:") and step.on_behalf_of == "" and step.reason == "좋습니다"
    [grant] = await grants(investors, A, "companies/1")  # the consent granted what the introduction shares
    assert grant.name == f"companies/1/sharingGrants/{firm.name.split('/')[1]}" and grant.introduction == intro_a
    assert grant.firm_display_name == firm.korean_name
    assert list(grant.field_groups) == [G.FIELD_GROUP_NAMES, G.FIELD_GROUP_PROFILE, G.FIELD_GROUP_WEBSITE]

    # A program manager records company B's answer only with a reason, as done by them for company B.
    status = await refused(answer(investors, ADMIN, intro_b, consent=False), Code.INVALID_ARGUMENT)
    assert bad_fields(status) == ["reason"]
    declined = await answer(investors, ADMIN, intro_b, consent=False, reason="대표가 전화로 거절")
    step = declined.history[-1]
    assert declined.state == S.INTRODUCTION_STATE_COMPANY_DECLINED
    assert step.actor.startswith("admin:") and step.on_behalf_of == "companies/2"
    assert await grants(investors, ADMIN, "companies/2") == []  # a decline grants nothing

    # ChangeIntroductionState records the company's answer under the same rule.
    third = await introduce(investors, "companies/2", (await create_firm(investors, "누리캐피탈")).name)
    change = pb.ChangeIntroductionStateRequest(name=third.name, state=S.INTRODUCTION_STATE_COMPANY_CONSENTED)
    await refused(investors.investors.ChangeIntroductionState(change, metadata=ADMIN), Code.INVALID_ARGUMENT)
    # Founder B reaches none of company A's grants, log or introductions.
    for call in (
        investors.investors.ListSharingGrants(pb.ListSharingGrantsRequest(parent="companies/1"), metadata=B),
        investors.investors.ListCompanyReads(pb.ListCompanyReadsRequest(parent="companies/1"), metadata=B),
        investors.investors.RevokeSharingGrant(pb.RevokeSharingGrantRequest(name=grant.name), metadata=B),
        investors.investors.UpdateSharingGrant(
            pb.UpdateSharingGrantRequest(
                sharing_grant=pb.SharingGrant(name=grant.name, field_groups=[G.FIELD_GROUP_NAMES])
            ),
            metadata=B,
        ),
        investors.investors.CreateSharingGrant(
            pb.CreateSharingGrantRequest(
                parent="companies/1", sharing_grant=pb.SharingGrant(firm=firm.name, field_groups=[G.FIELD_GROUP_NAMES])
            ),
            metadata=B,
        ),
    ):
        await refused(call, Code.PERMISSION_DENIED)
    await refused(answer(investors, B, intro_a, consent=False), Code.NOT_FOUND)
    assert len(await grants(investors, ADMIN, "companies/1")) == 1


async def test_grants_and_revocations_take_effect_on_the_partner_api_at_once(investors: RunningInvestors) -> None:
    firm, key, intro_a, _ = await setup(investors)
    await answer(investors, A, intro_a)
    [grant] = await grants(investors, A, "companies/1")
    everything = ppb.SharedCompany(
        name="companies/1", korean_name="회사1", english_name="Company1", sector="MEDICAL", stage="SEED",
        tags=["vision"], website="https://c1.kr",
    )  # fmt: skip
    assert await seen(investors, key, intro_a) == everything

    def update(groups: list[Any], etag: str = "", reason: str = "") -> Any:
        message = pb.SharingGrant(name=grant.name, field_groups=groups, etag=etag)
        return pb.UpdateSharingGrantRequest(sharing_grant=message, reason=reason)

    grant = await investors.investors.UpdateSharingGrant(update([G.FIELD_GROUP_NAMES], grant.etag), metadata=A)
    assert await seen(investors, key, intro_a) == ppb.SharedCompany(
        name="companies/1", korean_name="회사1", english_name="Company1"
    )
    listed = await investors.partner.ListIntroductions(
        ppb.PartnerServiceListIntroductionsRequest(), metadata=bearer(key)
    )
    assert [i.company for i in listed.introductions] == [await seen(investors, key, intro_a)]

    revoked = await investors.investors.RevokeSharingGrant(pb.RevokeSharingGrantRequest(name=grant.name), metadata=A)
    assert revoked.HasField("revoke_time") and list(revoked.field_groups) == []
    assert await seen(investors, key, intro_a) == ppb.SharedCompany(name="companies/1")  # the introduction only
    await refused(investors.investors.RevokeSharingGrant(pb.RevokeSharingGrantRequest(name=grant.name), metadata=A),
                  Code.FAILED_PRECONDITION)  # fmt: skip
    await refused(investors.investors.UpdateSharingGrant(update([G.FIELD_GROUP_NAMES]), metadata=A),
                  Code.FAILED_PRECONDITION)  # fmt: skip

    create = pb.CreateSharingGrantRequest(
        parent="companies/1", sharing_grant=pb.SharingGrant(firm=firm.name, field_groups=[G.FIELD_GROUP_PROFILE])
    )
    again = await investors.investors.CreateSharingGrant(create, metadata=A)
    assert again.name == grant.name and again.actor.startswith("founder:")
    assert await seen(investors, key, intro_a) == ppb.SharedCompany(
        name="companies/1", sector="MEDICAL", stage="SEED", tags=["vision"]
    )
    await refused(investors.investors.CreateSharingGrant(create, metadata=A), Code.ALREADY_EXISTS)

    # Bad input changes nothing: an unknown group, none, a stale etag, an unknown firm, a malformed name.
    status = await refused(investors.investors.UpdateSharingGrant(update([99]), metadata=A), Code.INVALID_ARGUMENT)
    assert bad_fields(status) == ["sharing_grant.field_groups"]
    await refused(investors.investors.UpdateSharingGrant(update([]), metadata=A), Code.INVALID_ARGUMENT)
    await refused(
        investors.investors.UpdateSharingGrant(update([G.FIELD_GROUP_NAMES], etag="1"), metadata=A), Code.ABORTED
    )
    unknown = pb.CreateSharingGrantRequest(
        parent="companies/1", sharing_grant=pb.SharingGrant(firm="firms/999", field_groups=[G.FIELD_GROUP_NAMES])
    )
    await refused(investors.investors.CreateSharingGrant(unknown, metadata=A), Code.NOT_FOUND)
    bad_name = pb.RevokeSharingGrantRequest(name="companies/1/sharingGrants/x")
    status = await refused(investors.investors.RevokeSharingGrant(bad_name, metadata=A), Code.INVALID_ARGUMENT)
    assert bad_fields(status) == ["name"]

    # A program manager changes it for the company only with a reason, recorded as done for it.
    status = await refused(investors.investors.UpdateSharingGrant(update([G.FIELD_GROUP_NAMES]), metadata=ADMIN),
                           Code.INVALID_ARGUMENT)  # fmt: skip
    assert bad_fields(status) == ["reason"]
    assert await seen(investors, key, intro_a) == ppb.SharedCompany(
        name="companies/1", sector="MEDICAL", stage="SEED", tags=["vision"]
    )
    by_admin = await investors.investors.UpdateSharingGrant(
        update([G.FIELD_GROUP_WEBSITE], reason="대표 요청 (메일)"), metadata=ADMIN
    )
    assert by_admin.actor.startswith("admin:") and by_admin.on_behalf_of == "companies/1"
    assert by_admin.reason == "대표 요청 (메일)"
    assert await seen(investors, key, intro_a) == ppb.SharedCompany(name="companies/1", website="https://c1.kr")


async def reads_in_db(investors: RunningInvestors, company_id: int) -> list[Any]:
    r = store.company_reads.c
    async with investors.runtime.db.read() as conn:
        return list(await conn.execute(sa.select(store.company_reads).where(r.company_id == company_id)))


async def test_the_access_log_holds_each_read_exactly_once(investors: RunningInvestors) -> None:
    firm, key, intro_a, intro_b = await setup(investors)
    await answer(investors, A, intro_a)
    await answer(investors, ADMIN, intro_b, reason="대표 구두 동의")
    [grant_a] = await grants(investors, A, "companies/1")
    await investors.investors.UpdateSharingGrant(
        pb.UpdateSharingGrantRequest(
            sharing_grant=pb.SharingGrant(name=grant_a.name, field_groups=[G.FIELD_GROUP_NAMES])
        ),
        metadata=A,
    )
    other_firm = await create_firm(investors, "누리캐피탈")
    other = await investors.investors.CreatePartner(
        pb.CreatePartnerRequest(partner=pb.Partner(firm=other_firm.name, korean_name="박파트너")), metadata=ADMIN
    )
    _, other_key = await issue_key(investors, other.name)

    await seen(investors, key, intro_a)
    await seen(investors, key, intro_a)
    await investors.partner.ListIntroductions(ppb.PartnerServiceListIntroductionsRequest(), metadata=bearer(key))
    await refused(seen(investors, other_key, intro_a), Code.NOT_FOUND)  # another firm's read is no read
    accepted = await investors.partner.RespondToIntroduction(
        ppb.RespondToIntroductionRequest(name=intro_a, accept=True), metadata=bearer(key)
    )
    assert accepted.company.korean_name == "회사1" and accepted.company.sector == ""

    rows = await reads_in_db(investors, 1)
    assert len(rows) == 4 and len({r.partner_call_id for r in rows}) == 4  # two Gets, one List, one Respond
    async with investors.runtime.db.read() as conn:
        calls = {
            c.id: c
            for c in await conn.execute(sa.select(store.partner_calls).where(store.partner_calls.c.code == "OK"))
        }
    assert all(r.partner_call_id in calls and calls[r.partner_call_id].firm_id == r.firm_id for r in rows)
    assert len(await reads_in_db(investors, 2)) == 1  # company B was in the List only

    log = await investors.investors.ListCompanyReads(pb.ListCompanyReadsRequest(parent="companies/1"), metadata=A)
    methods = [r.method.rsplit("/", 1)[1] for r in log.company_reads]
    assert methods == [
        "RespondToIntroduction",
        "ListIntroductions",
        "GetIntroduction",
        "GetIntroduction",
    ]  # newest first
    for read in log.company_reads:
        assert read.firm == firm.name and read.partner.startswith("partners/") and read.api_key.startswith("apiKeys/")
        assert list(read.introductions) == [intro_a] and list(read.field_groups) == [G.FIELD_GROUP_NAMES]
        assert read.name.startswith("companies/1/reads/") and read.HasField("read_time")
    paged = await investors.investors.ListCompanyReads(
        pb.ListCompanyReadsRequest(parent="companies/1", page_size=3, filter=f"firm={firm.name}"), metadata=A
    )
    rest = await investors.investors.ListCompanyReads(
        pb.ListCompanyReadsRequest(
            parent="companies/1", page_size=3, filter=f"firm={firm.name}", page_token=paged.next_page_token
        ),
        metadata=A,
    )
    assert [r.name for r in [*paged.company_reads, *rest.company_reads]] == [r.name for r in log.company_reads]
    # Founder B's log holds only company B's read; company A's is refused them.
    log_b = await investors.investors.ListCompanyReads(pb.ListCompanyReadsRequest(parent="companies/2"), metadata=B)
    assert [r.method.rsplit("/", 1)[1] for r in log_b.company_reads] == ["ListIntroductions"]
    assert list(log_b.company_reads[0].field_groups) == [
        G.FIELD_GROUP_NAMES,
        G.FIELD_GROUP_PROFILE,
        G.FIELD_GROUP_WEBSITE,
    ]
    await refused(
        investors.investors.ListCompanyReads(pb.ListCompanyReadsRequest(parent="companies/1"), metadata=B),
        Code.PERMISSION_DENIED,
    )
