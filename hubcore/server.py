"""The service runtime: the gRPC server (with the door of hubcore.calls, health and reflection), the NATS
connection, outbox relay, consumers and loops, and a graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from hub.ops.v1 import ops_pb2, ops_pb2_grpc, privacy_pb2, privacy_pb2_grpc
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext

from hubcore import errors, events, gateway, migrate, retention, tls, tokens, tracing
from hubcore.calls import (  # noqa: F401  (callers import the door's names from here too)
    ADMIN,
    ANYONE,
    FOUNDER,
    MENTOR,
    OPEN_METHODS,
    PARTNER,
    REVIEWER,
    SERVICE,
    Audit,
    Authenticator,
    Authorize,
    Bound,
    Caller,
    CallRecord,
    Interceptor,
    Limiter,
    Quota,
    RolePolicy,
    TokenBuckets,
    also_for_services,
    bound_to,
    caller,
    is_loopback,
    peer_address,
    policies_for,
)
from hubcore.db import Database, dead_letters, idempotency_keys, outbox, processed_events, unusable_database
from hubcore.metrics import Metrics, Probe
from hubcore.ops import OperationsApi
from hubcore.privacy import PersonalData, PrivacyApi
from hubcore.requests import Rules
from hubcore.retention import Retention
from hubcore.settings import PRIVATE_UMASK, Settings

log = structlog.get_logger()


@dataclass
class GrpcService:
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    servicer: Any
    descriptor: Any  # the protobuf ServiceDescriptor
    roles: Mapping[str, RolePolicy]
    default_roles: RolePolicy | None = None

    @classmethod
    def of(
        cls, pb2: Any, pb2_grpc: Any, name: str, servicer: Any, roles: Mapping[str, RolePolicy],
        default_roles: RolePolicy | None = None,
    ) -> GrpcService:  # fmt: skip
        """Service `name` of a generated pair of modules (`hub/x/v1/x_pb2`, `x_pb2_grpc`)."""
        return cls(
            getattr(pb2_grpc, f"add_{name}Servicer_to_server"),
            servicer,
            pb2.DESCRIPTOR.services_by_name[name],
            roles,
            default_roles,
        )


class Policy(Protocol):
    """A service's `policy` module: the input rules and who may call which method."""

    @property
    def RULES(self) -> dict[type, Rules]: ...
    @property
    def ROLES(self) -> Mapping[str, RolePolicy]: ...
    @property
    def DEFAULT_ROLES(self) -> RolePolicy: ...


@dataclass
class Listener:
    """A second gRPC server in the same process, for callers from outside the hub (the investors partner
    API): its own port and services, its own authenticator, TLS, a per-caller rate limit, a limit of failed
    authentications per peer, a check of what each credential allows, and an audit hook.
    Without a certificate it serves only on a loopback host. The operator service is never served here."""

    name: str
    host: str
    port: int
    services: list[GrpcService]
    rules: dict[type, Rules] = field(default_factory=dict)
    authenticate: Authenticator | None = None
    tls_cert: str = ""  # PEM file paths
    tls_key: str = ""
    limiter: Limiter | None = None  # per caller, shared by the replicas
    peer_limiter: TokenBuckets | None = None  # failed authentications per peer address, before any database work
    authorize: Authorize | None = None  # what the caller's credential allows, per method (a partner key's scopes)
    audit: Audit | None = None
    # HTTP/JSON beside gRPC (hubcore.gateway) on this port, same host and TLS; None: none, 0: any free port.
    http_port: int | None = None
    bound_port: int = 0  # set at start (port 0 picks a free one)
    http_bound_port: int = 0
    policies: dict[str, RolePolicy] = field(default_factory=dict)  # set at start
    # Lets the door believe the client address the gateway forwards; never leaves the process.
    gateway_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32), repr=False)

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)


class ConfigurationError(RuntimeError):
    """A setting that cannot work; the process says which and exits rather than serve half-configured."""


class Runtime:
    """Everything one service process runs, started and stopped in the right order."""

    def __init__(
        self, settings: Settings, *, migrations: str, personal_data: PersonalData | None = None,
        consumers: Iterable[events.ConsumerSpec] = (),
    ) -> None:  # fmt: skip
        self.settings = settings
        self.migrations = migrations
        self.db = Database(settings.database_url, source=settings.service)
        self.services: list[GrpcService] = []
        self.rules: dict[type, Rules] = {}
        self.consumer_specs: list[events.ConsumerSpec] = list(consumers)
        self.consumers: list[events.EventConsumer] = []
        self.loops: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self.relay: events.OutboxRelay | None = None
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.server: grpc.aio.Server | None = None
        self.port = 0
        self.listeners: list[Listener] = []
        self._extra_servers: list[grpc.aio.Server] = []
        self._gateways: list[tuple[Listener, gateway.Gateway]] = []
        self.health = health.aio.HealthServicer()
        self._tasks: list[asyncio.Task[Any]] = []
        self.ready = asyncio.Event()  # set once the relay and consumers run
        self.policies: dict[str, RolePolicy] = {}  # method path -> roles admitted, on the main port
        self.metrics = Metrics(settings.service)
        self.metrics_port = 0  # where /metrics is served, when settings.metrics_port is set
        # Signed access tokens: every service checks them with the signing key, and learns revocations from
        # hub.ops.access_token.revoked through a consumer of its own.
        self.verifier = tokens.TokenVerifier(self.db, settings.token_signing_keys)
        # What the service holds about a company or a person, for PrivacyService (every service serves it).
        self.personal_data = personal_data
        # The runtime's tables that grow with traffic; a service adds its own (add_retention).
        published, resolved = outbox.c.published_at, dead_letters.c.resolved_at
        self.retentions = [
            Retention(outbox, published, settings.outbox_retention_days, published.is_not(None)),
            Retention(processed_events, processed_events.c.processed_at, settings.processed_events_retention_days),
            Retention(idempotency_keys, idempotency_keys.c.created_at, settings.idempotency_retention_days),
            Retention(dead_letters, resolved, settings.dead_letter_retention_days, resolved.is_not(None)),
        ]

    def add_service(self, service: GrpcService, rules: dict[type, Rules] | None = None) -> None:
        self.services.append(service)
        self.rules.update(rules or {})

    def add_api(self, pb2: Any, pb2_grpc: Any, name: str, servicer: Any, policy: Policy) -> None:
        """Serves `name` (see GrpcService.of) on the main port, with its policy's rules and roles."""
        self.add_service(
            GrpcService.of(pb2, pb2_grpc, name, servicer, policy.ROLES, policy.DEFAULT_ROLES), policy.RULES
        )

    def add_consumer(self, spec: events.ConsumerSpec) -> None:
        self.consumer_specs.append(spec)

    def add_listener(self, listener: Listener) -> None:
        self.listeners.append(listener)

    def add_metrics_probe(self, probe: Probe, gauges: dict[str, tuple[str, list[str]]]) -> None:
        """A service's own figures for /metrics, read by the refresh loop: gauges is name -> (help, labels)."""
        self.metrics.add_probe(probe, gauges)

    def add_retention(self, rule: Retention) -> None:
        """A table of the service's own that grows with traffic: swept with the runtime's, by one loop."""
        self.retentions.append(rule)

    def add_loop(self, name: str, run: Callable[[], Awaitable[None]]) -> None:
        """A background loop of the service's own (a sweep, a timer): started with the server, restarted
        if it crashes, cancelled on stop. It needs only the database, not NATS: its events go to the outbox."""
        self.loops.append((name, run))

    async def start(self) -> None:
        kept = self.settings.processed_events_retention_days
        if 0 < kept < events.STREAM_MAX_AGE_DAYS:
            raise ConfigurationError(
                f"HUB_PROCESSED_EVENTS_RETENTION_DAYS={kept:g} is shorter than the stream keeps events "
                f"({events.STREAM_MAX_AGE_DAYS} days): an event read again would be applied twice"
            )
        try:
            await self._open_database()
        except Exception as exc:
            # A database that does not exist or does not answer is a setting to fix: one line, no traceback.
            reason = unusable_database(exc, self.settings.database_setting, self.settings.database_url)
            if reason:
                raise ConfigurationError(reason) from None
            raise
        self.consumer_specs.append(self.verifier.consumer(self.settings.service))  # after the service's own
        ops = GrpcService(
            add_to_server=ops_pb2_grpc.add_OperationsServiceServicer_to_server,
            servicer=OperationsApi(self.db, self.consumers),
            descriptor=ops_pb2.DESCRIPTOR.services_by_name["OperationsService"],
            roles={},
            default_roles=frozenset({ADMIN}),
        )
        privacy = GrpcService(
            add_to_server=privacy_pb2_grpc.add_PrivacyServiceServicer_to_server,
            servicer=PrivacyApi(self.db, self.settings.service, self.personal_data),
            descriptor=privacy_pb2.DESCRIPTOR.services_by_name["PrivacyService"],
            roles={},
            default_roles=frozenset({ADMIN}),
        )
        ops_services = [ops, privacy]
        s = self.settings
        self.policies = self._policies([*self.services, *ops_services])
        self.server = self._server(
            [*self.services, *ops_services],
            Interceptor(s, self.policies, self.rules, metrics=self.metrics, verifier=self.verifier),
        )
        self.port = self.server.add_insecure_port(f"{s.grpc_host}:{s.grpc_port}")
        if not self.port:
            raise RuntimeError(f"cannot listen on {s.grpc_host}:{s.grpc_port}")
        for listener in self.listeners:
            listener.policies = self._policies(listener.services)
            interceptor = Interceptor(
                s,
                listener.policies,
                listener.rules,
                authenticate=listener.authenticate,
                limiter=listener.limiter,
                peer_limiter=listener.peer_limiter,
                authorize=listener.authorize,
                audit=listener.audit,
                metrics=self.metrics,
                verifier=self.verifier,
                gateway_secret=listener.gateway_secret,
            )
            server = self._server(listener.services, interceptor)
            listener.bound_port = self._bind(server, listener)
            if listener.http_port is not None:  # HTTP/JSON, to this server over a private unix socket
                descriptors = [service.descriptor for service in listener.services]
                http = gateway.Gateway.of(server, listener.name, descriptors, listener.gateway_secret, s)
                self._gateways.append((listener, http))
            self._extra_servers.append(server)
        await self.server.start()
        for server in self._extra_servers:
            await server.start()
        for listener, http in self._gateways:
            listener.http_bound_port = await http.start(
                listener.host, listener.http_port or 0, tls_cert=listener.tls_cert, tls_key=listener.tls_key
            )
        for service in [*self.services, *ops_services, *(x for listener in self.listeners for x in listener.services)]:
            await self.health.set(service.descriptor.full_name, health_pb2.HealthCheckResponse.SERVING)
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        self._tasks.append(asyncio.create_task(self._supervise(self._run_backbone, "backbone"), name="backbone"))
        loops = [
            *self.loops,
            ("revoked-tokens", self._refresh_revoked_tokens),
            ("retention", retention.loop(self.db, self.retentions, s.retention_sweep_seconds)),
        ]
        if s.metrics_port is not None:
            self.metrics_port = self.metrics.serve(s.metrics_host, s.metrics_port)
            loops.append(("metrics", self.metrics.refresher(self.db, self.consumers, s.metrics_refresh_seconds)))
            log.info("metrics", address=f"http://{s.metrics_host}:{self.metrics_port}/metrics")
        for name, run in loops:
            self._tasks.append(asyncio.create_task(self._supervise(run, name), name=name))
        log.info("serving", service=s.service, address=f"{s.grpc_host}:{self.port}")
        for listener in self.listeners:
            log.info("serving", api=listener.name, address=f"{listener.host}:{listener.bound_port}", tls=listener.tls)
            if listener.http_bound_port:
                log.info("serving", api=f"{listener.name} HTTP/JSON", port=listener.http_bound_port, tls=listener.tls)

    async def _open_database(self) -> None:
        if self.settings.migrate_on_start:
            await migrate.upgrade(self.migrations, self.settings.database_url)
        # Every revocation this service knows, before it answers a call. A database busy at start-up (another
        # replica opening the same SQLite file) is waited out, not a crash.
        for attempt in range(60):
            try:
                await self.verifier.load()
                break
            except errors.Unavailable:
                if attempt == 59:
                    raise
                log.warning("database busy at start-up; retrying")
                await asyncio.sleep(0.5)

    async def _refresh_revoked_tokens(self) -> None:
        await self.verifier.refresh(self.settings.token_refresh_seconds)

    @staticmethod
    def _policies(services: list[GrpcService]) -> dict[str, RolePolicy]:
        policies: dict[str, RolePolicy] = {}
        for service in services:
            policies |= policies_for(service.descriptor, service.roles, service.default_roles)
        return policies

    def _server(self, services: list[GrpcService], interceptor: Interceptor) -> grpc.aio.Server:
        """A server with the services, health and reflection behind the interceptor."""
        s = self.settings
        server = grpc.aio.server(
            interceptors=[interceptor],
            maximum_concurrent_rpcs=s.max_concurrent_rpcs,
            options=[
                ("grpc.so_reuseport", 0),
                ("grpc.max_receive_message_length", s.max_message_bytes),
                ("grpc.max_send_message_length", s.max_message_bytes),
            ],
        )
        names = [reflection.SERVICE_NAME, health.SERVICE_NAME]
        for service in services:
            service.add_to_server(service.servicer, server)
            names.append(service.descriptor.full_name)
        health_pb2_grpc.add_HealthServicer_to_server(self.health, server)
        reflection.enable_server_reflection(names, server)
        return server

    def _bind(self, server: grpc.aio.Server, listener: Listener) -> int:
        address = f"{listener.host}:{listener.port}"
        if listener.tls_cert or listener.tls_key:
            setting = f"HUB_{self.settings.service.upper()}_{listener.name.upper()}"
            try:
                cert, key = tls.read_pair(listener.tls_cert, listener.tls_key, setting=setting)
            except ValueError as exc:
                raise ConfigurationError(str(exc)) from None
            port = server.add_secure_port(address, grpc.ssl_server_credentials([(key, cert)]))
        elif is_loopback(listener.host):
            port = server.add_insecure_port(address)
        else:
            raise ConfigurationError(
                f"the {listener.name} API would be plaintext on {listener.host}: configure a TLS certificate "
                "or listen on a loopback address"
            )
        if not port:
            raise RuntimeError(f"cannot listen on {address}")
        return port

    async def _run_backbone(self) -> None:
        """Connects to NATS (retrying while it is down) and runs the relay and consumers."""
        s = self.settings
        self.nc = await events.connect(s.nats_url, name=s.service)
        self.js = self.nc.jetstream()
        while True:
            try:
                await events.ensure_stream(self.js, replicas=s.stream_replicas, dedup_window=s.dedup_window_seconds)
                break
            except Exception as exc:
                log.warning("stream not ready; retrying", error=str(exc))
                await asyncio.sleep(1)
        self.relay = events.OutboxRelay(self.db, self.js, sweep_seconds=s.relay_sweep_seconds)
        self._tasks.append(asyncio.create_task(self.relay.run(), name="relay"))
        for spec in self.consumer_specs:
            consumer = events.EventConsumer(
                self.db, self.js, spec, ack_wait=s.consumer_ack_wait, max_deliver=s.consumer_max_deliver
            )
            consumer.counted = lambda name, outcome: self.metrics.events.labels(name, outcome).inc()
            self.consumers.append(consumer)
            self._tasks.append(asyncio.create_task(self._supervise(consumer.run, spec.durable), name=spec.durable))
        self.ready.set()

    async def _supervise(self, run: Callable[[], Awaitable[None]], what: str) -> None:
        """Runs a background loop; a crash is logged and the loop restarted, never lost silently."""
        while True:
            try:
                await run()
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("background task failed; restarting", task=what)
                await asyncio.sleep(1)

    def _consumer_names(self) -> set[str]:
        return {spec.durable for spec in self.consumer_specs}

    async def stop(self) -> None:
        """Stops taking calls, lets in-flight RPCs finish within the grace period, then the backbone."""
        await self.health.enter_graceful_shutdown()
        for _, http in self._gateways:  # no new HTTP calls; those under way finish before the gRPC servers stop
            await http.stop()
        servers = [x for x in (self.server, *self._extra_servers) if x is not None]
        await asyncio.gather(*(x.stop(self.settings.grace_period) for x in servers))
        # The relay and consumers end between transactions when asked; cancelling one inside a transaction
        # can leave its connection mid-rollback, and closing the pool then waits for it. Only a loop still
        # busy after the grace period is cancelled.
        backbone = [x for x in self._tasks if x.get_name() == "relay" or x.get_name() in self._consumer_names()]
        if self.relay:
            self.relay.stop()
        for consumer in self.consumers:
            consumer.stop()
        if backbone:
            await asyncio.wait(backbone, timeout=self.settings.grace_period + 1.0)
        if self.relay:
            with contextlib.suppress(Exception):
                while await self.relay.publish_batch():
                    pass
        for task in self._tasks:
            task.cancel()
        pending = set(self._tasks)
        while pending:
            # Python 3.11's asyncio.wait_for swallows a cancellation that lands just as its inner future
            # completes (the NATS client's next_msg uses it), and the consumer loop then runs on: cancel again.
            _, pending = await asyncio.wait(pending, timeout=1.0)
            for task in pending:
                task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.nc and not self.nc.is_closed:
            # close, not drain: the relay has published everything and the consumers have stopped, so nothing
            # is left to process, and drain would wait out its 30 s timeout for messages still queued in a pull
            # subscription that no stopped consumer will ever read.
            with contextlib.suppress(Exception):
                await self.nc.close()
        self.metrics.close()
        await self.db.close()


def is_serving(address: str, timeout: float = 3.0) -> bool:
    """Whether the gRPC server at address answers the health check with SERVING."""
    try:
        with grpc.insecure_channel(address) as channel:
            reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=timeout)
    except grpc.RpcError:
        return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def serve_forever(build: Callable[[Settings], Runtime], settings: Settings) -> None:
    """A service process: logs, uvloop, start, then a graceful stop on SIGINT or SIGTERM.

    `python -m services.<name> migrate` only migrates its database (a deploy's migration job, run once
    before the replicas, which then start with HUB_MIGRATE_ON_START=0); `… health` exits 0 when the
    service on this host answers SERVING (a container health check where no gRPC probe exists)."""
    import signal
    import sys

    from hubcore import logs

    os.umask(PRIVATE_UMASK)  # whatever the service writes (SQLite files) is its owner's alone
    logs.configure(fmt=settings.log_format, level=settings.log_level, service=settings.service)
    tracing.configure(settings.service)
    command = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if command == "migrate":
        runtime = build(settings)
        asyncio.run(migrate.upgrade(runtime.migrations, settings.database_url))
        log.info("migrated", service=settings.service)
        return
    if command == "health":
        sys.exit(0 if is_serving(f"127.0.0.1:{settings.grpc_port}") else 1)
    if command != "serve":
        sys.exit(f"usage: python -m services.{settings.service} [serve|migrate|health]")

    async def main() -> None:
        runtime = build(settings)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            await runtime.start()
        except ConfigurationError as exc:
            log.error("cannot start", reason=str(exc))
            await runtime.db.close()
            sys.exit(2)
        await stop.wait()
        log.info("stopping", grace_seconds=settings.grace_period)
        await runtime.stop()
        log.info("stopped")

    try:
        import uvloop

        uvloop.run(main())
    except ImportError:
        asyncio.run(main())
