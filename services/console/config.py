"""The console's settings, from HUB_… variables like every service's (hubcore.settings): where it listens, where
the services answer, the key its session cookies are sealed with, and how often one address may try to sign in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from hubcore.settings import DEFAULT_NATS_PORT, DEFAULT_PORTS, service_address, variable

DEFAULT_CONSOLE_PORT = 50080
SESSION_HOURS = 8  # as long as a signed-in token lives (hubcore.tokens.SIGNED_IN_LIFETIME)


@dataclass(frozen=True)
class ConsoleSettings:
    host: str  # HUB_CONSOLE_HOST (127.0.0.1)
    port: int  # HUB_CONSOLE_PORT (50080)
    addresses: dict[str, str]  # each service's gRPC address, where `make run` puts it (HUB_<SERVICE>_PORT)
    # Fernet key for the session cookie: HUB_CONSOLE_SESSION_KEY, else derived from HUB_TOKEN_SIGNING_KEY (so
    # every replica and a restart read the same cookies), else random (sessions end with the process).
    session_key: bytes = field(repr=False)
    nats_url: str = f"nats://127.0.0.1:{DEFAULT_NATS_PORT}"  # HUB_NATS_URL: where live pages hear of changes
    time_zone: str = "Asia/Seoul"  # HUB_TZ
    sign_in_rate: float = 0.2  # HUB_CONSOLE_SIGN_IN_RATE: sign-in attempts a second per browser address…
    sign_in_burst: int = 10  # HUB_CONSOLE_SIGN_IN_BURST: …after a burst of this many
    grpc_timeout: float = 10.0
    trusted_proxies: str = ""  # HUB_CONSOLE_TRUSTED_PROXIES: addresses of the proxies whose X-Forwarded-* count
    # HUB_CONSOLE_SERVICE_TOKEN: a service token the console signs people in with, passing on their address so the
    # companies service limits sign-in attempts per person; without it, per console.
    service_token: str = field(default="", repr=False)

    @classmethod
    def from_env(cls) -> ConsoleSettings:
        return cls(
            host=variable("HUB_CONSOLE_HOST", "127.0.0.1"),
            port=int(variable("HUB_CONSOLE_PORT", str(DEFAULT_CONSOLE_PORT))),
            addresses={name: service_address(name) for name in DEFAULT_PORTS},
            session_key=session_key(variable("HUB_CONSOLE_SESSION_KEY"), variable("HUB_TOKEN_SIGNING_KEY")),
            nats_url=variable("HUB_NATS_URL", f"nats://127.0.0.1:{DEFAULT_NATS_PORT}"),
            time_zone=variable("HUB_TZ", "Asia/Seoul"),
            sign_in_rate=float(variable("HUB_CONSOLE_SIGN_IN_RATE", "0.2")),
            sign_in_burst=int(variable("HUB_CONSOLE_SIGN_IN_BURST", "10")),
            trusted_proxies=variable("HUB_CONSOLE_TRUSTED_PROXIES"),
            service_token=variable("HUB_CONSOLE_SERVICE_TOKEN"),
        )


def session_key(given: str, signing_key: str) -> bytes:
    if given:
        return given.encode()
    seed = hmac.new(signing_key.encode(), b"hub console sessions", hashlib.sha256).digest() if signing_key else None
    return base64.urlsafe_b64encode(seed or secrets.token_bytes(32))
