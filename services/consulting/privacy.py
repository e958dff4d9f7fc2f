"""Personal data in the consulting service: what it holds about a company of the hub (its directory entry,
sessions with agenda and notes, their changes, action items, bookings, program registrations) or a person
(program registrations and action items under their name), and what it erases when the companies service
says a company or a person was erased.

- hub.companies.company.erased (the directory consumer, in order with the company's other events): the
  directory entry becomes the tombstone; the company's sessions keep their times, mentor, room, type and
  state (the calendar and the hub's consultation figures stay true) but lose agenda, notes, cancel reason
  and the reasons of their changes; its action items lose description and owner; its founders' feedback loses
  its comment and the reason a program manager gave (the rating and the fit stay, counted in the figures).
- hub.companies.person.erased (consumer consulting-erasures): the event carries no name; registrations
  and action items whose participant name, email or owner hash to one of its contact digests are emptied
  (the registration stays, counted in the program's figures).
In both cases the erased values leave this service's stored events and responses.
"""

from __future__ import annotations

import sqlalchemy as sa
from google.protobuf.message import Message
from hub.consulting.v1 import consulting_pb2
from hub.events.v1 import companies_pb2 as ev
from hub.events.v1 import envelope_pb2
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import UnitOfWork
from hubcore.events import ConsumerSpec
from hubcore.privacy import (
    ERASED,
    PersonalData,
    Record,
    contact_digest,
    distinct_values,
    erase_by_digest,
    rows,
    rows_with_children,
    subject_id,
)
from services.consulting import store

# The free text emptied with a company, in its rows and in the events and stored responses about it.
COMPANY_TEXT = ("agenda", "notes", "reason", "description", "owner", "comment")


async def export(conn: AsyncConnection, name: str, match: list[str]) -> list[Record]:
    if not name.startswith("companies/"):
        # People are known here only by what was typed (registrations, owners): found by the values the
        # caller knows of them (hubctl reads them from the companies service).
        return await _person_rows(conn, name, match)
    number = subject_id(name)
    found = await rows(conn, store.company_directory, store.company_directory.c.company == name)
    found += await rows_with_children(
        conn, store.sessions, store.sessions.c.company_id == number, store.session_changes.c.session_id
    )
    found += await rows(conn, store.action_items, store.action_items.c.company_id == number)
    found += await rows(conn, store.session_feedback, store.session_feedback.c.company_id == number)
    found += await rows(conn, store.bookings, store.bookings.c.resource == name)
    found += await rows(conn, store.registrations, store.registrations.c.company_id == number)
    return found


async def _person_rows(conn: AsyncConnection, name: str, match: list[str]) -> list[Record]:
    """Registrations under the person's name or email, action items they own (by name or people/{id})."""
    lowered = [v.lower() for v in match]
    r, a = store.registrations.c, store.action_items.c
    found = await rows(
        conn,
        store.registrations,
        sa.or_(sa.func.lower(r.participant_name).in_(lowered), sa.func.lower(r.email).in_(lowered)),
    )
    found += await rows(conn, store.action_items, sa.or_(a.owner == name, sa.func.lower(a.owner).in_(lowered)))
    return found


PERSONAL_DATA = PersonalData(export=export, services=[consulting_pb2.DESCRIPTOR.services_by_name["ConsultingService"]])


async def company_erased(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """Called by the directory consumer before the directory takes the tombstone."""
    assert isinstance(payload, ev.CompanyErased)
    name = payload.company.name or envelope.subject_id
    number = subject_id(name)
    conn = uow.conn
    held = await store.get_company(conn, name)
    values = distinct_values(held.korean_name, held.english_name) if held else []
    s, c, a = store.sessions.c, store.session_changes.c, store.action_items.c
    ids = list((await conn.execute(sa.select(s.id).where(s.company_id == number))).scalars())
    if ids:
        await conn.execute(store.sessions.update().where(s.id.in_(ids)).values(agenda="", notes="", cancel_reason=""))
        await conn.execute(store.session_changes.update().where(c.session_id.in_(ids)).values(reason=""))
    feedback = store.session_feedback
    await conn.execute(feedback.update().where(feedback.c.company_id == number).values(comment="", reason=""))
    owners = list((await conn.execute(sa.select(a.owner).where(a.company_id == number).distinct())).scalars())
    await conn.execute(store.action_items.update().where(a.company_id == number).values(description="", owner=ERASED))
    values = distinct_values(*values, *(o for o in owners if o != ERASED))
    await PERSONAL_DATA.scrub(conn, names=(name,), values=values, fields=COMPANY_TEXT)


async def person_erased(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """Registrations and action items under the person's name or email (by digest) are emptied; the parts of
    free text (agendas, notes, action items, reasons) that hash to a digest are replaced, here and in the
    stored events."""
    assert isinstance(payload, ev.PersonErased)
    name = payload.person.name or envelope.subject_id
    digests = set(payload.contact_digests)

    def matches(value: str) -> bool:
        return bool(value) and contact_digest(payload.salt, value) in digests

    conn = uow.conn
    found: set[str] = set()
    r, a = store.registrations.c, store.action_items.c
    rewritten: list[int] = []
    for row in (await conn.execute(sa.select(r.id, r.program_id, r.participant_name, r.email, r.phone))).all():
        if matches(row.participant_name) or matches(row.email):
            found.update(v for v in (row.participant_name, row.email, row.phone) if v)
            await conn.execute(
                store.registrations.update().where(r.id == row.id).values(participant_name=ERASED, email="", phone="")
            )
            rewritten.append(row.program_id)
    await store.refresh_attendees(conn, rewritten)  # the figures count who attended as the rows now say
    for item_id, owner in (await conn.execute(sa.select(a.id, a.owner))).all():
        if owner == name or matches(owner):
            if owner != name:
                found.add(owner)
            await conn.execute(store.action_items.update().where(a.id == item_id).values(owner=ERASED))
    s, c, f = store.sessions.c, store.session_changes.c, store.session_feedback.c
    texts = ((store.sessions, (s.agenda, s.notes, s.cancel_reason)), (store.action_items, (a.description,)),
             (store.session_changes, (c.reason,)), (store.session_feedback, (f.comment, f.reason)))  # fmt: skip
    found |= await erase_by_digest(conn, texts, payload.salt, digests)
    if found:
        await PERSONAL_DATA.scrub(conn, names=(name,), values=found, everywhere=True)


ERASURES = ConsumerSpec(durable="consulting-erasures", subjects=["hub.companies.person.erased"], handler=person_erased)
