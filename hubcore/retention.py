"""Retention: every table that grows with traffic (the outbox once published, processed events, idempotency
keys, replayed dead letters, a service's audit and delivery logs) is pruned by one sweep loop per process.

Deletes go in small batches, each its own short write transaction, so that on SQLite the sweep never holds
the single writer's lock for long and calls queue behind it for a batch at most."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
import structlog

from hubcore.db import Database, now

log = structlog.get_logger()

BATCH = 500


@dataclass(frozen=True)
class Retention:
    """Rows of `table` whose `column` is older than `days` are deleted; `done` narrows that to the rows
    whose work is over (published, resolved). `days` <= 0 keeps them for ever."""

    table: sa.Table
    column: sa.Column[object]
    days: float
    done: sa.ColumnElement[bool] | None = None

    def expired(self) -> sa.ColumnElement[bool]:
        old = self.column < now() - timedelta(days=self.days)
        return old if self.done is None else sa.and_(self.done, old)


async def sweep(db: Database, retentions: list[Retention], batch: int = BATCH) -> dict[str, int]:
    """Deletes what each retention let expire; returns the rows deleted per table."""
    deleted: dict[str, int] = {}
    for retention in retentions:
        if retention.days <= 0:
            continue
        key = sa.tuple_(*retention.table.primary_key.columns)
        chosen = sa.select(*retention.table.primary_key.columns).where(retention.expired()).limit(batch)
        total = 0
        while True:
            async with db.begin() as conn:
                result = await conn.execute(sa.delete(retention.table).where(key.in_(chosen)))
            total += result.rowcount
            if result.rowcount < batch:
                break
            await asyncio.sleep(0)  # let waiting writers in between batches
        if total:
            deleted[retention.table.name] = total
    return deleted


def loop(db: Database, retentions: list[Retention], every_seconds: float) -> Callable[[], Awaitable[None]]:
    """The sweep as a Runtime loop: once at start, then every `every_seconds`."""

    async def run() -> None:
        while True:
            deleted = await sweep(db, retentions)
            if deleted:
                log.info("retention sweep", deleted=deleted)
            await asyncio.sleep(every_seconds)

    return run
