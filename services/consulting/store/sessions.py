"""Sessions, the time they book, their changes, and their action items."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import keyset_after, now
from hubcore.rows import MINUTES, Rows, add_counts, any_of
from services.consulting import domain
from services.consulting.domain import ActionItem, Feedback, Session, SessionChange
from services.consulting.store.tables import (
    NO_OVERLAP,
    action_items,
    bookings,
    served_companies,
    session_changes,
    session_counts,
    session_feedback,
    sessions,
)


class BookingConflict(Exception):
    def __init__(self, resource: str, holder: str) -> None:
        super().__init__(domain.conflict_message(resource, holder))
        self.resource = resource
        self.holder = holder


# Sessions and bookings


SESSIONS = Rows(
    sessions,
    Session,
    columns={
        "start": "start_at", "end": "end_at", "buffer_before": "buffer_before_minutes",
        "buffer_after": "buffer_after_minutes",
    },
    codecs={"buffer_before": MINUTES, "buffer_after": MINUTES},
)  # fmt: skip
ACTION_ITEMS = Rows(action_items, ActionItem)
FEEDBACK = Rows(session_feedback, Feedback)
CHANGES = Rows(
    session_changes,
    SessionChange,
    columns={f: f"{f}_at" for f in ("previous_start", "previous_end", "new_start", "new_end")},
)

session_values = SESSIONS.values
get_session = SESSIONS.get


async def insert_session(conn: AsyncConnection, session: Session) -> Session:
    made = await SESSIONS.insert(conn, session)
    await count_sessions(conn, [(made, 1)])
    return made


async def save_session(conn: AsyncConnection, session: Session, *, before: Session) -> Session:
    """Writes the session over its row as it was read (`before`; StaleWrite if it moved on meanwhile) and moves
    it between the dashboard's counts when its state changed."""
    saved = await SESSIONS.save(conn, session, expected_version=before.version)
    if session.state != before.state:
        await count_sessions(conn, [(before, -1), (session, 1)])
    return saved


async def count_sessions(conn: AsyncConnection, changes: list[tuple[Session, int]]) -> None:
    """Adds each (session, +1 or -1) to the dashboard's counts: by type and state, and the companies served."""
    by_state: Counter[tuple[int, str]] = Counter()
    served: Counter[int] = Counter()
    for session, n in changes:
        by_state[session.session_type_id, session.state] += n
        if session.state == domain.COMPLETED:
            served[session.company_id] += n
    rows = [_counts(t, state, sessions=n) for (t, state), n in by_state.items()]
    await add_counts(conn, session_counts, ("session_type_id", "state"), rows)
    await add_counts(
        conn, served_companies, ("company_id",), [{"company_id": c, "completed": n} for c, n in served.items()]
    )


def _counts(type_id: int, state: str, *, sessions: int = 0, on_time_feedback: int = 0) -> dict[str, object]:
    """What one write adds to a session_counts row."""
    return {"session_type_id": type_id, "state": state, "sessions": sessions, "on_time_feedback": on_time_feedback}


async def list_sessions(
    conn: AsyncConnection, terms: domain.SessionFilter, *, after: list[Any] | None, limit: int
) -> list[Session]:
    """Sessions in (start, id) order after the position `after` ([start, id]), that meet every term."""
    c = sessions.c
    query = SESSIONS.select()
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
    for written in terms.has_notes:
        query = query.where(c.notes_at.is_not(None) if written else c.notes_at.is_(None))
    if after is not None:
        query = query.where(keyset_after([c.start_at, c.id], after, False))
    return await SESSIONS.all(conn, query.order_by(c.start_at, c.id).limit(limit))


async def sessions_of(
    conn: AsyncConnection, *, mentor_id: int | None = None, company_id: int | None = None, start: datetime,
    end: datetime | None, limit: int,
) -> list[Session]:  # fmt: skip
    """A mentor's or a company's sessions that start in [start, end) (end None: no end), in start order."""
    c = sessions.c
    owner = c.mentor_id == mentor_id if mentor_id is not None else c.company_id == company_id
    query = SESSIONS.select(owner, c.start_at >= start)
    if end is not None:
        query = query.where(c.start_at < end)
    return await SESSIONS.all(conn, query.order_by(c.start_at, c.id).limit(limit))


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
    change = SessionChange(
        before.start, before.end, before.room_id, after.start, after.end, after.room_id, reason, now(), actor
    )
    await CHANGES.insert(conn, change, session_id=after.id)


async def changes_of(conn: AsyncConnection, session_ids: list[int]) -> dict[int, list[SessionChange]]:
    c = session_changes.c
    found: dict[int, list[SessionChange]] = {}
    if not session_ids:
        return found
    for row in await conn.execute(CHANGES.select(c.session_id.in_(session_ids)).order_by(c.id)):
        found.setdefault(row.session_id, []).append(CHANGES.load(row))
    return found


# Feedback


async def insert_feedback(conn: AsyncConnection, feedback: Feedback, session: Session) -> None:
    await FEEDBACK.insert(conn, feedback)
    if feedback.on_time:
        row = _counts(session.session_type_id, session.state, on_time_feedback=1)
        await add_counts(conn, session_counts, ("session_type_id", "state"), [row])


async def feedback_of(conn: AsyncConnection, session_ids: list[int]) -> dict[int, Feedback]:
    """The founders' feedback on these sessions, by session id (a session without any is not in it)."""
    if not session_ids:
        return {}
    found = await FEEDBACK.all(conn, FEEDBACK.select(session_feedback.c.session_id.in_(session_ids)))
    return {f.session_id: f for f in found}


# Action items


get_action_item = ACTION_ITEMS.get
insert_action_item = ACTION_ITEMS.insert
save_action_item = ACTION_ITEMS.save


async def list_action_items(
    conn: AsyncConnection, terms: domain.ActionItemFilter, *, on: date, after: int | None, limit: int
) -> list[ActionItem]:
    """Action items in id order that meet every term; overdue as of the day `on`."""
    c = action_items.c
    terms_by_column = (
        (terms.company, c.company_id), (terms.mentor, c.mentor_id), (terms.session, c.session_id),
        (terms.owner, c.owner), (terms.state, c.state),
    )  # fmt: skip
    where = any_of(*((column, values or None) for values, column in terms_by_column))
    late = sa.and_(c.state == domain.OPEN, c.due_date < on)
    where += [late if overdue else sa.not_(late) for overdue in terms.overdue]
    return await ACTION_ITEMS.list(conn, *where, after=after, limit=limit)


async def newly_overdue(conn: AsyncConnection, on: date, limit: int = 500) -> list[ActionItem]:
    c = action_items.c
    return await ACTION_ITEMS.list(
        conn, c.state == domain.OPEN, c.due_date < on, c.overdue_at.is_(None), after=None, limit=limit
    )
