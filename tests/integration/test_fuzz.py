"""Every RPC of every service, sent requests generated from its descriptor (hypothesis): random field
values, oversized and Hangul/emoji strings, unknown enum numbers, timestamps at the edges, huge page sizes,
malformed page tokens and field masks, resource names that do not exist. The status is never INTERNAL or
UNKNOWN; a refused request changes no row of any table; the service still answers health checks.

The services run with NATS unreachable, so that no consumer or relay writes behind the test's back: every
row count is the work of the calls alone. HUB_FUZZ_EXAMPLES (default 8) sets examples per method."""

from __future__ import annotations

import asyncio
import base64
import collections
import hashlib
import json
import os
import socket
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubcore import tokens
from hubcore.db import now
from hubcore.requests import PageTokens, page_token_keys
from hubcore.server import ADMIN as ADMIN_ROLE
from hubcore.server import Runtime
from tests.conftest import ADMIN, TOKEN_SIGNING_KEY, make_settings, notify_config, row_counts

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "8"))
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
SERVICES = ["companies", "investors", "consulting", "notifications", "playbooks"]

TEXT = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(min_codepoint=0xAC00, max_codepoint=0xD7A3), min_size=1, max_size=60),
    st.sampled_from(
        ["", " ", "메디비전", "🚀🤖" * 10, "x" * 20_000, "companies/1", "companies/999999", "people/-1",
         "mentors/0", "sessions/1", "firms/1", "introductions/1", "a\x00b", "\u200b", "é", "가\u0301", "%00",
         "korean_name", "status,sector", "update_time", "name = '1'", "status=RESIDENT", "CiQ=", "!!!"]
    ),
)  # fmt: skip
INTEGERS = {
    FieldDescriptor.TYPE_INT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SINT32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_SFIXED32: st.integers(-(2**31), 2**31 - 1),
    FieldDescriptor.TYPE_UINT32: st.integers(0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: st.integers(0, 2**32 - 1),
    FieldDescriptor.TYPE_INT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SINT64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_SFIXED64: st.integers(-(2**63), 2**63 - 1),
    FieldDescriptor.TYPE_UINT64: st.integers(0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: st.integers(0, 2**64 - 1),
}
EDGES = st.sampled_from([0, 1, -1, 2, 7, 50, 1000, 10**6, 2**31 - 1, -(2**31)])
TIMESTAMP_SECONDS = st.one_of(
    st.integers(-62_135_596_800, 253_402_300_799),  # the range a Timestamp may hold
    st.sampled_from([-62_135_596_800, 0, 1_700_000_000, 253_402_300_799, 253_402_300_800, -(2**40)]),
)


def scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    if field.type == FieldDescriptor.TYPE_STRING:
        return TEXT
    if field.type == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if field.type in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(allow_nan=True, allow_infinity=True, width=32)
    if field.type == FieldDescriptor.TYPE_ENUM:
        known = [v.number for v in field.enum_type.values] if field.enum_type else [0]
        return st.one_of(st.sampled_from(known), st.integers(-3, 200))  # open enums take unknown numbers
    if field.type in INTEGERS:
        bounds = INTEGERS[field.type]
        return st.one_of(EDGES.filter(lambda v: field.type not in _UNSIGNED or v >= 0), bounds)
    raise AssertionError(f"no strategy for {field.full_name}")


_UNSIGNED = {FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32, FieldDescriptor.TYPE_UINT64,
             FieldDescriptor.TYPE_FIXED64}  # fmt: skip


def message(descriptor: Descriptor, depth: int = 0) -> st.SearchStrategy[Any]:
    """A strategy for messages of this type: each field set or not, nested messages down to depth 3."""
    cls: Any = message_factory.GetMessageClass(descriptor)  # a generated class: its fields are keyword arguments
    if descriptor.full_name == "google.protobuf.Timestamp":
        return st.builds(lambda s, n: cls(seconds=s, nanos=n), TIMESTAMP_SECONDS, st.integers(-1, 10**9))
    if descriptor.full_name == "google.protobuf.FieldMask":
        return st.builds(lambda paths: cls(paths=paths), st.lists(TEXT, max_size=3))
    if descriptor.full_name in ("google.protobuf.Any", "google.protobuf.Struct", "google.protobuf.Value"):
        return st.just(cls())
    fields: dict[str, st.SearchStrategy[Any]] = {}
    for field in descriptor.fields:
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key, value = field.message_type.fields_by_name["key"], field.message_type.fields_by_name["value"]
            if value.message_type is None:
                fields[field.name] = st.dictionaries(scalar(key), scalar(value), max_size=3)
        elif field.message_type is not None:
            if depth < 3:
                inner = message(field.message_type, depth + 1)
                repeated = field.is_repeated
                fields[field.name] = st.lists(inner, max_size=2) if repeated else inner
        elif field.is_repeated:
            fields[field.name] = st.lists(scalar(field), max_size=3)
        else:
            fields[field.name] = scalar(field)

    def build(values: dict[str, Any]) -> Any:
        made = cls()
        for name, value in values.items():
            target = getattr(made, name)
            if isinstance(value, dict):
                target.update(value)
            elif isinstance(value, list):
                if value and hasattr(value[0], "DESCRIPTOR"):
                    for item in value:
                        target.add().CopyFrom(item)
                else:
                    target.extend(value)
            elif hasattr(value, "DESCRIPTOR"):
                target.CopyFrom(value)
            else:
                setattr(made, name, value)
        return made

    return st.fixed_dictionaries({}, optional=fields).map(build)


async def start(service: str, url: str, nats_url: str, tmp_path: Path) -> Runtime:
    settings_ = make_settings(service, url, nats_url, tmp_path)
    module = __import__(f"services.{service}.__main__", fromlist=["build"])
    if service == "notifications":
        from hublocal.mailsink import MailSink
        from hublocal.natsserver import free_port

        runtime = module.build(settings_, notify_config(MailSink(port=free_port())))
    elif service == "investors":
        runtime = module.build(
            settings_.with_(partner_port=0, partner_key_limit=10**9, partner_peer_rate=1e6, partner_peer_burst=10**6)
        )
    else:
        runtime = module.build(settings_)
    await runtime.start()
    # Start-up writes of its own (the worker records the program managers) settle before the first call.
    previous: dict[str, int] = {}
    while (now := await row_counts(runtime.db)) != previous:
        previous = now
        await asyncio.sleep(0.5)
    return runtime


@pytest.fixture(params=SERVICES)
async def service(
    request: pytest.FixtureRequest, new_database: Callable[[str], Any], tmp_path: Path
) -> AsyncIterator[Runtime]:
    url = await new_database(request.param)
    # NATS "down": a port held bound but not listening refuses connections.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        runtime = await start(request.param, url, f"nats://127.0.0.1:{closed.getsockname()[1]}", tmp_path)
        yield runtime
        await runtime.stop()


def methods(runtime: Runtime) -> list[tuple[str, Any, Any]]:
    """Every method the service's main port serves (its own, the operator's, privacy): all it has a policy for."""
    found = []
    for path in sorted(runtime.policies):
        service_name, method_name = path.strip("/").split("/")
        method = descriptor_pool.Default().FindServiceByName(service_name).methods_by_name[method_name]
        found.append((path, method.input_type, message_factory.GetMessageClass(method.output_type)))
    return found


async def test_every_rpc_answers_generated_requests_without_internal_errors(service: Runtime) -> None:
    loop = asyncio.get_running_loop()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.port}")
    seen: collections.Counter[str] = collections.Counter()
    failures: list[str] = []

    def on_loop(coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout=60)

    async def call(path: str, output: Any, request: Any) -> tuple[grpc.StatusCode, str, dict[str, Any]]:
        before = await row_counts(service.db)
        stub = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=output.FromString)  # fmt: skip
        try:
            await stub(request, metadata=ADMIN, timeout=30)
            code, details = grpc.StatusCode.OK, ""
        except grpc.aio.AioRpcError as exc:
            code, details = exc.code(), exc.details() or ""
        after = before if code == grpc.StatusCode.OK else await row_counts(service.db)
        changed = {name: (before.get(name), n) for name, n in after.items() if before.get(name) != n}
        return code, details, changed

    def fuzz(path: str, input_type: Descriptor, output: Any) -> None:
        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(message(input_type))
        def one(request: Any) -> None:
            code, details, changed = on_loop(call(path, output, request))
            seen[code.name] += 1
            if code in NEVER:
                failures.append(f"{path} -> {code.name} {details} for {request!r:.300}")
            if changed:
                failures.append(f"{path} refused with {code.name} yet changed {changed}, for {request!r:.300}")

        one()

    for path, input_type, output in methods(service):
        await asyncio.to_thread(fuzz, path, input_type, output)
    health = health_pb2_grpc.HealthStub(channel)
    reply = await health.Check(health_pb2.HealthCheckRequest(), timeout=5)
    await channel.close()
    total = sum(seen.values())
    print(f"\nfuzz {service.settings.service}: {total} requests over {len(methods(service))} methods: {dict(seen)}")
    assert not failures, "\n".join(failures[:20])
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    assert total >= len(methods(service)) * min(EXAMPLES, 2)


def admitted_caller(service: Runtime, path: str) -> tuple[tuple[str, str], ...]:
    """The admin token, or for a method only founders and mentors call (RenewAccessToken) a founder's."""
    if ADMIN_ROLE in service.policies[path]:
        return ADMIN
    moment = now().replace(microsecond=0)
    claims = tokens.Claims(
        tokens.new_token_id(), "김서연", "founder", moment, moment + timedelta(hours=1), "companies/1"
    )
    return (("authorization", f"Bearer {tokens.sign(claims, TOKEN_SIGNING_KEY)}"),)


async def test_undecodable_requests_are_invalid_argument(service: Runtime) -> None:
    """Bytes that are not the request message (invalid UTF-8 in a string field, a truncated field, a
    wrong wire type) are the caller's mistake: INVALID_ARGUMENT, never INTERNAL, and nothing changes."""
    before = await row_counts(service.db)
    seen: collections.Counter[str] = collections.Counter()
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
        for path, input_type, output in methods(service):
            strings = [f for f in input_type.fields if f.type == FieldDescriptor.TYPE_STRING and not f.is_repeated]
            bodies = [b"\x0a\x05ab", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"]  # truncated; bad varint
            if strings:
                tag = (strings[0].number << 3) | 2
                bodies.append(_varint(tag) + b"\x02\xff\xfe")  # a string field holding invalid UTF-8
            for body in bodies:
                stub = channel.unary_unary(
                    path, request_serializer=lambda b: b, response_deserializer=output.FromString
                )
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await stub(body, metadata=admitted_caller(service, path), timeout=10)
                seen[refused.value.code().name] += 1
                assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (path, body, refused.value.details())
    assert await row_counts(service.db) == before
    assert seen["INVALID_ARGUMENT"] >= 2 * len(methods(service))


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


async def test_a_huge_request_is_refused_and_the_others_go_on(service: Runtime) -> None:
    """Past the message size limit (HUB_MAX_MESSAGE_BYTES, 4 MiB) a request is RESOURCE_EXHAUSTED before
    any handler runs, while calls beside it are answered."""

    def text_fields(input_type: Any) -> list[Any]:
        return [f for f in input_type.fields if f.type == FieldDescriptor.TYPE_STRING and not f.is_repeated]

    # the first method with a text field (hub.ops.v1 sorts before hub.playbooks, and its first takes none)
    path, input_type, output = next(m for m in methods(service) if text_fields(m[1]))
    huge = message_factory.GetMessageClass(input_type)()
    text_field = text_fields(input_type)[0]
    setattr(huge, text_field.name, "가" * (2 * 1024 * 1024))  # 6 MiB of UTF-8
    before = await row_counts(service.db)
    async with grpc.aio.insecure_channel(
        f"127.0.0.1:{service.port}", options=[("grpc.max_send_message_length", 64 * 1024 * 1024)]
    ) as channel:
        call = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=output.FromString)  # fmt: skip
        health = health_pb2_grpc.HealthStub(channel)
        outcomes = await asyncio.gather(
            call(huge, metadata=ADMIN, timeout=30),
            *(health.Check(health_pb2.HealthCheckRequest(), timeout=10) for _ in range(20)),
            return_exceptions=True,
        )
    refused = outcomes[0]
    assert isinstance(refused, grpc.aio.AioRpcError) and refused.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert all(r.status == health_pb2.HealthCheckResponse.SERVING for r in outcomes[1:])  # type: ignore[union-attr]
    assert await row_counts(service.db) == before


# Times, dates and durations at the edges of the business range (2000-01-01 .. 2100-12-31, durations 0 .. 366
# days): every such field of every request, wherever it is nested.

TIME_TYPES = ("google.protobuf.Timestamp", "google.type.Date", "google.protobuf.Duration")
YEAR_2000, YEAR_2101 = 946_684_800, 4_133_980_800  # 2000-01-01T00:00Z, 2101-01-01T00:00Z
HOSTILE_TIMES: dict[str, list[dict[str, int]]] = {
    "google.protobuf.Timestamp": [
        {"seconds": -62_135_596_800},  # 0001-01-01
        {"seconds": 253_402_300_740},  # 9999-12-31T23:59Z
        {"seconds": YEAR_2000 - 1},  # 1999-12-31T23:59:59Z
        {"seconds": YEAR_2101},  # 2101-01-01
    ],
    "google.type.Date": [
        {"year": 1, "month": 1, "day": 1},
        {"year": 9999, "month": 12, "day": 31},
        {"year": 1899, "month": 12, "day": 31},  # 1999 is a fine founding year; 1899 is before any
        {"year": 2101, "month": 1, "day": 1},
    ],
    "google.protobuf.Duration": [{"seconds": 10**15}, {"seconds": -1}, {"seconds": -(10**15)}, {"nanos": -1}],
}
EDGE_TIMES: dict[str, st.SearchStrategy[dict[str, int]]] = {
    "google.protobuf.Timestamp": st.sampled_from(
        [{"seconds": s} for s in (YEAR_2000, YEAR_2101 - 60, YEAR_2101 - 1, 1_900_000_000)]
        + [{"seconds": YEAR_2101 - 1, "nanos": 999_999_999}]
        + HOSTILE_TIMES["google.protobuf.Timestamp"]
    ),
    "google.type.Date": st.sampled_from(
        [
            {"year": 2000, "month": 1, "day": 1},
            {"year": 2100, "month": 12, "day": 31},
            {"year": 2100, "month": 2, "day": 29},
            {"year": 2000, "month": 2, "day": 30},
            {"year": 2100, "month": 13},
            {"year": 1999, "month": 12, "day": 31},
            {},
        ]
        + HOSTILE_TIMES["google.type.Date"]
    ),
    "google.protobuf.Duration": st.sampled_from(
        [{"seconds": s} for s in (0, 1, 299, 300, 43_200, 43_260, 86_400, 86_401, 62 * 86_400, 366 * 86_400)]
        + [{"seconds": 366 * 86_400, "nanos": 1}, {"seconds": 2**63 - 1}, {"seconds": -(2**63)}]
        + HOSTILE_TIMES["google.protobuf.Duration"]
    ),
}


def time_type(chain: tuple[FieldDescriptor, ...]) -> str:
    """The full name of the time type a chain of fields ends in."""
    last = chain[-1].message_type
    assert last is not None
    return str(last.full_name)


def time_fields(descriptor: Descriptor, depth: int = 0) -> list[tuple[FieldDescriptor, ...]]:
    """Every Timestamp, Date and Duration field reachable from the message, as the chain of fields to it."""
    found: list[tuple[FieldDescriptor, ...]] = []
    for field in descriptor.fields:
        kind = field.message_type
        if kind is None or kind.GetOptions().map_entry:
            continue
        if kind.full_name in TIME_TYPES:
            found.append((field,))
        elif depth < 3:
            found += [(field, *rest) for rest in time_fields(kind, depth + 1)]
    return found


def set_time(request: Any, chain: tuple[FieldDescriptor, ...], value: dict[str, int]) -> str:
    """Sets the field at the end of the chain (a repeated field gets an element) and returns the path a
    BadRequest names it by."""
    target = request
    for field in chain:
        inner = getattr(target, field.name)
        target = (inner[0] if len(inner) else inner.add()) if field.is_repeated else inner
    target.Clear()
    for key, number in value.items():
        setattr(target, key, number)
    return ".".join(field.name for field in chain)


async def test_times_outside_the_business_range_are_invalid_argument_naming_the_field(service: Runtime) -> None:
    """0001-01-01, 9999-12-31T23:59Z, 1999 and 2101, a Duration of 10^15 s and negative ones, in every time
    field of every method: INVALID_ARGUMENT naming that field, and nothing changes."""
    before = await row_counts(service.db)
    checked = 0
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
        for path, input_type, output in methods(service):
            cls = message_factory.GetMessageClass(input_type)
            stub = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=output.FromString)  # fmt: skip
            for chain in time_fields(input_type):
                for value in HOSTILE_TIMES[time_type(chain)]:
                    request = cls()
                    field_path = set_time(request, chain, value)
                    with pytest.raises(grpc.aio.AioRpcError) as refused:
                        await stub(request, metadata=ADMIN, timeout=10)
                    error = refused.value
                    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, (path, value, error.details())
                    assert f"{field_path}: " in (error.details() or ""), (path, field_path, error.details())
                    checked += 1
    assert await row_counts(service.db) == before
    assert checked >= 4 or service.settings.service == "notifications"  # its requests carry no times


async def test_every_rpc_answers_edge_times_without_internal_errors(service: Runtime) -> None:
    """Generated requests whose times, dates and durations sit at and just past the edges of the business
    range (2100-02-29 that is no day, the last nanosecond of 2100, 12 hours and a minute): never INTERNAL,
    and a refused request changes nothing."""
    loop = asyncio.get_running_loop()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{service.port}")
    failures: list[str] = []
    sent = 0

    def with_edges(base: Any, edges: list[tuple[tuple[FieldDescriptor, ...], dict[str, int]]]) -> Any:
        for chain, value in edges:
            set_time(base, chain, value)
        return base

    async def call(path: str, output: Any, request: Any) -> None:
        before = await row_counts(service.db)
        stub = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=output.FromString)  # fmt: skip
        try:
            await stub(request, metadata=ADMIN, timeout=30)
            return
        except grpc.aio.AioRpcError as exc:
            code, details = exc.code(), exc.details() or ""
        if code in NEVER:
            failures.append(f"{path} -> {code.name} {details} for {request!r:.300}")
        elif await row_counts(service.db) != before:
            failures.append(f"{path} refused with {code.name} yet changed rows, for {request!r:.300}")

    def fuzz(path: str, input_type: Descriptor, output: Any, chains: list[tuple[FieldDescriptor, ...]]) -> None:
        edge = st.sampled_from(chains).flatmap(lambda c: st.tuples(st.just(c), EDGE_TIMES[time_type(c)]))

        @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))  # fmt: skip
        @given(st.builds(with_edges, message(input_type), st.lists(edge, min_size=1, max_size=3)))
        def one(request: Any) -> None:
            nonlocal sent
            asyncio.run_coroutine_threadsafe(call(path, output, request), loop).result(timeout=60)
            sent += 1

        one()

    for path, input_type, output in methods(service):
        if chains := time_fields(input_type):
            await asyncio.to_thread(fuzz, path, input_type, output, chains)
    await channel.close()
    assert not failures, "\n".join(failures[:20])
    assert sent > 0 or service.settings.service == "notifications"


# Hostile page tokens: the right shape (base64 JSON, signed with the hub's key as an insider or anyone reading
# the embedded default knows it, or in the unkeyed form tokens once had, with the right digest of the query)
# holding a position of the wrong type or range. Every List answers INVALID_ARGUMENT on page_token.

HOSTILE_POSITIONS: list[Any] = [
    [], [None], [[1]], [[[]]], [{"p": 1}], [1.0], [1.5], [True], [0], [-1], [2**63], [2**70], ["1"], [1, 2],
    ["x" * 10_000], ["x" * 10_000, 1], [None, 1], [1, "x"], [[], 1], ["2026-01-01T00:00:00+00:00", 2**70],
    ["2026-01-01T00:00:00+00:00", -1], ["2026-01-01T00:00:00+00:00", 1.5], ["2026-01-01T00:00:00", 1],
    ["0001-01-01T00:00:00+14:00", 1], ["2026-13-01", 1], [20260101, 1], ["a\x00b", 1], {"p": [1]}, "p", 7,
]  # fmt: skip
TIME, DAY = "2026-01-01T00:00:00+00:00", "2026-01-01"
# Each List's query key for the request below (what its token is bound to) and a position that fits it.
OF_COMPANY = {"parent": "companies/1"}
SUBSCRIPTION = {"parent": "webhookSubscriptions/1"}
LISTS: dict[str, tuple[dict[str, str], str, list[Any]]] = {
    "/hub.companies.v1.CompanyService/ListCompanies": ({}, "[]|create_time|False||False", [TIME, 1]),
    "/hub.companies.v1.CompanyService/ListPeople": ({}, "[]|", [1]),
    "/hub.companies.v1.CompanyService/ListSavedViews": ({}, "[]", [1]),
    "/hub.companies.v1.ProgramService/ListRounds": ({}, "rounds", [1]),
    "/hub.companies.v1.ProgramService/ListApplications": ({}, "applications|[]", [1]),
    "/hub.companies.v1.ProgramService/ListMilestones": ({}, "milestones|[]", [DAY, 1]),
    "/hub.companies.v1.ProgramService/ListKpiRequests": ({}, "kpiRequests|[]", [1]),
    "/hub.companies.v1.ProgramService/ListReviewers": ({}, "reviewers", [1]),
    "/hub.companies.v1.ProgramService/ListReviewAssignments": ({}, "reviewAssignments|[]", [1]),
    "/hub.ops.v1.AccessTokenService/ListAccessTokens": ({}, "[]|False|False", [TIME, "abcdefghijklmnop"]),
    "/hub.ops.v1.IdentityService/ListIdentities": ({}, "[]", [1]),
    "/hub.ops.v1.IdentityService/ListSignInEvents": ({}, "[]", [1]),
    "/hub.ops.v1.OperationsService/ListDeadLetters": ({}, "dead_letters:False", [1]),
    "/hub.investors.v1.InvestorService/ListFirms": ({}, "[]|", [1]),
    "/hub.investors.v1.InvestorService/ListPartners": ({}, "[]", [1]),
    "/hub.investors.v1.InvestorService/ListApiKeys": ({}, "[]|False", [1]),
    "/hub.investors.v1.InvestorService/ListPartnerCalls": ({}, "[]", [1]),
    "/hub.investors.v1.InvestorService/ListIntroductions": ({}, "[]", [1]),
    "/hub.investors.v1.InvestorService/ListRounds": ({}, "[]", [1]),
    "/hub.investors.v1.InvestorService/ListCompanyIntroductions": (OF_COMPANY, "[('company', [1])]", [1]),
    "/hub.investors.v1.InvestorService/ListSharingGrants": (OF_COMPANY, "grants|1|False", [1]),
    "/hub.investors.v1.InvestorService/ListCompanyReads": (OF_COMPANY, "reads|1|[]", [1]),
    "/hub.investors.v1.PartnerService/ListIntroductions": ({}, "partner|[]", [1]),
    "/hub.investors.v1.PartnerService/ListCompanyUpdates": ({}, "updates|[]", [1]),
    "/hub.investors.v1.InvestorService/ListWebhookSubscriptions": ({}, "[]", [1]),
    "/hub.investors.v1.PartnerService/ListWebhookSubscriptions": ({}, "[('firm', [1])]", [1]),
    # The partner's firm's subscription, which partner_port_and_key makes.
    "/hub.investors.v1.InvestorService/ListWebhookDeliveries": (SUBSCRIPTION, "[('subscription', [1])]", [1]),
    "/hub.investors.v1.PartnerService/ListWebhookDeliveries": (SUBSCRIPTION, "[('subscription', [1])]", [1]),
    "/hub.consulting.v1.ConsultingService/ListMentors": ({}, "mentors|[]", [1]),
    "/hub.consulting.v1.ConsultingService/ListAvailabilityExceptions": ({"mentor": "mentors/1"}, "exceptions|1", [1]),
    "/hub.consulting.v1.ConsultingService/ListRooms": ({}, "rooms", [1]),
    "/hub.consulting.v1.ConsultingService/ListSessionTypes": ({}, "sessionTypes", [1]),
    "/hub.consulting.v1.ConsultingService/ListSessions": ({}, "sessions|[]", [TIME, 1]),
    "/hub.consulting.v1.ConsultingService/ListActionItems": ({}, "actionItems|[]", [1]),
    "/hub.consulting.v1.ConsultingService/ListPrograms": ({}, "programs|[]", [1]),
    "/hub.consulting.v1.ConsultingService/ListRegistrations": ({"program": "programs/1"}, "registrations|1", [1]),
    "/hub.consulting.v1.ConsultingService/ListGpuNodes": ({}, "gpuNodes", [1]),
    "/hub.consulting.v1.ConsultingService/ListGpuBookings": ({}, "gpuBookings||", [1]),
    "/hub.notifications.v1.NotificationService/ListFollowUps": ({}, "follow_ups|[]", [1]),
    "/hub.notifications.v1.NotificationService/ListDeliveries": ({}, "deliveries|[]", [1]),
    "/hub.notifications.v1.NotificationService/ListRecipients": ({}, "recipients|[]", [1]),
    "/hub.playbooks.v1.PlaybookService/ListPlaybooks": ({}, "playbooks", [1]),
    "/hub.playbooks.v1.PlaybookService/ListFirings": ({}, "firings|[]", [1]),
}  # fmt: skip


def signed_page_token(query: str, position: Any) -> str:
    """A token as the service makes it, with the key the test's services derive from their settings."""
    return PageTokens.encode(query, position, page_token_keys([TOKEN_SIGNING_KEY]))


def unkeyed_page_token(query: str, position: Any) -> str:
    """A token in the form they had before they were signed: base64 JSON with a plain digest of the query."""
    body = {"q": hashlib.sha256(query.encode()).hexdigest()[:16], "p": position}
    return base64.urlsafe_b64encode(json.dumps(body).encode()).decode().rstrip("=")


async def partner_port_and_key(runtime: Runtime, channel: grpc.aio.Channel) -> tuple[int, str]:
    """The investors' partner API and a key for it (a firm, a partner, a key, made through the admin API)."""
    from hub.investors.v1 import investors_pb2 as ipb
    from hub.investors.v1 import investors_pb2_grpc
    from hub.investors.v1 import partner_webhooks_pb2 as wpb

    admin = investors_pb2_grpc.InvestorServiceStub(channel)
    firm = await admin.CreateFirm(ipb.CreateFirmRequest(firm=ipb.Firm(korean_name="한빛벤처스", type=ipb.FIRM_TYPE_VC)),
                                  metadata=ADMIN)  # fmt: skip
    partner = await admin.CreatePartner(
        ipb.CreatePartnerRequest(partner=ipb.Partner(firm=firm.name, korean_name="파트너")), metadata=ADMIN
    )
    key = await admin.CreateApiKey(ipb.CreateApiKeyRequest(api_key=ipb.ApiKey(partner=partner.name)), metadata=ADMIN)
    hook = wpb.WebhookSubscription(firm=firm.name, url="https://hooks.example.kr/fuzz", event_types=["round.reported"])
    await admin.CreateWebhookSubscription(
        wpb.CreateWebhookSubscriptionRequest(webhook_subscription=hook), metadata=ADMIN
    )
    return runtime.listeners[0].bound_port, key.secret


async def test_every_list_refuses_forged_page_tokens_with_hostile_positions(service: Runtime) -> None:
    main = grpc.aio.insecure_channel(f"127.0.0.1:{service.port}")
    served = await every_method(service, main)
    lists = sorted(p for p in served if "page_token" in _input(p).fields_by_name)
    assert lists and set(lists) <= set(LISTS), f"a List without an entry in LISTS: {set(lists) - set(LISTS)}"
    before = await row_counts(service.db)
    failures = []
    for path in lists:
        channel, metadata = served[path]
        fields, query, fits = LISTS[path]
        request_type: Any = message_factory.GetMessageClass(_input(path))
        output = message_factory.GetMessageClass(
            descriptor_pool.Default().FindMethodByName(path.strip("/").replace("/", ".")).output_type
        )
        stub = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=output.FromString)  # fmt: skip
        # The query key is right: a token that fits is taken (an empty page), so the hostile ones reach the check.
        await stub(request_type(page_token=signed_page_token(query, fits), **fields), metadata=metadata, timeout=30)
        for position in HOSTILE_POSITIONS:
            for token in (signed_page_token(query, position), unkeyed_page_token(query, position)):
                request = request_type(page_token=token, **fields)
                if problem := await not_refused(stub, request, metadata, "page_token"):
                    failures.append(f"{path} {problem} for {position!r:.80}")
    await main.close()
    assert not failures, "\n".join(failures[:20])
    await assert_nothing_written(service, before)


async def not_refused(stub: Any, request: Any, metadata: Any, field: str) -> str | None:
    """What is wrong with the answer to a request that must be INVALID_ARGUMENT naming field, if anything."""
    try:
        await stub(request, metadata=metadata, timeout=30)
        return "was taken"
    except grpc.aio.AioRpcError as exc:
        named = _bad_fields(exc)
        return (
            None
            if exc.code() == grpc.StatusCode.INVALID_ARGUMENT and field in named
            else (f"-> {exc.code().name} {named} {exc.details()}")
        )


async def assert_nothing_written(service: Runtime, before: dict[str, int]) -> None:
    after = await row_counts(service.db)
    for counted in ("partner_calls", "partner_key_usage"):  # the partner API audits and counts every call
        after.pop(counted, None), before.pop(counted, None)
    assert after == before


async def every_method(service: Runtime, main: grpc.aio.Channel) -> dict[str, tuple[grpc.aio.Channel, Any]]:
    """Every method path with the channel and metadata to call it: the main port as admin, and the partner
    API (investors) with a partner's key."""
    served: dict[str, tuple[grpc.aio.Channel, Any]] = {path: (main, ADMIN) for path in service.policies}
    if service.listeners:
        port, key = await partner_port_and_key(service, main)
        partner = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
        served |= {path: (partner, (("authorization", f"Bearer {key}"),)) for path in service.listeners[0].policies}
    return served


def _input(path: str) -> Descriptor:
    return descriptor_pool.Default().FindMethodByName(path.strip("/").replace("/", ".")).input_type


# Text with control or invisible characters: BEL, a right-to-left override, a name of nothing but a zero-width
# space, a Hangul filler posing as a space. Refused in every string field of every request, naming the field.
HOSTILE_TEXT = ["메디\x07비전", "\u202e메디비전", "\u200b", "메디\u3164비전"]


def string_fields(descriptor: Descriptor, depth: int = 0) -> list[list[FieldDescriptor]]:
    """Every string field of a request, as the chain of fields that leads to it (down to depth 3)."""
    found: list[list[FieldDescriptor]] = []
    for field in descriptor.fields:
        if field.type == FieldDescriptor.TYPE_STRING:
            found.append([field])
        elif field.message_type is not None and not field.message_type.GetOptions().map_entry and depth < 3:
            found += [[field, *inner] for inner in string_fields(field.message_type, depth + 1)]
    return found


def with_text(request_type: Any, chain: list[FieldDescriptor], text: str) -> Any:
    request = request_type()
    target = request
    for field in chain[:-1]:
        target = getattr(target, field.name).add() if field.is_repeated else getattr(target, field.name)
    last = chain[-1]
    if last.is_repeated:
        getattr(target, last.name).append(text)
    else:
        setattr(target, last.name, text)
    return request


async def test_every_string_field_refuses_control_and_invisible_characters(service: Runtime) -> None:
    main = grpc.aio.insecure_channel(f"127.0.0.1:{service.port}")
    served = await every_method(service, main)
    before = await row_counts(service.db)
    failures, checked = [], 0
    for path, (channel, metadata) in sorted(served.items()):
        method = descriptor_pool.Default().FindMethodByName(path.strip("/").replace("/", "."))
        request_type = message_factory.GetMessageClass(method.input_type)
        output = message_factory.GetMessageClass(method.output_type)
        stub = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=output.FromString)  # fmt: skip
        for chain in string_fields(method.input_type):
            field = ".".join(f.name for f in chain)
            for text in HOSTILE_TEXT:
                checked += 1
                if problem := await not_refused(stub, with_text(request_type, chain, text), metadata, field):
                    failures.append(f"{path} {field}={text!r} {problem}")
    await main.close()
    assert not failures, "\n".join(failures[:20])
    await assert_nothing_written(service, before)
    assert checked >= 4 * len(served)


def _bad_fields(exc: grpc.aio.AioRpcError) -> list[str]:
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    status = rpc_status.from_call(exc)
    found = []
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            found += [v.field for v in bad.field_violations]
    return found


# Requests that succeed as they are: each string of the resource made hostile must be refused, naming it, and
# write nothing (the rest of the request being valid, only the text can be why).
VALID_CREATES: dict[str, tuple[str, dict[str, Any]]] = {
    "/hub.companies.v1.CompanyService/CreateCompany": (
        "company",
        {"korean_name": "메디비전", "english_name": "Medivision", "sector": 1, "description": "의료 영상"},
    ),
    "/hub.companies.v1.CompanyService/CreatePerson": (
        "person",
        {"korean_name": "김서연", "english_name": "Seoyeon Kim", "title": "CTO", "email": "kim@medi.ai", "role": 3},
    ),
    "/hub.investors.v1.InvestorService/CreateFirm": (
        "firm",
        {"korean_name": "한빛벤처스", "english_name": "Hanbit Ventures", "type": 1, "description": "시드"},
    ),
    "/hub.consulting.v1.ConsultingService/CreateMentor": (
        "mentor",
        {"korean_name": "김도현", "english_name": "Dohyun Kim", "kind": 1, "affiliation": "KAIST"},
    ),
    "/hub.consulting.v1.ConsultingService/CreateRoom": ("room", {"display_name": "501호 회의실", "capacity": 8}),
}


async def test_names_with_control_or_invisible_characters_are_refused_and_write_nothing(service: Runtime) -> None:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
        for path, (resource, fields) in VALID_CREATES.items():
            if path not in service.policies:
                continue
            method = descriptor_pool.Default().FindMethodByName(path.strip("/").replace("/", "."))
            request_type = message_factory.GetMessageClass(method.input_type)
            output = message_factory.GetMessageClass(method.output_type)
            stub = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                       response_deserializer=output.FromString)  # fmt: skip
            texts = [name for name, value in fields.items() if isinstance(value, str)]
            for name in texts:
                for text in HOSTILE_TEXT:
                    before = await row_counts(service.db)
                    request = request_type(**{resource: {**fields, name: text}})
                    with pytest.raises(grpc.aio.AioRpcError) as refused:
                        await stub(request, metadata=ADMIN, timeout=30)
                    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, (path, name, text)
                    assert _bad_fields(refused.value) == [f"{resource}.{name}"], (path, name, text)
                    assert await row_counts(service.db) == before
            await stub(request_type(**{resource: fields}), metadata=ADMIN, timeout=30)  # valid as it is
