"""Deal flow on the partner API, with real founder tokens, a real nats-server and (for the KPI updates) the
companies service: a firm sees only the companies whose founders put them in its deal flow, with only the
fields granted and the matching's fit and reasons; a partner's request for an introduction goes through the
company's consent to the firm's view; KPI updates reach only the firms that invested, with only the figures
granted; firm B never sees firm A's requests, introductions or updates; bad input changes nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import grpc
import nats
from google.type import money_pb2
from hub.companies.v1 import program_pb2 as kpb
from hub.events.v1 import envelope_pb2
from hub.events.v1 import investors_pb2 as ev
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_dealflow_pb2 as dpb
from hub.investors.v1 import partner_pb2 as ppb
from hub.investors.v1 import partner_webhooks_pb2 as wpb

from hubcore.events import STREAM
from hublocal.natsserver import NatsServer
from tests.conftest import ADMIN, Running, RunningInvestors, eventually
from tests.integration.test_founders_sharing import answer, founder
from tests.integration.test_investors_api import add_company, bad_fields, create_firm, refused, thesis, won
from tests.integration.test_investors_flows import register
from tests.integration.test_partner_api import bearer, issue_key, state_of_everything
from tests.integration.test_program_api import stub

S, G = pb.IntroductionState, pb.FieldGroup
Code = grpc.StatusCode
LISTED = [G.FIELD_GROUP_NAMES, G.FIELD_GROUP_PROFILE, G.FIELD_GROUP_DEAL_FLOW]


@dataclass
class Firms:
    a: pb.Firm
    b: pb.Firm
    key_a: str
    key_b: str
    partner_a: str


async def two_firms(investors: RunningInvestors) -> Firms:
    """Firm A with two theses (healthcare at seed, education at series A), firm B with one; a key each."""
    healthcare = thesis(title="AI 헬스케어", ticket_min=None, ticket_max=None)
    education = thesis(title="에듀테크", sectors=["EDUCATION"], stages=["SERIES_A"], ticket_min=None, ticket_max=None)
    a = await create_firm(investors, "한빛벤처스", theses=[healthcare, education])
    b = await create_firm(investors, "누리캐피탈", theses=[thesis(title="의료기기", stages=["SERIES_B"])])
    keys, partners = [], []
    for firm in (a, b):
        partner = await investors.investors.CreatePartner(
            pb.CreatePartnerRequest(partner=pb.Partner(firm=firm.name, korean_name="박파트너")), metadata=ADMIN
        )
        keys.append((await issue_key(investors, partner.name))[1])
        partners.append(partner.name)
    return Firms(a, b, keys[0], keys[1], partners[0])


async def grant(investors: RunningInvestors, company: str, firm: str, groups: list[Any]) -> pb.SharingGrant:
    request = pb.CreateSharingGrantRequest(
        parent=company, sharing_grant=pb.SharingGrant(firm=firm, field_groups=groups)
    )
    return await investors.investors.CreateSharingGrant(request, metadata=founder(company))


async def deal_flow(investors: RunningInvestors, key: str, **fields: Any) -> list[dpb.DealFlowCompany]:
    found = await investors.partner.ListDealFlow(dpb.ListDealFlowRequest(**fields), metadata=bearer(key))
    return list(found.companies)


async def shown_world(investors: RunningInvestors) -> Firms:
    """Companies 1 (medical, seed) and 2 (education, seed) in A's deal flow; 3 (medical, series B) granted to
    A without DEAL_FLOW and in B's deal flow; 4 granted to no one."""
    firms = await two_firms(investors)
    await add_company(investors, 1, english_name="Doctor Note", tags=("vision",), website="https://c1.kr")
    await add_company(investors, 2, sector="EDUCATION", tags=("kids",), website="https://c2.kr")
    await add_company(investors, 3, stage="SERIES_B", website="https://c3.kr")
    await add_company(investors, 4)
    await grant(investors, "companies/1", firms.a.name, LISTED)
    await grant(investors, "companies/2", firms.a.name, [G.FIELD_GROUP_PROFILE, G.FIELD_GROUP_DEAL_FLOW])
    await grant(investors, "companies/3", firms.a.name, [G.FIELD_GROUP_NAMES, G.FIELD_GROUP_PROFILE])
    await grant(
        investors, "companies/3", firms.b.name, [G.FIELD_GROUP_PROFILE, G.FIELD_GROUP_WEBSITE, G.FIELD_GROUP_DEAL_FLOW]
    )
    return firms


def points(company: dpb.DealFlowCompany) -> dict[str, tuple[int, int]]:
    return {c.component: (c.points, c.max_points) for c in company.fit.components}


async def test_a_firm_sees_only_its_deal_flow_with_the_granted_fields_and_the_fit_reasons(
    investors: RunningInvestors,
) -> None:
    firms = await shown_world(investors)
    seen = await deal_flow(investors, firms.key_a)
    assert [c.name for c in seen] == ["companies/1", "companies/2"]  # best fit first; 3 and 4 not in A's deal flow
    one, two = seen
    assert (one.korean_name, one.english_name, one.sector, one.stage, list(one.tags)) == (
        "회사1", "Doctor Note", "MEDICAL", "SEED", ["vision"],
    )  # fmt: skip
    assert one.website == "" and list(one.field_groups) == LISTED  # WEBSITE not granted
    assert (two.korean_name, two.english_name, two.sector) == ("", "", "EDUCATION")  # NAMES not granted
    # The fit is the matching's: the healthcare thesis fits company 1 on sector and stage; the education
    # thesis fits company 2 on sector only (seed is two stages from series A).
    assert one.fit.thesis == "AI 헬스케어" and one.fit.score == 100
    assert points(one) == {"sector": (40, 40), "stage": (30, 30), "ticket": (20, 20), "geography": (10, 10)}
    assert two.fit.thesis == "에듀테크" and points(two)["sector"] == (40, 40) and points(two)["stage"] == (0, 30)
    assert "SEED is 2 stages from SERIES_A" in [c.explanation for c in two.fit.components]
    matched = await investors.investors.MatchCompanies(pb.MatchCompaniesRequest(firm=firms.a.name), metadata=ADMIN)
    by_company = {m.company: m.fit for m in matched.matches}
    assert by_company["companies/1"] == one.fit and by_company["companies/2"] == two.fit  # one scorer
    # The filters: a thesis by its title, a sector, a tag, a least score.
    named = await deal_flow(investors, firms.key_a, filter='thesis="에듀테크"')
    assert [(c.name, c.fit.thesis) for c in named] == [("companies/2", "에듀테크"), ("companies/1", "에듀테크")]
    assert points(named[1])["sector"] == (0, 40)  # company 1 is not education: the reason says which failed
    assert [c.name for c in await deal_flow(investors, firms.key_a, filter="sector=education")] == ["companies/2"]
    assert [c.name for c in await deal_flow(investors, firms.key_a, filter="tag=vision")] == ["companies/1"]
    assert [c.name for c in await deal_flow(investors, firms.key_a, min_score=80)] == ["companies/1"]
    # Firm B sees only company 3, with what company 3 granted B (no names, the website).
    (three,) = await deal_flow(investors, firms.key_b)
    assert (three.name, three.korean_name, three.website, three.fit.thesis) == (
        "companies/3",
        "",
        "https://c3.kr",
        "의료기기",
    )
    # The founders' access log: A's read of company 1, with what it showed; none of company 4.
    reads = await investors.investors.ListCompanyReads(
        pb.ListCompanyReadsRequest(parent="companies/1"), metadata=founder("companies/1")
    )
    logged = {(r.firm, r.method.rsplit("/", 1)[-1], tuple(r.field_groups)) for r in reads.company_reads}
    assert logged == {(firms.a.name, "ListDealFlow", tuple(LISTED))}
    none = await investors.investors.ListCompanyReads(
        pb.ListCompanyReadsRequest(parent="companies/4"), metadata=founder("companies/4")
    )
    assert list(none.company_reads) == []
    # A founder's revocation counts from the next call.
    (revoking,) = [g for g in (await investors.investors.ListSharingGrants(
        pb.ListSharingGrantsRequest(parent="companies/1"), metadata=founder("companies/1"))).sharing_grants
    ]  # fmt: skip
    await investors.investors.RevokeSharingGrant(
        pb.RevokeSharingGrantRequest(name=revoking.name), metadata=founder("companies/1")
    )
    assert [c.name for c in await deal_flow(investors, firms.key_a)] == ["companies/2"]


async def test_a_grant_to_every_firm_shows_the_company_to_all_and_adds_to_a_firms_own(
    investors: RunningInvestors,
) -> None:
    firms = await shown_world(investors)
    every = await grant(investors, "companies/4", "firms/-", [G.FIELD_GROUP_PROFILE, G.FIELD_GROUP_DEAL_FLOW])
    assert (every.name, every.firm) == ("companies/4/sharingGrants/-", "firms/-")
    listed = await investors.investors.ListSharingGrants(
        pb.ListSharingGrantsRequest(parent="companies/4"), metadata=founder("companies/4")
    )
    assert [(g.name, g.firm_display_name) for g in listed.sharing_grants] == [(every.name, "모든 투자사")]
    await grant(investors, "companies/4", firms.a.name, [G.FIELD_GROUP_NAMES])  # A alone also sees the names
    seen_a = {c.name: c for c in await deal_flow(investors, firms.key_a)}
    seen_b = {c.name: c for c in await deal_flow(investors, firms.key_b)}
    assert set(seen_a) == {"companies/1", "companies/2", "companies/4"} and set(seen_b) == {
        "companies/3",
        "companies/4",
    }
    assert (seen_a["companies/4"].korean_name, seen_a["companies/4"].sector) == ("회사4", "MEDICAL")
    assert (seen_b["companies/4"].korean_name, seen_b["companies/4"].sector) == ("", "MEDICAL")
    asked = await request(investors, firms.key_b, "companies/4")
    assert asked.state == S.INTRODUCTION_STATE_REQUESTED and asked.company.korean_name == ""
    assert await firm_view(investors, firms.key_a) == []  # B's request is B's alone
    before = await state_of_everything(investors)
    await refused(grant(investors, "companies/4", "firms/-", [G.FIELD_GROUP_NAMES]), Code.ALREADY_EXISTS)
    status = await refused(grant(investors, "companies/4", "firms/모두", [G.FIELD_GROUP_NAMES]), Code.INVALID_ARGUMENT)
    assert bad_fields(status) == ["sharing_grant.firm"]
    assert await state_of_everything(investors) == before
    await investors.investors.RevokeSharingGrant(
        pb.RevokeSharingGrantRequest(name=every.name), metadata=founder("companies/4")
    )
    assert "companies/4" not in {c.name for c in await deal_flow(investors, firms.key_b)}
    await refused(request(investors, firms.key_b, "companies/2"), Code.NOT_FOUND)


async def test_bad_deal_flow_input_is_refused_and_changes_nothing(investors: RunningInvestors) -> None:
    firms = await shown_world(investors)
    me = bearer(firms.key_a)
    for request, field in (
        (dpb.ListDealFlowRequest(filter="status=RESIDENT"), "filter"),
        (dpb.ListDealFlowRequest(min_score=101), "min_score"),
        (dpb.ListDealFlowRequest(max_results=-1), "max_results"),
    ):
        status = await refused(investors.partner.ListDealFlow(request, metadata=me), Code.INVALID_ARGUMENT)
        assert bad_fields(status) == [field]
    # DEAL_FLOW without PROFILE: a company is matched on its sector and stage.
    before = await state_of_everything(investors)
    status = await refused(
        grant(investors, "companies/4", firms.a.name, [G.FIELD_GROUP_NAMES, G.FIELD_GROUP_DEAL_FLOW]),
        Code.INVALID_ARGUMENT,
    )
    assert bad_fields(status) == ["sharing_grant.field_groups"]
    assert await state_of_everything(investors) == before


async def request(investors: RunningInvestors, key: str, company: str, request_id: str = "", note: str = "") -> Any:
    message = dpb.RequestIntroductionRequest(
        company=company, note=note or "시리즈 A 리드를 검토하고 싶습니다", request_id=request_id
    )
    return await investors.partner.RequestIntroduction(message, metadata=bearer(key))


async def firm_view(investors: RunningInvestors, key: str) -> list[tuple[str, Any]]:
    listed = await investors.partner.ListIntroductions(
        ppb.PartnerServiceListIntroductionsRequest(), metadata=bearer(key)
    )
    return [(i.name, i.state) for i in listed.introductions]


async def test_a_requested_introduction_goes_through_the_companys_consent_to_the_firms_view(
    investors: RunningInvestors, nats_server: NatsServer
) -> None:
    firms = await shown_world(investors)
    asked = await request(investors, firms.key_a, "companies/1", request_id="q-1")
    assert asked.state == S.INTRODUCTION_STATE_REQUESTED and asked.partner == firms.partner_a
    assert (asked.company.korean_name, asked.company.sector, asked.company.website) == ("회사1", "MEDICAL", "")
    # A retry returns the first answer; the same request_id with another request is refused.
    assert await request(investors, firms.key_a, "companies/1", request_id="q-1") == asked
    before = await state_of_everything(investors)
    status = await refused(
        request(investors, firms.key_a, "companies/1", request_id="q-1", note="다른 메모"), Code.INVALID_ARGUMENT
    )
    assert bad_fields(status) == ["request_id"]
    # A second open request for the same company is ALREADY_EXISTS.
    await refused(request(investors, firms.key_a, "companies/1", request_id="q-2"), Code.ALREADY_EXISTS)
    # Firm B: company 1 is not in its deal flow, so it does not exist for B; nor do A's introductions.
    await refused(request(investors, firms.key_b, "companies/1"), Code.NOT_FOUND)
    await refused(
        investors.partner.GetIntroduction(
            ppb.PartnerServiceGetIntroductionRequest(name=asked.name), metadata=bearer(firms.key_b)
        ),
        Code.NOT_FOUND,
    )
    assert await firm_view(investors, firms.key_b) == []
    # Not in A's deal flow (granted without DEAL_FLOW, granted nothing, unknown): NOT_FOUND alike.
    for company in ("companies/3", "companies/4", "companies/999"):
        await refused(request(investors, firms.key_a, company), Code.NOT_FOUND)
    status = await refused(request(investors, firms.key_a, "회사1"), Code.INVALID_ARGUMENT)
    assert bad_fields(status) == ["company"]
    status = await refused(request(investors, firms.key_a, "companies/2", note=" "), Code.INVALID_ARGUMENT)
    assert bad_fields(status) == ["note"]
    assert await state_of_everything(investors) == before
    # The firm sees its request at once, and the deal flow names it.
    assert await firm_view(investors, firms.key_a) == [(asked.name, S.INTRODUCTION_STATE_REQUESTED)]
    assert (await deal_flow(investors, firms.key_a, filter="tag=vision"))[0].introduction == asked.name
    # The event the program manager is told by (and a webhook will say "introduction requested" with).
    event = await last_event(nats_server, "hub.investors.introduction.requested", ev.IntroductionRequested)
    assert event.introduction.name == asked.name and event.requested_by == firms.partner_a
    # The founder consents; the firm sees the state change, then accepts.
    await answer(investors, founder("companies/1"), asked.name)
    assert await firm_view(investors, firms.key_a) == [(asked.name, S.INTRODUCTION_STATE_COMPANY_CONSENTED)]
    accepted = await investors.partner.RespondToIntroduction(
        ppb.RespondToIntroductionRequest(name=asked.name, accept=True), metadata=bearer(firms.key_a)
    )
    assert accepted.state == S.INTRODUCTION_STATE_PARTNER_ACCEPTED
    # Company 2's founder declines; the firm sees that too, and may ask again once it is closed.
    second = await request(investors, firms.key_a, "companies/2")
    await answer(investors, founder("companies/2"), second.name, consent=False)
    got = await investors.partner.GetIntroduction(
        ppb.PartnerServiceGetIntroductionRequest(name=second.name), metadata=bearer(firms.key_a)
    )
    assert got.state == S.INTRODUCTION_STATE_COMPANY_DECLINED
    again = await request(investors, firms.key_a, "companies/2")
    assert again.name != second.name
    assert await firm_view(investors, firms.key_b) == []


async def last_event(server: NatsServer, subject: str, kind: Any) -> Any:
    """The payload of the newest event on the subject, as JetStream holds it."""
    client = await nats.connect(server.url)
    try:
        message = await client.jetstream().get_last_msg(STREAM, subject)
    finally:
        await client.close()
    envelope = envelope_pb2.Envelope.FromString(message.data or b"")
    payload = kind()
    envelope.payload.Unpack(payload)
    return payload


async def updates(investors: RunningInvestors, key: str, **fields: Any) -> list[dpb.CompanyUpdate]:
    found = await investors.partner.ListCompanyUpdates(dpb.ListCompanyUpdatesRequest(**fields), metadata=bearer(key))
    return list(found.company_updates)


async def report_kpi(companies: Running, company: str, headcount: int) -> kpb.KpiReport:
    kpi = kpb.KpiReport(
        company=company, period="2026-Q3", headcount=headcount, customers=40, patents=2,
        revenue=money_pb2.Money(currency_code="KRW", units=300_000_000),
        cash_on_hand=money_pb2.Money(currency_code="KRW", units=1_200_000_000),
        monthly_burn=money_pb2.Money(currency_code="KRW", units=100_000_000),
    )  # fmt: skip
    return await stub(companies).ReportKpi(kpb.ReportKpiRequest(reason="창업자 대신 입력", report=kpi), metadata=ADMIN)


async def test_kpi_updates_reach_only_invested_firms_with_only_the_granted_figures(
    companies: Running, investors: RunningInvestors
) -> None:
    firms = await two_firms(investors)
    invested = (await register(companies, investors, "닥터노트")).name
    other = (await register(companies, investors, "에듀랩")).name
    kpis = [G.FIELD_GROUP_KPI_TEAM, G.FIELD_GROUP_KPI_FINANCE]
    await grant(investors, invested, firms.a.name, kpis)
    await grant(investors, invested, firms.b.name, [G.FIELD_GROUP_KPI_TRACTION])  # B never invested in it
    await grant(investors, other, firms.a.name, kpis)  # A never invested in it
    for company, firm in ((invested, firms.a), (other, firms.b)):
        participant = pb.Participant(firm=firm.name, amount=won(500_000_000))
        new = pb.Round(
            company=company, round_type=pb.ROUND_TYPE_SEED, amount=won(1_000_000_000), participants=[participant]
        )
        await investors.investors.CreateRound(pb.CreateRoundRequest(round=new), metadata=ADMIN)
    hooks = {}  # each firm's webhook for update.shared (a closed port: the delivery log is what is checked)
    for firm, key in ((firms.a, firms.key_a), (firms.b, firms.key_b)):
        wanted = wpb.WebhookSubscription(url="https://127.0.0.1:9/kpi", event_types=["update.shared"])
        request = wpb.CreateWebhookSubscriptionRequest(webhook_subscription=wanted)
        hooks[firm.name] = await investors.partner.CreateWebhookSubscription(request, metadata=bearer(key))
    filed = await report_kpi(companies, invested, 12)
    await report_kpi(companies, other, 30)

    async def received() -> list[dpb.CompanyUpdate]:
        return await updates(investors, firms.key_a)

    (update,) = await eventually(received, timeout=20)
    assert (update.name, update.company, update.period, update.version, update.report) == (
        f"{invested}/updates/2026-Q3", invested, "2026-Q3", 1, filed.name,
    )  # fmt: skip
    assert list(update.field_groups) == kpis
    assert (update.headcount, update.cash_on_hand.units, update.monthly_burn.units) == (12, 1_200_000_000, 100_000_000)
    assert update.HasField("runway_months") and update.runway_months == 12.0
    for hidden in ("revenue", "customers", "patents", "exports"):  # traction and IP were not granted to A
        assert not update.HasField(hidden), hidden
    # A correction replaces the figures (the newest version wins).
    await report_kpi(companies, invested, 14)

    async def corrected() -> bool:
        found = await updates(investors, firms.key_a)
        return [(u.name, u.version, u.headcount) for u in found] == [(f"{invested}/updates/2026-Q3", 2, 14)]

    assert await eventually(corrected, timeout=20)
    # Each kept version was an update.shared webhook event for A, with A's figures only; none for B.
    logged = await investors.partner.ListWebhookDeliveries(
        wpb.ListWebhookDeliveriesRequest(parent=hooks[firms.a.name].name), metadata=bearer(firms.key_a)
    )
    assert [d.event_type for d in logged.webhook_deliveries] == ["update.shared"] * 2
    bodies = [json.loads(d.body) for d in logged.webhook_deliveries]
    assert sorted(b["data"]["headcount"] for b in bodies) == [12, 14]
    assert not any("revenue" in b["data"] or "customers" in b["data"] for b in bodies)
    none = await investors.partner.ListWebhookDeliveries(
        wpb.ListWebhookDeliveriesRequest(parent=hooks[firms.b.name].name), metadata=bearer(firms.key_b)
    )
    assert list(none.webhook_deliveries) == []
    # B invested in the other company, which granted it no figures; it gets nothing of A's company either.
    assert await updates(investors, firms.key_b) == []
    assert await updates(investors, firms.key_a, filter=f"company={other}") == []
    # The access log of the invested company: A's read, with the groups it showed.
    reads = await investors.investors.ListCompanyReads(
        pb.ListCompanyReadsRequest(parent=invested, filter=f"firm={firms.a.name}"), metadata=founder(invested)
    )
    assert {tuple(r.field_groups) for r in reads.company_reads} == {tuple(kpis)}
    status = await refused(
        investors.partner.ListCompanyUpdates(
            dpb.ListCompanyUpdatesRequest(filter="company=닥터노트"), metadata=bearer(firms.key_a)
        ),
        Code.INVALID_ARGUMENT,
    )
    assert bad_fields(status) == ["filter"]
