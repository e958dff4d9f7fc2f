"""The GPU cluster's nodes, bookings and quotas. A booking holds its node through `bookings` (store.sessions:
reserve, release), the one guarantee of mentors and rooms."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import now
from hubcore.retention import Retention
from hubcore.rows import Rows
from services.consulting.domain import GpuBooking, GpuNode, GpuQuota, GpuWaitlistEntry
from services.consulting.domain.gpu import OFFERED, WAITING
from services.consulting.store.tables import gpu_bookings, gpu_nodes, gpu_quotas, gpu_waitlist

GPU_NODES = Rows(gpu_nodes, GpuNode)
GPU_BOOKINGS = Rows(gpu_bookings, GpuBooking, columns={"start": "start_at", "end": "end_at"})
GPU_QUOTAS = Rows(gpu_quotas, GpuQuota)

get_gpu_node = GPU_NODES.get
insert_gpu_node = GPU_NODES.insert
gpu_nodes_by_ids = GPU_NODES.by_ids
get_gpu_booking = GPU_BOOKINGS.get
insert_gpu_booking = GPU_BOOKINGS.insert


async def list_gpu_nodes(conn: AsyncConnection, *, after: int | None, limit: int) -> list[GpuNode]:
    return await GPU_NODES.list(conn, after=after, limit=limit)


async def save_gpu_booking(conn: AsyncConnection, booking: GpuBooking, *, before: GpuBooking) -> GpuBooking:
    return await GPU_BOOKINGS.save(conn, booking, expected_version=before.version)


async def list_gpu_bookings(
    conn: AsyncConnection, *, company_id: int | None, node_id: int | None, after: int | None, limit: int
) -> list[GpuBooking]:
    c = gpu_bookings.c
    where = [c.company_id == company_id] if company_id is not None else []
    where += [c.node_id == node_id] if node_id is not None else []
    return await GPU_BOOKINGS.list(conn, *where, after=after, limit=limit)


async def lock_gpu_quota(conn: AsyncConnection, company_id: int) -> GpuQuota | None:
    """The company's quota, its row locked for this transaction on PostgreSQL (FOR UPDATE): every booking of the
    company takes this lock before it sums what the company has booked, so two bookings of one company check and
    insert one after the other. SQLite's write transactions are serialized (BEGIN IMMEDIATE) anyway."""
    query = GPU_QUOTAS.select(gpu_quotas.c.company_id == company_id).with_for_update()
    row = (await conn.execute(query)).first()
    return GPU_QUOTAS.load(row) if row else None


async def get_gpu_quota(conn: AsyncConnection, company_id: int) -> GpuQuota | None:
    return await GPU_QUOTAS.first(conn, gpu_quotas.c.company_id == company_id)


async def set_gpu_quota(conn: AsyncConnection, quota: GpuQuota) -> None:
    """Replaces the company's quota (a new term starts a new period), or makes it."""
    c = gpu_quotas.c
    values = GPU_QUOTAS.values(quota) | {"updated_at": now()}
    done = await conn.execute(gpu_quotas.update().where(c.company_id == quota.company_id).values(values))
    if done.rowcount == 0:
        await conn.execute(gpu_quotas.insert().values(values))


async def gpu_hours_used(conn: AsyncConnection, company_id: int, start: datetime, end: datetime) -> int:
    """The hours the company's bookings that start in [start, end) consume (cancelled ones consume 0)."""
    c = gpu_bookings.c
    query = sa.select(sa.func.coalesce(sa.func.sum(c.hours), 0)).where(
        c.company_id == company_id, c.start_at >= start, c.start_at < end
    )
    return int((await conn.execute(query)).scalar_one())


async def all_gpu_nodes(conn: AsyncConnection) -> list[GpuNode]:
    return await GPU_NODES.all(conn, GPU_NODES.select().order_by(gpu_nodes.c.id))


async def gpu_bookings_between(conn: AsyncConnection, start: datetime, end: datetime) -> list[GpuBooking]:
    """Every booking (of any state) whose time overlaps [start, end)."""
    c = gpu_bookings.c
    return await GPU_BOOKINGS.all(conn, GPU_BOOKINGS.select(c.start_at < end, c.end_at > start))


GPU_WAITLIST = Rows(gpu_waitlist, GpuWaitlistEntry, columns={"start": "start_at", "end": "end_at"})
insert_waitlist_entry = GPU_WAITLIST.insert


async def waiting_for(conn: AsyncConnection, node_id: int, start: datetime, end: datetime) -> list[GpuWaitlistEntry]:
    """The firms waiting for a slot of the node that overlaps [start, end), first come first."""
    c = gpu_waitlist.c
    query = GPU_WAITLIST.select(c.node_id == node_id, c.state == WAITING, c.start_at < end, c.end_at > start)
    return await GPU_WAITLIST.all(conn, query.order_by(c.id))


async def mark_offered(conn: AsyncConnection, entry: GpuWaitlistEntry) -> GpuWaitlistEntry | None:
    """Claims the entry for its offer (a conditional update: of two writers, one offers); None if it was claimed."""
    c = gpu_waitlist.c
    at = now()
    done = await conn.execute(
        gpu_waitlist.update().where(c.id == entry.id, c.state == WAITING).values(state=OFFERED, offered_at=at)
    )
    return replace(entry, state=OFFERED, offered_at=at) if done.rowcount == 1 else None


def waitlist_retention(days: float) -> Retention:
    """A waitlist entry goes `days` after its slot has ended, offered or not: nobody can take that slot now."""
    return Retention(gpu_waitlist, gpu_waitlist.c.end_at, days)
