"""Each service's schema: a new database is made from its tables and stamped at the head; base and head
again; revisions after the baseline undo and redo to the same schema; a half-made database is refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.ext.asyncio import create_async_engine

from hubcore import migrate
from services.companies.__main__ import MIGRATIONS as COMPANIES_MIGRATIONS
from services.companies.tables import metadata as companies_metadata
from services.consulting.__main__ import MIGRATIONS as CONSULTING_MIGRATIONS
from services.consulting.store import metadata as consulting_metadata
from services.investors.__main__ import MIGRATIONS as INVESTORS_MIGRATIONS
from services.investors.store import metadata as investors_metadata
from services.notifications.__main__ import MIGRATIONS as NOTIFICATIONS_MIGRATIONS
from services.notifications.store import metadata as notifications_metadata
from services.playbooks.__main__ import MIGRATIONS as PLAYBOOKS_MIGRATIONS
from services.playbooks.store import metadata as playbooks_metadata

SERVICES = [
    pytest.param(COMPANIES_MIGRATIONS, companies_metadata, id="companies"),
    pytest.param(INVESTORS_MIGRATIONS, investors_metadata, id="investors"),
    pytest.param(CONSULTING_MIGRATIONS, consulting_metadata, id="consulting"),
    pytest.param(NOTIFICATIONS_MIGRATIONS, notifications_metadata, id="notifications"),
    pytest.param(PLAYBOOKS_MIGRATIONS, playbooks_metadata, id="playbooks"),
]


async def tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:
        names = await conn.run_sync(lambda c: set(sa.inspect(c).get_table_names()))
    await engine.dispose()
    return names - {"alembic_version"}


async def drift(url: str, metadata: sa.MetaData) -> list[object]:
    engine = create_async_engine(url)
    async with engine.connect() as conn:

        def compare(sync_conn: sa.Connection) -> list[object]:
            context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
            return list(compare_metadata(context, metadata))

        diff = await conn.run_sync(compare)
    await engine.dispose()
    return diff


@pytest.mark.parametrize(("migrations", "metadata"), SERVICES)
async def test_upgrade_downgrade_upgrade_and_no_drift(
    database_url: str, migrations: str, metadata: sa.MetaData
) -> None:
    assert await tables(database_url) == set()
    await migrate.upgrade(migrations, database_url)
    assert await tables(database_url) == set(metadata.tables)
    assert await drift(database_url, metadata) == [], "models and migrations differ: write a migration"
    # What an existing database goes through: the revisions after the baseline, down and up again.
    await migrate.downgrade(migrations, database_url, baseline_of(migrations))
    await migrate.upgrade(migrations, database_url)
    assert await drift(database_url, metadata) == [], "a revision after the baseline does not undo/redo cleanly"
    await migrate.downgrade(migrations, database_url)
    assert await tables(database_url) == set()
    await migrate.upgrade(migrations, database_url)
    assert await tables(database_url) == set(metadata.tables)


def baseline_of(migrations: str) -> str:
    (base,) = ScriptDirectory(migrations).get_bases()
    return base


@pytest.mark.parametrize(("migrations", "metadata"), SERVICES)
async def test_a_half_made_database_is_refused_not_stamped(
    database_url: str, migrations: str, metadata: sa.MetaData
) -> None:
    engine = create_async_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(lambda c: metadata.tables["outbox"].create(c))
    await engine.dispose()
    with pytest.raises(RuntimeError, match="no schema revision"):
        await migrate.upgrade(migrations, database_url)
    assert await tables(database_url) == {"outbox"}
