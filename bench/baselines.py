"""The raw baselines `make bench` measures in the same run, beside the echo server:

- NATS JetStream publish→deliver: a test stream (BENCH, bench.>, file storage like the hub's stream) on the
  run's nats-server; each call publishes one message and waits for its PubAck, then for the message to come
  out of a durable pull consumer (fetch in batches, explicit ack, as the services' consumers do). Latency is
  from the publish to the delivery in the consumer; calls/s are messages delivered.
- Database primary-key read: `SELECT … FROM companies WHERE id = ?` on the companies service's own SQLite
  file, through hubcore.db.Database (the same SQLAlchemy async engine, pool and read transaction the
  services use), and through plain sqlite3 on the event loop, one connection, no transaction: the floor.
  On PostgreSQL (--db postgres) the floor is a pool of plain asyncpg connections, 16 at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

import nats
import sqlalchemy as sa
from nats.js import api

from hubcore.db import Database

Call = Callable[[int], Awaitable[Any]]
Measure = Callable[[str, Call, int, str], Awaitable[Any]]  # name, call, in-flight, baseline

STREAM = "BENCH"


class NatsRoundTrip:
    """publish (with PubAck) → delivered by a pull consumer, one call at a time per caller."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.waiting: dict[int, asyncio.Future[None]] = {}
        self.sequence = 0

    async def __aenter__(self) -> NatsRoundTrip:
        self.nc = await nats.connect(self.url, name="bench")
        self.js = self.nc.jetstream()
        with contextlib.suppress(Exception):
            await self.js.delete_stream(STREAM)
        await self.js.add_stream(api.StreamConfig(name=STREAM, subjects=["bench.>"], storage=api.StorageType.FILE))
        await self.js.add_consumer(
            STREAM,
            api.ConsumerConfig(durable_name="bench", ack_policy=api.AckPolicy.EXPLICIT, max_ack_pending=1000),
        )
        self.sub = await self.js.pull_subscribe_bind(durable="bench", stream=STREAM)
        self.reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        while True:
            try:
                messages = await self.sub.fetch(64, timeout=1.0)
            except (TimeoutError, nats.errors.TimeoutError):
                continue
            for msg in messages:
                await msg.ack()
                waiter = self.waiting.pop(int(msg.data[:12]), None)
                if waiter is not None and not waiter.done():
                    waiter.set_result(None)

    async def call(self, n: int) -> None:
        self.sequence += 1
        key = self.sequence
        waiter = asyncio.get_running_loop().create_future()
        self.waiting[key] = waiter
        await self.js.publish("bench.event", b"%012d" % key + b"x" * 300)
        async with asyncio.timeout(10):
            await waiter

    async def __aexit__(self, *exc: object) -> None:
        self.reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.reader
        with contextlib.suppress(Exception):
            await self.js.delete_stream(STREAM)
        await self.nc.close()


async def nats_cases(url: str, in_flights: list[int], measure: Measure) -> list[Any]:
    results = []
    async with NatsRoundTrip(url) as trip:
        for in_flight in in_flights:
            results.append(await measure("NATS pub→deliver", trip.call, in_flight, "echo"))
    return results


async def database_cases(companies_url: str, ids: list[int], in_flights: list[int], measure: Measure) -> list[Any]:
    """The primary-key read through the services' engine at each in-flight, and through sqlite3 (floor)."""
    from services.companies import tables as store

    results = []
    db = Database(companies_url, source="bench")
    query = sa.select(store.companies).where(store.companies.c.id == sa.bindparam("id"))
    try:

        async def engine_read(n: int) -> Any:
            async with db.read() as conn:
                row = (await conn.execute(query, {"id": ids[n % len(ids)]})).first()
            assert row is not None
            return row

        for in_flight in in_flights:
            results.append(await measure("PK read (SQLAlchemy)", engine_read, in_flight, raw_floor(companies_url)))
    finally:
        await db.close()
    if companies_url.startswith("postgresql"):
        results[:0] = await _asyncpg_reads(companies_url, ids, in_flights, measure)
    if companies_url.startswith("sqlite"):
        raw = sqlite3.connect(companies_url.split("///", 1)[1], isolation_level=None, check_same_thread=False)
        sql = "SELECT * FROM companies WHERE id = ?"

        async def raw_read(n: int) -> Any:
            row = raw.execute(sql, (ids[n % len(ids)],)).fetchone()
            assert row is not None
            return row

        try:
            # Synchronous on the loop: more in flight only queue behind one another (measured all the same,
            # as the baseline of the engine's read at the same in-flight).
            for n, in_flight in enumerate(in_flights):
                results.insert(n, await measure("PK read (sqlite3)", raw_read, in_flight, "echo"))
        finally:
            raw.close()
    return results


def raw_floor(url: str) -> str:
    """The name of the raw driver's primary-key read: what the engine's read is set beside."""
    return "PK read (asyncpg)" if url.startswith("postgresql") else "PK read (sqlite3)"


async def _asyncpg_reads(url: str, ids: list[int], in_flights: list[int], measure: Measure) -> list[Any]:
    """The floor on PostgreSQL: a pool of plain asyncpg connections, one prepared statement, no transaction."""
    import asyncpg

    pool = await asyncpg.create_pool(url.replace("postgresql+asyncpg", "postgresql"), min_size=1, max_size=16)
    sql = "SELECT * FROM companies WHERE id = $1"

    async def raw_read(n: int) -> Any:
        row = await pool.fetchrow(sql, ids[n % len(ids)])
        assert row is not None
        return row

    try:
        return [await measure("PK read (asyncpg)", raw_read, in_flight, "echo") for in_flight in in_flights]
    finally:
        await pool.close()
