"""The playbooks service's own settings (HUB_* environment variables): where the services it acts through
answer, the service token it calls them with, and how often the clock's rules and the action worker run."""

from __future__ import annotations

from dataclasses import dataclass, replace

from hubcore.settings import env_field, from_env_fields, service_address


@dataclass(frozen=True)
class Config:
    # The services the actions go through (HUB_CONSULTING_ADDRESS, else where `make run` puts them), called with
    # HUB_PLAYBOOKS_SERVICE_TOKEN: a token whose SHA-256 is among their HUB_SERVICE_TOKEN_SHA256.
    consulting_address: str = ""
    investors_address: str = ""
    service_token: str = env_field("PLAYBOOKS_SERVICE_TOKEN", "", repr=False)
    call_timeout: float = env_field("PLAYBOOKS_CALL_TIMEOUT", 10.0)
    # The clock's rules (no session in N days, an introduction unanswered, a KPI request overdue): every so
    # many seconds; 0 leaves them to whoever calls Handlers.tick (tests).
    clock_seconds: float = env_field("PLAYBOOKS_CLOCK_SECONDS", 300.0)
    # The action worker: polls for pending actions; retries a failed call with back-off, max_attempts in all.
    poll_seconds: float = env_field("PLAYBOOKS_POLL_SECONDS", 1.0)
    lease_seconds: float = 60.0
    max_attempts: int = env_field("PLAYBOOKS_MAX_ATTEMPTS", 5)
    retry_base: float = env_field("PLAYBOOKS_RETRY_BASE", 30.0)
    retry_cap: float = env_field("PLAYBOOKS_RETRY_CAP", 1800.0)

    @classmethod
    def from_env(cls) -> Config:
        return from_env_fields(
            cls, consulting_address=service_address("consulting"), investors_address=service_address("investors")
        )

    def with_(self, **changes: object) -> Config:
        return replace(self, **changes)  # type: ignore[arg-type]
