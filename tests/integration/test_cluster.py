"""The hub as it runs beyond one machine, on this one: three nats-server processes as a JetStream cluster
(stream HUB with 3 replicas), two replicas of companies, consulting and notifications as real processes
sharing PostgreSQL. A steady stream of writes runs while one NATS node is SIGKILLed, then one replica of
each service, and all are restarted. Afterwards every committed change has exactly one effect in every
consumer, every follow-up sent one message, and nothing is left in an outbox or a dead-letter table.

PostgreSQL only (replicas share a database; a SQLite file belongs to one process). A longer soak runs
with HUB_TEST_SOAK_SECONDS=300."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
import sqlalchemy as sa
from hub.companies.v1 import companies_pb2 as pb
from hub.companies.v1 import companies_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from hubcore import events
from hubcore.db import dead_letters, outbox, processed_events
from hubcore.server import is_serving
from hubcore.settings import PROJECT_DIR, token_hash
from hublocal.mailsink import MailSink
from hublocal.natsserver import NatsServer, free_port
from services.consulting.store import company_directory
from services.notifications.store import deliveries, follow_ups
from tests.conftest import ADMIN, ADMIN_TOKEN, PG_URL, eventually

pytestmark = pytest.mark.skipif(not PG_URL, reason="replicas share PostgreSQL: set HUB_TEST_DATABASE_URL")
SOAK_SECONDS = float(os.environ.get("HUB_TEST_SOAK_SECONDS", "0"))
SERVICES = ("companies", "consulting", "notifications")


@dataclass
class Replica:
    service: str
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", f"services.{self.service}"],
                cwd=PROJECT_DIR,
                env=os.environ | self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                raise AssertionError(f"{self.service} on {self.port} did not stop within 30 s of SIGTERM") from None


async def serving(replica: Replica) -> bool:
    return await asyncio.to_thread(is_serving, f"127.0.0.1:{replica.port}", 1.0)


@asynccontextmanager
async def nats_cluster(tmp_path: Path) -> AsyncIterator[list[NatsServer]]:
    ports, routes = [free_port() for _ in range(3)], [free_port() for _ in range(3)]
    nodes = [
        NatsServer(
            port=ports[i],
            data_dir=tmp_path / f"nats{i}",
            name=f"n{i}",
            cluster_port=routes[i],
            routes=tuple(p for p in routes if p != routes[i]),
        )
        for i in range(3)
    ]
    for node in nodes:
        node.start(log_file=tmp_path / f"nats{node.name}.log")
    try:
        yield nodes
    finally:
        for node in nodes:
            node.stop()


async def cluster_ready(urls: str) -> None:
    """Waits for the JetStream meta leader: until then the cluster takes no stream."""
    nc = await nats.connect(urls.split(","))
    try:

        async def ready() -> bool:
            try:
                await nc.jetstream().account_info()
                return True
            except Exception:
                return False

        await eventually(ready, timeout=30, interval=0.2)
    finally:
        await nc.close()


async def count(engine: AsyncEngine, query: Any) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(query)).scalar_one())


async def write_steadily(stubs: list[Any], companies: int, made: list[str], pause: float) -> int:
    """Registers companies and moves each to SELECTED, round-robin over the replicas; a call that fails
    (its replica died, NATS is electing) is retried on the other replica with the same request_id.
    Returns how many calls had to be retried."""
    retried = 0

    async def call(i: int, method: str, request: Any) -> Any:
        nonlocal retried
        for attempt in range(60):
            stub = stubs[(i + attempt) % len(stubs)]
            try:
                return await getattr(stub, method)(request, metadata=ADMIN, timeout=5)
            except grpc.aio.AioRpcError as exc:
                if exc.code() == grpc.StatusCode.FAILED_PRECONDITION and method == "ChangeCompanyStatus":
                    return None  # the first attempt committed before its answer was lost: already SELECTED
                if exc.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise
                retried += 1
                await asyncio.sleep(0.2)
        raise AssertionError(f"{method} #{i} failed on every replica for 12 s")

    for i in range(companies):
        company = pb.Company(korean_name=f"클러스터{i}", sector=pb.SECTOR_MANUFACTURING)
        created = await call(i, "CreateCompany", pb.CreateCompanyRequest(company=company, request_id=f"cluster-{i}"))
        await call(
            i,
            "ChangeCompanyStatus",
            pb.ChangeCompanyStatusRequest(name=created.name, status=pb.COMPANY_STATUS_SELECTED),
        )
        made.append(created.name)
        await asyncio.sleep(pause)
    return retried


@pytest.mark.parametrize("backend", ["postgresql"])
async def test_cluster_survives_a_nats_node_and_a_replica_of_each_service_dying(
    new_database: Callable[[str], Awaitable[str]], tmp_path: Path, mail_sink: MailSink
) -> None:
    urls = {s: await new_database(s) for s in SERVICES}
    engines = {s: create_async_engine(url) for s, url in urls.items()}
    async with nats_cluster(tmp_path) as nodes:
        nats_url = ",".join(n.url for n in nodes)
        await cluster_ready(nats_url)
        common = {
            "HUB_NATS_URL": nats_url,
            "HUB_STREAM_REPLICAS": "3",
            "HUB_DATA_DIR": str(tmp_path),
            "HUB_ADMIN_TOKEN_SHA256": token_hash(ADMIN_TOKEN),
            "HUB_LOG_LEVEL": "warning",
            "HUB_GRACE_PERIOD": "2",
            "HUB_MIGRATE_ON_START": "0",
            "HUB_CONSUMER_ACK_WAIT": "3",  # a killed replica's unacked messages go to the other in 3 s
            "HUB_CONSUMER_MAX_DELIVER": "100",  # no fault here may turn an event into a dead letter
            "HUB_RELAY_SWEEP_SECONDS": "0.5",
            "HUB_SMTP_HOST": "127.0.0.1",
            "HUB_SMTP_PORT": str(mail_sink.port),
            "HUB_PROGRAM_MANAGER_EMAILS": "pm@hub.example",
            "HUB_QUIET_HOURS": "off",
            "HUB_NOTIFY_POLL_SECONDS": "0.1",
            "HUB_NOTIFY_RETRY_BASE": "0.2",
            "HUB_NOTIFY_RETRY_CAP": "1",
            "HUB_NOTIFY_LEASE_SECONDS": "5",
            "HUB_NOTIFY_CLOCK_SECONDS": "0",
        }
        replicas: dict[str, list[Replica]] = {}
        for service in SERVICES:
            env = common | {"HUB_DATABASE_URL": urls[service]}
            migrate = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", f"services.{service}", "migrate"],
                cwd=PROJECT_DIR,
                env=os.environ | env,
                capture_output=True,
                timeout=120,
            )
            assert migrate.returncode == 0, migrate.stdout + migrate.stderr
            replicas[service] = []
            for n in range(2):
                port = free_port()
                replica = Replica(
                    service, port, env | {f"HUB_{service.upper()}_PORT": str(port)}, tmp_path / f"{service}{n}.log"
                )
                replica.start()
                replicas[service].append(replica)
        everyone = [r for rs in replicas.values() for r in rs]
        channels = [grpc.aio.insecure_channel(f"127.0.0.1:{r.port}") for r in replicas["companies"]]
        try:
            for replica in everyone:
                await eventually(lambda r=replica: serving(r), timeout=60, interval=0.2)
            stubs = [companies_pb2_grpc.CompanyServiceStub(c) for c in channels]
            total = 40 if not SOAK_SECONDS else int(SOAK_SECONDS * 10)
            made: list[str] = []
            writer = asyncio.create_task(write_steadily(stubs, total, made, pause=0.05))

            async def progressed(n: int) -> bool:
                return len(made) >= n or writer.done()

            await eventually(lambda: progressed(total // 4), timeout=60)
            nodes[0].stop(kill=True)  # SIGKILL: whatever it held must be on the other two
            await eventually(lambda: progressed(total // 2), timeout=60)
            for service in SERVICES:
                replicas[service][0].kill()
            await eventually(lambda: progressed(3 * total // 4), timeout=60)
            nodes[0].start(log_file=tmp_path / "nats-n0-restarted.log")
            for service in SERVICES:
                replicas[service][0].start()
            retried = await asyncio.wait_for(writer, 300)
            assert len(made) == len(set(made)) == total

            # Every change committed in companies was published, and applied once by each consumer.
            unpublished = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
            await eventually(lambda: _equals(count(engines["companies"], unpublished), 0), timeout=60)
            events_made = await count(engines["companies"], sa.select(sa.func.count()).select_from(outbox))
            assert events_made == 2 * total  # registered + status_changed, no more: no retry wrote twice

            def applied(consumer: str) -> Any:
                return (
                    sa.select(sa.func.count())
                    .select_from(processed_events)
                    .where(processed_events.c.consumer == consumer)
                )

            consumers = {
                "consulting": "consulting-company-directory",
                "notifications": "notifications",
                "companies": "companies-stats",
            }
            for service, consumer in consumers.items():
                await eventually(
                    lambda s=service, c=consumer: _equals(count(engines[s], applied(c)), events_made),
                    timeout=90,
                    interval=0.5,
                )
            selected = (
                sa.select(sa.func.count())
                .select_from(company_directory)
                .where(company_directory.c.status == "SELECTED")
            )
            assert await count(engines["consulting"], selected) == total

            # One note to the program managers per status change, sent once.
            sent = sa.select(sa.func.count()).select_from(deliveries).where(deliveries.c.state == "SENT")
            await eventually(lambda: _equals(count(engines["notifications"], sent), total), timeout=90, interval=0.5)
            assert await count(engines["notifications"], sa.select(sa.func.count()).select_from(follow_ups)) >= total
            ids = [m["Message-ID"] for m in mail_sink.messages]
            assert len(set(ids)) == total, f"{len(set(ids))} distinct messages for {total} notes"

            for service in SERVICES:
                assert await count(engines[service], sa.select(sa.func.count()).select_from(dead_letters)) == 0

            nc = await nats.connect(nats_url.split(","))
            try:
                stream = await nc.jetstream().stream_info(events.STREAM)
            finally:
                await nc.close()
            assert (
                stream.config.num_replicas == 3
                and stream.cluster is not None
                and len(stream.cluster.replicas or []) == 2
            )
            print(
                f"\ncluster: {total} companies, {events_made} events, {retried} calls retried after faults, "
                f"{len(ids) - len(set(ids))} duplicate mails dropped by Message-ID"
            )
        finally:
            for channel in channels:
                await channel.close()
            for replica in everyone:
                replica.stop()
            for engine in engines.values():
                await engine.dispose()


async def _equals(value: Awaitable[int], expected: int) -> bool:
    return await value == expected
