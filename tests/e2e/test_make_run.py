"""What `make run` promises, run as real processes: the launcher starts NATS and the services, seeds the
demo hub once, answers health and reflection, starts a crashed service again, stops cleanly on Ctrl-C and
SIGTERM, and starts again on the same data."""

from __future__ import annotations

import collections
import contextlib
import ipaddress
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from hub.companies.v1 import companies_pb2 as pb
from hub.companies.v1 import companies_pb2_grpc
from hub.consulting.v1 import consulting_pb2 as cpb
from hub.consulting.v1 import consulting_pb2_grpc
from hub.ops.v1 import tokens_pb2 as tpb
from hub.ops.v1 import tokens_pb2_grpc

from hubcore.settings import PROJECT_DIR
from hublocal.natsserver import free_port


def start(
    data_dir: Path,
    port: int,
    nats_port: int,
    output: list[str] | None = None,
    *,
    sigint_ignored: bool = False,
    **ports: int | str,
) -> subprocess.Popen[str]:
    """Starts `make run`'s launcher; every other port is a free one unless given (HUB_INVESTORS_PORT=…).
    With output, every line it prints is kept there, until it exits."""
    others = {
        "HUB_INVESTORS_PORT": free_port(),
        "HUB_INVESTORS_PARTNER_PORT": free_port(),
        "HUB_INVESTORS_PARTNER_HTTP_PORT": free_port(),
        "HUB_CONSULTING_PORT": free_port(),
        "HUB_NOTIFICATIONS_PORT": free_port(),
        "HUB_PLAYBOOKS_PORT": free_port(),
        "HUB_MAIL_SINK_PORT": free_port(),
        "HUB_CONSOLE_PORT": free_port(),
    } | ports
    env = (
        os.environ
        | {
            "HUB_DATA_DIR": str(data_dir),
            "HUB_COMPANIES_PORT": str(port),
            "HUB_NATS_PORT": str(nats_port),
            "HUB_LOG_LEVEL": "warning",
            "HUB_QUIET_HOURS": "off",  # the demo's mail arrives whatever the hour the test runs
        }
        | {k: str(v) for k, v in others.items()}
    )
    # In a session of its own, as in a terminal: Ctrl-C there signals the launcher's whole process group.
    process = subprocess.Popen(
        [sys.executable, "-m", "hublocal.launch"], cwd=PROJECT_DIR, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
        # As a shell without job control starts a background command (a CI script's `make run &`).
        preexec_fn=(lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint_ignored else None,
    )  # fmt: skip
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    seen = []
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        seen.append(line)
        if "Hub CRM is running" in line:
            # Always drained: the services write to the launcher's pipe too, and a full pipe would stop them.
            kept: Any = output if output is not None else collections.deque(maxlen=200)
            kept += seen
            threading.Thread(target=kept.extend, args=(process.stdout,), daemon=True).start()
            return process
        if not line and process.poll() is not None:
            break
    kill_hub(process)
    raise AssertionError("the hub did not start:\n" + "".join(seen))


def kill_hub(process: subprocess.Popen[str]) -> None:
    """SIGKILL to the launcher and every process under it: its nats-server and services each run in a process
    group of their own (so the terminal's Ctrl-C reaches only the launcher), so killing the launcher's group
    alone would leave them running, holding the next tests' ports."""
    pids, look = [], [process.pid]
    while look:
        pid = look.pop()
        pids.append(pid)
        with contextlib.suppress(OSError):
            look += [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait(timeout=30)


def stop(process: subprocess.Popen[str], output: list[str] | None = None, sig: int = signal.SIGINT) -> None:
    """Ctrl-C: the terminal sends SIGINT to the launcher's process group (sig=SIGTERM: a script's `kill`)."""
    if sig == signal.SIGINT:
        os.killpg(process.pid, sig)
    else:
        process.send_signal(sig)
    try:
        code = process.wait(timeout=60)
    except subprocess.TimeoutExpired:
        kill_hub(process)  # a hub that will not stop must not outlive the test
        raise
    assert code == 0
    if output is not None:
        time.sleep(0.5)  # the drain thread takes the last lines
        text = "".join(output)
        assert "stopping the hub" in text
        assert "Traceback" not in text and "unexpectedly" not in text, text[-3000:]


def children(pid: int) -> dict[str, int]:
    """The launcher's child processes, by what they run (services.companies, nats-server)."""
    found = {}
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        command = Path(f"/proc/{child}/cmdline").read_bytes().split(b"\0")
        found[command[2].decode() if command[1:2] == [b"-m"] else Path(command[0].decode()).name] = int(child)
    return found


def test_a_killed_service_comes_back_and_ctrl_c_stops_everything_without_a_traceback(tmp_path: Path) -> None:
    """The launcher supervises: SIGKILL one service and it is started again and serves; hubctl finds the
    moved ports; Ctrl-C (SIGINT to the whole process group, services and NATS included) prints no traceback."""
    port, nats_port = free_port(), free_port()
    output: list[str] = []
    process = start(tmp_path, port, nats_port, output)
    try:
        first = children(process.pid)["services.companies"]
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "companies is serving again" not in "".join(output):
            time.sleep(0.2)
        text = "".join(output)
        assert "companies stopped (killed by SIGKILL); restarting it in 1 s" in text
        assert "companies is serving again" in text
        assert children(process.pid)["services.companies"] != first
        env = os.environ | {"HUB_DATA_DIR": str(tmp_path), "HUB_COMPANIES_PORT": str(port)}
        listed = subprocess.run([sys.executable, "-m", "hubctl", "--json", "companies", "list"], cwd=PROJECT_DIR,
                                env=env, capture_output=True, text=True, timeout=60)  # fmt: skip
        assert listed.returncode == 0, listed.stderr
        assert "companies/1" in listed.stdout
        everything = set(children(process.pid).values())
    finally:
        stop(process, output)
    assert not everything & _running_pids(), "the launcher left processes behind"


def test_ctrl_c_stops_a_hub_started_with_sigint_ignored(tmp_path: Path) -> None:
    """A background job of a shell without job control inherits SIGINT ignored, and Python keeps it so: the
    launcher sets its own handler, or such a hub (CI's) would never stop on Ctrl-C."""
    output: list[str] = []
    process = start(tmp_path, free_port(), free_port(), output, sigint_ignored=True)
    stop(process, output)


def test_mail_held_by_quiet_hours_is_announced_with_when_it_leaves(tmp_path: Path) -> None:
    """Quiet hours that hold now (an hour ago to two hours on, Seoul time): the demo's welcome mails wait, and
    the banner and `hubctl followups stuck` say how many wait and when they leave, instead of nothing."""
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    seoul = datetime.now(ZoneInfo("Asia/Seoul"))
    start_at, end_at = seoul - timedelta(hours=1), seoul + timedelta(hours=2)
    quiet = f"{start_at:%H:%M}-{end_at:%H:%M}"
    leaves = f"{end_at:%H:%M}(KST)" if end_at.date() == seoul.date() else f"{end_at.day}일 {end_at:%H:%M}(KST)"
    port = free_port()
    output: list[str] = []
    process = start(tmp_path, port, free_port(), output, HUB_QUIET_HOURS=quiet)
    try:
        assert "조용한 시간: " in "".join(output) and f"{leaves}에 발송됩니다" in "".join(output)
        env = os.environ | {"HUB_DATA_DIR": str(tmp_path), "HUB_COMPANIES_PORT": str(port)}
        env["HUB_NOTIFICATIONS_ADDRESS"] = f"127.0.0.1:{_setting(output, 'notifications')}"
        deadline, said = time.monotonic() + 60, ""
        while time.monotonic() < deadline and "통이" not in said:
            said = subprocess.run([sys.executable, "-m", "hubctl", "followups", "stuck"], cwd=PROJECT_DIR, env=env,
                                  capture_output=True, text=True, timeout=60).stdout  # fmt: skip
            time.sleep(0.5)
        [line] = [x for x in said.splitlines() if x.startswith("조용한 시간")]
        count = int(line.split("메일 ")[1].split("통")[0])
        assert count >= 1 and f"{leaves}에 발송됩니다" in line, said
        assert not welcomes(tmp_path), "held mail was sent"
    finally:
        stop(process, output)


def _setting(output: list[str], service: str) -> str:
    """A service's port, as the banner printed it."""
    [line] = [x for x in "".join(output).splitlines() if x.strip().startswith(f"{service} ")]
    return line.split("grpc://", 1)[1].split()[0].rsplit(":", 1)[1]


def launch_once(data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """The launcher run to its end (a refusal), with its output."""
    env = os.environ | {"HUB_DATA_DIR": str(data_dir), "HUB_NATS_PORT": str(free_port())} | env
    names = ("COMPANIES", "INVESTORS", "CONSULTING", "NOTIFICATIONS", "PLAYBOOKS", "INVESTORS_PARTNER", "MAIL_SINK")
    for name in (*names, "CONSOLE"):
        env.setdefault(f"HUB_{name}_PORT", str(free_port()))
    return subprocess.run([sys.executable, "-m", "hublocal.launch"], cwd=PROJECT_DIR, env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_one_database_for_every_service_is_refused_in_one_line(tmp_path: Path) -> None:
    """Every service has an outbox (and processed_events, alembic_version…): one database cannot hold
    five. The launcher says so before it starts anything, and how to give each its own."""
    for url in ("postgresql+asyncpg://hub:s3cret-pw@db.example:5432/hub", f"sqlite+aiosqlite:///{tmp_path}/hub.db"):
        refused = launch_once(tmp_path, HUB_DATABASE_URL=url)
        assert refused.returncode == 1
        [line] = refused.stderr.splitlines()
        assert "companies, investors, consulting, notifications, playbooks would share one database" in line
        assert "HUB_DATABASE_URL=" in line and "hub_{service}" in line
        assert ("createdb hub_companies" in line) == url.startswith("postgresql")
        assert "s3cret-pw" not in line and "Traceback" not in refused.stdout


@pytest.mark.skipif(not os.environ.get("HUB_TEST_DATABASE_URL"), reason="HUB_TEST_DATABASE_URL unset")
def test_make_run_on_postgresql_from_one_setting(tmp_path: Path) -> None:
    """HUB_DATABASE_URL with {service}: each service its own database. Missing databases are one line per
    service naming the setting and `createdb`, no traceback; once created, the hub runs, the banner names
    each database without the password, and SIGTERM (a script's kill) stops it as cleanly as Ctrl-C."""
    import asyncio
    import uuid

    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    server = sa.engine.make_url(os.environ["HUB_TEST_DATABASE_URL"])
    prefix = f"hub_launch_{uuid.uuid4().hex[:8]}"
    url = server.set(database=prefix, password="pw-not-shown").render_as_string(hide_password=False) + "_{service}"
    names = [f"{prefix}_{s}" for s in ("companies", "investors", "consulting", "notifications", "playbooks")]

    async def admin(statement: str) -> None:
        engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
        async with engine.connect() as conn:
            for name in names:
                await conn.execute(sa.text(statement.format(name=name)))
        await engine.dispose()

    missing = launch_once(tmp_path, HUB_DATABASE_URL=url)
    assert missing.returncode == 1
    output = missing.stdout + missing.stderr
    assert "Traceback" not in output
    assert f"the database {prefix}_companies does not exist (HUB_DATABASE_URL=" in output
    assert f"createdb -h {server.host} -p {server.port} -U {server.username} {prefix}_companies" in output
    assert "companies did not start (exit code 2)" in output
    asyncio.run(admin('CREATE DATABASE "{name}"'))
    try:
        lines: list[str] = []
        process = start(tmp_path, free_port(), free_port(), lines, HUB_DATABASE_URL=url)
        time.sleep(0.5)
        banner = "".join(lines)
        for name in names:
            assert f"@{server.host}:{server.port}/{name}" in banner
        assert "pw-not-shown" not in banner
        stop(process, lines, signal.SIGTERM)
    finally:
        asyncio.run(admin('DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _running_pids() -> set[int]:
    return {int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()}


def test_make_run_starts_seeds_once_stops_cleanly_and_restarts(tmp_path: Path) -> None:
    port, nats_port, consulting_port = free_port(), free_port(), free_port()
    address = f"127.0.0.1:{port}"
    process = start(tmp_path, port, nats_port, HUB_CONSULTING_PORT=consulting_port)
    try:
        token = (tmp_path / "admin-token").read_text().strip()
        assert oct((tmp_path / "admin-token").stat().st_mode & 0o777) == "0o600"
        # Databases, their WAL, NATS's store, keys: nothing in the data directory is readable by others.
        readable = [str(p) for p in [tmp_path, *tmp_path.rglob("*")] if p.stat().st_mode & 0o077]
        assert not readable, readable
        metadata = (("authorization", f"Bearer {token}"),)
        with grpc.insecure_channel(address) as channel:
            health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
            [answer] = list(
                reflection.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(list_services="")]))
            )
            services = {s.name for s in answer.list_services_response.service}
            assert {
                "hub.companies.v1.CompanyService",
                "grpc.health.v1.Health",
                "hub.ops.v1.OperationsService",
            } <= services
            stub = companies_pb2_grpc.CompanyServiceStub(channel)
            seeded = stub.ListCompanies(pb.ListCompaniesRequest(), metadata=metadata).companies
            sectors = {c.sector for c in seeded}
            assert {pb.SECTOR_MEDICAL, pb.SECTOR_EDUCATION, pb.SECTOR_MANUFACTURING} <= sectors
            assert any(c.status == pb.COMPANY_STATUS_RESIDENT for c in seeded)
            assert all(any("\uac00" <= ch <= "\ud7a3" for ch in c.korean_name) for c in seeded)  # Hangul names
            added = stub.CreateCompany(
                pb.CreateCompanyRequest(company=pb.Company(korean_name="새싹AI", sector=pb.SECTOR_OTHER)),
                metadata=metadata,
            )
        with grpc.insecure_channel(f"127.0.0.1:{consulting_port}") as channel:
            consulting = consulting_pb2_grpc.ConsultingServiceStub(channel)
            mentors = consulting.ListMentors(cpb.ListMentorsRequest(), metadata=metadata).mentors
            assert len(mentors) >= 5 and all(any("\uac00" <= ch <= "\ud7a3" for ch in m.korean_name) for m in mentors)
            sessions = consulting.ListSessions(cpb.ListSessionsRequest(), metadata=metadata).sessions
            assert len(sessions) >= 5 and {s.company for s in sessions} <= {c.name for c in seeded}
            rooms = consulting.ListRooms(cpb.ListRoomsRequest(), metadata=metadata).rooms
            assert rooms and all(r.floor == 5 for r in rooms)
            assert consulting.ListPrograms(cpb.ListProgramsRequest(), metadata=metadata).programs
        # Every service shares the signing key make run made: a token the companies service issues works on
        # consulting too.
        assert oct((tmp_path / "token-signing-key").stat().st_mode & 0o777) == "0o600"
        with grpc.insecure_channel(address) as channel:
            wanted = tpb.AccessToken(subject="김민지", role=tpb.ACCESS_TOKEN_ROLE_ADMIN)
            issued = tokens_pb2_grpc.AccessTokenServiceStub(channel).CreateAccessToken(
                tpb.CreateAccessTokenRequest(access_token=wanted), metadata=metadata
            )
        minji = (("authorization", f"Bearer {issued.secret}"),)
        with grpc.insecure_channel(f"127.0.0.1:{consulting_port}") as channel:
            assert consulting_pb2_grpc.ConsultingServiceStub(channel).ListRooms(cpb.ListRoomsRequest(), metadata=minji)
        # The notifications worker welcomed the resident companies' founders: the sink kept the mail.
        residents = sum(c.status == pb.COMPANY_STATUS_RESIDENT for c in seeded)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and len(welcomes(tmp_path)) < residents:
            time.sleep(0.2)
        assert len(welcomes(tmp_path)) == residents
    finally:
        stop(process)

    process = start(tmp_path, port, nats_port)  # the same data, no second seed
    try:
        with grpc.insecure_channel(address) as channel:
            stub = companies_pb2_grpc.CompanyServiceStub(channel)
            again = stub.ListCompanies(pb.ListCompaniesRequest(), metadata=minji).companies  # the same key
            assert [c.name for c in again] == [c.name for c in seeded] + [added.name]
        assert len(welcomes(tmp_path)) == residents, "a restart sends nothing twice"
    finally:
        stop(process)


def welcomes(data_dir: Path) -> list[str]:
    from email import message_from_bytes, policy

    found = []
    for path in sorted((data_dir / "mail").glob("*.eml")):
        subject = str(message_from_bytes(path.read_bytes(), policy=policy.default)["Subject"])
        if "입주를 환영합니다" in subject:
            found.append(subject)
    return found


def test_a_second_hub_on_taken_ports_refuses_to_start(tmp_path: Path) -> None:
    port, nats_port = free_port(), free_port()
    process = start(tmp_path / "one", port, nats_port)
    try:
        env = os.environ | {
            "HUB_DATA_DIR": str(tmp_path / "two"),
            "HUB_COMPANIES_PORT": str(port),
            "HUB_NATS_PORT": str(nats_port),
        }
        second = subprocess.run(
            [sys.executable, "-m", "hublocal.launch"],
            cwd=PROJECT_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert second.returncode == 1
        assert "ports already in use" in second.stderr
    finally:
        stop(process)


def test_make_run_seeds_investors_and_serves_the_partner_api_over_tls(tmp_path: Path) -> None:
    from hub.investors.v1 import investors_pb2 as ipb
    from hub.investors.v1 import investors_pb2_grpc, partner_pb2_grpc
    from hub.investors.v1 import partner_pb2 as ppb

    port, nats_port, investors_port, partner_port = free_port(), free_port(), free_port(), free_port()
    process = start(
        tmp_path, port, nats_port, HUB_INVESTORS_PORT=investors_port, HUB_INVESTORS_PARTNER_PORT=partner_port
    )
    try:
        admin = (("authorization", f"Bearer {(tmp_path / 'admin-token').read_text().strip()}"),)
        key = (tmp_path / "partner-key").read_text().strip()
        assert key.startswith("hubpk_") and oct((tmp_path / "partner-key").stat().st_mode & 0o777) == "0o600"
        with grpc.insecure_channel(f"127.0.0.1:{investors_port}") as channel:
            stub = investors_pb2_grpc.InvestorServiceStub(channel)
            firms = stub.ListFirms(ipb.ListFirmsRequest(), metadata=admin).firms
            assert {ipb.FIRM_TYPE_VC, ipb.FIRM_TYPE_CVC} <= {f.type for f in firms}
            matched = stub.MatchInvestors(ipb.MatchInvestorsRequest(company="companies/1"), metadata=admin).matches
            assert matched and matched[0].fit.score >= matched[-1].fit.score
        root = (tmp_path / "tls" / "partner.crt").read_bytes()
        credentials = grpc.ssl_channel_credentials(root_certificates=root)
        with grpc.secure_channel(f"127.0.0.1:{partner_port}", credentials) as channel:
            partner = partner_pb2_grpc.PartnerServiceStub(channel)
            shared = partner.ListIntroductions(
                ppb.PartnerServiceListIntroductionsRequest(), metadata=(("authorization", f"Bearer {key}"),)
            ).introductions
            assert shared and all(i.company.korean_name for i in shared)
        # The seeded closed Series A reached the companies service through NATS.
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            companies = companies_pb2_grpc.CompanyServiceStub(channel)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                got = companies.GetCompany(pb.GetCompanyRequest(name="companies/5"), metadata=admin)
                if got.last_round:
                    break
                time.sleep(0.2)
            assert (got.funding_raised.units, got.last_round) == (5_000_000_000, "SERIES_A")
        example = subprocess.run(
            [sys.executable, "examples/partner_client.py", "--address", f"127.0.0.1:{partner_port}", "--key", key,
             "--ca", str(tmp_path / "tls" / "partner.crt")],
            cwd=PROJECT_DIR, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert example.returncode == 0, example.stderr
        assert "introductions/" in example.stdout
    finally:
        stop(process)


def test_no_secret_reaches_the_logs_of_a_full_run(tmp_path: Path) -> None:
    """Everything a debug-level run prints, while callers use an admin token, a bad token, a signed access
    token and a partner key over TLS: none of the secrets (tokens, keys, the signing key, the webhook
    secret) appears, and every port listens on loopback only."""
    from hub.investors.v1 import partner_pb2 as ppb
    from hub.investors.v1 import partner_pb2_grpc

    port, nats_port, partner_port = free_port(), free_port(), free_port()
    webhook_secret = "whsec-" + "7" * 30
    output: list[str] = []
    process = start(tmp_path, port, nats_port, output, HUB_INVESTORS_PARTNER_PORT=partner_port,
                    HUB_LOG_LEVEL="debug", HUB_WEBHOOK_SECRET=webhook_secret)  # fmt: skip
    try:
        token = (tmp_path / "admin-token").read_text().strip()
        key = (tmp_path / "partner-key").read_text().strip()
        bogus = "hubat_" + "Q" * 40 + ".forged"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = companies_pb2_grpc.CompanyServiceStub(channel)
            stub.ListCompanies(pb.ListCompaniesRequest(), metadata=(("authorization", f"Bearer {token}"),))
            with pytest.raises(grpc.RpcError):
                stub.ListCompanies(pb.ListCompaniesRequest(), metadata=(("authorization", f"Bearer {bogus}"),))
            issued = tokens_pb2_grpc.AccessTokenServiceStub(channel).CreateAccessToken(
                tpb.CreateAccessTokenRequest(
                    access_token=tpb.AccessToken(subject="김민지", role=tpb.ACCESS_TOKEN_ROLE_ADMIN)
                ),
                metadata=(("authorization", f"Bearer {token}"),),
            )
            stub.ListCompanies(pb.ListCompaniesRequest(), metadata=(("authorization", f"Bearer {issued.secret}"),))
        root = (tmp_path / "tls" / "partner.crt").read_bytes()
        with grpc.secure_channel(f"127.0.0.1:{partner_port}", grpc.ssl_channel_credentials(root)) as channel:
            partner = partner_pb2_grpc.PartnerServiceStub(channel)
            partner.ListIntroductions(ppb.PartnerServiceListIntroductionsRequest(),
                                      metadata=(("authorization", f"Bearer {key}"),))  # fmt: skip
        listening = _listening_addresses()
    finally:
        stop(process)
    time.sleep(0.5)  # the drain thread takes the last lines
    secrets = {
        "admin token": token,
        "partner key": key,
        "access token": issued.secret,
        "access token signature": issued.secret.rsplit(".", 1)[-1],
        "forged token": bogus,
        "signing key": (tmp_path / "token-signing-key").read_text().strip(),
        "console's service token": (tmp_path / "console-service-token").read_text().strip(),
        "webhook secret": webhook_secret,
    }
    text = "".join(output)
    logs = [*tmp_path.glob("*.log"), *tmp_path.glob("**/*.log")]
    text += "".join(p.read_text(errors="replace") for p in logs)
    assert "UNAUTHENTICATED" in text and "ListIntroductions" in text, "the run did not log its calls"
    leaked = [name for name, secret in secrets.items() if secret in text]
    assert not leaked, f"in the logs: {leaked}"
    ours = {p for p in listening if p[1] in {port, nats_port, partner_port}}
    assert {p[1] for p in ours} == {port, nats_port, partner_port}
    assert all(host == "127.0.0.1" for host, _ in ours), ours


def _listening_addresses() -> set[tuple[str, int]]:
    """(host, port) of every listening TCP socket on this machine, from /proc/net/tcp and tcp6; an IPv4
    address mapped into IPv6 (a dual-stack socket bound to 127.0.0.1) is given as the IPv4 address."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in list(f)[1:]:
                local, state = line.split()[1], line.split()[3]
                if state != "0A":  # LISTEN
                    continue
                host_hex, port_hex = local.split(":")
                # the kernel prints each 32-bit word of the address in host (little-endian) order
                raw = b"".join(bytes.fromhex(host_hex[i : i + 8])[::-1] for i in range(0, len(host_hex), 8))
                address = ipaddress.ip_address(raw)
                if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
                    address = address.ipv4_mapped
                found.add((str(address), int(port_hex, 16)))
    return found
