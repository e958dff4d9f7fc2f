"""What the notifications API does, as plain functions over a unit of work (writes) or a database (reads):
the program managers' views of follow-ups, deliveries and recipients, their actions (cancel, retry) and the
preferences recipients keep. They take plain values, check the domain's rules, call the store and return
domain objects; the servicer only parses and converts around them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import Database, UnitOfWork
from hubcore.requests import check_etag
from hubcore.resources import found
from services.notifications import domain, messages, rules, store
from services.notifications.store import Page

T = TypeVar("T")


async def _read(db: Database, query: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    async with db.read() as conn:
        return await query(conn)


# Follow-ups


async def list_follow_ups(db: Database, page: Page) -> list[domain.FollowUp]:
    return await _read(db, lambda conn: store.list_follow_ups(conn, page))


async def get_follow_up(db: Database, number: int, name: str) -> domain.FollowUp:
    return found(await _read(db, lambda conn: store.follow_up(conn, number)), "FollowUp", name)


async def cancel_follow_up(uow: UnitOfWork, *, number: int, name: str, reason: str) -> domain.FollowUp:
    """A pending follow-up will not be dispatched; the reason is its note."""
    found(await store.follow_up(uow.conn, number), "FollowUp", name).check_cancellable()
    await store.update_follow_up(uow.conn, number, state=domain.CANCELLED, note=reason[:500])
    return found(await store.follow_up(uow.conn, number), "FollowUp", name)


# Deliveries


async def list_deliveries(db: Database, page: Page) -> list[domain.Delivery]:
    return await _read(db, lambda conn: store.list_deliveries(conn, page))


async def get_delivery(db: Database, number: int, name: str) -> domain.Delivery:
    return found(await _read(db, lambda conn: store.delivery(conn, number)), "Delivery", name)


async def retry_delivery(uow: UnitOfWork, *, number: int, name: str, at: datetime) -> domain.Delivery:
    """Due again at once, with a fresh count of attempts (retries_from), whatever claim it had released."""
    delivery = found(await store.delivery(uow.conn, number), "Delivery", name)
    delivery.check_retryable()
    await store.update_delivery(
        uow.conn, number, state=domain.PENDING, next_attempt_at=at, retries_from=delivery.attempts, claim="",
        lease_until=None,
    )  # fmt: skip
    return found(await store.delivery(uow.conn, number), "Delivery", name)


async def retry_recipient_deliveries(uow: UnitOfWork, *, number: int, name: str, at: datetime) -> list[domain.Delivery]:
    """Every failed delivery of one recipient, due again at once (as retry_delivery does for one)."""
    found(await store.recipient(uow.conn, number), "Recipient", name)
    return [
        await retry_delivery(uow, number=failed, name=f"deliveries/{failed}", at=at)
        for failed in await store.failed_deliveries_of(uow.conn, number)
    ]


async def cancel_delivery(uow: UnitOfWork, *, number: int, name: str, actor: str) -> domain.Delivery:
    found(await store.delivery(uow.conn, number), "Delivery", name).check_cancellable()
    await store.update_delivery(
        uow.conn, number, state=domain.CANCELLED, next_attempt_at=None, last_error=f"cancelled by {actor}"
    )
    return found(await store.delivery(uow.conn, number), "Delivery", name)


# Views


async def stuck(db: Database, *, at: datetime, overdue_after: float, size: int) -> domain.Stuck:
    return await _read(db, lambda conn: store.stuck(conn, at, overdue_after, size))


async def stats(db: Database, *, at: datetime, overdue_after: float) -> domain.Stats:
    return await _read(db, lambda conn: store.stats(conn, at, overdue_after))


def message_templates(language: str, time_zone: str) -> list[domain.MessageTemplate]:
    """Every rule's message rendered with the sample values, as a recipient of the language would read it."""
    if language not in domain.LANGUAGES:
        raise errors.invalid("language", f"must be one of {', '.join(domain.LANGUAGES)}")
    tz = domain.zone(time_zone, "Asia/Seoul")
    made = []
    for rule, description in rules.RULES.items():
        message = messages.render(rule, language, tz, rules.SAMPLE_CONTEXT, "김서연" if language == "ko" else "Seoyeon")
        made.append(domain.MessageTemplate(rule, description, language, message.subject, message.body,
                                           rule in rules.ESSENTIAL))  # fmt: skip
    return made


# Recipients and preferences


async def list_recipients(db: Database, page: Page) -> list[domain.Recipient]:
    return await _read(db, lambda conn: store.list_recipients(conn, page))


async def get_recipient(db: Database, number: int, name: str) -> domain.Recipient:
    return found(await _read(db, lambda conn: store.recipient(conn, number)), "Recipient", name)


async def update_preference(
    uow: UnitOfWork, *, number: int, name: str, etag: str, wanted: dict[str, object]
) -> domain.Recipient:
    """Changes the fields given (an update that changes nothing keeps the etag)."""
    domain.check_preference(wanted, set(rules.RULES) - rules.ESSENTIAL)  # a sign-in code cannot be muted
    recipient = found(await store.recipient(uow.conn, number), "Recipient", name)
    check_etag(etag, str(recipient.preference.version))
    changes = recipient.preference.changes(wanted)
    if changes:
        await store.save_preference(uow.conn, recipient, changes, name=name)
    return found(await store.recipient(uow.conn, number), "Recipient", name)
