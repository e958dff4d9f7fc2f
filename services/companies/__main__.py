"""Starts the companies service: `python -m services.companies`. It serves CompanyService (registry/),
ProgramService (program/) and the hub's AccessTokenService (access/: the register of signed access tokens)."""

from __future__ import annotations

from pathlib import Path

from hub.companies.v1 import companies_pb2, companies_pb2_grpc, program_pb2, program_pb2_grpc
from hub.ops.v1 import tokens_pb2, tokens_pb2_grpc

from hubcore.server import GrpcService, Runtime, serve_forever
from hubcore.settings import Settings
from services.companies import handlers, privacy
from services.companies.access import policy as access_policy
from services.companies.access.servicer import AccessTokenApi
from services.companies.program import servicer as program
from services.companies.registry import policy as registry_policy
from services.companies.registry.servicer import CompanyApi

MIGRATIONS = str(Path(__file__).parent / "migrations")


def build(settings: Settings) -> Runtime:
    runtime = Runtime(settings, migrations=MIGRATIONS)
    runtime.add_service(
        GrpcService(
            add_to_server=companies_pb2_grpc.add_CompanyServiceServicer_to_server,
            servicer=CompanyApi(runtime.db),
            descriptor=companies_pb2.DESCRIPTOR.services_by_name["CompanyService"],
            roles=registry_policy.ROLES,
            default_roles=registry_policy.DEFAULT_ROLES,
        ),
        registry_policy.RULES,
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
            servicer=AccessTokenApi(runtime.db, runtime.verifier, settings.token_signing_keys),
            descriptor=tokens_pb2.DESCRIPTOR.services_by_name["AccessTokenService"],
            roles=access_policy.ROLES,
            default_roles=access_policy.DEFAULT_ROLES,
        ),
        access_policy.RULES,
    )
    runtime.personal_data = privacy.PERSONAL_DATA
    for spec in handlers.CONSUMERS:
        runtime.add_consumer(spec)
    return runtime


if __name__ == "__main__":
    serve_forever(build, Settings.from_env("companies"))
