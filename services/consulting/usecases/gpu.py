"""Use cases of the GPU cluster: nodes, bookings (held like a room, through usecases.booking) and the quota each
booking consumes. A booking, its quota check and its event commit in one transaction of this service: the
company's quota row is locked first (store.lock_gpu_quota), then what the company booked in the period is summed,
then the booking is inserted and its node reserved; a second booking of the company waits on the lock and sums
after the first committed, so no interleaving overruns the quota. Founders act for their own company only."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hub.events.v1 import consulting_pb2 as ev
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.calls import FOUNDER, bound_to
from hubcore.convert import timestamp
from hubcore.db import Database, UnitOfWork, now
from hubcore.requests import check_etag
from hubcore.resources import found
from hubcore.settings import gpu_no_show_counts
from services.consulting import convert, domain, store
from services.consulting.usecases.booking import SUBJECT, Pending, load, open_company, reserve


@dataclass(frozen=True)
class NewGpuBooking:
    node: domain.Ref
    company: domain.Ref
    start: datetime
    end: datetime
    purpose: str


async def create_node(uow: UnitOfWork, node: domain.GpuNode) -> domain.GpuNode:
    return await store.insert_gpu_node(uow.conn, node)


async def list_nodes(db: Database, *, after: int | None, limit: int) -> list[domain.GpuNode]:
    async with db.read() as conn:
        return await store.list_gpu_nodes(conn, after=after, limit=limit)


async def _wanted(
    conn: AsyncConnection, new: NewGpuBooking, *, purpose: str, field: str
) -> tuple[domain.GpuNode, domain.GpuBooking]:
    """The node and the booking a company asks for, to book or to wait for: the company is open, the node exists
    and the time is in the future (else INVALID_ARGUMENT naming `field`)."""
    await open_company(conn, new.company)
    node = await load(conn, store.get_gpu_node, new.node, "GpuNode")
    wanted = domain.new_gpu_booking(
        node_id=node.id, company_id=new.company.id, start=new.start, end=new.end, purpose=purpose
    )
    if wanted.start <= now():
        raise errors.invalid(field, "must be in the future")
    return node, wanted


async def book(uow: UnitOfWork, pending: Pending, new: NewGpuBooking) -> tuple[domain.GpuBooking, str]:
    """Books the node for the company within its quota; run inside usecases.booking.booking()."""
    conn = uow.conn
    node, booking = await _wanted(conn, new, purpose=new.purpose, field="gpu_booking.interval.start_time")
    quota = await store.lock_gpu_quota(conn, new.company.id)  # first: the company's bookings queue here
    period = quota.period_of(booking.start) if quota is not None else None
    used = await store.gpu_hours_used(conn, new.company.id, *period) if period is not None else 0
    domain.check_within_quota(quota, booking, used, new.company.name)
    booking = await store.insert_gpu_booking(conn, booking)
    await reserve(uow, pending, booking.name, booking.holds())
    await uow.emit(f"{SUBJECT}.gpu_booking.booked", booking.name, booking.version,
                   ev.GpuBookingChanged(gpu_booking=convert.gpu_booking_snapshot(booking, node)))  # fmt: skip
    return booking, node.display_name


async def _own_booking(conn: AsyncConnection, ref: domain.Ref) -> domain.GpuBooking:
    """The booking named, or NOT_FOUND, also when a founder names another company's."""
    found = await store.get_gpu_booking(conn, ref.id)
    own = bound_to(FOUNDER)
    if found is None or (own is not None and found.company_id != own):
        raise errors.NotFound("GpuBooking", ref.name)
    return found


async def join_waitlist(uow: UnitOfWork, new: NewGpuBooking) -> domain.GpuWaitlistEntry:
    """Waits for a slot that is taken now (a free one is FAILED_PRECONDITION: book it)."""
    conn = uow.conn
    node, wanted = await _wanted(conn, new, purpose="", field="entry.interval.start_time")
    if await store.find_conflict(conn, wanted.holds(), holder="") is None:
        raise errors.FailedPrecondition(
            f"{node.name} is free then; book it instead of waiting", type_="SLOT_FREE", subject=node.name
        )
    entry = domain.GpuWaitlistEntry(0, node.id, new.company.id, wanted.start, wanted.end)
    return await store.insert_waitlist_entry(conn, entry)


async def offer_freed(uow: UnitOfWork, node: domain.GpuNode, start: datetime, end: datetime) -> None:
    """After a booking of the node freed [start, end): the first firm waiting for a slot in it that is now wholly
    free is offered it, once (the event tells the notifications worker, which tells the company)."""
    for entry in await store.waiting_for(uow.conn, node.id, start, end):
        if entry.start <= now():
            continue  # too late to use
        if await store.find_conflict(uow.conn, [(node.name, entry.start, entry.end)], holder="") is not None:
            continue  # still partly taken by another booking
        offered = await store.mark_offered(uow.conn, entry)
        if offered is None:
            continue
        said = ev.GpuSlotOffered(
            entry=offered.name, node=node.name, node_display_name=node.display_name, company=offered.company,
            start_time=timestamp(offered.start), end_time=timestamp(offered.end),
        )  # fmt: skip
        await uow.emit(f"{SUBJECT}.gpu_waitlist.offered", offered.name, 1, said)
        return


async def _changed(
    uow: UnitOfWork, before: domain.GpuBooking, after: domain.GpuBooking, event: str, reason: str
) -> tuple[domain.GpuBooking, str]:
    saved = await store.save_gpu_booking(uow.conn, after, before=before)
    await store.release(uow.conn, holder=saved.name)  # the slot is free again
    node = await store.get_gpu_node(uow.conn, saved.node_id)
    assert node is not None  # foreign key
    snapshot = convert.gpu_booking_snapshot(saved, node)
    changed = ev.GpuBookingChanged(gpu_booking=snapshot, reason=reason)
    await uow.emit(f"{SUBJECT}.gpu_booking.{event}", saved.name, saved.version, changed)
    await offer_freed(uow, node, max(saved.start, now()), saved.end)
    return saved, node.display_name


async def cancel(uow: UnitOfWork, ref: domain.Ref, etag: str, reason: str) -> tuple[domain.GpuBooking, str]:
    """Before the start: the node is free again and the hours return to the company's quota."""
    booking = await _own_booking(uow.conn, ref)
    check_etag(etag, booking.etag)
    cancelled = booking.cancel(reason, now())
    return await _changed(uow, booking, cancelled, "cancelled", cancelled.cancel_reason)


async def mark_no_show(uow: UnitOfWork, ref: domain.Ref, etag: str) -> tuple[domain.GpuBooking, str]:
    """After the start: the rest of the slot is free; the hours count or not as HUB_GPU_NO_SHOW_COUNTS says."""
    booking = await _own_booking(uow.conn, ref)
    check_etag(etag, booking.etag)
    missed = booking.no_show(now(), counts=gpu_no_show_counts())
    return await _changed(uow, booking, missed, "no_show", "")


async def list_bookings(
    db: Database, *, company: domain.Ref | None, node: domain.Ref | None, after: int | None, limit: int
) -> list[tuple[domain.GpuBooking, str]]:
    """A page of bookings in id order; a founder's are their company's whatever they asked."""
    own = bound_to(FOUNDER)
    if own is not None and company is not None and company.id != own:
        raise errors.PermissionDenied(f"a founder may act only for companies/{own}")
    company_id = own if own is not None else company.id if company is not None else None
    async with db.read() as conn:
        found = await store.list_gpu_bookings(
            conn, company_id=company_id, node_id=node.id if node else None, after=after, limit=limit
        )
        nodes = await store.gpu_nodes_by_ids(conn, {b.node_id for b in found})
    return [(b, nodes[b.node_id].display_name) for b in found]


async def set_quota(uow: UnitOfWork, company: domain.Ref, quota: domain.GpuQuota) -> domain.GpuQuota:
    found(await store.get_company(uow.conn, company.name), "Company", company.name)
    await store.lock_gpu_quota(uow.conn, company.id)  # after the bookings checking against the old one
    await store.set_gpu_quota(uow.conn, quota)
    return quota


async def get_quota(
    db: Database, company: domain.Ref, at: datetime
) -> tuple[domain.GpuQuota, tuple[datetime, datetime] | None, int]:
    """The quota, the period containing `at` (None: a term quota outside its term) and the hours booked in it."""
    async with db.read() as conn:
        quota = await store.get_gpu_quota(conn, company.id)
        if quota is None:
            raise errors.NotFound("GpuQuota", company.name)
        period = quota.period_of(at)
        used = await store.gpu_hours_used(conn, company.id, *period) if period is not None else 0
    return quota, period, used


async def utilization(db: Database, month: tuple[datetime, datetime]) -> list[domain.NodeUtilization]:
    """Each node's booked and no-show hours in the month (two queries, whatever the number of nodes)."""
    async with db.read() as conn:
        nodes = await store.all_gpu_nodes(conn)
        found = await store.gpu_bookings_between(conn, *month)
    return domain.utilization(nodes, found, month)
