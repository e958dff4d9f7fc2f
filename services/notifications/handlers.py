"""What the notifications service does with events: keeps its recipients and the entities the rules follow,
asks the rules what to plan or cancel, and stores the answer as follow-ups (in the same transaction as
the processed-events record, so a redelivered event plans nothing twice)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime

from google.protobuf.message import Message
from hub.events.v1 import companies_pb2 as companies_ev
from hub.events.v1 import envelope_pb2
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import UnitOfWork, now
from hubcore.events import ConsumerSpec
from services.notifications import domain, rules, store
from services.notifications.config import Config

Clock = Callable[[], datetime]
Handler = Callable[[UnitOfWork, envelope_pb2.Envelope, Message], Awaitable[None]]


async def apply(conn: AsyncConnection, actions: Iterable[domain.Action]) -> None:
    for action in actions:
        if isinstance(action, domain.Plan):
            await store.apply_plan(conn, action)
        else:
            await store.cancel_pending(
                conn, entity=action.entity, rules=action.rules, reason=action.reason, keep=action.keep_occasions
            )


async def company_snapshot(conn: AsyncConnection, name: str) -> companies_ev.CompanySnapshot | None:
    held = await store.entity(conn, name)
    return companies_ev.CompanySnapshot.FromString(held[1]) if held else None


class Handlers:
    def __init__(self, cfg: Config, clock: Clock = now) -> None:
        self.cfg = cfg
        self.clock = clock
        self.routes: dict[str, Handler] = {
            "hub.companies.company.registered": self.company,
            "hub.companies.company.updated": self.company,
            "hub.companies.company.archived": self.company,
            "hub.companies.company.status_changed": self.company_status_changed,
            "hub.companies.person.registered": self.person,
            "hub.companies.person.updated": self.person,
            "hub.companies.person.deleted": self.person_deleted,
        }

    async def handle(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        route = self.routes.get(envelope.type)
        if route is not None:  # events we have no rule for are acknowledged and ignored
            await route(uow, envelope, payload)

    def consumers(self) -> list[ConsumerSpec]:
        subjects = sorted({".".join(subject.split(".")[:3]) + ".>" for subject in self.routes})
        return [ConsumerSpec(durable="notifications", subjects=subjects, handler=self.handle)]

    # companies

    async def company(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        snapshot: companies_ev.CompanySnapshot = payload.company  # type: ignore[attr-defined]
        await store.remember_entity(uow.conn, snapshot.name, envelope.version, snapshot.SerializeToString())

    async def company_status_changed(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        assert isinstance(payload, companies_ev.CompanyStatusChanged)
        await self.company(uow, envelope, payload)
        # A status change is a fact even if a newer snapshot arrived first: its rules always run (their
        # keys make them idempotent).
        contacts = await store.contacts_of(uow.conn, payload.company.name)
        await apply(uow.conn, rules.company_status_changed(payload, contacts=contacts, now=self.clock(), cfg=self.cfg))

    async def person(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        person: companies_ev.PersonSnapshot = payload.person  # type: ignore[attr-defined]
        changed = await store.upsert_recipient(
            uow.conn,
            source=person.name,
            version=envelope.version,
            active=True,
            kind=domain.PERSON,
            korean_name=person.korean_name,
            english_name=person.english_name,
            email=person.email,
            company=person.company,
            role=person.role,
        )
        joined = isinstance(payload, companies_ev.PersonRegistered) or "company" in getattr(
            payload, "changed_fields", []
        )
        if changed and joined and person.company:
            company = await company_snapshot(uow.conn, person.company)
            await apply(uow.conn, rules.person_joined(person, company, now=self.clock(), cfg=self.cfg))

    async def person_deleted(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        person: companies_ev.PersonSnapshot = payload.person  # type: ignore[attr-defined]
        # Personal data leaves with the person: the row stays (the delivery log points at it), emptied.
        await store.upsert_recipient(
            uow.conn, source=person.name, version=envelope.version, active=False, kind=domain.PERSON,
            korean_name="", english_name="", email="", company="", role="", webhook_url="",
        )  # fmt: skip
