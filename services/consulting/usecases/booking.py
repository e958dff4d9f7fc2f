"""What every use case shares: the event subject, loading what the caller named, and the write transaction
that books time (the booking guarantee's application half; the database's half is in store.tables)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import Database, UnitOfWork, remember
from services.consulting import domain, store

SUBJECT = "hub.consulting"
T = TypeVar("T")
R = TypeVar("R", bound=Message)


async def load(conn: AsyncConnection, loader: Callable[[AsyncConnection, int], Awaitable[T | None]], ref: domain.Ref,
               kind: str) -> T:  # fmt: skip
    """What the caller named, or NOT_FOUND repeating the name as sent."""
    found = await loader(conn, ref.id)
    if found is None:
        raise errors.NotFound(kind, ref.name)
    return found


async def session_context(conn: AsyncConnection, session: domain.Session) -> tuple[domain.Mentor, domain.SessionType]:
    """A session's mentor and type, which its events describe."""
    mentor = await store.get_mentor(conn, session.mentor_id)
    kind = await store.get_session_type(conn, session.session_type_id)
    assert mentor is not None and kind is not None  # foreign keys
    return mentor, kind


def conflict(resource: str, holder: str) -> errors.FailedPrecondition:
    return errors.FailedPrecondition(
        domain.conflict_message(resource, holder), type_="BOOKING_CONFLICT", subject=holder
    )


@dataclass
class Pending:
    """What a write transaction is booking, kept to name the winner if PostgreSQL's constraint refuses it."""

    holder: str = ""
    holds: list[tuple[str, datetime, datetime]] = field(default_factory=list)


@asynccontextmanager
async def booking(db: Database, actor: str, pending: Pending) -> AsyncIterator[UnitOfWork]:
    """A write transaction that books time. A booking refused by PostgreSQL's exclusion constraint (a
    concurrent writer won the race after our check) becomes FAILED_PRECONDITION naming the winner."""
    try:
        async with db.write(actor=actor) as uow:
            yield uow
    except store.BookingConflict as found:
        raise conflict(found.resource, found.holder) from None
    except IntegrityError as exc:
        if not store.is_overlap(exc):
            raise
        async with db.read() as conn:
            found_conflict = await store.find_conflict(conn, pending.holds, holder=pending.holder)
        if found_conflict:
            raise conflict(*found_conflict) from None
        raise errors.FailedPrecondition(
            "another booking took this time at the same moment; search for free slots again",
            type_="BOOKING_CONFLICT",
            subject=pending.holder,
        ) from None


async def reserve(
    uow: UnitOfWork, pending: Pending, holder: str, holds: Iterable[tuple[str, datetime, datetime]]
) -> None:
    pending.holder, pending.holds = holder, list(holds)
    await store.reserve(uow.conn, pending.holds, holder=holder)


async def create_booked(
    db: Database,
    method: str,
    request: Message,
    response_type: type[R],
    build: Callable[[UnitOfWork, Pending], Awaitable[R]],
    *,
    actor: str,
    request_id: str,
) -> R:
    """Database.create_once for a create that books time: build(uow, pending) makes the change inside booking(),
    and the response commits with the request's key; a retry gets it back."""

    async def work() -> R:
        pending = Pending()
        async with booking(db, actor, pending) as uow:
            response = await build(uow, pending)
            await remember(uow, method, request_id, request, response)
        return response

    result: R = await db.idempotent(method, request_id, request, response_type, work)
    return result
