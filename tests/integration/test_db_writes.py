"""Write transactions of one process: on SQLite they queue in arrival order on the Database's lock before
BEGIN IMMEDIATE (SQLite's busy handler only arbitrates between processes); a write that cannot start within
the busy timeout is UNAVAILABLE, as SQLite's own timeout was. On PostgreSQL they run side by side."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from hubcore import db as hubdb
from hubcore import errors
from hubcore.db import Database

counter = sa.Table("counter", sa.MetaData(), sa.Column("n", sa.Integer, nullable=False))


async def make(database_url: str) -> Database:
    database = Database(database_url, source="test")
    async with database.engine.begin() as conn:
        await conn.run_sync(counter.metadata.create_all)
        await conn.execute(counter.insert().values(n=0))
    return database


async def test_writers_of_one_process_take_turns_in_order(database_url: str) -> None:
    database = await make(database_url)
    inside, most, order = 0, 0, []

    async def write(number: int) -> None:
        nonlocal inside, most
        async with database.write(actor="test") as uow:
            inside += 1
            most = max(most, inside)
            order.append(number)
            await uow.conn.execute(counter.update().values(n=counter.c.n + 1))
            await asyncio.sleep(0.01)  # hold the transaction across an await, as real writes do
            inside -= 1

    tasks = []
    for number in range(20):
        tasks.append(asyncio.create_task(write(number)))
        await asyncio.sleep(0)  # each task reaches the queue before the next is made
    await asyncio.gather(*tasks)
    async with database.read() as conn:
        assert (await conn.execute(sa.select(counter.c.n))).scalar_one() == 20
    if database.is_sqlite:
        assert most == 1
        assert order == list(range(20)), "first come, first served"
    await database.close()


async def test_sqlite_write_that_cannot_start_in_time_is_unavailable(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("PostgreSQL writers do not queue in the process")
    database = await make(database_url)
    monkeypatch.setattr(hubdb, "WRITER_WAIT_SECONDS", 0.2)
    held = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with database.write(actor="test"):
            held.set()
            await release.wait()

    task = asyncio.create_task(holder())
    await held.wait()
    with pytest.raises(errors.Unavailable):
        async with database.begin():
            pass
    release.set()
    await task
    async with database.begin() as conn:  # free again once the holder committed
        await conn.execute(counter.update().values(n=5))
    await database.close()
