"""Runtime.add_loop: a service's own background loop starts with the server (NATS not needed), is
restarted after a crash, and is cancelled on stop; the event consumers end between transactions."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import grpc
import nats
import sqlalchemy as sa
from hub.companies.v1 import companies_pb2 as pb
from hub.companies.v1 import companies_pb2_grpc as pb_grpc
from hub.events.v1 import envelope_pb2

from hubcore import events
from hubcore.db import Database, UnitOfWork, processed_events
from hubcore.events import ConsumerSpec
from hublocal.natsserver import NatsServer
from tests.conftest import ADMIN, make_settings


async def test_a_services_own_loop_runs_restarts_and_stops(tmp_path: Path) -> None:
    from services.companies.__main__ import build

    url = f"sqlite+aiosqlite:///{tmp_path / 'loops.db'}"
    # NATS is down: a port held bound but not listening refuses connections, and no other test's
    # nats-server can take it meanwhile.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    runtime = build(make_settings("companies", url, f"nats://127.0.0.1:{closed.getsockname()[1]}", tmp_path))
    runs: list[int] = []
    running, cancelled = asyncio.Event(), asyncio.Event()

    async def loop() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("first run crashes")
        running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    runtime.add_loop("test-loop", loop)
    await runtime.start()
    try:
        await asyncio.wait_for(running.wait(), 15)
        assert len(runs) == 2, "the crashed loop was restarted"
    finally:
        await asyncio.wait_for(runtime.stop(), 60)
        closed.close()
    assert cancelled.is_set()


async def test_stop_lets_the_event_under_way_commit_and_ack(
    database_url: str, nats_server: NatsServer, tmp_path: Path
) -> None:
    """Stop asks the consumers to end between transactions: an event whose handler is running when the
    service stops is applied, recorded and acked, not cancelled halfway and left for redelivery."""
    from services.companies.__main__ import build

    runtime = build(make_settings("companies", database_url, nats_server.url, tmp_path))
    entered, applied = asyncio.Event(), []

    async def slow(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: object) -> None:
        entered.set()
        await asyncio.sleep(1.0)  # stop() arrives meanwhile
        applied.append(envelope.id)

    runtime.add_consumer(ConsumerSpec("test-slow", ["hub.companies.company.>"], slow))
    await runtime.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{runtime.port}")
    try:
        request = pb.CreateCompanyRequest(company=pb.Company(korean_name="느린회사", sector=pb.SECTOR_MEDICAL))
        await pb_grpc.CompanyServiceStub(channel).CreateCompany(request, metadata=ADMIN)
        await asyncio.wait_for(entered.wait(), 15)
    finally:
        await channel.close()
        await asyncio.wait_for(runtime.stop(), 30)
    assert len(applied) == 1
    db = Database(database_url, source="check")
    try:
        async with db.read() as conn:
            rows = (
                (
                    await conn.execute(
                        sa.select(processed_events.c.event_id).where(processed_events.c.consumer == "test-slow")
                    )
                )
                .scalars()
                .all()
            )
    finally:
        await db.close()
    assert rows == applied
    nc = await nats.connect(nats_server.url)
    try:
        info = await nc.jetstream().consumer_info(events.STREAM, "test-slow")
    finally:
        await nc.close()
    assert (info.num_ack_pending, info.num_pending, info.num_redelivered) == (0, 0, 0)
