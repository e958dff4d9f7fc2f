"""Starts the consulting service: `python -m services.consulting`."""

from __future__ import annotations

from pathlib import Path

from hub.consulting.v1 import consulting_pb2, consulting_pb2_grpc

from hubcore.server import Runtime, serve_forever
from hubcore.settings import Settings
from services.consulting import api, handlers, policy, privacy
from services.consulting.store import gpu
from services.consulting.usecases import programs

MIGRATIONS = str(Path(__file__).parent / "migrations")


def build(settings: Settings, *, sweep_seconds: float = handlers.SWEEP_SECONDS) -> Runtime:
    programs.counting()  # a wrong HUB_TRAINED_MIN_CLASSES or HUB_COLLABORATION_KINDS stops the start, named
    runtime = Runtime(
        settings, migrations=MIGRATIONS, personal_data=privacy.PERSONAL_DATA, consumers=handlers.CONSUMERS
    )
    runtime.add_api(consulting_pb2, consulting_pb2_grpc, "ConsultingService", api.ConsultingApi(runtime.db), policy)
    runtime.add_retention(gpu.waitlist_retention(settings.gpu_waitlist_retention_days))
    runtime.add_loop("overdue-action-items", handlers.overdue_loop(runtime.db, sweep_seconds))
    return runtime


if __name__ == "__main__":
    serve_forever(build, Settings.from_env("consulting"))
