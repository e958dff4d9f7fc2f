"""Test fixtures: real nats-server (from the wheel), real SQLite, and real PostgreSQL when
HUB_TEST_DATABASE_URL is set. Every test gets its own database and its own NATS server."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from hub.companies.v1 import companies_pb2_grpc
from hub.consulting.v1 import consulting_pb2_grpc
from hub.investors.v1 import investors_pb2_grpc, partner_pb2_grpc
from hub.ops.v1 import ops_pb2_grpc
from sqlalchemy.ext.asyncio import create_async_engine

from hubcore import logs
from hubcore.natsserver import NatsServer, free_port
from hubcore.server import Runtime
from hubcore.settings import Settings, token_hash

logs.configure(level="warning")  # server logs go to stderr, so command output stays parseable

ADMIN_TOKEN = "test-admin-token"
SERVICE_TOKEN = "test-service-token"
ADMIN = (("authorization", f"Bearer {ADMIN_TOKEN}"),)
SERVICE = (("authorization", f"Bearer {SERVICE_TOKEN}"),)

PG_URL = os.environ.get("HUB_TEST_DATABASE_URL", "")
BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="HUB_TEST_DATABASE_URL unset")),
]


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    server = NatsServer(port=free_port(), data_dir=tmp_path / "nats").start()
    yield server
    server.stop()


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def new_database(backend: str, tmp_path: Path) -> AsyncIterator[Callable[[str], Awaitable[str]]]:
    """Makes fresh, empty databases on the test's backend (one per service of a test): SQLite files, or
    new PostgreSQL databases dropped afterwards."""
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT") if backend == "postgresql" else None
    created: list[str] = []

    async def make(label: str) -> str:
        if admin is None:
            return f"sqlite+aiosqlite:///{tmp_path / (label + '.db')}"
        name = f"hub_test_{secrets.token_hex(6)}"
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    if admin is not None:
        async with admin.connect() as conn:
            for name in created:
                await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def database_url(new_database: Callable[[str], Awaitable[str]]) -> str:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    return await new_database("test")


def make_settings(service: str, database_url: str, nats_url: str, tmp_path: Path, **extra: Any) -> Settings:
    return Settings.from_env(service).with_(
        data_dir=tmp_path,
        database_url=database_url,
        nats_url=nats_url,
        grpc_host="127.0.0.1",
        grpc_port=0,
        admin_token_hashes=frozenset({token_hash(ADMIN_TOKEN)}),
        service_token_hashes=frozenset({token_hash(SERVICE_TOKEN)}),
        grace_period=2.0,
        relay_sweep_seconds=0.2,
        consumer_ack_wait=2.0,
        **extra,
    )


@dataclass
class Running:
    runtime: Runtime
    channel: grpc.aio.Channel
    companies: companies_pb2_grpc.CompanyServiceStub
    ops: ops_pb2_grpc.OperationsServiceStub

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.runtime.port}"


async def start_companies(settings: Settings) -> Running:
    from services.companies.__main__ import build

    runtime = build(settings)
    await runtime.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{runtime.port}")
    return Running(
        runtime, channel, companies_pb2_grpc.CompanyServiceStub(channel), ops_pb2_grpc.OperationsServiceStub(channel)
    )


@pytest.fixture
async def companies(database_url: str, nats_server: NatsServer, tmp_path: Path) -> AsyncIterator[Running]:
    """The companies service, running in this event loop against a real database and NATS."""
    running = await start_companies(make_settings("companies", database_url, nats_server.url, tmp_path))
    await asyncio.wait_for(running.runtime.ready.wait(), 10)
    yield running
    await running.channel.close()
    await running.runtime.stop()


@dataclass
class RunningInvestors:
    runtime: Runtime
    channel: grpc.aio.Channel
    partner_channel: grpc.aio.Channel
    investors: investors_pb2_grpc.InvestorServiceStub
    partner: partner_pb2_grpc.PartnerServiceStub
    ops: ops_pb2_grpc.OperationsServiceStub

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.runtime.port}"

    @property
    def partner_address(self) -> str:
        return f"127.0.0.1:{self.runtime.listeners[0].bound_port}"

    async def close(self) -> None:
        await self.channel.close()
        await self.partner_channel.close()
        await self.runtime.stop()


def investors_settings(database_url: str, nats_url: str, tmp_path: Path, **extra: Any) -> Settings:
    limits = {"partner_rate": 1000.0, "partner_burst": 1000} | extra  # tests call fast; one test checks the limit
    return make_settings("investors", database_url, nats_url, tmp_path, partner_port=0, **limits)


async def start_investors(settings: Settings) -> RunningInvestors:
    from services.investors.__main__ import build

    runtime = build(settings)
    await runtime.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{runtime.port}")
    partner_channel = grpc.aio.insecure_channel(f"127.0.0.1:{runtime.listeners[0].bound_port}")
    return RunningInvestors(
        runtime,
        channel,
        partner_channel,
        investors_pb2_grpc.InvestorServiceStub(channel),
        partner_pb2_grpc.PartnerServiceStub(partner_channel),
        ops_pb2_grpc.OperationsServiceStub(channel),
    )


@pytest.fixture
async def investors(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[RunningInvestors]:
    """The investors service (both its ports), in this event loop, with a database of its own and the
    test's NATS, so that it and the companies fixture talk over the same JetStream."""
    url = await new_database("investors")
    running = await start_investors(investors_settings(url, nats_server.url, tmp_path))
    await asyncio.wait_for(running.runtime.ready.wait(), 10)
    yield running
    await running.close()


@dataclass
class RunningConsulting:
    runtime: Runtime
    channel: grpc.aio.Channel
    consulting: consulting_pb2_grpc.ConsultingServiceStub
    ops: ops_pb2_grpc.OperationsServiceStub

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.runtime.port}"


async def start_consulting(settings: Settings) -> RunningConsulting:
    from services.consulting.__main__ import build

    runtime = build(settings)
    await runtime.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{runtime.port}")
    return RunningConsulting(
        runtime,
        channel,
        consulting_pb2_grpc.ConsultingServiceStub(channel),
        ops_pb2_grpc.OperationsServiceStub(channel),
    )


@pytest.fixture
async def consulting(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[RunningConsulting]:
    """The consulting service, in this event loop, with a database of its own and the test's NATS (so it
    hears the companies fixture's events)."""
    url = await new_database("consulting")
    running = await start_consulting(make_settings("consulting", url, nats_server.url, tmp_path))
    await asyncio.wait_for(running.runtime.ready.wait(), 10)
    yield running
    await running.channel.close()
    await running.runtime.stop()


async def eventually(check: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:  # noqa: ASYNC109
    """Polls an async check until it returns something truthy; fails the test with its last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            assert value, f"condition not met within {timeout} s (last value: {value!r})"
            return value
        await asyncio.sleep(interval)
