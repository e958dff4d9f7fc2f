"""Use cases of what sessions are booked with: mentors, their availability exceptions, rooms, session types."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from hub.events.v1 import consulting_pb2 as ev
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import Database, UnitOfWork, now
from hubcore.requests import check_etag
from services.consulting import convert, domain, store
from services.consulting.usecases.booking import SUBJECT, active_self, load

T = TypeVar("T")

# Mentors


async def create_mentor(uow: UnitOfWork, fields: dict[str, object]) -> domain.Mentor:
    mentor = await store.insert_mentor(uow.conn, domain.new_mentor(**fields))
    await uow.emit(f"{SUBJECT}.mentor.registered", mentor.name, mentor.version,
                   ev.MentorRegistered(mentor=convert.mentor_snapshot(mentor)))  # fmt: skip
    return mentor


async def get_mentor(db: Database, mentor: domain.Ref) -> domain.Mentor:
    async with db.read() as conn:
        return await load(conn, store.get_mentor, mentor, "Mentor")


async def list_mentors(
    db: Database, *, kinds: list[str], tags: list[str], active: list[bool], after: int | None, limit: int
) -> list[domain.Mentor]:
    async with db.read() as conn:
        return await store.list_mentors(conn, kinds=kinds, tags=tags, active=active, after=after, limit=limit)


async def update_mentor(uow: UnitOfWork, ref: domain.Ref, etag: str, changes: dict[str, object]) -> domain.Mentor:
    """Applies changes; the event goes out only when what other services know of the mentor changed. A mentor
    changes their own week and time zone only (the policy binds them to their own record)."""
    if await active_self(uow.conn) is not None and (others := set(changes) - domain.SELF_MUTABLE):
        shown = sorted("weekly_availability" if f == "windows" else f for f in others)
        raise errors.PermissionDenied(
            f"a mentor may change only their weekly_availability and time_zone, not {', '.join(shown)}"
        )
    mentor = await load(uow.conn, store.get_mentor, ref, "Mentor")
    check_etag(etag, mentor.etag)
    updated, changed = domain.update_mentor(mentor, changes)
    if not changed:
        return mentor
    updated = await store.save_mentor(uow.conn, updated, expected_version=mentor.version)
    before, after = convert.mentor_snapshot(mentor), convert.mentor_snapshot(updated)
    shown = [f.name for f in after.DESCRIPTOR.fields if getattr(before, f.name) != getattr(after, f.name)]
    if shown:  # other services know only the snapshot: a change to availability is none of theirs
        await uow.emit(f"{SUBJECT}.mentor.updated", updated.name, updated.version,
                       ev.MentorUpdated(mentor=after, changed_fields=shown))  # fmt: skip
    return updated


async def deactivate_mentor(uow: UnitOfWork, ref: domain.Ref, etag: str, reason: str) -> domain.Mentor:
    """Nobody can book the mentor any more; the event ends their sign-in identities and tokens everywhere."""
    mentor = await load(uow.conn, store.get_mentor, ref, "Mentor")
    check_etag(etag, mentor.etag)
    done = await store.save_mentor(uow.conn, mentor.deactivate(reason, now()), expected_version=mentor.version)
    deactivated = ev.MentorDeactivated(mentor=convert.mentor_snapshot(done), reason=done.deactivation_reason)
    await uow.emit(f"{SUBJECT}.mentor.deactivated", done.name, done.version, deactivated)
    return done


async def reactivate_mentor(uow: UnitOfWork, ref: domain.Ref, etag: str, reason: str) -> domain.Mentor:
    mentor = await load(uow.conn, store.get_mentor, ref, "Mentor")
    check_etag(etag, mentor.etag)
    done = await store.save_mentor(uow.conn, mentor.reactivate(), expected_version=mentor.version)
    await uow.emit(f"{SUBJECT}.mentor.reactivated", done.name, done.version,
                   ev.MentorReactivated(mentor=convert.mentor_snapshot(done), reason=reason))  # fmt: skip
    return done


# Availability exceptions


async def create_exception(uow: UnitOfWork, mentor: domain.Ref, exception: domain.AvailabilityException
                           ) -> domain.AvailabilityException:  # fmt: skip
    await active_self(uow.conn)
    await load(uow.conn, store.get_mentor, mentor, "Mentor")
    return await store.insert_exception(uow.conn, exception)


async def list_exceptions(
    db: Database, mentor_id: int, *, after: int | None, limit: int
) -> list[domain.AvailabilityException]:
    async with db.read() as conn:
        return await store.list_exceptions(conn, mentor_id, after=after, limit=limit)


async def delete_exception(uow: UnitOfWork, exception: domain.Ref) -> None:
    """Deletes the exception; a mentor deletes only their own (another's is NOT_FOUND to them)."""
    mentor_id = await active_self(uow.conn)
    found = await store.get_exception(uow.conn, exception.id)
    if found is None or (mentor_id is not None and found.mentor_id != mentor_id):
        raise errors.NotFound("AvailabilityException", exception.name)
    await store.delete_exception(uow.conn, exception.id)


# Rooms and session types


@dataclass(frozen=True)
class Catalog(Generic[T]):
    """What sessions are booked with that has no rules of its own once made (rooms, session types): created,
    read (NOT_FOUND naming kind) and listed in id order as the store holds it."""

    kind: str
    insert: Callable[[AsyncConnection, T], Awaitable[T]]
    get: Callable[[AsyncConnection, int], Awaitable[T | None]]
    page: Callable[..., Awaitable[list[T]]]  # page(conn, after=..., limit=...)

    async def create(self, uow: UnitOfWork, item: T) -> T:
        return await self.insert(uow.conn, item)

    async def read(self, db: Database, ref: domain.Ref) -> T:
        async with db.read() as conn:
            return await load(conn, self.get, ref, self.kind)

    async def list(self, db: Database, *, after: int | None, limit: int) -> list[T]:
        async with db.read() as conn:
            return await self.page(conn, after=after, limit=limit)


ROOMS = Catalog("Room", store.insert_room, store.get_room, store.list_rooms)
SESSION_TYPES = Catalog("SessionType", store.insert_session_type, store.get_session_type, store.list_session_types)
