"""The console's settings, from HUB_… variables like every service's (hubcore.settings): where it listens, where
the services answer, the key its session cookies are sealed with, and how often one address may try to sign in."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from hubcore.settings import DEFAULT_NATS_PORT, DEFAULT_PORTS, env_field, from_env_fields, service_address, variable

DEFAULT_CONSOLE_PORT = 50080
SESSION_HOURS = 8  # as long as a signed-in token lives (hubcore.tokens.SIGNED_IN_LIFETIME)


@dataclass(frozen=True)
class ConsoleSettings:
    addresses: dict[str, str]  # each service's gRPC address, where `make run` puts it (HUB_<SERVICE>_PORT)
    # Fernet key for the session cookie: HUB_CONSOLE_SESSION_KEY, else derived from HUB_TOKEN_SIGNING_KEY (so
    # every replica and a restart read the same cookies), else random (sessions end with the process).
    session_key: bytes = field(repr=False)
    host: str = env_field("CONSOLE_HOST", "127.0.0.1")
    port: int = env_field("CONSOLE_PORT", DEFAULT_CONSOLE_PORT)
    # Where live pages hear of changes.
    nats_url: str = env_field("NATS_URL", f"nats://127.0.0.1:{DEFAULT_NATS_PORT}")
    time_zone: str = env_field("TZ", "Asia/Seoul")
    # Sign-in attempts a second per browser address, after a burst of sign_in_burst.
    sign_in_rate: float = env_field("CONSOLE_SIGN_IN_RATE", 0.2)
    sign_in_burst: int = env_field("CONSOLE_SIGN_IN_BURST", 10)
    grpc_timeout: float = 10.0
    # Addresses of the proxies whose X-Forwarded-* count.
    trusted_proxies: str = env_field("CONSOLE_TRUSTED_PROXIES", "")
    # A service token the console signs people in with, passing on their address so the companies service limits
    # sign-in attempts per person; without it, per console.
    service_token: str = env_field("CONSOLE_SERVICE_TOKEN", "", repr=False)

    @classmethod
    def from_env(cls) -> ConsoleSettings:
        """Each field from the HUB_ variable it names (hubcore.settings.from_env_fields), the key and addresses as
        above."""
        return from_env_fields(
            cls,
            addresses={name: service_address(name) for name in DEFAULT_PORTS},
            session_key=session_key(variable("HUB_CONSOLE_SESSION_KEY"), variable("HUB_TOKEN_SIGNING_KEY")),
        )


def session_key(given: str, signing_key: str) -> bytes:
    if given:
        return given.encode()
    seed = hmac.new(signing_key.encode(), b"hub console sessions", hashlib.sha256).digest() if signing_key else None
    return base64.urlsafe_b64encode(seed or secrets.token_bytes(32))
