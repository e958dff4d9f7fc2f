"""What a deploy runs besides the server: `python -m services.<name> migrate` (the migration job) and
`… health` (the container health check), as real processes."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import sys
from pathlib import Path

from hubcore.settings import PROJECT_DIR
from hublocal.natsserver import free_port
from tests.conftest import Running


async def run(*args: str, **env: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *args,
        cwd=PROJECT_DIR,
        env=os.environ | {"HUB_LOG_LEVEL": "warning"} | env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), 120)
    return process.returncode or 0, output.decode()


async def test_migrate_creates_the_schema_and_is_repeatable(tmp_path: Path) -> None:
    database = tmp_path / "consulting.db"
    url = f"sqlite+aiosqlite:///{database}"
    for _ in range(2):  # a re-run job finds the schema at head and changes nothing
        code, output = await run("services.consulting", "migrate", HUB_DATABASE_URL=url)
        assert code == 0, output
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("select name from sqlite_master where type = 'table'")}
        (version,) = db.execute("select count(*) from alembic_version").fetchone()
    assert {"sessions", "mentors", "outbox", "processed_events"} <= tables and version == 1


async def test_health_answers_for_a_serving_service_only(companies: Running) -> None:
    code, output = await run("services.companies", "health", HUB_COMPANIES_PORT=str(companies.runtime.port))
    assert code == 0, output
    code, _ = await run("services.companies", "health", HUB_COMPANIES_PORT=str(free_port()))
    assert code == 1
    code, output = await run("services.companies", "dance")
    assert code != 0 and "usage" in output
