"""What the companies service does with events: it keeps its dashboard projection from its own events."""

from __future__ import annotations

from google.protobuf.message import Message
from hub.events.v1 import companies_pb2 as ev
from hub.events.v1 import envelope_pb2

from hubcore.db import UnitOfWork
from hubcore.events import ConsumerSpec
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


CONSUMERS = [ConsumerSpec(durable="companies-stats", subjects=["hub.companies.company.>"], handler=project_company)]
