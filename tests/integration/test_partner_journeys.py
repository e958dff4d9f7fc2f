"""A VC partner's journey in languages other than Python, over HTTP/JSON and TLS against the real service:
examples/partner_journey.sh (curl and sed) and examples/partner_journey.mjs (Node's standard library) list the
introductions waiting for an answer, accept one and read it back; the hub then holds the answer, in the
introduction's history and in the audit log, under the partner's key. examples/partner_deal_journey.mjs goes
from the deal flow: browse, ask, hear the founders' consent by a signed webhook, answer."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_webhooks_pb2 as wpb

from hubcore.settings import PROJECT_DIR
from hublocal.natsserver import NatsServer
from hublocal.tls import local_certificate
from tests.conftest import ADMIN
from tests.integration.test_founders_sharing import answer, founder
from tests.integration.test_investors_api import add_company
from tests.integration.test_partner_api import build_world
from tests.integration.test_partner_dealflow import LISTED, grant, two_firms
from tests.integration.test_partner_http import serving

JOURNEYS = {
    "curl": ["sh", "examples/partner_journey.sh"],
    "node": ["node", "examples/partner_journey.mjs"],
}


@pytest.mark.parametrize("language", sorted(JOURNEYS))
async def test_a_partner_journey(
    language: str, new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> None:
    command = JOURNEYS[language]
    if shutil.which(command[0]) is None:
        pytest.skip(f"{command[0]} is not installed")
    cert, key = local_certificate(tmp_path / "tls")
    # Node's journey meets the key's rate limit on its third call, and waits as Retry-After says.
    limits: dict[str, Any] = {"partner_key_limit": 2, "partner_key_window_seconds": 2.0} if language == "node" else {}
    tls = {"partner_tls_cert": str(cert), "partner_tls_key": str(key)}
    async with serving(new_database, nats_server, tmp_path, **tls, **limits) as running:
        world = await build_world(running)
        env = os.environ | {
            "HUB_PARTNER_URL": running.partner_http,
            "HUB_PARTNER_KEY": world.right,
            "HUB_PARTNER_CACERT": str(cert),
            "HUB_PARTNER_REASON": "다음 주에 뵙겠습니다",
        }
        process = await asyncio.create_subprocess_exec(
            *command, cwd=PROJECT_DIR, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        stdout, stderr = out.decode(), err.decode()
        assert process.returncode == 0, stdout + stderr
        assert f"accepted: {world.consented}" in stdout  # the one introduction that waited for an answer
        if language == "node":
            assert "over the rate limit; retrying" in stderr
        intro = await running.investors.GetIntroduction(pb.GetIntroductionRequest(name=world.consented), metadata=ADMIN)
        assert intro.state == pb.INTRODUCTION_STATE_PARTNER_ACCEPTED
        assert intro.history[-1].reason == "다음 주에 뵙겠습니다"
        assert intro.history[-1].actor.startswith("partner:apiKeys/")
        calls = (await running.investors.ListPartnerCalls(pb.ListPartnerCallsRequest(), metadata=ADMIN)).partner_calls
        answered = [(c.method.rsplit("/", 1)[1], c.code) for c in reversed(calls) if c.code == "OK"]
        assert answered == [("ListIntroductions", "OK"), ("RespondToIntroduction", "OK"), ("GetIntroduction", "OK")]


async def test_a_deal_flow_journey_in_node_hears_the_consent_by_webhook(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> None:
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    cert, key = local_certificate(tmp_path / "tls")
    tls = {"partner_tls_cert": str(cert), "partner_tls_key": str(key), "webhook_allow_http_loopback": True}
    async with serving(new_database, nats_server, tmp_path, **tls) as running:
        firms = await two_firms(running)
        await add_company(running, 1, english_name="Doctor Note")
        await grant(running, "companies/1", firms.a.name, LISTED)
        env = os.environ | {
            "HUB_PARTNER_URL": running.partner_http,
            "HUB_PARTNER_KEY": firms.key_a,
            "HUB_PARTNER_CACERT": str(cert),
            "HUB_PARTNER_REASON": "다음 주에 뵙겠습니다",
            "HUB_WEBHOOK_WAIT_SECONDS": "60",
        }
        process = await asyncio.create_subprocess_exec(
            "node", "examples/partner_deal_journey.mjs", cwd=PROJECT_DIR, env=env,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert process.stdout is not None
        lines: list[str] = []
        while not any(line.startswith("3. requested: ") for line in lines):  # it asked, and now waits
            line = (await asyncio.wait_for(process.stdout.readline(), 60)).decode()
            assert line, "".join(lines) + (await process.stderr.read()).decode()  # type: ignore[union-attr]
            lines.append(line)
        name = lines[-1].split()[2]
        # The founders consent in the hub; the script hears it by webhook and accepts.
        await answer(running, founder("companies/1"), name, consent=True, reason="좋습니다")
        out, err = await asyncio.wait_for(process.communicate(), 60)
        stdout = "".join(lines) + out.decode()
        assert process.returncode == 0, stdout + err.decode()
        assert "companies/1" in lines[1] and "4. webhook introduction.consented" in stdout
        assert f"5. accepted: {name} (INTRODUCTION_STATE_PARTNER_ACCEPTED)" in stdout
        intro = await running.investors.GetIntroduction(pb.GetIntroductionRequest(name=name), metadata=ADMIN)
        assert intro.state == pb.INTRODUCTION_STATE_PARTNER_ACCEPTED and intro.firm == firms.a.name
        last = intro.history[-1]
        assert last.actor.startswith("partner:apiKeys/") and last.reason == "다음 주에 뵙겠습니다"
        assert [h.to_state for h in intro.history][-2:] == [
            pb.INTRODUCTION_STATE_COMPANY_CONSENTED, pb.INTRODUCTION_STATE_PARTNER_ACCEPTED,
        ]  # fmt: skip
        # The script removed its subscription on the way out.
        left = await running.investors.ListWebhookSubscriptions(wpb.ListWebhookSubscriptionsRequest(), metadata=ADMIN)
        assert list(left.webhook_subscriptions) == []
