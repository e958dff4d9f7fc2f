"""Personal data in the investors service: what it holds about a company of the hub (its directory entry,
introductions with their notes and history, funding rounds, the company's sharing grants and access log, its
KPI updates),
and what it erases when the companies service says the company was erased (hub.companies.company.erased,
applied by the directory consumer in order with the company's other events).

Erasing: the directory entry becomes the tombstone the event carries (placeholder name, no website or tags;
sector, stage and status stay for matching figures), introductions keep their states and dates but lose
their notes and the reasons in their history, sharing grants lose their reasons (the access log names firms'
partners, not the hub's people, and stays), webhook deliveries about the company are deleted (their bodies
carry the introductions' notes and reasons; one not yet delivered is not sent), and the company's names leave
this service's stored events and responses. Rounds stay: amounts, dates and firms are the hub's funding
figures, and name no person; so do KPI updates (figures only).
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
    erase_by_digest,
    rows,
    rows_with_children,
    subject_id,
)
from services.investors import store

TEXT = ("note", "reason")  # an introduction's note and the reasons of its transitions


async def export(conn: AsyncConnection, name: str, match: list[str]) -> list[Record]:
    if not name.startswith("companies/"):
        return []
    number = subject_id(name)
    found = await rows(conn, store.directory, store.directory.c.id == number)
    i, r = store.introductions.c, store.rounds.c
    found += await rows_with_children(
        conn, store.introductions, i.company_id == number, store.introduction_history.c.introduction_id
    )
    found += await rows_with_children(conn, store.rounds, r.company_id == number, store.round_participants.c.round_id)
    found += await rows(conn, store.sharing_grants, store.sharing_grants.c.company_id == number)
    found += await rows(conn, store.company_reads, store.company_reads.c.company_id == number)
    found += await rows(conn, store.company_updates, store.company_updates.c.company_id == number)
    found += await rows(conn, store.webhook_deliveries, about_company(number))
    return found


def about_company(number: int) -> sa.ColumnElement[bool]:
    """The webhook deliveries whose body names the company (its events carry "companies/<id>" as a value)."""
    return store.webhook_deliveries.c.body.like(f'%"companies/{number}"%')


PERSONAL_DATA = PersonalData(
    export=export,
    services=[
        investors_pb2.DESCRIPTOR.services_by_name["InvestorService"],
        partner_pb2.DESCRIPTOR.services_by_name["PartnerService"],
    ],
)


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
    grants = store.sharing_grants
    await conn.execute(grants.update().where(grants.c.company_id == number).values(reason=""))
    await conn.execute(store.webhook_deliveries.delete().where(about_company(number)))
    if ids:
        await conn.execute(store.introductions.update().where(i.id.in_(ids)).values(note=""))
        await conn.execute(store.introduction_history.update().where(h.introduction_id.in_(ids)).values(reason=""))
    await PERSONAL_DATA.scrub(conn, names=(f"companies/{number}",), values=values, fields=TEXT)
    return values


async def person_erased(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """The hub's people appear here only in free text (an introduction's note, a transition's reason): the
    parts of it that hash to the event's digests are replaced, here and in the stored events."""
    assert isinstance(payload, ev.PersonErased)
    digests = set(payload.contact_digests)
    i, h, g = store.introductions.c, store.introduction_history.c, store.sharing_grants.c
    texts = (
        (store.introductions, (i.note,)),
        (store.introduction_history, (h.reason,)),
        (store.sharing_grants, (g.reason,)),
        (store.webhook_deliveries, (store.webhook_deliveries.c.body,)),  # the note and reasons, as JSON text
    )
    found = await erase_by_digest(uow.conn, texts, payload.salt, digests)
    if found:
        name = payload.person.name or envelope.subject_id
        await PERSONAL_DATA.scrub(uow.conn, names=(name,), values=found, everywhere=True)


ERASURES = ConsumerSpec(durable="investors-erasures", subjects=["hub.companies.person.erased"], handler=person_erased)
