"""One trace from a caller through an RPC, the event it emitted, and the consumers in other services:
the context travels in gRPC metadata, then in the envelope and the NATS message headers."""

from __future__ import annotations

import nats
import pytest
from hub.companies.v1 import companies_pb2 as pb
from opentelemetry import propagate
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from hubcore import events, tracing
from hublocal.natsserver import NatsServer
from tests.conftest import ADMIN, Running, RunningConsulting, eventually


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> TracerProvider:
    """The hub's tracer recording, as OTEL_EXPORTER_OTLP_ENDPOINT would switch it on, into memory."""
    provider = TracerProvider()
    monkeypatch.setattr(tracing, "tracer", provider.get_tracer("hub"))
    return provider


async def test_a_request_is_one_trace_across_services(
    companies: Running, consulting: RunningConsulting, nats_server: NatsServer, provider: TracerProvider
) -> None:
    spans = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(spans))
    with provider.get_tracer("hubctl").start_as_current_span("hubctl companies add", kind=SpanKind.CLIENT) as caller:
        headers: dict[str, str] = {}
        propagate.inject(headers)
        request = pb.CreateCompanyRequest(company=pb.Company(korean_name="추적회사", sector=pb.SECTOR_EDUCATION))
        await companies.companies.CreateCompany(request, metadata=(*ADMIN, *headers.items()))
    trace_id = caller.get_span_context().trace_id

    def named(name: str) -> list[ReadableSpan]:
        return [s for s in spans.get_finished_spans() if s.name == name]

    directory = "consulting-company-directory hub.companies.company.registered"
    found = await eventually(lambda: _some(named(directory)))
    (server,) = named("/hub.companies.v1.CompanyService/CreateCompany")
    assert server.kind == SpanKind.SERVER and server.context is not None and server.parent is not None
    assert server.context.trace_id == trace_id and server.parent.span_id == caller.get_span_context().span_id
    assert server.attributes is not None and server.attributes["rpc.grpc.status_code"] == 0
    consumer = found[0]
    assert consumer.kind == SpanKind.CONSUMER and consumer.context is not None and consumer.parent is not None
    assert consumer.context.trace_id == trace_id and consumer.parent.span_id == server.context.span_id

    nc = await nats.connect(nats_server.url)
    try:
        message = await nc.jetstream().get_last_msg(events.STREAM, "hub.companies.company.registered")
    finally:
        await nc.close()
    assert message.headers is not None and f"{trace_id:032x}" in message.headers["traceparent"]


async def _some(found: list[ReadableSpan]) -> list[ReadableSpan] | None:
    return found or None


async def test_without_tracing_nothing_rides_along(companies: Running, nats_server: NatsServer) -> None:
    request = pb.CreateCompanyRequest(company=pb.Company(korean_name="무추적", sector=pb.SECTOR_EDUCATION))
    await companies.companies.CreateCompany(request, metadata=ADMIN)
    nc = await nats.connect(nats_server.url)
    try:

        async def published() -> object:
            try:
                return await nc.jetstream().get_last_msg(events.STREAM, "hub.companies.company.registered")
            except nats.js.errors.NotFoundError:
                return None

        message = await eventually(published)
    finally:
        await nc.close()
    assert "traceparent" not in (message.headers or {})
