"""Starts the consulting service: `python -m services.consulting`."""

from __future__ import annotations

from pathlib import Path

from hub.consulting.v1 import consulting_pb2, consulting_pb2_grpc

from hubcore.server import GrpcService, Runtime, serve_forever
from hubcore.settings import Settings
from services.consulting import api, handlers, policy, privacy

MIGRATIONS = str(Path(__file__).parent / "migrations")


def build(settings: Settings, *, sweep_seconds: float = handlers.SWEEP_SECONDS) -> Runtime:
    runtime = Runtime(settings, migrations=MIGRATIONS)
    runtime.add_service(
        GrpcService(
            add_to_server=consulting_pb2_grpc.add_ConsultingServiceServicer_to_server,
            servicer=api.ConsultingApi(runtime.db),
            descriptor=consulting_pb2.DESCRIPTOR.services_by_name["ConsultingService"],
            roles=policy.ROLES,
            default_roles=policy.DEFAULT_ROLES,
        ),
        policy.RULES,
    )
    runtime.personal_data = privacy.PERSONAL_DATA
    for spec in handlers.CONSUMERS:
        runtime.add_consumer(spec)
    runtime.add_loop("overdue-action-items", handlers.overdue_loop(runtime.db, sweep_seconds))
    return runtime


if __name__ == "__main__":
    serve_forever(build, Settings.from_env("consulting"))
