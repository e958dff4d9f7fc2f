"""A VC partner's journey in languages other than Python, over HTTP/JSON and TLS against the real service:
examples/partner_journey.sh (curl and sed) and examples/partner_journey.mjs (Node's standard library) list the
introductions waiting for an answer, accept one and read it back; the hub then holds the answer, in the
introduction's history and in the audit log, under the partner's key."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from hub.investors.v1 import investors_pb2 as pb

from hubcore.settings import PROJECT_DIR
from hublocal.natsserver import NatsServer
from hublocal.tls import local_certificate
from tests.conftest import ADMIN
from tests.integration.test_partner_api import build_world
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
