"""A local SMTP server that accepts every message and keeps it: `make run`'s mail target (each message
becomes a .eml file under var/mail/, so a newcomer can read what the hub would have sent) and the tests'
real SMTP server. aiosmtpd, in a thread of its own. Never for production."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from hubcore.settings import DEFAULT_MAIL_SINK_PORT


@dataclass
class SinkHandler:
    folder: Path | None = None
    messages: list[EmailMessage] = field(default_factory=list)
    # Tests: answer the next `refuse_times` messages with `refuse_with` instead of accepting them.
    refuse_with: str = "451 4.3.0 try again later"
    refuse_times: int = 0
    refused: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            if self.refuse_times:
                self.refuse_times -= 1
                self.refused += 1
                return self.refuse_with
            message = message_from_bytes(envelope.content, policy=policy.default)
            assert isinstance(message, EmailMessage)
            self.messages.append(message)
            if self.folder is not None:
                stamp = time.strftime("%Y%m%d-%H%M%S")
                path = self.folder / f"{stamp}-{len(self.messages):05d}.eml"
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # mail holds personal data
                with os.fdopen(fd, "wb") as f:
                    f.write(envelope.content)
        return "250 2.0.0 OK: queued"


class MailSink:
    def __init__(self, *, host: str = "127.0.0.1", port: int, folder: Path | None = None) -> None:
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.handler = SinkHandler(folder=folder)
        self.host, self.port = host, port
        self._controller = Controller(self.handler, hostname=host, port=port)

    @property
    def messages(self) -> list[EmailMessage]:
        with self.handler._lock:
            return list(self.handler.messages)

    def start(self) -> MailSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


def main() -> None:
    """`python -m hublocal.mailsink [port] [folder]`: a sink on its own, for trying things by hand."""
    import sys

    port = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_MAIL_SINK_PORT
    folder = Path(sys.argv[2] if len(sys.argv) > 2 else "var/mail")
    sink = MailSink(port=port, folder=folder).start()
    print(f"SMTP sink on 127.0.0.1:{port}, writing to {folder}/ (Ctrl-C stops it)")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        sink.stop()


if __name__ == "__main__":
    main()
