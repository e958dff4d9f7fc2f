"""Settings from HUB_* environment variables, with embedded defaults that run on a fresh machine.

Every read of the environment in the hub goes through this module: the services' Settings, tracing's OTEL_*
switch, hubctl's connection settings (ClientSettings) and, through `variable`/`environment`, the local
tooling's own (hublocal/settings.py), and the services' own settings dataclasses (notifications, playbooks, console),
whose fields name their variable with `env_field` and are read by `from_env_fields`. A new setting is added
here or as an `env_field` (and to docs/operations.md)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

PROJECT_DIR = Path(__file__).resolve().parent.parent
# The data directory holds personal data, stored responses and key hashes: whatever a service or the
# launcher writes there is its owner's alone (0700 directories, 0600 files).
PRIVATE_UMASK = 0o077

# Each service's default gRPC port on the embedded setup; NATS on its own port, never 4222.
DEFAULT_PORTS = {
    "companies": 50061, "investors": 50062, "consulting": 50063, "notifications": 50064, "playbooks": 50065,
}  # fmt: skip
DEFAULT_NATS_PORT = 14222
DEFAULT_MAIL_SINK_PORT = 14025  # the local SMTP sink of `make run` (messages land in var/mail/)
# Services with an external API for callers outside the hub listen on a second port (the partner API).
DEFAULT_PARTNER_PORTS = {"investors": 50072}
# and the same API as HTTP/JSON (hubcore.gateway) on the port beside it, with the same TLS certificate.
DEFAULT_PARTNER_HTTP_PORTS = {"investors": 50073}


def token_hash(token: str) -> str:
    """Tokens are stored and configured as SHA-256 hex digests, never in clear."""
    return hashlib.sha256(token.encode()).hexdigest()


def variable(name: str, default: str = "") -> str:
    """One environment variable as it is now (read when called, so a later change counts)."""
    return os.environ.get(name, default)


def is_set(name: str) -> bool:
    return name in os.environ


def environment() -> dict[str, str]:
    """The whole environment, as a copy: what the launcher hands on to its child processes."""
    return dict(os.environ)


def _env(name: str, default: str) -> str:
    return variable(f"HUB_{name}", default)


def flag(value: str) -> bool:
    """A yes/no setting: 1, true, yes or on (any case) is yes; anything else no."""
    return value.strip().lower() in ("1", "true", "yes", "on")


def env_field(name: str, default: T, **options: Any) -> T:
    """A field of a service's own settings dataclass read from HUB_<name> by `from_env_fields`, as the type of
    its default (a bool with `flag`); unset, the default."""
    made: T = field(default=default, metadata={"env": name}, **options)
    return made


def from_env_fields(cls: type[T], **given: Any) -> T:
    """A settings dataclass with every `env_field` that is set read from the environment, and `given` for the
    fields read some other way."""
    values = dict(given)
    found: tuple[Field[Any], ...] = fields(cls)  # type: ignore[arg-type]
    for f in found:
        name = f.metadata.get("env")
        if name is None or f.name in values or not is_set(f"HUB_{name}"):
            continue
        raw, default = variable(f"HUB_{name}"), f.default
        values[f.name] = flag(raw) if isinstance(default, bool) else type(default)(raw)  # type: ignore[misc]
    return cls(**values)


def _optional_int(value: str) -> int | None:
    return int(value) if value.strip() else None


def _hashes(value: str) -> frozenset[str]:
    return frozenset(h.strip().lower() for h in value.split(",") if h.strip())


def database_url(service: str, data_dir: Path) -> str:
    """HUB_<SERVICE>_DATABASE_URL, else HUB_DATABASE_URL with the service's name for {service} (one setting
    for a database each on one server), else a SQLite file in the data directory."""
    default = f"sqlite+aiosqlite:///{data_dir / (service + '.db')}"
    return _env(f"{service.upper()}_DATABASE_URL", _env("DATABASE_URL", default).replace("{service}", service))


@dataclass(frozen=True)
class Settings:
    service: str
    data_dir: Path
    database_url: str
    nats_url: str
    grpc_host: str
    grpc_port: int
    stream_replicas: int = 1
    log_format: str = "console"  # "console" in a terminal, "json" in production
    log_level: str = "info"
    admin_token_hashes: frozenset[str] = field(default_factory=frozenset)
    service_token_hashes: frozenset[str] = field(default_factory=frozenset)
    # Keys that sign access tokens (hubcore.tokens): the first signs, every one verifies. Never printed.
    token_signing_keys: tuple[str, ...] = field(default=(), repr=False)
    token_refresh_seconds: float = 5.0  # how often the revoked tokens are read again (other replicas' writes)
    grace_period: float = 10.0
    max_concurrent_rpcs: int = 1000
    max_message_bytes: int = 4 * 1024 * 1024
    migrate_on_start: bool = True
    relay_sweep_seconds: float = 1.0
    consumer_ack_wait: float = 30.0
    consumer_max_deliver: int = 5
    dedup_window_seconds: float = 120.0
    # The external listener (investors: the partner API): its own port, TLS, per-key rate limits.
    partner_host: str = "127.0.0.1"
    partner_port: int = 0
    partner_tls_cert: str = ""  # PEM files; without them the listener refuses any but a loopback host
    partner_tls_key: str = ""
    partner_http_port: int | None = None  # HTTP/JSON beside it (same host, TLS and door); None: not served
    # Calls per key and window, counted in the database every replica shares (decision 0021): a key gets this
    # many in total, however many replicas serve it.
    partner_key_limit: int = 900
    partner_key_window_seconds: float = 60.0
    # Failed authentications per peer address: a burst, then this many a second. Counted in memory, before any
    # database work: a flood of invalid keys is refused without a key lookup or a row per call.
    partner_peer_rate: float = 20.0
    partner_peer_burst: int = 40
    metrics_host: str = "127.0.0.1"
    metrics_port: int | None = None  # Prometheus /metrics; None: not served, 0: any free port
    metrics_refresh_seconds: float = 5.0
    # Retention of the tables that grow with traffic (hubcore.retention), in days; 0 keeps rows for ever.
    retention_sweep_seconds: float = 3600.0
    outbox_retention_days: float = 30.0  # published rows only: an unpublished one is never swept
    # At least the stream's max age (events.STREAM_MAX_AGE_DAYS), checked at start: JetStream keeps an
    # event that long, and a consumer that reads it again then must still find it processed.
    processed_events_retention_days: float = 120.0
    idempotency_retention_days: float = 30.0  # a retry after this is a new request
    dead_letter_retention_days: float = 30.0  # replayed dead letters only
    partner_call_retention_days: float = 365.0  # the partner API's audit log
    partner_refusal_retention_days: float = 30.0  # refused partner calls, counted per peer and minute
    partner_usage_retention_days: float = 2.0  # the keys' calls per rate-limit window
    delivery_retention_days: float = 365.0  # notifications: finished deliveries and their follow-ups
    # playbooks: a fact once a newer one of its kind and subject exists (a dry run looks back 366 days at most)
    playbook_fact_retention_days: float = 400.0
    playbook_firing_retention_days: float = 365.0  # playbooks: firings whose actions are all over
    gpu_waitlist_retention_days: float = 30.0  # consulting: waitlist entries whose slot has ended
    # investors: partner webhooks (services/investors/webhooks.py). A delivery is retried with exponential back-off
    # and jitter, from webhook_retry_base_seconds up to webhook_retry_cap_seconds apart, for webhook_retry_hours
    # after its event (or its replay), then FAILED. http:// endpoints only to a loopback host, and only when allowed.
    webhook_retry_hours: float = 24.0
    webhook_retry_base_seconds: float = 1.0
    webhook_retry_cap_seconds: float = 3600.0
    webhook_timeout_seconds: float = 10.0  # one POST, connection to answer (HUB_WEBHOOK_TIMEOUT, as notifications)
    webhook_lease_seconds: float = 60.0  # a claimed delivery not marked within this is taken up again
    webhook_poll_seconds: float = 1.0  # the worker's sweep; a commit that makes deliveries wakes it at once
    webhook_concurrency: int = 16  # POSTs under way at once per process
    webhook_allow_http_loopback: bool = False
    webhook_delivery_retention_days: float = 30.0  # delivered deliveries only; failed ones stay until replayed
    # The page where a mailed sign-in code can be typed in (the console's); "" mails the code alone.
    sign_in_url: str = ""
    # Asking for sign-in codes and signing in, per peer address: a burst, then this many a second.
    sign_in_peer_rate: float = 0.2
    sign_in_peer_burst: int = 10

    @classmethod
    def from_env(cls, service: str) -> Settings:
        data_dir = Path(_env("DATA_DIR", str(PROJECT_DIR / "var"))).resolve()
        upper = service.upper()
        return cls(
            service=service,
            data_dir=data_dir,
            database_url=database_url(service, data_dir),
            nats_url=_env("NATS_URL", f"nats://127.0.0.1:{DEFAULT_NATS_PORT}"),
            grpc_host=_env(f"{upper}_HOST", _env("GRPC_HOST", "127.0.0.1")),
            grpc_port=int(_env(f"{upper}_PORT", str(DEFAULT_PORTS.get(service, 50060)))),
            stream_replicas=int(_env("STREAM_REPLICAS", "1")),
            log_format=_env("LOG_FORMAT", "console"),
            log_level=_env("LOG_LEVEL", "info"),
            admin_token_hashes=_hashes(_env("ADMIN_TOKEN_SHA256", "")),
            service_token_hashes=_hashes(_env("SERVICE_TOKEN_SHA256", "")),
            token_signing_keys=tuple(k.strip() for k in _env("TOKEN_SIGNING_KEY", "").split(",") if k.strip()),
            token_refresh_seconds=float(_env("TOKEN_REFRESH_SECONDS", "5")),
            sign_in_url=_env("SIGN_IN_URL", ""),
            sign_in_peer_rate=float(_env("SIGN_IN_PEER_RATE", "0.2")),
            sign_in_peer_burst=int(_env("SIGN_IN_PEER_BURST", "10")),
            grace_period=float(_env("GRACE_PERIOD", "10")),
            max_concurrent_rpcs=int(_env("MAX_CONCURRENT_RPCS", "1000")),
            max_message_bytes=int(_env("MAX_MESSAGE_BYTES", str(4 * 1024 * 1024))),
            relay_sweep_seconds=float(_env("RELAY_SWEEP_SECONDS", "1")),
            consumer_ack_wait=float(_env("CONSUMER_ACK_WAIT", "30")),
            consumer_max_deliver=int(_env("CONSUMER_MAX_DELIVER", "5")),
            migrate_on_start=_env("MIGRATE_ON_START", "1") not in ("0", "false", "no"),
            partner_host=_env(f"{upper}_PARTNER_HOST", "127.0.0.1"),
            partner_port=int(_env(f"{upper}_PARTNER_PORT", str(DEFAULT_PARTNER_PORTS.get(service, 0)))),
            partner_tls_cert=_env(f"{upper}_PARTNER_TLS_CERT", ""),
            partner_tls_key=_env(f"{upper}_PARTNER_TLS_KEY", ""),
            partner_http_port=_optional_int(
                _env(f"{upper}_PARTNER_HTTP_PORT", str(DEFAULT_PARTNER_HTTP_PORTS.get(service, "")))
            ),
            partner_key_limit=int(_env("PARTNER_KEY_LIMIT", "900")),
            partner_key_window_seconds=float(_env("PARTNER_KEY_WINDOW_SECONDS", "60")),
            partner_peer_rate=float(_env("PARTNER_PEER_RATE", "20")),
            partner_peer_burst=int(_env("PARTNER_PEER_BURST", "40")),
            metrics_host=_env("METRICS_HOST", "127.0.0.1"),
            metrics_port=_optional_int(_env(f"{upper}_METRICS_PORT", _env("METRICS_PORT", ""))),
            metrics_refresh_seconds=float(_env("METRICS_REFRESH_SECONDS", "5")),
            retention_sweep_seconds=float(_env("RETENTION_SWEEP_SECONDS", "3600")),
            outbox_retention_days=float(_env("OUTBOX_RETENTION_DAYS", "30")),
            processed_events_retention_days=float(_env("PROCESSED_EVENTS_RETENTION_DAYS", "120")),
            idempotency_retention_days=float(_env("IDEMPOTENCY_RETENTION_DAYS", "30")),
            dead_letter_retention_days=float(_env("DEAD_LETTER_RETENTION_DAYS", "30")),
            partner_call_retention_days=float(_env("PARTNER_CALL_RETENTION_DAYS", "365")),
            partner_refusal_retention_days=float(_env("PARTNER_REFUSAL_RETENTION_DAYS", "30")),
            partner_usage_retention_days=float(_env("PARTNER_USAGE_RETENTION_DAYS", "2")),
            delivery_retention_days=float(_env("DELIVERY_RETENTION_DAYS", "365")),
            playbook_fact_retention_days=float(_env("PLAYBOOK_FACT_RETENTION_DAYS", "400")),
            playbook_firing_retention_days=float(_env("PLAYBOOK_FIRING_RETENTION_DAYS", "365")),
            gpu_waitlist_retention_days=float(_env("GPU_WAITLIST_RETENTION_DAYS", "30")),
            webhook_retry_hours=float(_env("WEBHOOK_RETRY_HOURS", "24")),
            webhook_retry_base_seconds=float(_env("WEBHOOK_RETRY_BASE_SECONDS", "1")),
            webhook_retry_cap_seconds=float(_env("WEBHOOK_RETRY_CAP_SECONDS", "3600")),
            webhook_timeout_seconds=float(_env("WEBHOOK_TIMEOUT", "10")),
            webhook_lease_seconds=float(_env("WEBHOOK_LEASE_SECONDS", "60")),
            webhook_poll_seconds=float(_env("WEBHOOK_POLL_SECONDS", "1")),
            webhook_concurrency=int(_env("WEBHOOK_CONCURRENCY", "16")),
            webhook_allow_http_loopback=_env("WEBHOOK_ALLOW_HTTP_LOOPBACK", "0").strip().lower() in ("1", "true"),
            webhook_delivery_retention_days=float(_env("WEBHOOK_DELIVERY_RETENTION_DAYS", "30")),
        )

    @property
    def database_setting(self) -> str:
        """The variable this service's database URL came from, for messages about it."""
        specific = f"HUB_{self.service.upper()}_DATABASE_URL"
        return specific if is_set(specific) or not is_set("HUB_DATABASE_URL") else "HUB_DATABASE_URL"

    def with_(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class TracingSettings:
    """OpenTelemetry's standard variables (hubcore.tracing): no endpoint, no export. The exporter reads the
    other OTEL_* variables itself."""

    otlp_endpoint: str
    service_name: str

    @classmethod
    def from_env(cls, service: str) -> TracingSettings:
        return cls(
            otlp_endpoint=variable("OTEL_EXPORTER_OTLP_ENDPOINT"),
            service_name=variable("OTEL_SERVICE_NAME") or f"hub-{service}",
        )


@dataclass(frozen=True)
class ClientSettings:
    """What hubctl takes from the environment, read when it starts (flags override these, and these the
    config file): HUB_TOKEN, HUB_TZ, HUB_<SERVICE>_ADDRESS or the HUB_<SERVICE>_PORT that moved a `make run`
    service, the data directory whose admin-token a local hub wrote, and where its config lives."""

    token: str
    tz: str
    addresses: dict[str, str]
    dev_token_file: Path
    xdg_config_home: str

    @property
    def config_home(self) -> Path:
        """XDG_CONFIG_HOME, else ~/.config (looked up only when asked)."""
        return Path(self.xdg_config_home or Path.home() / ".config")

    @classmethod
    def from_env(cls) -> ClientSettings:
        addresses = {}
        for name in DEFAULT_PORTS:
            given = _env(f"{name.upper()}_ADDRESS", "")
            if given:
                addresses[name] = given
            elif is_set(f"HUB_{name.upper()}_PORT"):  # where `make run` put the service with the same setting
                settings = Settings.from_env(name)
                host = "127.0.0.1" if settings.grpc_host in ("0.0.0.0", "::", "[::]") else settings.grpc_host
                addresses[name] = f"{host}:{settings.grpc_port}"
        return cls(
            token=_env("TOKEN", ""),
            tz=_env("TZ", ""),
            addresses=addresses,
            dev_token_file=Path(_env("DATA_DIR", str(PROJECT_DIR / "var"))) / "admin-token",
            xdg_config_home=variable("XDG_CONFIG_HOME"),
        )


@dataclass(frozen=True)
class GrowthSettings:
    """When the program counts a firm as grown (services/companies/program, GrowthRules): HUB_GROWTH_FUNDING_KRW,
    HUB_GROWTH_REVENUE_PCT (0 turns a rule off), HUB_GROWTH_MILESTONES (comma-separated kinds; "none" turns it
    off). None where unset: the rules' defaults apply."""

    funding_krw: int | None = None
    revenue_growth_pct: int | None = None
    milestone_kinds: tuple[str, ...] | None = None

    @classmethod
    def from_env(cls) -> GrowthSettings:
        funding, revenue, kinds = (
            variable(f"HUB_GROWTH_{n}") or None for n in ("FUNDING_KRW", "REVENUE_PCT", "MILESTONES")
        )
        return cls(
            funding_krw=None if funding is None else int(funding),
            revenue_growth_pct=None if revenue is None else int(revenue),
            milestone_kinds=None if kinds is None else _kinds(kinds),
        )


@dataclass(frozen=True)
class CountingSettings:
    """What the targets' figures count (services/consulting): HUB_TRAINED_MIN_CLASSES, how many education
    programs a person attends to count as trained (default 1); HUB_COLLABORATION_KINDS, the program kinds that
    are collaboration programs (comma-separated, default COLLABORATION)."""

    trained_min_classes: int = 1
    collaboration_kinds: tuple[str, ...] = ("COLLABORATION",)

    @classmethod
    def from_env(cls) -> CountingSettings:
        classes, kinds = variable("HUB_TRAINED_MIN_CLASSES").strip(), variable("HUB_COLLABORATION_KINDS")
        if classes and not classes.isdigit():
            raise ValueError(f"HUB_TRAINED_MIN_CLASSES must be a whole number of classes, not {classes!r}")
        return cls(
            trained_min_classes=int(classes) if classes else cls.trained_min_classes,
            collaboration_kinds=_kinds(kinds) if kinds.strip() else cls.collaboration_kinds,
        )


def _kinds(text: str) -> tuple[str, ...]:
    text = text.strip()
    return () if text.lower() in ("", "none") else tuple(k.strip().upper() for k in text.split(","))


def service_address(name: str) -> str:
    """HUB_<SERVICE>_ADDRESS, else where the service listens on this machine (its HUB_<SERVICE>_PORT)."""
    given = variable(f"HUB_{name.upper()}_ADDRESS")
    if given:
        return given
    settings = Settings.from_env(name)
    host = "127.0.0.1" if settings.grpc_host in ("0.0.0.0", "::", "[::]", "") else settings.grpc_host
    return f"{host}:{settings.grpc_port}"


def gpu_no_show_counts() -> bool:
    """HUB_GPU_NO_SHOW_COUNTS (default 1): a GPU booking marked a no-show still consumes its hours of the company's
    quota (and its support ledger); 0 returns them. Read when a no-show is marked, so a change counts at once."""
    return _env("GPU_NO_SHOW_COUNTS", "1").strip().lower() not in ("0", "false", "no")
