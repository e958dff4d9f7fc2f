"""hublocal.backup on migrated SQLite databases, without a running hub: what a restore refuses (a changed
file, a missing one, an unfinished backup, a schema this code does not know, a running hub) and that a
refusal changes nothing; what a restore moves aside and what it marks for re-publishing."""

from __future__ import annotations

import asyncio
import hashlib
import json
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from hubcore import migrate
from hublocal import backup
from hublocal.datadir import DataDirLock


def migrated(data: Path) -> None:
    async def run() -> None:
        for service in backup.SERVICES:
            await migrate.upgrade(str(backup.migrations(service)), f"sqlite+aiosqlite:///{data / service}.db")

    asyncio.run(run())


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("template")
    migrated(data)
    with closing(sqlite3.connect(data / "consulting.db", isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode=WAL")
        for i in range(3):
            conn.execute(
                "INSERT INTO outbox (event_id, subject, data, created_at, published_at) "
                "VALUES (?, 'hub.consulting.session.completed', x'00', '2026-01-01', '2026-01-01')",
                (f"event-{i}",),
            )
    (data / "token-signing-key").write_text("key")
    (data / "token-signing-key").chmod(0o600)
    (data / ".seeded-companies").touch()
    return data


@pytest.fixture
def hub(template: Path, tmp_path: Path) -> Path:
    data = tmp_path / "var"
    shutil.copytree(template, data)
    return data


def untouched(data: Path) -> None:
    assert not list(data.glob("before-restore-*"))


def test_a_backup_verifies_and_restores_and_its_events_are_published_again(hub: Path, tmp_path: Path) -> None:
    made = backup.create(hub, tmp_path / "backup")
    manifest = backup.verify(made.directory)
    entry = manifest["databases"]["consulting"]
    assert entry["schema_revision"] == backup.known_revisions("consulting")[1]
    assert (entry["outbox_events"], entry["outbox_unpublished"]) == (3, 0)
    assert set(manifest["files"]) == {"token-signing-key", ".seeded-companies"}
    assert manifest["hub_running"] is False
    (hub / "nats" / "jetstream").mkdir(parents=True)
    (hub / "consulting.db-wal").write_bytes(b"")  # a WAL left beside the old file must not meet the new one
    done = backup.restore(hub, made.directory)
    assert done.republish == {"companies": 0, "investors": 0, "consulting": 3, "notifications": 0, "playbooks": 0}
    assert done.aside and {p.name for p in done.aside.iterdir()} >= {
        "consulting.db",
        "consulting.db-wal",
        "nats",
        "token-signing-key",
        "restore.json",
    }
    assert not (hub / "consulting.db-wal").exists() and not (hub / "nats" / "jetstream").exists()
    assert oct((hub / "token-signing-key").stat().st_mode & 0o777) == "0o600"
    with closing(sqlite3.connect(hub / "consulting.db")) as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE published_at IS NULL").fetchone() == (3,)


def test_a_corrupted_file_is_refused_by_its_checksum_and_nothing_changes(hub: Path, tmp_path: Path) -> None:
    made = backup.create(hub, tmp_path / "backup")
    copy = made.directory / "consulting.db"
    data = bytearray(copy.read_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, the size unchanged
    copy.write_bytes(bytes(data))
    before = {p.name: p.read_bytes() for p in hub.glob("*.db")}
    with pytest.raises(backup.BackupError) as refused:
        backup.restore(hub, made.directory)
    assert "nothing was changed" in str(refused.value)
    assert refused.value.problems == [
        "consulting.db: sha256 differs from the manifest's (the file was changed or corrupted)"
    ]
    assert {p.name: p.read_bytes() for p in hub.glob("*.db")} == before
    untouched(hub)


def test_a_missing_or_truncated_file_and_an_unfinished_backup_are_refused(hub: Path, tmp_path: Path) -> None:
    made = backup.create(hub, tmp_path / "backup")
    (made.directory / "token-signing-key").unlink()
    with (made.directory / "investors.db").open("r+b") as f:
        f.truncate(4096)
    with pytest.raises(backup.BackupError) as refused:
        backup.restore(hub, made.directory)
    assert sorted(refused.value.problems) == [
        f"investors.db: 4096 bytes, the manifest says {made.manifest['databases']['investors']['bytes']}",
        "token-signing-key: missing",
    ]
    (made.directory / "manifest.json").unlink()
    with pytest.raises(backup.BackupError, match="did not finish"):
        backup.restore(hub, made.directory)
    untouched(hub)


def test_a_schema_this_version_does_not_know_is_refused(hub: Path, tmp_path: Path) -> None:
    made = backup.create(hub, tmp_path / "backup")
    path = made.directory / "companies.db"
    with closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    manifest = json.loads((made.directory / "manifest.json").read_text())  # a consistent, newer backup
    entry = manifest["databases"]["companies"]
    entry |= {"schema_revision": "0099", "bytes": path.stat().st_size}
    entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (made.directory / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(backup.BackupError) as refused:
        backup.restore(hub, made.directory)
    [problem] = refused.value.problems
    assert "schema revision 0099 is unknown to this version of the hub" in problem
    untouched(hub)


def test_a_restore_is_refused_while_the_hub_holds_the_data_directory(hub: Path, tmp_path: Path) -> None:
    made = backup.create(hub, tmp_path / "backup")
    running = DataDirLock(hub)
    assert running.acquire("hub")
    try:
        assert DataDirLock(hub).held_elsewhere()
        with pytest.raises(backup.HubRunning, match="the hub is running"):
            backup.restore(hub, made.directory)
        untouched(hub)
    finally:
        running.release()
    assert not DataDirLock(hub).held_elsewhere()


def test_a_backup_wants_a_new_directory_and_hub_data(hub: Path, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").touch()
    with pytest.raises(backup.BackupError, match="not empty"):
        backup.create(hub, tmp_path / "full")
    with pytest.raises(backup.BackupError, match="has the hub run there"):
        backup.create(tmp_path / "nothing", tmp_path / "backup")


def test_a_backup_on_postgresql_says_at_once_what_to_use_instead(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """PostgreSQL's databases are backed up with PostgreSQL's tools; the keys of the data directory still
    have to be copied, and the message names both (never the password)."""
    monkeypatch.setenv("HUB_DATABASE_URL", "postgresql+asyncpg://hub:pw-secret@db.internal:5433/hub_{service}")
    with pytest.raises(backup.BackupError) as refused:
        backup.create(tmp_path, tmp_path / "backup")
    message = str(refused.value)
    assert "`pg_dump -Fc -f companies.dump -h db.internal -p 5433 -U hub hub_companies`" in message
    assert "HUB_DATABASE_URL=" in message and "pw-secret" not in message
    assert all(key in message for key in backup.KEYS)
    assert not (tmp_path / "backup").exists()
