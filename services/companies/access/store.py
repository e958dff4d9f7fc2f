"""The register of access tokens, identities, sign-in codes and the sign-in log (tables.py): their queries,
returning domain objects."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import keyset_after
from hubcore.rows import Rows, any_of
from services.companies.access.domain import ACTIVE, Identity, IssuedToken, SignInCode, SignInEvent
from services.companies.tables import access_tokens, identities, sign_in_codes, sign_in_events

TOKENS = Rows(access_tokens, IssuedToken)  # the id is the token's own (not generated)
IDENTITIES = Rows(identities, Identity)
CODES = Rows(sign_in_codes, SignInCode)
EVENTS = Rows(sign_in_events, SignInEvent)

get_token = TOKENS.get
insert_token = TOKENS.insert
get_identity = IDENTITIES.get
insert_identity = IDENTITIES.insert
insert_code = CODES.insert
log_event = EVENTS.insert


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


async def live_tokens_of(conn: AsyncConnection, identity_id: int, when: datetime) -> list[IssuedToken]:
    """The identity's tokens neither revoked nor expired: those an ended identity must revoke."""
    c = access_tokens.c
    return await TOKENS.all(
        conn, TOKENS.select(c.identity_id == identity_id, c.revoked_at.is_(None), c.expire_at > when).order_by(c.id)
    )


# Identities


async def active_identity(conn: AsyncConnection, email: str, role: str, scope: str) -> Identity | None:
    c = identities.c
    return await IDENTITIES.first(conn, c.email == email, c.role == role, c.scope == scope, c.state == ACTIVE)


async def active_identities_of(conn: AsyncConnection, email: str) -> list[Identity]:
    c = identities.c
    return await IDENTITIES.all(conn, IDENTITIES.select(c.email == email, c.state == ACTIVE).order_by(c.id))


async def active_identities_of_person(conn: AsyncConnection, person_id: int) -> list[Identity]:
    c = identities.c
    return await IDENTITIES.all(conn, IDENTITIES.select(c.person_id == person_id, c.state == ACTIVE).order_by(c.id))


async def active_identities_of_scope(conn: AsyncConnection, scope: str) -> list[Identity]:
    c = identities.c
    return await IDENTITIES.all(conn, IDENTITIES.select(c.scope == scope, c.state == ACTIVE).order_by(c.id))


async def list_identities(
    conn: AsyncConnection, *, roles: list[str] | None, scopes: list[str] | None, states: list[str] | None,
    after: int | None, limit: int,
) -> list[Identity]:  # fmt: skip
    c = identities.c
    where = any_of((c.role, roles), (c.scope, scopes), (c.state, states))
    return await IDENTITIES.list(conn, *where, after=after, limit=limit)


async def save_identity(conn: AsyncConnection, identity: Identity, *fields: str) -> None:
    """Writes the named fields of an identity (its state and stamps change; what it binds never does)."""
    await conn.execute(
        identities.update()
        .where(identities.c.id == identity.id)
        .values(IDENTITIES.columns_of({name: getattr(identity, name) for name in fields}))
    )


# Codes


async def latest_code(conn: AsyncConnection, email: str) -> SignInCode | None:
    """The address's newest code: only it can be used (asking for a new code voids the ones before)."""
    c = sign_in_codes.c
    rows = await CODES.all(conn, CODES.select(c.email == email).order_by(c.created_at.desc(), c.id.desc()).limit(1))
    return rows[0] if rows else None


async def codes_since(conn: AsyncConnection, email: str, since: datetime) -> int:
    c = sign_in_codes.c
    return await CODES.count(conn, c.email == email, c.created_at > since)


async def use_code(conn: AsyncConnection, code: SignInCode, when: datetime) -> bool:
    """Marks the code used unless something else used it first: True if this call did."""
    c = sign_in_codes.c
    done = await conn.execute(sign_in_codes.update().where(c.id == code.id, c.used_at.is_(None)).values(used_at=when))
    return done.rowcount == 1


async def count_failure(conn: AsyncConnection, code: SignInCode) -> None:
    c = sign_in_codes.c
    await conn.execute(sign_in_codes.update().where(c.id == code.id).values(failed_attempts=c.failed_attempts + 1))


async def list_events(conn: AsyncConnection, *, email: str | None, after: int | None, limit: int) -> list[SignInEvent]:
    """The sign-in log, newest first."""
    where = [sign_in_events.c.email == email] if email else []
    return await EVENTS.list(conn, *where, after=after, limit=limit, descending=True)


async def forget_address(conn: AsyncConnection, email: str) -> None:
    """Erasure: the address leaves identities (ended ones stay as tombstones), codes and the sign-in log."""
    await conn.execute(identities.update().where(identities.c.email == email).values(email="", display_name=""))
    await conn.execute(sign_in_codes.delete().where(sign_in_codes.c.email == email))
    await conn.execute(sign_in_events.update().where(sign_in_events.c.email == email).values(email=""))
