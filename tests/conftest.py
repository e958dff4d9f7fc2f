"""Test fixtures: real nats-server (from the wheel), real SQLite, and real PostgreSQL when
HUB_TEST_DATABASE_URL is set. Every test gets its own database and its own NATS server."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from hub.companies.v1 import companies_pb2_grpc
from hub.consulting.v1 import consulting_pb2_grpc
from hub.investors.v1 import investors_pb2_grpc, partner_pb2_grpc
from hub.notifications.v1 import notifications_pb2_grpc
from hub.ops.v1 import ops_pb2_grpc
from sqlalchemy.ext.asyncio import create_async_engine

from hubcore import logs
from hubcore.db import Database, now
from hubcore.server import Runtime
from hubcore.settings import Settings, token_hash
from hublocal.mailsink import MailSink
from hublocal.natsserver import NatsServer, free_port

logs.configure(level="warning")  # server logs go to stderr, so command output stays parseable

ADMIN_TOKEN = "test-admin-token"
SERVICE_TOKEN = "test-service-token"
TOKEN_SIGNING_KEY = "test-token-signing-key-0123456789abcdef"  # shared by every service of a test
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
        token_signing_keys=(TOKEN_SIGNING_KEY,),
        token_refresh_seconds=0.5,
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

    @property
    def partner_http(self) -> str:
        """The partner API's HTTP/JSON address (http:// or https://), when the test asked for it."""
        listener = self.runtime.listeners[0]
        return f"{'https' if listener.tls else 'http'}://127.0.0.1:{listener.http_bound_port}"

    async def close(self) -> None:
        await self.channel.close()
        await self.partner_channel.close()
        await self.runtime.stop()


def investors_settings(database_url: str, nats_url: str, tmp_path: Path, **extra: Any) -> Settings:
    # Tests call fast; a test of the limits sets its own.
    limits: dict[str, Any] = {"partner_key_limit": 10**9, "partner_peer_rate": 1e6, "partner_peer_burst": 10**6}
    limits |= {"partner_http_port": None}  # HTTP/JSON where a test asks (port 0)
    limits |= extra
    return make_settings("investors", database_url, nats_url, tmp_path, partner_port=0, **limits)


async def start_investors(settings: Settings, clock: Clock | None = None) -> RunningInvestors:
    from services.investors.__main__ import build

    runtime = build(settings, clock) if clock else build(settings)
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


class Clock:
    """The notifications service's idea of now: real time, shifted by what a test moves it."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return now() + self.offset

    def move_to(self, moment: datetime) -> None:
        self.offset = moment - now()


@pytest.fixture
def mail_sink(tmp_path: Path) -> Iterator[MailSink]:
    """A real SMTP server (aiosmtpd) on a free port; messages are counted and kept as .eml files."""
    sink = MailSink(port=free_port(), folder=tmp_path / "mail").start()
    yield sink
    sink.stop()


WEBHOOK_SECRET = "test-webhook-secret"


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    signed: bool

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """A real HTTP server on a free port that checks each request's signature like a receiver would."""

    port: int = 0
    received: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)  # status codes to answer next (then 200)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.signed]


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    from services.notifications.channels import verify

    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            signed = verify(WEBHOOK_SECRET, self.headers, body)
            with receiver.lock:
                status = receiver.answers.pop(0) if receiver.answers else (200 if signed else 401)
                if status == 200:
                    receiver.received.append(Received(self.path, dict(self.headers.items()), body, signed))
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


def notify_config(mail_sink: MailSink, **extra: Any) -> Any:
    """The worker's settings for tests: the test's SMTP server, no quiet hours, fast polling and retries."""
    from services.notifications.config import Config

    values: dict[str, Any] = {
        "smtp_host": "127.0.0.1",
        "smtp_port": mail_sink.port,
        "smtp_timeout": 10.0,
        "webhook_secret": WEBHOOK_SECRET,
        "manager_emails": ("pm@hub.example",),
        "quiet_start": 0,
        "quiet_end": 0,
        "poll_seconds": 0.05,
        "retry_base": 0.05,
        "retry_cap": 0.2,
        "max_attempts": 3,
        "lease_seconds": 5.0,
        "clock_rules_seconds": 0,  # the clock's rules run when a test calls them, whatever today's date
    }
    return Config().with_(**(values | extra))


@dataclass
class RunningNotifications:
    runtime: Runtime
    channel: grpc.aio.Channel
    api: notifications_pb2_grpc.NotificationServiceStub
    ops: ops_pb2_grpc.OperationsServiceStub
    clock: Clock

    @property
    def scheduler(self) -> Any:
        return self.runtime.scheduler  # type: ignore[attr-defined]


async def start_notifications(settings: Settings, config: Any, clock: Clock | None = None) -> RunningNotifications:
    from services.notifications.__main__ import build

    clock = clock or Clock()
    runtime = build(settings, config, clock)
    await runtime.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{runtime.port}")
    return RunningNotifications(
        runtime,
        channel,
        notifications_pb2_grpc.NotificationServiceStub(channel),
        ops_pb2_grpc.OperationsServiceStub(channel),
        clock,
    )


async def stop_notifications(running: RunningNotifications) -> None:
    await running.channel.close()
    await running.runtime.stop()


@pytest.fixture
async def notifications(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path, mail_sink: MailSink
) -> AsyncIterator[RunningNotifications]:
    """The notifications worker, in this event loop, with a database of its own, the test's NATS and a real
    SMTP server (mail_sink)."""
    url = await new_database("notifications")
    running = await start_notifications(make_settings("notifications", url, nats_server.url, tmp_path),
                                        notify_config(mail_sink))  # fmt: skip
    await asyncio.wait_for(running.runtime.ready.wait(), 10)
    yield running
    await stop_notifications(running)


async def eventually(check: Any, timeout: float = 10.0, interval: float = 0.05) -> Any:  # noqa: ASYNC109
    """Polls an async check until it returns something truthy; fails the test with its last value."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await check()
        if value or asyncio.get_running_loop().time() > deadline:
            assert value, f"condition not met within {timeout} s (last value: {value!r})"
            return value
        await asyncio.sleep(interval)


async def row_counts(db: Database) -> dict[str, int]:
    """Rows per table of a service's database (its alembic version aside): what "changed nothing" compares."""
    async with db.read() as conn:
        names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        return {
            name: int((await conn.execute(sa.text(f'SELECT count(*) FROM "{name}"'))).scalar_one())
            for name in names
            if name != "alembic_version"
        }


@dataclass
class RunningPlaybooks:
    runtime: Runtime
    channel: grpc.aio.Channel
    api: Any  # playbooks_pb2_grpc.PlaybookServiceStub
    clock: Clock

    @property
    def worker(self) -> Any:
        return self.runtime.worker  # type: ignore[attr-defined]

    @property
    def handlers(self) -> Any:
        return self.runtime.handlers  # type: ignore[attr-defined]

    async def close(self) -> None:
        await self.channel.close()
        await self.runtime.stop()


def playbooks_config(consulting: str, investors: str, **extra: Any) -> Any:
    """The playbooks service for tests: the test's consulting and investors, the test's service token, the clock's
    rules run when a test calls them, fast polling and retries."""
    from services.playbooks.config import Config

    values: dict[str, Any] = {
        "consulting_address": consulting, "investors_address": investors, "service_token": SERVICE_TOKEN,
        "clock_seconds": 0, "poll_seconds": 0.05, "retry_base": 0.05, "retry_cap": 0.2, "max_attempts": 3,
        "lease_seconds": 5.0,
    }  # fmt: skip
    return Config().with_(**(values | extra))


async def start_playbooks(settings: Settings, config: Any, clock: Clock | None = None) -> RunningPlaybooks:
    from hub.playbooks.v1 import playbooks_pb2_grpc

    from services.playbooks.__main__ import build

    clock = clock or Clock()
    runtime = build(settings, config, clock)
    await runtime.start()
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{runtime.port}")
    return RunningPlaybooks(runtime, channel, playbooks_pb2_grpc.PlaybookServiceStub(channel), clock)


@pytest.fixture
async def playbooks_database(new_database: Callable[[str], Awaitable[str]]) -> str:
    return await new_database("playbooks")


@pytest.fixture
async def playbooks(
    playbooks_database: str, nats_server: NatsServer, tmp_path: Path, consulting: RunningConsulting,
    investors: RunningInvestors,
) -> AsyncIterator[RunningPlaybooks]:  # fmt: skip
    """The playbooks service, in this event loop, with a database of its own, the test's NATS, and the test's
    consulting and investors services to act through."""
    settings = make_settings("playbooks", playbooks_database, nats_server.url, tmp_path)
    running = await start_playbooks(settings, playbooks_config(consulting.address, investors.address))
    await asyncio.wait_for(running.runtime.ready.wait(), 10)
    yield running
    await running.close()
