"""Starts the notifications worker: `python -m services.notifications`."""

from __future__ import annotations

from pathlib import Path

from hub.notifications.v1 import notifications_pb2, notifications_pb2_grpc

from hubcore.db import now
from hubcore.server import Runtime, serve_forever
from hubcore.settings import Settings
from services.notifications import api, policy, privacy, store
from services.notifications.config import Config
from services.notifications.handlers import Clock, Handlers
from services.notifications.scheduler import Scheduler

MIGRATIONS = str(Path(__file__).parent / "migrations")


def build(settings: Settings, config: Config | None = None, clock: Clock = now) -> Runtime:
    """clock is the rules' and the scheduler's idea of now (tests move it)."""
    cfg = config or Config.from_env()
    handlers = Handlers(cfg, clock)
    runtime = Runtime(
        settings, migrations=MIGRATIONS, personal_data=privacy.PERSONAL_DATA, consumers=handlers.consumers()
    )
    servicer = api.NotificationApi(runtime.db, cfg, clock)
    runtime.add_api(notifications_pb2, notifications_pb2_grpc, "NotificationService", servicer, policy)
    if cfg.clock_rules_seconds > 0:
        runtime.add_loop("clock-rules", handlers.clock_loop(runtime.db))
    scheduler = Scheduler(runtime.db, cfg, clock=clock)
    runtime.add_loop("scheduler", scheduler.run)
    for rule in store.retentions(settings.delivery_retention_days):
        runtime.add_retention(rule)
    runtime.add_metrics_probe(store.metric_counts, store.METRIC_GAUGES)
    runtime.scheduler = scheduler  # type: ignore[attr-defined]  # tests reach it
    return runtime


if __name__ == "__main__":
    serve_forever(build, Settings.from_env("notifications"))
