"""Use cases of what sessions are booked with: mentors, their availability exceptions, rooms, session types."""

from __future__ import annotations

from hub.events.v1 import consulting_pb2 as ev

from hubcore import errors
from hubcore.db import Database, UnitOfWork
from hubcore.requests import check_etag
from services.consulting import convert, domain, store
from services.consulting.usecases.booking import SUBJECT, load

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
    db: Database, *, kinds: list[str], tags: list[str], after: int | None, limit: int
) -> list[domain.Mentor]:
    async with db.read() as conn:
        return await store.list_mentors(conn, kinds=kinds, tags=tags, after=after, limit=limit)


async def update_mentor(uow: UnitOfWork, ref: domain.Ref, etag: str, changes: dict[str, object]) -> domain.Mentor:
    """Applies changes; the event goes out only when what other services know of the mentor changed."""
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


# Availability exceptions


async def create_exception(uow: UnitOfWork, mentor: domain.Ref, exception: domain.AvailabilityException
                           ) -> domain.AvailabilityException:  # fmt: skip
    await load(uow.conn, store.get_mentor, mentor, "Mentor")
    return await store.insert_exception(uow.conn, exception)


async def list_exceptions(
    db: Database, mentor_id: int, *, after: int | None, limit: int
) -> list[domain.AvailabilityException]:
    async with db.read() as conn:
        return await store.list_exceptions(conn, mentor_id, after=after, limit=limit)


async def delete_exception(uow: UnitOfWork, exception: domain.Ref) -> None:
    if not await store.delete_exception(uow.conn, exception.id):
        raise errors.NotFound("AvailabilityException", exception.name)


# Rooms and session types


async def create_room(uow: UnitOfWork, room: domain.Room) -> domain.Room:
    return await store.insert_room(uow.conn, room)


async def get_room(db: Database, room: domain.Ref) -> domain.Room:
    async with db.read() as conn:
        return await load(conn, store.get_room, room, "Room")


async def list_rooms(db: Database, *, after: int | None, limit: int) -> list[domain.Room]:
    async with db.read() as conn:
        return await store.list_rooms(conn, after=after, limit=limit)


async def create_session_type(uow: UnitOfWork, kind: domain.SessionType) -> domain.SessionType:
    return await store.insert_session_type(uow.conn, kind)


async def get_session_type(db: Database, kind: domain.Ref) -> domain.SessionType:
    async with db.read() as conn:
        return await load(conn, store.get_session_type, kind, "SessionType")


async def list_session_types(db: Database, *, after: int | None, limit: int) -> list[domain.SessionType]:
    async with db.read() as conn:
        return await store.list_session_types(conn, after=after, limit=limit)
