"""The partner API's HTTP/JSON cost against its gRPC (decision 0019): `python -m bench.partner_http_bench [calls]`.

One investors service in this process (a SQLite file and a nats-server of a temporary folder, the partner
listener over TLS with a fresh local certificate, the tests' world of two firms and their introductions), and
one client in the main thread that alternates a gRPC call and an HTTP/JSON call (keep-alive) with the same key,
so that the machine's load weighs on both alike. Prints p50 and p99 of each per method. Not part of `make
bench`: the gateway adds a hop in the same process, and this isolates it."""

from __future__ import annotations

import asyncio
import http.client
import json
import ssl
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import grpc
from hub.investors.v1 import partner_pb2 as ppb
from hub.investors.v1 import partner_pb2_grpc

from bench.results import percentile
from hublocal.natsserver import NatsServer, free_port
from hublocal.tls import local_certificate
from tests.conftest import RunningInvestors, investors_settings, start_investors
from tests.integration.test_partner_api import World, build_world

SERVICE = "/hub.investors.v1.PartnerService"


def serve_in_thread(folder: Path, nats: NatsServer, cert: Path, key: Path) -> tuple[RunningInvestors, World]:
    """The service on an event loop of its own thread, so that the client's blocking calls never stall it."""
    loop = asyncio.new_event_loop()
    started: dict[str, Any] = {}
    ready = threading.Event()

    async def serve() -> None:
        settings = investors_settings(
            f"sqlite+aiosqlite:///{folder / 'investors.db'}", nats.url, folder, partner_http_port=0,
            partner_tls_cert=str(cert), partner_tls_key=str(key),
        )  # fmt: skip
        started["running"] = running = await start_investors(settings)
        started["world"] = await build_world(running)
        ready.set()

    def run() -> None:
        loop.run_until_complete(serve())
        loop.run_forever()

    threading.Thread(target=run, daemon=True).start()
    if not ready.wait(120):
        raise SystemExit("the investors service did not start")
    return started["running"], started["world"]


def measure(running: RunningInvestors, world: World, cert: Path, calls: int) -> None:
    listener = running.runtime.listeners[0]
    metadata = (("authorization", f"Bearer {world.right}"),)
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    headers = {"authorization": f"Bearer {world.right}", "content-type": "application/json"}
    cases = {
        "ListIntroductions": (ppb.PartnerServiceListIntroductionsRequest(), {}),
        "GetIntroduction": (ppb.PartnerServiceGetIntroductionRequest(name=world.consented), {"name": world.consented}),
    }
    with grpc.secure_channel(f"127.0.0.1:{listener.bound_port}", credentials) as channel:
        context = ssl.create_default_context(cafile=str(cert))
        connection = http.client.HTTPSConnection("127.0.0.1", listener.http_bound_port, context=context)
        for method, (request, body) in cases.items():
            stub = getattr(partner_pb2_grpc.PartnerServiceStub(channel), method)
            payload = json.dumps(body)

            def over_http(method: str = method, payload: str = payload) -> None:
                connection.request("POST", f"{SERVICE}/{method}", payload, headers)
                answer = connection.getresponse()
                data = answer.read()
                if answer.status != 200:
                    raise SystemExit(f"{method} over HTTP: {answer.status} {data!r}")

            timings: dict[str, list[float]] = {"gRPC": [], "HTTP/JSON": []}
            for n in range(calls + 30):  # the first 30 of each warm up
                started = time.perf_counter()
                stub(request, metadata=metadata)
                middle = time.perf_counter()
                over_http()
                if n >= 30:
                    timings["gRPC"].append((middle - started) * 1000)
                    timings["HTTP/JSON"].append((time.perf_counter() - middle) * 1000)
            ranked = {k: sorted(v) for k, v in timings.items()}
            grpc_p50, http_p50 = (percentile(ranked[k], 0.5) for k in ("gRPC", "HTTP/JSON"))
            figures = "  ".join(
                f"{k} p50 {percentile(v, 0.5):.2f} ms p99 {percentile(v, 0.99):.2f} ms" for k, v in ranked.items()
            )
            print(f"{method}: {figures}  (+{http_p50 - grpc_p50:.2f} ms, {http_p50 / grpc_p50:.2f}x at p50)")
        connection.close()


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    with tempfile.TemporaryDirectory(prefix="hub-partner-http-") as name:
        folder = Path(name)
        nats = NatsServer(port=free_port(), data_dir=folder / "nats").start()
        try:
            cert, key = local_certificate(folder / "tls")
            running, world = serve_in_thread(folder, nats, cert, key)
            measure(running, world, cert, calls)
        finally:
            nats.stop()


if __name__ == "__main__":
    main()
