"""What the companies service does with events: it keeps its dashboard projection from its own events, and
counts the rounds the investors service closed in each company's funding."""

from __future__ import annotations

from google.protobuf.message import Message
from hub.events.v1 import companies_pb2 as ev
from hub.events.v1 import envelope_pb2
from hub.events.v1 import investors_pb2 as investor_events

from hubcore.db import UnitOfWork
from hubcore.events import ConsumerSpec
from hubcore.requests import calendar_date, parse_name
from services.companies import store


async def project_company(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """Every company event carries a snapshot; the newest version wins."""
    snapshot: ev.CompanySnapshot = payload.company  # type: ignore[attr-defined]
    await store.upsert_stats_row(
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
    await store.apply_closed_round(
        uow.conn,
        round_name=closed.name,
        company_id=parse_name(closed.company, "companies", "round.company"),
        round_type=closed.round_type,
        amount=closed.amount.units,
        closed_on=calendar_date(closed.close_date, "round.close_date"),
    )


CONSUMERS = [
    ConsumerSpec(durable="companies-stats", subjects=["hub.companies.company.>"], handler=project_company),
    ConsumerSpec(durable="companies-funding", subjects=["hub.investors.round.closed"], handler=count_closed_round),
]
