"""Starts the companies service: `python -m services.companies`. It serves CompanyService (registry/),
ProgramService (program/), and the hub's AccessTokenService and IdentityService (access/: the register of signed
access tokens, and the founders and mentors who sign in for themselves)."""

from __future__ import annotations

from pathlib import Path

from hub.companies.v1 import companies_pb2, companies_pb2_grpc, program_pb2, program_pb2_grpc
from hub.ops.v1 import identities_pb2, identities_pb2_grpc, tokens_pb2, tokens_pb2_grpc

from hubcore.server import Runtime, TokenBuckets, serve_forever
from hubcore.settings import Settings
from services.companies import handlers, privacy
from services.companies.access import policy as access_policy
from services.companies.access.servicer import AccessTokenApi, IdentityApi
from services.companies.access.usecases import Issuer
from services.companies.program import policy as program_policy
from services.companies.program import servicer as program
from services.companies.registry import policy as registry_policy
from services.companies.registry.servicer import CompanyApi

MIGRATIONS = str(Path(__file__).parent / "migrations")


def build(settings: Settings) -> Runtime:
    runtime = Runtime(
        settings, migrations=MIGRATIONS, personal_data=privacy.PERSONAL_DATA, consumers=handlers.CONSUMERS
    )
    runtime.add_api(companies_pb2, companies_pb2_grpc, "CompanyService", CompanyApi(runtime.db), registry_policy)
    programs = program.ProgramApi(runtime.db, program_policy.growth_rules_from_env())
    runtime.add_api(program_pb2, program_pb2_grpc, "ProgramService", programs, program_policy)
    runtime.add_loop("kpi-requests", program.usecases.request_loop(runtime.db))  # each period's KPI requests
    runtime.add_loop("move-ins", program.usecases.move_in_loop(runtime.db))  # a future move-in's day
    # The register of the hub's access tokens lives here (every service verifies them on its own).
    tokens = AccessTokenApi(runtime.db, runtime.verifier, settings.token_signing_keys)
    runtime.add_api(tokens_pb2, tokens_pb2_grpc, "AccessTokenService", tokens, access_policy)
    issuer = Issuer(settings.token_signing_keys, settings.sign_in_url, runtime.verifier.remember)
    peers = TokenBuckets(settings.sign_in_peer_rate, settings.sign_in_peer_burst)
    identities = IdentityApi(runtime.db, issuer, peers)
    runtime.add_api(identities_pb2, identities_pb2_grpc, "IdentityService", identities, access_policy.Identities)
    return runtime


if __name__ == "__main__":
    serve_forever(build, Settings.from_env("companies"))
