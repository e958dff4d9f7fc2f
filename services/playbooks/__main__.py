"""Starts the playbooks service: `python -m services.playbooks`."""

from __future__ import annotations

from pathlib import Path

from hub.playbooks.v1 import playbooks_pb2, playbooks_pb2_grpc

from hubcore.db import now
from hubcore.server import Runtime, serve_forever
from hubcore.settings import Settings
from services.playbooks import api, policy, privacy, store, usecases
from services.playbooks.config import Config
from services.playbooks.handlers import Clock, Handlers
from services.playbooks.worker import Worker

MIGRATIONS = str(Path(__file__).parent / "migrations")


def build(settings: Settings, config: Config | None = None, clock: Clock = now) -> Runtime:
    """clock is the rules' and the worker's idea of now (tests move it)."""
    cfg = config or Config.from_env()
    handlers = Handlers(clock)
    runtime = Runtime(
        settings, migrations=MIGRATIONS, personal_data=privacy.PERSONAL_DATA, consumers=handlers.consumers()
    )
    runtime.add_api(playbooks_pb2, playbooks_pb2_grpc, "PlaybookService", api.PlaybookApi(runtime.db, clock), policy)

    async def seed() -> None:
        async with runtime.db.write(actor="service:playbooks") as uow:
            await usecases.seed_examples(uow)

    runtime.add_loop("seed-examples", seed)
    if cfg.clock_seconds > 0:
        runtime.add_loop("clock-rules", handlers.clock_loop(runtime.db, cfg.clock_seconds))
    worker = Worker(runtime.db, cfg, clock)
    runtime.add_loop("actions", worker.run)
    for rule in store.retentions(settings.playbook_fact_retention_days, settings.playbook_firing_retention_days):
        runtime.add_retention(rule)
    runtime.add_metrics_probe(store.metric_counts, store.METRIC_GAUGES)
    runtime.worker = worker  # type: ignore[attr-defined]  # tests reach them
    runtime.handlers = handlers  # type: ignore[attr-defined]
    return runtime


if __name__ == "__main__":
    serve_forever(build, Settings.from_env("playbooks"))
