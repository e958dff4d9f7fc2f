"""`python -m services.console`: the console on HUB_CONSOLE_HOST:HUB_CONSOLE_PORT (127.0.0.1:50080). On SIGTERM or
Ctrl-C it stops within 3 s, open live streams (server-sent events) included."""

from __future__ import annotations

import uvicorn

from services.console.app import build
from services.console.config import ConsoleSettings


def main() -> None:
    settings = ConsoleSettings.from_env()
    uvicorn.run(build(settings), host=settings.host, port=settings.port, log_level="warning",
                proxy_headers=False, server_header=False, timeout_graceful_shutdown=3)  # fmt: skip


if __name__ == "__main__":
    main()
