"""What the notifications API does, as plain functions over a unit of work (writes) or a database (reads):
the program managers' views of follow-ups, deliveries and recipients, their actions (cancel, retry) and the
preferences recipients keep. They take plain values, check the domain's rules, call the store and return
domain objects; the servicer only parses and converts around them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import Database, UnitOfWork
from hubcore.requests import check_etag
from services.notifications import domain, rules, store
from services.notifications.store import Page

# Follow-ups


async def list_follow_ups(db: Database, page: Page) -> list[domain.FollowUp]:
    async with db.read() as conn:
        return await store.list_follow_ups(conn, page)


async def _follow_up(conn: AsyncConnection, number: int, name: str) -> domain.FollowUp:
    found = await store.follow_up(conn, number)
    if found is None:
        raise errors.NotFound("FollowUp", name)
    return found


async def get_follow_up(db: Database, number: int, name: str) -> domain.FollowUp:
    async with db.read() as conn:
        return await _follow_up(conn, number, name)


async def cancel_follow_up(uow: UnitOfWork, *, number: int, name: str, reason: str) -> domain.FollowUp:
    """A pending follow-up will not be dispatched; the reason is its note."""
    (await _follow_up(uow.conn, number, name)).check_cancellable()
    await store.update_follow_up(uow.conn, number, state=domain.CANCELLED, note=reason[:500])
    return await _follow_up(uow.conn, number, name)


# Deliveries


async def list_deliveries(db: Database, page: Page) -> list[domain.Delivery]:
    async with db.read() as conn:
        return await store.list_deliveries(conn, page)


async def _delivery(conn: AsyncConnection, number: int, name: str) -> domain.Delivery:
    found = await store.delivery(conn, number)
    if found is None:
        raise errors.NotFound("Delivery", name)
    return found


async def get_delivery(db: Database, number: int, name: str) -> domain.Delivery:
    async with db.read() as conn:
        return await _delivery(conn, number, name)


async def retry_delivery(uow: UnitOfWork, *, number: int, name: str, at: datetime) -> domain.Delivery:
    """Due again at once, with a fresh count of attempts (retries_from), whatever claim it had released."""
    delivery = await _delivery(uow.conn, number, name)
    delivery.check_retryable()
    await store.update_delivery(
        uow.conn, number, state=domain.PENDING, next_attempt_at=at, retries_from=delivery.attempts, claim="",
        lease_until=None,
    )  # fmt: skip
    return await _delivery(uow.conn, number, name)


async def cancel_delivery(uow: UnitOfWork, *, number: int, name: str, actor: str) -> domain.Delivery:
    (await _delivery(uow.conn, number, name)).check_cancellable()
    await store.update_delivery(
        uow.conn, number, state=domain.CANCELLED, next_attempt_at=None, last_error=f"cancelled by {actor}"
    )
    return await _delivery(uow.conn, number, name)


# Views


async def stuck(db: Database, *, at: datetime, overdue_after: float, size: int) -> domain.Stuck:
    async with db.read() as conn:
        return await store.stuck(conn, at, overdue_after, size)


async def stats(db: Database, *, at: datetime, overdue_after: float) -> domain.Stats:
    async with db.read() as conn:
        return await store.stats(conn, at, overdue_after)


# Recipients and preferences


async def list_recipients(db: Database, page: Page) -> list[domain.Recipient]:
    async with db.read() as conn:
        return await store.list_recipients(conn, page)


async def _recipient(conn: AsyncConnection, number: int, name: str) -> domain.Recipient:
    found = await store.recipient(conn, number)
    if found is None:
        raise errors.NotFound("Recipient", name)
    return found


async def get_recipient(db: Database, number: int, name: str) -> domain.Recipient:
    async with db.read() as conn:
        return await _recipient(conn, number, name)


async def update_preference(
    uow: UnitOfWork, *, number: int, name: str, etag: str, wanted: dict[str, object]
) -> domain.Recipient:
    """Changes the fields given (an update that changes nothing keeps the etag)."""
    domain.check_preference(wanted, rules.RULES)
    recipient = await _recipient(uow.conn, number, name)
    check_etag(etag, str(recipient.preference.version))
    changes = recipient.preference.changes(wanted)
    if changes:
        await store.save_preference(uow.conn, recipient, changes, name=name)
    return await _recipient(uow.conn, number, name)
