"""Starts the companies service: `python -m services.companies`. It serves CompanyService, ProgramService
and the hub's AccessTokenService (the register of signed access tokens)."""

from __future__ import annotations

from pathlib import Path

from hub.companies.v1 import companies_pb2, companies_pb2_grpc, program_pb2, program_pb2_grpc
from hub.ops.v1 import tokens_pb2, tokens_pb2_grpc

from hubcore.server import GrpcService, Runtime, serve_forever
from hubcore.settings import Settings
from services.companies import access, api, handlers, privacy
from services.companies.program import servicer as program

MIGRATIONS = str(Path(__file__).parent / "migrations")


def build(settings: Settings) -> Runtime:
    runtime = Runtime(settings, migrations=MIGRATIONS)
    runtime.add_service(
        GrpcService(
            add_to_server=companies_pb2_grpc.add_CompanyServiceServicer_to_server,
            servicer=api.CompanyApi(runtime.db),
            descriptor=companies_pb2.DESCRIPTOR.services_by_name["CompanyService"],
            roles=api.ROLES,
            default_roles=api.DEFAULT_ROLES,
        ),
        api.RULES,
    )
    runtime.add_service(
        GrpcService(
            add_to_server=program_pb2_grpc.add_ProgramServiceServicer_to_server,
            servicer=program.ProgramApi(runtime.db, program.growth_rules_from_env()),
            descriptor=program_pb2.DESCRIPTOR.services_by_name["ProgramService"],
            roles=program.ROLES,
            default_roles=program.DEFAULT_ROLES,
        ),
        program.RULES,
    )
    # The register of the hub's access tokens lives here (every service verifies them on its own).
    runtime.add_service(
        GrpcService(
            add_to_server=tokens_pb2_grpc.add_AccessTokenServiceServicer_to_server,
            servicer=access.AccessTokenApi(runtime.db, runtime.verifier, settings.token_signing_keys),
            descriptor=tokens_pb2.DESCRIPTOR.services_by_name["AccessTokenService"],
            roles=access.ROLES,
            default_roles=access.DEFAULT_ROLES,
        ),
        access.RULES,
    )
    runtime.personal_data = privacy.PERSONAL_DATA
    for spec in handlers.CONSUMERS:
        runtime.add_consumer(spec)
    return runtime


if __name__ == "__main__":
    serve_forever(build, Settings.from_env("companies"))
