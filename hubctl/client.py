"""Connection settings, gRPC errors as messages and exit codes, and output (Rich tables or JSON)."""

from __future__ import annotations

import json
import os
import sys
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, NoReturn
from zoneinfo import ZoneInfo

import grpc
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from rich.console import Console
from rich.table import Table

from hubcore.settings import DEFAULT_PORTS, PROJECT_DIR

CONFIG_FILE = Path(os.environ.get("XDG_CONFIG_HOME", Path.home() / ".config")) / "hubctl" / "config.toml"

# Exit codes scripts can rely on (also in `hubctl --help`).
EXIT_CODES = {
    grpc.StatusCode.INVALID_ARGUMENT: 3,
    grpc.StatusCode.OUT_OF_RANGE: 3,
    grpc.StatusCode.NOT_FOUND: 4,
    grpc.StatusCode.ALREADY_EXISTS: 5,
    grpc.StatusCode.ABORTED: 5,
    grpc.StatusCode.FAILED_PRECONDITION: 5,
    grpc.StatusCode.UNAUTHENTICATED: 6,
    grpc.StatusCode.PERMISSION_DENIED: 6,
    grpc.StatusCode.UNAVAILABLE: 7,
    grpc.StatusCode.DEADLINE_EXCEEDED: 7,
}
EXIT_HELP = (
    "Exit codes: 0 ok, 1 other error, 2 wrong usage, 3 invalid input, 4 not found, "
    "5 conflict (exists, stale, not allowed now), 6 not authorized, 7 service unavailable."
)

# Piped output is not cut to 80 columns: scripts and `less -S` get whole rows.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)


@dataclass
class Config:
    """Flags override HUB_* environment variables, which override the config file, then the defaults."""

    token: str = ""
    addresses: dict[str, str] = field(default_factory=dict)
    tz: str = "Asia/Seoul"
    json: bool = False
    timeout: float = 10.0
    targets: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, *, token: str | None, tz: str | None, as_json: bool, config_file: Path | None = None) -> Config:
        path = config_file or CONFIG_FILE
        data: dict[str, Any] = tomllib.loads(path.read_text()) if path.exists() else {}
        addresses = {name: f"127.0.0.1:{port}" for name, port in DEFAULT_PORTS.items()}
        addresses |= data.get("services", {})
        for name in DEFAULT_PORTS:
            env = os.environ.get(f"HUB_{name.upper()}_ADDRESS")
            if env:
                addresses[name] = env
        return cls(
            token=token or os.environ.get("HUB_TOKEN") or data.get("token") or _dev_token(),
            addresses=addresses,
            tz=tz or os.environ.get("HUB_TZ") or data.get("tz", "Asia/Seoul"),
            json=as_json,
            timeout=float(data.get("timeout", 10.0)),
            targets=data.get("targets", {}),
        )

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()


def _dev_token() -> str:
    """On the machine that runs `make run`, its dev admin token."""
    path = Path(os.environ.get("HUB_DATA_DIR", PROJECT_DIR / "var")) / "admin-token"
    return path.read_text().strip() if path.exists() else ""


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    raise SystemExit(code)


def explain(error: grpc.RpcError) -> NoReturn:
    """A gRPC error as a sentence a program manager can act on, with each bad field, and its exit code."""
    code = error.code()
    lines = [f"{code.name.lower().replace('_', ' ')}: {error.details()}"]
    status = rpc_status.from_call(error)
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            lines = [f"{code.name.lower().replace('_', ' ')}:"]
            lines += [f"  {v.field}: {v.description}" for v in bad.field_violations]
    if code == grpc.StatusCode.UNAUTHENTICATED:
        lines.append("  (set HUB_TOKEN, --token, or token in ~/.config/hubctl/config.toml)")
    if code == grpc.StatusCode.UNAVAILABLE:
        lines.append("  (is the hub running? `make run` starts it)")
    fail("\n".join(lines), EXIT_CODES.get(code, 1))


def when(ts: Timestamp, tz: str) -> str:
    if not ts.seconds and not ts.nanos:
        return ""
    return ts.ToDatetime().replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def as_dict(message: Message) -> dict[str, Any]:
    return MessageToDict(message, preserving_proto_field_name=True)


def print_json(value: Any) -> None:
    if isinstance(value, Message):
        value = as_dict(value)
    elif isinstance(value, list) and value and isinstance(value[0], Message):
        value = [as_dict(v) for v in value]
    sys.stdout.write(json.dumps(value, ensure_ascii=False, indent=2) + "\n")


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    """Rich measures Hangul as two cells wide, so Korean columns line up."""
    table = Table(title=title, title_justify="left", header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    out.print(table)


def short(enum: Any, number: int, prefix: str) -> str:
    return str(enum.Name(number)).removeprefix(prefix + "_") if number else ""


def enum_number(enum: Any, prefix: str, text: str, what: str) -> int:
    name = text.strip().upper().replace("-", "_")
    for candidate in (name, f"{prefix}_{name}"):
        if candidate in enum.keys():  # noqa: SIM118 (a protobuf enum wrapper)
            return int(enum.Value(candidate))
    known = ", ".join(k.removeprefix(prefix + "_").lower() for k in enum.keys() if "UNSPECIFIED" not in k)  # noqa: SIM118
    fail(f"unknown {what} {text!r}; one of: {known}", 3)


def now_in(tz: str) -> datetime:
    return datetime.now(ZoneInfo(tz))
