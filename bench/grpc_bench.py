"""`make bench`: throughput and latency of the companies service next to a raw grpc.aio echo server.

Every server is its own process, so the client never shares an event loop with what it measures: the
echo server (a generic bytes handler, no interceptors), nats-server from the wheel, and the companies
service exactly as deployed (`python -m services.companies`, SQLite under a temporary directory).
Each case runs a warm-up, then a fixed duration with N calls kept in flight; the table gives calls/s,
p50/p99 latency and calls/s as a fraction of the echo server at the same in-flight. Results also go to
var/bench.json. Writes run last, and after seeding and each write case the bench waits until the event
relay and the stats consumer have caught up, so their background writes do not skew the next case.

With investors and consulting (bench/services_bench.py): MatchInvestors on the admin API and ListIntroductions
on the partner API (plaintext on loopback, with a key from CreateApiKey) after seeding 20 firms with theses and
introductions to one firm; FindAvailableSlots over 50 mentors x 4 weeks with up to 10k sessions booked through
ScheduleSession (seeding is time-capped; the output says how many), and ScheduleSession itself. The companies
service always runs (the others learn of companies from its events); --only picks the cases measured.

Options: --seconds (per case), --warmup (per case), --in-flight 1,16, --only companies,investors,consulting,
--json PATH.
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
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hub.companies.v1 import companies_pb2 as pb
from hub.companies.v1 import companies_pb2_grpc

from bench import services_bench
from hubcore.natsserver import NatsServer, free_port
from hubcore.settings import PROJECT_DIR, token_hash

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


@dataclass
class Result:
    method: str
    in_flight: int
    calls: int
    errors: int
    seconds: float
    calls_per_s: float
    p50_ms: float
    p99_ms: float
    vs_echo: float | None = None


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


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
            except grpc.RpcError:
                errors += 1
                continue
            latencies.append(clock() - began)

    started = clock()
    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return latencies, errors, clock() - started


async def measure(name: str, call: Call, in_flight: int, seconds: float, warmup: float) -> Result:
    counter = [0]
    await drive(call, in_flight, warmup, counter)
    latencies, errors, elapsed = await drive(call, in_flight, seconds, counter)
    latencies.sort()
    result = Result(
        method=name,
        in_flight=in_flight,
        calls=len(latencies),
        errors=errors,
        seconds=round(elapsed, 3),
        calls_per_s=round(len(latencies) / elapsed, 1),
        p50_ms=round(percentile(latencies, 0.50) * 1000, 3),
        p99_ms=round(percentile(latencies, 0.99) * 1000, 3),
    )
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


PARTS = ("companies", "investors", "consulting")


async def client(args: argparse.Namespace, echo_port: int, ports: dict[str, int], token: str) -> list[Result]:
    companies_port = ports["companies"]
    metadata = (("authorization", f"Bearer {token}"),)
    results: list[Result] = []
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{echo_port}") as echo_channel,
        grpc.aio.insecure_channel(f"127.0.0.1:{companies_port}") as channel,
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
        await settle()

        async def echo(n: int) -> Any:
            return await echo_rpc(payload, metadata=metadata)

        async def get_company(n: int) -> Any:
            return await stub.GetCompany(pb.GetCompanyRequest(name=names[n % len(names)]), metadata=metadata)

        baselines = {}
        for in_flight in args.in_flight:
            baselines[in_flight] = await measure("echo", echo, in_flight, args.seconds, args.warmup)
            results.append(baselines[in_flight])
            if "companies" in args.only:
                results.append(await measure("GetCompany", get_company, in_flight, args.seconds, args.warmup))

        async def every_in_flight(name: str, call: Call) -> None:
            for in_flight in args.in_flight:
                results.append(await measure(name, call, in_flight, args.seconds, args.warmup))

        if "investors" in args.only:
            await services_bench.investors(
                ports["investors"], ports["investors_partner"], token, names, every_in_flight
            )
        if "consulting" in args.only:
            await services_bench.consulting(ports["consulting"], token, names, every_in_flight)
        # Writes last: each create leaves background work (relay, consumer) that would slow what follows.
        if "companies" in args.only:
            for in_flight in args.in_flight:
                results.append(await measure("CreateCompany", create_company, in_flight, args.seconds, args.warmup))
                await settle()
        for result in results:
            if result.method != "echo":
                result.vs_echo = round(result.calls_per_s / baselines[result.in_flight].calls_per_s, 3)
    return results


def table(results: list[Result]) -> str:
    lines = [
        f"{'method':<15} {'in-flight':>9} {'calls/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'vs echo':>8} {'errors':>6}",
    ]
    order = {"echo": 0, "GetCompany": 1, "CreateCompany": 2, "MatchInvestors": 3, "P.ListIntros": 4}
    order |= {"FindSlots": 5, "ScheduleSession": 6}
    for r in sorted(results, key=lambda r: (order.get(r.method, 9), r.in_flight)):
        ratio = "-" if r.vs_echo is None else f"{r.vs_echo:.0%}"
        lines.append(
            f"{r.method:<15} {r.in_flight:>9} {r.calls_per_s:>9.1f} {r.p50_ms:>8.2f} {r.p99_ms:>8.2f} "
            f"{ratio:>8} {r.errors:>6}"
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
        help="comma-separated parts to measure: companies,investors,consulting (echo always runs)",
    )
    parser.add_argument("--json", type=Path, default=PROJECT_DIR / "var" / "bench.json")
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
            services = ["companies"] + [name for name in ("investors", "consulting") if name in args.only]
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
            results, loop = run_loop(client(args, echo_port, ports, token))
            load_after = os.getloadavg()
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
        # 1-minute load average before and after: other work on the machine skews every figure
        "load_average": [round(load_before[0], 2), round(load_after[0], 2)],
    }
    print()
    print(
        f"client loop: {loop}; python {info['python']}; grpcio {info['grpcio']}; {info['cpus']} CPUs; "
        f"load average {load_before[0]:.2f} before, {load_after[0]:.2f} after"
    )
    print(table(results))
    target = next((r for r in results if r.method == "GetCompany" and r.in_flight == 16), None)
    if target and target.vs_echo is not None:
        verdict = "meets" if target.vs_echo >= 0.6 else "misses"
        print(f"GetCompany at 16 in flight: {target.vs_echo:.0%} of echo ({verdict} the 60% target)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(info | {"results": [asdict(r) for r in results]}, indent=2) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
