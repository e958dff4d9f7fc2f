"""Alembic, driven from code: each service keeps its own migrations folder and version table."""

from __future__ import annotations

import asyncio
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.operations import Operations


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


def create_runtime_tables_v1(op: Operations) -> None:
    """The runtime's tables as of schema v1, written out so that a later change to hubcore.db cannot
    rewrite history: a change gets a new function here and a migration in every service."""
    big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
    at = sa.DateTime(timezone=True)
    op.create_table(
        "outbox",
        sa.Column("seq", big_id, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("created_at", at, nullable=False),
        sa.Column("published_at", at, nullable=True),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "seq"])
    op.create_table(
        "processed_events",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("event_id", sa.String(36), primary_key=True),
        sa.Column("processed_at", at, nullable=False),
    )
    op.create_table(
        "dead_letters",
        sa.Column("id", big_id, primary_key=True, autoincrement=True),
        sa.Column("consumer", sa.String(100), nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("data", sa.LargeBinary, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("deliveries", sa.Integer, nullable=False),
        sa.Column("created_at", at, nullable=False),
        sa.Column("resolved_at", at, nullable=True),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("method", sa.String(100), primary_key=True),
        sa.Column("request_id", sa.String(100), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("response", sa.LargeBinary, nullable=False),
        sa.Column("created_at", at, nullable=False),
    )


def drop_runtime_tables_v1(op: Operations) -> None:
    for table in ("idempotency_keys", "dead_letters", "processed_events", "outbox"):
        op.drop_table(table)


def create_runtime_tables_v2(op: Operations) -> None:
    """Schema v2 of the runtime: the access tokens this service knows to be revoked (hubcore.tokens)."""
    op.create_table(
        "revoked_tokens",
        sa.Column("token_id", sa.String(64), primary_key=True),
        sa.Column("expire_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
    )


def drop_runtime_tables_v2(op: Operations) -> None:
    op.drop_table("revoked_tokens")


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
            context.run_migrations()

    async def main() -> None:
        engine = create_async_engine(str(url))
        async with engine.connect() as connection:
            await connection.run_sync(run)
            await connection.commit()
        await engine.dispose()

    asyncio.run(main())
