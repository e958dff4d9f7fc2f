"""OpenTelemetry traces across gRPC calls and events. Off unless OTEL_EXPORTER_OTLP_ENDPOINT is set (the
standard variable; OTEL_SERVICE_NAME and the other OTEL_* settings apply too): then every RPC is a server
span, the context rides in each event's envelope and message headers, and each consumer's handling is a
span of the same trace, so one request can be followed from hubctl through every service it touched.
Without it the API's no-op tracer costs next to nothing and nothing is sent anywhere."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import structlog
from opentelemetry import propagate, trace

from hubcore.settings import TracingSettings

tracer = trace.get_tracer("hub")


def configure(service: str) -> bool:
    """Exports spans over OTLP (gRPC) when an endpoint is configured; returns whether it does."""
    settings = TracingSettings.from_env(service)
    if not settings.otlp_endpoint:
        return False
    from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    provider = TracerProvider(resource=Resource.create({"service.name": settings.service_name}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True


def carrier() -> dict[str, str]:
    """The current trace context as W3C headers (empty when no span is recording)."""
    headers: dict[str, str] = {}
    propagate.inject(headers)
    return headers


@contextmanager
def span(name: str, parent: Mapping[str, str], kind: trace.SpanKind, **attributes: Any) -> Iterator[trace.Span]:
    """A span continuing the trace in parent's W3C headers; its trace id is bound to the log lines."""
    with tracer.start_as_current_span(name, context=propagate.extract(dict(parent)), kind=kind) as current:
        for key, value in attributes.items():
            current.set_attribute(key, value)
        ids = current.get_span_context()
        if ids.is_valid:
            with structlog.contextvars.bound_contextvars(trace_id=format(ids.trace_id, "032x")):
                yield current
        else:
            yield current
