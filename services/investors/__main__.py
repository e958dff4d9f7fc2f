"""Starts the investors service: `python -m services.investors`. Two ports: InvestorService for program
managers (with the operator service), and PartnerService for VC partners (TLS, scoped API keys, a rate limit
shared by the replicas, audit), with its HTTP/JSON sibling on a third port (the same door, through hubcore.gateway)."""

from __future__ import annotations

from pathlib import Path

from hub.investors.v1 import investors_pb2, investors_pb2_grpc, partner_pb2, partner_pb2_grpc

from hubcore.db import now
from hubcore.retention import Retention
from hubcore.server import GrpcService, Listener, Runtime, TokenBuckets, serve_forever
from hubcore.settings import Settings
from services.investors import (
    domain,
    handlers,
    investor_servicer,
    partner_access,
    partner_servicer,
    policy,
    privacy,
    store,
    webhook_worker,
)

MIGRATIONS = str(Path(__file__).parent / "migrations")


def build(settings: Settings, clock: partner_access.Clock = now) -> Runtime:
    """The service; `clock` is the partner API's idea of now (keys' expiry, rotation overlaps, rate-limit
    windows), which tests move."""
    runtime = Runtime(
        settings, migrations=MIGRATIONS, personal_data=privacy.PERSONAL_DATA, consumers=handlers.CONSUMERS
    )
    worker = webhook_worker.WebhookWorker(runtime.db, settings)
    investors = investor_servicer.InvestorApi(runtime.db, settings, worker.wake)
    runtime.add_api(investors_pb2, investors_pb2_grpc, "InvestorService", investors, policy)
    limits = partner_access.KeyLimits(
        runtime.db, settings.partner_key_limit, settings.partner_key_window_seconds, clock
    )
    partner_api = partner_servicer.PartnerApi(runtime.db, settings, worker.wake)
    partners = GrpcService.of(
        partner_pb2, partner_pb2_grpc, "PartnerService", partner_api, policy.PARTNER_ROLES, policy.PARTNER_DEFAULT_ROLES
    )
    access = partner_access.PartnerAccess(
        runtime.db, partner_access.scopes_by_path(partners.descriptor, policy.PARTNER_SCOPES), clock
    )
    runtime.add_listener(
        Listener(
            name="partner",
            host=settings.partner_host,
            port=settings.partner_port,
            services=[partners],
            rules=policy.PARTNER_RULES,
            authenticate=access.authenticate,
            tls_cert=settings.partner_tls_cert,
            tls_key=settings.partner_tls_key,
            http_port=settings.partner_http_port,  # the same API as HTTP/JSON (hubcore.gateway)
            limiter=limits,
            peer_limiter=TokenBuckets(settings.partner_peer_rate, settings.partner_peer_burst),
            authorize=access.authorize,
            audit=access.audit,
        )
    )
    runtime.add_loop("partner-refusals", access.refused.run)
    runtime.add_loop("webhooks", worker.run)
    runtime.webhook_worker = worker  # type: ignore[attr-defined]  # tests move its clock
    runtime.add_metrics_probe(webhook_worker.figures, webhook_worker.GAUGES)
    runtime.refused_calls = access.refused  # type: ignore[attr-defined]  # tests reach it
    calls, refusals = store.partner_calls, store.partner_refusals
    runtime.add_retention(Retention(calls, calls.c.called_at, settings.partner_call_retention_days))
    runtime.add_retention(Retention(refusals, refusals.c.minute, settings.partner_refusal_retention_days))
    usage = store.partner_key_usage
    runtime.add_retention(Retention(usage, usage.c.window_start, settings.partner_usage_retention_days))
    # Delivered deliveries only: a pending or failed one stays until it is delivered (or its subscription goes).
    sent = store.webhook_deliveries.c
    delivered = sent.state == domain.webhooks.DELIVERED
    runtime.add_retention(
        Retention(store.webhook_deliveries, sent.updated_at, settings.webhook_delivery_retention_days, delivered)
    )
    return runtime


if __name__ == "__main__":
    serve_forever(build, Settings.from_env("investors"))
