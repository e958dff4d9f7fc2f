"""What the companies service does with events: it keeps its dashboard projection from its own events, counts
the rounds the investors service closed in each company's funding, and the technical consultations the
consulting service completed in each company's support ledger."""

from __future__ import annotations

from google.protobuf.message import Message
from hub.events.v1 import companies_pb2 as ev
from hub.events.v1 import consulting_pb2 as consulting_events
from hub.events.v1 import envelope_pb2
from hub.events.v1 import investors_pb2 as investor_events

from hubcore.convert import calendar_date
from hubcore.db import UnitOfWork
from hubcore.events import ConsumerSpec
from hubcore.requests import parse_name
from services.companies.access import usecases as access
from services.companies.program.domain import SupportGrant
from services.companies.program.domain.support import GPU_HOURS, TECHNICAL_CATEGORIES
from services.companies.program.store import support as support_store
from services.companies.registry import store as registry_store

CONSULTATION = "TECHNICAL_CONSULTATION"


async def project_company(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """Every company event carries a snapshot; the newest version wins."""
    snapshot: ev.CompanySnapshot = payload.company  # type: ignore[attr-defined]
    await registry_store.upsert_stats_row(
        uow.conn,
        company=snapshot.name,
        status=snapshot.status,
        sector=snapshot.sector,
        archived=snapshot.HasField("delete_time"),
        version=envelope.version,
    )


async def count_closed_round(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """hub.investors.round.closed: the round counts once in the company's funding raised to date."""
    closed: investor_events.RoundSnapshot = payload.round  # type: ignore[attr-defined]
    if closed.amount.currency_code != "KRW":  # the investors service records KRW only; anything else is a bug
        raise ValueError(f"{closed.name}: funding is counted in KRW, not {closed.amount.currency_code!r}")
    await registry_store.apply_closed_round(
        uow.conn,
        round_name=closed.name,
        company_id=parse_name(closed.company, "companies", "round.company"),
        round_type=closed.round_type,
        amount=closed.amount.units,
        closed_on=calendar_date(closed.close_date, "round.close_date"),
    )


async def count_consultation(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """hub.consulting.session.completed: a session of a technical type is one 1:1 technical consultation in the
    company's support ledger, counted once per session (the entry's source is the session), whatever the
    deliveries and event ids; sessions of other types are not this support."""
    done: consulting_events.SessionSnapshot = payload.session  # type: ignore[attr-defined]
    if done.category not in TECHNICAL_CATEGORIES:
        return
    await _count_support(
        uow, envelope, record=done.name, company=done.company, field="session.company", kind=CONSULTATION, amount=1,
        note=f"{done.session_type_name} · {done.mentor_name}", source=done.name,
    )  # fmt: skip


async def count_gpu_hours(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """hub.consulting.gpu_booking.{booked,cancelled,no_show}: the company's GPU_HOURS in its support ledger follow
    its GPU bookings. A booking counts its hours once (source gpuBookings/N); its cancellation, or a no-show that
    does not count, returns them once (source gpuBookings/N/cancelled, .../no_show: a negative entry). The sources
    are unique, so a redelivered or re-published event changes nothing, in whatever order the events arrive: the
    ledger's GPU_HOURS equal the hours the company's bookings consume in consulting."""
    assert isinstance(payload, consulting_events.GpuBookingChanged)
    booking = payload.gpu_booking
    booked = int((booking.end_time.ToSeconds() - booking.start_time.ToSeconds()) // 3600)
    amount = booked if booking.state == "BOOKED" else booking.hours - booked
    if amount == 0:
        return  # a no-show that counts: its hours stay as booked
    source = booking.name if booking.state == "BOOKED" else f"{booking.name}/{booking.state.lower()}"
    await _count_support(
        uow, envelope, record=booking.name, company=booking.company, field="gpu_booking.company", kind=GPU_HOURS,
        amount=amount, note=f"{booking.node_display_name} · {booking.state}", source=source,
    )  # fmt: skip


async def _count_support(
    uow: UnitOfWork,
    envelope: envelope_pb2.Envelope,
    *,
    record: str,
    company: str,
    field: str,
    kind: str,
    amount: int,
    note: str,
    source: str,
) -> None:
    """One entry in the company's support ledger for another service's record, once per source; emits
    hub.companies.support.granted when it was counted now (a redelivery counts nothing)."""
    company_id = parse_name(company, "companies", field)
    if await registry_store.get_company(uow.conn, company_id) is None:  # consulting knows companies from our events
        raise ValueError(f"{record}: {company} is not a company of this service")
    row = await support_store.record_counted(
        uow.conn,
        SupportGrant(
            id=0, company_id=company_id, kind=kind, amount=amount, note=note[:500],
            actor=(envelope.actor or "service:consulting")[:100], source=source,
        ),
    )  # fmt: skip
    if row is None:
        return
    await uow.emit(
        "hub.companies.support.granted",
        f"supportGrants/{row.id}",
        1,
        ev.SupportGranted(
            grant=f"supportGrants/{row.id}", company=company, kind=kind, amount=amount,
            used_after=await support_store.used(uow.conn, company_id, kind), source=source,
        ),
    )  # fmt: skip


async def end_mentor_identities(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """hub.consulting.mentor.deactivated: the mentor's sign-in identities end and their tokens are revoked (the
    revocations travel as hub.ops.access_token.revoked to every service). Redelivered, it finds none left."""
    assert isinstance(payload, consulting_events.MentorDeactivated)
    mentor = payload.mentor.name or envelope.subject_id
    parse_name(mentor, "mentors", "mentor.name")
    who = f" by {envelope.actor}" if envelope.actor else ""
    await access.mentor_gone(uow, mentor, f"{mentor} was deactivated{who}: {payload.reason}"[:500])


CONSUMERS = [
    ConsumerSpec(durable="companies-stats", subjects=["hub.companies.company.>"], handler=project_company),
    ConsumerSpec(durable="companies-funding", subjects=["hub.investors.round.closed"], handler=count_closed_round),
    ConsumerSpec(
        durable="companies-consultations", subjects=["hub.consulting.session.completed"], handler=count_consultation
    ),
    ConsumerSpec(durable="companies-gpu-hours", subjects=["hub.consulting.gpu_booking.>"], handler=count_gpu_hours),
    ConsumerSpec(
        durable="companies-mentor-identities",
        subjects=["hub.consulting.mentor.deactivated"],
        handler=end_mentor_identities,
    ),
]
