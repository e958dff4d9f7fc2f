"""Exactly once, counted at a real SMTP server: events delivered two and three times, a worker stopped in
the middle of a batch and started again, a worker dying between claiming and sending, and two worker
processes sharing one database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
import sqlalchemy as sa
from google.protobuf import any_pb2
from google.protobuf.message import Message
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hub.events.v1 import companies_pb2 as ev
from hub.events.v1 import envelope_pb2
from nats.js import JetStreamContext
from nats.js.errors import NotFoundError

from hubcore import events, migrate
from hubcore.db import Database, uuid7
from hubcore.settings import PROJECT_DIR
from hublocal.mailsink import MailSink
from hublocal.natsserver import NatsServer, free_port
from services.notifications import domain, store
from services.notifications.__main__ import MIGRATIONS
from tests.conftest import (
    eventually,
    make_settings,
    notify_config,
    start_notifications,
    stop_notifications,
)

PEOPLE = 30
EXPECTED = 2 * PEOPLE + 2  # "selected" and "welcome" to everyone, and two notes to the program manager


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_server.url)
    js = nc.jetstream()
    await events.ensure_stream(js)
    yield js
    await nc.close()


def envelope(subject: str, subject_id: str, version: int, payload: Message) -> envelope_pb2.Envelope:
    packed = any_pb2.Any()
    packed.Pack(payload)
    message = envelope_pb2.Envelope(
        id=uuid7(), type=subject, source="companies", subject_id=subject_id, version=version, payload=packed
    )
    message.occurred_at.GetCurrentTime()
    return message


def hub_history(people: int = PEOPLE) -> list[envelope_pb2.Envelope]:
    """A company, its people, then selected and resident: what the companies service would publish."""
    company = ev.CompanySnapshot(name="companies/1", korean_name="메디비전", status="APPLICANT")
    history = [envelope("hub.companies.company.registered", company.name, 1, ev.CompanyRegistered(company=company))]
    for n in range(1, people + 1):
        person = ev.PersonSnapshot(name=f"people/{n}", korean_name=f"사람{n}", email=f"p{n}@medivision.kr",
                                   company=company.name, role="STAFF")  # fmt: skip
        history.append(envelope("hub.companies.person.registered", person.name, 1, ev.PersonRegistered(person=person)))
    for version, (before, after) in enumerate([("APPLICANT", "SELECTED"), ("SELECTED", "RESIDENT")], 2):
        company.status = after
        change = ev.CompanyStatusChanged(company=company, from_status=before, to_status=after)
        history.append(envelope("hub.companies.company.status_changed", company.name, version, change))
    return history


async def publish(js: JetStreamContext, history: list[envelope_pb2.Envelope], copy: str) -> None:
    """Publishes every event again under a new Nats-Msg-Id, so JetStream keeps the copy: the inbox must drop it."""
    for message in history:
        await js.publish(message.type, message.SerializeToString(), headers={"Nats-Msg-Id": f"{message.id}-{copy}"})


def assert_each_once(sink: MailSink, expected: int) -> None:
    mail = sink.messages
    assert len(mail) == expected
    assert not [k for k, n in Counter(m["Message-ID"] for m in mail).items() if n > 1]
    assert not [k for k, n in Counter((str(m["To"]), str(m["Subject"])) for m in mail).items() if n > 1]


async def counts(db: Database) -> dict[str, object]:
    """What the worker holds, for a failure message."""
    async with db.read() as conn:
        d, f = store.deliveries.c, store.follow_ups.c
        deliveries = (
            await conn.execute(sa.select(d.state, d.last_error, sa.func.count()).group_by(d.state, d.last_error))
        ).all()
        plans = (
            await conn.execute(sa.select(f.rule, f.state, f.note, sa.func.count()).group_by(f.rule, f.state, f.note))
        ).all()
    return {"deliveries": [tuple(r) for r in deliveries], "follow_ups": [tuple(r) for r in plans]}


async def settled(db: Database, expected: int) -> bool:
    """Every delivery sent and nothing left to dispatch."""
    async with db.read() as conn:
        d, f = store.deliveries.c, store.follow_ups.c
        sent = (await conn.execute(sa.select(sa.func.count()).where(d.state == domain.SENT))).scalar_one()
        other = (await conn.execute(sa.select(sa.func.count()).where(d.state != domain.SENT))).scalar_one()
        waiting = (await conn.execute(sa.select(sa.func.count()).where(f.state == domain.PENDING))).scalar_one()
    return sent == expected and other == 0 and waiting == 0


async def consumer_drained(js: JetStreamContext) -> bool:
    try:
        info = await js.consumer_info(events.STREAM, "notifications")
    except NotFoundError:  # not subscribed yet
        return False
    return info.num_pending == 0 and info.num_ack_pending == 0


async def test_redelivered_events_and_a_restart_mid_batch_send_every_message_once(
    database_url: str, nats_server: NatsServer, js: JetStreamContext, mail_sink: MailSink, tmp_path: Path
) -> None:
    settings = make_settings("notifications", database_url, nats_server.url, tmp_path)
    config = notify_config(mail_sink, concurrency=2, batch_size=4)
    history = hub_history()
    running = await start_notifications(settings, config)
    try:
        await publish(js, history, "first")
        await publish(js, history, "again")
        await eventually(lambda: _received(mail_sink, 10), timeout=30)
    finally:
        await stop_notifications(running)  # mid-batch: sends in flight finish and are marked
    stopped_at = len(mail_sink.messages)
    async with Database(database_url, source="test").read() as conn:
        sending = (
            await conn.execute(sa.select(sa.func.count()).where(store.deliveries.c.state == domain.SENDING))
        ).scalar_one()
    assert sending == 0, "a graceful stop leaves nothing claimed and unmarked"

    running = await start_notifications(settings, config)
    try:
        await publish(js, history, "after-restart")
        try:
            await eventually(lambda: settled(running.runtime.db, EXPECTED), timeout=60)
        except AssertionError:
            raise AssertionError(f"not settled: {await counts(running.runtime.db)}") from None
        await eventually(lambda: consumer_drained(js), timeout=30)
        assert await running.scheduler.tick() == 0
        assert_each_once(mail_sink, EXPECTED)
        assert stopped_at < EXPECTED, "the restart came before everything was sent"
    finally:
        await stop_notifications(running)


async def _received(sink: MailSink, count: int) -> bool:
    return len(sink.messages) >= count


async def test_a_worker_dying_between_claim_and_send_leaves_it_to_the_next_once(
    database_url: str, nats_server: NatsServer, js: JetStreamContext, mail_sink: MailSink, tmp_path: Path
) -> None:
    settings = make_settings("notifications", database_url, nats_server.url, tmp_path)
    running = await start_notifications(settings, notify_config(mail_sink, lease_seconds=1.0))
    died: list[int] = []

    def die(jobs: list[object]) -> None:
        if not died:
            died.append(len(jobs))
            raise RuntimeError("worker killed after claiming, before sending (test)")

    running.scheduler.after_claim = die
    try:
        await publish(js, hub_history(people=3), "first")
        await eventually(lambda: settled(running.runtime.db, 2 * 3 + 2), timeout=30)
        assert died and died[0] > 0
        assert_each_once(mail_sink, 2 * 3 + 2)
    finally:
        await stop_notifications(running)


async def test_a_stop_arriving_just_as_a_claim_commits_still_sends_and_marks_the_claimed(
    database_url: str, nats_server: NatsServer, js: JetStreamContext, mail_sink: MailSink, tmp_path: Path
) -> None:
    settings = make_settings("notifications", database_url, nats_server.url, tmp_path)
    running = await start_notifications(settings, notify_config(mail_sink, batch_size=4))
    scheduler = running.scheduler
    claim_due = scheduler.claim_due
    claimed: list[int] = []
    stop_came, go_on = asyncio.Event(), asyncio.Event()

    async def claim_then_wait_for_the_stop() -> list[Any]:
        jobs = await claim_due()
        if jobs and not claimed:
            claimed.append(len(jobs))  # the claim has committed; the stop arrives before it returns
            stop_came.set()
            await go_on.wait()
        return jobs

    scheduler.claim_due = claim_then_wait_for_the_stop
    stopping: asyncio.Task[None] | None = None
    try:
        await publish(js, hub_history(people=3), "first")
        await asyncio.wait_for(stop_came.wait(), 30)
        stopping = asyncio.create_task(stop_notifications(running))
        loop = next(task for task in running.runtime._tasks if task.get_name() == "scheduler")
        await eventually(lambda: _cancelled(loop), timeout=30)  # the stop has reached the scheduler's loop
        go_on.set()
    finally:
        go_on.set()
        await (stopping or stop_notifications(running))
    async with Database(database_url, source="test").read() as conn:
        d = store.deliveries.c
        rows = (await conn.execute(sa.select(d.state, sa.func.count()).group_by(d.state))).all()
        states: dict[str, int] = {state: count for state, count in rows}
    assert claimed == [4]
    assert domain.SENDING not in states, f"claimed rows left unsent by the stop: {states}"
    assert states.get(domain.SENT, 0) >= 4 and len(mail_sink.messages) == states[domain.SENT]


async def _cancelled(task: asyncio.Task[Any]) -> bool:
    return task.done() or task.cancelling() > 0


def worker(url: str, nats_url: str, smtp_port: int, data_dir: Path) -> subprocess.Popen[bytes]:
    env = os.environ | {
        "HUB_NOTIFICATIONS_DATABASE_URL": url,
        "HUB_NATS_URL": nats_url,
        "HUB_NOTIFICATIONS_PORT": str(free_port()),
        "HUB_DATA_DIR": str(data_dir),
        "HUB_MIGRATE_ON_START": "0",
        "HUB_LOG_LEVEL": "warning",
        "HUB_SMTP_PORT": str(smtp_port),
        "HUB_QUIET_HOURS": "off",
        "HUB_NOTIFY_POLL_SECONDS": "0.05",
        "HUB_PROGRAM_MANAGER_EMAILS": "pm@hub.example",
    }
    process = subprocess.Popen([sys.executable, "-m", "services.notifications"], cwd=PROJECT_DIR, env=env)
    process.port = int(env["HUB_NOTIFICATIONS_PORT"])  # type: ignore[attr-defined]
    return process


async def serving(port: int) -> bool:
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            answer = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=1)
        except grpc.aio.AioRpcError:
            return False
    return answer.status == health_pb2.HealthCheckResponse.SERVING


async def test_two_worker_processes_never_send_the_same_message(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, js: JetStreamContext,
    mail_sink: MailSink, tmp_path: Path,
) -> None:  # fmt: skip
    url = await new_database("shared")
    await migrate.upgrade(MIGRATIONS, url)
    processes = [worker(url, nats_server.url, mail_sink.port, tmp_path / f"w{n}") for n in (1, 2)]
    try:
        for process in processes:
            await eventually(lambda p=process: serving(p.port), timeout=60, interval=0.2)
        people = 40
        history = hub_history(people)
        # The two workers share the consumer, so they take events in parallel: the people are known
        # before their company changes status, as they would be in life (a note goes to the people
        # known when it is sent).
        registrations, changes = history[:-2], history[-2:]
        db = Database(url, source="test")
        try:
            await publish(js, registrations, "first")
            await publish(js, registrations, "again")
            await eventually(lambda: _recipients(db, people + 1), timeout=60, interval=0.2)
            await publish(js, changes, "first")
            await publish(js, changes, "again")
            await eventually(lambda: settled(db, 2 * people + 2), timeout=90, interval=0.2)
        finally:
            await db.close()
        await eventually(lambda: consumer_drained(js), timeout=30)
        assert_each_once(mail_sink, 2 * people + 2)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            assert await asyncio.to_thread(process.wait, 30) == 0


async def _recipients(db: Database, count: int) -> bool:
    async with db.read() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(store.recipients))).scalar_one() == count


async def test_a_new_worker_reading_an_old_stream_sends_nothing_stale(
    database_url: str, nats_server: NatsServer, js: JetStreamContext, mail_sink: MailSink, tmp_path: Path
) -> None:
    """A first deployment reads the stream from its start: notes about events days old have expired."""
    history = hub_history(people=2)
    for message in history:
        message.occurred_at.FromDatetime(datetime(2026, 1, 5, 1, tzinfo=UTC))
    await publish(js, history, "old")
    running = await start_notifications(
        make_settings("notifications", database_url, nats_server.url, tmp_path), notify_config(mail_sink)
    )
    try:
        await eventually(lambda: consumer_drained(js), timeout=30)

        async def all_expired() -> bool:
            async with running.runtime.db.read() as conn:
                f = store.follow_ups.c
                states = set((await conn.execute(sa.select(f.state))).scalars())
            return states == {domain.EXPIRED}

        await eventually(all_expired, timeout=20)
        assert not mail_sink.messages
    finally:
        await stop_notifications(running)
