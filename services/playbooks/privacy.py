"""Personal data in the playbooks service: what it holds about a company of the hub (the facts its events left
here, the firings about it and their actions), and what it erases when the companies service says the company
was erased (hub.companies.company.erased, applied by the service's one consumer in order with the company's other
events).

The facts keep a company's Korean name (the notice a playbook sends names the firm); on erasure every value the
company was known by (its names and website, as its facts hold them) becomes ERASED in the facts and in the facts
its firings matched, and leaves the service's stored events and responses. Resource names, figures, dates and
states stay: they are the hub's outcome figures, and name no person. The service holds nothing about the hub's
people (mentors and partners appear as resource names only).
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from google.protobuf.message import Message
from hub.events.v1 import companies_pb2 as ev
from hub.events.v1 import envelope_pb2
from hub.playbooks.v1 import playbooks_pb2
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import UnitOfWork
from hubcore.privacy import (
    PersonalData,
    Record,
    distinct_values,
    rows,
    rows_with_children,
    scrub_json,
)
from services.playbooks import domain
from services.playbooks.tables import facts, firing_actions, firings


async def export(conn: AsyncConnection, name: str, match: list[str]) -> list[Record]:
    if not name.startswith("companies/"):
        return []
    found = await rows(conn, facts, facts.c.company == name)
    return found + await rows_with_children(conn, firings, firings.c.company == name, firing_actions.c.firing_id)


PERSONAL_DATA = PersonalData(export=export, services=[playbooks_pb2.DESCRIPTOR.services_by_name["PlaybookService"]])


async def company_erased(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> list[str]:
    """Erases the company's names from its facts and its firings' matched facts; returns the values erased."""
    assert isinstance(payload, ev.CompanyErased)
    name = payload.company.name or envelope.subject_id
    conn = uow.conn
    f, g = facts.c, firings.c
    known = (await conn.execute(sa.select(f.data).where(f.company == name, f.kind == domain.COMPANY_FACT))).scalars()
    values = distinct_values(*(json.loads(data).get("korean_name", "") for data in known))
    if not values:
        return []
    for table, column, where in ((facts, f.data, f.company == name), (firings, g.facts, g.company == name)):
        for row in (await conn.execute(sa.select(table.c.id, column).where(where))).all():
            scrubbed = scrub_json(row[1], values)
            if scrubbed != row[1]:
                await conn.execute(table.update().where(table.c.id == row[0]).values({column.name: scrubbed}))
    await PERSONAL_DATA.scrub(conn, names=(name,), values=values)
    return values
