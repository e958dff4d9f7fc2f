"""/metrics of a running service, scraped over HTTP: RPCs by method and code, events applied by its
consumers, outbox and consumer lag, dead letters; and the notifications worker's follow-ups by state."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path

import grpc
from hub.companies.v1 import companies_pb2 as pb
from prometheus_client.parser import text_string_to_metric_families

from hublocal.mailsink import MailSink
from hublocal.natsserver import NatsServer
from tests.conftest import (
    ADMIN,
    eventually,
    make_settings,
    notify_config,
    start_companies,
    start_notifications,
    stop_notifications,
)

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(port: int) -> Samples:
    def get() -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
            return str(reply.read().decode())

    text = await asyncio.to_thread(get)
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


async def test_companies_metrics_count_rpcs_events_and_lag(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> None:
    url = await new_database("companies")
    settings = make_settings("companies", url, nats_server.url, tmp_path, metrics_port=0, metrics_refresh_seconds=0.2)
    running = await start_companies(settings)
    try:
        await asyncio.wait_for(running.runtime.ready.wait(), 10)
        port = running.runtime.metrics_port
        assert port > 0
        create = "/hub.companies.v1.CompanyService/CreateCompany"
        for name in ("메트릭스", "측정"):
            request = pb.CreateCompanyRequest(company=pb.Company(korean_name=name, sector=pb.SECTOR_MEDICAL))
            await running.companies.CreateCompany(request, metadata=ADMIN)
        try:
            await running.companies.CreateCompany(pb.CreateCompanyRequest(), metadata=ADMIN)
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.INVALID_ARGUMENT
        else:
            raise AssertionError("an empty company was accepted")

        async def settled() -> Samples | None:
            samples = await scrape(port)
            applied = sum(v for (n, labels), v in samples.items() if n == "hub_events_processed_total"
                          and ("outcome", "applied") in labels)  # fmt: skip
            drained = value(samples, "hub_outbox_unpublished") == 0
            durables = {spec.durable for spec in running.runtime.consumer_specs}
            consumers = {dict(labels)["consumer"] for (n, labels) in samples if n == "hub_consumer_pending"}
            return samples if applied >= 2 and drained and consumers == durables else None

        samples = await eventually(settled)
        assert value(samples, "hub_rpc_requests_total", method=create, code="OK") == 2
        assert value(samples, "hub_rpc_requests_total", method=create, code="INVALID_ARGUMENT") == 1
        assert value(samples, "hub_rpc_duration_seconds_count", method=create) == 3
        assert value(samples, "hub_outbox_lag_seconds") == 0
        assert value(samples, "hub_dead_letters_open") == 0
        consumers = {dict(labels)["consumer"] for (n, labels) in samples if n == "hub_consumer_pending"}
        assert consumers == {spec.durable for spec in running.runtime.consumer_specs} and consumers
        assert all(value(samples, "hub_consumer_pending", consumer=c) == 0 for c in consumers)
    finally:
        await running.channel.close()
        await running.runtime.stop()
    refused = False
    try:
        await scrape(port)
    except OSError:
        refused = True
    assert refused, "/metrics still answers after stop"


async def test_notifications_metrics_show_follow_ups_by_state(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path, mail_sink: MailSink
) -> None:
    url = await new_database("notifications")
    settings = make_settings(
        "notifications", url, nats_server.url, tmp_path, metrics_port=0, metrics_refresh_seconds=0.2
    )
    running = await start_notifications(settings, notify_config(mail_sink))
    try:
        samples = await eventually(
            lambda: _with(scrape(running.runtime.metrics_port), ("hub_follow_ups", (("state", "PENDING"),)))
        )
        assert value(samples, "hub_deliveries", channel="EMAIL", state="FAILED") == 0
        assert value(samples, "hub_follow_ups", state="DISPATCHED") == 0
    finally:
        await stop_notifications(running)


async def _with(scraping: Awaitable[Samples], key: tuple[str, tuple[tuple[str, str], ...]]) -> Samples | None:
    samples = await scraping
    return samples if key in samples else None
