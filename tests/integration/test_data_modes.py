"""The data directory is its owner's alone: a SQLite database made by the real code path is 0600 with its
-wal and -shm files, whatever the process's umask, and `datadir.secure` fixes what an older version left
world-readable (0755 folders, 0644 files)."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import sqlalchemy as sa

from hubcore import migrate
from hublocal.datadir import secure
from hublocal.mailsink import MailSink
from hublocal.natsserver import free_port
from tests.conftest import make_settings


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def open_database(path: Path) -> None:
    """The investors service's database as a service opens it: migrated, written, connections still open."""
    from services.investors.__main__ import build

    url = f"sqlite+aiosqlite:///{path}"
    runtime = build(make_settings("investors", url, "nats://127.0.0.1:1", path.parent))
    try:
        await migrate.upgrade(runtime.migrations, url)
        async with runtime.db.begin() as conn:
            await conn.execute(sa.text("INSERT INTO revoked_tokens VALUES ('t', '2030-01-01', '2026-01-01')"))
        async with runtime.db.read() as conn:  # the WAL and its index exist while a connection is open
            await conn.execute(sa.text("SELECT 1"))
            files = {p.name: mode(p) for p in path.parent.iterdir() if p.name.startswith(path.name)}
    finally:
        await runtime.db.close()
    assert files == {path.name: 0o600, f"{path.name}-wal": 0o600, f"{path.name}-shm": 0o600}


async def test_a_new_database_and_its_wal_are_private_whatever_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o022)  # what a shell gives: files 0644 unless the code says otherwise
    try:
        path = tmp_path / "var" / "investors.db"
        await open_database(path)
        assert mode(path.parent) == 0o700  # the folder the engine made for it
    finally:
        os.umask(previous)


def readable_database(path: Path) -> Path:
    """A database as an older version left it: 0644."""
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
    path.chmod(0o644)
    return path


async def test_an_existing_readable_database_is_made_private_when_opened(tmp_path: Path) -> None:
    await open_database(readable_database(tmp_path / "investors.db"))


def test_secure_makes_an_old_data_directory_private(tmp_path: Path) -> None:
    data = tmp_path / "var"
    (data / "nats" / "jetstream").mkdir(parents=True)
    for file in ("companies.db", "companies.db-wal", "admin-token", "nats/jetstream/msgs.blk"):
        (data / file).write_text("x")
        (data / file).chmod(0o644)
    for folder in (data, data / "nats", data / "nats" / "jetstream"):
        folder.chmod(0o755)
    secure(data)
    found = {str(p.relative_to(tmp_path)): mode(p) for p in [data, *data.rglob("*")]}
    assert found == {
        "var": 0o700, "var/nats": 0o700, "var/nats/jetstream": 0o700, "var/companies.db": 0o600,
        "var/companies.db-wal": 0o600, "var/admin-token": 0o600, "var/nats/jetstream/msgs.blk": 0o600,
    }  # fmt: skip


def test_the_mail_the_sink_keeps_is_private(tmp_path: Path) -> None:
    import smtplib

    previous = os.umask(0o022)
    sink = MailSink(port=free_port(), folder=tmp_path / "mail").start()
    try:
        with smtplib.SMTP("127.0.0.1", sink.port) as smtp:
            smtp.sendmail("hub@example.com", ["kim@example.com"], b"Subject: hi\r\n\r\nhello")
    finally:
        sink.stop()
        os.umask(previous)
    assert mode(tmp_path / "mail") == 0o700
    assert [mode(p) for p in (tmp_path / "mail").iterdir()] == [0o600]
