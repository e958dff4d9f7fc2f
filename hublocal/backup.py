"""Backup and restore of the embedded default (`make run`): each service's SQLite database, the hub's keys.

Create, while the hub runs or not:
- One consistent cut across the services' databases. The backup takes every database's write lock (BEGIN
  IMMEDIATE, in a fixed order; writers wait on their busy timeout for those milliseconds), opens a read
  transaction on each, and lets the write locks go. No commit can land in any database between those read
  snapshots, so an event a consumer has applied in the backup was committed by its source in the backup too.
- Each snapshot is copied with SQLite's online backup API (sqlite3.Connection.backup), never a file copy:
  WAL mode is on and the hub keeps writing. Readers do not block writers in WAL mode, so the copies do not
  stop the hub. Each copy is checked (PRAGMA quick_check) and made a single file (journal_mode=DELETE).
- The JetStream store is not copied. The databases are the record and every event stays in its service's
  outbox (DESIGN.md §3); a copy of the stream taken at another instant would hold events the restored
  databases never made, delivered to their consumers and to any consumer added later. The restore rebuilds
  the stream from the outboxes instead (below).
- manifest.json, written last: when, the data directory, and per file its size and sha256; per database
  the service, its schema revision, its outbox and processed-events counts. A backup without a manifest
  was interrupted and is refused.

Restore, with the hub stopped (refused while `make run` holds the data directory's lock):
- Verifies everything before touching anything: every file's size and sha256, each database's quick_check,
  its schema revision as in the manifest and known to this version's migrations (an older one is migrated
  on start; a newer one is refused).
- Moves the current databases (with their -wal and -shm), keys, seed markers and the JetStream store aside
  into `<data dir>/before-restore-<time>/`, then puts the backup's files in place.
- Marks every outbox row of the restored databases unpublished. On start each relay publishes its outbox
  in order into a new, empty stream HUB and the durable consumers are made again from its start: what a
  consumer had applied before the backup is in its processed_events and changes nothing; what it had not
  applied yet (in flight at the cut) is applied now, once.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from hubcore.db import client_options
from hubcore.settings import PROJECT_DIR, Settings, database_url
from hublocal.datadir import DataDirLock
from hublocal.settings import SERVICES

FORMAT = 1
KIND = "hub-crm-backup"
MANIFEST = "manifest.json"
# Files of the data directory besides the databases that a restored hub needs: the dev admin token, the key
# access tokens are signed with (every token issued would fail without it), the demo partner key, the
# partner API's local certificate (clients pin it), and the markers that say the demo was seeded.
KEYS = ["admin-token", "token-signing-key", "partner-key", "tls/partner.crt", "tls/partner.key"]
JETSTREAM = "nats/jetstream"
LOCK_SECONDS = 10.0  # how long the backup waits for a database's write lock


class BackupError(Exception):
    """A backup cannot be made or a restore cannot proceed; the message says why and what to do."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class HubRunning(BackupError):
    """A restore was asked while the hub runs on that data directory."""


@dataclass
class Result:
    directory: Path
    manifest: dict[str, Any]
    seconds: float
    aside: Path | None = None
    republish: dict[str, int] = field(default_factory=dict)


def sqlite_path(service: str, data_dir: Path) -> Path:
    """The SQLite file a service uses with this data directory (as Settings picks its database URL), or
    BackupError if it uses another database."""
    url = make_url(database_url(service, data_dir))
    if url.get_backend_name() != "sqlite":
        shown = f"{Settings.from_env(service).database_setting}={url.render_as_string(hide_password=True)}"
        raise BackupError(
            f"the {service} service uses {url.get_backend_name()} ({shown}), not SQLite: back it up with "
            f"`pg_dump -Fc -f {service}.dump {client_options(url)}{url.database}` (each service's database; or "
            f"pg_basebackup for all at one instant), and copy from {data_dir} the keys a "
            f"restored hub needs: {', '.join(KEYS)} (docs/operations.md, Backup and restore, PostgreSQL)"
        )
    return Path(str(url.database))


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def migrations(service: str) -> Path:
    return PROJECT_DIR / "services" / service / "migrations"


def known_revisions(service: str) -> tuple[set[str], str | None]:
    """The schema revisions this version of the code knows for a service, and its head."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(migrations(service)))
    return {r.revision for r in script.walk_revisions()}, script.get_current_head()


def _count(conn: sqlite3.Connection, sql: str) -> int:
    try:
        return int(conn.execute(sql).fetchone()[0])
    except sqlite3.OperationalError:  # a database from before the table existed
        return 0


def _describe(conn: sqlite3.Connection) -> dict[str, Any]:
    """What the manifest says of a database, read inside the snapshot being copied."""
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return {
        "schema_revision": row[0] if row else None,
        "outbox_events": _count(conn, "SELECT count(*) FROM outbox"),
        "outbox_unpublished": _count(conn, "SELECT count(*) FROM outbox WHERE published_at IS NULL"),
        "processed_events": _count(conn, "SELECT count(*) FROM processed_events"),
    }


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def consistent_snapshots(paths: dict[str, Path], lock_seconds: float = LOCK_SECONDS) -> Iterator[dict[str, Any]]:
    """A read transaction on each database, all opened while every database's write lock was held: one
    instant across them all. Yields the connections and how long writers were held back (ms)."""
    with ExitStack() as stack:
        readers: dict[str, sqlite3.Connection] = {}
        writers: list[sqlite3.Connection] = []
        started = time.monotonic()
        try:
            for path in paths.values():  # always the same order: two backups at once cannot deadlock
                writer = sqlite3.connect(path, timeout=lock_seconds, isolation_level=None)
                writers.append(writer)
                try:
                    writer.execute("BEGIN IMMEDIATE")
                except sqlite3.OperationalError as exc:
                    raise BackupError(
                        f"could not lock {path.name} for the cut within {lock_seconds:.0f} s: {exc}"
                    ) from exc
            for service, path in paths.items():
                reader = stack.enter_context(closing(sqlite3.connect(path, isolation_level=None)))
                reader.execute("BEGIN")
                reader.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot starts here
                readers[service] = reader
        finally:
            for writer in writers:
                if writer.in_transaction:
                    writer.execute("ROLLBACK")
                writer.close()
        held_ms = (time.monotonic() - started) * 1000
        yield {"readers": readers, "held_ms": held_ms}
        for reader in readers.values():
            reader.execute("ROLLBACK")


def create(data_dir: Path, directory: Path, services: list[str] | None = None) -> Result:
    """Backs the hub on data_dir up into directory (made, mode 0700; it must not hold files already)."""
    started = time.monotonic()
    data_dir = Path(data_dir).resolve()
    services = services or SERVICES
    paths = {service: sqlite_path(service, data_dir) for service in services}
    missing = [f"{s}: {p} does not exist" for s, p in paths.items() if not p.exists()]
    if missing:
        raise BackupError(f"no hub data in {data_dir}: has the hub run there?", missing)
    directory = Path(directory).resolve()
    if directory.exists() and any(directory.iterdir()):
        raise BackupError(f"{directory} is not empty: give a new directory for each backup")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    directory.chmod(0o700)  # personal data and the hub's keys
    manifest: dict[str, Any] = {
        "kind": KIND,
        "format": FORMAT,
        "created_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "data_dir": str(data_dir),
        "hub_running": DataDirLock(data_dir).held_elsewhere(),
        "databases": {},
        "files": {},
        "jetstream": {
            "copied": False,
            "why": "the databases are the record: a restore rebuilds stream HUB from every service's outbox",
        },
    }
    with consistent_snapshots(paths) as cut:
        manifest["writes_held_ms"] = round(cut["held_ms"], 1)
        for service, reader in cut["readers"].items():
            target = directory / f"{service}.db"
            entry = _describe(reader)
            with closing(sqlite3.connect(target, isolation_level=None)) as copy:
                reader.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
                check = copy.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                raise BackupError(f"the copy of {service}'s database fails quick_check: {check}")
            target.chmod(0o600)
            _fsync(target)
            manifest["databases"][service] = {
                "file": target.name,
                "service": service,
                "source": str(paths[service]),
                **entry,
                "bytes": target.stat().st_size,
                "sha256": sha256(target),
            }
    for name in [*KEYS, *sorted(p.name for p in data_dir.glob(".seeded-*"))]:
        source = data_dir / name
        if source.is_file():
            target = directory / name
            target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            shutil.copyfile(source, target)
            target.chmod(0o600)  # the data directory's files are the owner's alone (datadir.secure)
            _fsync(target)
            manifest["files"][name] = {"bytes": target.stat().st_size, "sha256": sha256(target)}
    manifest["seconds"] = round(time.monotonic() - started, 3)
    _write_json(directory / MANIFEST, manifest)
    return Result(directory, manifest, time.monotonic() - started)


def _write_json(path: Path, value: Any) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(value, ensure_ascii=False, indent=2) + "\n")
    _fsync(temporary)
    os.replace(temporary, path)
    _fsync(path.parent)


def read_manifest(directory: Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    if not path.exists():
        raise BackupError(f"{directory} has no {MANIFEST}: not a hub backup, or one that did not finish")
    try:
        manifest = json.loads(path.read_text())
    except ValueError as exc:
        raise BackupError(f"{path} is not valid JSON: {exc}") from exc
    if manifest.get("kind") != KIND or manifest.get("format") != FORMAT:
        raise BackupError(f"{path} is not a hub backup of format {FORMAT}")
    return dict(manifest)


def verify(directory: Path) -> dict[str, Any]:
    """Checks a backup without touching the hub: every file's size and checksum, every database's
    integrity and schema revision. Raises BackupError listing every problem."""
    directory = Path(directory).resolve()
    manifest = read_manifest(directory)
    problems = []
    entries = [(e["file"], e) for e in manifest["databases"].values()] + list(manifest["files"].items())
    for name, entry in entries:
        path = directory / name
        if not path.is_file():
            problems.append(f"{name}: missing")
        elif path.stat().st_size != entry["bytes"]:
            problems.append(f"{name}: {path.stat().st_size} bytes, the manifest says {entry['bytes']}")
        elif sha256(path) != entry["sha256"]:
            problems.append(f"{name}: sha256 differs from the manifest's (the file was changed or corrupted)")
    for service, entry in manifest["databases"].items():
        path = directory / entry["file"]
        if any(p.startswith(f"{entry['file']}:") for p in problems):
            continue
        if service not in SERVICES:
            problems.append(f"{entry['file']}: unknown service {service!r}")
            continue
        try:
            with closing(sqlite3.connect(f"file:{path}?mode=ro&immutable=1", uri=True)) as conn:
                check = conn.execute("PRAGMA quick_check").fetchone()[0]
                revision = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.DatabaseError as exc:
            problems.append(f"{entry['file']}: not a readable SQLite database ({exc})")
            continue
        revision = revision[0] if revision else None
        known, head = known_revisions(service)
        if check != "ok":
            problems.append(f"{entry['file']}: quick_check says {check}")
        if revision != entry["schema_revision"]:
            problems.append(
                f"{entry['file']}: schema revision {revision}, the manifest says {entry['schema_revision']}"
            )
        elif revision not in known:
            problems.append(
                f"{entry['file']}: schema revision {revision} is unknown to this version of the hub (its head is "
                f"{head}); restore it with the version of the hub that made it"
            )
    if problems:
        raise BackupError(f"the backup in {directory} is not sound; nothing was changed", problems)
    return manifest


def restore(data_dir: Path, directory: Path) -> Result:
    """Puts the backup in directory in place of the hub's data in data_dir; the hub must be stopped."""
    started = time.monotonic()
    data_dir = Path(data_dir).resolve()
    lock = DataDirLock(data_dir)
    if not lock.acquire("restore"):
        raise HubRunning(
            f"the hub is running on {data_dir} ({lock.holder()}): stop it first (Ctrl-C where `make run` runs), "
            "then restore; nothing was changed"
        )
    try:
        manifest = verify(directory)
        directory = Path(directory).resolve()
        targets = {s: sqlite_path(s, data_dir) for s in manifest["databases"]}
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        aside = data_dir / f"before-restore-{stamp}"
        aside.mkdir(mode=0o700)
        # Everything the restored hub would otherwise mix with the backup goes aside, nothing is deleted.
        current = [p for path in targets.values() for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"))]
        current += [data_dir / name for name in KEYS] + list(data_dir.glob(".seeded-*"))
        current += [data_dir / JETSTREAM]
        for path in current:
            if path.exists():
                relative = path.relative_to(data_dir) if path.is_relative_to(data_dir) else Path(path.name)
                (aside / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(path, aside / relative)
        for service, entry in manifest["databases"].items():
            _put(directory / entry["file"], targets[service], 0o600)
        for name in manifest["files"]:
            _put(directory / name, data_dir / name, 0o600)
        republish = {}
        for service, path in targets.items():
            with closing(sqlite3.connect(path, isolation_level=None)) as conn:
                conn.execute("BEGIN IMMEDIATE")
                count = conn.execute("UPDATE outbox SET published_at = NULL").rowcount
                conn.execute("COMMIT")
            republish[service] = count
        _write_json(aside / "restore.json", {"restored_from": str(directory), "manifest": manifest})
        return Result(directory, manifest, time.monotonic() - started, aside=aside, republish=republish)
    finally:
        lock.release()


def _put(source: Path, target: Path, mode: int) -> None:
    """Copies source to target through a temporary file in target's directory, then renames it."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(target.name + ".restoring")
    shutil.copyfile(source, temporary)
    temporary.chmod(mode)
    _fsync(temporary)
    os.replace(temporary, target)
    _fsync(target.parent)
