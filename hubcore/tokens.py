"""Signed access tokens: what they carry, how they are made and checked, and how a revocation reaches every
service.

A token is `hubat_<payload>.<mac>`: the payload is base64url JSON (version, key id, token id, subject, role,
the scope of a bound role, issued-at, expiry, in Unix seconds), the mac base64url HMAC-SHA256 over
`hubat_<payload>` with the hub's signing key. Any service checks one with the key alone, without asking the
issuer or reading its database. A revocation is the event hub.ops.access_token.revoked: every service's runtime
consumes it into its own `revoked_tokens` table (through the inbox, like any event) and keeps the ids in memory,
so a check never waits on I/O. A token lives at most 90 days, the stream's retention, so a service that starts
on an empty database still finds every revocation of a token that could still be used.

Signing keys rotate: HUB_TOKEN_SIGNING_KEY is a comma-separated list; the first signs, every one verifies.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from google.protobuf.message import Message
from hub.events.v1 import envelope_pb2
from hub.events.v1 import ops_pb2 as ev

from hubcore import errors
from hubcore.convert import as_utc
from hubcore.db import Database, UnitOfWork, now, revoked_tokens
from hubcore.events import ConsumerSpec

log = structlog.get_logger()

PREFIX = "hubat_"  # recognizable (secret scanners, logs) and never confused with partner keys (hubpk_)
ROLES = ("admin", "service", "founder", "mentor", "reviewer")
# Roles bound to one resource: the scope claim names it, and the interceptor admits such a caller only to what
# its method's policy binds to that resource (hubcore.calls.Bound). A founder of two companies holds two tokens.
SCOPED = {"founder": "companies", "mentor": "mentors", "reviewer": "reviewers"}
REVOKED_SUBJECT = "hub.ops.access_token.revoked"
ISSUED_SUBJECT = "hub.ops.access_token.issued"
DEFAULT_LIFETIME = timedelta(days=30)
SIGNED_IN_LIFETIME = timedelta(hours=8)  # a token got by sign-in: a working day, renewable while it lives
MAX_LIFETIME = timedelta(days=90)  # = the HUB stream's max_age: a live token's revocation is always in it
MIN_KEY_LENGTH = 32
MAX_TOKEN_LENGTH = 2048
CLOCK_SKEW = timedelta(minutes=5)  # a token issued "in the future" by less than this is a clock, not a forgery
_ID = re.compile(r"[a-z2-7]{16}")
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"


class TokenRefused(Exception):
    """Why a token is refused; the message never contains the token."""


@dataclass(frozen=True)
class Claims:
    id: str
    subject: str
    role: str
    issued_at: datetime
    expire_at: datetime
    scope: str = ""  # "companies/7" for a founder, "mentors/3" for a mentor, "reviewers/2"; "" for unscoped roles

    @property
    def name(self) -> str:
        return f"accessTokens/{self.id}"


def valid_scope(role: str, scope: str) -> bool:
    """A scoped role names exactly one resource of its collection; the others name none."""
    collection = SCOPED.get(role)
    if collection is None:
        return scope == ""
    prefix, _, number = scope.partition("/")
    return prefix == collection and number.isascii() and number.isdigit() and not number.startswith("0")


def new_token_id() -> str:
    """16 characters of base32 (80 random bits), never all digits, so `hubctl tokens revoke` tells it from a
    partner key's number."""
    while True:
        value = base64.b32encode(os.urandom(10)).decode().lower()
        if not value.isdigit():
            return value


def valid_id(token_id: str) -> bool:
    return bool(_ID.fullmatch(token_id))


def key_id(key: str) -> str:
    """Names a signing key without revealing it."""
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def check_keys(keys: Sequence[str]) -> None:
    for key in keys:
        if len(key) < MIN_KEY_LENGTH:
            raise ValueError(
                f"HUB_TOKEN_SIGNING_KEY: each key needs at least {MIN_KEY_LENGTH} characters "
                "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(key: str, signed: str) -> str:
    return _b64(hmac.new(key.encode(), signed.encode(), hashlib.sha256).digest())


def sign(claims: Claims, key: str) -> str:
    payload: dict[str, Any] = {
        "v": 1,
        "kid": key_id(key),
        "jti": claims.id,
        "sub": claims.subject,
        "role": claims.role,
        "iat": int(claims.issued_at.timestamp()),
        "exp": int(claims.expire_at.timestamp()),
    }
    if claims.scope:
        payload["scope"] = claims.scope
    signed = PREFIX + _b64(json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode())
    return f"{signed}.{_mac(key, signed)}"


def verify(token: str, keys: Sequence[str], when: datetime) -> Claims:
    """The token's claims if its signature holds and it has not expired; TokenRefused otherwise. Revocation
    is the caller's to check (TokenVerifier)."""
    if not token.startswith(PREFIX) or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        raise TokenRefused("the token is not valid")
    signed, mac = token.split(".")
    # The mac is checked before anything of the payload is read, and compared as text: any change to either
    # part, or a key this service does not hold, fails here.
    if not any(hmac.compare_digest(_mac(key, signed), mac) for key in keys):
        raise TokenRefused("the token is not valid")
    encoded = signed[len(PREFIX) :]  # the padding depends on the payload's length alone, not the prefix's
    try:
        payload = json.loads(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise TokenRefused("the token is not valid") from None
    try:
        claims = _claims(payload)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        raise TokenRefused("the token is not valid") from None
    if claims.issued_at > when + CLOCK_SKEW:
        raise TokenRefused("the token is not valid yet")
    if claims.expire_at - claims.issued_at > MAX_LIFETIME:
        # Checked here too, not only at issue: revocations are kept in the stream for MAX_LIFETIME, so a longer
        # token (signed by a leaked key or an old issuer) could outlive its own revocation.
        raise TokenRefused("the token is not valid (it lives longer than 90 days)")
    if when >= claims.expire_at:
        expired = claims.expire_at.strftime("%Y-%m-%d %H:%M UTC")
        raise TokenRefused(f"the token expired at {expired}; ask a program manager for a new one")
    return claims


def _claims(payload: dict[str, Any]) -> Claims:
    if payload["v"] != 1:
        raise ValueError("unknown version")
    token_id, subject, role, iat, exp = (payload[k] for k in ("jti", "sub", "role", "iat", "exp"))
    if not (isinstance(token_id, str) and _ID.fullmatch(token_id)) or not isinstance(subject, str):
        raise ValueError("bad id or subject")
    if role not in ROLES or type(iat) is not int or type(exp) is not int:
        raise ValueError("bad role or times")
    scope = payload.get("scope", "")
    if not isinstance(scope, str) or not valid_scope(role, scope):
        raise ValueError("bad scope")
    issued, expire = datetime.fromtimestamp(iat, UTC), datetime.fromtimestamp(exp, UTC)
    return Claims(token_id, subject, role, issued, expire, scope)


def expiry(requested: datetime | None, issued: datetime) -> datetime:
    """The expiry of a token issued at `issued`: 30 days by default, at most 90 days ahead."""
    if requested is None:
        return issued + DEFAULT_LIFETIME
    if requested <= issued:
        raise errors.invalid("access_token.expire_time", "must be in the future")
    if requested > issued + MAX_LIFETIME:
        raise errors.invalid("access_token.expire_time", "must be at most 90 days ahead")
    return requested


class TokenVerifier:
    """Checks signed tokens in a service: signature and expiry with the keys, revocation against the ids this
    service's database holds (kept in memory, refreshed from the database so replicas converge)."""

    def __init__(self, db: Database, keys: Sequence[str], clock: Callable[[], datetime] = now) -> None:
        check_keys(keys)
        self.db = db
        self.keys = tuple(keys)
        self.clock = clock
        self.revoked: dict[str, datetime] = {}  # token id -> its expiry (after which it is refused anyway)

    def check(self, token: str) -> Claims:
        """The claims of a token this service accepts; errors.Unauthenticated saying why not."""
        if not self.keys:
            raise errors.Unauthenticated("the token is not valid (this service has no signing key configured)")
        try:
            claims = verify(token, self.keys, self.clock())
        except TokenRefused as refused:
            raise errors.Unauthenticated(str(refused)) from None
        if claims.id in self.revoked:
            raise errors.Unauthenticated("the token was revoked; ask a program manager for a new one")
        return claims

    def remember(self, token_id: str, expire_at: datetime) -> None:
        self.revoked[token_id] = as_utc(expire_at)

    async def load(self) -> None:
        """Takes in the revocations of tokens not yet expired that the database holds (at start, then now
        and then: another replica's consumer may have written some)."""
        moment = self.clock()
        async with self.db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(revoked_tokens.c.token_id, revoked_tokens.c.expire_at).where(
                        revoked_tokens.c.expire_at > moment
                    )
                )
            ).all()
        fresh = {row.token_id: as_utc(row.expire_at) for row in rows}
        self.revoked = fresh | {k: v for k, v in self.revoked.items() if v > moment}

    async def refresh(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.load()
            except errors.Unavailable:
                log.warning("could not refresh revoked tokens; keeping the ones known")

    async def apply_revocation(self, uow: UnitOfWork, envelope: envelope_pb2.Envelope, payload: Message) -> None:
        """hub.ops.access_token.revoked: kept in this service's revoked_tokens, and refused from now on."""
        revoked: ev.AccessTokenRevoked = payload  # type: ignore[assignment]
        token_id = revoked.name.removeprefix("accessTokens/")
        expire_at = revoked.expire_time.ToDatetime(UTC) if revoked.HasField("expire_time") else now() + MAX_LIFETIME
        await record_revocation(uow, token_id, expire_at)
        # Refused in memory once it is in the table, so that what this process says matches what it keeps.
        uow.after_commit(lambda: self.remember(token_id, expire_at))

    def consumer(self, service: str) -> ConsumerSpec:
        return ConsumerSpec(
            durable=f"{service}-access-token-revocations", subjects=[REVOKED_SUBJECT], handler=self.apply_revocation
        )


async def record_revocation(uow: UnitOfWork, token_id: str, expire_at: datetime) -> None:
    """Adds a revocation to this service's revoked_tokens, once."""
    known = await uow.conn.execute(sa.select(revoked_tokens.c.token_id).where(revoked_tokens.c.token_id == token_id))
    if known.first() is None:
        await uow.conn.execute(revoked_tokens.insert().values(token_id=token_id, expire_at=expire_at, revoked_at=now()))
