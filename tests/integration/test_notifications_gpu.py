"""A freed GPU slot offered to the first company waiting for it: the notifications worker tells the company's
people at once (Korean first, the time in Seoul), once whatever is redelivered."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import nats
import pytest
from hub.events.v1 import consulting_pb2 as consulting_ev
from nats.js import JetStreamContext

from hublocal.mailsink import MailSink
from hublocal.natsserver import NatsServer
from services.notifications import domain, rules
from tests.conftest import RunningNotifications, eventually
from tests.integration.test_notifications_consulting import (
    SEOUL,
    Publisher,
    follow_ups,
    mail_count,
    people,
)


@pytest.fixture
async def js(nats_server: NatsServer) -> AsyncIterator[JetStreamContext]:
    nc = await nats.connect(nats_server.url)
    yield nc.jetstream()
    await nc.close()


async def test_the_first_firm_waiting_is_told_once(
    notifications: RunningNotifications,
    js: JetStreamContext,
    mail_sink: MailSink,
) -> None:
    publish = Publisher(js)
    await people(publish, notifications)
    start = datetime.now(SEOUL).replace(minute=0, second=0, microsecond=0) + timedelta(days=2)
    offer = consulting_ev.GpuSlotOffered(
        entry="gpuWaitlist/4", node="gpuNodes/1", node_display_name="A100 node 1", company="companies/3"
    )
    offer.start_time.FromDatetime(start.astimezone(UTC))
    offer.end_time.FromDatetime((start + timedelta(hours=3)).astimezone(UTC))
    await publish("hub.consulting.gpu_waitlist.offered", offer.entry, offer)
    await eventually(lambda: mail_count(mail_sink, 2), timeout=20)  # both of the company's people
    message = mail_sink.messages[0]
    assert "GPU" in str(message["Subject"]) and "A100 node 1" in str(message["Subject"])
    body = message.get_content()
    assert domain.format_datetime(start, SEOUL, "ko") in body and "메디비전" in body
    # Delivered again (a re-publish with a new id), then another offer: the consumer takes them in order, so once
    # the second offer's mail is out the copy was handled, and it sent nothing (keyed by the entry).
    publish.versions.clear()
    await publish("hub.consulting.gpu_waitlist.offered", offer.entry, offer)
    another = consulting_ev.GpuSlotOffered()
    another.CopyFrom(offer)
    another.entry, another.node_display_name = "gpuWaitlist/5", "H100 node 2"
    await publish("hub.consulting.gpu_waitlist.offered", another.entry, another)

    def mails_about(node: str) -> int:
        return sum(node in str(m["Subject"]) for m in mail_sink.messages)

    async def second_offer_mailed() -> bool:
        return mails_about("H100 node 2") == 2

    await eventually(second_offer_mailed, timeout=20)
    assert mails_about("A100 node 1") == 2
    planned = await follow_ups(notifications, f"rule={rules.GPU_SLOT_OFFERED}")
    assert sorted(f.entity for f in planned) == ["gpuWaitlist/4", "gpuWaitlist/5"]
