"""End to end over a real nats-server: the companies and consulting services, each with its own database.
A company registered in the companies service reaches consulting's directory through its event and can
then be scheduled; a completed session's events reach the stream exactly once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import grpc
import nats
import pytest
from google.type import date_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.consulting.v1 import consulting_pb2 as pb
from hub.ops.v1 import ops_pb2
from nats.js import JetStreamContext

from hubcore import events
from hubcore.convert import seoul_today
from hubcore.db import outbox
from hublocal.natsserver import NatsServer
from tests.conftest import ADMIN, Running, RunningConsulting, eventually
from tests.integration.consulting_world import earlier_today, make_mentor, make_type, schedule_request


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_server.url)
    yield nc.jetstream()
    await nc.close()


async def per_subject(js: JetStreamContext) -> dict[str, int]:
    info = await js.stream_info(events.STREAM, subjects_filter="hub.consulting.>")
    return dict(info.state.subjects or {})


async def test_registered_company_can_be_scheduled_and_completion_is_published_once(
    companies: Running, consulting: RunningConsulting, js: JetStreamContext
) -> None:
    c = consulting
    company = await companies.companies.CreateCompany(
        cpb.CreateCompanyRequest(company=cpb.Company(korean_name="메디비전", sector=cpb.SECTOR_MEDICAL)), metadata=ADMIN
    )
    mentor, kind = await make_mentor(c), await make_type(c)
    request = schedule_request(company.name, mentor, kind, earlier_today(), request_id="e2e-1")

    async def scheduled() -> pb.Session | None:
        try:
            return await c.consulting.ScheduleSession(request, metadata=ADMIN)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.NOT_FOUND:  # the directory has not heard of it yet
                return None
            raise

    session = await eventually(scheduled, timeout=30)
    assert session.company == company.name
    due = seoul_today() + timedelta(days=14)
    done = await c.consulting.CompleteSession(
        pb.CompleteSessionRequest(
            name=session.name,
            notes="해외 진출 전략",
            action_items=[
                pb.NewActionItem(
                    description="미국 법인 설립 검토",
                    owner="김서연",
                    due_date=date_pb2.Date(year=due.year, month=due.month, day=due.day),
                )
            ],
        ),
        metadata=ADMIN,
    )
    retry = pb.CompleteSessionRequest(name=session.name, notes="again")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await c.consulting.CompleteSession(retry, metadata=ADMIN)
    assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert await c.consulting.ScheduleSession(request, metadata=ADMIN) == session  # an idempotent retry

    async def drained() -> bool:
        status = await c.ops.GetOutboxStatus(ops_pb2.GetOutboxStatusRequest(), metadata=ADMIN)
        return status.unpublished == 0 and status.published == 4  # the mentor's registration, and the session's

    assert await eventually(drained, timeout=30)
    # The relay publishing again (as after a crash before marking) adds nothing: same Nats-Msg-Id.
    assert c.runtime.relay is not None
    async with c.runtime.db.engine.begin() as conn:
        await conn.execute(outbox.update().values(published_at=None))
    await c.runtime.relay.publish_batch()
    assert await eventually(drained, timeout=30)
    assert await per_subject(js) == {
        "hub.consulting.mentor.registered": 1,
        "hub.consulting.session.scheduled": 1,
        "hub.consulting.session.completed": 1,
        "hub.consulting.action_item.created": 1,
    }
    assert done.action_items[0].owner == "김서연"
