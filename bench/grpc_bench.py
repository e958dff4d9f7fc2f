"""`make bench`: throughput and latency of the hub's services next to a raw grpc.aio echo server.

Every server is its own process, so the client never shares an event loop with what it measures: the
echo server (a generic bytes handler, no interceptors), nats-server from the wheel, and the services
exactly as deployed (`python -m services.<name>`, SQLite under a temporary directory).
Each case runs a warm-up, then a fixed duration with N calls kept in flight; the table gives calls/s,
p50/p99 latency and calls/s as a fraction of a baseline measured in the same run (the echo server at the
same in-flight, unless the case names another). Results also go to var/bench/results.json. Reads run
first, writes last, and after seeding and each write case the bench waits until the event relay and the
stats consumer have caught up, so their background writes do not skew the next case.

Parts (--only; all by default):
- companies: GetCompany, CreateCompany.
- investors (bench/services_bench.py): MatchInvestors on the admin API and ListIntroductions on the partner
  API (plaintext on loopback, with a key from CreateApiKey) after seeding 20 firms with theses and
  introductions to one firm.
- consulting (bench/services_bench.py): FindAvailableSlots over 50 mentors x 4 weeks with 10k sessions
  present (--sessions; the first 50 booked through ScheduleSession, the rest through the service's store
  straight into its database; counted before measuring, and the bench stops if short), and ScheduleSession.
- dashboard (bench/hubctl_bench.py): hubctl's dashboard composition with every service answering (the
  notifications service runs too), beside the same composition over echo; the command as a process.
- import (bench/hubctl_bench.py): `hubctl import companies` of a generated CSV (--import-rows), then the
  same file again, as rows/s beside sequential synchronous echo calls.
The companies service always runs (the others learn of companies from its events).

Options: --seconds (per case), --warmup (per case), --in-flight 1,16, --only PARTS, --sessions N,
--import-rows N, --json PATH.
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
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hub.companies.v1 import companies_pb2 as pb
from hub.companies.v1 import companies_pb2_grpc

from bench import hubctl_bench, services_bench
from bench.results import Failed, Result, summarize
from hubcore.natsserver import NatsServer, free_port
from hubcore.settings import DEFAULT_PORTS, PROJECT_DIR, token_hash

ECHO_METHOD = "/bench.Echo/Echo"
SEED_COMPANIES = 200

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


PARTS = ("companies", "investors", "consulting", "dashboard", "import")


async def client(
    args: argparse.Namespace,
    echo_port: int,
    ports: dict[str, int],
    token: str,
    data_dir: Path,
    consulting_url: str,
    seeded: dict[str, Any],
) -> list[Result]:
    companies_port = ports["companies"]
    metadata = (("authorization", f"Bearer {token}"),)
    results: list[Result] = []
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{echo_port}") as echo_channel,
        grpc.aio.insecure_channel(f"127.0.0.1:{companies_port}") as channel,
        grpc.aio.insecure_channel(f"127.0.0.1:{ports.get('consulting', 0)}") as consulting_channel,
    ):
        stub = companies_pb2_grpc.CompanyServiceStub(channel)
        health = health_pb2_grpc.HealthStub(channel)
        echo_rpc = echo_channel.unary_unary(ECHO_METHOD)  # bytes in, bytes out

        async def serving() -> None:
            status = (await health.Check(health_pb2.HealthCheckRequest(), timeout=1)).status
            if status != health_pb2.HealthCheckResponse.SERVING:
                raise grpc.aio.AioRpcError(grpc.StatusCode.UNAVAILABLE, grpc.aio.Metadata(), grpc.aio.Metadata())

        await wait_ready(serving)

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

        created = 0  # companies the service has acknowledged; its stats read model catches up to this

        async def create_company(n: int) -> Any:
            nonlocal created
            company = await stub.CreateCompany(new_company(n), metadata=metadata)
            created += 1
            return company

        async def settle() -> None:
            """Waits until the relay and the stats consumer have caught up with every create, so that
            their background writes do not spill into the next case."""
            started = time.perf_counter()
            async with asyncio.timeout(120):
                while True:
                    stats = await stub.GetCompanyStats(pb.GetCompanyStatsRequest(), metadata=metadata)
                    if stats.total >= created:
                        break
                    await asyncio.sleep(0.1)
            print(f"  (events of {created} creates applied; waited {time.perf_counter() - started:.1f} s)", flush=True)

        names = [(await create_company(n)).name for n in range(SEED_COMPANIES)]
        # The echo payload is a real GetCompany response, so both carry the same bytes back.
        payload = (await stub.GetCompany(pb.GetCompanyRequest(name=names[0]), metadata=metadata)).SerializeToString()
        await wait_ready(lambda: echo_rpc(payload, timeout=1))
        print(f"seeded {len(names)} companies; echo payload {len(payload)} bytes", flush=True)
        seeded["companies"] = len(names)
        await settle()

        async def echo(n: int) -> Any:
            return await echo_rpc(payload, metadata=metadata)

        async def get_company(n: int) -> Any:
            return await stub.GetCompany(pb.GetCompanyRequest(name=names[n % len(names)]), metadata=metadata)

        async def once(name: str, call: Call, in_flight: int, baseline: str) -> Result:
            return await measure(name, call, in_flight, args.seconds, args.warmup, baseline)

        # Reads first.
        for in_flight in args.in_flight:
            results.append(await measure("echo", echo, in_flight, args.seconds, args.warmup))
            if "companies" in args.only:
                results.append(await measure("GetCompany", get_company, in_flight, args.seconds, args.warmup))

        async def every_in_flight(name: str, call: Call) -> None:
            for in_flight in args.in_flight:
                results.append(await measure(name, call, in_flight, args.seconds, args.warmup))

        if "investors" in args.only:
            await services_bench.investors(
                ports["investors"], ports["investors_partner"], token, names, every_in_flight
            )
        schedule = None
        if "consulting" in args.only:
            seeded["consulting"], schedule = await services_bench.consulting(
                consulting_channel, token, names, every_in_flight,
                database_url=consulting_url, sessions_wanted=args.sessions,
            )  # fmt: skip
        # hubctl's addresses: the services this run started (all of them when the dashboard is measured).
        addresses = {name: f"127.0.0.1:{port}" for name, port in ports.items() if name in DEFAULT_PORTS}
        if "dashboard" in args.only or "import" in args.only:
            results.append(await hubctl_bench.sync_echo(f"127.0.0.1:{echo_port}", payload, token, once))
        if "dashboard" in args.only:
            results += await hubctl_bench.dashboard_cases(
                addresses, f"127.0.0.1:{echo_port}", payload, token, data_dir, once
            )
        # Writes last: each leaves background work (relay, consumers) that would slow what follows.
        if schedule is not None:
            await every_in_flight("ScheduleSession", schedule)
        if "companies" in args.only:
            for in_flight in args.in_flight:
                results.append(await measure("CreateCompany", create_company, in_flight, args.seconds, args.warmup))
                await settle()
        if "import" in args.only:
            results += await hubctl_bench.import_cases(addresses, token, data_dir, args.import_rows)
            created += args.import_rows
            await settle()
    by_name = {(r.method, r.in_flight): r for r in results}
    for result in results:
        base = by_name.get((result.baseline, result.in_flight))
        if base is not None and base is not result and base.calls_per_s:
            result.vs_baseline = round(result.calls_per_s / base.calls_per_s, 4)
    return results


ORDER = [
    "echo", "GetCompany", "CreateCompany", "MatchInvestors", "P.ListIntros", "FindSlots", "ScheduleSession",
    "echo (sync)", "dashboard/echo", "dashboard", "dashboard: companies", "dashboard: program",
    "dashboard: investors", "dashboard: consulting", "dashboard: notifications", "hubctl --help (process)",
    "hubctl dashboard (process)", "hubctl import (create)", "hubctl import (re-run)",
]  # fmt: skip


def table(results: list[Result]) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = [
        f"{'case':<27} {'in-flight':>9} {'calls/s':>9} {'p50 ms':>9} {'p99 ms':>9} {'errors':>6}  ratio",
    ]
    order = {name: n for n, name in enumerate(ORDER)}
    for r in sorted(results, key=lambda r: (order.get(r.method, 99), r.in_flight)):
        ratio = "-" if r.vs_baseline is None else f"{r.vs_baseline:.1%} of {r.baseline}"
        lines.append(
            f"{r.method:<27} {r.in_flight:>9} {r.calls_per_s:>9.1f} {ms(r.p50_ms):>9} {ms(r.p99_ms):>9} "
            f"{r.errors:>6}  {ratio}"
        )
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
        "--sessions",
        type=int,
        default=services_bench.SESSIONS_TARGET,
        help="consulting sessions present when FindAvailableSlots is measured (those beyond 10k lie after the "
        "4 weeks searched)",
    )
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
            # The companies service always runs: investors and consulting learn of companies from its events.
            # The dashboard wants every service answering, notifications too.
            everything = "dashboard" in args.only
            services = (
                ["companies"]
                + [name for name in ("investors", "consulting") if name in args.only or everything]
                + (["notifications"] if everything else [])
            )
            ports = {name: free_port() for name in services}
            if "investors" in services:
                ports["investors_partner"] = free_port()
            service_env = env | {
                "HUB_DATA_DIR": str(data_dir),
                "HUB_NATS_URL": nats.url,
                "HUB_ADMIN_TOKEN_SHA256": token_hash(token),
                "HUB_LOG_LEVEL": "warning",
                # The partner API's per-key rate limit (5/s) would make ListIntroductions measure the limiter.
                "HUB_PARTNER_RATE": "1000000",
                "HUB_PARTNER_BURST": "1000000",
                # Notifications: no mail server (nothing is due to anyone in the bench) and no clock rules.
                "HUB_SMTP_HOST": "127.0.0.1",
                "HUB_SMTP_PORT": str(free_port()),
                "HUB_NOTIFY_CLOCK_SECONDS": "0",
            }
            consulting_url = (
                service_env.get("HUB_CONSULTING_DATABASE_URL")
                or service_env.get("HUB_DATABASE_URL")
                or f"sqlite+aiosqlite:///{data_dir / 'consulting.db'}"
            )
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
            results, loop = run_loop(client(args, echo_port, ports, token, data_dir, consulting_url, seeded))
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

    info = {
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
    }
    print()
    print(
        f"client loop: {loop}; python {info['python']}; grpcio {info['grpcio']}; {info['cpus']} CPUs; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after; {wall:.0f} s"
    )
    print("Ratios are calls/s (rows/s for import) against a baseline of this same run: compare ratios, not runs.")
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
