"""`python -m services.console`: the console on HUB_CONSOLE_HOST:HUB_CONSOLE_PORT (127.0.0.1:50080)."""

from __future__ import annotations

import uvicorn

from services.console.app import build
from services.console.config import ConsoleSettings


def main() -> None:
    settings = ConsoleSettings.from_env()
    uvicorn.run(build(settings), host=settings.host, port=settings.port, log_level="warning",
                proxy_headers=False, server_header=False)  # fmt: skip


if __name__ == "__main__":
    main()
