"""The companies service's support ledger follows the GPU bookings of the consulting service, over a real
nats-server: a booking's hours count once, a cancellation returns them once, and the ledger's GPU_HOURS equal the
hours the bookings consume after the worker dies between its commit and its ack (JetStream redelivers) and after
events are delivered again (the same event, and a re-publish with a new id)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from hub.companies.v1 import program_pb2 as pb
from hub.consulting.v1 import consulting_pb2 as spb
from hub.events.v1 import envelope_pb2

from hubcore.db import outbox, uuid7
from services.consulting import store as consulting_store
from tests.conftest import ADMIN, SERVICE, Running, RunningConsulting, eventually
from tests.integration.test_gpu_bookings import book_request, make_node, month_start, set_quota
from tests.integration.test_program_api import company, stub


async def test_ledger_gpu_hours_equal_the_bookings_after_redelivery(
    companies: Running, consulting: RunningConsulting
) -> None:
    firm = await company(companies, "메디비전", "SELECTED")

    async def known() -> bool:
        async with consulting.runtime.db.read() as conn:
            return await consulting_store.get_company(conn, firm) is not None

    assert await eventually(known, timeout=20)
    node = await make_node(consulting)
    await set_quota(consulting, firm, 10)
    start = month_start() + timedelta(hours=9)
    api = stub(companies)

    async def ledger() -> list[tuple[int, str]]:
        found = await api.ListSupport(pb.ListSupportRequest(company=firm), metadata=SERVICE)
        return sorted((g.amount, g.source) for g in found.grants if g.kind == pb.SUPPORT_KIND_GPU_HOURS)

    # The worker dies after committing the first booking's entry and before acking it (its loop is restarted).
    consumer = next(c for c in companies.runtime.consumers if c.spec.durable == "companies-gpu-hours")
    consumer.crash_after_commit = True
    kept = await consulting.consulting.BookGpu(book_request(node, firm, start, hours=2), metadata=ADMIN)

    async def committed() -> bool:
        return await ledger() == [(2, kept.name)]

    assert await eventually(committed, timeout=20), await ledger()
    consumer.crash_after_commit = False

    async def redelivered_and_acked() -> bool:  # one event, delivered twice (consumer sequence 2), acked
        info = await consumer.info()
        assert info.delivered is not None and info.ack_floor is not None
        return (
            (info.delivered.consumer_seq or 0) >= 2
            and info.num_ack_pending == 0
            and info.ack_floor.stream_seq == (info.delivered.stream_seq)
        )

    assert await eventually(redelivered_and_acked, timeout=30)  # after AckWait, the inbox drops the copy
    assert await ledger() == [(2, kept.name)]
    dropped = await consulting.consulting.BookGpu(
        book_request(node, firm, start + timedelta(hours=4), hours=3), metadata=ADMIN
    )
    await consulting.consulting.CancelGpuBooking(
        spb.CancelGpuBookingRequest(name=dropped.name, etag=dropped.etag, reason="취소"), metadata=ADMIN
    )
    expected = sorted([(2, kept.name), (3, dropped.name), (-3, f"{dropped.name}/cancelled")])

    async def settled() -> bool:
        return await ledger() == expected

    assert await eventually(settled, timeout=20), await ledger()
    # Every GPU event again: the same envelopes (the inbox drops them) and re-published with new ids (the unique
    # sources drop them).
    async with consulting.runtime.db.read() as conn:
        query = sa.select(outbox.c.data).where(outbox.c.subject.like("hub.consulting.gpu_booking.%"))
        sent = [envelope_pb2.Envelope.FromString(d) for d in (await conn.execute(query)).scalars()]
    assert len(sent) == 3
    for envelope in sent:
        assert await consumer.apply(envelope) is False  # applied before: the inbox skips it
        copy = envelope_pb2.Envelope()
        copy.CopyFrom(envelope)
        copy.id = uuid7()
        await consumer.apply(copy)
    assert await ledger() == expected
    found = await api.ListSupport(pb.ListSupportRequest(company=firm), metadata=SERVICE)
    used = {t.kind: t.used for t in found.totals}
    quota = await consulting.consulting.GetGpuQuota(spb.GetGpuQuotaRequest(company=firm, time=kept.interval.start_time),
                                                    metadata=ADMIN)  # fmt: skip
    assert used[pb.SUPPORT_KIND_GPU_HOURS] == quota.used_hours == 2
