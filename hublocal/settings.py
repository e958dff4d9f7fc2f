"""The launcher's own settings (`make run`), read through hubcore.settings like every other setting; the
services' settings stay in hubcore.settings.Settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from hubcore.settings import DEFAULT_MAIL_SINK_PORT, DEFAULT_NATS_PORT, Settings, environment, variable

# The services `make run` starts, in start order; each is `python -m services.<name>`, and `hubctl backup`
# copies their databases.
SERVICES = ["companies", "investors", "consulting", "notifications", "playbooks"]


@dataclass(frozen=True)
class LaunchSettings:
    data_dir: Path
    nats_port: int  # HUB_NATS_PORT: the port of the launcher's nats-server
    # HUB_MAIL_SINK_PORT: the local SMTP sink's port; 0 (no sink) when HUB_SMTP_HOST names a server.
    mail_sink_port: int
    # HUB_TOKEN_SIGNING_KEY as given (never printed); "" makes the launcher keep one in var/token-signing-key.
    token_signing_key: str = field(repr=False)
    # The environment the services start with (the launcher adds its own HUB_* to it); never printed.
    environment: dict[str, str] = field(repr=False)

    @classmethod
    def from_env(cls) -> LaunchSettings:
        return cls(
            data_dir=Settings.from_env("launcher").data_dir,
            nats_port=int(variable("HUB_NATS_PORT", str(DEFAULT_NATS_PORT))),
            mail_sink_port=0
            if variable("HUB_SMTP_HOST")
            else int(variable("HUB_MAIL_SINK_PORT", str(DEFAULT_MAIL_SINK_PORT))),
            token_signing_key=variable("HUB_TOKEN_SIGNING_KEY"),
            environment=environment(),
        )
