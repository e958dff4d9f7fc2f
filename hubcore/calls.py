"""The door of every call: who calls (tokens, partner keys), whether their role may call the method, limits
per peer and per key, the request's declared rules, tracing, the audit hook, and HubError -> the call's
google.rpc.Status in one place. hubcore.server wires it into the gRPC server."""

from __future__ import annotations

import asyncio
import collections
import contextvars
import hmac
import ipaddress
import math
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import grpc
import structlog
from grpc_status import rpc_status
from opentelemetry.trace import SpanKind, StatusCode

from hubcore import errors, tokens, tracing
from hubcore.db import caller_scope
from hubcore.metrics import Metrics
from hubcore.requests import Rules, current_page_keys, page_token_keys, validate
from hubcore.settings import Settings, token_hash

log = structlog.get_logger()
GRPC_CODES = {code.value[0]: code for code in grpc.StatusCode}  # google.rpc.Code -> the call's status

ADMIN, SERVICE, PARTNER = "admin", "service", "partner"
FOUNDER, MENTOR = "founder", "mentor"  # bound to one company, one mentor (hubcore.tokens.SCOPED)
REVIEWER = "reviewer"  # bound to one selection reviewer (reviewers/N)
ANYONE = "anyone"  # a method open without credentials (sign-in): the peer's limit still applies
# The address of the person behind a front end (the console) that calls an open method for them; believed only
# from a caller holding a service token, so each person keeps their own sign-in limit.
FORWARDED_FOR = "x-hub-forwarded-for"
# The HTTP/JSON gateway of a listener (hubcore.gateway) forwards each call with the HTTP client's address, believed
# only with the listener's gateway secret, which never leaves the process.
FORWARDED_PEER, GATEWAY_SECRET = "x-hub-forwarded-peer", "x-hub-gateway"
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


@dataclass(frozen=True)
class Bound:
    """A policy entry admitting a scoped role only where the request names its own resource: `field` (a dotted
    path into the request) must be the caller's scope or a resource under it ("companies/7/kpiReports/2").
    The binding comes from the token, never from the request: a request naming another resource is refused."""

    role: str
    field: str

    def admits(self, who: Caller, request: Any) -> bool:
        if who.role != self.role or not who.scope:
            return False
        value: Any = request
        for part in self.field.split("."):
            value = getattr(value, part, "")
        return isinstance(value, str) and (value == who.scope or value.startswith(who.scope + "/"))


RolePolicy = frozenset[str | Bound]  # the roles a method admits, and the scoped roles it binds


def admitted(who: Caller, policy: RolePolicy, request: Any) -> None:
    """PERMISSION_DENIED unless the policy admits the caller's role, or binds it to what this request names."""
    if who.role in policy:
        return
    bound = [entry for entry in policy if isinstance(entry, Bound) and entry.role == who.role]
    if not bound:
        raise errors.PermissionDenied(f"the {who.role} role may not call this method")
    if isinstance(request, Undecodable):
        return  # it names nothing to bind: INVALID_ARGUMENT follows, as for every caller the method admits
    if not any(entry.admits(who, request) for entry in bound):
        raise errors.PermissionDenied(f"a {who.role} may act only for {who.scope}")


current_caller: contextvars.ContextVar[Caller] = contextvars.ContextVar("current_caller")


def caller() -> Caller:
    return current_caller.get()


def bound_to(role: str) -> int | None:
    """The number of the resource the caller's token binds them to (a founder's company, a mentor's mentor), if
    the caller has that role; None for any other caller. For use cases whose requests name resources that are
    not under the scope (sessions/7, people/3): they check ownership themselves."""
    who = current_caller.get(None)
    if who is None or who.role != role:
        return None
    collection, _, number = who.scope.partition("/")
    if collection != tokens.SCOPED.get(role) or not number.isdigit():
        raise errors.PermissionDenied(f"a {role} token must be bound to one of {tokens.SCOPED.get(role)}")
    return int(number)


def also_for_services(*methods: str) -> dict[str, RolePolicy]:
    """A service's roles per method where program managers (admin) do everything and other services may call
    these methods too (its reads); any other method falls to the service's DEFAULT_ROLES."""
    return dict.fromkeys(methods, frozenset({ADMIN, SERVICE}))


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


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def peer_address(peer: str) -> str:
    """The caller's address without its port, from grpc's peer string ("ipv4:10.0.0.7:51234", "ipv6:[::1]:5")."""
    kind, _, rest = peer.partition(":")
    if kind in ("ipv4", "ipv6"):
        return rest.rsplit(":", 1)[0].strip("[]")
    return peer


Audit = Callable[[CallRecord], Awaitable[None]]


class TokenBuckets:
    """A token bucket per key: `rate` calls a second on average, bursts of up to `burst`. In memory, so
    per process: with N replicas a key gets up to N times the rate (the partner API's per-peer limit of failed
    authentications, which must cost no database work; a limit that must hold across replicas is a Limiter)."""

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

    def wait(self, key: str) -> float:
        """The seconds until the key's bucket has a token again (0: it has one), taking none."""
        tokens, then = self._buckets.get(key, (float(self.burst), self.clock()))
        tokens = min(float(self.burst), tokens + (self.clock() - then) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def _forget_full(self, now: float) -> None:
        """Drops the buckets that have filled up again (a new one starts full): keys by peer address come and
        go, and must not grow the dict without end."""
        full = [k for k, (tokens, then) in self._buckets.items() if tokens + (now - then) * self.rate >= self.burst]
        for key in full:
            del self._buckets[key]


@dataclass(frozen=True)
class Quota:
    """A caller's rate limit as one call found it: `used` calls of `limit` in a window of `window` seconds,
    which ends in `reset` seconds; `admitted` is whether this call was counted (False: over the limit)."""

    limit: int
    used: int
    window: float
    reset: float
    admitted: bool = True

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.used)

    def headers(self) -> tuple[tuple[str, str], ...]:
        """The IETF RateLimit header fields (draft-ietf-httpapi-ratelimit-headers, the -limit/-remaining/-reset
        form most clients read, and the policy): every answer to a limited caller carries them; a refusal also
        `retry-after` (whole seconds, as HTTP's Retry-After)."""
        reset = str(max(1, math.ceil(self.reset)))
        fields = (
            ("ratelimit-limit", str(self.limit)),
            ("ratelimit-remaining", str(self.remaining)),
            ("ratelimit-reset", reset),
            ("ratelimit-policy", f"{self.limit};w={self.window:g}"),
        )
        return fields if self.admitted else (*fields, ("retry-after", reset))


class Limiter(Protocol):
    """A per-caller limit that holds across replicas (a shared store): counts the call, or says it is over the
    limit; None for a caller it does not limit."""

    async def take(self, who: Caller) -> Quota | None: ...


# What a listener checks of an authenticated caller beyond its role, knowing the method (the partner API: the
# key's scopes): raises PermissionDenied saying what is missing.
Authorize = Callable[[Caller, str], None]
MAX_KNOWN_TOKENS = 10_000


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
        policies: dict[str, RolePolicy],
        rules: dict[type, Rules],
        *,
        authenticate: Authenticator | None = None,
        limiter: Limiter | None = None,
        peer_limiter: TokenBuckets | None = None,
        authorize: Authorize | None = None,
        audit: Audit | None = None,
        metrics: Metrics | None = None,
        verifier: tokens.TokenVerifier | None = None,
        gateway_secret: str = "",
    ) -> None:
        self.metrics = metrics
        self.gateway_secret = gateway_secret
        self.tokens = {h: ADMIN for h in settings.admin_token_hashes} | {
            h: SERVICE for h in settings.service_token_hashes
        }
        self.verifier = verifier  # signed access tokens (hubat_…), checked without I/O
        self.page_keys = page_token_keys(settings.token_signing_keys)  # the same in every replica
        self.policies = policies
        self.rules = rules
        self.authenticate = authenticate
        self.limiter = limiter
        self.peer_limiter = peer_limiter  # failed authentications per peer address
        self.authorize = authorize
        self.audit = audit
        # Digests of the tokens that authenticated lately: a peer over its limit of failures is refused before any
        # database work, but not a caller whose token was valid a moment ago (another client behind the same
        # address); that token is still checked in full.
        self._known: collections.OrderedDict[str, None] = collections.OrderedDict()

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
        policy = self.policies.get(method, frozenset())  # a method without a policy admits nobody
        metadata = dict(details.invocation_metadata or ())

        async def wrapped(request: Any, context: grpc.aio.ServicerContext) -> Any:
            request_id = str(metadata.get("x-request-id", ""))[:64] or secrets.token_hex(8)
            peer = self._peer(metadata, context.peer())
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
                            method, who, code, request, request_id, peer, elapsed_ms, who is None or limited
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
                    if ANYONE in policy:
                        who = Caller(role=ANYONE, id=await self._open_caller(metadata, peer))
                    else:
                        try:
                            who = await self._limited_authenticate(metadata, peer_address(peer))
                        except errors.ResourceExhausted:
                            limited = True
                            raise
                    if self.limiter and (quota := await self.limiter.take(who)):
                        # In the answer's headers, sent now: whatever the call's outcome, the caller learns its limit.
                        await context.send_initial_metadata(quota.headers())
                        if not quota.admitted:
                            limited = True
                            raise errors.ResourceExhausted(
                                f"rate limit of {quota.limit} calls per {quota.window:g} s reached; retry in "
                                f"{math.ceil(quota.reset)} s, when the window ends",
                                retry_after=quota.reset,
                            )
                    if ANYONE not in policy:
                        admitted(who, policy, request)  # an undecodable request names nothing a binding admits
                        if self.authorize:
                            self.authorize(who, method)
                    current_caller.set(who)
                    caller_scope.set(who.scope)  # a request id is a retry of this party's request alone
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

    def _peer(self, metadata: dict[str, Any], peer: str) -> str:
        """The caller's address: gRPC's peer, or for a call the HTTP gateway forwards, its HTTP client's."""
        forwarded = str(metadata.get(FORWARDED_PEER, ""))[:100]
        secret = str(metadata.get(GATEWAY_SECRET, ""))
        if forwarded and self.gateway_secret and hmac.compare_digest(secret.encode(), self.gateway_secret.encode()):
            return forwarded
        return peer

    async def _open_caller(self, metadata: dict[str, Any], peer: str) -> str:
        """Who calls an open method: the peer's address, or the address a service forwards (FORWARDED_FOR)."""
        forwarded = str(metadata.get(FORWARDED_FOR, "")).strip()[:64]
        if forwarded and "authorization" in metadata:
            try:
                front = await self._authenticate(metadata)
            except errors.HubError:
                front = None
            if front is not None and front.role == SERVICE:
                return forwarded
        return peer_address(peer)

    async def _limited_authenticate(self, metadata: dict[str, Any], peer: str) -> Caller:
        """Authentication under the peer's limit of failures, when the listener has one: a peer over it is
        refused before any database work (API keys are looked up), unless its token authenticated lately."""
        if self.peer_limiter is None:
            return await self._authenticate(metadata)
        digest = token_hash(str(metadata.get("authorization", "")))
        if digest not in self._known and (wait := self.peer_limiter.wait(peer)):
            raise errors.ResourceExhausted(
                f"too many failed authentications from your address; retry in {math.ceil(wait)} s", retry_after=wait
            )
        try:
            who = await self._authenticate(metadata)
        except errors.Unauthenticated:
            self._known.pop(digest, None)
            self.peer_limiter.take(peer)
            raise
        self._known[digest] = None
        self._known.move_to_end(digest)
        if len(self._known) > MAX_KNOWN_TOKENS:
            self._known.popitem(last=False)
        return who

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
            return Caller(role=claims.role, id=claims.name, scope=claims.scope)
        digest = token_hash(token)
        role = next((r for h, r in self.tokens.items() if hmac.compare_digest(h, digest)), None)
        who = Caller(role=role, id=digest[:8]) if role else None
        if who is None and self.authenticate:
            who = await self.authenticate(token)
        if who is None:
            raise errors.Unauthenticated("the token is not valid")
        return who


def policies_for(
    service: Any, roles: Mapping[str, RolePolicy], default: RolePolicy | None = None
) -> dict[str, RolePolicy]:
    """Full method paths -> roles, from a service descriptor. Every method needs a policy: a method
    added without one fails at start-up rather than opening silently."""
    result = {}
    for method in service.methods:
        allowed = roles.get(method.name, default)
        if allowed is None:
            raise RuntimeError(f"{service.full_name}.{method.name} has no authorization policy")
        result[f"/{service.full_name}/{method.name}"] = allowed
    return result
