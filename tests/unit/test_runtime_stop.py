"""Runtime.stop() ends its background tasks even when a cancellation is swallowed once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from hubcore.server import Runtime
from hubcore.settings import Settings


async def test_stop_ends_a_task_that_swallowed_its_first_cancellation(tmp_path: Path) -> None:
    settings = Settings.from_env("companies").with_(database_url=f"sqlite+aiosqlite:///{tmp_path / 't.db'}")
    runtime = Runtime(settings, migrations=str(tmp_path))
    swallowed = 0

    async def stubborn() -> None:
        # What a consumer loop does when asyncio.wait_for (Python 3.11) swallows the CancelledError that
        # arrived as its inner future completed: it carries on fetching.
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                if swallowed:
                    raise
                swallowed += 1

    task = asyncio.create_task(stubborn())
    runtime._tasks.append(task)
    await asyncio.sleep(0)
    await asyncio.wait_for(runtime.stop(), 10)
    assert task.cancelled()
    assert swallowed == 1
