"""gRPC bootstrap and the service runtime: one interceptor for ids, logs, auth, validation and errors;
health and reflection; the NATS connection, outbox relay and consumers; graceful stop."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hmac
import ipaddress
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
import structlog
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from grpc_status import rpc_status
from hub.ops.v1 import ops_pb2, ops_pb2_grpc, privacy_pb2, privacy_pb2_grpc
from nats.aio.client import Client as NATS
from nats.js import JetStreamContext
from opentelemetry.trace import SpanKind, StatusCode

from hubcore import errors, events, migrate, retention, tls, tokens, tracing
from hubcore.db import Database, dead_letters, idempotency_keys, outbox, processed_events, unusable_database
from hubcore.metrics import Metrics, Probe
from hubcore.ops import OperationsApi
from hubcore.privacy import PersonalData, PrivacyApi
from hubcore.requests import Rules, current_page_keys, page_token_keys, validate
from hubcore.retention import Retention
from hubcore.settings import PRIVATE_UMASK, Settings, token_hash

log = structlog.get_logger()
GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}  # google.rpc.Code -> the call's status

ADMIN, SERVICE, PARTNER = "admin", "service", "partner"
OPEN_METHODS = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
)


@dataclass(frozen=True)
class Caller:
    role: str
    id: str  # a short, non-secret id of the token: the first 8 hex of its hash, or the key's name (apiKeys/7)
    scope: str = ""  # the resource a scoped caller is bound to: a partner's firm, "firms/3"

    @property
    def actor(self) -> str:
        return f"{self.role}:{self.id}"


current_caller: contextvars.ContextVar[Caller] = contextvars.ContextVar("current_caller")


def caller() -> Caller:
    return current_caller.get()


# Tokens the settings don't know are offered to the authenticator, if the server has one: it returns the
# caller, None for a token it does not know, or raises Unauthenticated (expired, revoked).
Authenticator = Callable[[str], Awaitable[Caller | None]]


@dataclass(frozen=True)
class CallRecord:
    """What an audit hook learns of each call: who (None when authentication failed), what, the outcome."""

    method: str
    caller: Caller | None
    code: grpc.StatusCode
    request: Any
    request_id: str
    peer: str
    duration_ms: float
    refused: bool = False  # stopped at the door: no valid credentials, or over a rate limit


def peer_address(peer: str) -> str:
    """The caller's address without its port, from grpc's peer string ("ipv4:10.0.0.7:51234", "ipv6:[::1]:5")."""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        return rest.rsplit(":", 1)[0].strip("[]")
    return peer


Audit = Callable[[CallRecord], Awaitable[None]]


class TokenBuckets:
    """A token bucket per key: `rate` calls a second on average, bursts of up to `burst`. In memory, so
    per process: with N replicas a key gets up to N times the rate."""

    MAX_KEYS = 10_000  # beyond this many, the full buckets are forgotten

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, when)

    def take(self, key: str) -> float:
        """Takes a token; returns 0 if there was one, else the seconds until there will be."""
        now = self.clock()
        if len(self._buckets) > self.MAX_KEYS:
            self._forget_full(now)
        tokens, then = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - then) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drops the buckets that have filled up again (a new one starts full): keys by peer address come and
        go, and must not grow the dict without end."""
        full = [k for k, (tokens, then) in self._buckets.items() if tokens + (now - then) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]


@dataclass
class Undecodable:
    """What the server received in place of a request it could not parse."""

    message_type: str
    error: str


TRACE_HEADERS = ("traceparent", "tracestate")
# Codes that mean the server failed, not the caller (OpenTelemetry's rule for server spans).
SERVER_FAULTS = {
    grpc.StatusCode.UNKNOWN,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.UNIMPLEMENTED,
    grpc.StatusCode.INTERNAL,
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DATA_LOSS,
}


class Interceptor(grpc.aio.ServerInterceptor):
    """Request id and logs, authentication against the method's declared roles, declared input rules,
    and HubError -> google.rpc.Status. Anything unexpected is INTERNAL and logged with its traceback."""

    def __init__(
        self,
        settings: Settings,
        policies: dict[str, frozenset[str]],
        rules: dict[type, Rules],
        *,
        authenticate: Authenticator | None = None,
        limiter: TokenBuckets | None = None,
        peer_limiter: TokenBuckets | None = None,
        audit: Audit | None = None,
        metrics: Metrics | None = None,
        verifier: tokens.TokenVerifier | None = None,
    ) -> None:
        self.metrics = metrics
        self.tokens = {h: ADMIN for h in settings.admin_token_hashes} | {
            h: SERVICE for h in settings.service_token_hashes
        }
        self.verifier = verifier  # signed access tokens (hubat_…), checked without I/O
        self.page_keys = page_token_keys(settings.token_signing_keys)  # the same in every replica
        self.policies = policies
        self.rules = rules
        self.authenticate = authenticate
        self.limiter = limiter
        self.peer_limiter = peer_limiter
        self.audit = audit

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        method = details.method
        if handler is None or method.startswith(OPEN_METHODS) or not handler.unary_unary:
            return handler
        inner = handler.unary_unary
        roles = self.policies.get(method, frozenset())  # a method without a policy admits nobody
        metadata = dict(details.invocation_metadata or ())

        async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
            request_id = str(metadata.get("x-request-id", ""))[:64] or secrets.token_hex(8)
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            who: Caller | None = None
            limited = False  # refused by a rate limit
            audited = False

            async def audit(code: grpc.StatusCode) -> None:
                """Records the call before its answer leaves, so that an answered call is always in the log."""
                nonlocal audited
                audited = True
                if self.audit:
                    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
                    try:
                        record = CallRecord(
                            method, who, code, request, request_id, context.peer(), elapsed_ms, who is None or limited
                        )
                        await self.audit(record)
                    except Exception as exc:  # the call has happened; a failed audit write must not hide it
                        log.error("audit write failed", error=repr(exc))

            parent = {k: v for k, v in metadata.items() if k in TRACE_HEADERS and isinstance(v, str)}
            traced = tracing.span(
                method, parent, SpanKind.SERVER, **{"rpc.system": "grpc", "hub.request_id": request_id}
            )
            with traced as current, structlog.contextvars.bound_contextvars(request_id=request_id, method=method):
                try:
                    current_page_keys.set(self.page_keys)
                    # The peer's limit comes before authentication, which may read the database (API keys).
                    if self.peer_limiter and (wait := self.peer_limiter.take(peer_address(context.peer()))):
                        limited = True
                        raise errors.ResourceExhausted(
                            f"too many calls from your address; retry in {wait:.1f} s", retry_after=wait
                        )
                    who = await self._authenticate(metadata)
                    current_caller.set(who)
                    if who.role not in roles:
                        raise errors.PermissionDenied(f"the {who.role} role may not call this method")
                    if self.limiter and (wait := self.limiter.take(who.id)):
                        limited = True
                        raise errors.ResourceExhausted(
                            f"rate limit of {self.limiter.rate:g} calls a second exceeded; retry in {wait:.1f} s",
                            retry_after=wait,
                        )
                    if isinstance(request, Undecodable):
                        raise errors.invalid(
                            "request", f"is not a valid {request.message_type} message: {request.error}"
                        )
                    validate(request, self.rules.get(type(request)))
                    response = await inner(request, context)
                    await audit(code)
                    return response
                except errors.HubError as exc:
                    code = GRPC_CODES[exc.code]
                    status = rpc_status.to_status(exc.to_status())
                    if exc.metadata:
                        status = status._replace(trailing_metadata=(*status.trailing_metadata, *exc.metadata))
                    await audit(code)
                    await context.abort_with_status(status)
                except asyncio.CancelledError:
                    code = grpc.StatusCode.CANCELLED
                    raise
                except grpc.aio.AbortError:  # the handler aborted with a status of its own
                    code = context.code() or grpc.StatusCode.UNKNOWN
                    raise
                except Exception as exc:
                    code = grpc.StatusCode.INTERNAL
                    log.exception("unhandled error", error=repr(exc))
                    status = errors.Internal("internal error; the request id is " + request_id).to_status()
                    await audit(code)
                    await context.abort_with_status(rpc_status.to_status(status))
                finally:
                    elapsed = time.perf_counter() - started
                    elapsed_ms = round(elapsed * 1000, 2)
                    if self.metrics:
                        self.metrics.observe_rpc(method, code.name, elapsed)
                    current.set_attribute("rpc.grpc.status_code", code.value[0])
                    if code in SERVER_FAULTS:
                        current.set_status(StatusCode.ERROR, code.name)
                    if code == grpc.StatusCode.OK:
                        log.debug("rpc", code=code.name, ms=elapsed_ms)
                    else:
                        log.info("rpc", code=code.name, ms=elapsed_ms)
                    if not audited and code != grpc.StatusCode.CANCELLED:
                        await audit(code)  # a handler's own abort: its answer has left already

        decode = handler.request_deserializer

        def tolerant_decode(data: bytes) -> Any:
            # grpc answers a deserializer's exception with UNKNOWN; a request that is not the message it
            # claims to be (corrupt wire format, invalid UTF-8 in a string) is the caller's mistake.
            try:
                return decode(data)
            except Exception as exc:
                return Undecodable(method.rsplit("/", 1)[-1] + "Request", str(exc)[:200])

        return grpc.unary_unary_rpc_method_handler(
            wrapped,
            request_deserializer=tolerant_decode,
            response_serializer=handler.response_serializer,
        )

    async def _authenticate(self, metadata: dict[str, Any]) -> Caller:
        header = str(metadata.get("authorization", ""))
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise errors.Unauthenticated("missing bearer token: send metadata 'authorization: Bearer <token>'")
        token = token.strip()
        if token.startswith(tokens.PREFIX):
            # Signed: expired, revoked, altered or malformed is UNAUTHENTICATED saying which, never more.
            if self.verifier is None:
                raise errors.Unauthenticated("the token is not valid")
            claims = self.verifier.check(token)
            return Caller(role=claims.role, id=claims.name)
        digest = token_hash(token)
        role = next((r for h, r in self.tokens.items() if hmac.compare_digest(h, digest)), None)
        who = Caller(role=role, id=digest[:8]) if role else None
        if who is None and self.authenticate:
            who = await self.authenticate(token)
        if who is None:
            raise errors.Unauthenticated("the token is not valid")
        return who


def policies_for(
    service: Any, roles: dict[str, frozenset[str]], default: frozenset[str] | None = None
) -> dict[str, frozenset[str]]:
    """Full method paths -> roles, from a service descriptor. Every method needs a policy: a method
    added without one fails at start-up rather than opening silently."""
    result = {}
    for method in service.methods:
        allowed = roles.get(method.name, default)
        if allowed is None:
            raise RuntimeError(f"{service.full_name}.{method.name} has no authorization policy")
        result[f"/{service.full_name}/{method.name}"] = allowed
    return result


@dataclass
class GrpcService:
    add_to_server: Callable[[Any, grpc.aio.Server], None]
    servicer: Any
    descriptor: Any  # the protobuf ServiceDescriptor
    roles: dict[str, frozenset[str]]
    default_roles: frozenset[str] | None = None


@dataclass
class Listener:
    """A second gRPC server in the same process, for callers from outside the hub (the investors partner
    API): its own port and services, its own authenticator, TLS, a per-caller rate limit and an audit hook.
    Without a certificate it serves only on a loopback host. The operator service is never served here."""

    name: str
    host: str
    port: int
    services: list[GrpcService]
    rules: dict[type, Rules] = field(default_factory=dict)
    authenticate: Authenticator | None = None
    tls_cert: str = ""  # PEM file paths
    tls_key: str = ""
    limiter: TokenBuckets | None = None  # per caller
    peer_limiter: TokenBuckets | None = None  # per peer address, before authentication
    audit: Audit | None = None
    bound_port: int = 0  # set at start (port 0 picks a free one)
    policies: dict[str, frozenset[str]] = field(default_factory=dict)  # set at start

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert and self.tls_key)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ConfigurationError(RuntimeError):
    """A setting that cannot work; the process says which and exits rather than serve half-configured."""


class Runtime:
    """Everything one service process runs, started and stopped in the right order."""

    def __init__(self, settings: Settings, *, migrations: str) -> None:
        self.settings = settings
        self.migrations = migrations
        self.db = Database(settings.database_url, source=settings.service)
        self.services: list[GrpcService] = []
        self.rules: dict[type, Rules] = {}
        self.consumer_specs: list[events.ConsumerSpec] = []
        self.consumers: list[events.EventConsumer] = []
        self.loops: list[tuple[str, Callable[[], Awaitable[None]]]] = []
        self.relay: events.OutboxRelay | None = None
        self.nc: NATS | None = None
        self.js: JetStreamContext | None = None
        self.server: grpc.aio.Server | None = None
        self.port = 0
        self.listeners: list[Listener] = []
        self._extra_servers: list[grpc.aio.Server] = []
        self.health = health.aio.HealthServicer()
        self._tasks: list[asyncio.Task[Any]] = []
        self.ready = asyncio.Event()  # set once the relay and consumers run
        self.policies: dict[str, frozenset[str]] = {}  # method path -> roles admitted, on the main port
        self.metrics = Metrics(settings.service)
        self.metrics_port = 0  # where /metrics is served, when settings.metrics_port is set
        # Signed access tokens: every service checks them with the signing key, and learns revocations from
        # hub.ops.access_token.revoked through a consumer of its own.
        self.verifier = tokens.TokenVerifier(self.db, settings.token_signing_keys)
        # What the service holds about a company or a person, for PrivacyService (every service serves it).
        self.personal_data: PersonalData | None = None
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
                audit=listener.audit,
                metrics=self.metrics,
                verifier=self.verifier,
            )
            server = self._server(listener.services, interceptor)
            listener.bound_port = self._bind(server, listener)
            self._extra_servers.append(server)
        await self.server.start()
        for server in self._extra_servers:
            await server.start()
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
    def _policies(services: list[GrpcService]) -> dict[str, frozenset[str]]:
        policies: dict[str, frozenset[str]] = {}
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
