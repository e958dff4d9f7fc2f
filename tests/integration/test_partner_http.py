"""The partner API over HTTP/JSON (hubcore.gateway) beside gRPC, against the real service (SQLite and PostgreSQL,
a real NATS): the same answers for the same key, the same door (401 without a valid key and no audit row, the
same audit and access log for a write, the same limits with their headers), errors as JSON with their details,
the contract it publishes, TLS with the listener's certificate, and a real Connect client (`buf curl`)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf import json_format
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_pb2 as ppb

from hubcore.settings import PROJECT_DIR
from hublocal.natsserver import NatsServer
from hublocal.tls import local_certificate
from services.investors import store
from tests.conftest import ADMIN, RunningInvestors, investors_settings, start_investors
from tests.integration.test_partner_api import REQUESTS, World, bearer, build_world, partner_call_rows, refusals

SERVICE = "hub.investors.v1.PartnerService"


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


def _post(url: str, body: bytes, headers: dict[str, str], cafile: str | None) -> Reply:
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json", **headers})
    context = ssl.create_default_context(cafile=cafile) if cafile else None
    try:
        with urllib.request.urlopen(request, context=context, timeout=10) as answer:
            return Reply(answer.status, {k.lower(): v for k, v in answer.headers.items()}, json.loads(answer.read()))
    except urllib.error.HTTPError as exc:
        return Reply(exc.code, {k.lower(): v for k, v in exc.headers.items()}, json.loads(exc.read()))


async def post(
    running: RunningInvestors, method: str, body: Any, key: str | None = None, cafile: str | None = None,
    **headers: str,
) -> Reply:  # fmt: skip
    """One HTTP call to the partner API (urllib in a thread: the service runs in this event loop)."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    return await asyncio.to_thread(_post, f"{running.partner_http}/{SERVICE}/{method}", raw, headers, cafile)


def as_json(request: Any) -> dict[str, Any]:
    return json_format.MessageToDict(request)


@contextlib.asynccontextmanager
async def serving(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path, **settings: Any
) -> AsyncIterator[RunningInvestors]:
    """The investors service with its partner API on both gRPC and HTTP/JSON (TLS if settings give a certificate)."""
    url = await new_database("investors")
    running = await start_investors(investors_settings(url, nats_server.url, tmp_path, partner_http_port=0, **settings))
    try:
        yield running
    finally:
        await running.close()


@pytest.fixture
async def served(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[RunningInvestors]:
    async with serving(new_database, nats_server, tmp_path) as running:
        yield running


def violations(reply: Reply) -> list[dict[str, str]]:
    found = [d["debug"] for d in reply.body.get("details", []) if d["type"] == "google.rpc.BadRequest"]
    return [v for detail in found for v in detail["fieldViolations"]]


async def test_the_same_key_gets_the_same_answers_over_http_and_grpc(served: RunningInvestors) -> None:
    world = await build_world(served)
    for method in ("ListIntroductions", "GetIntroduction"):
        request = REQUESTS[method](world)
        over_grpc = await getattr(served.partner, method)(request, metadata=bearer(world.right))
        over_http = await post(served, method, as_json(request), world.right)
        assert over_http.status == 200 and over_http.headers["content-type"] == "application/json"
        assert over_http.body == json_format.MessageToDict(over_grpc), method
    listed = (await post(served, "ListIntroductions", {}, world.right)).body
    assert [i["name"] for i in listed["introductions"]] == [world.met, world.accepted, world.consented]
    assert listed["introductions"][2]["company"] == {"name": "companies/1", "koreanName": "회사1", "sector": "MEDICAL"}
    assert listed["introductions"][2]["state"] == "INTRODUCTION_STATE_COMPANY_CONSENTED"
    # Both spellings of a field name are read (the proto JSON mapping); paging works as over gRPC.
    first = (await post(served, "ListIntroductions", {"page_size": 2}, world.right)).body
    rest = await post(served, "ListIntroductions", {"pageSize": 2, "pageToken": first["nextPageToken"]}, world.right)
    paged = [i["name"] for i in [*first["introductions"], *rest.body["introductions"]]]
    assert paged == [i["name"] for i in listed["introductions"]]
    other = await post(served, "ListIntroductions", {}, world.other)  # firm B sees none of firm A's
    assert other.status == 200 and other.body == {}


async def test_no_key_or_a_bad_key_is_401_and_leaves_no_audit_row(served: RunningInvestors) -> None:
    world = await build_world(served)
    get = as_json(REQUESTS["GetIntroduction"](world))
    for key in (None, "hubpk_" + "x" * 43, world.revoked, world.expired):
        reply = await post(served, "GetIntroduction", get, key)
        assert reply.status == 401, key
        assert reply.body["code"] == "unauthenticated" and reply.body["message"], reply.body
        assert reply.body["details"][0]["debug"]["reason"] == "UNAUTHENTICATED"
    assert await partner_call_rows(served) == 0
    await served.runtime.refused_calls.flush()  # type: ignore[attr-defined]
    # Counted for the HTTP client's address, as a gRPC caller's would be (not the gateway's unix socket).
    assert await refusals(served) == [("127.0.0.1", 4, 0)]
    admin = await post(served, "GetIntroduction", get, ADMIN[0][1].split()[1])  # not a partner: 403, audited
    assert admin.status == 403 and admin.body["code"] == "permission_denied"


async def audit_rows(running: RunningInvestors) -> list[pb.PartnerCall]:
    listed = await running.investors.ListPartnerCalls(pb.ListPartnerCallsRequest(), metadata=ADMIN)
    return list(listed.partner_calls)


async def company_reads(running: RunningInvestors) -> list[tuple[Any, ...]]:
    c = store.company_reads.c
    async with running.runtime.db.read() as conn:
        rows = await conn.execute(sa.select(c.company_id, c.method, c.api_key_id, c.firm_id).order_by(c.id))
        return [tuple(r) for r in rows]


async def test_a_write_over_http_is_audited_like_one_over_grpc(served: RunningInvestors) -> None:
    world = await build_world(served)
    answer = await post(
        served, "RespondToIntroduction", {"name": world.consented, "accept": True, "reason": "만나고 싶습니다"},
        world.right, **{"x-request-id": "http-write-1"},
    )  # fmt: skip
    assert answer.status == 200 and answer.body["state"] == "INTRODUCTION_STATE_PARTNER_ACCEPTED"
    await served.partner.RecordMeeting(ppb.RecordMeetingRequest(name=world.accepted), metadata=bearer(world.right))
    over_grpc, over_http = await audit_rows(served)  # newest first
    assert over_http.method == f"/{SERVICE}/RespondToIntroduction" and over_http.code == "OK"
    assert over_http.resource == world.consented and over_http.request_id == "http-write-1"
    same = ("api_key", "partner", "firm")
    assert [getattr(over_http, f) for f in same] == [getattr(over_grpc, f) for f in same]
    assert over_http.api_key and over_http.partner == "partners/1" and over_http.firm == "firms/1"
    assert over_http.peer.startswith("ipv4:127.0.0.1:") and over_grpc.peer.startswith("ipv4:127.0.0.1:")
    # The company's access log has the HTTP answer as it has the gRPC one; the history names the key.
    reads = await company_reads(served)
    assert [(r[0], r[1].rsplit("/", 1)[1]) for r in reads] == [(1, "RespondToIntroduction"), (2, "RecordMeeting")]
    got = await served.investors.GetIntroduction(pb.GetIntroductionRequest(name=world.consented), metadata=ADMIN)
    assert got.history[-1].actor == f"partner:{over_http.api_key}" and got.history[-1].reason == "만나고 싶습니다"
    # A write idempotent on request_id is one write whichever transport repeats it.
    round_request = as_json(REQUESTS["ReportRound"](world))
    first = await post(served, "ReportRound", round_request, world.right)
    again = await served.partner.ReportRound(REQUESTS["ReportRound"](world), metadata=bearer(world.right))
    assert first.status == 200 and first.body == json_format.MessageToDict(again)
    assert len((await served.investors.ListRounds(pb.ListRoundsRequest(), metadata=ADMIN)).rounds) == 1


async def test_bad_input_is_400_naming_the_field_and_changes_nothing(served: RunningInvestors) -> None:
    world = await build_world(served)
    before = await partner_call_rows(served)
    cases = {
        "pageSize": ("ListIntroductions", {"pageSize": "many"}),
        "pageSiz": ("ListIntroductions", {"pageSiz": 3}),  # not a field: refused, not ignored
        "body": ("ListIntroductions", b"{not json"),
        "accept": ("RespondToIntroduction", {"name": world.consented, "accept": "yes"}),
    }
    for field, (method, body) in cases.items():
        reply = await post(served, method, body, world.right)
        assert reply.status == 400 and reply.body["code"] == "invalid_argument", (field, reply.body)
        assert [v["field"] for v in violations(reply)] == [field], reply.body
    # The door's own input rules (policy.PARTNER_RULES) answer as they do over gRPC: 400, the proto field.
    long = await post(served, "RespondToIntroduction", {"name": world.consented, "reason": "가" * 501}, world.right)
    assert long.status == 400 and [v["field"] for v in violations(long)] == ["reason"], long.body
    negative = await post(served, "ListIntroductions", {"pageSize": -1}, world.right)
    assert negative.status == 400 and [v["field"] for v in violations(negative)] == ["page_size"]
    # Refused by the state machine: FAILED_PRECONDITION is 400 as well, with its PreconditionFailure.
    early = await post(served, "RecordMeeting", {"name": world.consented}, world.right)
    assert early.status == 400 and early.body["code"] == "failed_precondition"
    assert any(d["type"] == "google.rpc.PreconditionFailure" for d in early.body["details"])
    plain = await asyncio.to_thread(
        _post, f"{served.partner_http}/{SERVICE}/ListIntroductions", b"{}",
        {"content-type": "text/plain", "authorization": f"Bearer {world.right}"}, None,
    )  # fmt: skip
    assert plain.status == 415 and plain.body["code"] == "invalid_argument"
    # What the gateway refuses never reached the door; what the door refused is audited, as over gRPC.
    assert await partner_call_rows(served) == before + 3
    intro = await served.investors.GetIntroduction(pb.GetIntroductionRequest(name=world.consented), metadata=ADMIN)
    assert intro.state == pb.INTRODUCTION_STATE_COMPANY_CONSENTED


async def test_not_found_is_404_with_the_resource(served: RunningInvestors) -> None:
    world = await build_world(served)
    for name in ("introductions/999", world.unshared):  # absent, and not shown to this firm: the same answer
        reply = await post(served, "GetIntroduction", {"name": name}, world.right)
        assert reply.status == 404 and reply.body["code"] == "not_found", reply.body
        info = [d["debug"] for d in reply.body["details"] if d["type"] == "google.rpc.ResourceInfo"]
        assert info == [{"resourceType": "Introduction", "resourceName": name}], reply.body
    other = await post(served, "GetIntroduction", {"name": world.consented}, world.other)
    assert other.status == 404
    unknown = await post(served, "NoSuchMethod", {}, world.right)
    assert unknown.status == 404 and unknown.body["code"] == "unimplemented"
    with pytest.raises(urllib.error.HTTPError) as caught:  # a method's path with GET
        await asyncio.to_thread(urllib.request.urlopen, f"{served.partner_http}/{SERVICE}/GetIntroduction", timeout=10)
    assert caught.value.code == 405 and json.loads(caught.value.read())["code"] == "unimplemented"


async def test_rate_limits_answer_429_with_their_headers(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> None:
    limits = {"partner_key_limit": 3, "partner_key_window_seconds": 30.0}
    async with serving(new_database, nats_server, tmp_path, **limits) as running:
        world = await build_world(running)
        codes = [(await post(running, "ListIntroductions", {}, world.right)).status for _ in range(3)]
        assert codes == [200, 200, 200]
        limited = await post(running, "ListIntroductions", {}, world.right)
        assert limited.status == 429 and limited.body["code"] == "resource_exhausted"
        assert 1 <= int(limited.headers["retry-after"]) <= 30  # the gRPC trailer, as an HTTP header
        assert limited.headers["ratelimit-limit"] == "3" and limited.headers["ratelimit-remaining"] == "0"
        retry = [d["debug"] for d in limited.body["details"] if d["type"] == "google.rpc.RetryInfo"]
        assert retry and retry[0]["retryDelay"].endswith("s")
        # One bucket per key, whichever transport spends it.
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await running.partner.ListIntroductions(REQUESTS["ListIntroductions"](world), metadata=bearer(world.right))
        assert caught.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert (await post(running, "ListIntroductions", {}, world.other)).status == 200


async def test_peer_limit_counts_the_http_client(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> None:
    async with serving(new_database, nats_server, tmp_path, partner_peer_rate=0.1, partner_peer_burst=3) as running:
        statuses = [(await post(running, "ListIntroductions", {}, "hubpk_" + "y" * 43)).status for _ in range(6)]
        assert statuses == [401] * 3 + [429] * 3
        await running.runtime.refused_calls.flush()  # type: ignore[attr-defined]
        assert await refusals(running) == [("127.0.0.1", 3, 3)]
        assert await partner_call_rows(running) == 0


async def test_the_contract_lists_every_method(served: RunningInvestors) -> None:
    document = await asyncio.to_thread(
        lambda: json.loads(urllib.request.urlopen(f"{served.partner_http}/openapi.json", timeout=10).read())
    )
    methods = ppb.DESCRIPTOR.services_by_name["PartnerService"].methods_by_name
    assert set(document["paths"]) == {f"/{SERVICE}/{name}" for name in methods}
    shared = document["components"]["schemas"]["hub.investors.v1.SharedIntroduction"]["properties"]
    assert shared["shareTime"] == {"type": "string", "format": "date-time", "readOnly": True}


async def test_tls_with_the_listener_certificate(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> None:
    cert, key = local_certificate(tmp_path / "tls")
    async with serving(
        new_database, nats_server, tmp_path, partner_tls_cert=str(cert), partner_tls_key=str(key)
    ) as running:
        world = await build_world(running)
        assert running.partner_http.startswith("https://")
        listed = await post(running, "ListIntroductions", {}, world.right, cafile=str(cert))
        assert listed.status == 200 and len(listed.body["introductions"]) == 3
        plaintext = running.partner_http.replace("https://", "http://")
        with pytest.raises((urllib.error.URLError, ConnectionError)):
            await asyncio.to_thread(_post, f"{plaintext}/{SERVICE}/ListIntroductions", b"{}", {}, None)


async def test_a_connect_client_calls_it(served: RunningInvestors) -> None:
    """`buf curl --protocol connect`, a Connect client that is not ours, reads the schema from the protos' image."""
    world: World = await build_world(served)
    image = PROJECT_DIR / "gen" / "image.binpb"
    command = [
        str(PROJECT_DIR / ".venv" / "bin" / "buf"), "curl", "--protocol", "connect", "--schema", str(image),
        "-H", f"authorization: Bearer {world.right}", "-d", json.dumps({"name": world.consented}),
        f"{served.partner_http}/{SERVICE}/GetIntroduction",
    ]  # fmt: skip
    done = await asyncio.to_thread(subprocess.run, command, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["name"] == world.consented
    missing = [*command[:-2], json.dumps({"name": "introductions/999"}), command[-1]]
    done = await asyncio.to_thread(subprocess.run, missing, capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "not_found" in done.stderr, done.stderr
