"""Sessions, the time they book, their changes, and their action items."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import keyset_after, now, save_versioned
from services.consulting import domain
from services.consulting.domain import (
    ActionItem,
    Session,
    SessionChange,
)
from services.consulting.store.tables import (
    NO_OVERLAP,
    Row,
    action_items,
    bookings,
    by_id,
    insert,
    minutes,
    session_changes,
    sessions,
    utc,
)


class BookingConflict(Exception):
    def __init__(self, resource: str, holder: str) -> None:
        super().__init__(domain.conflict_message(resource, holder))
        self.resource = resource
        self.holder = holder


# Sessions and bookings


def to_session(row: Row) -> Session:
    return Session(
        id=row.id,
        company_id=row.company_id,
        mentor_id=row.mentor_id,
        session_type_id=row.session_type_id,
        start=as_utc(row.start_at),
        end=as_utc(row.end_at),
        buffer_before=timedelta(minutes=row.buffer_before_minutes),
        buffer_after=timedelta(minutes=row.buffer_after_minutes),
        room_id=row.room_id,
        agenda=row.agenda,
        state=row.state,
        notes=row.notes,
        cancel_reason=row.cancel_reason,
        sequence=row.sequence,
        created_at=utc(row.created_at),
        updated_at=utc(row.updated_at),
        version=row.version,
    )


def session_values(s: Session) -> dict[str, object]:
    return {
        "company_id": s.company_id,
        "mentor_id": s.mentor_id,
        "session_type_id": s.session_type_id,
        "room_id": s.room_id,
        "start_at": s.start,
        "end_at": s.end,
        "buffer_before_minutes": minutes(s.buffer_before),
        "buffer_after_minutes": minutes(s.buffer_after),
        "agenda": s.agenda,
        "state": s.state,
        "notes": s.notes,
        "cancel_reason": s.cancel_reason,
        "sequence": s.sequence,
        "version": s.version,
    }


async def insert_session(conn: AsyncConnection, session: Session) -> Session:
    stamp = now()
    values = session_values(session) | {"created_at": stamp, "updated_at": stamp}
    new_id = await insert(conn, sessions, values)
    return replace(session, id=new_id, created_at=stamp, updated_at=stamp)


async def save_session(conn: AsyncConnection, session: Session, *, expected_version: int) -> Session:
    stamp = now()
    values = session_values(session) | {"updated_at": stamp}
    await save_versioned(conn, sessions, session.id, expected_version, values, name=session.name)
    return replace(session, updated_at=stamp)


async def get_session(conn: AsyncConnection, session_id: int) -> Session | None:
    row = (await conn.execute(sa.select(sessions).where(sessions.c.id == session_id))).first()
    return to_session(row) if row else None


async def list_sessions(
    conn: AsyncConnection, terms: domain.SessionFilter, *, after: list[Any] | None, limit: int
) -> list[Session]:
    """Sessions in (start, id) order after the position `after` ([start, id]), that meet every term."""
    c = sessions.c
    query = sa.select(sessions)
    for values, column in (
        (terms.mentor, c.mentor_id), (terms.company, c.company_id), (terms.room, c.room_id),
        (terms.session_type, c.session_type_id), (terms.state, c.state),
    ):  # fmt: skip
        if values:
            query = query.where(column.in_(values))
    for value in terms.start_after:
        query = query.where(c.start_at >= value)
    for value in terms.start_before:
        query = query.where(c.start_at < value)
    if after is not None:
        query = query.where(keyset_after([c.start_at, c.id], after, False))
    query = query.order_by(c.start_at, c.id).limit(limit)
    return [to_session(r) for r in await conn.execute(query)]


async def sessions_of(
    conn: AsyncConnection, *, mentor_id: int | None = None, company_id: int | None = None, start: datetime,
    end: datetime | None, limit: int,
) -> list[Session]:  # fmt: skip
    """A mentor's or a company's sessions that start in [start, end) (end None: no end), in start order."""
    c = sessions.c
    owner = c.mentor_id == mentor_id if mentor_id is not None else c.company_id == company_id
    query = sa.select(sessions).where(owner, c.start_at >= start)
    if end is not None:
        query = query.where(c.start_at < end)
    query = query.order_by(c.start_at, c.id).limit(limit)
    return [to_session(r) for r in await conn.execute(query)]


async def find_conflict(
    conn: AsyncConnection, holds: list[tuple[str, datetime, datetime]], *, holder: str
) -> tuple[str, str] | None:
    """The first booking of another holder that overlaps one of holds: (resource, holder)."""
    if not holds:
        return None
    c = bookings.c
    overlapping = sa.or_(*(sa.and_(c.resource == r, c.start_at < e, c.end_at > s) for r, s, e in holds))
    query = sa.select(c.resource, c.holder).where(overlapping, c.holder != holder).order_by(c.start_at).limit(1)
    row = (await conn.execute(query)).first()
    return (row.resource, row.holder) if row else None


async def reserve(conn: AsyncConnection, holds: list[tuple[str, datetime, datetime]], *, holder: str) -> None:
    """Books holds for holder, replacing what it held. Raises BookingConflict when another holder has one
    of the resources at an overlapping time (checked here; on PostgreSQL also enforced by the constraint,
    which surfaces as an IntegrityError that is_overlap() recognizes)."""
    await release(conn, holder=holder)
    conflict = await find_conflict(conn, holds, holder=holder)
    if conflict:
        raise BookingConflict(*conflict)
    if holds:
        await conn.execute(
            bookings.insert(), [{"resource": r, "holder": holder, "start_at": s, "end_at": e} for r, s, e in holds]
        )


async def release(conn: AsyncConnection, *, holder: str) -> None:
    await conn.execute(bookings.delete().where(bookings.c.holder == holder))


def is_overlap(exc: IntegrityError) -> bool:
    """The exclusion constraint refused an overlapping booking (SQLSTATE 23P01)."""
    return getattr(exc.orig, "sqlstate", None) == "23P01" or NO_OVERLAP in str(exc.orig)


async def busy_between(
    conn: AsyncConnection, resources: list[str], start: datetime, end: datetime
) -> dict[str, list[domain.Period]]:
    c = bookings.c
    found: dict[str, list[domain.Period]] = {r: [] for r in resources}
    if not resources:
        return found
    rows = await conn.execute(
        sa.select(c.resource, c.start_at, c.end_at).where(c.resource.in_(resources), c.start_at < end, c.end_at > start)
    )
    for row in rows:
        found[row.resource].append((as_utc(row.start_at), as_utc(row.end_at)))
    return found


async def add_change(conn: AsyncConnection, before: Session, after: Session, reason: str, actor: str) -> None:
    await conn.execute(
        session_changes.insert().values(
            session_id=after.id,
            previous_start_at=before.start,
            previous_end_at=before.end,
            previous_room_id=before.room_id,
            new_start_at=after.start,
            new_end_at=after.end,
            new_room_id=after.room_id,
            reason=reason,
            actor=actor,
            changed_at=now(),
        )
    )


async def changes_of(conn: AsyncConnection, session_ids: list[int]) -> dict[int, list[SessionChange]]:
    c = session_changes.c
    found: dict[int, list[SessionChange]] = {}
    if not session_ids:
        return found
    rows = await conn.execute(sa.select(session_changes).where(c.session_id.in_(session_ids)).order_by(c.id))
    for r in rows:
        found.setdefault(r.session_id, []).append(
            SessionChange(
                previous_start=as_utc(r.previous_start_at),
                previous_end=as_utc(r.previous_end_at),
                previous_room_id=r.previous_room_id,
                new_start=as_utc(r.new_start_at),
                new_end=as_utc(r.new_end_at),
                new_room_id=r.new_room_id,
                reason=r.reason,
                changed_at=as_utc(r.changed_at),
                actor=r.actor,
            )
        )
    return found


# Action items


def to_action_item(row: Row) -> ActionItem:
    return ActionItem(
        id=row.id,
        session_id=row.session_id,
        company_id=row.company_id,
        mentor_id=row.mentor_id,
        description=row.description,
        owner=row.owner,
        due_date=row.due_date,
        state=row.state,
        completed_at=utc(row.completed_at),
        overdue_at=utc(row.overdue_at),
        created_at=utc(row.created_at),
        version=row.version,
    )


async def insert_action_item(conn: AsyncConnection, item: ActionItem) -> ActionItem:
    stamp = now()
    values = {
        "session_id": item.session_id,
        "company_id": item.company_id,
        "mentor_id": item.mentor_id,
        "description": item.description,
        "owner": item.owner,
        "due_date": item.due_date,
        "state": item.state,
        "created_at": stamp,
        "version": item.version,
    }
    new_id = await insert(conn, action_items, values)
    return replace(item, id=new_id, created_at=stamp)


async def get_action_item(conn: AsyncConnection, item_id: int) -> ActionItem | None:
    row = (await conn.execute(sa.select(action_items).where(action_items.c.id == item_id))).first()
    return to_action_item(row) if row else None


async def list_action_items(
    conn: AsyncConnection, terms: domain.ActionItemFilter, *, on: date, after: int | None, limit: int
) -> list[ActionItem]:
    """Action items in id order that meet every term; overdue as of the day `on`."""
    c = action_items.c
    terms_by_column = (
        (terms.company, c.company_id), (terms.mentor, c.mentor_id), (terms.session, c.session_id),
        (terms.owner, c.owner), (terms.state, c.state),
    )  # fmt: skip
    where: list[sa.ColumnElement[bool]] = [column.in_(values) for values, column in terms_by_column if values]
    late = sa.and_(c.state == domain.OPEN, c.due_date < on)
    where += [late if overdue else sa.not_(late) for overdue in terms.overdue]
    return [to_action_item(r) for r in await conn.execute(by_id(action_items, *where, after=after, limit=limit))]


async def save_action_item(conn: AsyncConnection, item: ActionItem, *, expected_version: int) -> None:
    values = {"state": item.state, "completed_at": item.completed_at, "overdue_at": item.overdue_at}
    await save_versioned(
        conn, action_items, item.id, expected_version, values | {"version": item.version}, name=item.name
    )


async def newly_overdue(conn: AsyncConnection, on: date, limit: int = 500) -> list[ActionItem]:
    c = action_items.c
    rows = await conn.execute(
        sa.select(action_items)
        .where(c.state == domain.OPEN, c.due_date < on, c.overdue_at.is_(None))
        .order_by(c.id)
        .limit(limit)
    )
    return [to_action_item(r) for r in rows]
