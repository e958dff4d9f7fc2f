"""GPU time under the booking guarantee of mentors and rooms, on SQLite (serialized writes) and PostgreSQL
(the exclusion constraint and the quota row's lock): 50 firms racing for one node slot -> exactly one wins, the
rest FAILED_PRECONDITION naming the winner; one firm whose quota allows 3 hours racing 50 one-hour bookings ->
exactly 3. Cancelling returns the hours; a monthly quota resets with the month; a term quota covers its term
only; founders book, see and cancel their own company's only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest
import sqlalchemy as sa
from hub.consulting.v1 import consulting_pb2 as pb
from hub.events.v1 import consulting_pb2 as ev
from hub.events.v1 import envelope_pb2

from hubcore.db import outbox
from services.consulting import store
from tests.conftest import ADMIN, RunningConsulting
from tests.integration.consulting_world import interval, know_company, ts
from tests.integration.test_consulting_concurrency import assert_no_overlap
from tests.integration.test_mentors_self_service import signed

CALLS = 50
SEOUL = ZoneInfo("Asia/Seoul")


def month_start(months_ahead: int = 2) -> datetime:
    """Midnight of the first day of a month ahead, in Seoul (as UTC)."""
    today = datetime.now(SEOUL)
    year, month = today.year, today.month + months_ahead
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return datetime(year, month, 1, tzinfo=SEOUL).astimezone(UTC)


async def make_node(c: RunningConsulting, name: str = "A100 node 1") -> pb.GpuNode:
    return await c.consulting.CreateGpuNode(
        pb.CreateGpuNodeRequest(gpu_node=pb.GpuNode(display_name=name, kind="A100", gpus=8)), metadata=ADMIN
    )


async def set_quota(
    c: RunningConsulting, company: str, hours: int, *, term: tuple[datetime, datetime] | None = None
) -> pb.GpuQuota:
    quota = pb.GpuQuota(company=company, hours=hours, period=pb.GPU_QUOTA_PERIOD_MONTHLY)
    if term is not None:
        quota.period = pb.GPU_QUOTA_PERIOD_TERM
        quota.term_interval.CopyFrom(interval(*term))
    return await c.consulting.SetGpuQuota(pb.SetGpuQuotaRequest(quota=quota), metadata=ADMIN)


def book_request(node: pb.GpuNode, company: str, start: datetime, hours: int = 1, tag: str = "") -> pb.BookGpuRequest:
    return pb.BookGpuRequest(
        gpu_booking=pb.GpuBooking(
            node=node.name, company=company, interval=interval(start, start + timedelta(hours=hours)), purpose="학습"
        ),
        request_id=f"gpu-{company}-{node.name}-{start.isoformat()}-{tag}",
    )


async def race(
    c: RunningConsulting, calls: list[tuple[pb.BookGpuRequest, tuple[tuple[str, str], ...]]]
) -> tuple[list[pb.GpuBooking], list[grpc.aio.AioRpcError]]:
    results = await asyncio.gather(
        *(c.consulting.BookGpu(r, metadata=who, timeout=120) for r, who in calls), return_exceptions=True
    )
    won = [r for r in results if isinstance(r, pb.GpuBooking)]
    lost = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(won) + len(lost) == len(calls), [r for r in results if not isinstance(r, (pb.GpuBooking, grpc.RpcError))]
    return won, lost


async def table_count(c: RunningConsulting, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    async with c.runtime.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))).scalar_one())


async def test_fifty_firms_one_node_slot_exactly_one_wins(consulting: RunningConsulting) -> None:
    c = consulting
    node = await make_node(c)
    companies = [await know_company(c, n, f"회사{n}") for n in range(1, CALLS + 1)]
    for company in companies:
        await set_quota(c, company, 100)
    start = month_start() + timedelta(hours=10)
    # Each founder books for their own company, with their own token; the slots all overlap (shifted by minutes
    # is not allowed: whole hours, so the same hour and neighbours of two hours).
    calls = [
        (book_request(node, company, start - timedelta(hours=i % 2), hours=2), signed("founder", company))
        for i, company in enumerate(companies)
    ]
    won, lost = await race(c, calls)
    assert len(won) == 1, f"{len(won)} calls won"
    [winner] = won
    assert {e.code() for e in lost} == {grpc.StatusCode.FAILED_PRECONDITION}, {e.code(): e.details() for e in lost}
    assert all(winner.name in e.details() and node.name in e.details() for e in lost), {e.details() for e in lost}
    await assert_no_overlap(c)
    assert await table_count(c, store.gpu_bookings) == 1, "losers wrote nothing"
    assert await table_count(c, store.bookings, store.bookings.c.resource == node.name) == 1


async def test_one_firm_whose_quota_allows_three_gets_exactly_three(consulting: RunningConsulting) -> None:
    c = consulting
    nodes = [await make_node(c, f"A100 node {n}") for n in (1, 2)]
    company = await know_company(c, 7, "메디비전")
    await set_quota(c, company, 3)
    start = month_start() + timedelta(hours=1)
    founder = signed("founder", company)
    # 50 free slots (two nodes, 25 hours each, all in one Seoul month): only the quota can refuse them.
    calls = [(book_request(nodes[i % 2], company, start + timedelta(hours=i // 2)), founder) for i in range(CALLS)]
    won, lost = await race(c, calls)
    assert len(won) == 3, f"{len(won)} calls won"
    assert {e.code() for e in lost} == {grpc.StatusCode.FAILED_PRECONDITION}, {e.code(): e.details() for e in lost}
    assert all("would exceed the quota" in e.details() for e in lost), {e.details() for e in lost}
    assert await table_count(c, store.gpu_bookings) == 3
    quota = await c.consulting.GetGpuQuota(pb.GetGpuQuotaRequest(company=company, time=ts(start)), metadata=founder)
    assert (quota.used_hours, quota.hours) == (3, 3)
    assert quota.period_interval.start_time.ToDatetime(tzinfo=UTC) == month_start()


async def test_cancel_returns_hours_and_the_month_resets(consulting: RunningConsulting) -> None:
    c = consulting
    node = await make_node(c)
    company = await know_company(c, 3, "딥랩")
    await set_quota(c, company, 2)
    start = month_start() + timedelta(hours=5)
    first = await c.consulting.BookGpu(book_request(node, company, start, hours=2), metadata=ADMIN)
    assert (first.state, first.hours, first.node_display_name) == (pb.GPU_BOOKING_STATE_BOOKED, 2, "A100 node 1")
    later = start + timedelta(days=1)
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await c.consulting.BookGpu(book_request(node, company, later), metadata=ADMIN)
    assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "2 of its 2 GPU hours" in (refused.value.details() or "")
    # The next month has its own 2 hours.
    next_month = month_start(3) + timedelta(hours=5)
    await c.consulting.BookGpu(book_request(node, company, next_month, hours=2), metadata=ADMIN)
    # Cancelling before the start frees the node and returns the hours.
    cancelled = await c.consulting.CancelGpuBooking(
        pb.CancelGpuBookingRequest(name=first.name, etag=first.etag, reason="일정 변경"), metadata=ADMIN
    )
    assert (cancelled.state, cancelled.hours) == (pb.GPU_BOOKING_STATE_CANCELLED, 0)
    other = await know_company(c, 4, "비전랩")
    await set_quota(c, other, 10)
    await c.consulting.BookGpu(book_request(node, other, start, hours=2), metadata=ADMIN)  # the freed slot
    await c.consulting.BookGpu(book_request(node, company, later), metadata=ADMIN)  # the returned hours
    quota = await c.consulting.GetGpuQuota(pb.GetGpuQuotaRequest(company=company, time=ts(start)), metadata=ADMIN)
    assert quota.used_hours == 1


async def test_term_quota_covers_its_term_only(consulting: RunningConsulting) -> None:
    c = consulting
    node = await make_node(c)
    company = await know_company(c, 5)
    term = (month_start(), month_start(4))
    await set_quota(c, company, 4, term=term)
    await c.consulting.BookGpu(book_request(node, company, month_start() + timedelta(hours=1), hours=3), metadata=ADMIN)
    # The term spans months: one quota for all of it.
    with pytest.raises(grpc.aio.AioRpcError) as over:
        await c.consulting.BookGpu(book_request(node, company, month_start(2), hours=2), metadata=ADMIN)
    assert over.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.aio.AioRpcError) as outside:
        await c.consulting.BookGpu(book_request(node, company, month_start(5)), metadata=ADMIN)
    assert outside.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "outside" in (outside.value.details() or "")
    assert await table_count(c, store.gpu_bookings) == 1


async def test_founders_act_for_their_own_company_only(consulting: RunningConsulting) -> None:
    c = consulting
    node = await make_node(c)
    mine, theirs = await know_company(c, 1, "메디비전"), await know_company(c, 2, "딥랩")
    await set_quota(c, mine, 10)
    await set_quota(c, theirs, 10)
    founder = signed("founder", mine)
    start = month_start() + timedelta(hours=3)
    with pytest.raises(grpc.aio.AioRpcError) as denied:
        await c.consulting.BookGpu(book_request(node, theirs, start), metadata=founder)
    assert denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    their_booking = await c.consulting.BookGpu(book_request(node, theirs, start), metadata=ADMIN)
    with pytest.raises(grpc.aio.AioRpcError) as hidden:
        await c.consulting.CancelGpuBooking(
            pb.CancelGpuBookingRequest(name=their_booking.name, reason="남의 것"), metadata=founder
        )
    assert hidden.value.code() == grpc.StatusCode.NOT_FOUND
    own = await c.consulting.BookGpu(book_request(node, mine, start + timedelta(hours=1)), metadata=founder)
    listed = await c.consulting.ListGpuBookings(pb.ListGpuBookingsRequest(), metadata=founder)
    assert [b.name for b in listed.gpu_bookings] == [own.name]
    with pytest.raises(grpc.aio.AioRpcError) as quota_denied:
        await c.consulting.GetGpuQuota(pb.GetGpuQuotaRequest(company=theirs), metadata=founder)
    assert quota_denied.value.code() == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as no_quota:
        await c.consulting.BookGpu(book_request(node, await know_company(c, 9), start), metadata=ADMIN)
    assert no_quota.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "no GPU quota" in (no_quota.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await c.consulting.BookGpu(
            book_request(node, mine, start + timedelta(hours=5, minutes=30), tag="odd"), metadata=ADMIN
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "gpu_booking.interval.start_time" in (bad.value.details() or "")


@pytest.mark.parametrize("counts", ["1", "0"])
async def test_a_no_show_keeps_or_returns_its_hours_as_the_setting_says(
    consulting: RunningConsulting, monkeypatch: pytest.MonkeyPatch, counts: str
) -> None:
    c = consulting
    monkeypatch.setenv("HUB_GPU_NO_SHOW_COUNTS", counts)
    node = await make_node(c)
    company = await know_company(c, 6)
    await set_quota(c, company, 5)
    began = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    async with c.runtime.db.write(actor="test") as uow:  # a booking whose start has passed (BookGpu needs a future one)
        held = await store.insert_gpu_booking(
            uow.conn, store.GpuBooking(0, int(node.name.split("/")[1]), 6, began, began + timedelta(hours=3), hours=3)
        )
        await store.reserve(uow.conn, held.holds(), holder=held.name)
    with pytest.raises(grpc.aio.AioRpcError) as late:
        await c.consulting.CancelGpuBooking(pb.CancelGpuBookingRequest(name=held.name, reason="늦음"), metadata=ADMIN)
    assert late.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    missed = await c.consulting.MarkGpuBookingNoShow(pb.MarkGpuBookingNoShowRequest(name=held.name), metadata=ADMIN)
    assert (missed.state, missed.hours) == (pb.GPU_BOOKING_STATE_NO_SHOW, 3 if counts == "1" else 0)
    quota = await c.consulting.GetGpuQuota(pb.GetGpuQuotaRequest(company=company, time=ts(began)), metadata=ADMIN)
    assert quota.used_hours == (3 if counts == "1" else 0)
    assert await table_count(c, store.bookings, store.bookings.c.holder == held.name) == 0  # the node is free


async def test_utilization_per_node_and_month(consulting: RunningConsulting) -> None:
    c = consulting
    a, b = await make_node(c, "A100 node 1"), await make_node(c, "H100 node 1")
    company = await know_company(c, 11)
    await set_quota(c, company, 100)
    first = month_start()
    # 10 hours inside the month on node a, and 6 hours that cross into the next month (2 of them in this one).
    await c.consulting.BookGpu(book_request(a, company, first + timedelta(hours=3), hours=10), metadata=ADMIN)
    following = month_start(3)
    crossing = await c.consulting.BookGpu(book_request(a, company, following - timedelta(hours=2), hours=6),
                                          metadata=ADMIN)  # fmt: skip
    dropped = await c.consulting.BookGpu(book_request(b, company, first + timedelta(hours=3), hours=5), metadata=ADMIN)
    await c.consulting.CancelGpuBooking(pb.CancelGpuBookingRequest(name=dropped.name, reason="취소"), metadata=ADMIN)
    month = first.astimezone(SEOUL).strftime("%Y-%m")
    found = await c.consulting.GetGpuUtilization(pb.GetGpuUtilizationRequest(month=month), metadata=ADMIN)
    hours = int((following - first) / timedelta(hours=1))
    assert found.month == month
    assert [(n.node, n.booked_hours, n.hours_in_month) for n in found.nodes] == [
        (a.name, 12, hours),
        (b.name, 0, hours),
    ]
    assert found.nodes[0].utilization_percent == round(100 * 12 / hours, 1)
    assert found.utilization_percent == round(100 * 12 / (2 * hours), 1)
    later = following.astimezone(SEOUL).strftime("%Y-%m")
    next_month = await c.consulting.GetGpuUtilization(pb.GetGpuUtilizationRequest(month=later), metadata=ADMIN)
    assert next_month.nodes[0].booked_hours == 4, crossing.name
    with pytest.raises(grpc.aio.AioRpcError) as bad:
        await c.consulting.GetGpuUtilization(pb.GetGpuUtilizationRequest(month="2026-13"), metadata=ADMIN)
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "month" in (bad.value.details() or "")


def wait_request(node: pb.GpuNode, company: str, start: datetime, hours: int = 1) -> pb.JoinGpuWaitlistRequest:
    entry = pb.GpuWaitlistEntry(
        node=node.name, company=company, interval=interval(start, start + timedelta(hours=hours))
    )
    return pb.JoinGpuWaitlistRequest(entry=entry, request_id=f"wait-{company}-{start.isoformat()}-{hours}")


async def offers(c: RunningConsulting) -> list[str]:
    async with c.runtime.db.read() as conn:
        query = sa.select(outbox.c.data).where(outbox.c.subject == "hub.consulting.gpu_waitlist.offered")
        found = []
        for data in (await conn.execute(query.order_by(outbox.c.seq))).scalars():
            packed = envelope_pb2.Envelope.FromString(data).payload
            said = ev.GpuSlotOffered()
            packed.Unpack(said)
            found.append(f"{said.entry} {said.company}")
    return found


async def test_a_freed_slot_is_offered_to_the_first_firm_waiting(consulting: RunningConsulting) -> None:
    c = consulting
    node = await make_node(c)
    holder, first, second = [await know_company(c, n, f"회사{n}") for n in (1, 2, 3)]
    for company in (holder, first, second):
        await set_quota(c, company, 10)
    start = month_start() + timedelta(hours=20)
    taken = await c.consulting.BookGpu(book_request(node, holder, start, hours=3), metadata=ADMIN)
    with pytest.raises(grpc.aio.AioRpcError) as free:
        await c.consulting.JoinGpuWaitlist(wait_request(node, first, start + timedelta(hours=5)), metadata=ADMIN)
    assert free.value.code() == grpc.StatusCode.FAILED_PRECONDITION and "free" in (free.value.details() or "")
    # The first firm waits for the slot's second hour (a founder, for their own company); the second for all three.
    waiting = await c.consulting.JoinGpuWaitlist(
        wait_request(node, first, start + timedelta(hours=1)), metadata=signed("founder", first)
    )
    assert waiting.state == pb.GPU_WAITLIST_STATE_WAITING
    later = await c.consulting.JoinGpuWaitlist(wait_request(node, second, start, hours=3), metadata=ADMIN)
    with pytest.raises(grpc.aio.AioRpcError) as other:
        await c.consulting.JoinGpuWaitlist(wait_request(node, second, start), metadata=signed("founder", first))
    assert other.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert await offers(c) == []
    await c.consulting.CancelGpuBooking(pb.CancelGpuBookingRequest(name=taken.name, reason="취소"), metadata=ADMIN)
    assert await offers(c) == [f"{waiting.name} {first}"], "only the first firm waiting is offered"
    async with c.runtime.db.read() as conn:
        states = dict((await conn.execute(sa.select(store.gpu_waitlist.c.id, store.gpu_waitlist.c.state))).all())
    assert states == {1: "OFFERED", 2: "WAITING"}, later.name
    # The offer holds nothing: the firm books it with BookGpu, within its quota.
    await c.consulting.BookGpu(book_request(node, first, start + timedelta(hours=1)), metadata=signed("founder", first))
