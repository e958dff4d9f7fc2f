"""Prometheus metrics of one service process, on an HTTP port of its own (off unless configured).

RPCs are counted as they finish (the interceptor); events as the consumers apply them. What lives in
the database or in JetStream (outbox lag, dead letters, consumer lag, follow-ups) is read at most every
few seconds by a refresh loop, never on the scrape: a scrape never touches the database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from hubcore.db import Database, dead_letters, outbox

log = structlog.get_logger()

# An extra reading a service adds (the notifications worker: follow-ups by state): name -> labels -> value.
Probe = Callable[[Database], Awaitable[dict[str, dict[tuple[str, ...], float]]]]


class Metrics:
    def __init__(self, service: str) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        r = self.registry
        self.rpcs = Counter(
            "hub_rpc_requests", "RPCs answered, by method and status code", ["method", "code"], registry=r
        )
        self.latency = Histogram(
            "hub_rpc_duration_seconds",
            "Time from receiving an RPC to answering it",
            ["method"],
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=r,
        )
        self.events = Counter(
            "hub_events_processed",
            "Events a consumer handled, by outcome (applied, duplicate, retried, dead_lettered)",
            ["consumer", "outcome"],
            registry=r,
        )
        self.outbox_unpublished = Gauge("hub_outbox_unpublished", "Events committed, not yet published", registry=r)
        self.outbox_lag = Gauge(
            "hub_outbox_lag_seconds", "Age of the oldest unpublished event (0 when none waits)", registry=r
        )
        self.dead_letters = Gauge("hub_dead_letters_open", "Dead letters not yet replayed or resolved", registry=r)
        self.consumer_pending = Gauge(
            "hub_consumer_pending",
            "Messages in the stream the consumer has not been given yet",
            ["consumer"],
            registry=r,
        )
        self.consumer_unacked = Gauge(
            "hub_consumer_ack_pending", "Messages given to the consumer and not yet acked", ["consumer"], registry=r
        )
        self.consumer_redelivered = Gauge(
            "hub_consumer_redelivered", "Messages JetStream is redelivering to the consumer", ["consumer"], registry=r
        )
        self.probes: list[tuple[Probe, dict[str, Gauge]]] = []
        self._server: Any = None

    def add_probe(self, probe: Probe, gauges: dict[str, tuple[str, list[str]]]) -> None:
        """Registers a service's own reading: gauges is name -> (help, label names)."""
        made = {name: Gauge(name, text, labels, registry=self.registry) for name, (text, labels) in gauges.items()}
        self.probes.append((probe, made))

    def observe_rpc(self, method: str, code: str, seconds: float) -> None:
        self.rpcs.labels(method, code).inc()
        self.latency.labels(method).observe(seconds)

    def serve(self, host: str, port: int) -> int:
        """Starts the HTTP endpoint (/metrics) in a thread; returns the port it took."""
        self._server, _thread = start_http_server(port, addr=host, registry=self.registry)
        return int(self._server.server_port)

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    async def refresh(self, db: Database, consumers: list[Any]) -> None:
        """Reads the database and JetStream figures once."""
        unpublished = outbox.c.published_at.is_(None)
        async with db.read() as conn:
            count, oldest = (
                await conn.execute(sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)).where(unpublished))
            ).one()
            dead = (
                await conn.execute(sa.select(sa.func.count()).where(dead_letters.c.resolved_at.is_(None)))
            ).scalar_one()
        self.outbox_unpublished.set(count)
        if oldest is not None and oldest.tzinfo is None:
            oldest = oldest.replace(tzinfo=UTC)
        self.outbox_lag.set((datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0)
        self.dead_letters.set(dead)
        for consumer in consumers:
            try:
                info = await consumer.info()
            except Exception as exc:  # not subscribed yet, or NATS away: its figures are read next time
                log.debug("consumer info unavailable", consumer=consumer.spec.durable, error=repr(exc))
                continue
            name = consumer.spec.durable
            self.consumer_pending.labels(name).set(info.num_pending or 0)
            self.consumer_unacked.labels(name).set(info.num_ack_pending or 0)
            self.consumer_redelivered.labels(name).set(info.num_redelivered or 0)
        for probe, gauges in self.probes:
            for name, values in (await probe(db)).items():
                for labels, value in values.items():
                    (gauges[name].labels(*labels) if labels else gauges[name]).set(value)

    def refresher(self, db: Database, consumers: list[Any], every: float) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            while True:
                try:
                    await self.refresh(db, consumers)
                except Exception as exc:  # a figure that cannot be read now is read next time
                    log.warning("metrics refresh failed", error=repr(exc))
                await asyncio.sleep(every)

        return run
