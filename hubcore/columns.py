"""The column kinds every service's tables are made of, so that a table reads as what it holds.

A column is NOT NULL unless it says `nullable=True` (the domain has no "unknown" for most fields), and
`default` is the database's default (a server default): what a row written before the column existed holds.
Ids are 64-bit on PostgreSQL and SQLite's INTEGER (its rowid alias, so autoincrement is the rowid's).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MOMENT = sa.DateTime(timezone=True)


def entity(name: str, metadata: sa.MetaData, *items: Any) -> sa.Table:
    """A table whose rows are numbered by the database: `id` first, then the items."""
    return sa.Table(name, metadata, sa.Column("id", ID, primary_key=True, autoincrement=True), *items)


def _column(name: str, kind: Any, *args: Any, default: str | None, nullable: bool, **options: Any) -> sa.Column[Any]:
    if default is not None:
        options["server_default"] = default
    if not options.get("primary_key"):
        options["nullable"] = nullable
    return sa.Column(name, kind, *args, **options)


def text(
    name: str, length: int | None = None, *, default: str | None = None, nullable: bool = False, **options: Any
) -> sa.Column[Any]:
    """VARCHAR(length), or TEXT without one (JSON documents are TEXT with default '[]' or '{}')."""
    kind = sa.String(length) if length else sa.Text
    return _column(name, kind, default=default, nullable=nullable, **options)


def number(
    name: str, *, big: bool = False, default: str | None = None, nullable: bool = False, **options: Any
) -> sa.Column[Any]:
    """An INTEGER, or a BIGINT for amounts (KRW) that outgrow 32 bits."""
    return _column(name, sa.BigInteger if big else sa.Integer, default=default, nullable=nullable, **options)


def moment(name: str, *, nullable: bool = False, **options: Any) -> sa.Column[Any]:
    """An instant, stored with its zone (read back as UTC: hubcore.convert.as_utc)."""
    return _column(name, MOMENT, default=None, nullable=nullable, **options)


def day(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return _column(name, sa.Date, default=None, nullable=nullable)


def flag(name: str) -> sa.Column[Any]:
    return _column(name, sa.Boolean, default=None, nullable=False)


def blob(name: str) -> sa.Column[Any]:
    return _column(name, sa.LargeBinary, default=None, nullable=False)


def ref(name: str, target: str | None = None, *, nullable: bool = False, **options: Any) -> sa.Column[Any]:
    """An id: of a row of this service (target "table.id", a foreign key) or of another's (no target)."""
    args = (sa.ForeignKey(target),) if target else ()
    return _column(name, ID, *args, default=None, nullable=nullable, **options)


def names() -> tuple[sa.Column[Any], ...]:
    """A person's or an organisation's Korean name and English name ("" if none; hubcore.resources.name_fields)."""
    return text("korean_name", 100), text("english_name", 100, default="")


def tag_table(name: str, metadata: sa.MetaData, owner: str, target: str) -> sa.Table:
    """A list field's tags, one (owner, tag) row each (hubcore.rows.TagIndex keeps them): with the index on the
    tag, "every owner tagged x" is an index lookup. owner: the owner's id column, target its "table.id"."""
    return sa.Table(
        name,
        metadata,
        ref(owner, target, primary_key=True),
        text("tag", 30, primary_key=True),
        sa.Index(f"ix_{name}_tag", "tag"),
    )


def versioned() -> tuple[sa.Column[Any], ...]:
    """When a row was made and last changed, and its version for optimistic updates (save_versioned)."""
    return moment("created_at"), moment("updated_at"), number("version")


def no_overlap(name: str, key: str, range_function: str, start: str, end: str) -> sa.schema.SchemaItem:
    """PostgreSQL refuses two rows of one key whose [start, end) ranges overlap (an exclusion constraint,
    SQLSTATE 23P01 for the second of two concurrent inserts). SQLite has none: its writers are serialized
    (BEGIN IMMEDIATE) and the store checks for an overlap in the inserting transaction. Needs btree_gist
    (with_btree_gist) for the = on plain values."""
    period = getattr(sa.func, range_function)(sa.column(start), sa.column(end), sa.literal_column("'[)'"))
    constraint = postgresql.ExcludeConstraint((key, "="), (period, "&&"), name=name, using="gist")
    return constraint.ddl_if(dialect="postgresql")


def with_btree_gist(metadata: sa.MetaData) -> sa.MetaData:
    """The metadata, creating the btree_gist extension (PostgreSQL only) before its tables."""
    ddl = sa.DDL("CREATE EXTENSION IF NOT EXISTS btree_gist").execute_if(dialect="postgresql")
    sa.event.listen(metadata, "before_create", ddl)
    return metadata
