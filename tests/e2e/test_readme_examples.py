"""The README's, docs/' and the banner's `buf curl` examples (and the partner API's HTTP/JSON `curl` ones), run
as printed against a running `make run` hub (on free ports and a data directory of the test's own, which is all
that is rewritten), so they never drift from what works on a machine with nothing but the project installed.
Commands in ```sh blocks are run; a ```bash block holds what runs on someone else's machine (a partner checking a
webhook's signature), which no hub can answer."""

from __future__ import annotations

import re
import shlex
import subprocess
from pathlib import Path

from hubcore.settings import DEFAULT_PARTNER_HTTP_PORTS, DEFAULT_PARTNER_PORTS, DEFAULT_PORTS, PROJECT_DIR
from hublocal.natsserver import free_port
from tests.e2e.test_make_run import start, stop

README = PROJECT_DIR / "README.md"
DOCS = [README, *sorted((PROJECT_DIR / "docs").rglob("*.md"))]  # the examples sit beside what they show


def shell_commands(text: str) -> list[str]:
    """The commands of a shell snippet: lines joined while a backslash or an open quote continues them."""
    commands, pending = [], ""
    for line in text.splitlines():
        pending += line + "\n"
        try:
            shlex.split(pending)
        except ValueError:  # an open quotation: the command goes on
            continue
        if pending.rstrip().endswith("\\"):
            continue
        commands.append(pending.strip())
        pending = ""
    return [c for c in commands if c]


def buf_examples(markdown: str) -> list[str]:
    """Every command of the README that calls buf curl, with the BUF and TOKEN it needs; inline ones too."""
    blocks = re.findall(r"```sh\n(.*?)```", markdown, re.S)
    found = [
        c for block in blocks for c in shell_commands(block) if c.startswith(("$BUF", ".venv/bin/buf curl", "curl "))
    ]
    found += re.findall(r"`(\$BUF [^`]+)`", markdown)
    return found


def run(command: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=cwd, capture_output=True, text=True,
                          timeout=60)  # fmt: skip


def test_every_buf_curl_example_works_as_printed(tmp_path: Path) -> None:
    data = tmp_path / "var"
    ports = {name: free_port() for name in DEFAULT_PORTS} | {"partner": free_port(), "partner-http": free_port()}
    output: list[str] = []
    process = start(data, ports["companies"], free_port(), output, HUB_INVESTORS_PORT=ports["investors"],
                    HUB_CONSULTING_PORT=ports["consulting"], HUB_NOTIFICATIONS_PORT=ports["notifications"],
                    HUB_PLAYBOOKS_PORT=ports["playbooks"],
                    HUB_INVESTORS_PARTNER_PORT=ports["partner"],
                    HUB_INVESTORS_PARTNER_HTTP_PORT=ports["partner-http"])  # fmt: skip
    try:
        examples = [example for doc in DOCS for example in buf_examples(doc.read_text())]
        assert len(examples) >= 8, examples
        moved = {f"127.0.0.1:{DEFAULT_PORTS[name]}": f"127.0.0.1:{port}" for name, port in ports.items()
                 if name in DEFAULT_PORTS}  # fmt: skip
        moved[f"127.0.0.1:{DEFAULT_PARTNER_PORTS['investors']}"] = f"127.0.0.1:{ports['partner']}"
        moved[f"127.0.0.1:{DEFAULT_PARTNER_HTTP_PORTS['investors']}"] = f"127.0.0.1:{ports['partner-http']}"
        prelude = (
            'BUF="$PROJECT/.venv/bin/buf curl --protocol grpc --http2-prior-knowledge"\n'
            'TOKEN="authorization: Bearer $(cat var/admin-token)"\n'
        )
        for example in examples:
            command = example.replace(".venv/bin/", "$PROJECT/.venv/bin/")
            for default, address in moved.items():
                command = command.replace(default, address)
            done = run(f"PROJECT={shlex.quote(str(PROJECT_DIR))}\n{prelude}{command}", tmp_path)
            assert done.returncode == 0, f"{example}\n{done.stderr}"
            assert done.stdout.strip() or "> " in command, example
            if command.startswith("curl ") and " -i " not in command:  # HTTP/JSON: an answer, not an error's JSON
                assert '"code":"' not in done.stdout, f"{example}\n{done.stdout}"
        # The banner's examples name this hub's own addresses and files.
        lines = [line.strip() for line in "".join(output).splitlines()]
        banner = [line for line in lines if line.startswith((".venv/bin/buf curl", "curl "))]
        assert len(banner) >= 4, banner
        for example in banner:
            done = run(example.replace(".venv/bin/", f"{PROJECT_DIR}/.venv/bin/"), tmp_path)
            assert done.returncode == 0 and done.stdout.strip(), f"{example}\n{done.stderr}"
    finally:
        stop(process, output)
