"""Use cases of partner API keys: issue (with scopes and an expiry), list, rotate (a new secret, the old one
working on for an overlap), revoke, and find the key a secret belongs to."""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Iterable, Sequence
from datetime import datetime, timedelta

from hub.events.v1 import investors_pb2 as ev
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.convert import timestamp
from hubcore.db import Database, UnitOfWork, now
from hubcore.requests import Terms
from hubcore.rows import paged
from hubcore.settings import token_hash
from services.investors import convert, domain, store
from services.investors.usecases import SUBJECT
from services.investors.usecases.firms import load_partner


def new_secret() -> str:
    return domain.KEY_PREFIX + secrets.token_urlsafe(32)


async def issue_api_key(
    uow: UnitOfWork, partner_id: int, name: str, *, expire_at: datetime | None, description: str,
    scopes: Iterable[str] = (),
) -> tuple[domain.ApiKey, str]:  # fmt: skip
    """A new key for the partner, and its secret: shown once, only its hash is stored."""
    issued = now()
    expiry = domain.key_expiry(expire_at, issued)
    granted = domain.parse_scopes(scopes)
    secret = new_secret()
    partner = await load_partner(uow.conn, partner_id, name)
    key = domain.ApiKey(
        id=0,
        partner_id=partner.id,
        firm_id=partner.firm_id,
        prefix=secret[:12],
        expire_at=expiry,
        description=description.strip(),
        scopes=granted,
    )
    key = await store.insert_api_key(uow.conn, key, token_hash(secret))
    firm, expire_time = convert.ref("firms", key.firm_id), timestamp(key.expire_at)
    event = ev.ApiKeyIssued(name=key.name, partner=partner.name, firm=firm, expire_time=expire_time, scopes=granted)
    await uow.emit(f"{SUBJECT}.api_key.issued", key.name, 1, event)
    return key, secret


async def list_api_keys(
    db: Database, terms: Terms, show_revoked: bool, *, size: int, token: str
) -> tuple[Sequence[domain.ApiKey], str]:
    def fetch(conn: AsyncConnection, after: int | None, limit: int) -> Awaitable[list[domain.ApiKey]]:
        partners, firms = terms.get("partner"), terms.get("firm")
        return store.list_api_keys(
            conn, partner_ids=partners, firm_ids=firms, show_revoked=show_revoked, after=after, limit=limit
        )

    return await paged(db, f"{sorted(terms.items())}|{show_revoked}", token, size, fetch)


async def load_api_key(conn: AsyncConnection, key_id: int, name: str) -> domain.ApiKey:
    key = await store.get_api_key(conn, key_id)
    if key is None:
        raise errors.NotFound("ApiKey", name)
    return key


async def get_api_key(db: Database, key_id: int) -> domain.ApiKey:
    async with db.read() as conn:
        return await load_api_key(conn, key_id, f"apiKeys/{key_id}")


def _refs(key: domain.ApiKey) -> dict[str, str]:
    return {
        "name": key.name,
        "partner": convert.ref("partners", key.partner_id),
        "firm": convert.ref("firms", key.firm_id),
    }


async def rotate_api_key(
    uow: UnitOfWork, key_id: int, name: str, overlap: timedelta | None
) -> tuple[domain.ApiKey, str]:
    """A new secret for the key, shown once; the current one works until the overlap ends."""
    key = await load_api_key(uow.conn, key_id, name)
    secret = new_secret()
    rotated = key.rotate(now(), domain.rotation_overlap(overlap), secret[:12])
    if not await store.rotate_api_key(uow.conn, rotated, token_hash(secret), rotations_before=key.rotations):
        raise errors.Aborted(f"{name} was rotated by another request meanwhile; read it again")
    expiry = timestamp(rotated.previous_expire_at)
    event = ev.ApiKeyRotated(**_refs(rotated), previous_secret_expire_time=expiry)
    await uow.emit(f"{SUBJECT}.api_key.rotated", key.name, 1 + rotated.rotations, event)
    return rotated, secret


async def revoke_api_key(uow: UnitOfWork, key_id: int, name: str) -> domain.ApiKey:
    key = await load_api_key(uow.conn, key_id, name)
    revoked = key.revoke(now())
    await store.revoke_api_key(uow.conn, revoked)
    await uow.emit(f"{SUBJECT}.api_key.revoked", key.name, 2 + key.rotations, ev.ApiKeyRevoked(**_refs(key)))
    return revoked


async def key_by_secret(db: Database, secret: str) -> tuple[domain.ApiKey, bool] | None:
    """The key a secret belongs to, and whether it is the secret a rotation replaced."""
    async with db.read() as conn:
        return await store.api_key_by_hash(conn, token_hash(secret))
