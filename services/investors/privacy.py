"""Personal data in the investors service: what it holds about a company of the hub (its directory entry,
introductions with their notes and history, funding rounds), and what it erases when the companies service
says the company was erased (hub.companies.company.erased, applied by the directory consumer in order with
the company's other events).

Erasing: the directory entry becomes the tombstone the event carries (placeholder name, no website or tags;
sector, stage and status stay for matching figures), introductions keep their states and dates but lose
their notes and the reasons in their history, and the company's names leave this service's stored events
and responses. Rounds stay: amounts, dates and firms are the hub's funding figures, and name no person.
The investors service holds nothing about the hub's people (partners are its own, not people/{id}).
"""

from __future__ import annotations

import sqlalchemy as sa
from google.protobuf.message import Message
from hub.events.v1 import companies_pb2 as ev
from hub.events.v1 import envelope_pb2
from hub.investors.v1 import investors_pb2, partner_pb2
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import UnitOfWork
from hubcore.events import ConsumerSpec
from hubcore.privacy import (
    PersonalData,
    Record,
    distinct_values,
    find_by_digest,
    replace_values,
    response_types,
    rows,
    scrub_runtime_tables,
    subject_id,
)
from services.investors import store

SERVICES = [
    investors_pb2.DESCRIPTOR.services_by_name["InvestorService"],
    partner_pb2.DESCRIPTOR.services_by_name["PartnerService"],
]
RESPONSES = response_types(*SERVICES)
TEXT = ("note", "reason")  # an introduction's note and the reasons of its transitions


async def export(conn: AsyncConnection, name: str, match: list[str]) -> list[Record]:
    if not name.startswith("companies/"):
        return []
    number = subject_id(name)
    found = await rows(conn, store.directory, store.directory.c.id == number)
    introductions = await rows(conn, store.introductions, store.introductions.c.company_id == number)
    found += introductions
    ids = [row["id"] for _, row in introductions]
    if ids:
        found += await rows(conn, store.introduction_history, store.introduction_history.c.introduction_id.in_(ids))
    funding = await rows(conn, store.rounds, store.rounds.c.company_id == number)
    found += funding
    round_ids = [row["id"] for _, row in funding]
    if round_ids:
        found += await rows(conn, store.round_participants, store.round_participants.c.round_id.in_(round_ids))
    return found


PERSONAL_DATA = PersonalData(export=export, services=SERVICES)


async def company_erased(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> list[str]:
    """Erases what the service derived from the company; called before the directory takes the tombstone.
    Returns the values erased."""
    assert isinstance(payload, ev.CompanyErased)
    number = subject_id(payload.company.name or envelope.subject_id)
    conn = uow.conn
    held = (await conn.execute(sa.select(store.directory).where(store.directory.c.id == number))).first()
    values = distinct_values(held.korean_name, held.english_name, held.website) if held else []
    i, h = store.introductions.c, store.introduction_history.c
    ids = list((await conn.execute(sa.select(i.id).where(i.company_id == number))).scalars())
    if ids:
        await conn.execute(store.introductions.update().where(i.id.in_(ids)).values(note=""))
        await conn.execute(store.introduction_history.update().where(h.introduction_id.in_(ids)).values(reason=""))
    await scrub_runtime_tables(conn, names=(f"companies/{number}",), values=values, responses=RESPONSES, fields=TEXT)
    return values


async def person_erased(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """The hub's people appear here only in free text (an introduction's note, a transition's reason): the
    parts of it that hash to the event's digests are replaced, here and in the stored events."""
    assert isinstance(payload, ev.PersonErased)
    digests = set(payload.contact_digests)
    conn = uow.conn
    found: set[str] = set()
    i, h = store.introductions.c, store.introduction_history.c
    for table, key, column in ((store.introductions, i.id, i.note), (store.introduction_history, h.id, h.reason)):
        for row_id, text in (await conn.execute(sa.select(key, column))).all():
            values = find_by_digest(text, payload.salt, digests)
            if values:
                found.update(values)
                await conn.execute(
                    table.update()
                    .where(key == row_id)
                    .values({column.name: replace_values(text, distinct_values(*values))})
                )
    if found:
        name = payload.person.name or envelope.subject_id
        await scrub_runtime_tables(conn, names=(name,), values=found, responses=RESPONSES, everywhere=True)


ERASURES = ConsumerSpec(durable="investors-erasures", subjects=["hub.companies.person.erased"], handler=person_erased)
