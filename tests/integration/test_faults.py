"""Faults the hub must ride out without a restart and without losing or doubling anything:

- the database unavailable for a while (PostgreSQL behind a TCP proxy the test cuts and restores): calls
  are UNAVAILABLE with a clear message meanwhile, never INTERNAL, and work again afterwards;
- NATS killed mid-stream (SIGKILL) and restarted on its data: the outbox holds what was committed
  meanwhile and the relay publishes the backlog.

After each: every committed change produced exactly one effect downstream, the outbox drains to zero, and
the fault created no dead letter."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from hub.companies.v1 import companies_pb2 as pb

from hubcore.db import Database, dead_letters, outbox, processed_events
from hublocal.natsserver import NatsServer, free_port
from services.consulting.store import company_directory
from tests.conftest import ADMIN, Running, RunningConsulting, eventually, make_settings, start_companies


class Proxy:
    """A TCP proxy to PostgreSQL that can be cut (every connection closed, new ones refused) and restored."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.close()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            sink.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers -= {writer, up_writer}


@pytest.fixture
async def proxied(
    backend: str, new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[tuple[Running, Proxy, str]]:
    if backend != "postgresql":
        pytest.skip("a SQLite file cannot become unreachable")
    url = await new_database("companies")
    parsed = sa.make_url(url)
    proxy = Proxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    await proxy.start()
    through = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    running = await start_companies(make_settings("companies", through, nats_server.url, tmp_path))
    await asyncio.wait_for(running.runtime.ready.wait(), 10)
    yield running, proxy, url
    await running.channel.close()
    await running.runtime.stop()
    if proxy.server is not None:
        proxy.server.close()


async def register(companies: Running, name: str, request_id: str) -> pb.Company:
    request = pb.CreateCompanyRequest(
        company=pb.Company(korean_name=name, sector=pb.SECTOR_MEDICAL), request_id=request_id
    )
    return await companies.companies.CreateCompany(request, metadata=ADMIN, timeout=30)


async def count(db: Database, query: Any) -> int:
    async with db.read() as conn:
        return int((await conn.execute(query)).scalar_one())


async def settled_downstream(companies_db: Database, consulting: RunningConsulting, expected: int) -> None:
    """The outbox drained, every event applied once by consulting's directory, no dead letter anywhere."""
    unpublished = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
    await eventually(lambda: _equals(count(companies_db, unpublished), 0), timeout=30)
    applied = (
        sa.select(sa.func.count())
        .select_from(processed_events)
        .where(processed_events.c.consumer == "consulting-company-directory")
    )
    await eventually(lambda: _equals(count(consulting.runtime.db, applied), expected), timeout=30)
    directory = sa.select(sa.func.count()).select_from(company_directory)
    assert await count(consulting.runtime.db, directory) == expected
    for db in (companies_db, consulting.runtime.db):
        assert await count(db, sa.select(sa.func.count()).select_from(dead_letters)) == 0


async def test_the_database_away_for_a_while_is_unavailable_then_recovers_without_a_restart(
    proxied: tuple[Running, Proxy, str], consulting: RunningConsulting
) -> None:
    companies, proxy, direct_url = proxied
    await register(companies, "장애전", "fault-1")
    await proxy.cut()
    for attempt in (
        register(companies, "장애중", "fault-2"),
        companies.companies.GetCompany(pb.GetCompanyRequest(name="companies/1"), metadata=ADMIN, timeout=30),
        companies.companies.ListCompanies(pb.ListCompaniesRequest(), metadata=ADMIN, timeout=30),
    ):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await attempt
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE, refused.value.details()
        assert "database is unavailable" in (refused.value.details() or "")
    await asyncio.sleep(1.0)  # the relay and consumers meet the fault too
    await proxy.start()

    async def recovered() -> pb.Company | None:
        try:
            return await register(companies, "장애중", "fault-2")  # the refused call, retried as clients do
        except grpc.aio.AioRpcError as exc:
            assert exc.code() == grpc.StatusCode.UNAVAILABLE, exc.details()
            return None

    again = await eventually(recovered, timeout=30, interval=0.5)
    assert again.name == "companies/2"
    assert (await register(companies, "장애중", "fault-2")).name == "companies/2"  # once, not twice
    direct = Database(direct_url, source="check")
    try:
        await settled_downstream(direct, consulting, expected=2)
    finally:
        await direct.close()


async def test_nats_killed_mid_stream_loses_and_doubles_nothing(
    companies: Running, consulting: RunningConsulting, nats_server: NatsServer
) -> None:
    writes = 30

    async def write_all() -> list[str]:
        names = []
        for i in range(writes):
            names.append((await register(companies, f"스트림{i}", f"stream-{i}")).name)
            await asyncio.sleep(0.02)
        return names

    writer = asyncio.create_task(write_all())
    await asyncio.sleep(0.2)
    nats_server.stop(kill=True)  # SIGKILL, mid-stream: the writes go on, into the outbox
    await asyncio.sleep(1.5)
    nats_server.start()  # same port, same JetStream store
    names = await asyncio.wait_for(writer, 60)
    assert len(set(names)) == writes
    await settled_downstream(companies.runtime.db, consulting, expected=writes)


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected
