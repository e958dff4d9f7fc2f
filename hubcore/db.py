"""One async engine per service, the unit of work, and the runtime tables every service's schema holds.

SQLite: WAL, synchronous=FULL (WAL with NORMAL can roll back acknowledged commits after power loss),
a busy timeout, and BEGIN IMMEDIATE for writes (a deferred BEGIN that reads then writes gets SQLITE_BUSY
at once in WAL mode, ignoring the busy timeout). Reads begin deferred so they never queue behind writers.
Writers of one process queue in order on a lock before BEGIN IMMEDIATE (Database.begin), so SQLite's busy
handler only arbitrates between processes. SQLite reads run on the event loop itself, without aiosqlite's
thread (hubcore/sqlite.py: the connection settings and the reader engine).
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import sqlalchemy as sa
from google.protobuf import any_pb2
from google.protobuf.message import Message
from hub.events.v1 import envelope_pb2
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from hubcore import errors, sqlite, tracing
from hubcore.convert import as_utc
from hubcore.sqlite import READ_ONLY
from hubcore.text import normalize_text

R = TypeVar("R", bound=Message)  # a response message
WRITER_WAIT_SECONDS = 30.0  # SQLite: how long a write waits for the others (the same as busy_timeout)


def uuid7() -> str:
    """A time-ordered UUID (RFC 9562 v7): 48-bit milliseconds, version, 74 random bits."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80 | rand & ((1 << 80) - 1)
    value = value & ~(0xF << 76) | (0x7 << 76)  # version 7
    value = value & ~(0x3 << 62) | (0x2 << 62)  # RFC variant
    return str(uuid.UUID(int=value))


def now() -> datetime:
    return datetime.now(UTC)


def keyset_after(
    columns: Sequence[sa.ColumnElement[Any]], values: Sequence[Any], descending: bool
) -> sa.ColumnElement[bool]:
    """Rows strictly after a cursor position in (col1, col2, ...) order: stable under inserts."""
    col, rest = columns[0], columns[1:]
    value = values[0]
    beyond = col < value if descending else col > value
    if not rest:
        return beyond
    return sa.or_(beyond, sa.and_(col == value, keyset_after(rest, values[1:], descending)))


def contains(column: sa.ColumnElement[str], query: str) -> sa.ColumnElement[bool]:
    """A text search: the column (a search_text) holds the query, compared as normalize_text, with LIKE's own
    characters taken literally."""
    needle = normalize_text(query).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return column.like(f"%{needle}%", escape="\\")


async def save_versioned(
    conn: AsyncConnection,
    table: sa.Table,
    row_id: Any,
    expected_version: int,
    values: dict[str, Any],
    *,
    name: str,
    version: str = "version",
) -> None:
    """Writes values over a row only if it is still at the version we read (optimistic concurrency); otherwise
    another transaction won, and the caller gets ABORTED (StaleWrite) to read it again. `version` names the
    column that holds it (a part of a row versioned on its own has its own)."""
    result = await conn.execute(
        table.update().where(table.c.id == row_id, table.c[version] == expected_version).values(values)
    )
    if result.rowcount != 1:
        raise errors.StaleWrite(name)


def cursor_value(value: Any) -> Any:
    """A sort key as it travels in a page token (datetimes as ISO text)."""
    return as_utc(value).isoformat() if isinstance(value, datetime) else value


# The runtime's tables. Each service's first migration creates them (hubcore.migration_ops).
runtime_metadata = sa.MetaData()

outbox = sa.Table(
    "outbox",
    runtime_metadata,
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("event_id", sa.String(36), nullable=False, unique=True),
    sa.Column("subject", sa.String(200), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    sa.Index("ix_outbox_unpublished", "published_at", "seq"),
)

processed_events = sa.Table(
    "processed_events",
    runtime_metadata,
    sa.Column("consumer", sa.String(100), primary_key=True),
    sa.Column("event_id", sa.String(36), primary_key=True),
    sa.Column("processed_at", sa.DateTime(timezone=True), nullable=False),
)

dead_letters = sa.Table(
    "dead_letters",
    runtime_metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("consumer", sa.String(100), nullable=False),
    sa.Column("event_id", sa.String(36), nullable=False),
    sa.Column("event_type", sa.String(200), nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),
    sa.Column("error", sa.Text, nullable=False),
    sa.Column("deliveries", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
)

# The scope of the caller whose request is being served (a founder's companies/7, a partner's firms/3; "" for
# program managers and services), set by the call door: a request id names a retry of that caller's request only,
# so another party who learnt the id gets nothing of the first answer.
caller_scope: contextvars.ContextVar[str] = contextvars.ContextVar("caller_scope", default="")


def _scoped(method: str) -> str:
    scope = caller_scope.get()
    return f"{method}@{scope}" if scope else method


idempotency_keys = sa.Table(
    "idempotency_keys",
    runtime_metadata,
    sa.Column("method", sa.String(100), primary_key=True),
    sa.Column("request_id", sa.String(100), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("response", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

# Access tokens revoked (hubcore.tokens), as this service learnt of them from hub.ops.access_token.revoked.
revoked_tokens = sa.Table(
    "revoked_tokens",
    runtime_metadata,
    sa.Column("token_id", sa.String(64), primary_key=True),
    sa.Column("expire_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
)


def add_runtime_tables(metadata: sa.MetaData) -> None:
    """Copies the runtime's tables into a service's metadata, after its own: everything its migrations create."""
    for table in runtime_metadata.sorted_tables:
        table.to_metadata(metadata)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    if url.startswith("sqlite"):
        sqlite.private_file(url)
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_size=pool_size, max_overflow=0)
        sqlite.set_up(engine.sync_engine)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def is_unavailable(exc: BaseException) -> bool:
    """The database itself is down or locked, as opposed to a statement that is wrong."""
    if isinstance(exc, (OSError, ConnectionError)):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated or "locked" in str(exc.orig))


def client_options(url: sa.engine.URL) -> str:
    """`-h host -p port -U user ` for PostgreSQL's own tools (createdb, pg_dump), as far as the URL says."""
    options = [f"-h {url.host}"] * bool(url.host) + [f"-p {url.port}"] * bool(url.port)
    return "".join(f"{o} " for o in options + [f"-U {url.username}"] * bool(url.username))


def unusable_database(exc: BaseException, setting: str, url: str) -> str:
    """What to tell an operator whose database cannot be opened at start-up (it does not exist, nobody
    answers, the login is refused), in one line naming the setting; "" for any other error."""
    chain: list[BaseException] = []
    while exc is not None and exc not in chain:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    if not any(isinstance(x, (DBAPIError, OSError)) for x in chain):
        return ""
    parsed = sa.engine.make_url(url)
    shown = f"{setting}={parsed.render_as_string(hide_password=True)}"
    if any(getattr(x, "sqlstate", "") == "3D000" for x in chain):  # invalid_catalog_name
        createdb = f"createdb {client_options(parsed)}{parsed.database}"
        return f"the database {parsed.database} does not exist ({shown}): create it with `{createdb}`"
    first = str(chain[-1]).strip().splitlines()[0] if str(chain[-1]).strip() else type(chain[-1]).__name__
    return f"cannot open the database ({shown}): {first}"


@dataclass
class Event:
    subject: str
    subject_id: str
    version: int
    payload: Message


@dataclass
class UnitOfWork:
    """One write transaction: the state change, its events in the outbox, and idempotency records commit together."""

    conn: AsyncConnection
    source: str
    actor: str
    correlation_id: str = ""
    causation_id: str = ""
    events: list[Event] = field(default_factory=list)
    committed: list[Callable[[], None]] = field(default_factory=list)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Runs the callback once the transaction has committed (never if it rolls back): for what lives
        outside the database, such as a cache, and must not run ahead of it."""
        self.committed.append(callback)

    async def emit(self, subject: str, subject_id: str, version: int, payload: Message) -> str:
        event_id = uuid7()
        packed = any_pb2.Any()
        packed.Pack(payload)
        envelope = envelope_pb2.Envelope(
            id=event_id,
            type=subject,
            source=self.source,
            subject_id=subject_id,
            version=version,
            correlation_id=self.correlation_id or event_id,
            causation_id=self.causation_id,
            actor=self.actor,
            payload=packed,
            trace_context=tracing.carrier(),
        )
        envelope.occurred_at.GetCurrentTime()
        await self.conn.execute(
            outbox.insert().values(
                event_id=event_id, subject=subject, data=envelope.SerializeToString(), created_at=now()
            )
        )
        self.events.append(Event(subject, subject_id, version, payload))
        return event_id

    async def already_processed(self, consumer: str, event_id: str) -> bool:
        row = await self.conn.execute(
            sa.select(processed_events.c.event_id).where(
                processed_events.c.consumer == consumer, processed_events.c.event_id == event_id
            )
        )
        return row.first() is not None

    async def mark_processed(self, consumer: str, event_id: str) -> None:
        await self.conn.execute(
            processed_events.insert().values(consumer=consumer, event_id=event_id, processed_at=now())
        )


def request_fingerprint(request: Message) -> str:
    return hashlib.sha256(request.SerializeToString(deterministic=True)).hexdigest()


class Database:
    def __init__(self, url: str, *, source: str, pool_size: int = 10) -> None:
        self.url = url
        self.source = source
        self.engine = create_engine(url, pool_size=pool_size)
        self.is_sqlite = url.startswith("sqlite")
        self._reader = sqlite.reader(url, pool_size=pool_size) if self.is_sqlite else None
        self._on_commit: list[Callable[[], None]] = []
        # SQLite has one writer at a time. Writers of this process queue here, in arrival order, instead of
        # in SQLite's busy handler, which polls with sleeps of up to 100 ms and lets a late-comer win: at 16
        # writes in flight that alone made ScheduleSession's p99 over a second (docs/performance.md).
        self._writer = asyncio.Lock() if self.is_sqlite else None
        # Idempotency keys being worked on in this process: their lock and how many calls hold or await it.
        self._keys: dict[tuple[str, str], tuple[asyncio.Lock, int]] = {}

    @property
    def sync_engines(self) -> list[sa.Engine]:
        """Where statements are executed, for event listeners: the engine, and SQLite's reader beside it."""
        return [self.engine.sync_engine, *([self._reader] if self._reader is not None else [])]

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Called after every commit that wrote events (the relay's wake-up)."""
        self._on_commit.append(callback)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        if self._reader is not None:
            async with self._translate():
                with self._reader.connect() as conn, conn.execution_options(**{READ_ONLY: True}).begin():
                    # The stores take an AsyncConnection and use execute and dialect alone (test_shape).
                    yield cast(AsyncConnection, sqlite.LoopConnection(conn))
            return
        async with self._translate(), self.engine.connect() as async_conn:
            await async_conn.execution_options(**{READ_ONLY: True})
            async with async_conn.begin():
                yield async_conn

    @asynccontextmanager
    async def write(self, *, actor: str, correlation_id: str = "", causation_id: str = "") -> AsyncIterator[UnitOfWork]:
        async with self._translate(), self.begin() as conn:
            uow = UnitOfWork(conn, self.source, actor, correlation_id, causation_id)
            yield uow
        for done in uow.committed:
            done()
        if uow.events:
            for callback in self._on_commit:
                callback()

    @asynccontextmanager
    async def begin(self) -> AsyncIterator[AsyncConnection]:
        """A write transaction without a unit of work (the relay's marks, dead letters). On SQLite it waits
        for this process's other writers first, as long as the busy timeout would have (then UNAVAILABLE)."""
        if self._writer is None:
            async with self.engine.begin() as conn:
                yield conn
            return
        try:
            async with asyncio.timeout(WRITER_WAIT_SECONDS):
                await self._writer.acquire()
        except TimeoutError:
            raise errors.Unavailable("the database is busy; retry shortly") from None
        try:
            async with self.engine.begin() as conn:
                yield conn
        finally:
            self._writer.release()

    @asynccontextmanager
    async def _translate(self) -> AsyncIterator[None]:
        try:
            yield
        except (IntegrityError, errors.HubError):
            raise
        except (DBAPIError, OSError) as exc:
            if is_unavailable(exc):
                raise errors.Unavailable("the database is unavailable; retry shortly") from exc
            raise

    async def idempotent(
        self,
        method: str,
        request_id: str,
        request: Message,
        response_type: type[Message],
        work: Callable[[], Any],
    ) -> Any:
        """Runs work() once per (method, request_id): a retry gets the first response (AIP-155).

        The same request_id with a different request is INVALID_ARGUMENT, as Stripe does. work() must
        write its key with remember() in its own transaction, so the response and the change commit together.
        """
        if not request_id:
            return await work()
        fingerprint = request_fingerprint(request)
        method = _scoped(method)
        key = (method, request_id)
        # Duplicates in this process wait for the first (a client retrying in a loop, or ten at once); the
        # others (another replica) are settled after the fact, below.
        lock, users = self._keys.get(key, (asyncio.Lock(), 0))
        self._keys[key] = (lock, users + 1)
        try:
            async with lock:
                for _attempt in range(3):
                    stored = await self._stored_response(method, request_id)
                    if stored is not None:
                        if stored[0] != fingerprint:
                            raise errors.invalid("request_id", "was already used for a different request")
                        return response_type.FromString(stored[1])
                    try:
                        return await work()
                    except (IntegrityError, errors.HubError):
                        # A duplicate elsewhere may have committed first: its own effects then make this one
                        # fail (the slot it booked, the pair it introduced, its key). Its response is the answer.
                        if await self._stored_response(method, request_id) is None:
                            raise
        finally:
            lock, users = self._keys[key]
            if users == 1:
                del self._keys[key]
            else:
                self._keys[key] = (lock, users - 1)
        raise errors.Unavailable("could not settle the request; retry with the same request_id")

    async def create_once(
        self,
        method: str,
        request: Any,
        response_type: type[R],
        build: Callable[[UnitOfWork], Awaitable[R]],
        *,
        actor: str,
    ) -> R:
        """The idempotent create in one place: build(uow) makes the change and returns the response, which
        commits with the request's key (request.request_id) in the same transaction; a retry gets it back."""

        async def work() -> R:
            async with self.write(actor=actor) as uow:
                response = await build(uow)
                await remember(uow, method, request.request_id, request, response)
            return response

        result: R = await self.idempotent(method, request.request_id, request, response_type, work)
        return result

    async def _stored_response(self, method: str, request_id: str) -> tuple[str, bytes] | None:
        async with self.read() as conn:
            row = (
                await conn.execute(
                    sa.select(idempotency_keys.c.request_hash, idempotency_keys.c.response).where(
                        idempotency_keys.c.method == method, idempotency_keys.c.request_id == request_id
                    )
                )
            ).first()
        return (row[0], row[1]) if row else None

    async def close(self) -> None:
        await self.engine.dispose()
        if self._reader is not None:
            self._reader.dispose()


async def stored_responses(conn: AsyncConnection, method: str, request_ids: list[str]) -> dict[str, tuple[str, bytes]]:
    """The requests among request_ids already answered (a batch's items, each its own retry): by request id, the
    first request's fingerprint and response. One query, in the caller's transaction."""
    k, found = idempotency_keys.c, {}
    for start in range(0, len(request_ids), 500):
        chunk = [i for i in request_ids[start : start + 500] if i]
        rows = await conn.execute(
            sa.select(k.request_id, k.request_hash, k.response).where(
                k.method == _scoped(method), k.request_id.in_(chunk)
            )
        )
        found.update({row.request_id: (row.request_hash, row.response) for row in rows})
    return found


async def remember_many(uow: UnitOfWork, method: str, answered: list[tuple[str, Message, Message]]) -> None:
    """remember() for many requests (request_id, request, response) at once: one batched statement."""
    rows = [
        {"method": _scoped(method), "request_id": key, "request_hash": request_fingerprint(request),
         "response": response.SerializeToString(), "created_at": now()}
        for key, request, response in answered
        if key
    ]  # fmt: skip
    if rows:
        await uow.conn.execute(idempotency_keys.insert(), rows)


async def remember(uow: UnitOfWork, method: str, request_id: str, request: Message, response: Message) -> None:
    if request_id:
        await uow.conn.execute(
            idempotency_keys.insert().values(
                method=_scoped(method),
                request_id=request_id,
                request_hash=request_fingerprint(request),
                response=response.SerializeToString(),
                created_at=now(),
            )
        )
