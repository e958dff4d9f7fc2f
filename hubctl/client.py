"""Connection settings, gRPC errors as messages and exit codes, and output (Rich tables or JSON)."""

from __future__ import annotations

import inspect
import json
import sys
import tomllib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Generic, NoReturn, TypeVar
from zoneinfo import ZoneInfo

import grpc
import typer
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hub.companies.v1 import companies_pb2_grpc, program_pb2_grpc
from hub.consulting.v1 import consulting_pb2_grpc
from hub.investors.v1 import investors_pb2_grpc
from hub.notifications.v1 import notifications_pb2_grpc
from hub.ops.v1 import identities_pb2_grpc, ops_pb2_grpc, tokens_pb2_grpc
from hub.playbooks.v1 import playbooks_pb2_grpc
from rich.console import Console
from rich.table import Table
from rich.text import Text

from hubcore.settings import DEFAULT_PORTS, ClientSettings

T = TypeVar("T")
S = TypeVar("S")


def config_dir() -> Path:
    """~/.config/hubctl, or under XDG_CONFIG_HOME; read when used, so HOME and XDG_CONFIG_HOME set later count."""
    return ClientSettings.from_env().config_home / "hubctl"


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
        path = config_file or config_dir() / "config.toml"
        data: dict[str, Any] = tomllib.loads(path.read_text()) if path.exists() else {}
        addresses = {name: f"127.0.0.1:{port}" for name, port in DEFAULT_PORTS.items()}
        addresses |= data.get("services", {})
        env = ClientSettings.from_env()
        addresses |= env.addresses
        return cls(
            token=token or env.token or data.get("token") or _dev_token(env.dev_token_file),
            addresses=addresses,
            tz=tz or env.tz or data.get("tz", "Asia/Seoul"),
            json=as_json,
            timeout=float(data.get("timeout", 10.0)),
            targets=data.get("targets", {}),
        )

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()


def _dev_token(path: Path) -> str:
    """On the machine that runs `make run`, its dev admin token."""
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
        # A narrow terminal shortens a header to "regist…" rather than breaking it a word per line.
        table.add_column(Text(column, no_wrap=True, overflow="ellipsis"))
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


class Stub(Generic[S]):
    """A service's stub as an attribute of the client, on that service's channel (one per service)."""

    def __init__(self, stub: Callable[[grpc.Channel], S], service: str) -> None:
        self.stub, self.service = stub, service

    def __get__(self, hub: Client, owner: type[Client]) -> S:
        return self.stub(hub.channel(self.service))


class Client:
    """Stubs over one channel per service; every call carries the token and a deadline."""

    companies = Stub(companies_pb2_grpc.CompanyServiceStub, "companies")
    program = Stub(program_pb2_grpc.ProgramServiceStub, "companies")  # the hub program: rounds, spaces, KPI, support
    consulting = Stub(consulting_pb2_grpc.ConsultingServiceStub, "consulting")
    investors = Stub(investors_pb2_grpc.InvestorServiceStub, "investors")
    notifications = Stub(notifications_pb2_grpc.NotificationServiceStub, "notifications")
    playbooks = Stub(playbooks_pb2_grpc.PlaybookServiceStub, "playbooks")
    access_tokens = Stub(tokens_pb2_grpc.AccessTokenServiceStub, "companies")  # admin and service tokens' register
    identities = Stub(identities_pb2_grpc.IdentityServiceStub, "companies")  # founders and mentors who sign in

    def __init__(self, config: Config) -> None:
        self.config = config
        self._channels: dict[str, grpc.Channel] = {}
        self.cut_short: tuple[int, str] | None = None  # (items shown, how to see the rest): see note_cut_short

    def show(self, data: Any, title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        """What a command answers: data as JSON with --json, otherwise the rows as a table."""
        if not self.printed_json(data):
            print_table(title, columns, rows)

    def table(self, items: Iterable[T], title: str, columns: Sequence[str], row: Callable[[T], Sequence[Any]]) -> None:
        """A list command's answer: every item as JSON with --json, otherwise a table titled with their count."""
        found = list(items)
        self.show(found, f"{title} ({len(found)})", columns, map(row, found))

    def printed_json(self, data: Any) -> bool:
        """With --json, data as JSON, and True: the command then prints no tables."""
        if self.config.json:
            print_json(data)
        return self.config.json

    def say(self, data: Any, text: str) -> None:
        """A command's one-line answer: data as JSON with --json, otherwise the text."""
        if not self.printed_json(data):
            typer.echo(text)

    def channel(self, service: str) -> grpc.Channel:
        if service not in self._channels:
            self._channels[service] = grpc.insecure_channel(self.config.addresses[service])
        return self._channels[service]

    def ops(self, service: str) -> ops_pb2_grpc.OperationsServiceStub:
        if service not in self.config.addresses:
            fail(f"unknown service {service!r}; one of: {', '.join(self.config.addresses)}", 3)
        return ops_pb2_grpc.OperationsServiceStub(self.channel(service))

    def send(self, method: Callable[..., T], request: Any) -> T:
        """One call with the token and deadline; a gRPC error is raised to the caller."""
        return method(request, metadata=self.config.metadata(), timeout=self.config.timeout)

    def call(self, method: Callable[..., T], request: Any) -> T:
        """One call; a gRPC error ends the command with its explanation and exit code."""
        try:
            return self.send(method, request)
        except grpc.RpcError as error:
            explain(error)

    def pages(
        self,
        method: Callable[..., Any],
        request: Any,
        field: str,
        limit: int | None = None,
        *,
        raise_errors: bool = False,
    ) -> Iterator[Any]:
        """Every item through all pages (or the first `limit`; 0 or None: all). Stopping at the limit with
        more to come is remembered, so the command ends by saying so (note_cut_short). A gRPC error ends the
        command (as call does), or with raise_errors is raised to the caller (as send does)."""
        ask = self.send if raise_errors else self.call
        seen = 0
        while True:
            response = ask(method, request)
            items = getattr(response, field)
            for index, item in enumerate(items):
                yield item
                seen += 1
                if limit and seen >= limit:
                    if index + 1 < len(items) or response.next_page_token:
                        self.cut_short = (seen, "--all")
                    return
            if not response.next_page_token:
                return
            request.page_token = response.next_page_token


# Every list command that stops at --limit also takes --all.
AllOption = Annotated[bool, typer.Option("--all", help="Every one, through all pages (ignores --limit)")]


def note_cut_short(hub: Client) -> None:
    """After a list that stopped before the end: that it did, and how to get the rest (on stderr, so
    --json output stays the list)."""
    if hub.cut_short:
        shown, how = hub.cut_short
        err.print(
            f"[yellow]처음 {shown}개만 표시했습니다[/yellow] (the first {shown} shown; there are more): {how}",
            highlight=False,
        )


F = TypeVar("F", bound=Callable[..., None])


class Commands(typer.Typer):
    """A group of commands that are given the client the top-level options made: a command's first parameter,
    `hub: Client`, is filled in (it is no option; the command line and --help are the rest of them)."""

    def command(self, *names: Any, **settings: Any) -> Callable[[F], F]:
        register = super().command(*names, **settings)

        def decorator(run: F) -> F:
            register(given_client(run))
            return run

        return decorator


def given_client(run: Callable[..., None]) -> Callable[..., None]:
    """run(hub, **options) as typer's callback(ctx, **options), hub being the client in ctx.obj."""
    signature = inspect.signature(run, eval_str=True)  # the options' annotations, read in run's module
    options = list(signature.parameters.values())[1:]
    context = inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=typer.Context)

    def callback(ctx: typer.Context, **given: Any) -> None:
        run(ctx.obj, **given)

    callback.__signature__ = signature.replace(parameters=[context, *options])  # type: ignore[attr-defined]
    callback.__name__, callback.__qualname__, callback.__doc__ = run.__name__, run.__qualname__, run.__doc__
    callback.__module__ = run.__module__
    return callback
