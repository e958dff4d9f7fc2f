"""`make run`: the whole hub on embedded defaults. A nats-server from the wheel and every service as its
own process, all under var/; seeds a demo hub on first start; Ctrl-C stops everything cleanly."""

from __future__ import annotations

import importlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from hubcore.datadir import PRIVATE_UMASK, DataDirLock, secure
from hubcore.mailsink import MailSink
from hubcore.natsserver import NatsServer
from hubcore.server import is_serving
from hubcore.settings import (
    DEFAULT_MAIL_SINK_PORT,
    DEFAULT_NATS_PORT,
    DEFAULT_PARTNER_PORTS,
    PROJECT_DIR,
    Settings,
    token_hash,
)
from hubcore.tls import local_certificate

# In start order; each is `python -m services.<name>`.
SERVICES = ["companies", "investors", "consulting", "notifications"]


def dev_token(data_dir: os.PathLike[str]) -> str:
    """An admin token for this machine, made once and kept in var/admin-token (mode 0600)."""
    return _secret_file(data_dir, "admin-token")


def signing_key(data_dir: os.PathLike[str]) -> str:
    """The key every local service signs and checks access tokens with (hubcore.tokens), made once and kept
    in var/token-signing-key (mode 0600), unless HUB_TOKEN_SIGNING_KEY is set."""
    return os.environ.get("HUB_TOKEN_SIGNING_KEY") or _secret_file(data_dir, "token-signing-key")


def _secret_file(data_dir: os.PathLike[str], name: str) -> str:
    path = os.path.join(data_dir, name)
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(32))
    with open(path) as f:
        return f.read().strip()


def wait_serving(address: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if is_serving(address, timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"{address} did not become SERVING within {timeout:.0f} s")


def port_free(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) != 0


def main() -> int:
    # Everything the hub writes (databases, NATS's store, mail, keys) is its owner's alone; the services and
    # nats-server inherit the umask, and what an older version left readable is fixed here.
    os.umask(PRIVATE_UMASK)
    data_dir = Settings.from_env("launcher").data_dir
    secure(data_dir)
    token = dev_token(data_dir)
    nats_port = int(os.environ.get("HUB_NATS_PORT", DEFAULT_NATS_PORT))
    wanted = {"nats": ("127.0.0.1", nats_port)} | {
        name: (Settings.from_env(name).grpc_host, Settings.from_env(name).grpc_port) for name in SERVICES
    }
    wanted |= {
        f"{name} partner API": (Settings.from_env(name).partner_host, Settings.from_env(name).partner_port)
        for name in SERVICES
        if name in DEFAULT_PARTNER_PORTS
    }
    # Mail goes to a local SMTP sink that writes each message to var/mail/, unless HUB_SMTP_HOST names a server.
    sink_port = (
        0 if os.environ.get("HUB_SMTP_HOST") else int(os.environ.get("HUB_MAIL_SINK_PORT", DEFAULT_MAIL_SINK_PORT))
    )
    if sink_port:
        wanted["mail sink"] = ("127.0.0.1", sink_port)
    taken = [f"{name} ({host}:{port})" for name, (host, port) in wanted.items() if not port_free(host, port)]
    if taken:
        print(f"ports already in use: {', '.join(taken)}. Is another hub running?", file=sys.stderr)
        return 1
    lock = DataDirLock(data_dir)  # held while the hub runs: `hubctl backup restore` refuses meanwhile
    if not lock.acquire("hub"):
        print(f"{data_dir} is in use by {lock.holder()}: another hub, or a restore under way", file=sys.stderr)
        return 1
    nats = NatsServer(port=nats_port, data_dir=data_dir / "nats").start(log_file=data_dir / "nats.log")
    env = os.environ | {
        "HUB_DATA_DIR": str(data_dir),
        "HUB_NATS_URL": nats.url,
        "HUB_ADMIN_TOKEN_SHA256": token_hash(token),
        "HUB_TOKEN_SIGNING_KEY": signing_key(data_dir),
        "PYTHONPATH": f"{PROJECT_DIR}{os.pathsep}{PROJECT_DIR / 'gen'}",
    }
    for name in SERVICES:  # external APIs get TLS: a local certificate unless one is configured
        upper = name.upper()
        if name in DEFAULT_PARTNER_PORTS and not os.environ.get(f"HUB_{upper}_PARTNER_TLS_CERT"):
            cert, key = local_certificate(data_dir / "tls")
            env |= {f"HUB_{upper}_PARTNER_TLS_CERT": str(cert), f"HUB_{upper}_PARTNER_TLS_KEY": str(key)}
    sink = MailSink(port=sink_port, folder=data_dir / "mail").start() if sink_port else None
    if sink:
        env |= {"HUB_SMTP_HOST": "127.0.0.1", "HUB_SMTP_PORT": str(sink_port)}
        env.setdefault("HUB_PROGRAM_MANAGER_EMAILS", "manager@hub.local")
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        addresses = {}
        for name in SERVICES:
            processes[name] = subprocess.Popen([sys.executable, "-m", f"services.{name}"], env=env, cwd=PROJECT_DIR)
            settings = Settings.from_env(name)
            addresses[name] = f"{settings.grpc_host}:{settings.grpc_port}"
        for name, address in addresses.items():
            wait_serving(address)
            marker = data_dir / f".seeded-{name}"
            seed = _seed_module(name)
            if seed and not marker.exists():
                seed.run(address, token)
                marker.touch()
        notes = [line for name in SERVICES for line in _notes(name, data_dir, env)]
        if sink:
            notes += [f"Mail the hub sends lands in {data_dir / 'mail'}/ (an SMTP sink on 127.0.0.1:{sink_port}).", ""]
        _banner(addresses, nats.url, data_dir, token, notes)
        while all(p.poll() is None for p in processes.values()):
            time.sleep(0.5)
        failed = [n for n, p in processes.items() if p.poll() is not None]
        print(f"stopped unexpectedly: {', '.join(failed)}; see the log above", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping the hub…", file=sys.stderr)
        return 0
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if sink:
            sink.stop()
        nats.stop()
        lock.release()


def _seed_module(name: str) -> Any:
    try:
        return importlib.import_module(f"services.{name}.seed")
    except ModuleNotFoundError as exc:
        if exc.name != f"services.{name}.seed":
            raise
        return None


def _notes(name: str, data_dir: os.PathLike[str], env: dict[str, str]) -> list[str]:
    """What a service's seed module wants said in the banner (e.g. the partner API and its demo key)."""
    seed = _seed_module(name)
    return list(seed.banner(data_dir, env)) if seed and hasattr(seed, "banner") else []


def _banner(addresses: dict[str, str], nats_url: str, data_dir: object, token: str, notes: list[str]) -> None:
    lines = ["", "Hub CRM is running (Ctrl-C stops it).", ""]
    lines += [f"  {name:<14} grpc://{address}" for name, address in addresses.items()]
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
        "Or any gRPC client with reflection:",
        f"  grpcurl -plaintext {addresses['companies']} list",
        f'  grpcurl -plaintext -H "authorization: Bearer $(cat var/admin-token)" '
        f"{addresses['companies']} hub.companies.v1.CompanyService/ListCompanies",
        "",
        *notes,
    ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
