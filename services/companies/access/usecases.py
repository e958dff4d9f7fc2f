"""What AccessTokenService's methods do: issue a token (the register keeps what it says, the caller gets the
signed token once), list the register, revoke. A revocation commits with its event (hub.ops.access_token.revoked),
which every service, this one included, applies to its own revoked_tokens."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from hubcore import errors, tokens
from hubcore.db import Database, UnitOfWork, cursor_value, now
from hubcore.requests import PageTokens, next_page
from services.companies.access import store
from services.companies.access.convert import issued_event, revoked_event
from services.companies.access.domain import IssuedToken


async def issue_token(
    uow: UnitOfWork, *, subject: str, role: str, description: str, expire_at: datetime | None, keys: tuple[str, ...]
) -> tuple[IssuedToken, str]:
    """The token registered and its signed secret (shown once). expire_at: the one asked for, if any (capped)."""
    if not keys:
        raise errors.FailedPrecondition(
            "no token signing key is configured (HUB_TOKEN_SIGNING_KEY)", type_="CONFIGURATION", subject="tokens"
        )
    issued = now()  # the token carries whole seconds; the register orders by the exact time
    token = IssuedToken(
        id=tokens.new_token_id(),
        subject=subject,
        role=role,
        issued_at=issued,
        expire_at=tokens.expiry(expire_at, issued),
        issued_by=uow.actor,
        description=description,
    )
    claims = tokens.Claims(token.id, token.subject, token.role, token.issued_at, token.expire_at)
    await store.insert_token(uow.conn, token)
    await uow.emit(tokens.ISSUED_SUBJECT, token.name, 1, issued_event(token))
    return token, tokens.sign(claims, keys[0])


async def list_tokens(
    db: Database,
    *,
    terms: Mapping[str, Sequence[object]],
    show_revoked: bool,
    show_expired: bool,
    size: int,
    page_token: str,
) -> tuple[Sequence[IssuedToken], str]:
    """One page of the register (oldest first) and the next page's token. terms: the filter's (role)."""
    query_key = f"{sorted(terms.items())}|{show_revoked}|{show_expired}"
    after = PageTokens.decode(page_token, query_key, (datetime, str))  # the id is base32 text
    roles = [str(r).lower() for r in terms["role"]] if "role" in terms else None
    async with db.read() as conn:
        found = await store.list_tokens(
            conn, roles=roles, show_revoked=show_revoked,
            expired_before=None if show_expired else now(), after=after, limit=size + 1,
        )  # fmt: skip
    return next_page(found, size, query_key, lambda t: [cursor_value(t.issued_at), t.id])


async def revoke_token(uow: UnitOfWork, token_id: str, name: str, reason: str) -> IssuedToken:
    found = await store.get_token(uow.conn, token_id)
    if found is None:
        raise errors.NotFound("AccessToken", name)
    revoked = found.revoke(now(), uow.actor, reason)
    await store.save_revocation(uow.conn, revoked)
    # Refused here at once; the event brings it to every other service (and to this one's consumer, which finds
    # it recorded).
    await tokens.record_revocation(uow, token_id, revoked.expire_at)
    await uow.emit(tokens.REVOKED_SUBJECT, revoked.name, 2, revoked_event(revoked))
    return revoked
