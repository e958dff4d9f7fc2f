"""The events the playbooks service hears, each turned into a fact (kept as history) and evaluated against the
rules switched on, through one durable JetStream consumer whose inbox applies each event once; and the clock's
loop for the rules that begin to hold as time passes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import structlog
from google.protobuf.message import Message
from hub.events.v1 import companies_pb2 as companies_ev
from hub.events.v1 import consulting_pb2 as consulting_ev
from hub.events.v1 import envelope_pb2
from hub.events.v1 import investors_pb2 as investors_ev

from hubcore.convert import as_utc, instant
from hubcore.db import Database, UnitOfWork, now
from hubcore.events import ConsumerSpec
from services.playbooks import domain, privacy, usecases
from services.playbooks.domain import Fact

log = structlog.get_logger()
Clock = Callable[[], datetime]
Handler = Callable[[envelope_pb2.Envelope, Any], Fact | None]
FIGURES = list(domain.METRICS)


def occurred(envelope: envelope_pb2.Envelope, clock: Clock) -> datetime:
    return as_utc(envelope.occurred_at.ToDatetime()) if envelope.HasField("occurred_at") else clock()


def kpi_report(envelope: envelope_pb2.Envelope, event: companies_ev.KpiReported) -> Fact:
    """The report's figures as the latest version holds them; an optional figure left unset is unknown."""
    values: dict[str, Any] = {"report": event.report, "period": event.period, "version": event.version}
    for figure in FIGURES:
        optional = event.DESCRIPTOR.fields_by_name[figure].has_presence
        if not optional or event.HasField(figure):  # type: ignore[arg-type]
            values[figure] = getattr(event, figure)
    return Fact(domain.KPI_REPORT, event.report, event.company, datetime.min, values, envelope.id)


def company(envelope: envelope_pb2.Envelope, event: Any) -> Fact:
    snapshot: companies_ev.CompanySnapshot = event.company
    became = isinstance(event, companies_ev.CompanyStatusChanged) and event.to_status != event.from_status
    status = "ARCHIVED" if snapshot.HasField("delete_time") else snapshot.status
    values = {"status": status, "became": became, "korean_name": snapshot.korean_name}
    return Fact(domain.COMPANY_FACT, snapshot.name, snapshot.name, datetime.min, values, envelope.id)


def session(envelope: envelope_pb2.Envelope, event: Any) -> Fact:
    snapshot: consulting_ev.SessionSnapshot = event.session
    values = {"state": snapshot.state, "mentor": snapshot.mentor, "session_type": snapshot.session_type,
              "start": instant(snapshot.start_time).isoformat()}  # fmt: skip
    return Fact(domain.SESSION, snapshot.name, snapshot.company, datetime.min, values, envelope.id)


def feedback(envelope: envelope_pb2.Envelope, event: consulting_ev.SessionFeedbackRecorded) -> Fact:
    snapshot = event.session
    values = {"rating": event.rating, "fit": event.fit, "mentor": snapshot.mentor}
    return Fact(domain.FEEDBACK, snapshot.name, snapshot.company, datetime.min, values, envelope.id)


def introduction(envelope: envelope_pb2.Envelope, event: Any) -> Fact:
    snapshot: investors_ev.IntroductionSnapshot = event.introduction
    values = {"state": snapshot.state, "firm": snapshot.firm, "partner": snapshot.partner}
    return Fact(domain.INTRODUCTION, snapshot.name, snapshot.company, datetime.min, values, envelope.id)


def kpi_request(envelope: envelope_pb2.Envelope, event: companies_ev.KpiRequestChanged) -> Fact:
    due = event.due_date
    values = {"state": event.state, "period": event.period,
              "due_date": f"{due.year:04d}-{due.month:02d}-{due.day:02d}" if due.year else ""}  # fmt: skip
    return Fact(domain.KPI_REQUEST, event.request, event.company, datetime.min, values, envelope.id)


ROUTES: dict[str, Handler] = {
    "hub.companies.kpi.reported": kpi_report,
    "hub.companies.company.registered": company,
    "hub.companies.company.updated": company,
    "hub.companies.company.status_changed": company,
    "hub.companies.company.archived": company,
    "hub.companies.kpi_request.opened": kpi_request,
    "hub.companies.kpi_request.answered": kpi_request,
    "hub.consulting.session.feedback_recorded": feedback,
}
for _event in ("scheduled", "rescheduled", "cancelled", "no_show", "completed"):
    ROUTES[f"hub.consulting.session.{_event}"] = session
ROUTES["hub.investors.introduction.requested"] = introduction
ERASED = "hub.companies.company.erased"  # privacy.company_erased, in order with the company's other events
INTRODUCTIONS = "hub.investors.introduction."  # .requested and one subject per state it moves to


class Handlers:
    def __init__(self, clock: Clock = now) -> None:
        self.clock = clock

    async def handle(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        if envelope.type == ERASED:
            await privacy.company_erased(uow, envelope, payload)
            return
        route = ROUTES.get(envelope.type) or (introduction if envelope.type.startswith(INTRODUCTIONS) else None)
        if route is None:  # events no trigger reads are acknowledged and ignored
            return
        fact = route(envelope, payload)
        if fact is None:
            return
        at = occurred(envelope, self.clock)
        fact = Fact(fact.kind, fact.subject, fact.company, at, fact.values, fact.event_id)
        await usecases.record_fact(uow, fact, max(at, self.clock()))

    def consumers(self) -> list[ConsumerSpec]:
        subjects = sorted({".".join(subject.split(".")[:3]) + ".>" for subject in ROUTES})
        return [ConsumerSpec(durable="playbooks", subjects=subjects, handler=self.handle)]

    async def tick(self, db: Database) -> int:
        """The clock's rules, once: returns how many firings it made."""
        async with db.write(actor="service:playbooks") as uow:
            return await usecases.tick(uow, self.clock())

    def clock_loop(self, db: Database, seconds: float) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            import asyncio

            while True:
                made = await self.tick(db)
                if made:
                    log.info("clock rules fired", firings=made)
                await asyncio.sleep(seconds)

        return run
