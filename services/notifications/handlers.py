"""What the notifications service does with events: keeps its recipients and the entities the rules follow,
asks the rules what to plan or cancel, and stores the answer as follow-ups (in the same transaction as
the processed-events record, so a redelivered event plans nothing twice)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, date, datetime

import structlog
from google.protobuf.message import Message
from hub.events.v1 import companies_pb2 as companies_ev
from hub.events.v1 import consulting_pb2 as consulting_ev
from hub.events.v1 import envelope_pb2
from hub.events.v1 import investors_pb2 as investors_ev
from hub.events.v1 import ops_pb2 as ops_ev
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import Database, UnitOfWork, now
from hubcore.events import ConsumerSpec
from services.notifications import domain, kpi_rules, privacy, rules, store
from services.notifications.config import Config

log = structlog.get_logger()
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


async def company_names(conn: AsyncConnection, name: str) -> dict[str, str]:
    """A company's names for the templates (the resource name when it is not known yet)."""
    company = await company_snapshot(conn, name)
    return {
        "company_ko": company.korean_name if company else name,
        "company_en": company.english_name if company else "",
    }


async def firm_names(conn: AsyncConnection, name: str) -> tuple[str, str]:
    held = await store.entity(conn, name) if name else None
    firm = investors_ev.FirmSnapshot.FromString(held[1]) if held else None
    return (firm.korean_name, firm.english_name) if firm else (name, "")


async def remember_recipient(
    uow: UnitOfWork,
    envelope: envelope_pb2.Envelope,
    snapshot: companies_ev.PersonSnapshot | investors_ev.PartnerSnapshot | consulting_ev.MentorSnapshot,
    kind: str,
    **fields: str,
) -> bool:
    """A person, partner or mentor of another service as an active recipient: its names and email as of the
    event, with the fields particular to its kind (company, role, ...). True if this version changed the row."""
    return await store.upsert_recipient(
        uow.conn, source=snapshot.name, version=envelope.version, active=True, kind=kind,
        korean_name=snapshot.korean_name, english_name=snapshot.english_name, email=snapshot.email, **fields,
    )  # fmt: skip


def occurred(envelope: envelope_pb2.Envelope, clock: Clock) -> datetime:
    """When the event happened. Notes about it are due then and expire a few days later, so that a new
    deployment reading the stream from its start (90 days) sends nothing stale."""
    return as_utc(envelope.occurred_at.ToDatetime()) if envelope.HasField("occurred_at") else clock()


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
            "hub.companies.company.erased": privacy.company_erased,
            "hub.companies.person.erased": privacy.person_erased,
            "hub.companies.kpi.reported": self.kpi_reported,
            "hub.companies.kpi_request.opened": self.kpi_request,
            "hub.companies.kpi_request.answered": self.kpi_request,
            "hub.investors.firm.registered": self.firm,
            "hub.investors.firm.updated": self.firm,
            "hub.investors.partner.registered": self.partner,
            "hub.investors.partner.updated": self.partner,
            "hub.investors.round.closed": self.round_closed,
            "hub.ops.sign_in.code_issued": self.sign_in_code,
        }
        for state in ("requested", "company_consented", "company_declined", "partner_accepted", "partner_declined",
                      "cancelled"):  # fmt: skip
            self.routes[f"hub.investors.introduction.{state}"] = self.introduction
        for event in ("scheduled", "rescheduled", "cancelled", "no_show", "completed"):
            self.routes[f"hub.consulting.session.{event}"] = self.session
        self.routes |= {
            "hub.consulting.mentor.registered": self.mentor,
            "hub.consulting.mentor.updated": self.mentor,
            "hub.consulting.action_item.created": self.action_item_created,
            "hub.consulting.action_item.completed": self.action_item_completed,
            "hub.consulting.action_item.overdue": self.action_item_overdue,
            "hub.consulting.session.notes_recorded": self.session_notes,
            "hub.consulting.session.feedback_recorded": self.session_feedback,
            "hub.playbooks.notice.requested": self.playbook_notice,
            "hub.consulting.gpu_waitlist.offered": self.gpu_slot_offered,
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
        await apply(
            uow.conn,
            rules.company_status_changed(payload, contacts=contacts, now=occurred(envelope, self.clock), cfg=self.cfg),
        )

    async def person(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        person: companies_ev.PersonSnapshot = payload.person  # type: ignore[attr-defined]
        changed = await remember_recipient(
            uow, envelope, person, domain.PERSON, company=person.company, role=person.role
        )
        joined = isinstance(payload, companies_ev.PersonRegistered) or "company" in getattr(
            payload, "changed_fields", []
        )
        if changed and joined and person.company:
            company = await company_snapshot(uow.conn, person.company)
            await apply(
                uow.conn, rules.person_joined(person, company, now=occurred(envelope, self.clock), cfg=self.cfg)
            )

    async def person_deleted(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        person: companies_ev.PersonSnapshot = payload.person  # type: ignore[attr-defined]
        # Personal data leaves with the person: the row stays (the delivery log points at it), emptied.
        await store.upsert_recipient(
            uow.conn, source=person.name, version=envelope.version, active=False, kind=domain.PERSON,
            korean_name="", english_name="", email="", company="", role="", webhook_url="",
        )  # fmt: skip

    async def kpi_reported(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        """A report (or its correction) for a month or a quarter cancels the reminders of the months it covers."""
        assert isinstance(payload, companies_ev.KpiReported)
        await store.remember_entity(
            uow.conn, f"{payload.company}/kpi/{payload.period}", payload.version, payload.SerializeToString()
        )
        months = kpi_rules.months_covered(payload.period)
        await store.cancel_occasions(
            uow.conn,
            entity=payload.company,
            rule=rules.KPI_REMINDER,
            occasions=months,
            note=f"reported ({payload.period})",
        )

    async def kpi_request(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        """A KPI request opened (reminders before and after its due date) or answered (they are cancelled). The
        newest state wins: an opening that arrives after the answer plans nothing."""
        assert isinstance(payload, companies_ev.KpiRequestChanged)
        if not await store.remember_entity(uow.conn, payload.request, envelope.version, payload.SerializeToString()):
            return
        names = await company_names(uow.conn, payload.company)
        await apply(uow.conn, kpi_rules.kpi_request_changed(payload, names, now=self.clock(), cfg=self.cfg))

    async def clock_rules(self, db: Database) -> int:
        """The rules driven by the clock rather than an event: KPI reminders. Returns what it planned."""
        async with db.write(actor="service:notifications") as uow:
            residents, reported = [], set()
            for name, data in await store.entities_like(uow.conn, "companies/%"):
                if "/kpi/" in name:
                    report = companies_ev.KpiReported.FromString(data)
                    reported.add((report.company, report.period))
                    continue
                company = companies_ev.CompanySnapshot.FromString(data)
                if company.status == "RESIDENT" and not company.HasField("delete_time"):
                    residents.append(kpi_rules.CompanyView(company.name, company.korean_name, company.english_name))
            requested = set()
            for _, data in await store.entities_like(uow.conn, "kpiRequests/%"):
                request = companies_ev.KpiRequestChanged.FromString(data)
                requested.add((request.company, request.period))
            today = self.clock().astimezone(domain.SEOUL).date()
            plans = kpi_rules.kpi_reminders(today, residents, reported, cfg=self.cfg, requested=requested)
            done = [await store.apply_plan(uow.conn, p, revive=False) for p in plans if isinstance(p, domain.Plan)]
        return done.count("planned")

    def clock_loop(self, db: Database) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            while True:
                try:
                    await self.clock_rules(db)
                except IntegrityError:  # another replica planned the same reminder at the same moment
                    log.info("clock rules raced another replica; they run again shortly")
                await asyncio.sleep(self.cfg.clock_rules_seconds)

        return run

    # access

    async def sign_in_code(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        """A sign-in code, mailed at once to the identity's address (a recipient of its own; the event's version
        is the code's number, so the newest code's address and language win)."""
        assert isinstance(payload, ops_ev.SignInCodeIssued)
        await store.upsert_recipient(
            uow.conn, source=payload.identity, version=envelope.version, active=True, kind=domain.IDENTITY,
            korean_name=payload.display_name, email=payload.email, language=payload.language,
        )  # fmt: skip
        now = self.clock()
        await apply(uow.conn, [rules.sign_in_code(payload, code_id=envelope.version, now=now)])

    # investors

    async def firm(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        firm: investors_ev.FirmSnapshot = payload.firm  # type: ignore[attr-defined]
        await store.remember_entity(uow.conn, firm.name, envelope.version, firm.SerializeToString())

    async def partner(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        """A firm's partner: a recipient whose organisation (the company column) is their firm."""
        partner: investors_ev.PartnerSnapshot = payload.partner  # type: ignore[attr-defined]
        await remember_recipient(uow, envelope, partner, domain.PARTNER, company=partner.firm, role="PARTNER")

    async def mentor(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        """A mentor: a recipient of session reminders and recaps. The time zone set in consulting applies when
        the mentor is registered and whenever it changes there; one set here as a preference stays otherwise."""
        mentor: consulting_ev.MentorSnapshot = payload.mentor  # type: ignore[attr-defined]
        moved = isinstance(payload, consulting_ev.MentorRegistered) or "time_zone" in payload.changed_fields  # type: ignore[attr-defined]
        zone = {"time_zone": mentor.time_zone} if moved else {}
        await remember_recipient(uow, envelope, mentor, domain.MENTOR, company="", role=mentor.kind, **zone)

    async def introduction(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        snapshot: investors_ev.IntroductionSnapshot = payload.introduction  # type: ignore[attr-defined]
        # The newest state decides what is waiting: a late, older event plans nothing.
        if not await store.remember_entity(uow.conn, snapshot.name, envelope.version, snapshot.SerializeToString()):
            return
        firm_ko, firm_en = await firm_names(uow.conn, snapshot.firm)
        partner = await store.recipient_by_source(uow.conn, snapshot.partner) if snapshot.partner else None
        view = rules.IntroductionView(
            name=snapshot.name, company=snapshot.company, firm=snapshot.firm, partner=snapshot.partner,
            state=snapshot.state, note=getattr(payload, "note", ""), firm_ko=firm_ko, firm_en=firm_en,
            partner_ko=partner.korean_name if partner else "", partner_en=partner.english_name if partner else "",
            **await company_names(uow.conn, snapshot.company),
        )  # fmt: skip
        at = occurred(envelope, self.clock)
        actions = rules.introduction_changed(view, at=at, now=at, cfg=self.cfg)
        await apply(uow.conn, actions)

    async def gpu_slot_offered(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        """A freed GPU slot offered to the first company waiting for it: its people are told at once."""
        assert isinstance(payload, consulting_ev.GpuSlotOffered)
        names = await company_names(uow.conn, payload.company)
        await apply(
            uow.conn, [rules.gpu_slot_offered(payload, names, now=occurred(envelope, self.clock), cfg=self.cfg)]
        )

    async def round_closed(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        assert isinstance(payload, investors_ev.RoundClosed)
        round_ = payload.round
        lead_ko, lead_en = await firm_names(uow.conn, round_.lead_firm) if round_.lead_firm else ("", "")
        closed = round_.close_date
        view = rules.RoundView(
            name=round_.name, company=round_.company, round_type=round_.round_type, amount=round_.amount.units,
            lead_firm=round_.lead_firm, lead_firm_ko=lead_ko, lead_firm_en=lead_en,
            close_date=date(closed.year, closed.month, closed.day) if closed.year else None,
            participants=[p.firm for p in round_.participants], **await company_names(uow.conn, round_.company),
        )  # fmt: skip
        await apply(uow.conn, rules.round_closed(view, now=occurred(envelope, self.clock), cfg=self.cfg))

    # consulting

    async def session_view(self, conn: AsyncConnection, snapshot: consulting_ev.SessionSnapshot) -> rules.SessionView:
        return rules.SessionView(
            name=snapshot.name, company=snapshot.company, mentor=snapshot.mentor, state=snapshot.state,
            start=snapshot.start_time.ToDatetime(tzinfo=UTC), end=snapshot.end_time.ToDatetime(tzinfo=UTC),
            mentor_name=snapshot.mentor_name, session_type=snapshot.session_type_name, room=snapshot.room,
            agenda=snapshot.agenda, **await company_names(conn, snapshot.company),
        )  # fmt: skip

    async def session(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        """Reminders follow the session's newest snapshot; a completion also plans the recap."""
        snapshot: consulting_ev.SessionSnapshot = payload.session  # type: ignore[attr-defined]
        if not await store.remember_entity(uow.conn, snapshot.name, envelope.version, snapshot.SerializeToString()):
            return  # a newer snapshot was applied already
        view = await self.session_view(uow.conn, snapshot)
        await apply(uow.conn, rules.session_changed(view, now=self.clock()))
        if envelope.type.endswith(".completed"):
            await store.remember_entity(uow.conn, f"{snapshot.name}/completion", 1, payload.SerializeToString())
            await self.plan_recap(uow.conn, snapshot.name, occurred(envelope, self.clock))
            if isinstance(payload, consulting_ev.SessionCompleted) and payload.HasField("notes_due_time"):
                due = payload.notes_due_time.ToDatetime(tzinfo=UTC)
                await apply(uow.conn, [rules.session_notes_nudge(view, due, cfg=self.cfg)])

    async def session_notes(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        """The mentor wrote the notes after the completion: no nudge."""
        assert isinstance(payload, consulting_ev.SessionNotesRecorded)
        await store.remember_entity(
            uow.conn, payload.session.name, envelope.version, payload.session.SerializeToString()
        )
        await apply(uow.conn, [rules.notes_recorded(await self.session_view(uow.conn, payload.session))])

    async def session_feedback(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        """A low rating or "not a fit" goes to the program managers."""
        assert isinstance(payload, consulting_ev.SessionFeedbackRecorded)
        await store.remember_entity(
            uow.conn, payload.session.name, envelope.version, payload.session.SerializeToString()
        )
        view = await self.session_view(uow.conn, payload.session)
        extra = {"comment": payload.comment, "actor": payload.actor, "reason": payload.reason}
        at = occurred(envelope, self.clock)
        actions = rules.session_feedback(view, payload.rating, payload.fit, extra, now=at, cfg=self.cfg)
        await apply(uow.conn, actions)

    async def plan_recap(self, conn: AsyncConnection, session: str, completed_at: datetime) -> None:
        """The recap, with the action items known so far (planning it again while pending updates it)."""
        held = await store.entity(conn, f"{session}/completion")
        if held is None:
            return
        completion = consulting_ev.SessionCompleted.FromString(held[1])
        items = []
        for name in completion.action_items:
            known = await store.entity(conn, name)
            if known:
                items.append(await self.action_item_view(conn, consulting_ev.ActionItemSnapshot.FromString(known[1])))
        view = await self.session_view(conn, completion.session)
        await apply(conn, [rules.session_recap(view, completion.notes, items, completed_at=completed_at, cfg=self.cfg)])

    async def action_item_view(
        self, conn: AsyncConnection, snapshot: consulting_ev.ActionItemSnapshot
    ) -> rules.ActionItemView:
        due = snapshot.due_date
        owner = await store.recipient_by_source(conn, snapshot.owner) if snapshot.owner.startswith("people/") else None
        return rules.ActionItemView(
            name=snapshot.name, session=snapshot.session, company=snapshot.company, description=snapshot.description,
            owner=snapshot.owner, due_date=date(due.year, due.month, due.day) if due.year else None,
            state=snapshot.state, owner_name=(owner.korean_name or owner.english_name) if owner else "",
            **await company_names(conn, snapshot.company),
        )  # fmt: skip

    async def _action_item(
        self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message
    ) -> rules.ActionItemView | None:
        snapshot: consulting_ev.ActionItemSnapshot = payload.action_item  # type: ignore[attr-defined]
        if not await store.remember_entity(uow.conn, snapshot.name, envelope.version, snapshot.SerializeToString()):
            return None
        return await self.action_item_view(uow.conn, snapshot)

    async def action_item_created(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        item = await self._action_item(uow, envelope, payload)
        if item is not None:
            await apply(uow.conn, rules.action_item_created(item, now=self.clock()))
            completion = await store.entity(uow.conn, f"{item.session}/completion")
            if completion is not None:  # the recap still waiting for it takes it in
                await self.plan_recap(uow.conn, item.session, occurred(envelope, self.clock))

    async def action_item_completed(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        item = await self._action_item(uow, envelope, payload)
        if item is not None:
            await apply(uow.conn, rules.action_item_done(item))

    async def action_item_overdue(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        item = await self._action_item(uow, envelope, payload)
        if item is not None and item.state == "OPEN":
            await apply(uow.conn, rules.action_item_overdue(item, now=occurred(envelope, self.clock), cfg=self.cfg))

    # playbooks

    async def playbook_notice(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        """A playbook's action asks for someone to be told: planned once per firing and action."""
        names = await company_names(uow.conn, payload.company) if payload.company else {}  # type: ignore[attr-defined]
        at = occurred(envelope, self.clock)
        await apply(uow.conn, rules.playbook_notice(payload, names, now=at, cfg=self.cfg))
