"""What the investors service does with events: it keeps a directory of the hub's companies from the
companies service's events, so that introductions and matching never call that service on the hot path, and
the companies' KPI reports, which the partner API shows the firms that invested (only the figures granted).

The directory is rebuildable: its consumer reads the stream from the start (DeliverPolicy ALL), so an
empty directory, with its processed-events rows and its durable consumer deleted, fills again on start."""

from __future__ import annotations

from datetime import UTC

from google.protobuf.message import Message
from hub.events.v1 import companies_pb2 as ev
from hub.events.v1 import envelope_pb2

from hubcore.db import UnitOfWork
from hubcore.events import ConsumerSpec
from services.investors import convert, privacy
from services.investors.usecases import dealflow, introductions

DIRECTORY = "investors-directory"
KPI_UPDATES = "investors-kpi-updates"


async def project_company(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """Every company event carries a snapshot; the newest version wins, whatever the arrival order."""
    snapshot: ev.CompanySnapshot = payload.company  # type: ignore[attr-defined]
    if isinstance(payload, ev.CompanyErased):  # personal data erased on request: our copies go too
        await privacy.company_erased(uow, envelope, payload)
    await introductions.update_directory(uow, convert.directory_company_of(snapshot, envelope.version))


async def keep_kpi_report(uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
    """A KPI report (or its correction): the figures its company's investors may receive (ListCompanyUpdates)."""
    event: ev.KpiReported = payload  # type: ignore[assignment]
    update = convert.company_update_of(event, envelope.occurred_at.ToDatetime(UTC))
    await dealflow.record_company_update(uow, update, envelope.id)


CONSUMERS = [
    ConsumerSpec(durable=DIRECTORY, subjects=["hub.companies.company.>"], handler=project_company),
    ConsumerSpec(durable=KPI_UPDATES, subjects=["hub.companies.kpi.reported"], handler=keep_kpi_report),
    privacy.ERASURES,
]
