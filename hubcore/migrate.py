"""Alembic, driven from code: each service keeps its own migrations folder and version table."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config


def config(migrations: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations)))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    cfg.attributes["database_url"] = url
    return cfg


async def upgrade(migrations: str, url: str, revision: str = "head") -> None:
    # env.py runs its own event loop, so alembic runs in a worker thread.
    await asyncio.to_thread(command.upgrade, config(migrations, url), revision)


async def downgrade(migrations: str, url: str, revision: str = "base") -> None:
    await asyncio.to_thread(command.downgrade, config(migrations, url), revision)


def baseline(metadata: sa.MetaData) -> tuple[Callable[[], None], Callable[[], None]]:
    """upgrade() and downgrade() of a service's baseline revision (docs/decisions/0014-schema-baseline.md).

    A new database is never migrated: run_env creates it from the service's tables and stamps the head, so
    the baseline's upgrade runs only when something else has half-made the database, and says so. Its
    downgrade drops every table (later revisions have been undone by then, so checkfirst skips theirs)."""

    def upgrade() -> None:
        raise RuntimeError(
            "this database has some of the service's tables but no schema revision: it was not made by the hub; "
            "restore a backup or start from an empty database"
        )

    def downgrade() -> None:
        from alembic import op

        metadata.drop_all(op.get_bind())

    return upgrade, downgrade


def _is_new(connection: sa.Connection, metadata: sa.MetaData) -> bool:
    from alembic.migration import MigrationContext

    if MigrationContext.configure(connection).get_current_revision() is not None:
        return False
    existing = set(sa.inspect(connection).get_table_names())
    return not existing & set(metadata.tables)


def _to_head(context: Any) -> bool:
    destination = context.get_revision_argument()  # "head" comes resolved to the head's revision
    heads = tuple(context.script.get_heads())
    return (tuple(destination) if isinstance(destination, tuple) else (destination,)) == heads


def run_env(target_metadata: sa.MetaData) -> None:
    """The body of every service's migrations/env.py (online mode, async engine)."""
    from alembic import context
    from sqlalchemy.ext.asyncio import create_async_engine

    url = context.config.attributes.get("database_url") or context.config.get_main_option("sqlalchemy.url")
    version_table = "alembic_version"

    def run(connection: sa.Connection) -> None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table=version_table,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            if _is_new(connection, target_metadata) and _to_head(context):
                # The Alembic cookbook's "building an up to date database from scratch": the tables as
                # tables.py declares them, stamped at the head, rather than replaying history.
                target_metadata.create_all(connection)
                context.get_context().stamp(context.script, "heads")
            else:
                context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(str(url))
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())
