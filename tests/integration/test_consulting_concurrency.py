"""Double booking under concurrency, on SQLite (serialized writes) and PostgreSQL (exclusion constraint):
many ScheduleSession calls for overlapping times of one mentor, one room or one company at once.
Exactly one wins; every other call is FAILED_PRECONDITION naming the winner, never INTERNAL; and the
database holds no overlapping bookings."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from hub.consulting.v1 import consulting_pb2 as pb
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from services.consulting import store
from tests.conftest import ADMIN, RunningConsulting
from tests.integration.consulting_world import (
    future_monday,
    know_company,
    make_mentor,
    make_room,
    make_type,
    schedule_request,
)

CALLS = 50


async def race(c: RunningConsulting, requests: list[pb.ScheduleSessionRequest]) -> pb.Session:
    results = await asyncio.gather(
        *(c.consulting.ScheduleSession(r, metadata=ADMIN, timeout=120) for r in requests), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, pb.Session)]
    lost = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(won) + len(lost) == len(requests), [r for r in results if not isinstance(r, (pb.Session, grpc.RpcError))]
    assert len(won) == 1, f"{len(won)} calls won"
    [winner] = won
    assert [e.code() for e in lost] == [grpc.StatusCode.FAILED_PRECONDITION] * (len(requests) - 1), {
        e.code(): e.details() for e in lost
    }
    assert all(winner.name in e.details() for e in lost), {e.details() for e in lost}
    await assert_no_overlap(c)
    async with c.runtime.db.read() as conn:
        sessions = (await conn.execute(sa.select(sa.func.count()).select_from(store.sessions))).scalar_one()
    assert sessions == 1, "losers wrote nothing"
    return winner


async def assert_no_overlap(c: RunningConsulting) -> None:
    async with c.runtime.db.read() as conn:
        rows = (await conn.execute(sa.select(store.bookings).order_by(store.bookings.c.resource))).all()
    by_resource: dict[str, list[tuple[datetime, datetime]]] = {}
    for row in rows:
        by_resource.setdefault(row.resource, []).append((as_utc(row.start_at), as_utc(row.end_at)))
    for resource, periods in by_resource.items():
        periods.sort()
        for (_, end), (start, _) in itertools.pairwise(periods):
            assert start >= end, f"{resource} is double-booked"


async def test_one_mentor_many_companies_at_once(consulting: RunningConsulting) -> None:
    c = consulting
    mentor, kind = await make_mentor(c), await make_type(c, length=60, after=10)
    companies = [await know_company(c, n, f"회사{n}") for n in range(1, CALLS + 1)]
    start = future_monday()
    requests = [
        schedule_request(company, mentor, kind, start + timedelta(minutes=i))  # all within one hour of each other
        for i, company in enumerate(companies)
    ]
    await race(c, requests)


async def test_one_room_many_mentors_at_once(consulting: RunningConsulting) -> None:
    c = consulting
    kind, room = await make_type(c), await make_room(c)
    mentors = await asyncio.gather(*(make_mentor(c, f"멘토{n}") for n in range(CALLS)))
    companies = [await know_company(c, n, f"회사{n}") for n in range(1, CALLS + 1)]
    start = future_monday()
    requests = [
        schedule_request(company, mentor, kind, start, room=room.name)
        for mentor, company in zip(mentors, companies, strict=True)
    ]
    winner = await race(c, requests)
    assert winner.room == room.name


async def test_one_company_many_mentors_at_once(consulting: RunningConsulting) -> None:
    c = consulting
    kind = await make_type(c)
    mentors = await asyncio.gather(*(make_mentor(c, f"멘토{n}") for n in range(CALLS)))
    company = await know_company(c, 1)
    start = future_monday()
    requests = [schedule_request(company, m, kind, start - timedelta(minutes=i % 30)) for i, m in enumerate(mentors)]
    await race(c, requests)


async def test_postgresql_refuses_overlap_even_without_the_check(consulting: RunningConsulting) -> None:
    """The exclusion constraint is the guarantee on PostgreSQL: a direct insert that skips the
    application's check still cannot overlap (SQLSTATE 23P01)."""
    db = consulting.runtime.db
    if db.is_sqlite:
        pytest.skip("SQLite relies on serialized writes (BEGIN IMMEDIATE), not on a constraint")
    start = future_monday()
    row = {"resource": "mentors/1", "holder": "sessions/1", "start_at": start, "end_at": start + timedelta(hours=1)}
    async with db.engine.begin() as conn:
        await conn.execute(store.bookings.insert().values(row))
    overlapping = row | {"holder": "sessions/2", "start_at": start + timedelta(minutes=59)}
    with pytest.raises(IntegrityError) as caught:
        async with db.engine.begin() as conn:
            await conn.execute(store.bookings.insert().values(overlapping))
    assert store.is_overlap(caught.value)
    later = {"start_at": start + timedelta(hours=1), "end_at": start + timedelta(hours=2)}
    touching = row | {"holder": "sessions/3"} | later
    other = row | {"holder": "sessions/4", "resource": "rooms/1"}
    async with db.engine.begin() as conn:  # back to back, or another resource: allowed
        await conn.execute(store.bookings.insert(), [touching, other])


async def test_postgresql_race_past_the_check_is_still_failed_precondition(
    consulting: RunningConsulting, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every loser past the application's check: the constraint refuses it, and the caller still gets
    FAILED_PRECONDITION naming the winner, never INTERNAL."""
    c = consulting
    if c.runtime.db.is_sqlite:
        pytest.skip("on SQLite the check inside the serialized transaction is the guarantee")

    async def unchecked(conn: AsyncConnection, holds: list[tuple[str, Any, Any]], *, holder: str) -> None:
        await store.release(conn, holder=holder)
        rows = [{"resource": r, "holder": holder, "start_at": s, "end_at": e} for r, s, e in holds]
        await conn.execute(store.bookings.insert(), rows)

    monkeypatch.setattr(store, "reserve", unchecked)
    mentor, kind = await make_mentor(c), await make_type(c)
    companies = [await know_company(c, n, f"회사{n}") for n in range(1, 21)]
    start = future_monday()
    await race(c, [schedule_request(company, mentor, kind, start) for company in companies])


async def test_many_bookings_of_free_times_at_once_all_succeed(consulting: RunningConsulting) -> None:
    """Writers queue (on SQLite in the process, before BEGIN IMMEDIATE) rather than fail: 40 calls at once
    for 40 free times of one mentor all commit, each once, with no overlap."""
    c = consulting
    mentor, kind = await make_mentor(c), await make_type(c, length=30, after=10)
    companies = [await know_company(c, n, f"회사{n}") for n in range(1, 5)]
    start = future_monday()
    requests = [
        schedule_request(companies[i % len(companies)], mentor, kind, start + timedelta(minutes=40 * i))
        for i in range(40)
    ]
    results = await asyncio.gather(*(c.consulting.ScheduleSession(r, metadata=ADMIN, timeout=120) for r in requests))
    assert len({s.name for s in results}) == len(requests)
    await assert_no_overlap(c)
    async with c.runtime.db.read() as conn:
        held = (await conn.execute(sa.select(sa.func.count()).select_from(store.bookings))).scalar_one()
    assert held == 2 * len(requests)  # the mentor's and the company's
