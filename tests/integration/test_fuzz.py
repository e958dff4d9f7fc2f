"""Every RPC of every service, sent requests generated from its descriptor (hypothesis): random field
values, oversized and Hangul/emoji strings, unknown enum numbers, timestamps at the edges, huge page sizes,
malformed page tokens and field masks, resource names that do not exist. The status is never INTERNAL or
UNKNOWN; a refused request changes no row of any table; the service still answers health checks.

The services run with NATS unreachable, so that no consumer or relay writes behind the test's back: every
row count is the work of the calls alone. HUB_FUZZ_EXAMPLES (default 8) sets examples per method."""

from __future__ import annotations

import asyncio
import collections
import os
import socket
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubcore.server import Runtime
from tests.conftest import ADMIN, make_settings, notify_config, row_counts

EXAMPLES = int(os.environ.get("HUB_FUZZ_EXAMPLES", "8"))
NEVER = {grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN}
SERVICES = ["companies", "investors", "consulting", "notifications"]

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
    cls = message_factory.GetMessageClass(descriptor)
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
        from hubcore.mailsink import MailSink
        from hubcore.natsserver import free_port

        runtime = module.build(settings_, notify_config(MailSink(port=free_port())))
    elif service == "investors":
        runtime = module.build(
            settings_.with_(
                partner_port=0, partner_rate=1e6, partner_burst=10**6, partner_peer_rate=1e6, partner_peer_burst=10**6
            )
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
                    await stub(body, metadata=ADMIN, timeout=10)
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
    path, input_type, output = methods(service)[0]
    huge = message_factory.GetMessageClass(input_type)()
    text_field = next(f for f in input_type.fields if f.type == FieldDescriptor.TYPE_STRING and not f.is_repeated)
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
                for value in HOSTILE_TIMES[chain[-1].message_type.full_name]:
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
        edge = st.sampled_from(chains).flatmap(
            lambda c: st.tuples(st.just(c), EDGE_TIMES[c[-1].message_type.full_name])
        )

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
