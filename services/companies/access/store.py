"""The register of access tokens (tables.access_tokens): its queries, returning domain objects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import keyset_after
from hubcore.rows import Rows
from services.companies.access.domain import IssuedToken
from services.companies.tables import access_tokens

TOKENS = Rows(access_tokens, IssuedToken)  # the id is the token's own (not generated)

get_token = TOKENS.get
insert_token = TOKENS.insert


async def save_revocation(conn: AsyncConnection, token: IssuedToken) -> None:
    await conn.execute(
        access_tokens.update()
        .where(access_tokens.c.id == token.id)
        .values(revoked_at=token.revoked_at, revoked_by=token.revoked_by, revoke_reason=token.revoke_reason)
    )


async def list_tokens(
    conn: AsyncConnection, *, roles: list[str] | None, show_revoked: bool, expired_before: datetime | None,
    after: Sequence[object] | None, limit: int,
) -> list[IssuedToken]:  # fmt: skip
    """Tokens in the order they were issued (then by id), after the position `after` (issued_at, id); of the
    roles if any; without the revoked unless show_revoked; without those expired at expired_before if given."""
    c = access_tokens.c
    columns = [c.issued_at, c.id]
    query = TOKENS.select().order_by(*columns).limit(limit)
    if roles is not None:
        query = query.where(c.role.in_(roles))
    if not show_revoked:
        query = query.where(c.revoked_at.is_(None))
    if expired_before is not None:
        query = query.where(c.expire_at > expired_before)
    if after is not None:
        query = query.where(keyset_after(columns, after, False))
    return await TOKENS.all(conn, query)
