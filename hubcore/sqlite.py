"""SQLite, as every service opens it: a private file, WAL, synchronous=FULL (WAL with NORMAL can roll back
acknowledged commits after power loss), a busy timeout, and BEGIN as hubcore.db says (IMMEDIATE for writes,
deferred for reads); and the engine that runs reads on the event loop itself."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event as sa_event

T = TypeVar("T")
READ_ONLY = "hub_read_only"  # an execution option: this transaction only reads (BEGIN, not BEGIN IMMEDIATE)


def private_file(url: str) -> None:
    """The database file of a SQLite URL exists, 0600, before SQLite opens it (none for :memory:): SQLite creates
    a new one 0644, and gives its -wal and -shm files the database's mode. A folder made for it is 0700; an
    existing one is left as it is."""
    path = Path(url.split("///", 1)[-1])
    if str(path) in ("", ".", ":memory:"):
        return
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))  # an empty file is an empty database
    for file in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if file.exists():
            file.chmod(0o600)


def set_up(engine: sa.Engine) -> None:
    """Every SQLite connection of an engine: WAL, synchronous=FULL, foreign keys; BEGIN as we say."""

    @sa_event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_conn.cursor()
        # The busy timeout first; and the journal mode set only when it is not WAL yet, since asking for
        # it needs a lock that another process opening the same file may hold ("database is locked").
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() != "wal":
            cursor.execute("PRAGMA journal_mode=WAL")
        for pragma in ("synchronous=FULL", "foreign_keys=ON"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @sa_event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        statement = "BEGIN" if read_only else "BEGIN IMMEDIATE"
        if engine.dialect.is_async:
            conn.exec_driver_sql(statement)
        else:  # sqlite3 itself, on the loop: microseconds, where a statement through the engine cost ~50 us
            raw: Any = conn.connection.dbapi_connection
            raw.execute(statement)


def reader(url: str, *, pool_size: int) -> sa.Engine:
    """The engine of SQLite reads, run on the event loop itself (Database.read). A read of a few rows costs
    microseconds in sqlite3; through aiosqlite it took about nine hops to its thread and back, each with a
    greenlet switch (0.32 ms against 6 us for a primary-key read, docs/performance.md). The pool grows
    instead of waiting (max_overflow=-1): a checkout that waited would block the loop, and with it the very
    reads that would give a connection back. The file is the write engine's, made private by create_engine."""
    plain = sa.make_url(url).set(drivername="sqlite")
    engine = sa.create_engine(
        plain, connect_args={"timeout": 30, "check_same_thread": False}, pool_size=pool_size, max_overflow=-1
    )
    set_up(engine)
    return engine


class LoopConnection:
    """A read transaction's connection on SQLite, awaited like an AsyncConnection: execute (and run_sync,
    which tests use) run at once on the loop; a result is the synchronous one, with the same methods."""

    def __init__(self, conn: sa.Connection) -> None:
        self._conn = conn
        self.dialect = conn.dialect

    async def execute(self, statement: Any, parameters: Any = None) -> Any:
        return self._conn.execute(statement, parameters)

    async def run_sync(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return fn(self._conn, *args, **kwargs)
