"""The event backbone: stream provisioning, the outbox relay, and durable consumers with an inbox.

A state change and its event commit in one transaction (outbox). The relay publishes unpublished rows in
order with Nats-Msg-Id = event id and marks them after the PubAck. Consumers apply an event and record it
in processed_events in one transaction, then ack; a redelivery or a re-publish finds the record and
changes nothing. Events that keep failing land in dead_letters, where an operator can list and replay them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import nats
import sqlalchemy as sa
import structlog
from google.protobuf import descriptor_pool, message_factory
from google.protobuf.message import DecodeError, Message
from hub.events.v1 import envelope_pb2
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext, api
from nats.js.errors import BadRequestError, NotFoundError
from opentelemetry.trace import SpanKind
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors, tracing
from hubcore.db import Database, UnitOfWork, dead_letters, now, outbox

STREAM = "HUB"
# How long the stream keeps an event. A consumer may read one again until then (a rebuilt or new durable
# reads from the start), so processed_events must be kept at least as long (Settings, checked at start).
STREAM_MAX_AGE_DAYS = 90
log = structlog.get_logger()

Handler = Callable[[UnitOfWork, envelope_pb2.Envelope, Message], Awaitable[None]]


def unpack(envelope: envelope_pb2.Envelope) -> Message:
    """The typed payload of an envelope, by its type URL."""
    full_name = envelope.payload.type_url.rsplit("/", 1)[-1]
    descriptor = descriptor_pool.Default().FindMessageTypeByName(full_name)
    message = message_factory.GetMessageClass(descriptor)()
    envelope.payload.Unpack(message)
    return message


async def connect(url: str, *, name: str) -> NATS:
    """Connects, retrying for ever (a service starts and serves reads while NATS is down); once
    connected, the client reconnects by itself."""
    delay = 0.2
    while True:
        try:
            return await nats.connect(
                [u.strip() for u in url.split(",")],  # a cluster: every seed URL, any of which may be down
                name=name,
                max_reconnect_attempts=-1,
                reconnect_time_wait=0.5,
                connect_timeout=2,
            )
        except (OSError, TimeoutError, nats.errors.NoServersError) as exc:
            log.warning("NATS not reachable; retrying", url=url, error=repr(exc), retry_in=delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)


async def ensure_stream(js: JetStreamContext, *, replicas: int = 1, dedup_window: float = 120.0) -> None:
    """Provisions stream HUB over hub.> idempotently: created if missing, updated if its settings drifted."""
    config = api.StreamConfig(
        name=STREAM,
        subjects=["hub.>"],
        storage=api.StorageType.FILE,
        retention=api.RetentionPolicy.LIMITS,
        num_replicas=replicas,
        duplicate_window=dedup_window,
        max_age=STREAM_MAX_AGE_DAYS * 24 * 3600,
    )
    try:
        await js.stream_info(STREAM)
    except NotFoundError:
        with contextlib.suppress(BadRequestError):  # a replica created it at the same moment
            await js.add_stream(config)
            return
    await js.update_stream(config)


PUBLISH_TIMEOUT = 10.0  # seconds a batch waits for its PubAcks


class OutboxRelay:
    """Publishes committed events, in order, and marks them; woken after each commit and by a slow sweep."""

    def __init__(
        self,
        db: Database,
        js: JetStreamContext,
        *,
        batch_size: int = 256,
        sweep_seconds: float = 1.0,
        after_publish: Callable[[Sequence[str]], None] | None = None,
    ) -> None:
        self.db = db
        self.js = js
        self.batch_size = batch_size
        self.sweep_seconds = sweep_seconds
        self.after_publish = after_publish  # tests use it to die between publish and mark
        self._wake = asyncio.Event()
        self._stopping = False
        db.on_commit(self._wake.set)

    def stop(self) -> None:
        """Ends run() after the batch under way, never inside a transaction."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        while not self._stopping:
            try:
                while await self.publish_batch():
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay failed; retrying", error=str(exc))
                await asyncio.sleep(self.sweep_seconds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.sweep_seconds)
            self._wake.clear()

    async def publish_batch(self) -> int:
        """Publishes one batch; returns how many rows it published (0 when the outbox is drained)."""
        query = (
            sa.select(outbox.c.seq, outbox.c.event_id, outbox.c.subject, outbox.c.data)
            .where(outbox.c.published_at.is_(None))
            .order_by(outbox.c.seq)
            .limit(self.batch_size)
        )
        if self.db.is_sqlite:
            # One process owns a SQLite file: read, publish, then mark in a short write transaction.
            async with self.db.read() as conn:
                rows = (await conn.execute(query)).all()
            if rows:
                await self._publish(rows)
                async with self.db.begin() as conn:
                    await self._mark(conn, rows)
            return len(rows)
        # Several relay replicas share PostgreSQL: each takes rows the others have not locked.
        async with self.db.engine.begin() as conn:
            rows = (await conn.execute(query.with_for_update(skip_locked=True))).all()
            if rows:
                await self._publish(rows)
                await self._mark(conn, rows)
        return len(rows)

    async def _publish(self, rows: Sequence[sa.Row]) -> None:
        futures: list[asyncio.Future[Any]] = []
        try:
            async with asyncio.timeout(PUBLISH_TIMEOUT):
                for row in rows:
                    futures.append(await self.js.publish_async(row.subject, row.data, headers=self._headers(row)))
                await asyncio.gather(*futures)  # raises if any PubAck failed; nothing is marked then
        except TimeoutError:
            # A PubAck lost with a server that died is never answered: publish again (the same Nats-Msg-Id,
            # so JetStream keeps one copy) rather than wait for ever.
            raise RuntimeError(f"no PubAck within {PUBLISH_TIMEOUT:g} s; publishing the batch again") from None
        finally:
            for future in futures:
                future.cancel()  # frees the client's slot for an unanswered publish; a no-op once answered
        if self.after_publish:
            self.after_publish([row.event_id for row in rows])

    @staticmethod
    def _headers(row: sa.Row) -> dict[str, str]:
        headers = {"Nats-Msg-Id": row.event_id}
        if b"traceparent" in row.data:  # a traced change: its context goes out as headers too
            headers |= dict(envelope_pb2.Envelope.FromString(row.data).trace_context)
        return headers

    async def _mark(self, conn: AsyncConnection, rows: Sequence[sa.Row]) -> None:
        await conn.execute(
            outbox.update().where(outbox.c.seq.in_([row.seq for row in rows])).values(published_at=now())
        )


# A payload that raises these fails the same way on every delivery: it is dead-lettered at once, with its
# reason, rather than retried until MaxDeliver (an operator replays it once the cause is fixed).
UNRETRYABLE: tuple[type[BaseException], ...] = (
    DecodeError, ValueError, ArithmeticError, errors.InvalidArgument, errors.FailedPrecondition,
)  # fmt: skip


@dataclass
class ConsumerSpec:
    durable: str
    subjects: list[str]
    handler: Handler


class EventConsumer:
    """A durable pull consumer whose effects commit with a processed-events record, acked after commit."""

    def __init__(
        self,
        db: Database,
        js: JetStreamContext,
        spec: ConsumerSpec,
        *,
        ack_wait: float = 30.0,
        max_deliver: int = 5,
        batch_size: int = 64,
    ) -> None:
        self.db = db
        self.js = js
        self.spec = spec
        self.ack_wait = ack_wait
        self.max_deliver = max_deliver
        self.batch_size = batch_size
        self.crash_after_commit = False  # tests: die after the commit, before the ack
        self.counted: Callable[[str, str], None] = lambda consumer, outcome: None  # metrics hook
        self._stopping = False

    def stop(self) -> None:
        """Ends run() once the message under way is applied and acked; the rest of a fetched batch is
        left unacked and JetStream redelivers it after ack_wait."""
        self._stopping = True

    async def info(self) -> api.ConsumerInfo:
        return await self.js.consumer_info(STREAM, self.spec.durable)

    async def subscribe(self) -> JetStreamContext.PullSubscription:
        config = api.ConsumerConfig(
            durable_name=self.spec.durable,
            filter_subjects=self.spec.subjects,
            ack_policy=api.AckPolicy.EXPLICIT,
            deliver_policy=api.DeliverPolicy.ALL,
            ack_wait=self.ack_wait,
            max_deliver=self.max_deliver,
            max_ack_pending=1000,
        )
        await self.js.add_consumer(STREAM, config)
        return await self.js.pull_subscribe_bind(durable=self.spec.durable, stream=STREAM)

    async def run(self) -> None:
        sub = await self.subscribe()
        while not self._stopping:
            try:
                messages = await sub.fetch(self.batch_size, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("fetch failed; retrying", consumer=self.spec.durable, error=str(exc))
                await asyncio.sleep(0.5)
                continue
            if not self._stopping:
                await self.process_batch(messages)

    async def process(self, msg: Msg) -> None:
        deliveries = msg.metadata.num_delivered if msg.metadata else 1
        try:
            envelope = envelope_pb2.Envelope.FromString(msg.data)
        except DecodeError as exc:
            await self._dead_letter("", msg.subject, msg.data, f"undecodable envelope: {exc}", deliveries)
            await msg.term()
            self.counted(self.spec.durable, "dead_lettered")
            return
        bound = structlog.contextvars.bound_contextvars(event_id=envelope.id, consumer=self.spec.durable)
        with self._span(envelope, dict(msg.headers or {})), bound:
            try:
                applied = await self.apply(envelope)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                unfixable = isinstance(exc, UNRETRYABLE)
                if unfixable or deliveries >= self.max_deliver:
                    reason = f"cannot be handled: {exc!r}" if unfixable else repr(exc)
                    log.error("event dead-lettered", error=reason, deliveries=deliveries)
                    await self._dead_letter(envelope.id, envelope.type, msg.data, reason, deliveries)
                    await msg.term()
                    self.counted(self.spec.durable, "dead_lettered")
                else:
                    log.warning("event failed; will be redelivered", error=repr(exc), deliveries=deliveries)
                    await msg.nak(delay=min(2.0**deliveries, 60.0))
                    self.counted(self.spec.durable, "retried")
                return
            self.counted(self.spec.durable, "applied" if applied else "duplicate")
            if self.crash_after_commit:
                raise RuntimeError("simulated crash between commit and ack")
            await msg.ack_sync()

    async def process_batch(self, messages: Sequence[Msg]) -> None:
        """Applies a fetched batch in one transaction (one commit, one fsync, instead of one per event), then
        acks each. If any event fails, nothing of the batch is kept and each is processed on its own, so
        that only the failing one is retried or dead-lettered. A crash after the commit and before the acks
        redelivers the batch, and the processed-events records drop it."""
        if len(messages) == 1:
            await self.process(messages[0])
            return
        batch: list[tuple[Msg, envelope_pb2.Envelope]] = []
        for msg in messages:
            try:
                batch.append((msg, envelope_pb2.Envelope.FromString(msg.data)))
            except DecodeError:
                await self.process(msg)  # dead-lettered there
        outcomes: list[str] = []
        try:
            async with self.db.write(actor=f"service:{self.db.source}") as uow:
                for _, envelope in batch:
                    uow.correlation_id, uow.causation_id = envelope.correlation_id, envelope.id
                    bound = structlog.contextvars.bound_contextvars(event_id=envelope.id, consumer=self.spec.durable)
                    with self._span(envelope, {}), bound:
                        outcomes.append("applied" if await self._apply_in(uow, envelope) else "duplicate")
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.info("batch failed; applying its events one by one", consumer=self.spec.durable, error=repr(exc))
            for msg, _ in batch:
                await self.process(msg)
            return
        for outcome in outcomes:
            self.counted(self.spec.durable, outcome)
        if self.crash_after_commit:
            raise RuntimeError("simulated crash between commit and ack")
        for msg, _ in batch:
            await msg.ack()  # not ack_sync: a lost ack only redelivers, and the processed record drops it

    def _span(self, envelope: envelope_pb2.Envelope, headers: dict[str, str]) -> Any:
        parent = headers | dict(envelope.trace_context)
        return tracing.span(f"{self.spec.durable} {envelope.type}", parent, SpanKind.CONSUMER,
                            **{"messaging.system": "nats", "messaging.message.id": envelope.id})  # fmt: skip

    async def apply(self, envelope: envelope_pb2.Envelope) -> bool:
        """Applies the event once; returns False when it had been applied before."""
        async with self.db.write(
            actor=f"service:{self.db.source}",
            correlation_id=envelope.correlation_id,
            causation_id=envelope.id,
        ) as uow:
            return await self._apply_in(uow, envelope)

    async def _apply_in(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope) -> bool:
        """The event's effects and its processed record, in the caller's transaction; False if seen before."""
        if await uow.already_processed(self.spec.durable, envelope.id):
            return False
        await self.spec.handler(uow, envelope, unpack(envelope))
        await uow.mark_processed(self.spec.durable, envelope.id)
        return True

    async def _dead_letter(self, event_id: str, event_type: str, data: bytes, error: str, deliveries: int) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                dead_letters.insert().values(
                    consumer=self.spec.durable,
                    event_id=event_id,
                    event_type=event_type,
                    data=data,
                    error=error[:2000],
                    deliveries=deliveries,
                    created_at=now(),
                )
            )
