"""The register of access tokens (tables.access_tokens): its queries, returning domain objects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import keyset_after
from services.companies.access.domain import IssuedToken
from services.companies.tables import access_tokens


def to_token(row: sa.Row[tuple[object, ...]]) -> IssuedToken:
    return IssuedToken(
        id=row.id,
        subject=row.subject,
        role=row.role,
        issued_at=as_utc(row.issued_at),
        expire_at=as_utc(row.expire_at),
        issued_by=row.issued_by,
        description=row.description,
        revoked_at=as_utc(row.revoked_at) if row.revoked_at else None,
        revoked_by=row.revoked_by,
        revoke_reason=row.revoke_reason,
    )


async def insert_token(conn: AsyncConnection, token: IssuedToken) -> None:
    await conn.execute(
        access_tokens.insert().values(
            id=token.id,
            subject=token.subject,
            role=token.role,
            description=token.description,
            issued_at=token.issued_at,
            expire_at=token.expire_at,
            issued_by=token.issued_by,
        )
    )


async def get_token(conn: AsyncConnection, token_id: str) -> IssuedToken | None:
    row = (await conn.execute(sa.select(access_tokens).where(access_tokens.c.id == token_id))).first()
    return to_token(row) if row else None


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
    query = sa.select(access_tokens).order_by(*columns).limit(limit)
    if roles is not None:
        query = query.where(c.role.in_(roles))
    if not show_revoked:
        query = query.where(c.revoked_at.is_(None))
    if expired_before is not None:
        query = query.where(c.expire_at > expired_before)
    if after is not None:
        query = query.where(keyset_after(columns, after, False))
    return [to_token(r) for r in await conn.execute(query)]
