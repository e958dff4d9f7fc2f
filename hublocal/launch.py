"""`make run`: the whole hub on embedded defaults. A nats-server from the wheel and every service as its
own process, all under var/; seeds a demo hub on first start. A child that dies is started again with
back-off; Ctrl-C or SIGTERM stops everything cleanly, the services before NATS."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from sqlalchemy.engine import make_url

from hubcore.server import is_serving
from hubcore.settings import DEFAULT_PARTNER_PORTS, PRIVATE_UMASK, PROJECT_DIR, Settings, token_hash
from hublocal.datadir import DataDirLock, secure
from hublocal.mailsink import MailSink
from hublocal.natsserver import NatsServer
from hublocal.settings import SERVICES, LaunchSettings
from hublocal.tls import local_certificate
from services.companies import seed as companies_seed
from services.console.config import ConsoleSettings
from services.consulting import seed as consulting_seed
from services.investors import seed as investors_seed
from services.notifications import seed as notifications_seed

# What each service seeds on the hub's first start, in SERVICES order once it serves: seed(address, admin
# token), once per data directory (a .seeded-<name> marker). A new service with demo data adds its line.
SEEDERS: dict[str, Callable[[str, str], None]] = {
    "companies": companies_seed.run,
    "investors": investors_seed.run,
    "consulting": consulting_seed.run,
}
# What a service wants said in the banner (e.g. the partner API and its demo key): lines(data dir, the
# services' environment).
BANNERS: dict[str, Callable[[os.PathLike[str], dict[str, str]], list[str]]] = {
    "investors": investors_seed.banner,
    "notifications": notifications_seed.banner,
}
RESTART_DELAYS = (1, 2, 4, 8, 16, 30)  # seconds before a crashed child starts again, growing while it keeps crashing
# Plaintext gRPC over HTTP/2, the schema from the server's reflection (buf comes with the project).
BUF_CURL = ".venv/bin/buf curl --protocol grpc --http2-prior-knowledge"
STABLE_SECONDS = 60  # a child that ran this long before it died starts again after the first delay


class StartFailed(Exception):
    """A service did not come up while the hub started; the message says which (its own log says why)."""


def dev_token(data_dir: os.PathLike[str]) -> str:
    """An admin token for this machine, made once and kept in var/admin-token (mode 0600)."""
    return _secret_file(data_dir, "admin-token")


def signing_key(data_dir: os.PathLike[str], given: str = "") -> str:
    """The key every local service signs and checks access tokens with (hubcore.tokens), made once and kept
    in var/token-signing-key (mode 0600), unless HUB_TOKEN_SIGNING_KEY is set (given)."""
    return given or _secret_file(data_dir, "token-signing-key")


def _secret_file(data_dir: os.PathLike[str], name: str) -> str:
    path = os.path.join(data_dir, name)
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    with open(path) as f:
        return f.read().strip()


def http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


def wait_http(name: str, url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartFailed(f"{name} did not start ({_exit(process.returncode)}); its log above says why")
        if http_ok(url):
            return
        time.sleep(0.2)
    raise StartFailed(f"{name} ({url}) did not answer within {timeout:.0f} s; its log above says why")


def wait_serving(name: str, address: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise StartFailed(f"{name} did not start ({_exit(process.returncode)}); its log above says why")
        if is_serving(address, timeout=1):
            return
        time.sleep(0.2)
    raise StartFailed(f"{name} ({address}) did not become SERVING within {timeout:.0f} s; its log above says why")


@dataclass
class Child:
    """A process the launcher keeps running: started again with back-off when it dies."""

    name: str
    spawn: Callable[[], subprocess.Popen[bytes]]
    ready: Callable[[], bool]
    process: subprocess.Popen[bytes]
    started: float = 0.0
    crashes: int = 0  # in a row: reset once it has run STABLE_SECONDS
    restart_at: float | None = None
    serving: bool = True

    def check(self) -> None:
        """One round of supervision: notice a death, start it again when its delay is over, say when it serves."""
        moment = time.monotonic()
        if self.restart_at is None and self.process.poll() is not None:
            if moment - self.started >= STABLE_SECONDS:
                self.crashes = 0
            delay = RESTART_DELAYS[min(self.crashes, len(RESTART_DELAYS) - 1)]
            self.crashes += 1
            self.restart_at = moment + delay
            say(f"{self.name} stopped ({_exit(self.process.returncode)}); restarting it in {delay} s")
        elif self.restart_at is not None and moment >= self.restart_at:
            self.restart_at, self.serving, self.started = None, False, moment
            try:
                self.process = self.spawn()
            except RuntimeError as exc:  # nats-server that would not start: try again after the next delay
                say(f"{self.name} did not start: {exc}")
                self.started = 0.0
        elif not self.serving and self.process.poll() is None and self.ready():
            self.serving = True
            say(f"{self.name} is serving again")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)


def say(message: str) -> None:
    print(f"[launcher] {message}", file=sys.stderr, flush=True)


def _exit(code: int | None) -> str:
    if code is not None and code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


def shared_database(urls: dict[str, str]) -> str:
    """Why these services cannot start on these database URLs, or "". Every service has tables of the same
    names (outbox, processed_events, idempotency_keys, alembic_version), so each needs a database of its own."""
    by_url: dict[str, list[str]] = {}
    for name, url in urls.items():
        by_url.setdefault(url, []).append(name)
    for url, names in by_url.items():
        if len(names) > 1:
            shown = make_url(url)
            create = ""
            if shown.get_backend_name() == "sqlite":  # a file each: hub_{service}.db
                path = Path(str(shown.database))
                shown = shown.set(database=str(path.with_name(f"{path.stem}_SERVICE{path.suffix}")))
            else:
                create = f" and create each one, e.g. `createdb {shown.database}_{names[0]}`"
                shown = shown.set(database=f"{shown.database}_SERVICE")
            example = shown.render_as_string(hide_password=True).replace("_SERVICE", "_{service}")  # as one types it
            return (
                f"{', '.join(names)} would share one database ({database_label(url)}), but each service needs "
                f"its own (their outbox and other tables have the same names): set HUB_DATABASE_URL={example} "
                f"(each service puts its name in place of {{service}}){create}"
            )
    return ""


def database_label(url: str) -> str:
    """A database URL as the banner shows it: a SQLite file's path, otherwise the URL without its password."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return str(parsed.database)
    return parsed.render_as_string(hide_password=True)


def main() -> int:
    # Everything the hub writes (databases, NATS's store, mail, keys) is its owner's alone; the services and
    # nats-server inherit the umask, and what an older version left readable is fixed here.
    os.umask(PRIVATE_UMASK)
    # A script's `kill` (SIGTERM) and a closed terminal (SIGHUP, which no longer reaches the children in their
    # own process groups) stop the hub as Ctrl-C does. Ctrl-C (SIGINT) itself is set too: a shell without job
    # control starts a background command with SIGINT ignored, Python then leaves it ignored, and the hub
    # started from such a script (a CI job, `… &`) would not stop on it.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.default_int_handler)
    launch = LaunchSettings.from_env()
    data_dir = launch.data_dir
    secure(data_dir)
    token = dev_token(data_dir)
    databases = {name: Settings.from_env(name).database_url for name in SERVICES}
    refused = shared_database(databases)
    if refused:
        print(refused, file=sys.stderr)
        return 1
    nats_port = launch.nats_port
    wanted = {"nats": ("127.0.0.1", nats_port)} | {
        name: (Settings.from_env(name).grpc_host, Settings.from_env(name).grpc_port) for name in SERVICES
    }
    wanted |= {
        f"{name} partner API": (Settings.from_env(name).partner_host, Settings.from_env(name).partner_port)
        for name in SERVICES
        if name in DEFAULT_PARTNER_PORTS
    }
    wanted |= {  # and its HTTP/JSON sibling, unless switched off (HUB_<SERVICE>_PARTNER_HTTP_PORT empty)
        f"{name} partner API (HTTP/JSON)": (settings.partner_host, settings.partner_http_port)
        for name in SERVICES
        if name in DEFAULT_PARTNER_PORTS and (settings := Settings.from_env(name)).partner_http_port
    }
    # Mail goes to a local SMTP sink that writes each message to var/mail/, unless HUB_SMTP_HOST names a server.
    sink_port = launch.mail_sink_port
    if sink_port:
        wanted["mail sink"] = ("127.0.0.1", sink_port)
    console = ConsoleSettings.from_env()
    wanted["console"] = (console.host, console.port)
    taken = [f"{name} ({host}:{port})" for name, (host, port) in wanted.items() if not port_free(host, port)]
    if taken:
        print(f"ports already in use: {', '.join(taken)}. Is another hub running?", file=sys.stderr)
        return 1
    lock = DataDirLock(data_dir)  # held while the hub runs: `hubctl backup restore` refuses meanwhile
    if not lock.acquire("hub"):
        print(f"{data_dir} is in use by {lock.holder()}: another hub, or a restore under way", file=sys.stderr)
        return 1
    nats = NatsServer(port=nats_port, data_dir=data_dir / "nats")
    sink: MailSink | None = None
    children: dict[str, Child] = {}
    try:
        # Every child in a process group of its own: the terminal's Ctrl-C reaches only the launcher, which
        # stops the services before NATS (NATS leaving first made every service log connection errors).
        nats.start(log_file=data_dir / "nats.log", own_group=True)
        assert nats.process is not None
        env = launch.environment | {
            "HUB_DATA_DIR": str(data_dir),
            "HUB_NATS_URL": nats.url,
            "HUB_ADMIN_TOKEN_SHA256": token_hash(token),
            "HUB_TOKEN_SIGNING_KEY": signing_key(data_dir, launch.token_signing_key),
            "PYTHONPATH": f"{PROJECT_DIR}{os.pathsep}{PROJECT_DIR / 'gen'}",
        }
        # The link in sign-in mails opens the console's code step for the address (unless set elsewhere).
        env.setdefault("HUB_SIGN_IN_URL", f"http://{console.host}:{console.port}/sign-in")
        # The console signs people in as a service that passes on each browser's address (each person keeps their
        # own sign-in limit); its token is kept in var/console-service-token like the admin token.
        console_token = _secret_file(data_dir, "console-service-token")
        # The playbooks service books consultations and proposes introductions with a service token of its own.
        playbooks_token = env.get("HUB_PLAYBOOKS_SERVICE_TOKEN") or _secret_file(data_dir, "playbooks-service-token")
        known = (env.get("HUB_SERVICE_TOKEN_SHA256", ""), token_hash(console_token), token_hash(playbooks_token))
        hashes = ",".join(h for h in known if h)
        env |= {"HUB_SERVICE_TOKEN_SHA256": hashes, "HUB_CONSOLE_SERVICE_TOKEN": console_token,
                "HUB_PLAYBOOKS_SERVICE_TOKEN": playbooks_token}  # fmt: skip
        for name in SERVICES:  # external APIs get TLS: a local certificate unless one is configured
            upper = name.upper()
            if name in DEFAULT_PARTNER_PORTS and not Settings.from_env(name).partner_tls_cert:
                cert, key = local_certificate(data_dir / "tls")
                env |= {f"HUB_{upper}_PARTNER_TLS_CERT": str(cert), f"HUB_{upper}_PARTNER_TLS_KEY": str(key)}
        sink = MailSink(port=sink_port, folder=data_dir / "mail").start() if sink_port else None
        if sink:
            env |= {"HUB_SMTP_HOST": "127.0.0.1", "HUB_SMTP_PORT": str(sink_port)}
            env.setdefault("HUB_PROGRAM_MANAGER_EMAILS", "manager@hub.local")
        addresses = {}
        for name in SERVICES:
            settings = Settings.from_env(name)
            addresses[name] = address = f"{settings.grpc_host}:{settings.grpc_port}"

            def spawn(name: str = name) -> subprocess.Popen[bytes]:
                command = [sys.executable, "-m", f"services.{name}"]
                return subprocess.Popen(command, env=env, cwd=PROJECT_DIR, process_group=0)

            children[name] = Child(name, spawn, partial(is_serving, address, timeout=0.5), spawn(), time.monotonic())
        for name, address in addresses.items():
            wait_serving(name, address, children[name].process)
            marker = data_dir / f".seeded-{name}"
            seed = SEEDERS.get(name)
            if seed and not marker.exists():
                seed(address, token)
                marker.touch()

        def respawn_nats() -> subprocess.Popen[bytes]:
            nats.start(log_file=data_dir / "nats.log", own_group=True)
            assert nats.process is not None
            return nats.process

        children["nats"] = Child("nats", respawn_nats, lambda: not port_free("127.0.0.1", nats_port), nats.process)
        children["nats"].started = time.monotonic()
        console_url = f"http://{console.host}:{console.port}"

        def spawn_console() -> subprocess.Popen[bytes]:
            command = [sys.executable, "-m", "services.console"]
            return subprocess.Popen(command, env=env, cwd=PROJECT_DIR, process_group=0)

        children["console"] = Child("console", spawn_console, partial(http_ok, f"{console_url}/healthz"),
                                    spawn_console(), time.monotonic())  # fmt: skip
        wait_http("console", f"{console_url}/healthz", children["console"].process)
        addresses_web = {"console": console_url}
        notes = [line for name in SERVICES if name in BANNERS for line in BANNERS[name](data_dir, env)]
        if sink:
            notes += [f"Mail the hub sends lands in {data_dir / 'mail'}/ (an SMTP sink on 127.0.0.1:{sink_port}).", ""]
        _banner(addresses, databases, nats.url, data_dir, token, notes, addresses_web)
        while True:
            time.sleep(0.5)
            for child in children.values():
                child.check()
    except KeyboardInterrupt:
        print("\nstopping the hub…", file=sys.stderr, flush=True)
        return 0
    except StartFailed as exc:
        say(str(exc))
        return 1
    finally:
        # A second Ctrl-C while stopping would only leave processes behind; every wait below is bounded.
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        services = [child for name, child in children.items() if name != "nats"]
        for child in services:
            child.stop()
        for child in services:
            try:
                child.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.process.kill()
        if sink:
            sink.stop()
        nats.stop()
        lock.release()


def _banner(
    addresses: dict[str, str],
    databases: dict[str, str],
    nats_url: str,
    data_dir: object,
    token: str,
    notes: list[str],
    web: dict[str, str],
) -> None:
    lines = ["", "Hub CRM is running (Ctrl-C stops it).", ""]
    lines += [f"  {name:<14} {url}  (sign in with the token in {data_dir}/admin-token)" for name, url in web.items()]
    lines += [
        f"  {name:<14} grpc://{address:<22} database {database_label(databases[name])}"
        for name, address in addresses.items()
    ]
    lines += [
        f"  {'nats':<14} {nats_url}  (JetStream, stream HUB)",
        f"  {'data':<14} {data_dir}",
        "",
        "Try hubctl (it finds the dev admin token in var/admin-token):",
        "  .venv/bin/hubctl dashboard",
        "  .venv/bin/hubctl companies list --status resident",
        "  .venv/bin/hubctl companies show 1",
        "  .venv/bin/hubctl companies add --ko 새싹AI --sector education --tag llm",
        '  .venv/bin/hubctl tokens issue --role admin --to "김민지" --expires 30d',
        "Or any gRPC client with reflection, e.g. buf curl (in .venv/bin):",
        f"  {BUF_CURL} --list-services http://{addresses['companies']}",
        f'  {BUF_CURL} -H "authorization: Bearer $(cat {Path(str(data_dir)) / "admin-token"})" '
        f"http://{addresses['companies']}/hub.companies.v1.CompanyService/ListCompanies",
        "",
        *notes,
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
