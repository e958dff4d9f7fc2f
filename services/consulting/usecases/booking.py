"""What every use case shares: the event subject, loading what the caller named (and only what a founder or a
mentor may see of it), and the write transaction that books time (the booking guarantee's application half;
the database's half is in store.tables)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from google.protobuf.message import Message
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors, tokens
from hubcore.calls import FOUNDER, MENTOR, bound_to
from hubcore.db import Database, UnitOfWork, remember
from hubcore.resources import found
from services.consulting import domain, store

SUBJECT = "hub.consulting"
T = TypeVar("T")
R = TypeVar("R", bound=Message)


async def load(conn: AsyncConnection, loader: Callable[[AsyncConnection, int], Awaitable[T | None]], ref: domain.Ref,
               kind: str) -> T:  # fmt: skip
    """What the caller named, or NOT_FOUND repeating the name as sent."""
    return found(await loader(conn, ref.id), kind, ref.name)


async def open_company(conn: AsyncConnection, company: domain.Ref) -> domain.DirectoryCompany:
    """The company named, as the directory knows it (NOT_FOUND otherwise), which may still book: an archived or
    withdrawn one is FAILED_PRECONDITION."""
    held = found(await store.get_company(conn, company.name), "Company", company.name)
    if held.closed:
        raise errors.FailedPrecondition(f"{company.name} is {held.closed}", type_="COMPANY_STATE", subject=company.name)
    return held


# Who acts. A founder's token is bound to their company, a mentor's to their mentor (hubcore.tokens.SCOPED):
# they see and act on that one's sessions alone; another's is NOT_FOUND to them, existence included.


async def active_self(conn: AsyncConnection) -> int | None:
    """A mentor caller's mentor number, refused while that mentor is deactivated (their tokens are being revoked
    everywhere; here they are refused at once). None for any other caller."""
    mentor_id = bound_to(MENTOR)
    if mentor_id is not None:
        mentor = await store.get_mentor(conn, mentor_id)
        if mentor is not None and not mentor.active:
            raise errors.PermissionDenied(f"mentors/{mentor_id} is inactive; ask a program manager")
    return mentor_id


Terms = TypeVar("Terms", domain.SessionFilter, domain.ActionItemFilter)


def own_only(terms: Terms) -> Terms:
    """A founder's or a mentor's list (of sessions, of action items) is of their company's or their own, whatever
    the filter asks; a filter naming another's is PERMISSION_DENIED."""
    for role, term in ((FOUNDER, "company"), (MENTOR, "mentor")):
        own = bound_to(role)
        if own is None:
            continue
        if any(number != own for number in getattr(terms, term)):
            raise errors.PermissionDenied(f"a {role} may act only for {tokens.SCOPED[role]}/{own}")
        return replace(terms, company=[own]) if role == FOUNDER else replace(terms, mentor=[own])
    return terms


async def load_session(conn: AsyncConnection, ref: domain.Ref) -> domain.Session:
    """The session the caller named, or NOT_FOUND, also when a founder or a mentor names one that is not theirs."""
    mentor_id = await active_self(conn)
    company_id = bound_to(FOUNDER)
    session = await store.get_session(conn, ref.id)
    if (
        session is None
        or (mentor_id is not None and session.mentor_id != mentor_id)
        or (company_id is not None and session.company_id != company_id)
    ):
        raise errors.NotFound("Session", ref.name)
    return session


async def load_action_item(conn: AsyncConnection, ref: domain.Ref) -> domain.ActionItem:
    """The action item the caller named, or NOT_FOUND, also when a mentor names one of a session they do not lead."""
    mentor_id = await active_self(conn)
    item = await store.get_action_item(conn, ref.id)
    if item is None or (mentor_id is not None and item.mentor_id != mentor_id):
        raise errors.NotFound("ActionItem", ref.name)
    return item


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
