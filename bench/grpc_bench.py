"""`make bench`: throughput and latency of the hub's services next to a raw grpc.aio echo server.

Every server is its own process, so the client never shares an event loop with what it measures: the
echo server (a generic bytes handler, no interceptors), nats-server from the wheel, and the services
exactly as deployed (`python -m services.<name>`, SQLite under a temporary directory, or with --db postgres
(`make bench DB=postgres`) one fresh PostgreSQL database per service, hub_bench_<service>, created on the
server --postgres names and dropped afterwards).
Each case runs a warm-up, then a fixed duration with N calls kept in flight; the table gives calls/s,
p50/p99 latency and calls/s as a fraction of a baseline measured in the same run (the echo server at the
same in-flight, unless the case names another). Results also go to var/bench/results.json. Reads run
first, writes last, and after seeding and each write case the bench waits until the event relay and the
stats consumer have caught up, so their background writes do not skew the next case.

The hub is always seeded at scale first (bench/seed.py; --scale full, the default: 10,000 companies, 400
firms and 1,600 partners, 1,000 mentors, 200,000 sessions; --scale tenth or SCALE=tenth for a tenth), and
the read models fed by their events are counted before anything is measured.

Parts (--only; all by default; echo always runs):
- baselines (bench/baselines.py): NATS JetStream publish→deliver on the run's nats-server, and a
  primary-key read of the companies table through the services' SQLAlchemy async engine and through sqlite3.
- companies: GetCompany, ListCompanies (a sector filter over every company), CreateCompany.
- investors (bench/services_bench.py): GetFirm, ListFirms, MatchInvestors, the partner API's
  ListIntroductions (after 20 firms with theses and introductions through the API), UpdateFirm.
- consulting (bench/services_bench.py): sessions on a grid (the first 50 through ScheduleSession, the rest
  through the store; counted and checked for overlaps before measuring), FindAvailableSlots over 50 mentors
  x 4 weeks, GetSession, a ListSessions page, ScheduleSession.
- notifications: GetRecipient, ListRecipients, UpdatePreference over the seeded partners and mentors.
- events (bench/events_bench.py): UpdateCompany offered open-loop at --event-rate (500/s) for
  --event-seconds; latency from the outbox commit to the consulting and investors directories' commits.
- dashboard (bench/hubctl_bench.py): hubctl's dashboard composition beside the same composition over echo;
  the command as a process.
- console (bench/console_bench.py): the console's home page, a company's page and one mentor's calendar week
  (HTTP GET with a signed-in session; p50/p99 are the time to the first byte), each beside the gRPC calls that
  page makes, made at once.
- import (bench/hubctl_bench.py): `hubctl import companies` of a generated CSV (--import-rows), then the
  same file again, as rows/s beside sequential synchronous echo calls.

Options: --scale, --db sqlite|postgres, --postgres URL, --seconds (per case), --warmup (per case),
--in-flight 1,16, --only PARTS, --sessions N, --event-rate, --event-seconds, --import-rows N, --json PATH.
`make bench-check` (bench/check.py) compares the ratios of var/bench/results.json with the committed baseline.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import asyncpg
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hub.companies.v1 import companies_pb2 as pb
from hub.companies.v1 import companies_pb2_grpc

from bench import baselines, console_bench, events_bench, hubctl_bench, seed, services_bench
from bench.results import Failed, Result, summarize
from hubcore.settings import DEFAULT_PORTS, PROJECT_DIR, token_hash
from hublocal.natsserver import NatsServer, free_port

ECHO_METHOD = "/bench.Echo/Echo"

Call = Callable[[int], Awaitable[Any]]  # one RPC; the argument is a running call number


def run_loop(main: Awaitable[Any]) -> tuple[Any, str]:
    """Runs main on uvloop when it is installed (as the services do), else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main), "asyncio"  # type: ignore[arg-type]
    return uvloop.run(main), f"uvloop {uvloop.__version__}"  # type: ignore[arg-type]


# The echo server: `python -m bench.grpc_bench --echo-server PORT`.


async def serve_echo(port: int) -> None:
    async def echo(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        return request

    # No serializers: the handler gets and returns raw bytes, the cheapest unary call grpc.aio can do.
    handler = grpc.method_handlers_generic_handler("bench.Echo", {"Echo": grpc.unary_unary_rpc_method_handler(echo)})
    server = grpc.aio.server(options=[("grpc.so_reuseport", 0)])
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port(f"127.0.0.1:{port}")
    await server.start()
    await server.wait_for_termination()


# The client.


async def drive(call: Call, in_flight: int, seconds: float, counter: list[int]) -> tuple[list[float], int, float]:
    """Keeps in_flight calls going for `seconds`; returns each call's latency (s), the errors, the elapsed time."""
    latencies: list[float] = []
    errors = 0
    clock = time.perf_counter
    deadline = clock() + seconds

    async def worker() -> None:
        nonlocal errors
        while clock() < deadline:
            n = counter[0]
            counter[0] += 1
            began = clock()
            try:
                await call(n)
            except (grpc.RpcError, Failed):
                errors += 1
                continue
            latencies.append(clock() - began)

    started = clock()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return latencies, errors, clock() - started


async def measure(
    name: str, call: Call, in_flight: int, seconds: float, warmup: float, baseline: str = "echo"
) -> Result:
    counter = [0]
    await drive(call, in_flight, warmup, counter)
    latencies, errors, elapsed = await drive(call, in_flight, seconds, counter)
    result = summarize(name, in_flight, latencies, errors, elapsed, baseline)
    print(f"  {name:<15} in-flight {in_flight:>2}: {result.calls_per_s:>8.1f} calls/s", flush=True)
    return result


async def wait_ready(check: Callable[[], Awaitable[Any]]) -> None:
    """Retries check until it succeeds (a server process takes a moment to migrate and listen)."""
    async with asyncio.timeout(60):
        while True:
            try:
                await check()
                return
            except grpc.RpcError:
                await asyncio.sleep(0.2)


PARTS = (
    "baselines", "companies", "investors", "consulting", "notifications", "events", "dashboard", "console", "import",
)  # fmt: skip


async def seed_at_scale(
    args: argparse.Namespace, urls: dict[str, str], scale: seed.Scale, seeded: dict[str, Any]
) -> tuple[list[str], list[str], list[str]]:
    """Companies, then firms, partners and mentors at once (different files); then waits until every read
    model fed by their events has them all, and fails loudly if one falls short."""
    from services.companies import tables as companies_store
    from services.consulting import store as consulting_store
    from services.investors import store as investors_store
    from services.notifications import domain as people
    from services.notifications import store as notifications_store

    began = time.perf_counter()
    companies = await seed.companies(urls["companies"], scale.companies)
    companies_seconds = time.perf_counter() - began
    (firms, _partners), mentors = await asyncio.gather(
        seed.investors(urls["investors"], scale.firms, scale.partners), seed.mentors(urls["consulting"], scale.mentors)
    )
    stored_seconds = time.perf_counter() - began
    print(
        f"seeded {len(companies):,} companies ({companies_seconds:.1f} s), {scale.firms:,} firms and "
        f"{scale.partners:,} partners, {scale.mentors:,} mentors through the services' stores and outboxes "
        f"({stored_seconds:.1f} s in all); waiting for their events to be applied…",
        flush=True,
    )
    n = scale.companies
    recipients, entities = notifications_store.recipients, notifications_store.entities
    wanted = {
        "companies stats": (urls["companies"], companies_store.stats_companies, [], n),
        "investors directory": (urls["investors"], investors_store.directory, [], n),
        "consulting directory": (urls["consulting"], consulting_store.company_directory, [], n),
        "notifications entities (companies)": (
            urls["notifications"], entities, [entities.c.name.like("companies/%")], n,
        ),
        "notifications recipients (partners, mentors)": (
            urls["notifications"], recipients, [recipients.c.kind.in_([people.PARTNER, people.MENTOR])],
            scale.partners + scale.mentors,
        ),
    }  # fmt: skip
    done = await seed.wait_for_counts(wanted)
    events_seconds = time.perf_counter() - began - stored_seconds
    for what, (count, seconds) in done.items():
        print(f"  {what}: {count:,} after {seconds:.1f} s", flush=True)
    seeded |= {
        "scale": args.scale,
        "companies": len(companies),
        "firms": scale.firms,
        "partners": scale.partners,
        "mentors": len(mentors),
        "store_seconds": round(stored_seconds, 1),
        "events_applied_seconds": round(events_seconds, 1),
        "read_models": {what: {"rows": c, "seconds": s} for what, (c, s) in done.items()},
    }
    return companies, firms, mentors


async def client(
    args: argparse.Namespace,
    echo_port: int,
    ports: dict[str, int],
    token: str,
    data_dir: Path,
    urls: dict[str, str],
    nats_url: str,
    seeded: dict[str, Any],
) -> list[Result]:
    scale = seed.SCALES[args.scale]
    metadata = (("authorization", f"Bearer {token}"),)
    results: list[Result] = []
    channels = {name: grpc.aio.insecure_channel(f"127.0.0.1:{port}") for name, port in ports.items()}
    async with grpc.aio.insecure_channel(f"127.0.0.1:{echo_port}") as echo_channel:
        channel = channels["companies"]
        stub = companies_pb2_grpc.CompanyServiceStub(channel)
        echo_rpc = echo_channel.unary_unary(ECHO_METHOD)  # bytes in, bytes out
        for name in ("companies", "investors", "consulting", "notifications"):
            health = health_pb2_grpc.HealthStub(channels[name])

            async def serving(health: Any = health) -> None:
                status = (await health.Check(health_pb2.HealthCheckRequest(), timeout=1)).status
                if status != health_pb2.HealthCheckResponse.SERVING:
                    raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata())

            await wait_ready(serving)

        names, firms, mentors = await seed_at_scale(args, urls, scale, seeded)

        def new_company(n: int) -> pb.CreateCompanyRequest:
            return pb.CreateCompanyRequest(
                company=pb.Company(
                    korean_name=f"벤치마크 {n}",
                    english_name=f"Bench {n}",
                    sector=pb.SECTOR_ROBOTICS,
                    stage=pb.STAGE_SEED,
                    tags=["bench", "ai"],
                ),
                request_id=f"bench-{secrets.token_hex(8)}",  # as well-behaved clients send (AIP-155)
            )

        created = len(names)  # companies the service has acknowledged; its stats read model catches up to this

        async def create_company(n: int) -> Any:
            nonlocal created
            company = await stub.CreateCompany(new_company(n), metadata=metadata)
            created += 1
            return company

        async def settle() -> None:
            """Waits until the relay and the stats consumer have caught up with every create, so that
            their background writes do not spill into the next case."""
            started = time.perf_counter()
            async with asyncio.timeout(300):
                while True:
                    stats = await stub.GetCompanyStats(pb.GetCompanyStatsRequest(), metadata=metadata)
                    if stats.total >= created:
                        break
                    await asyncio.sleep(0.1)
            print(f"  (events of {created} creates applied; waited {time.perf_counter() - started:.1f} s)", flush=True)

        # The echo payload is a real GetCompany response, so both carry the same bytes back.
        payload = (await stub.GetCompany(pb.GetCompanyRequest(name=names[0]), metadata=metadata)).SerializeToString()
        await wait_ready(lambda: echo_rpc(payload, timeout=1))
        print(f"echo payload {len(payload)} bytes", flush=True)

        async def echo(n: int) -> Any:
            return await echo_rpc(payload, metadata=metadata)

        async def get_company(n: int) -> Any:
            return await stub.GetCompany(pb.GetCompanyRequest(name=names[n * 7919 % len(names)]), metadata=metadata)

        list_request = pb.ListCompaniesRequest(filter='sector = "robotics"', page_size=50)
        first_page = await stub.ListCompanies(list_request, metadata=metadata)
        print(f"ListCompanies sector = robotics: {len(first_page.companies)} on the first page", flush=True)

        async def list_companies(n: int) -> Any:
            return await stub.ListCompanies(list_request, metadata=metadata)

        async def once(name: str, call: Call, in_flight: int, baseline: str) -> Result:
            return await measure(name, call, in_flight, args.seconds, args.warmup, baseline)

        async def every_in_flight(name: str, call: Call) -> None:
            for in_flight in args.in_flight:
                results.append(await measure(name, call, in_flight, args.seconds, args.warmup))

        # Baselines, then reads.
        await every_in_flight("echo", echo)
        if "baselines" in args.only:
            results.extend(await baselines.nats_cases(nats_url, args.in_flight, once))
            company_ids = [int(name.rsplit("/", 1)[1]) for name in names]
            results.extend(await baselines.database_cases(urls["companies"], company_ids, args.in_flight, once))
        if "companies" in args.only:
            await every_in_flight("GetCompany", get_company)
            await every_in_flight("ListCompanies", list_companies)
        update_firm = schedule = update_preference = None
        if "investors" in args.only:
            update_firm = await services_bench.investors(
                channels["investors"], ports["investors_partner"], token, names, firms, every_in_flight
            )
        if "consulting" in args.only:
            seeded["consulting"], schedule = await services_bench.consulting(
                channels["consulting"], token, names, mentors, every_in_flight,
                database_url=urls["consulting"], sessions_wanted=args.sessions or scale.sessions,
            )  # fmt: skip
        if "notifications" in args.only:
            seeded["notifications"], update_preference = await services_bench.notifications(
                channels["notifications"], token, every_in_flight
            )
        addresses = {name: f"127.0.0.1:{port}" for name, port in ports.items() if name in DEFAULT_PORTS}
        if "dashboard" in args.only or "import" in args.only:
            results.append(await hubctl_bench.sync_echo(f"127.0.0.1:{echo_port}", payload, token, once))
        if "dashboard" in args.only:
            results += await hubctl_bench.dashboard_cases(
                addresses, f"127.0.0.1:{echo_port}", payload, token, data_dir, once
            )
        if "console" in args.only:
            console_env = {f"HUB_{name.upper()}_ADDRESS": address for name, address in addresses.items()} | {
                "PYTHONPATH": f"{PROJECT_DIR}{os.pathsep}{PROJECT_DIR / 'gen'}", "HUB_NATS_URL": nats_url,
            }  # fmt: skip
            results += await console_bench.console_cases(
                os.environ | console_env, addresses, token, names[0], mentors[0], args.in_flight, once
            )
        # Writes last: each leaves background work (relay, consumers) that would slow what follows.
        for name, call in (
            ("ScheduleSession", schedule), ("UpdateFirm", update_firm), ("UpdatePreference", update_preference),
        ):  # fmt: skip
            if call is not None:
                await every_in_flight(name, call)
        if "companies" in args.only:
            for in_flight in args.in_flight:
                results.append(await measure("CreateCompany", create_company, in_flight, args.seconds, args.warmup))
                await settle()
        if "events" in args.only:
            results += await events_bench.event_latency(
                stub, metadata, names, rate=args.event_rate, seconds=args.event_seconds, urls=urls
            )
        if "import" in args.only:
            results += await hubctl_bench.import_cases(addresses, token, data_dir, args.import_rows)
            created += args.import_rows
            await settle()
    for open_channel in channels.values():
        await open_channel.close()
    compare(results)
    return results


# A read that goes to the database is also set beside the primary-key read through the services' engine.
DATABASE_READS = {"GetCompany", "GetFirm", "GetSession", "GetRecipient"}


def compare(results: list[Result]) -> None:
    """Each result's ratios to the baselines of this run: calls/s against its baseline at the same in-flight,
    p50 latency against NATS pub→deliver at 1 in flight for the event cases."""
    by_name = {(r.method, r.in_flight): r for r in results}
    for result in results:
        if result.method in DATABASE_READS:
            result.also.append("PK read (SQLAlchemy)")
        if result.compare == "p50 latency":
            base = by_name.get((result.baseline, 1))
            if base is not None and base.p50_ms and result.p50_ms:
                result.vs_baseline = round(result.p50_ms / base.p50_ms, 2)
            continue
        for name in [result.baseline, *result.also]:
            base = by_name.get((name, result.in_flight))
            if base is None or base is result or not base.calls_per_s:
                continue
            ratio = round(result.calls_per_s / base.calls_per_s, 4)
            if name == result.baseline:
                result.vs_baseline = ratio
            else:
                result.vs[name] = ratio


ORDER = [
    "echo", "NATS pub→deliver", "PK read (sqlite3)", "PK read (asyncpg)", "PK read (SQLAlchemy)",
    "GetCompany", "ListCompanies", "CreateCompany", "GetFirm", "ListFirms", "MatchInvestors", "P.ListIntros",
    "UpdateFirm", "FindSlots", "GetSession", "ListSessions", "ScheduleSession", "GetRecipient", "ListRecipients",
    "UpdatePreference", "event → consulting directory", "event → investors directory",
    "echo (sync)", "dashboard/echo", "dashboard", "dashboard: companies", "dashboard: program",
    "dashboard: investors", "dashboard: consulting", "dashboard: notifications", "hubctl --help (process)",
    "hubctl dashboard (process)", "hubctl import (create)", "hubctl import (re-run)",
]  # fmt: skip


def table(results: list[Result]) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = [
        f"{'case':<29} {'in-flight':>9} {'calls/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'errors':>6}  ratio (same run)",
    ]
    order = {name: n for n, name in enumerate(ORDER)}
    for r in sorted(results, key=lambda r: (order.get(r.method, 99), r.in_flight)):
        if r.vs_baseline is None:
            ratio = "-"
        elif r.compare == "p50 latency":
            ratio = f"p50 {r.vs_baseline:.1f}x {r.baseline}'s"
        else:
            ratio = f"{r.vs_baseline:.1%} of {r.baseline}"
        ratio += "".join(f", {value:.1%} of {name}" for name, value in r.vs.items())
        flight = f"{r.offered_per_s:g}/s" if r.offered_per_s else str(r.in_flight)
        lines.append(
            f"{r.method:<29} {flight:>9} {r.calls_per_s:>9.1f} {ms(r.p50_ms):>9} {ms(r.p99_ms):>9} "
            f"{r.errors:>6}  {ratio}"
        )
        if r.note:
            lines.append(f"{'':<29}   {r.note}")
    return "\n".join(lines)


def wait_port(port: int, process: subprocess.Popen[bytes], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port} within {timeout:.0f} s")


BENCH_DATABASE = "hub_bench_{service}"


async def fresh_databases(server: str, services: list[str]) -> str:
    """One empty database per service on the server (dropped first if a run left it); the services' URL."""
    await drop_databases(server, services)
    connection = await asyncpg.connect(server)
    try:
        for name in services:
            await connection.execute(f'CREATE DATABASE "{BENCH_DATABASE.format(service=name)}"')
    finally:
        await connection.close()
    base = server.rsplit("/", 1)[0].replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{BENCH_DATABASE}"


async def drop_databases(server: str, services: list[str]) -> None:
    connection = await asyncpg.connect(server)
    try:
        for name in services:
            await connection.execute(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE.format(service=name)}" WITH (FORCE)')
    finally:
        await connection.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="measured duration of each case")
    parser.add_argument("--warmup", type=float, default=1.5, help="warm-up before each case")
    parser.add_argument("--in-flight", type=lambda s: [int(x) for x in s.split(",")], default=[1, 16])
    parser.add_argument(
        "--only",
        type=lambda s: [p.strip() for p in s.split(",") if p.strip()],
        default=list(PARTS),
        help=f"comma-separated parts to measure: {','.join(PARTS)} (echo always runs)",
    )
    parser.add_argument(
        "--scale",
        choices=sorted(seed.SCALES),
        default=os.environ.get("SCALE") or "full",
        help="what is seeded: full (the issue's 10,000 companies, 2,000 investors, 1,000 mentors, 200,000 "
        "sessions; the default) or tenth (a tenth of each, for a quick run); also from $SCALE",
    )
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgres"],
        default=os.environ.get("DB") or "sqlite",
        help="the services' databases: SQLite files (the default) or PostgreSQL; also from $DB",
    )
    parser.add_argument(
        "--postgres",
        default=os.environ.get("HUB_BENCH_POSTGRES_URL") or "postgresql://postgres@127.0.0.1:5432/postgres",
        help="with --db postgres: a server where the bench may create and drop hub_bench_* databases",
    )
    parser.add_argument("--sessions", type=int, default=0, help="consulting sessions to seed (default: the scale's)")
    parser.add_argument("--event-rate", type=float, default=500.0, help="events/s offered in the event latency case")
    parser.add_argument("--event-seconds", type=float, default=10.0, help="how long that rate is offered")
    parser.add_argument("--import-rows", type=int, default=2000, help="rows of the CSV `hubctl import` reads")
    parser.add_argument("--json", type=Path, default=PROJECT_DIR / "var" / "bench" / "results.json")
    parser.add_argument("--echo-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if unknown := set(args.only) - set(PARTS):
        parser.error(f"--only: unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    if args.echo_server:
        run_loop(serve_echo(args.echo_server))
        return 0

    token = secrets.token_urlsafe(24)
    env = os.environ | {"PYTHONPATH": f"{PROJECT_DIR}{os.pathsep}{PROJECT_DIR / 'gen'}"}
    processes: list[subprocess.Popen[bytes]] = []
    with tempfile.TemporaryDirectory(prefix="hub-bench-") as tmp:
        data_dir = Path(tmp)
        nats = NatsServer(port=free_port(), data_dir=data_dir / "nats").start(log_file=data_dir / "nats.log")
        try:
            echo_port = free_port()
            echo = subprocess.Popen(
                [sys.executable, "-m", "bench.grpc_bench", "--echo-server", str(echo_port)], env=env, cwd=PROJECT_DIR
            )
            processes.append(echo)
            # Every service runs whatever is measured: the hub is seeded at scale, read models and all.
            services = ["companies", "investors", "consulting", "notifications", "playbooks"]
            ports = {name: free_port() for name in services}
            ports["investors_partner"] = free_port()
            service_env = env | {
                "HUB_DATA_DIR": str(data_dir),
                "HUB_NATS_URL": nats.url,
                "HUB_ADMIN_TOKEN_SHA256": token_hash(token),
                "HUB_LOG_LEVEL": "warning",
                # The partner API's per-key rate limit (900 a minute) would make ListIntroductions stop at it.
                "HUB_PARTNER_KEY_LIMIT": "1000000000",
                # The bench's client is one peer: the per-address limit would be what the partner case measures.
                "HUB_PARTNER_PEER_RATE": "1000000",
                "HUB_PARTNER_PEER_BURST": "1000000",
                # Notifications: no mail server (nothing is due to anyone in the bench) and no clock rules.
                "HUB_SMTP_HOST": "127.0.0.1",
                "HUB_SMTP_PORT": str(free_port()),
                "HUB_NOTIFY_CLOCK_SECONDS": "0",
            }
            if args.db == "postgres":
                service_env["HUB_DATABASE_URL"] = run_loop(fresh_databases(args.postgres, services))[0]
            urls = {
                name: service_env.get(f"HUB_{name.upper()}_DATABASE_URL")
                or service_env.get("HUB_DATABASE_URL", "").replace("{service}", name)
                or f"sqlite+aiosqlite:///{data_dir / (name + '.db')}"
                for name in services
            }
            service_env |= {f"HUB_{name.upper()}_PORT": str(port) for name, port in ports.items()}
            started: dict[str, subprocess.Popen[bytes]] = {}
            for name in services:
                with open(data_dir / f"{name}.log", "wb") as log_out:
                    started[name] = subprocess.Popen(
                        [sys.executable, "-m", f"services.{name}"],
                        env=service_env,
                        cwd=PROJECT_DIR,
                        stdout=log_out,
                        stderr=subprocess.STDOUT,
                    )
                processes.append(started[name])
            wait_port(echo_port, echo, "echo server")
            for name, process in started.items():
                wait_port(ports[name], process, f"{name} service")
            if "investors" in started:
                wait_port(ports["investors_partner"], started["investors"], "investors partner API")
            print(f"gRPC bench: {args.seconds:g} s per case after {args.warmup:g} s warm-up", flush=True)
            load_before = os.getloadavg()
            began = time.perf_counter()
            seeded: dict[str, Any] = {}
            loads: list[float] = []
            sampling = threading.Event()

            def sample_load() -> None:  # the 1-minute load average every 10 s: other work skews every figure
                while not sampling.wait(10):
                    loads.append(os.getloadavg()[0])

            sampler = threading.Thread(target=sample_load, daemon=True)
            sampler.start()
            try:
                results, loop = run_loop(
                    client(args, echo_port, ports, token, data_dir, urls, nats.url, seeded)
                )  # fmt: skip
            finally:
                sampling.set()
            load_after = os.getloadavg()
            wall = time.perf_counter() - began
        except BaseException:
            for log in sorted(data_dir.glob("*.log")):
                if log.name != "nats.log":
                    sys.stderr.write(f"--- {log.name}\n" + log.read_text(errors="replace")[-4000:])
            raise
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
            nats.stop()
            if args.db == "postgres":
                run_loop(drop_databases(args.postgres, services))

    info = {
        "db": args.db,
        "scale": args.scale,
        "client_loop": loop,
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "cpus": os.cpu_count(),
        "seconds_per_case": args.seconds,
        "warmup_seconds": args.warmup,
        "command": " ".join(["python -m bench.grpc_bench", *sys.argv[1:]]),
        "parts": args.only,
        "seeded": seeded,
        "wall_seconds": round(wall, 1),
        # 1-minute load average before and after: other work on the machine skews every figure
        "load_average": [round(load_before[0], 2), round(load_after[0], 2)],
        "load_average_during": {
            "min": round(min(loads, default=load_before[0]), 2),
            "mean": round(sum(loads) / len(loads), 2) if loads else None,
            "max": round(max(loads, default=load_before[0]), 2),
            "samples_every_s": 10,
        },
    }
    print()
    print(
        f"client loop: {loop}; python {info['python']}; grpcio {info['grpcio']}; {info['cpus']} CPUs; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after (during: "
        f"{info['load_average_during']['min']}-{info['load_average_during']['max']}, mean "
        f"{info['load_average_during']['mean']}); {wall:.0f} s"
    )
    print(
        "Ratios are calls/s (rows/s for import) against baselines of this same run (p50 latency for events): "
        "compare ratios, not runs."
    )
    print(table(results))
    target = next((r for r in results if r.method == "GetCompany" and r.in_flight == 16), None)
    if target and target.vs_baseline is not None:
        verdict = "meets" if target.vs_baseline >= 0.6 else "misses"
        print(f"GetCompany at 16 in flight: {target.vs_baseline:.0%} of echo ({verdict} the 60% target)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(info | {"results": [asdict(r) for r in results]}, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
