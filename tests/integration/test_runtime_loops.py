"""Runtime.add_loop: a service's own background loop starts with the server (NATS not needed), is
restarted after a crash, and is cancelled on stop."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

from tests.conftest import make_settings


async def test_a_services_own_loop_runs_restarts_and_stops(tmp_path: Path) -> None:
    from services.companies.__main__ import build

    url = f"sqlite+aiosqlite:///{tmp_path / 'loops.db'}"
    # NATS is down: a port held bound but not listening refuses connections, and no other test's
    # nats-server can take it meanwhile.
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    runtime = build(make_settings("companies", url, f"nats://127.0.0.1:{closed.getsockname()[1]}", tmp_path))
    runs: list[int] = []
    running, cancelled = asyncio.Event(), asyncio.Event()

    async def loop() -> None:
        runs.append(1)
        if len(runs) == 1:
            raise RuntimeError("first run crashes")
        running.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise

    runtime.add_loop("test-loop", loop)
    await runtime.start()
    try:
        await asyncio.wait_for(running.wait(), 15)
        assert len(runs) == 2, "the crashed loop was restarted"
    finally:
        await asyncio.wait_for(runtime.stop(), 60)
        closed.close()
    assert cancelled.is_set()
