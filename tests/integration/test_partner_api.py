"""The partner API: an authorization matrix over every PartnerService method (no token, bad token, revoked
and expired keys, an admin token, a partner of another firm, the right partner), with nothing changed on
refusal; what a partner sees of a company; rate limits; the audit log; TLS and the loopback rule."""

from __future__ import annotations

import collections
import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeAlias

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf import field_mask_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_dealflow_pb2 as dpb
from hub.investors.v1 import partner_keys_pb2 as kpb
from hub.investors.v1 import partner_pb2 as ppb
from hub.investors.v1 import partner_pb2_grpc
from hub.investors.v1 import partner_webhooks_pb2 as wpb

from hubcore.db import now
from hublocal.natsserver import NatsServer
from hublocal.tls import local_certificate
from services.investors import policy, store
from tests.conftest import ADMIN, RunningInvestors, investors_settings, start_investors
from tests.integration.test_investors_api import add_company, create_firm, won

S = pb.IntroductionState
Code: TypeAlias = grpc.StatusCode


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


@dataclass
class World:
    """Two firms with a partner and a key each, and firm A's introductions in the states each method needs."""

    right: str  # firm A's partner's key
    other: str  # firm B's partner's key
    revoked: str
    expired: str
    consented: str  # firm A, COMPANY_CONSENTED (companies/1): Respond, Get, ReportRound
    accepted: str  # firm A, PARTNER_ACCEPTED (companies/2): RecordMeeting
    met: str  # firm A, MEETING_HELD (companies/3): RecordOutcome
    unshared: str  # firm A, REQUESTED (companies/4): the company has not consented; invisible to the firm
    subscription: str  # firm A's webhook subscription (to a closed port, for update.shared only: nothing is sent)
    listed: str = "companies/5"  # in firm A's deal flow (a grant with DEAL_FLOW), invested in by firm A


async def issue_key(investors: RunningInvestors, partner: str) -> tuple[str, str]:
    key = await investors.investors.CreateApiKey(
        pb.CreateApiKeyRequest(api_key=pb.ApiKey(partner=partner)), metadata=ADMIN
    )
    return key.name, key.secret


async def walk(investors: RunningInvestors, company: str, firm: str, states: list[Any], **fields: Any) -> str:
    intro = await investors.investors.CreateIntroduction(
        pb.CreateIntroductionRequest(
            introduction=pb.Introduction(company=company, firm=firm, note="팀이 탄탄합니다", **fields)
        ),
        metadata=ADMIN,
    )
    for state in states:
        await investors.investors.ChangeIntroductionState(
            pb.ChangeIntroductionStateRequest(name=intro.name, state=state, reason="메일로 받은 답"), metadata=ADMIN
        )
    return intro.name


def failed_delivery(subscription_id: int) -> Any:
    from services.investors.domain import webhooks as hooks

    at = now() - dt.timedelta(days=2)
    return hooks.Delivery(
        id=0, delivery_id=f"failed-{subscription_id}", subscription_id=subscription_id, event_type="update.shared",
        event_id="e-1", occurred_at=at, body="{}", retry_from=at, state=hooks.FAILED, attempts=9,
    )  # fmt: skip


async def build_world(investors: RunningInvestors) -> World:
    firm_a = await create_firm(investors, "한빛벤처스")
    firm_b = await create_firm(investors, "누리캐피탈")
    keys = {}
    for label, firm in (("a", firm_a), ("b", firm_b)):
        partner = await investors.investors.CreatePartner(
            pb.CreatePartnerRequest(partner=pb.Partner(firm=firm.name, korean_name=f"파트너{label}")), metadata=ADMIN
        )
        keys[label] = partner.name
    _, right = await issue_key(investors, keys["a"])
    _, other = await issue_key(investors, keys["b"])
    revoked_name, revoked = await issue_key(investors, keys["a"])
    await investors.investors.RevokeApiKey(pb.RevokeApiKeyRequest(name=revoked_name), metadata=ADMIN)
    expired_name, expired = await issue_key(investors, keys["a"])
    async with investors.runtime.db.engine.begin() as conn:
        await conn.execute(
            store.api_keys.update()
            .where(store.api_keys.c.id == int(expired_name.split("/")[1]))
            .values(expire_at=now() - dt.timedelta(seconds=1))
        )
    for n in range(1, 6):
        await add_company(
            investors, n, english_name=f"Company{n}", website=f"https://c{n}.kr", tags=("vision",), status="RESIDENT"
        )
    groups = [pb.FIELD_GROUP_NAMES, pb.FIELD_GROUP_PROFILE, pb.FIELD_GROUP_DEAL_FLOW, pb.FIELD_GROUP_KPI_TEAM]
    await investors.investors.CreateSharingGrant(
        pb.CreateSharingGrantRequest(
            parent="companies/5",
            sharing_grant=pb.SharingGrant(firm=firm_a.name, field_groups=groups),
            reason="창업자 요청",
        ),
        metadata=ADMIN,
    )
    consent, accept, meet = (
        S.INTRODUCTION_STATE_COMPANY_CONSENTED,
        S.INTRODUCTION_STATE_PARTNER_ACCEPTED,
        S.INTRODUCTION_STATE_MEETING_HELD,
    )
    hook = wpb.WebhookSubscription(firm=firm_a.name, url="https://127.0.0.1:9/hook", event_types=["update.shared"])
    subscription = await investors.investors.CreateWebhookSubscription(
        wpb.CreateWebhookSubscriptionRequest(webhook_subscription=hook), metadata=ADMIN
    )
    async with investors.runtime.db.write(actor="test") as uow:  # one delivery that failed, for the replay
        await store.insert_deliveries(uow.conn, [failed_delivery(int(subscription.name.split("/")[1]))])
    return World(
        subscription=subscription.name,
        right=right,
        other=other,
        revoked=revoked,
        expired=expired,
        consented=await walk(investors, "companies/1", firm_a.name, [consent], shared_fields=["korean_name", "sector"]),
        accepted=await walk(investors, "companies/2", firm_a.name, [consent, accept]),
        met=await walk(investors, "companies/3", firm_a.name, [consent, accept, meet]),
        unshared=await walk(investors, "companies/4", firm_a.name, []),
    )


async def state_of_everything(investors: RunningInvestors) -> dict[str, list[Any]]:
    """Every table a partner call could change, but the audit log (which records refusals too)."""
    tables = [
        store.introductions, store.introduction_history, store.rounds, store.round_participants, store.api_keys,
        store.metadata.tables["idempotency_keys"], store.webhook_subscriptions, store.webhook_deliveries,
    ]  # fmt: skip
    outbox = store.metadata.tables["outbox"]
    async with investors.runtime.db.read() as conn:
        # Ordered: PostgreSQL returns rows in a new physical order once the relay has updated them.
        found = {
            t.name: [tuple(r) for r in await conn.execute(sa.select(t).order_by(*t.primary_key.columns))]
            for t in tables
        }
        events = sa.select(outbox.c.event_id, outbox.c.subject).order_by(outbox.c.seq)
        found["events"] = [tuple(r) for r in await conn.execute(events)]
    return found  # the outbox without published_at, which the relay sets meanwhile


REQUESTS = {
    "GetMyApiKey": lambda w: kpb.GetMyApiKeyRequest(),
    "ListIntroductions": lambda w: ppb.PartnerServiceListIntroductionsRequest(),
    "GetIntroduction": lambda w: ppb.PartnerServiceGetIntroductionRequest(name=w.consented),
    "RespondToIntroduction": lambda w: ppb.RespondToIntroductionRequest(name=w.consented, accept=True, reason="좋아요"),
    "RecordMeeting": lambda w: ppb.RecordMeetingRequest(name=w.accepted),
    "RecordOutcome": lambda w: ppb.RecordOutcomeRequest(name=w.met, outcome=S.INTRODUCTION_STATE_PASSED),
    "ReportRound": lambda w: ppb.ReportRoundRequest(
        round=pb.Round(company="companies/1", round_type=pb.ROUND_TYPE_SEED, amount=won(1_000_000_000)),
        request_id="r-1",
    ),
    "ListDealFlow": lambda w: dpb.ListDealFlowRequest(),
    "RequestIntroduction": lambda w: dpb.RequestIntroductionRequest(company=w.listed, note="만나고 싶습니다"),
    "ListCompanyUpdates": lambda w: dpb.ListCompanyUpdatesRequest(),
    "CreateWebhookSubscription": lambda w: wpb.CreateWebhookSubscriptionRequest(
        webhook_subscription=wpb.WebhookSubscription(url="https://127.0.0.1:9/new", event_types=["round.reported"])
    ),
    "ListWebhookSubscriptions": lambda w: wpb.ListWebhookSubscriptionsRequest(),
    "GetWebhookSubscription": lambda w: wpb.GetWebhookSubscriptionRequest(name=w.subscription),
    "UpdateWebhookSubscription": lambda w: wpb.UpdateWebhookSubscriptionRequest(
        webhook_subscription=wpb.WebhookSubscription(name=w.subscription, description="딜 알림"),
        update_mask=field_mask_pb2.FieldMask(paths=["description"]),
    ),
    "DeleteWebhookSubscription": lambda w: wpb.DeleteWebhookSubscriptionRequest(name=w.subscription),
    "RotateWebhookSecret": lambda w: wpb.RotateWebhookSecretRequest(name=w.subscription),
    "ListWebhookDeliveries": lambda w: wpb.ListWebhookDeliveriesRequest(parent=w.subscription),
    "ReplayWebhookDelivery": lambda w: wpb.ReplayWebhookDeliveryRequest(name=w.subscription),  # its failed one
    "SendTestWebhook": lambda w: wpb.SendTestWebhookRequest(name=w.subscription),
}
# What a partner of another firm gets: never a sign that the introduction or the company exists.
OTHER_FIRM = {
    "GetMyApiKey": Code.OK,  # its own key
    "ListIntroductions": Code.OK,  # an empty list
    "GetIntroduction": Code.NOT_FOUND,
    "RespondToIntroduction": Code.NOT_FOUND,
    "RecordMeeting": Code.NOT_FOUND,
    "RecordOutcome": Code.NOT_FOUND,
    "ReportRound": Code.PERMISSION_DENIED,
    "ListDealFlow": Code.OK,  # an empty list: company 5 is in firm A's deal flow only
    "RequestIntroduction": Code.NOT_FOUND,
    "ListCompanyUpdates": Code.OK,  # an empty list
    # A subscription of another firm is NOT_FOUND for them; a create makes their own (not a refusal: skipped).
    "CreateWebhookSubscription": None,
    "ListWebhookSubscriptions": Code.OK,  # an empty list
    **dict.fromkeys(
        [
            "GetWebhookSubscription",
            "UpdateWebhookSubscription",
            "DeleteWebhookSubscription",
            "RotateWebhookSecret",
            "ListWebhookDeliveries",
            "ReplayWebhookDelivery",
            "SendTestWebhook",
        ],
        Code.NOT_FOUND,
    ),
}
# Methods that change nothing (the webhooks' read/write marks, which the keys' scopes follow, are checked here).
READS = {"GetMyApiKey", "ListIntroductions", "GetIntroduction", "ListDealFlow", "ListCompanyUpdates"} | {
    m for m, a in policy.WEBHOOK_ACCESS.items() if a == "read"
}


def shown(answer: Any) -> list[Any]:
    """What a List's answer shows (its repeated field)."""
    for field in ("introductions", "companies", "company_updates", "webhook_subscriptions"):
        if field in answer.DESCRIPTOR.fields_by_name:
            return list(getattr(answer, field))
    return [answer]


async def call(investors: RunningInvestors, method: str, request: Any, metadata: Any) -> tuple[Code, Any]:
    try:
        return Code.OK, await getattr(investors.partner, method)(request, metadata=metadata)
    except grpc.aio.AioRpcError as exc:
        return exc.code(), None


def test_the_matrix_covers_every_method() -> None:
    methods = set(ppb.DESCRIPTOR.services_by_name["PartnerService"].methods_by_name)
    assert set(REQUESTS) == set(OTHER_FIRM) == methods


@pytest.mark.parametrize("method", sorted(REQUESTS))
async def test_authorization_matrix(investors: RunningInvestors, method: str) -> None:
    world = await build_world(investors)
    request = REQUESTS[method](world)
    refusals = {
        "no token": ((), Code.UNAUTHENTICATED),
        "not a bearer token": ((("authorization", world.right),), Code.UNAUTHENTICATED),
        "bad token": (bearer("hubpk_" + "x" * 43), Code.UNAUTHENTICATED),
        "revoked key": (bearer(world.revoked), Code.UNAUTHENTICATED),
        "expired key": (bearer(world.expired), Code.UNAUTHENTICATED),
        "admin token": (ADMIN, Code.PERMISSION_DENIED),
        "partner of another firm": (bearer(world.other), OTHER_FIRM[method]),
    }
    for who, (metadata, expected) in refusals.items():
        if expected is None:
            continue
        before = await state_of_everything(investors)
        code, answer = await call(investors, method, request, metadata)
        assert code == expected, f"{method} by {who}: {code}"
        if answer is not None and method == "GetMyApiKey":
            assert answer.firm != "firms/1", f"{method} by {who} saw firm A's key"
        elif answer is not None:
            assert not shown(answer), f"{method} by {who} saw another firm's introductions or companies"
        assert await state_of_everything(investors) == before, f"{method} by {who} changed something"
    before = await state_of_everything(investors)
    code, answer = await call(investors, method, request, bearer(world.right))
    assert code == Code.OK, method
    if method in READS:
        assert await state_of_everything(investors) == before
    else:
        assert await state_of_everything(investors) != before


async def test_a_partner_sees_only_shared_introductions_and_shared_fields(investors: RunningInvestors) -> None:
    world = await build_world(investors)
    listed = await investors.partner.ListIntroductions(
        ppb.PartnerServiceListIntroductionsRequest(), metadata=bearer(world.right)
    )
    assert [i.name for i in listed.introductions] == [world.met, world.accepted, world.consented]  # newest first
    consented = listed.introductions[2]
    assert consented.company == ppb.SharedCompany(name="companies/1", korean_name="회사1", sector="MEDICAL")
    default = listed.introductions[0].company  # the default shares names, sector and stage; never status
    assert (default.english_name, default.stage, default.website, list(default.tags)) == ("Company3", "SEED", "", [])
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await investors.partner.GetIntroduction(
            ppb.PartnerServiceGetIntroductionRequest(name=world.unshared), metadata=bearer(world.right)
        )
    assert caught.value.code() == Code.NOT_FOUND  # not consented yet: the firm cannot know it exists
    filtered = await investors.partner.ListIntroductions(
        ppb.PartnerServiceListIntroductionsRequest(filter="state=MEETING_HELD"), metadata=bearer(world.right)
    )
    assert [i.name for i in filtered.introductions] == [world.met]
    paged = await investors.partner.ListIntroductions(
        ppb.PartnerServiceListIntroductionsRequest(page_size=2), metadata=bearer(world.right)
    )
    rest = await investors.partner.ListIntroductions(
        ppb.PartnerServiceListIntroductionsRequest(page_size=2, page_token=paged.next_page_token),
        metadata=bearer(world.right),
    )
    assert [i.name for i in [*paged.introductions, *rest.introductions]] == [w.name for w in listed.introductions]


async def test_partner_transitions_follow_the_state_machine(investors: RunningInvestors) -> None:
    world = await build_world(investors)
    me = bearer(world.right)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await investors.partner.RecordMeeting(ppb.RecordMeetingRequest(name=world.consented), metadata=me)
    assert caught.value.code() == Code.FAILED_PRECONDITION
    answered = await investors.partner.RespondToIntroduction(
        ppb.RespondToIntroductionRequest(name=world.consented, accept=False, reason="포트폴리오 충돌"), metadata=me
    )
    assert answered.state == S.INTRODUCTION_STATE_PARTNER_DECLINED
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await investors.partner.RecordOutcome(
            ppb.RecordOutcomeRequest(name=world.met, outcome=S.INTRODUCTION_STATE_CANCELLED), metadata=me
        )
    assert caught.value.code() == Code.INVALID_ARGUMENT
    got = await investors.investors.GetIntroduction(pb.GetIntroductionRequest(name=world.consented), metadata=ADMIN)
    step = got.history[-1]
    assert step.actor.startswith("partner:apiKeys/") and step.reason == "포트폴리오 충돌"


async def test_report_round_is_idempotent_per_firm(investors: RunningInvestors) -> None:
    world = await build_world(investors)
    request = REQUESTS["ReportRound"](world)
    first = await investors.partner.ReportRound(request, metadata=bearer(world.right))
    again = await investors.partner.ReportRound(request, metadata=bearer(world.right))
    assert again == first and first.reporter.startswith("partner:apiKeys/")
    listed = await investors.investors.ListRounds(pb.ListRoundsRequest(), metadata=ADMIN)
    assert len(listed.rounds) == 1


async def test_the_audit_log_records_every_partner_call(investors: RunningInvestors) -> None:
    world = await build_world(investors)
    get = REQUESTS["GetIntroduction"](world)
    await call(investors, "GetIntroduction", get, bearer(world.right))
    await call(investors, "GetIntroduction", get, bearer(world.other))
    await call(investors, "GetIntroduction", get, ())
    entries = (await investors.investors.ListPartnerCalls(pb.ListPartnerCallsRequest(), metadata=ADMIN)).partner_calls
    assert [(e.code, e.resource, bool(e.api_key)) for e in entries] == [
        ("NOT_FOUND", world.consented, True), ("OK", world.consented, True),
    ]  # fmt: skip
    assert entries[1].firm == "firms/1" and entries[1].partner == "partners/1" and entries[0].firm == "firms/2"
    assert entries[1].method == "/hub.investors.v1.PartnerService/GetIntroduction" and entries[1].peer
    denied = await investors.investors.ListPartnerCalls(
        pb.ListPartnerCallsRequest(filter="firm=firms/2 AND code=NOT_FOUND"), metadata=ADMIN
    )
    assert [e.name for e in denied.partner_calls] == [entries[0].name]
    # The call without a key reached nothing: it is counted for its peer, not logged as a call.
    await investors.runtime.refused_calls.flush()  # type: ignore[attr-defined]
    assert await refusals(investors) == [("127.0.0.1", 1, 0)]


async def refusals(investors: RunningInvestors) -> list[tuple[str, int, int]]:
    c = store.partner_refusals.c
    async with investors.runtime.db.read() as conn:
        rows = await conn.execute(sa.select(c.peer, c.unauthenticated, c.rate_limited).order_by(c.minute))
        return [tuple(r) for r in rows]


async def partner_call_rows(investors: RunningInvestors) -> int:
    async with investors.runtime.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(store.partner_calls))).scalar_one())


async def test_a_flood_without_a_key_is_refused_by_peer_and_only_counted(
    new_database: Any, nats_server: NatsServer, tmp_path: Path
) -> None:
    url = await new_database("flood")
    settings = investors_settings(url, nats_server.url, tmp_path, partner_peer_rate=2.0, partner_peer_burst=5)
    running = await start_investors(settings)
    try:
        request = ppb.PartnerServiceListIntroductionsRequest()
        started = time.monotonic()
        codes: collections.Counter[Code] = collections.Counter()
        for n in range(300):
            metadata = bearer("hubpk_" + "x" * 43) if n % 2 else ()  # a made-up key, or none at all
            codes[(await call(running, "ListIntroductions", request, metadata))[0]] += 1
        elapsed = time.monotonic() - started
        # The burst, then what the rate refills; everything else is refused in memory, before any key lookup.
        assert codes[Code.UNAUTHENTICATED] <= 5 + 2 * elapsed + 1, codes
        assert codes[Code.RESOURCE_EXHAUSTED] == 300 - codes[Code.UNAUTHENTICATED], codes
        assert elapsed < 10, elapsed
        await running.runtime.refused_calls.flush()  # type: ignore[attr-defined]
        counted = await refusals(running)
        assert await partner_call_rows(running) == 0  # no audit row for a caller the API does not know
        assert 1 <= len(counted) <= 2  # one row per peer and minute (the flood may straddle a minute)
        assert {peer for peer, _, _ in counted} == {"127.0.0.1"}
        assert sum(u for _, u, _ in counted) == codes[Code.UNAUTHENTICATED]
        assert sum(r for _, _, r in counted) == codes[Code.RESOURCE_EXHAUSTED]
        await running.runtime.refused_calls.flush()  # type: ignore[attr-defined]  # nothing new: nothing written
        assert await refusals(running) == counted
    finally:
        await running.close()


async def test_a_key_over_its_rate_is_resource_exhausted_with_retry_after(
    new_database: Any, nats_server: NatsServer, tmp_path: Path
) -> None:
    url = await new_database("limited")
    running = await start_investors(
        investors_settings(url, nats_server.url, tmp_path, partner_key_limit=3, partner_key_window_seconds=3600)
    )
    try:
        world = await build_world(running)
        request = REQUESTS["ListIntroductions"](world)
        codes = [(await call(running, "ListIntroductions", request, bearer(world.right)))[0] for _ in range(3)]
        assert codes == [Code.OK] * 3
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await running.partner.ListIntroductions(request, metadata=bearer(world.right))
        assert caught.value.code() == Code.RESOURCE_EXHAUSTED
        trailers = dict(caught.value.trailing_metadata() or ())
        headers = dict(caught.value.initial_metadata() or ())
        assert 1 <= int(trailers["retry-after"]) <= 3600 and headers["retry-after"] == trailers["retry-after"]
        assert f"retry in {trailers['retry-after']} s" in (caught.value.details() or "")
        status = rpc_status.from_call(caught.value)
        assert status is not None and any(d.Is(error_details_pb2.RetryInfo.DESCRIPTOR) for d in status.details)
        other = await call(running, "ListIntroductions", request, bearer(world.other))  # the limit is per key
        assert other[0] == Code.OK
    finally:
        await running.close()


async def test_tls_when_a_certificate_is_configured(new_database: Any, nats_server: NatsServer, tmp_path: Path) -> None:
    cert, key = local_certificate(tmp_path / "tls")
    url = await new_database("tls")
    running = await start_investors(
        investors_settings(url, nats_server.url, tmp_path, partner_tls_cert=str(cert), partner_tls_key=str(key))
    )
    try:
        world = await build_world(running)
        request = REQUESTS["ListIntroductions"](world)
        credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
        async with grpc.aio.secure_channel(running.partner_address, credentials) as channel:
            stub = partner_pb2_grpc.PartnerServiceStub(channel)
            listed = await stub.ListIntroductions(request, metadata=bearer(world.right))
            assert len(listed.introductions) == 3
        with pytest.raises(grpc.aio.AioRpcError) as caught:  # plaintext to a TLS port does not get through
            await running.partner.ListIntroductions(request, metadata=bearer(world.right), timeout=5)
        assert caught.value.code() in (Code.UNAVAILABLE, Code.DEADLINE_EXCEEDED)
    finally:
        await running.close()


async def test_plaintext_is_refused_on_a_non_loopback_host(database_url: str, tmp_path: Path) -> None:
    from services.investors.__main__ import build

    settings = investors_settings(database_url, "nats://127.0.0.1:1", tmp_path, partner_host="0.0.0.0")
    runtime = build(settings)
    try:
        with pytest.raises(RuntimeError, match=r"plaintext on 0\.0\.0\.0"):
            await runtime.start()
    finally:
        await runtime.stop()
