"""Partner API keys and their use of the rate limit: queries that return domain objects."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.rows import JSON_TUPLE, Rows, any_of
from services.investors.domain import ApiKey
from services.investors.store.tables import api_keys, partner_key_usage

API_KEYS = Rows(api_keys, ApiKey, codecs={"scopes": JSON_TUPLE})  # and the hashes, which the object never holds

get_api_key = API_KEYS.get


async def api_key_by_hash(conn: AsyncConnection, key_hash: str) -> tuple[ApiKey, bool] | None:
    """The key whose current or previous secret has this hash, and whether it was the previous one."""
    c = api_keys.c
    query = sa.select(api_keys).where(sa.or_(c.key_hash == key_hash, c.previous_key_hash == key_hash))
    row = (await conn.execute(query)).first()
    if row is None:
        return None
    return API_KEYS.load(row), row.key_hash != key_hash


async def list_api_keys(
    conn: AsyncConnection,
    *,
    partner_ids: list[int] | None,
    firm_ids: list[int] | None,
    show_revoked: bool,
    after: int | None,
    limit: int,
) -> list[ApiKey]:
    c = api_keys.c
    where = any_of((c.partner_id, partner_ids), (c.firm_id, firm_ids))
    if not show_revoked:
        where.append(c.revoked_at.is_(None))
    return await API_KEYS.list(conn, *where, after=after, limit=limit)


async def insert_api_key(conn: AsyncConnection, key: ApiKey, key_hash: str) -> ApiKey:
    return await API_KEYS.insert(conn, key, key_hash=key_hash)


async def revoke_api_key(conn: AsyncConnection, key: ApiKey) -> None:
    await conn.execute(
        api_keys.update()
        .where(api_keys.c.id == key.id, api_keys.c.revoked_at.is_(None))
        .values(revoked_at=key.revoked_at)
    )


async def rotate_api_key(conn: AsyncConnection, key: ApiKey, key_hash: str, *, rotations_before: int) -> bool:
    """The new secret's hash becomes the key's, the current one its previous; False if another rotation won."""
    c = api_keys.c
    done = await conn.execute(
        api_keys.update()
        .where(c.id == key.id, c.rotations == rotations_before)
        .values(
            previous_key_hash=c.key_hash, key_hash=key_hash, prefix=key.prefix, rotated_at=key.rotated_at,
            previous_expire_at=key.previous_expire_at, rotations=key.rotations,
        )
    )  # fmt: skip
    return bool(done.rowcount)


async def count_key_call(conn: AsyncConnection, key_id: int, window: datetime, limit: int) -> int | None:
    """Counts a call of the key in the window if it has calls left: the calls made, this one included; None if
    the window's limit is reached. One atomic statement, so replicas counting at once never lose a count."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    if dialect is postgresql:
        # A count, not a record: its commit need not wait for the WAL's flush (a crash may forget the last few
        # milliseconds of counts, never a committed row of anything else).
        await conn.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
    insert = dialect.insert(partner_key_usage).values(api_key_id=key_id, window_start=window, calls=1)
    calls = partner_key_usage.c.calls
    upsert = insert.on_conflict_do_update(
        index_elements=[partner_key_usage.c.api_key_id, partner_key_usage.c.window_start],
        set_={"calls": calls + 1},
        where=calls < limit,
    ).returning(calls)
    return (await conn.execute(upsert)).scalar_one_or_none()


async def key_calls(conn: AsyncConnection, key_id: int, window: datetime) -> int:
    c = partner_key_usage.c
    query = sa.select(c.calls).where(c.api_key_id == key_id, c.window_start == window)
    return int((await conn.execute(query)).scalar_one_or_none() or 0)
