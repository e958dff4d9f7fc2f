"""`python -m services.console`: the console on HUB_CONSOLE_HOST:HUB_CONSOLE_PORT (127.0.0.1:50080). On SIGTERM or
Ctrl-C it stops within 3 s, open live streams (server-sent events) included."""

from __future__ import annotations

import uvicorn

from hubcore import logs
from hubcore.settings import Settings
from services.console.app import build
from services.console.config import ConsoleSettings


def main() -> None:
    settings = ConsoleSettings.from_env()
    shared = Settings.from_env("console")  # the log format and level every service takes (HUB_LOG_FORMAT, …)
    logs.configure(fmt=shared.log_format, level=shared.log_level, service="console")
    # Behind a proxy that ends TLS, HUB_CONSOLE_TRUSTED_PROXIES names it: its X-Forwarded-Proto and -For are then
    # believed (the scheme the browser used decides the Secure cookie and the CSRF origin; the address, the
    # sign-in limit). Nobody else's are.
    trusted = settings.trusted_proxies
    uvicorn.run(
        build(settings), host=settings.host, port=settings.port, log_level="warning", server_header=False,
        proxy_headers=bool(trusted), forwarded_allow_ips=trusted or None, timeout_graceful_shutdown=3,
    )  # fmt: skip


if __name__ == "__main__":
    main()
