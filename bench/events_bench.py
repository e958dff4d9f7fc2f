"""Event latency: from a commit in the companies service to its effect committed in another service.

The bench offers UpdateCompany calls open-loop at a steady rate (500/s by default): call i is started at
t0 + i/rate whatever the earlier calls are doing (no call waits for another; at most MAX_OUTSTANDING are
left running, and a tick that finds that many is counted as not offered). Each update changes one company's
English name, so it commits a hub.companies.company.updated row in the outbox, which the relay publishes
and four consumers apply (companies' stats, investors' and consulting's company directories, notifications).

The two ends are the services' own timestamps, read from their databases afterwards:
- commit: `outbox.created_at` of the event, stamped in the companies service's write transaction;
- effect: `processed_events.processed_at` of the consumer that applied it (consulting-company-directory,
  investors-directory), stamped in the same transaction as the directory's upsert, its last statement before
  the commit. The directories themselves keep no updated_at, and need none for this.
Both come from this machine's one clock. The achieved rate is the commits per second over the offered
window; the latency is measured at that rate.
"""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import grpc
import sqlalchemy as sa
from google.protobuf import field_mask_pb2
from hub.companies.v1 import companies_pb2 as pb

from bench.results import Result, percentile
from hubcore.convert import as_utc
from hubcore.db import Database, now, outbox, processed_events

MAX_OUTSTANDING = 1000
CONSUMERS = {"consulting": "consulting-company-directory", "investors": "investors-directory"}


async def _stamps(url: str, query: sa.Select[Any]) -> dict[str, datetime]:
    db = Database(url, source="bench")
    try:
        async with db.read() as conn:
            return {row[0]: as_utc(row[1]) for row in await conn.execute(query)}
    finally:
        await db.close()


async def event_latency(
    stub: Any,
    metadata: Any,
    names: list[str],
    *,
    rate: float,
    seconds: float,
    urls: dict[str, str],
    settle_timeout: float = 180,
) -> list[Result]:
    loop = asyncio.get_running_loop()
    outstanding: set[asyncio.Task[Any]] = set()
    errors = 0
    skipped = 0
    ok = 0

    async def update(i: int) -> None:
        nonlocal errors, ok
        company = pb.Company(name=names[i % len(names)], english_name=f"Scale Co {i % len(names)} rev {i}")
        request = pb.UpdateCompanyRequest(company=company, update_mask=field_mask_pb2.FieldMask(paths=["english_name"]))
        try:
            await stub.UpdateCompany(request, metadata=metadata, timeout=60)
            ok += 1
        except grpc.RpcError:
            errors += 1

    marker = now()
    total = int(rate * seconds)
    started = loop.time()
    for i in range(total):
        delay = started + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        if len(outstanding) >= MAX_OUTSTANDING:
            skipped += 1
            continue
        task = asyncio.create_task(update(i))
        outstanding.add(task)
        task.add_done_callback(outstanding.discard)
    offered_seconds = loop.time() - started
    await asyncio.gather(*outstanding)
    drained_seconds = loop.time() - started

    commits = await _stamps(
        urls["companies"],
        sa.select(outbox.c.event_id, outbox.c.created_at).where(
            outbox.c.subject == "hub.companies.company.updated", outbox.c.created_at >= marker
        ),
    )
    first, last = min(commits.values()), max(commits.values())
    commit_span = max((last - first).total_seconds(), 1e-9)
    print(
        f"event latency: offered {rate:g}/s for {offered_seconds:.1f} s ({total} updates, {skipped} not offered "
        f"at {MAX_OUTSTANDING} outstanding, {errors} errors); {len(commits)} commits over {commit_span:.1f} s "
        f"= {len(commits) / commit_span:.0f}/s; all answered after {drained_seconds:.1f} s",
        flush=True,
    )
    results = []
    for service, consumer in CONSUMERS.items():
        if service not in urls:
            continue
        p = processed_events.c
        query = sa.select(p.event_id, p.processed_at).where(p.consumer == consumer, p.processed_at >= marker)
        began = time.perf_counter()
        while True:
            effects = await _stamps(urls[service], query)
            if all(e in effects for e in commits) or time.perf_counter() - began > settle_timeout:
                break
            await asyncio.sleep(0.5)
        latencies = sorted((effects[e] - c).total_seconds() for e, c in commits.items() if e in effects)
        applied_span = max((max(effects.values()) - first).total_seconds(), 1e-9) if effects else 0.0
        missing = sum(1 for e in commits if e not in effects)
        result = Result(
            method=f"event → {service} directory",
            in_flight=0,
            calls=len(latencies),
            errors=missing,
            seconds=round(commit_span, 3),
            calls_per_s=round(len(commits) / commit_span, 1),
            p50_ms=round(percentile(latencies, 0.5) * 1000, 3),
            p99_ms=round(percentile(latencies, 0.99) * 1000, 3),
            baseline="NATS pub→deliver",
            compare="p50 latency",
            offered_per_s=rate,
            note=(
                f"{len(commits)} commits at {len(commits) / commit_span:.0f}/s (offered {rate:g}/s); applied by "
                f"{consumer} at {len(effects) / applied_span if applied_span else 0:.0f}/s; max "
                f"{latencies[-1] * 1000 if latencies else float('nan'):.0f} ms; {missing} not applied"
            ),
        )
        print(f"  {result.method}: p50 {result.p50_ms:.0f} ms, p99 {result.p99_ms:.0f} ms; {result.note}", flush=True)
        results.append(result)
    return results
