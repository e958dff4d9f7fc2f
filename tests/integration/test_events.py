"""The event backbone against a real nats-server: outbox -> relay -> JetStream -> consumer with inbox.

Downstream effects are counted in a table of their own, one row per applied event, so "exactly one
effect" is a row count, not a belief."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import nats
import pytest
import sqlalchemy as sa
from hub.companies.v1 import companies_pb2 as pb
from hub.events.v1 import companies_pb2 as ev
from hub.events.v1 import envelope_pb2
from hub.ops.v1 import ops_pb2
from nats.js import JetStreamContext

from hubcore import events, migrate
from hubcore.db import Database, UnitOfWork, outbox, runtime_metadata
from hubcore.events import ConsumerSpec, EventConsumer, OutboxRelay
from hublocal.natsserver import NatsServer
from services.companies.__main__ import MIGRATIONS
from tests.conftest import ADMIN, Running, eventually

effects_metadata = sa.MetaData()
effects = sa.Table(
    "effects", effects_metadata, sa.Column("event_id", sa.String(36)), sa.Column("company", sa.String(40))
)
for _table in runtime_metadata.sorted_tables:
    _table.to_metadata(effects_metadata)


class Downstream:
    """Another service's database and a consumer of hub.companies.company.> that records each effect."""

    def __init__(self, db: Database, js: JetStreamContext, *, max_deliver: int = 3) -> None:
        self.db = db
        self.fail_times = 0  # the handler raises this many times before succeeding
        self.consumer = EventConsumer(
            db,
            js,
            ConsumerSpec("test-downstream", ["hub.companies.company.>"], self.handle),
            ack_wait=1.0,
            max_deliver=max_deliver,
        )

    async def handle(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: object) -> None:
        await uow.conn.execute(effects.insert().values(event_id=envelope.id, company=envelope.subject_id))
        if self.fail_times:
            self.fail_times -= 1
            raise RuntimeError("handler failed (test)")

    async def effects(self) -> list[str]:
        async with self.db.read() as conn:
            return list((await conn.execute(sa.select(effects.c.event_id))).scalars())


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await events.ensure_stream(js)
    yield js
    await nc.close()


@pytest.fixture
async def downstream(js: JetStreamContext, tmp_path: Path) -> AsyncIterator[Downstream]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'downstream.db'}", source="downstream")
    async with db.engine.begin() as conn:
        await conn.run_sync(effects_metadata.create_all)
    yield Downstream(db, js)
    await db.close()


async def stream_messages(js: JetStreamContext) -> int:
    return int((await js.stream_info(events.STREAM)).state.messages)


async def drain(downstream: Downstream, rounds: int = 3) -> None:
    """Fetches and processes whatever the consumer is given, a few times."""
    sub = await downstream.consumer.subscribe()
    for _ in range(rounds):
        try:
            for msg in await sub.fetch(100, timeout=1.5):
                await downstream.consumer.process(msg)
        except TimeoutError:  # nats.errors.TimeoutError is one too
            pass


async def register(companies: Running, korean_name: str) -> pb.Company:
    request = pb.CreateCompanyRequest(company=pb.Company(korean_name=korean_name, sector=pb.SECTOR_MEDICAL))
    return await companies.companies.CreateCompany(request, metadata=ADMIN)


async def test_committed_change_is_published_once_and_applied_once(companies: Running, downstream: Downstream) -> None:
    made = [await register(companies, f"회사{i}") for i in range(5)]
    js = downstream.consumer.js
    assert await eventually(lambda: _equals(stream_messages(js), 5))

    async def marked() -> bool:  # the relay marks rows just after the PubAck: poll, don't race it
        status = await companies.ops.GetOutboxStatus(ops_pb2.GetOutboxStatusRequest(), metadata=ADMIN)
        return (status.unpublished, status.published) == (0, 5)

    assert await eventually(marked)
    await drain(downstream)
    applied = await downstream.effects()
    assert len(applied) == 5 and len(set(applied)) == 5
    async with companies.runtime.db.read() as conn:
        event_ids = set((await conn.execute(sa.select(outbox.c.event_id))).scalars())
    assert set(applied) == event_ids
    assert {c.name for c in made} == {f"companies/{i}" for i in range(1, 6)}


async def _equals(value: object, expected: object) -> bool:
    return await value == expected  # type: ignore[misc]


async def test_relay_dying_between_publish_and_mark_causes_no_duplicate(
    database_url: str, js: JetStreamContext, downstream: Downstream
) -> None:
    await migrate.upgrade(MIGRATIONS, database_url)
    db = Database(database_url, source="companies")
    try:
        async with db.write(actor="test") as uow:
            for n in range(3):
                snapshot = ev.CompanySnapshot(name=f"companies/{n}", korean_name=f"회사{n}", status="APPLICANT")
                await uow.emit(
                    "hub.companies.company.registered", f"companies/{n}", 1, ev.CompanyRegistered(company=snapshot)
                )

        def die(_ids: object) -> None:
            raise SystemExit("relay killed after publish, before mark")

        with pytest.raises(SystemExit):
            await OutboxRelay(db, js, after_publish=die).publish_batch()
        assert await stream_messages(js) == 3
        async with db.read() as conn:
            unpublished = (
                await conn.execute(sa.select(sa.func.count()).where(outbox.c.published_at.is_(None)))
            ).scalar()
        assert unpublished == 3, "nothing was marked: the restarted relay must publish again"

        restarted = OutboxRelay(db, js)
        assert await restarted.publish_batch() == 3
        assert await restarted.publish_batch() == 0
        assert await stream_messages(js) == 3, "JetStream dropped the re-published copies (same Nats-Msg-Id)"

        # Past the dedup window (or an operator's replay), a copy does reach the stream: the inbox drops it.
        async with db.read() as conn:
            first = (await conn.execute(sa.select(outbox.c.subject, outbox.c.data).order_by(outbox.c.seq))).first()
        assert first is not None
        await js.publish(first.subject, first.data, headers={"Nats-Msg-Id": "replayed-copy"})
        assert await stream_messages(js) == 4
        await drain(downstream)
        applied = await downstream.effects()
        assert len(applied) == 3 and len(set(applied)) == 3
    finally:
        await db.close()


async def test_consumer_crash_before_ack_redelivers_with_one_effect(companies: Running, downstream: Downstream) -> None:
    await register(companies, "메디비전")
    js = downstream.consumer.js
    assert await eventually(lambda: _equals(stream_messages(js), 1))
    sub = await downstream.consumer.subscribe()
    [msg] = await sub.fetch(1, timeout=5)
    downstream.consumer.crash_after_commit = True
    with pytest.raises(RuntimeError, match="between commit and ack"):
        await downstream.consumer.process(msg)
    downstream.consumer.crash_after_commit = False
    assert len(await downstream.effects()) == 1

    # Not acked: JetStream redelivers after AckWait; the processed-events record makes it a no-op.
    [again] = await sub.fetch(1, timeout=5)
    assert again.metadata.num_delivered == 2
    await downstream.consumer.process(again)
    assert len(await downstream.effects()) == 1
    with pytest.raises(nats.errors.TimeoutError):
        await sub.fetch(1, timeout=2)  # acked: nothing more comes


async def test_a_batch_commits_once_and_a_failure_in_it_falls_back_to_one_by_one(
    companies: Running, downstream: Downstream
) -> None:
    """A fetched batch is applied in one transaction; redelivered after a crash before its acks, it adds
    nothing; when one event fails, the batch keeps nothing and each event is applied on its own."""
    for i in range(5):
        await register(companies, f"배치{i}")
    js = downstream.consumer.js
    assert await eventually(lambda: _equals(stream_messages(js), 5))
    sub = await downstream.consumer.subscribe()
    batch = await sub.fetch(5, timeout=5)
    assert len(batch) == 5
    downstream.consumer.crash_after_commit = True
    with pytest.raises(RuntimeError, match="between commit and ack"):
        await downstream.consumer.process_batch(batch)
    downstream.consumer.crash_after_commit = False
    assert len(set(await downstream.effects())) == 5

    again = await sub.fetch(5, timeout=5)  # not acked: redelivered after AckWait, all of them
    assert len(again) == 5 and all(m.metadata.num_delivered == 2 for m in again)
    await downstream.consumer.process_batch(again)
    applied = await downstream.effects()
    assert len(applied) == 5 and len(set(applied)) == 5
    with pytest.raises(nats.errors.TimeoutError):
        await sub.fetch(1, timeout=2)  # acked: nothing more comes

    for i in range(5, 8):
        await register(companies, f"배치{i}")
    assert await eventually(lambda: _equals(stream_messages(js), 8))
    fresh = await sub.fetch(3, timeout=5)
    downstream.fail_times = 1  # the batch's first event fails once: the batch is undone, then one by one
    await downstream.consumer.process_batch(fresh)
    applied = await downstream.effects()
    assert len(applied) == len(set(applied)) == 8
    with pytest.raises(nats.errors.TimeoutError):
        await sub.fetch(1, timeout=2)


async def test_failed_handler_is_retried_and_poison_goes_to_dead_letters(
    companies: Running, downstream: Downstream
) -> None:
    await register(companies, "닥터노트")
    js = downstream.consumer.js
    assert await eventually(lambda: _equals(stream_messages(js), 1))

    downstream.fail_times = 1  # fails once, then succeeds on redelivery: one effect, no dead letter
    await drain(downstream, rounds=4)
    assert len(await downstream.effects()) == 1

    await register(companies, "에듀마인드")
    assert await eventually(lambda: _equals(stream_messages(js), 2))
    downstream.fail_times = 100  # always fails: after max_deliver it is dead-lettered, not lost
    for _ in range(12):
        await drain(downstream, rounds=1)
        async with downstream.db.read() as conn:
            from hubcore.db import dead_letters

            dead = (await conn.execute(sa.select(dead_letters))).all()
        if dead:
            break
    assert len(dead) == 1 and dead[0].deliveries == 3 and "handler failed" in dead[0].error
    assert len(await downstream.effects()) == 1, "a failed attempt rolled back its effect"

    # An operator fixes the cause and replays it: applied once, resolved.
    downstream.fail_times = 0
    replayed = await downstream.consumer.apply(envelope_pb2.Envelope.FromString(dead[0].data))
    assert replayed is True
    assert await downstream.consumer.apply(envelope_pb2.Envelope.FromString(dead[0].data)) is False
    assert len(await downstream.effects()) == 2


async def test_dead_letters_are_listed_and_replayed_over_grpc(companies: Running) -> None:
    """The companies service's own consumer: a dead letter recorded for it can be listed and replayed."""
    made = await register(companies, "스마트팩토리랩")
    consumer = companies.runtime.consumers[0]
    db = companies.runtime.db
    async with db.read() as conn:
        data = (await conn.execute(sa.select(outbox.c.data))).scalar_one()
    envelope = envelope_pb2.Envelope.FromString(data)
    # Pretend every delivery failed before the projection applied it.
    from hubcore.db import dead_letters, now, processed_events

    await eventually(lambda: _processed(db, envelope.id))
    async with db.engine.begin() as conn:
        await conn.execute(processed_events.delete())
        await conn.execute(sa.text("DELETE FROM stats_companies"))
        await conn.execute(
            dead_letters.insert().values(
                consumer=consumer.spec.durable, event_id=envelope.id, event_type=envelope.type, data=data,
                error="boom", deliveries=5, created_at=now(),
            )
        )  # fmt: skip
    listed = await companies.ops.ListDeadLetters(ops_pb2.ListDeadLettersRequest(), metadata=ADMIN)
    assert [d.event_id for d in listed.dead_letters] == [envelope.id]
    replayed = await companies.ops.ReplayDeadLetter(
        ops_pb2.ReplayDeadLetterRequest(name=listed.dead_letters[0].name), metadata=ADMIN
    )
    assert replayed.HasField("resolve_time")
    stats = await companies.companies.GetCompanyStats(pb.GetCompanyStatsRequest(), metadata=ADMIN)
    assert stats.total == 1 and made.name
    listed = await companies.ops.ListDeadLetters(ops_pb2.ListDeadLettersRequest(), metadata=ADMIN)
    assert list(listed.dead_letters) == []


async def _processed(db: Database, event_id: str) -> bool:
    from hubcore.db import processed_events

    async with db.read() as conn:
        found = await conn.execute(
            sa.select(processed_events.c.event_id).where(processed_events.c.event_id == event_id)
        )
        return found.first() is not None


async def test_service_starts_while_nats_is_down_and_publishes_later(database_url: str, tmp_path: Path) -> None:
    from hublocal.natsserver import free_port
    from tests.conftest import make_settings, start_companies

    port = free_port()
    running = await start_companies(make_settings("companies", database_url, f"nats://127.0.0.1:{port}", tmp_path))
    try:
        made = await register(running, "코딩하랑")  # writes succeed; the event waits in the outbox
        got = await running.companies.GetCompany(pb.GetCompanyRequest(name=made.name), metadata=ADMIN)
        assert got.korean_name == "코딩하랑"
        status = await running.ops.GetOutboxStatus(ops_pb2.GetOutboxStatusRequest(), metadata=ADMIN)
        assert status.unpublished == 1
        server = NatsServer(port=port, data_dir=tmp_path / "late-nats").start()
        try:
            await asyncio.wait_for(running.runtime.ready.wait(), 15)

            async def drained() -> bool:
                s = await running.ops.GetOutboxStatus(ops_pb2.GetOutboxStatusRequest(), metadata=ADMIN)
                return s.unpublished == 0 and s.published == 1

            assert await eventually(drained, timeout=15)
        finally:
            await running.channel.close()
            await running.runtime.stop()
            server.stop()
    except BaseException:
        await running.runtime.stop()
        raise


async def test_stream_provisioning_is_idempotent_and_syncs_to_disk(
    js: JetStreamContext, nats_server: NatsServer
) -> None:
    await events.ensure_stream(js)
    await events.ensure_stream(js, dedup_window=60)  # drifted settings are updated, not an error
    info = await js.stream_info(events.STREAM)
    assert info.config.subjects == ["hub.>"] and info.config.duplicate_window == 60
    assert "sync_interval: always" in (nats_server.data_dir / "nats.conf").read_text()
