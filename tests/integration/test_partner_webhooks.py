"""Partner webhooks through a real HTTP receiver (http.server on a port of its own) that is down for a while and
then comes up: every event delivered once it is back (0 lost), each signature verified with hubcore's verify,
retries and replays carrying the same delivery id, firms hearing only their own events and a hub-wide
subscription hearing every firm's; FAILED after the retry window (the worker's clock moved, not a day slept)
and delivered by a replay; a secret rotation's overlap; bad inputs refused with nothing stored; and the time
from event to delivery while the receiver is up (p50/p99, printed)."""

from __future__ import annotations

import asyncio
import json
import statistics
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import duration_pb2
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_webhooks_pb2 as wpb

from hubcore import signing
from hublocal.natsserver import NatsServer, free_port
from tests.conftest import ADMIN, Clock, RunningInvestors, investors_settings, start_investors
from tests.integration.test_investors_api import add_company, bad_fields, create_firm, refused
from tests.integration.test_partner_api import bearer, issue_key

S = pb.IntroductionState
CONSENT = S.INTRODUCTION_STATE_COMPANY_CONSENTED
ALL_TYPES = ["introduction.proposed", "introduction.consented", "introduction.answered", "round.reported"]


@dataclass
class Got:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.time() when it arrived

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def delivery(self) -> str:
        return self.headers[signing.DELIVERY_HEADER]


@dataclass
class Receiver:
    """A real HTTP endpoint on a fixed port, started and stopped at will (stopped: connections are refused).
    `fail_after_taking` answers 500 to that many requests after recording them: the receiver did the work but
    the hub never heard so, and sends the delivery again."""

    port: int = field(default_factory=free_port)
    got: list[Got] = field(default_factory=list)
    fail_after_taking: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with receiver.lock:
                    receiver.got.append(Got(self.path, dict(self.headers.items()), body, time.time()))
                    status = 500 if receiver.fail_after_taking > 0 else 200
                    receiver.fail_after_taking -= status == 500
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def at(self, path: str) -> list[Got]:
        with self.lock:
            return [g for g in self.got if g.path == path]


@pytest.fixture
def receiver() -> Any:
    made = Receiver()
    yield made
    made.stop()


@pytest.fixture
async def hooked(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[RunningInvestors]:
    """The investors service with fast retries (50 ms doubling to 300 ms), http:// to 127.0.0.1 allowed, and a
    clock of the worker's own that a test can move."""
    url = await new_database("investors")
    settings = investors_settings(
        url, nats_server.url, tmp_path, webhook_allow_http_loopback=True, webhook_retry_base_seconds=0.05,
        webhook_retry_cap_seconds=0.3, webhook_poll_seconds=0.2, webhook_timeout_seconds=2.0,
    )  # fmt: skip
    running = await start_investors(settings)
    running.runtime.webhook_worker.clock = Clock()  # type: ignore[attr-defined]
    await asyncio.wait_for(running.runtime.ready.wait(), 10)
    yield running
    await running.close()


@dataclass
class Firm:
    name: str
    key: str


async def firm_with_key(investors: RunningInvestors, korean_name: str) -> Firm:
    firm = await create_firm(investors, korean_name)
    partner = await investors.investors.CreatePartner(
        pb.CreatePartnerRequest(partner=pb.Partner(firm=firm.name, korean_name=f"{korean_name} 파트너")), metadata=ADMIN
    )
    return Firm(firm.name, (await issue_key(investors, partner.name))[1])


async def subscribe(investors: RunningInvestors, url: str, key: str = "", **fields: Any) -> wpb.WebhookSubscription:
    fields.setdefault("event_types", ALL_TYPES)
    request = wpb.CreateWebhookSubscriptionRequest(webhook_subscription=wpb.WebhookSubscription(url=url, **fields))
    if key:
        return await investors.partner.CreateWebhookSubscription(request, metadata=bearer(key))
    return await investors.investors.CreateWebhookSubscription(request, metadata=ADMIN)


async def introduce_and_consent(investors: RunningInvestors, company: int, firm: str) -> str:
    intro = await investors.investors.CreateIntroduction(
        pb.CreateIntroductionRequest(
            introduction=pb.Introduction(company=f"companies/{company}", firm=firm, note="시리즈A 리드를 찾습니다")
        ),
        metadata=ADMIN,
    )
    await investors.investors.ChangeIntroductionState(
        pb.ChangeIntroductionStateRequest(name=intro.name, state=CONSENT, reason="메일로 동의"), metadata=ADMIN
    )
    return intro.name


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 20.0) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


async def deliveries(investors: RunningInvestors, subscription: str) -> list[wpb.WebhookDelivery]:
    found = await investors.investors.ListWebhookDeliveries(
        wpb.ListWebhookDeliveriesRequest(parent=subscription, page_size=500), metadata=ADMIN
    )
    return list(found.webhook_deliveries)


def introductions_in(got: list[Got], event_type: str) -> set[str]:
    return {g.json["data"]["introduction"]["name"] for g in got if g.json["type"] == event_type}


def verified(got: Got, secret: str) -> bool:
    return signing.verify(secret, got.headers, got.body)


async def test_nothing_is_lost_while_the_receiver_is_down(hooked: RunningInvestors, receiver: Receiver) -> None:
    a, b = await firm_with_key(hooked, "한빛벤처스"), await firm_with_key(hooked, "누리캐피탈")
    sub_a = await subscribe(hooked, receiver.url("/a"), a.key)
    sub_b = await subscribe(hooked, receiver.url("/b"), b.key)
    sub_hub = await subscribe(hooked, receiver.url("/hub"))
    assert sub_a.firm == a.name and sub_b.firm == b.name and sub_hub.firm == ""
    for n in range(1, 13):
        await add_company(hooked, n)
    # The receiver is down: six introductions to each firm, each proposed then consented.
    made = {a.name: [], b.name: []}  # type: dict[str, list[str]]
    for n in range(1, 13):
        firm = a if n % 2 else b
        made[firm.name].append(await introduce_and_consent(hooked, n, firm.name))

    async def retried() -> bool:
        log = await deliveries(hooked, sub_hub.name)
        return len(log) == 24 and all(d.attempts >= 2 for d in log)

    await eventually(retried)
    log = await deliveries(hooked, sub_hub.name)
    assert {d.state for d in log} <= {wpb.WEBHOOK_DELIVERY_STATE_PENDING, wpb.WEBHOOK_DELIVERY_STATE_SENDING}
    assert all("POST failed" in d.last_error for d in log), log[0].last_error
    assert receiver.got == []
    # It comes back, and its first answer is lost (500 after doing the work): that delivery comes again.
    receiver.fail_after_taking = 1
    receiver.start()

    async def all_delivered() -> bool:
        logs = [await deliveries(hooked, s.name) for s in (sub_a, sub_b, sub_hub)]
        return all(d.state == wpb.WEBHOOK_DELIVERY_STATE_DELIVERED for log in logs for d in log)

    await eventually(all_delivered)
    got_a, got_b, got_hub = receiver.at("/a"), receiver.at("/b"), receiver.at("/hub")
    # A firm hears its own introductions once the company consented (not the proposals it was never shown);
    # never the other firm's. The hub-wide subscription hears both firms', proposals too.
    assert introductions_in(got_a, "introduction.consented") == set(made[a.name])
    assert introductions_in(got_b, "introduction.consented") == set(made[b.name])
    assert introductions_in(got_a, "introduction.proposed") == introductions_in(got_b, "introduction.proposed") == set()
    everyone = set(made[a.name]) | set(made[b.name])
    assert introductions_in(got_hub, "introduction.proposed") == introductions_in(got_hub, "introduction.consented")
    assert introductions_in(got_hub, "introduction.consented") == everyone
    # 0 lost: every delivery in the logs arrived; the only copy is the one whose answer was lost, same id.
    logged = {d.delivery_id for s in (sub_a, sub_b, sub_hub) for d in await deliveries(hooked, s.name)}
    arrived = [g.delivery for g in receiver.got]
    assert set(arrived) == logged and len(logged) == 6 + 6 + 24
    assert len(arrived) == len(logged) + 1
    twice = [d for d in set(arrived) if arrived.count(d) == 2]
    assert len(twice) == 1
    copies = [g for g in receiver.got if g.delivery == twice[0]]
    assert copies[0].body == copies[1].body and copies[0].json["id"] == twice[0]
    # Signatures verify with each subscription's own secret, and not with another's.
    secrets = {"/a": sub_a.secret, "/b": sub_b.secret, "/hub": sub_hub.secret}
    assert all(verified(g, secrets[g.path]) for g in receiver.got)
    assert not any(verified(g, sub_a.secret) for g in got_b)
    # The body: the delivery id, type, time, event id and the event as proto JSON.
    sample = got_a[0].json
    assert sample["subscription"] == sub_a.name and sample["data"]["@type"].endswith("IntroductionStateChanged")
    assert got_a[0].headers["X-Hub-Event"] == sample["type"]
    # Who did it by the hub's credentials (actor: "admin:<token id>") goes to the hub's own tools only.
    assert all("actor" not in g.json["data"] for g in got_a + got_b)
    assert all(g.json["data"]["actor"].startswith("admin:") for g in got_hub)


async def test_failed_after_the_retry_window_then_replayed(hooked: RunningInvestors, receiver: Receiver) -> None:
    firm = await firm_with_key(hooked, "한빛벤처스")
    sub = await subscribe(hooked, receiver.url("/a"), firm.key)
    await add_company(hooked, 1)
    await introduce_and_consent(hooked, 1, firm.name)
    await eventually(lambda: _attempted(hooked, sub.name, 2))
    clock: Clock = hooked.runtime.webhook_worker.clock  # type: ignore[attr-defined]
    clock.offset = timedelta(hours=24, minutes=1)  # a day later, by the worker's clock

    async def failed() -> bool:
        return [d.state for d in await deliveries(hooked, sub.name)] == [wpb.WEBHOOK_DELIVERY_STATE_FAILED]

    await eventually(failed)
    receiver.start()
    await asyncio.sleep(0.5)
    assert receiver.got == []  # FAILED is final until replayed
    before = (await deliveries(hooked, sub.name))[0]
    replayed = await hooked.partner.ReplayWebhookDelivery(
        wpb.ReplayWebhookDeliveryRequest(name=sub.name), metadata=bearer(firm.key)
    )
    assert replayed.replayed == 1 and replayed.webhook_deliveries[0].delivery_id == before.delivery_id
    await eventually(lambda: _state_is(hooked, sub.name, wpb.WEBHOOK_DELIVERY_STATE_DELIVERED))
    assert [g.delivery for g in receiver.got] == [before.delivery_id]
    assert verified(receiver.got[0], sub.secret)
    after = (await deliveries(hooked, sub.name))[0]
    assert after.replays == 1 and after.attempts > before.attempts
    # Any delivery can be sent again by name, delivered or not: the same id, so a receiver drops it.
    await hooked.partner.ReplayWebhookDelivery(
        wpb.ReplayWebhookDeliveryRequest(name=after.name), metadata=bearer(firm.key)
    )
    await eventually(lambda: _count(receiver, 2))
    assert receiver.got[1].delivery == before.delivery_id


async def _attempted(investors: RunningInvestors, subscription: str, attempts: int) -> bool:
    return all(d.attempts >= attempts for d in await deliveries(investors, subscription) or [wpb.WebhookDelivery()])


async def _state_is(investors: RunningInvestors, subscription: str, state: int) -> bool:
    return all(d.state == state for d in await deliveries(investors, subscription))


async def _count(receiver: Receiver, n: int) -> bool:
    return len(receiver.got) >= n


async def test_a_rotated_secret_signs_beside_the_old_one_until_the_overlap_ends(
    hooked: RunningInvestors, receiver: Receiver
) -> None:
    receiver.start()
    firm = await firm_with_key(hooked, "한빛벤처스")
    sub = await subscribe(hooked, receiver.url("/a"), firm.key)
    old = sub.secret
    rotated = await hooked.partner.RotateWebhookSecret(
        wpb.RotateWebhookSecretRequest(name=sub.name, overlap=duration_pb2.Duration(seconds=3600)),
        metadata=bearer(firm.key),
    )
    new = rotated.secret
    assert new and new != old and rotated.HasField("previous_secret_expire_time")
    got = await _test_delivery(hooked, receiver, firm, sub.name, 1)
    assert got.headers[signing.SIGNATURE_HEADER].count("v1=") == 2
    assert verified(got, new) and verified(got, old)
    # An hour later the old secret no longer signs.
    hooked.runtime.webhook_worker.clock.offset = timedelta(hours=1, seconds=1)  # type: ignore[attr-defined]
    got = await _test_delivery(hooked, receiver, firm, sub.name, 2)
    assert verified(got, new) and not verified(got, old)
    assert got.json["type"] == "webhook.test"
    # Get never shows the secret again.
    shown = await hooked.partner.GetWebhookSubscription(
        wpb.GetWebhookSubscriptionRequest(name=sub.name), metadata=bearer(firm.key)
    )
    assert shown.secret == ""


async def _test_delivery(investors: RunningInvestors, receiver: Receiver, firm: Firm, name: str, n: int) -> Got:
    await investors.partner.SendTestWebhook(wpb.SendTestWebhookRequest(name=name), metadata=bearer(firm.key))
    await eventually(lambda: _count(receiver, n))
    return receiver.got[n - 1]


async def test_bad_inputs_are_refused_and_nothing_is_stored(hooked: RunningInvestors) -> None:
    firm = await firm_with_key(hooked, "한빛벤처스")
    other = await firm_with_key(hooked, "누리캐피탈")
    cases: dict[str, dict[str, Any]] = {
        "webhook_subscription.url": {"url": "http://partner.example/hook"},
        "webhook_subscription.event_types": {"url": "https://partner.example/hook", "event_types": ["deal.won"]},
        "webhook_subscription.firms": {"url": "https://partner.example/hook", "firms": [other.name]},
    }
    for bad, fields in cases.items():
        fields.setdefault("event_types", ["round.reported"])
        request = wpb.CreateWebhookSubscriptionRequest(webhook_subscription=wpb.WebhookSubscription(**fields))
        status = await refused(
            hooked.partner.CreateWebhookSubscription(request, metadata=bearer(firm.key)),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert bad_fields(status) == [bad]
    status = await refused(
        hooked.investors.CreateWebhookSubscription(
            wpb.CreateWebhookSubscriptionRequest(
                webhook_subscription=wpb.WebhookSubscription(url="https://h.example/x", event_types=[])
            ),
            metadata=ADMIN,
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert bad_fields(status) == ["webhook_subscription.event_types"]
    listed = await hooked.investors.ListWebhookSubscriptions(wpb.ListWebhookSubscriptionsRequest(), metadata=ADMIN)
    assert list(listed.webhook_subscriptions) == []
    # Another firm's subscription does not exist for a partner; a program manager sees every one.
    mine = await subscribe(hooked, "https://a.example/hook", firm.key)
    await refused(
        hooked.partner.GetWebhookSubscription(
            wpb.GetWebhookSubscriptionRequest(name=mine.name), metadata=bearer(other.key)
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    theirs = await hooked.partner.ListWebhookSubscriptions(
        wpb.ListWebhookSubscriptionsRequest(), metadata=bearer(other.key)
    )
    assert list(theirs.webhook_subscriptions) == []
    everyone = await hooked.investors.ListWebhookSubscriptions(
        wpb.ListWebhookSubscriptionsRequest(filter=f"firm={firm.name}"), metadata=ADMIN
    )
    assert [s.name for s in everyone.webhook_subscriptions] == [mine.name]


async def test_event_to_delivery_latency_while_the_receiver_is_up(
    hooked: RunningInvestors, receiver: Receiver, backend: str
) -> None:
    receiver.start()
    firm = await firm_with_key(hooked, "한빛벤처스")
    await subscribe(hooked, receiver.url("/a"), firm.key, event_types=["introduction.consented"])
    count = 100
    for n in range(1, count + 1):
        await add_company(hooked, n)
    for n in range(1, count + 1):
        await introduce_and_consent(hooked, n, firm.name)
    await eventually(lambda: _count(receiver, count), within=60)
    waits = sorted(
        g.at - datetime.fromisoformat(g.json["occurred_time"].replace("Z", "+00:00")).timestamp() for g in receiver.got
    )
    p50, p99 = statistics.median(waits), waits[int(len(waits) * 0.99) - 1]
    print(f"\nwebhook event->delivery on {backend}: n={count} p50={p50 * 1000:.1f} ms p99={p99 * 1000:.1f} ms")
    assert len({g.delivery for g in receiver.got}) == count
    assert p99 <= 1.0


async def test_two_replicas_never_send_one_delivery_twice(hooked: RunningInvestors, receiver: Receiver) -> None:
    """A second worker on the same database (as another replica runs it) claims beside the service's own:
    every delivery arrives exactly once, and each worker sent some."""
    from hubcore.db import Database
    from services.investors.webhook_worker import WebhookWorker

    receiver.start()
    settings = hooked.runtime.settings
    other_db = Database(settings.database_url, source="investors")
    other = WebhookWorker(other_db, settings.with_(webhook_poll_seconds=0.01))
    sent_by_other: list[str] = []
    send = other.send_and_mark

    async def counted(job: Any) -> None:
        sent_by_other.append(job.delivery.delivery_id)
        await send(job)

    other.send_and_mark = counted  # type: ignore[method-assign]
    task = asyncio.create_task(other.run())
    try:
        firm = await firm_with_key(hooked, "한빛벤처스")
        await subscribe(hooked, receiver.url("/a"), firm.key, event_types=["introduction.consented"])
        for n in range(1, 41):
            await add_company(hooked, n)
            await introduce_and_consent(hooked, n, firm.name)
        await eventually(lambda: _count(receiver, 40))
        await asyncio.sleep(0.5)  # any copy would have come by now
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await other_db.close()
    arrived = [g.delivery for g in receiver.got]
    assert len(arrived) == len(set(arrived)) == 40
    assert 0 < len(sent_by_other) < 40
