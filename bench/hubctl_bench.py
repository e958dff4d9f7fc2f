"""The hubctl cases of `make bench` (issue 6), measured the way hubctl runs them, each beside a raw baseline.

- Dashboard: hubctl.dashboard.gather(), the composition `hubctl dashboard` runs: one Get…Stats per source
  (companies, program, investors, consulting, notifications) over hubctl's synchronous channels, all asked
  at once from a thread pool, each with the token and the deadline. Baseline: the same gather() with each
  source replaced by one raw echo call over a synchronous channel ("dashboard/echo"); then each source
  alone (what the composition waits for is its slowest source). Then the whole
  command as a process a few times (`python -m hubctl --json dashboard`), beside the start-up of the same
  program (`python -m hubctl --help`).
- Import: `python -m hubctl --json import companies FILE` as a process, on a generated CSV of new companies
  (Korean names, every column filled), then the same file again (every row unchanged: the idempotent
  re-run). Rows/s beside sequential echo calls over a synchronous channel ("echo (sync)"): the import makes
  one synchronous call per row, one after the other.
"""

from __future__ import annotations

import asyncio
import csv
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from bench.results import Failed, Result, summarize
from hubcore.settings import PROJECT_DIR
from hubctl import dashboard
from hubctl.client import Client, Config

# name, call, in-flight, baseline -> the result
Measure = Callable[[str, Callable[[int], Awaitable[Any]], int, str], Awaitable[Result]]
SECTORS = ["medical", "education", "manufacturing", "mobility", "finance", "robotics", "energy"]
STAGES = ["idea", "pre_seed", "seed", "pre_a", "series_a"]
PROCESS_RUNS = 5
SOURCE_CALLS = 20


def hub_client(addresses: dict[str, str], token: str) -> Client:
    return Client(Config(token=token, addresses=addresses, json=True, timeout=10.0))


def cli_env(addresses: dict[str, str], token: str, data_dir: Path) -> dict[str, str]:
    env = os.environ | {f"HUB_{name.upper()}_ADDRESS": address for name, address in addresses.items()}
    # A config file that does not exist: the user's own ~/.config/hubctl must not point the bench elsewhere.
    return env | {"HUB_TOKEN": token, "XDG_CONFIG_HOME": str(data_dir / "no-config"), "HUB_DATA_DIR": str(data_dir)}


async def run_process(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    began = time.perf_counter()
    done = await asyncio.to_thread(subprocess.run, args, env=env, cwd=PROJECT_DIR, capture_output=True, check=False)
    return time.perf_counter() - began, done


async def dashboard_cases(
    addresses: dict[str, str], echo_address: str, echo_payload: bytes, token: str, data_dir: Path, measure: Measure
) -> list[Result]:
    hub = hub_client(addresses, token)
    echo_channel = grpc.insecure_channel(echo_address)
    echo = echo_channel.unary_unary("/bench.Echo/Echo")
    try:
        figures, missing = await asyncio.to_thread(dashboard.gather, hub)
        if missing:
            raise SystemExit(f"the dashboard bench wants every service answering; not answering: {missing}")
        print(
            f"dashboard: {len(dashboard.SOURCES)} sources answering, {len(figures)} figures "
            f"({figures.get('companies_total', 0)} companies)",
            flush=True,
        )

        def echo_source(client: Client) -> dict[str, Any]:
            client.send(echo, echo_payload)
            return {}

        echo_sources: dict[str, Callable[[Client], dict[str, Any]]] = dict.fromkeys(dashboard.SOURCES, echo_source)

        async def composed_echo(n: int) -> Any:
            return await asyncio.to_thread(dashboard.gather, hub, echo_sources)

        async def composed(n: int) -> Any:
            answered, not_answering = await asyncio.to_thread(dashboard.gather, hub)
            if not_answering:
                raise Failed(str(not_answering))
            return answered

        results = [
            await measure("dashboard/echo", composed_echo, 1, "dashboard/echo"),
            await measure("dashboard", composed, 1, "dashboard/echo"),
        ]
        # What the composition waits for: each source alone, one call after the other.
        alone = {}
        for name, source in dashboard.SOURCES.items():
            latencies = []
            for _ in range(SOURCE_CALLS):
                began = time.perf_counter()
                await asyncio.to_thread(source, hub)
                latencies.append(time.perf_counter() - began)
            alone[name] = summarize(f"dashboard: {name}", 1, latencies, 0, sum(latencies), f"dashboard: {name}")
        print(
            "  dashboard sources alone, p50 ms: "
            + ", ".join(f"{name} {r.p50_ms:.1f}" for name, r in alone.items() if r.p50_ms is not None),
            flush=True,
        )
        results += alone.values()
        env = cli_env(addresses, token, data_dir)
        for name, args, baseline in [
            ("hubctl --help (process)", ["--help"], "hubctl --help (process)"),
            ("hubctl dashboard (process)", ["--json", "dashboard"], "hubctl --help (process)"),
        ]:
            latencies = []
            for _ in range(PROCESS_RUNS):
                elapsed, done = await run_process([sys.executable, "-m", "hubctl", *args], env)
                if done.returncode != 0:
                    why = done.stderr.decode()[-2000:]
                    raise SystemExit(f"hubctl {' '.join(args)} exited {done.returncode}: {why}")
                if args[-1] == "dashboard" and json.loads(done.stdout)["not_answering"]:
                    raise SystemExit(f"hubctl dashboard: not answering: {done.stdout.decode()}")
                latencies.append(elapsed)
            results.append(summarize(name, 1, latencies, 0, sum(latencies), baseline))
            print(f"  {name:<26} in-flight  1: {results[-1].p50_ms:>8.1f} ms p50", flush=True)
        return results
    finally:
        echo_channel.close()
        for channel in hub._channels.values():
            channel.close()


async def sync_echo(echo_address: str, echo_payload: bytes, token: str, measure: Measure) -> Result:
    """Sequential echo calls over a synchronous channel: the raw form of the import's calls."""
    channel = grpc.insecure_channel(echo_address)
    echo = channel.unary_unary("/bench.Echo/Echo")
    metadata = (("authorization", f"Bearer {token}"),)

    def burst() -> None:  # 50 calls per thread hop, so the hop does not dominate
        for _ in range(50):
            echo(echo_payload, metadata=metadata, timeout=10)

    async def calls(n: int) -> Any:
        return await asyncio.to_thread(burst)

    try:
        result = await measure("echo (sync) x50", calls, 1, "echo (sync) x50")
    finally:
        channel.close()
    # Counted per call (50 to a measured unit); single calls' percentiles are not measured.
    result.method, result.calls_per_s = "echo (sync)", round(result.calls_per_s * 50, 1)
    result.calls *= 50
    result.p50_ms = result.p99_ms = None
    result.baseline = "echo (sync)"
    return result


def write_companies_csv(path: Path, rows: int) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as out:  # as Excel in Korea saves it
        writer = csv.writer(out)
        writer.writerow(
            ["korean_name", "english_name", "sector", "stage", "tags", "website", "founded_on", "description"]
        )
        for n in range(rows):
            writer.writerow(
                [
                    f"가져온 기업 {n:05d}",
                    f"Imported Co {n:05d}",
                    SECTORS[n % len(SECTORS)],
                    STAGES[n % len(STAGES)],
                    "bench;import",
                    f"https://imported-{n}.example.com",
                    f"20{15 + n % 10}-0{1 + n % 9}-1{n % 10}",
                    f"가져오기 벤치 {n}번 기업",
                ]
            )


async def import_cases(addresses: dict[str, str], token: str, data_dir: Path, rows: int) -> list[Result]:
    """Two runs of `hubctl import companies` on the same file: every row created, then every row unchanged."""
    path = data_dir / "import-companies.csv"
    write_companies_csv(path, rows)
    env = cli_env(addresses, token, data_dir)
    results = []
    for name, expected in [("hubctl import (create)", "create"), ("hubctl import (re-run)", "unchanged")]:
        elapsed, done = await run_process(
            [sys.executable, "-m", "hubctl", "--json", "import", "companies", str(path)], env
        )
        if done.returncode != 0:
            raise SystemExit(f"hubctl import exited {done.returncode}: {done.stderr.decode()[-2000:]}")
        counts = json.loads(done.stdout)["counts"]
        if counts != {expected: rows}:
            raise SystemExit(f"hubctl import: expected {rows} {expected}, got {counts}")
        result = Result(
            method=name, in_flight=1, calls=rows, errors=0, seconds=round(elapsed, 3),
            calls_per_s=round(rows / elapsed, 1), p50_ms=None, p99_ms=None, baseline="echo (sync)",
        )  # fmt: skip
        print(f"  {name:<26} {rows} rows in {elapsed:.1f} s: {result.calls_per_s:>8.1f} rows/s", flush=True)
        results.append(result)
    return results
