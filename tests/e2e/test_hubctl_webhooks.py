"""hubctl webhooks against the real investors service and a real HTTP receiver, Korean first: a program manager
subscribes an endpoint hub-wide, sees it listed, sends a test delivery and finds it in the log, pauses it, rotates
its secret, replays; a non-https URL is refused naming the field."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from typer.testing import Result

from hublocal.natsserver import NatsServer
from tests.conftest import RunningInvestors, investors_settings, start_investors
from tests.e2e.test_hubctl import hubctl
from tests.integration.test_partner_webhooks import Receiver, eventually


@pytest.fixture
async def investors_dev(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[RunningInvestors]:
    url = await new_database("investors")
    running = await start_investors(
        investors_settings(url, nats_server.url, tmp_path, webhook_allow_http_loopback=True, webhook_poll_seconds=0.2)
    )
    await asyncio.wait_for(running.runtime.ready.wait(), 10)
    yield running
    await running.close()


async def test_add_list_test_pause_rotate_replay(investors_dev: RunningInvestors) -> None:
    receiver = Receiver().start()
    env = {"HUB_INVESTORS_ADDRESS": investors_dev.address}

    async def run(*args: str) -> Result:
        return await hubctl(None, *args, env=env)

    try:
        refused = await run("webhooks", "add", "http://hooks.example/x", "--event", "round.reported")
        assert refused.exit_code == 3 and "webhook_subscription.url" in refused.output, refused.output
        added = await run("webhooks", "add", receiver.url("/hub"), "--event", "round.reported", "--description", "딜룸")
        assert added.exit_code == 0 and "구독함 (subscribed) webhookSubscriptions/1" in added.stdout, added.output
        assert "whsec_" in added.stdout
        listed = await run("webhooks", "list", "--hub")
        assert listed.exit_code == 0 and "허브 전체" in listed.stdout and "딜룸" in listed.stdout, listed.output
        sent = await run("webhooks", "test", "1")
        assert sent.exit_code == 0 and "시험 전송 대기" in sent.stdout, sent.output

        async def delivered() -> bool:
            log = json.loads((await run("--json", "webhooks", "deliveries", "1")).stdout)
            return [d.get("state") for d in log] == ["WEBHOOK_DELIVERY_STATE_DELIVERED"]

        await eventually(delivered)
        assert [g.json["type"] for g in receiver.got] == ["webhook.test"]
        paused = await run("webhooks", "pause", "1")
        assert paused.exit_code == 0 and "일시정지함 (paused)" in paused.stdout, paused.output
        rotated = await run("webhooks", "rotate", "1", "--overlap-hours", "1")
        assert rotated.exit_code == 0 and "새 서명 비밀" in rotated.stdout and "whsec_" in rotated.stdout
        replayed = await run("webhooks", "replay", "1")
        assert replayed.exit_code == 0 and "다시 보냄 (queued again): 0" in replayed.stdout, replayed.output
    finally:
        receiver.stop()
