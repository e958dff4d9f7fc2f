"""Rows <-> domain objects, for every store: a `Rows` is built once per (table, dataclass) at import and knows
which column fills which field and through which codec, so that a store declares only what is particular to
it (a renamed column, a JSON or minutes column, the columns it never writes) and its special queries.

Reading is a hot path: the mapping is worked out when the Rows is built; a row is then read with one
attrgetter and the few codecs the table has (every DateTime column reads as UTC, as SQLite drops the zone).
The stamps are the table's: insert sets created_at and updated_at where the table has them, save sets
updated_at; id is the table's autoincrement key (or, when it is not one, the object's own).
A save writes the whole row at the version it was read (save_versioned), as every store's save did for its
own columns.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import UTC as UTC_ZONE
from datetime import datetime, timedelta
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import Database, keyset_after, now, save_versioned
from hubcore.requests import PageTokens, Terms, next_page
from hubcore.resources import Numbered

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

T = TypeVar("T", bound="DataclassInstance")
N = TypeVar("N", bound=Numbered)
STAMPS = ("created_at", "updated_at")


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True)
class Codec:
    """How a field's value is stored: load reads the column's value, dump writes the field's."""

    load: Callable[[Any], Any] = _same
    dump: Callable[[Any], Any] = _same


def json_codec(load: Callable[[Any], Any] = _same, dump: Callable[[Any], Any] = _same, *, ascii: bool = False) -> Codec:
    """A JSON text column: load gets the decoded value, dump gives what to encode."""
    return Codec(lambda text: load(json.loads(text)), lambda value: json.dumps(dump(value), ensure_ascii=ascii))


def utc(value: datetime) -> datetime:
    """An instant as it is stored: in UTC (SQLite keeps the wall time it is given and drops the zone)."""
    return as_utc(value).astimezone(UTC_ZONE)


def insert_ignoring_conflict(conn: AsyncConnection, table: sa.Table, key: list[str]) -> Any:
    """INSERT … ON CONFLICT (key) DO NOTHING in the connection's dialect (two writers may insert at once)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=key)


async def update_or_insert(
    conn: AsyncConnection, table: sa.Table, key: Mapping[str, Any], values: Mapping[str, Any]
) -> None:
    """The row with this key takes the values, or is made with them when there is none (a row the caller's
    transaction has locked, or one writers replace in turn: two first inserts at once still collide)."""
    where = [table.c[column] == value for column, value in key.items()]
    if (await conn.execute(table.update().where(*where).values(values))).rowcount == 0:
        await conn.execute(table.insert().values({**key, **values}))


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


def minutes(span: timedelta) -> int:
    return int(span.total_seconds() // 60)


JSON = json_codec()  # lists and objects as they are
JSON_TUPLE = json_codec(tuple, list)  # a JSON list read as a tuple
UTC = Codec(_utc)  # what every DateTime column gets unless its field says otherwise
MINUTES = Codec(lambda count: timedelta(minutes=count), minutes)  # a timedelta as whole minutes
EMPTY_AS_NULL = Codec(lambda value: value or "", lambda value: value or None)  # "" as NULL (unique columns)


def any_of(*terms: tuple[sa.ColumnElement[Any], Collection[object] | None]) -> list[sa.ColumnElement[bool]]:
    """Conditions: the column holds one of the values, for each term that has values (None: not filtered)."""
    return [column.in_(values) for column, values in terms if values is not None]


def filtered_by(
    terms: Mapping[str, Collection[object]], columns: Mapping[str, sa.ColumnElement[Any]]
) -> list[sa.ColumnElement[bool]]:
    """A List's filter (hubcore.requests.parse_filter's terms: field -> values) as conditions: for each field
    given, its column holds one of the values. columns: field -> the column it filters on."""
    return any_of(*((column, terms.get(key)) for key, column in columns.items()))


@dataclass(frozen=True)
class TagIndex:
    """A list field (a company's tags, a mentor's expertise) mirrored into a table of (owner, tag) rows, so that
    queries can find the owners by tag."""

    table: sa.Table
    owner: str  # the column that holds the owner's id
    field: str  # the owner's field that lists its tags

    def owners(self, tag: object) -> sa.Select[Any]:
        """The ids of the owners tagged with tag (a subquery)."""
        return sa.select(self.table.c[self.owner]).where(self.table.c.tag == tag)

    async def write(self, conn: AsyncConnection, owner: Any, *, replace: bool) -> None:
        """Writes the owner's tags; replace: those it had are removed first."""
        if replace:
            await conn.execute(self.table.delete().where(self.table.c[self.owner] == owner.id))
        rows = [{self.owner: owner.id, "tag": tag} for tag in getattr(owner, self.field)]
        if rows:
            await conn.execute(self.table.insert(), rows)


class Rows(Generic[T]):
    """One table read into and written from one dataclass.

    columns: field -> column, where the names differ. codecs: field -> Codec (a DateTime column's default is
    UTC). read_only: fields read but never written by insert or save (a column another query maintains).
    tags: the index insert and save keep of a list field. A field with no column of its name is left to its
    default or to the caller (load's extra)."""

    def __init__(
        self,
        table: sa.Table,
        cls: type[T],
        *,
        columns: Mapping[str, str] | None = None,
        codecs: Mapping[str, Codec] | None = None,
        read_only: Collection[str] = (),
        tags: TagIndex | None = None,
    ) -> None:
        self.table, self.cls, self.tags = table, cls, tags
        columns, codecs = dict(columns or {}), dict(codecs or {})
        names = {f.name for f in fields(cls)}
        unknown = (set(columns) | set(codecs) | set(read_only)) - names
        if unknown:
            raise TypeError(f"{cls.__name__} has no fields {sorted(unknown)}")
        read = [(f.name, columns.get(f.name, f.name)) for f in fields(cls) if columns.get(f.name, f.name) in table.c]
        for name, column in read:
            if name not in codecs and isinstance(table.c[column].type, sa.DateTime):
                codecs[name] = UTC
        self.fields = tuple(name for name, _ in read)
        self._get = attrgetter(*(column for _, column in read))
        self._loads = tuple((i, codecs[name].load) for i, name in enumerate(self.fields) if name in codecs)
        # The key is the database's when it is a number (autoincrement), else the object's (written).
        key = table.c.id if "id" in table.c else None
        auto = key is not None and key.autoincrement == "auto" and isinstance(key.type, sa.Integer)
        generated = key is not None and (key.autoincrement is True or auto)
        self._key = key if generated else None
        self._returns_id = generated and "id" in names
        # What insert and save write: every column with a field or a property of its name (search_text), but
        # the generated key, the stamps and the read-only fields.
        by_column = {column: name for name, column in read}
        written = [
            (column.name, by_column.get(column.name, column.name))
            for column in table.c
            if column is not self._key and column.name not in STAMPS
            and by_column.get(column.name, column.name) not in read_only
            and (column.name in by_column or isinstance(getattr(cls, column.name, None), property))
        ]  # fmt: skip
        self._written = tuple((column, attrgetter(name), codecs[name].dump if name in codecs else None)
                              for column, name in written)  # fmt: skip
        self._column_of = dict(read)
        self._dump_of = {name: codec.dump for name, codec in codecs.items()}
        self._stamps = tuple(s for s in STAMPS if s in table.c)
        # Built once: compiling an INSERT per call cost ~0.1 ms inside the write transaction (SQLite's one writer).
        self._insert = table.insert().returning(table.c.id) if self._returns_id else table.insert()
        # And the read by id, the commonest read: building `id == ?` per call cost ~20 us of a 0.1 ms read.
        self._by_id = self.select(table.c.id == sa.bindparam("row_id")) if "id" in table.c else None
        self._stamped = tuple(s for s in self._stamps if s in names)  # the stamps the object shows

    # Mapping

    def load(self, row: Any, **extra: Any) -> T:
        """The domain object of a row (any row with the table's columns); extra fills fields it has no column for."""
        values = list(self._get(row)) if len(self.fields) > 1 else [self._get(row)]
        for i, load in self._loads:
            values[i] = load(values[i])
        return self.cls(**dict(zip(self.fields, values, strict=True)), **extra)

    def values(self, obj: T) -> dict[str, object]:
        """The columns insert and save write, from the object."""
        return {column: dump(get(obj)) if dump else get(obj) for column, get, dump in self._written}

    def columns_of(self, changes: Mapping[str, object]) -> dict[str, object]:
        """Some fields' new values as the columns that hold them (a partial update)."""
        return {self._column_of[f]: self._dump_of[f](v) if f in self._dump_of else v for f, v in changes.items()}

    # Reading

    def select(self, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
        return sa.select(self.table).where(*where)

    async def all(self, conn: AsyncConnection, query: sa.Select[Any]) -> list[T]:
        return [self.load(row) for row in await conn.execute(query)]

    async def first(self, conn: AsyncConnection, *where: sa.ColumnElement[bool]) -> T | None:
        row = (await conn.execute(self.select(*where))).first()
        return self.load(row) if row else None

    async def get(self, conn: AsyncConnection, row_id: Any, *, lock: bool = False) -> T | None:
        """lock: FOR UPDATE on PostgreSQL (SQLite's writes are serialized anyway)."""
        assert self._by_id is not None, f"{self.table.name} has no id column"
        query = self._by_id.with_for_update() if lock else self._by_id  # a locked read is a write's, rarer
        row = (await conn.execute(query, {"row_id": row_id})).first()
        return self.load(row) if row else None

    async def by_ids(self, conn: AsyncConnection, ids: Iterable[Any]) -> dict[Any, T]:
        rows = await conn.execute(self.select(self.table.c.id.in_(set(ids))))
        return {row.id: self.load(row) for row in rows}

    def page(
        self, *where: sa.ColumnElement[bool], after: int | None, limit: int, descending: bool = False
    ) -> sa.Select[Any]:
        """One keyset page in id order: the rows after the id `after` (None: from the start) that meet every
        condition, at most limit of them."""
        key = self.table.c.id
        query = self.select(*where).order_by(key.desc() if descending else key).limit(limit)
        return query if after is None else query.where(keyset_after([key], [after], descending))

    async def list(
        self, conn: AsyncConnection, *where: sa.ColumnElement[bool], after: int | None, limit: int,
        descending: bool = False,
    ) -> list[T]:  # fmt: skip
        return await self.all(conn, self.page(*where, after=after, limit=limit, descending=descending))

    async def count(self, conn: AsyncConnection, *where: sa.ColumnElement[bool]) -> int:
        query = sa.select(sa.func.count()).select_from(self.table).where(*where)
        return int((await conn.execute(query)).scalar_one())

    # Writing

    async def insert(self, conn: AsyncConnection, obj: T, **columns: object) -> T:
        """Inserts the object, stamped (and columns it has no field for); the object with its new id and stamps."""
        stamp = now()
        unknown = set(columns) - set(self.table.c.keys())
        if unknown:  # the statement is prebuilt, so a mistyped column would otherwise be dropped silently
            raise KeyError(f"{self.table.name} has no columns {sorted(unknown)}")
        values = self.values(obj) | dict.fromkeys(self._stamps, stamp) | columns
        changes = dict.fromkeys(self._stamped, stamp)
        if self._returns_id:
            changes["id"] = (await conn.execute(self._insert, values)).scalar_one()
        else:
            await conn.execute(self._insert, values)
        obj = replace(obj, **changes) if changes else obj
        if self.tags:
            await self.tags.write(conn, obj, replace=False)
        return obj

    async def insert_all(self, conn: AsyncConnection, objs: Sequence[T]) -> Sequence[T]:
        """Inserts the objects, stamped, in as few statements as the driver batches (SQLAlchemy's
        insertmanyvalues); the objects with their new ids and stamps, in the order given."""
        assert not self.tags, f"{self.table.name}: insert_all writes no tags"
        if not objs:
            return ()
        stamp = now()
        rows = [self.values(obj) | dict.fromkeys(self._stamps, stamp) for obj in objs]
        changes: dict[str, Any] = dict.fromkeys(self._stamped, stamp)
        if not self._returns_id:
            await conn.execute(self.table.insert(), rows)
            return [replace(obj, **changes) for obj in objs]
        statement = self.table.insert().returning(self.table.c.id, sort_by_parameter_order=True)
        ids = (await conn.execute(statement, rows)).scalars().all()
        return [replace(obj, id=i, **changes) for obj, i in zip(objs, ids, strict=True)]

    async def insert_many(self, conn: AsyncConnection, objs: Iterable[T], **columns: object) -> None:
        """Inserts the objects (with the same columns they have no field for), stamped, in one statement."""
        stamps = dict.fromkeys(self._stamps, now())
        rows = [self.values(obj) | stamps | columns for obj in objs]
        if rows:
            await conn.execute(self.table.insert(), rows)

    async def save(self, conn: AsyncConnection, obj: T, *, expected_version: int) -> T:
        """Writes the object over its row if the row is still at expected_version (else StaleWrite)."""
        entity: Any = obj
        stamp = {"updated_at": now()} if "updated_at" in self._stamps else {}
        await save_versioned(conn, self.table, entity.id, expected_version, self.values(obj) | stamp, name=entity.name)
        if self.tags:
            await self.tags.write(conn, obj, replace=True)
        return replace(obj, **stamp) if "updated_at" in self._stamped else obj


async def add_counts(conn: AsyncConnection, table: sa.Table, keys: Sequence[str], rows: list[dict[str, Any]]) -> None:
    """Adds each row's numbers to the row of its keys, inserting it if there is none, in one statement:
    concurrent writers (another replica, another transaction) add up instead of overwriting each other."""
    if not rows:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(table)
    added = {name: table.c[name] + insert.excluded[name] for name in rows[0] if name not in keys}
    await conn.execute(insert.on_conflict_do_update(index_elements=[table.c[k] for k in keys], set_=added), rows)


async def upsert_newer(
    conn: AsyncConnection, table: sa.Table, key: Mapping[str, object], values: Mapping[str, object]
) -> bool:
    """Applies a snapshot (values, with its "version") to the row of key if it is newer than the one held
    (events may arrive out of order), inserting the row if there is none; returns whether it did."""
    where = [table.c[name] == value for name, value in key.items()]
    current = (await conn.execute(sa.select(table.c.version).where(*where))).scalar_one_or_none()
    if current is None:
        await conn.execute(table.insert().values({**key, **values}))
        return True
    if values["version"] > current:
        await conn.execute(table.update().where(*where).values(values))
        return True
    return False


# Pages of a List in id order (keyset, AIP-158)

Fetch = Callable[[AsyncConnection, int | None, int], Awaitable[list[N]]]
Filtered = Callable[[AsyncConnection, Terms, int | None, int], Awaitable[list[N]]]


async def keyset_page(
    query: str, token: str, size: int, fetch: Callable[[int | None, int], Awaitable[Sequence[N]]]
) -> tuple[list[N], str]:
    """One page of a List by id (keyset paging): fetch(after id or None, limit) reads size + 1 rows after the last
    id the token carries; returns the page and the next page's token, bound to the query ("" on the last page)."""
    after = PageTokens.decode(token, query, (int,))
    found = await fetch(None if after is None else after[0], size + 1)
    page, following = next_page(found, size, query, lambda row: [row.id])
    return list(page), following


async def paged(db: Database, query: str, token: str, size: int, fetch: Fetch[N]) -> tuple[list[N], str]:
    """keyset_page in one read: fetch(conn, after id or None, limit)."""
    async with db.read() as conn:
        return await keyset_page(query, token, size, lambda after, limit: fetch(conn, after, limit))


async def filtered(db: Database, terms: Terms, token: str, size: int, fetch: Filtered[N]) -> tuple[list[N], str]:
    """One page of a List whose store query takes the List's filter: fetch(conn, terms, after id or None, limit);
    the page token is bound to the terms."""
    return await paged(
        db, f"{sorted(terms.items())}", token, size, lambda conn, after, limit: fetch(conn, terms, after, limit)
    )
