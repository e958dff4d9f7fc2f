"""Use cases of sessions (schedule, move, cancel, no-show, complete, notes, the founder's feedback), their action
items, and the calendar. A founder or a mentor sees and acts on their own sessions alone (load_session)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import NamedTuple

from hub.events.v1 import consulting_pb2 as ev
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.calls import FOUNDER, bound_to
from hubcore.convert import timestamp
from hubcore.db import Database, UnitOfWork, now
from hubcore.requests import check_etag
from services.consulting import convert, domain, store
from services.consulting.usecases.booking import (
    SUBJECT,
    Pending,
    active_self,
    load,
    load_action_item,
    load_session,
    open_company,
    own_only,
    reserve,
    session_context,
)

MAX_EXPORT = 2000


class Held(NamedTuple):
    """A session as an answer shows it (convert.session_pb(*held))."""

    session: domain.Session
    history: list[domain.SessionChange]
    feedback: domain.Feedback | None  # the founder's, None until given
    company_name: str  # the company's Korean name in the directory, "" until it has heard of the company
    mentor_name: str = ""  # the mentor's Korean name, the type's and the room's display names
    type_name: str = ""
    room_name: str = ""


@dataclass(frozen=True)
class NewSession:
    company: domain.Ref
    mentor: domain.Ref
    session_type: domain.Ref
    room: domain.Ref | None
    start: datetime
    end: datetime | None  # None: the type's default duration
    agenda: str


async def schedule_session(uow: UnitOfWork, pending: Pending, new: NewSession) -> Held:
    """Books the mentor (with the type's buffers), the company and the room; run inside booking()."""
    conn = uow.conn
    company = await open_company(conn, new.company)
    mentor = await load(conn, store.get_mentor, new.mentor, "Mentor")
    mentor.check_bookable()
    kind = await load(conn, store.get_session_type, new.session_type, "SessionType")
    room = await load(conn, store.get_room, new.room, "Room") if new.room is not None else None
    session = domain.new_session(
        company_id=new.company.id, mentor_id=new.mentor.id, session_type=kind, start=new.start, end=new.end,
        room_id=new.room.id if new.room else None, agenda=new.agenda,
    )  # fmt: skip
    session = await store.insert_session(conn, session)
    await reserve(uow, pending, session.name, session.holds())
    await uow.emit(f"{SUBJECT}.session.scheduled", session.name, session.version,
                   ev.SessionScheduled(session=convert.session_snapshot(session, mentor, kind)))  # fmt: skip
    return Held(session, [], None, company.korean_name, mentor.korean_name, kind.display_name,
                room.display_name if room else "")  # fmt: skip


async def _with_history(conn: AsyncConnection, found: list[domain.Session]) -> list[Held]:
    """What the answers show of sessions besides their rows, in one query each for a whole page, none per row."""
    ids = [s.id for s in found]
    history, feedback = await store.changes_of(conn, ids), await store.feedback_of(conn, ids)
    names = await store.company_names(conn, list({convert.name_of("companies", s.company_id) for s in found}))
    mentors, kinds, rooms = await store.display_names(
        conn, {s.mentor_id for s in found}, {s.session_type_id for s in found}, {s.room_id for s in found if s.room_id}
    )
    return [
        Held(
            s,
            history.get(s.id, []),
            feedback.get(s.id),
            names.get(convert.name_of("companies", s.company_id), ""),
            mentors.get(s.mentor_id, ""),
            kinds.get(s.session_type_id, ""),
            rooms.get(s.room_id or 0, ""),
        )
        for s in found
    ]


async def get_session(db: Database, ref: domain.Ref) -> Held:
    async with db.read() as conn:
        return (await _with_history(conn, [await load_session(conn, ref)]))[0]


async def list_sessions(
    db: Database, terms: domain.SessionFilter, *, after: list[object] | None, limit: int
) -> list[Held]:
    """A page of sessions; a founder's are their company's, a mentor's their own, whatever the filter says."""
    terms = own_only(terms)
    async with db.read() as conn:
        await active_self(conn)
        return await _with_history(conn, await store.list_sessions(conn, terms, after=after, limit=limit))


async def _held(uow: UnitOfWork, session: domain.Session) -> Held:
    return (await _with_history(uow.conn, [session]))[0]


async def reschedule_session(
    uow: UnitOfWork, pending: Pending, ref: domain.Ref, etag: str, *, start: datetime, end: datetime | None,
    room: domain.Ref | None, reason: str,
) -> Held:  # fmt: skip
    """Moves a scheduled session (end None: it keeps its length; room None: it keeps its room); inside booking()."""
    conn = uow.conn
    session = await load_session(conn, ref)
    check_etag(etag, session.etag)
    (await session_context(conn, session))[0].check_bookable()
    if room is not None:
        await load(conn, store.get_room, room, "Room")
    moved = session.reschedule(
        start, end or start + (session.end - session.start), room.id if room is not None else session.room_id
    )
    moved = await store.save_session(conn, moved, before=session)
    await reserve(uow, pending, moved.name, moved.holds())
    await store.add_change(conn, session, moved, reason, uow.actor)
    mentor, kind = await session_context(conn, moved)
    await uow.emit(
        f"{SUBJECT}.session.rescheduled",
        moved.name,
        moved.version,
        ev.SessionRescheduled(
            session=convert.session_snapshot(moved, mentor, kind),
            previous_start_time=timestamp(session.start),
            previous_end_time=timestamp(session.end),
            previous_room=convert.name_of("rooms", session.room_id),
            reason=reason,
        ),
    )
    return await _held(uow, moved)


async def cancel_session(uow: UnitOfWork, ref: domain.Ref, etag: str, reason: str) -> Held:
    session = await load_session(uow.conn, ref)
    check_etag(etag, session.etag)
    cancelled = await store.save_session(uow.conn, session.cancel(reason), before=session)
    await store.release(uow.conn, holder=cancelled.name)
    mentor, kind = await session_context(uow.conn, cancelled)
    snapshot = convert.session_snapshot(cancelled, mentor, kind)
    await uow.emit(f"{SUBJECT}.session.cancelled", cancelled.name, cancelled.version,
                   ev.SessionCancelled(session=snapshot, reason=cancelled.cancel_reason))  # fmt: skip
    return await _held(uow, cancelled)


async def mark_no_show(uow: UnitOfWork, ref: domain.Ref, etag: str) -> Held:
    """The company did not come (or the session did not take place); a mentor marks the sessions they lead."""
    session = await load_session(uow.conn, ref)
    check_etag(etag, session.etag)
    missed = await store.save_session(uow.conn, session.no_show(now()), before=session)
    await store.release(uow.conn, holder=missed.name)
    mentor, kind = await session_context(uow.conn, missed)
    await uow.emit(f"{SUBJECT}.session.no_show", missed.name, missed.version,
                   ev.SessionNoShow(session=convert.session_snapshot(missed, mentor, kind)))  # fmt: skip
    return await _held(uow, missed)


async def complete_session(
    uow: UnitOfWork, ref: domain.Ref, etag: str, notes: str, wanted: list[tuple[str, str, date]]
) -> tuple[Held, list[domain.ActionItem]]:
    """Completes a session that has begun, with the action items it left (description, owner, due date). A
    mentor completes the sessions they lead; notes left empty are due within 48 hours (record_notes)."""
    session = await load_session(uow.conn, ref)
    check_etag(etag, session.etag)
    done = await store.save_session(uow.conn, session.complete(notes, now()), before=session)
    return await _with_items(uow, done, wanted, "completed", ev.SessionCompleted)


async def record_notes(
    uow: UnitOfWork, ref: domain.Ref, etag: str, notes: str, wanted: list[tuple[str, str, date]]
) -> tuple[Held, list[domain.ActionItem]]:
    """The notes of a completed session written after it (once), with more action items if any."""
    session = await load_session(uow.conn, ref)
    check_etag(etag, session.etag)
    done = await store.save_session(uow.conn, session.record_notes(notes, now()), before=session)
    return await _with_items(uow, done, wanted, "notes_recorded", ev.SessionNotesRecorded)


async def _with_items(
    uow: UnitOfWork, done: domain.Session, wanted: list[tuple[str, str, date]], event: str,
    message: type[ev.SessionCompleted] | type[ev.SessionNotesRecorded],
) -> tuple[Held, list[domain.ActionItem]]:  # fmt: skip
    """Creates the action items a session left and emits the session's event, then each item's."""
    items = []
    for description, owner, due in wanted:
        item = domain.ActionItem(
            id=0, session_id=done.id, company_id=done.company_id, mentor_id=done.mentor_id,
            description=description, owner=owner, due_date=due,
        )  # fmt: skip
        items.append(await store.insert_action_item(uow.conn, item))
    mentor, kind = await session_context(uow.conn, done)
    snapshot = convert.session_snapshot(done, mentor, kind)
    said = message(session=snapshot, notes=done.notes, action_items=[a.name for a in items])
    if isinstance(said, ev.SessionCompleted) and done.completed_at is not None and not done.notes:
        said.notes_due_time.FromDatetime(done.completed_at + domain.NOTES_DUE)  # the mentor's nudge then
    await uow.emit(f"{SUBJECT}.session.{event}", done.name, done.version, said)
    for item in items:
        await uow.emit(f"{SUBJECT}.action_item.created", item.name, item.version,
                       ev.ActionItemCreated(action_item=convert.action_item_snapshot(item)))  # fmt: skip
    return await _held(uow, done), items


@dataclass(frozen=True)
class FeedbackAnswer:
    rating: int
    fit: str  # domain.FITS
    comment: str
    reason: str  # why a program manager records it for the founder


async def record_feedback(uow: UnitOfWork, ref: domain.Ref, etag: str, answer: FeedbackAnswer) -> Held:
    """The founder's feedback on a completed session of their company, once; a program manager records it on
    their behalf with a reason (kept with the actor). The session's version moves, so two at once cannot both
    be recorded."""
    session = await load_session(uow.conn, ref)
    check_etag(etag, session.etag)
    given = (await store.feedback_of(uow.conn, [session.id])).get(session.id)
    if given is not None:
        raise errors.AlreadyExists(
            "SessionFeedback", session.name, f"{session.name} has its feedback already (recorded by {given.actor})"
        )
    feedback = domain.new_feedback(
        session, rating=answer.rating, fit=answer.fit, comment=answer.comment, actor=uow.actor, reason=answer.reason,
        on_behalf=bound_to(FOUNDER) is None, at=now(),
    )  # fmt: skip
    bumped = await store.save_session(uow.conn, replace(session, version=session.version + 1), before=session)
    await store.insert_feedback(uow.conn, feedback, bumped)
    mentor, kind = await session_context(uow.conn, bumped)
    await uow.emit(
        f"{SUBJECT}.session.feedback_recorded", bumped.name, bumped.version,
        ev.SessionFeedbackRecorded(
            session=convert.session_snapshot(bumped, mentor, kind), rating=feedback.rating, fit=feedback.fit,
            comment=feedback.comment, actor=feedback.actor, reason=feedback.reason, on_time=feedback.on_time,
        ),
    )  # fmt: skip
    return await _held(uow, bumped)


# Action items


async def get_action_item(db: Database, ref: domain.Ref) -> domain.ActionItem:
    async with db.read() as conn:
        return await load_action_item(conn, ref)


async def list_action_items(
    db: Database, terms: domain.ActionItemFilter, *, on: date, after: int | None, limit: int
) -> list[domain.ActionItem]:
    """A page of action items; a mentor's are those of the sessions they lead, whatever the filter says."""
    terms = own_only(terms)
    async with db.read() as conn:
        await active_self(conn)
        return await store.list_action_items(conn, terms, on=on, after=after, limit=limit)


async def complete_action_item(uow: UnitOfWork, ref: domain.Ref, etag: str) -> domain.ActionItem:
    """Done; a mentor completes those of the sessions they lead."""
    item = await load_action_item(uow.conn, ref)
    check_etag(etag, item.etag)
    done = item.complete(now())
    await store.save_action_item(uow.conn, done, expected_version=item.version)
    await uow.emit(f"{SUBJECT}.action_item.completed", done.name, done.version,
                   ev.ActionItemCompleted(action_item=convert.action_item_snapshot(done)))  # fmt: skip
    return done


async def sweep_overdue(uow: UnitOfWork, on: date) -> int:
    """Emits action_item.overdue once for each open item due before `on`. Safe with several replicas: an
    item is claimed by a conditional update, so only one emits."""
    emitted = 0
    for item in await store.newly_overdue(uow.conn, on):
        late = replace(item, overdue_at=now(), version=item.version + 1)
        try:
            await store.save_action_item(uow.conn, late, expected_version=item.version)
        except errors.StaleWrite:
            continue  # completed or claimed meanwhile
        await uow.emit(f"{SUBJECT}.action_item.overdue", late.name, late.version,
                       ev.ActionItemOverdue(action_item=convert.action_item_snapshot(late)))  # fmt: skip
        emitted += 1
    return emitted


# iCalendar


async def export_calendar(db: Database, owner: domain.Ref, start: datetime | None, end: datetime | None) -> bytes:
    """A mentor's or a company's sessions from start (default: 30 days ago) to end, as an iCalendar file. A mentor
    exports their own (policy: the owner is their scope)."""
    mentor_owned = owner.name.startswith("mentors/")
    start = start or now() - timedelta(days=30)
    async with db.read() as conn:
        await active_self(conn)
        if mentor_owned:
            title = f"{(await load(conn, store.get_mentor, owner, 'Mentor')).korean_name} 자문 일정"
        else:
            company = await store.get_company(conn, owner.name)
            if company is None:
                raise errors.NotFound("Company", owner.name)
            title = f"{company.korean_name} 자문 일정"
        found = await store.sessions_of(
            conn, mentor_id=owner.id if mentor_owned else None, company_id=None if mentor_owned else owner.id,
            start=start, end=end, limit=MAX_EXPORT,
        )  # fmt: skip
        mentors = await store.mentors_by_ids(conn, list({s.mentor_id for s in found}))
        kinds = await store.session_types_by_id(conn)
        rooms = {r.id: r for r in await store.all_rooms(conn)}
        companies = await store.company_names(conn, list({f"companies/{s.company_id}" for s in found}))
    entries = [
        domain.CalendarEntry(
            session=s,
            summary=f"{kinds[s.session_type_id].display_name} · "
            f"{companies.get(f'companies/{s.company_id}', f'companies/{s.company_id}')} × "
            f"{mentors[s.mentor_id].korean_name}",
            location=rooms[s.room_id].display_name if s.room_id in rooms else "",
            description=s.agenda,
        )
        for s in found
    ]
    return domain.to_ical(title, entries)
