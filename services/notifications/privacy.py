"""Personal data in the notifications service: what it holds about a company or a person (recipients, the
snapshots the rules follow, follow-ups, the delivery log), and what it erases when the companies service
says a company or a person was erased (hub.companies.company.erased / person.erased, applied in order with
the other company and person events by the notifications consumer).

Erasing a person: their recipient row stays as a tombstone (the delivery log points at it; the version
keeps an older event from bringing the data back) with names, email and webhook emptied; their pending
deliveries are cancelled and every delivery to them loses its address and its rendered subject; follow-ups
planned for them alone are cancelled; their values leave every follow-up's context. Erasing a company: its
snapshot becomes the tombstone, its pending follow-ups and deliveries are cancelled, and its names leave the
snapshots, contexts, subjects and errors that carried them. The delivery log's rows stay, with their states
and times (how many messages went out, anonymously).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from hub.events.v1 import companies_pb2 as companies_ev
from hub.events.v1 import consulting_pb2 as consulting_ev
from hub.events.v1 import envelope_pb2
from hub.events.v1 import investors_pb2 as investors_ev
from hub.notifications.v1 import notifications_pb2
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import UnitOfWork, now
from hubcore.privacy import (
    PersonalData,
    Record,
    blank_fields,
    distinct_values,
    mentions,
    replace_values,
    scrub_json,
    scrub_message,
)
from services.notifications import domain, store

# The free text of a company's sessions, action items and introductions in the snapshots the rules keep.
COMPANY_TEXT = ("agenda", "notes", "description", "owner", "note", "reason")


def entity_type(name: str) -> Callable[[bytes], Message] | None:
    """The snapshot type an entity row holds, by its name (see handlers.py)."""
    kind = name.split("/", 1)[0]
    if kind == "companies":
        return companies_ev.KpiReported.FromString if "/kpi/" in name else companies_ev.CompanySnapshot.FromString
    if kind == "sessions":
        return consulting_ev.SessionCompleted.FromString if name.endswith("/completion") else (
            consulting_ev.SessionSnapshot.FromString
        )  # fmt: skip
    return {
        "firms": investors_ev.FirmSnapshot.FromString,
        "introductions": investors_ev.IntroductionSnapshot.FromString,
        "actionItems": consulting_ev.ActionItemSnapshot.FromString,
        "kpiRequests": companies_ev.KpiRequestChanged.FromString,
    }.get(kind)


def _decode(name: str, data: bytes) -> Message | None:
    parse = entity_type(name)
    if parse is None:
        return None
    try:
        return parse(data)
    except DecodeError:
        return None


async def _entities_about(
    conn: AsyncConnection, names: tuple[str, ...], *, everywhere: bool = False
) -> list[tuple[str, Message | None]]:
    found: list[tuple[str, Message | None]] = []
    for row in (await conn.execute(sa.select(store.entities.c.name, store.entities.c.data))).all():
        message = _decode(row.name, row.data)
        own = row.name in names or row.name.startswith(tuple(f"{n}/" for n in names))
        if own or (message is not None and (everywhere or mentions(message, names))):
            found.append((row.name, message))
    return found


async def export(conn: AsyncConnection, name: str, match: list[str]) -> list[Record]:
    found: list[Record] = []
    names: tuple[str, ...] = (name,)
    r, f, d = store.recipients.c, store.follow_ups.c, store.deliveries.c
    if name.startswith("people/"):
        recipient = (await conn.execute(sa.select(store.recipients).where(r.source == name))).first()
        if recipient is not None:
            found.append(("recipients", dict(recipient._mapping)))
            names += (f"recipients/{recipient.id}",)
            deliveries = (await conn.execute(sa.select(store.deliveries).where(d.recipient_id == recipient.id))).all()
        else:
            deliveries = []
        follow_ups = (
            await conn.execute(
                sa.select(store.follow_ups).where(
                    sa.or_(f.entity == name, f.occasion == name, f.audience.contains(f'{domain.recipient(name)}"'))
                )
            )
        ).all()
    else:
        follow_ups = (await conn.execute(sa.select(store.follow_ups).where(f.company == name))).all()
        deliveries = (await conn.execute(sa.select(store.deliveries).where(d.company == name))).all()
        for row in (await conn.execute(sa.select(store.recipients).where(r.company == name))).all():
            found.append(("recipients", dict(row._mapping)))
    for entity_name, message in await _entities_about(conn, names):
        row = (await conn.execute(sa.select(store.entities).where(store.entities.c.name == entity_name))).one()
        values: dict[str, Any] = dict(row._mapping)
        if message is not None:
            values["data"] = json_format.MessageToDict(message)
        found.append(("entities", values))
    found += [("follow_ups", dict(row._mapping)) for row in follow_ups]
    found += [("deliveries", dict(row._mapping)) for row in deliveries]
    return found


PERSONAL_DATA = PersonalData(
    export=export, services=[notifications_pb2.DESCRIPTOR.services_by_name["NotificationService"]]
)


async def _scrub_entities(
    conn: AsyncConnection,
    names: tuple[str, ...],
    values: list[str],
    fields: tuple[str, ...] = (),
    everywhere: bool = False,
) -> None:
    for entity_name, message in await _entities_about(conn, names, everywhere=everywhere):
        if message is None:
            continue
        blanked = blank_fields(message, fields)
        if scrub_message(message, values) or blanked:
            await conn.execute(
                store.entities.update()
                .where(store.entities.c.name == entity_name)
                .values(data=message.SerializeToString(), updated_at=now())
            )


async def _scrub_follow_ups(conn: AsyncConnection, where: sa.ColumnElement[bool], values: list[str]) -> None:
    f = store.follow_ups.c
    for row in (await conn.execute(sa.select(f.id, f.context, f.note).where(where))).all():
        context, note = scrub_json(row.context, values), replace_values(row.note, values)
        if (context, note) != (row.context, row.note):
            await conn.execute(store.follow_ups.update().where(f.id == row.id).values(context=context, note=note))


async def _scrub_deliveries(
    conn: AsyncConnection, where: sa.ColumnElement[bool], values: list[str], **also: Any
) -> None:
    d = store.deliveries.c
    for row in (await conn.execute(sa.select(d.id, d.subject, d.last_error, d.address).where(where))).all():
        await conn.execute(
            store.deliveries.update()
            .where(d.id == row.id)
            .values(subject=replace_values(row.subject, values), last_error=replace_values(row.last_error, values),
                    address=also.get("address", replace_values(row.address, values)))
        )  # fmt: skip


async def _cancel(
    conn: AsyncConnection, follow_ups: sa.ColumnElement[bool] | None, deliveries: sa.ColumnElement[bool]
) -> None:
    stamp = now()
    if follow_ups is not None:
        f = store.follow_ups.c
        await conn.execute(
            store.follow_ups.update()
            .where(follow_ups, f.state == domain.PENDING)
            .values(state=domain.CANCELLED, note="erased on request", updated_at=stamp)
        )
    d = store.deliveries.c
    await conn.execute(
        store.deliveries.update()
        .where(deliveries, d.state == domain.PENDING)
        .values(state=domain.CANCELLED, last_error="erased on request", updated_at=stamp)
    )


async def company_erased(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    assert isinstance(payload, companies_ev.CompanyErased)
    name = payload.company.name or envelope.subject_id
    conn = uow.conn
    held = await store.entity(conn, name)
    old = companies_ev.CompanySnapshot.FromString(held[1]) if held else companies_ev.CompanySnapshot()
    values = distinct_values(old.korean_name, old.english_name, old.website)
    await store.remember_entity(conn, name, envelope.version, payload.company.SerializeToString())
    f, d = store.follow_ups.c, store.deliveries.c
    await _cancel(conn, f.company == name, d.company == name)
    if values:
        await _scrub_entities(conn, (name,), values, COMPANY_TEXT)
        await _scrub_follow_ups(conn, f.company == name, values)
        await _scrub_deliveries(conn, d.company == name, values)
        await PERSONAL_DATA.scrub(conn, names=(name,), values=values)


async def person_erased(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    assert isinstance(payload, companies_ev.PersonErased)
    name = payload.person.name or envelope.subject_id
    conn = uow.conn
    current = await store.recipient_by_source(conn, name)
    values = distinct_values(current.korean_name, current.english_name, current.email) if current else []
    await store.upsert_recipient(
        conn, source=name, version=envelope.version, active=False, kind=domain.PERSON,
        korean_name="", english_name="", email="", company="", role="", webhook_url="",
    )  # fmt: skip
    current = await store.recipient_by_source(conn, name)
    if current is None:
        return
    f, d = store.follow_ups.c, store.deliveries.c
    # Planned for them alone (a welcome names them as its occasion; an audience of just them).
    alone = sa.or_(f.occasion == name, f.audience == json.dumps([domain.recipient(name)]))
    await _cancel(conn, alone, d.recipient_id == current.id)
    await _scrub_deliveries(conn, d.recipient_id == current.id, values, address="")
    if values:
        await _scrub_follow_ups(conn, sa.true(), values)
        await _scrub_entities(conn, (name,), values, everywhere=True)
        await PERSONAL_DATA.scrub(conn, names=(name, f"recipients/{current.id}"), values=values, everywhere=True)
