"""What the consulting service does with events and with time.

- The company directory: a read model of the companies service, fed by hub.companies.company.> events.
  Each event carries a snapshot; a snapshot older than what the directory holds is ignored, so events
  arriving out of order (several relay replicas) never bring back an old name or status.
- The overdue sweep: action items whose due date has passed (in the hub's time zone) get one
  hub.consulting.action_item.overdue event each.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import date

import structlog
from google.protobuf.message import Message
from hub.events.v1 import companies_pb2 as company_events
from hub.events.v1 import envelope_pb2

from hubcore.convert import seoul_today
from hubcore.db import Database, UnitOfWork
from hubcore.events import ConsumerSpec
from services.consulting import privacy, store
from services.consulting.usecases import sessions

log = structlog.get_logger()
SWEEP_SECONDS = 60.0


async def update_directory(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    snapshot: company_events.CompanySnapshot = payload.company  # type: ignore[attr-defined]
    if isinstance(payload, company_events.CompanyErased):  # personal data erased on request: our copies go too
        await privacy.company_erased(uow, envelope, payload)
    await store.upsert_company(
        uow.conn,
        company=snapshot.name or envelope.subject_id,
        korean_name=snapshot.korean_name,
        english_name=snapshot.english_name,
        status=snapshot.status,
        archived=snapshot.HasField("delete_time"),
        version=envelope.version,
    )


CONSUMERS = [
    ConsumerSpec(
        durable="consulting-company-directory", subjects=["hub.companies.company.>"], handler=update_directory
    ),
    privacy.ERASURES,
]


async def sweep_overdue(db: Database, on: date | None = None) -> int:
    """Emits action_item.overdue once for each open item due before `on` (default: today in Seoul)."""
    async with db.write(actor="system") as uow:
        return await sessions.sweep_overdue(uow, on or seoul_today())


def overdue_loop(db: Database, every: float = SWEEP_SECONDS) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        while True:
            count = await sweep_overdue(db)
            if count:
                log.info("action items fell overdue", count=count)
            await asyncio.sleep(every)

    return run
