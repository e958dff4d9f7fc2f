"""AccessTokenService: program managers issue, list and revoke the signed access tokens every service verifies
(hubcore.tokens). This service keeps the register (who a token is for, its role, expiry, who issued and who
revoked it, and why): never the token. A revocation commits with its event (hub.ops.access_token.revoked),
which every service, this one included, applies to its own revoked_tokens."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import grpc
import sqlalchemy as sa
from hub.events.v1 import ops_pb2 as ev
from hub.ops.v1 import tokens_pb2 as pb
from hub.ops.v1 import tokens_pb2_grpc

from hubcore import errors, tokens
from hubcore.db import Database, as_utc, cursor_value, keyset_after, now, timestamp
from hubcore.requests import PageTokens, Rules, enum_short, length, page_size, parse_filter, required, short_value
from hubcore.server import ADMIN, caller
from services.companies import store

RULES: dict[type, Rules] = {
    pb.CreateAccessTokenRequest: Rules(
        {
            "access_token.subject": [required, length(1, 100)],
            "access_token.role": [required],
            "access_token.description": [length(0, 200)],
        }
    ),
    pb.ListAccessTokensRequest: Rules({"filter": [length(0, 200)]}),
    pb.RevokeAccessTokenRequest: Rules({"name": [required, length(1, 100)], "reason": [length(0, 500)]}),
}
ROLES: dict[str, frozenset[str]] = {}
DEFAULT_ROLES = frozenset({ADMIN})  # program managers only


@dataclass(frozen=True)
class IssuedToken:
    id: str
    subject: str
    role: str  # "admin" or "service", as the token carries it
    issued_at: datetime
    expire_at: datetime
    issued_by: str
    description: str = ""
    revoked_at: datetime | None = None
    revoked_by: str = ""
    revoke_reason: str = ""

    @property
    def name(self) -> str:
        return f"accessTokens/{self.id}"

    def revoke(self, when: datetime, by: str, reason: str) -> IssuedToken:
        if self.revoked_at is not None:
            raise errors.FailedPrecondition(f"{self.name} is already revoked", type_="REVOKED", subject=self.name)
        return replace(self, revoked_at=when, revoked_by=by, revoke_reason=reason)


def _row(row: Any) -> IssuedToken:
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


def token_pb(token: IssuedToken) -> pb.AccessToken:
    return pb.AccessToken(
        name=token.name,
        subject=token.subject,
        role=pb.AccessTokenRole.Value(f"ACCESS_TOKEN_ROLE_{token.role.upper()}"),
        description=token.description,
        expire_time=timestamp(token.expire_at),
        create_time=timestamp(token.issued_at),
        issued_by=token.issued_by,
        revoke_time=timestamp(token.revoked_at),
        revoked_by=token.revoked_by,
        revoke_reason=token.revoke_reason,
    )


def parse_token_name(name: str) -> str:
    token_id = name.removeprefix("accessTokens/")
    if not name.startswith("accessTokens/") or not tokens.valid_id(token_id):
        raise errors.invalid("name", "must look like accessTokens/<16 letters and digits>")
    return token_id


class AccessTokenApi(tokens_pb2_grpc.AccessTokenServiceServicer):
    def __init__(self, db: Database, verifier: tokens.TokenVerifier, keys: tuple[str, ...]) -> None:
        self.db = db
        self.verifier = verifier
        self.keys = keys

    async def CreateAccessToken(
        self, request: pb.CreateAccessTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.AccessToken:
        if not self.keys:
            raise errors.FailedPrecondition(
                "no token signing key is configured (HUB_TOKEN_SIGNING_KEY)", type_="CONFIGURATION", subject="tokens"
            )
        wanted = request.access_token
        role = enum_short(pb.AccessTokenRole, "ACCESS_TOKEN_ROLE", wanted.role).lower()
        issued = now()  # the token carries whole seconds; the register orders by the exact time
        requested = wanted.expire_time.ToDatetime(UTC) if wanted.HasField("expire_time") else None
        token = IssuedToken(
            id=tokens.new_token_id(),
            subject=wanted.subject.strip(),
            role=role,
            issued_at=issued,
            expire_at=tokens.expiry(requested, issued),
            issued_by=caller().actor,
            description=wanted.description.strip(),
        )
        claims = tokens.Claims(token.id, token.subject, token.role, token.issued_at, token.expire_at)
        async with self.db.write(actor=caller().actor) as uow:
            await uow.conn.execute(
                store.access_tokens.insert().values(
                    id=token.id,
                    subject=token.subject,
                    role=token.role,
                    description=token.description,
                    issued_at=token.issued_at,
                    expire_at=token.expire_at,
                    issued_by=token.issued_by,
                )
            )
            await uow.emit(
                tokens.ISSUED_SUBJECT,
                token.name,
                1,
                ev.AccessTokenIssued(
                    name=token.name,
                    subject=token.subject,
                    role=token.role.upper(),
                    expire_time=timestamp(token.expire_at),
                ),
            )
        response = token_pb(token)
        response.secret = tokens.sign(claims, self.keys[0])  # shown once: the register keeps what it says
        return response

    async def ListAccessTokens(
        self, request: pb.ListAccessTokensRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListAccessTokensResponse:
        size = page_size(request.page_size)
        terms = parse_filter(request.filter, {"role": short_value(pb.AccessTokenRole, "ACCESS_TOKEN_ROLE")})
        query_key = f"{sorted(terms.items())}|{request.show_revoked}|{request.show_expired}"
        after = PageTokens.decode(request.page_token, query_key, (datetime, str))  # the id is base32 text
        c = store.access_tokens.c
        columns = [c.issued_at, c.id]
        query = sa.select(store.access_tokens).order_by(*columns).limit(size + 1)
        if "role" in terms:
            query = query.where(c.role.in_([r.lower() for r in terms["role"]]))
        if not request.show_revoked:
            query = query.where(c.revoked_at.is_(None))
        if not request.show_expired:
            query = query.where(c.expire_at > now())
        if after is not None:
            query = query.where(keyset_after(columns, after, False))
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        found = [_row(r) for r in rows]
        response = pb.ListAccessTokensResponse(access_tokens=[token_pb(t) for t in found[:size]])
        if len(found) > size:
            last = found[size - 1]
            response.next_page_token = PageTokens.encode(query_key, [cursor_value(last.issued_at), last.id])
        return response

    async def RevokeAccessToken(
        self, request: pb.RevokeAccessTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.AccessToken:
        token_id = parse_token_name(request.name)
        c = store.access_tokens.c
        async with self.db.write(actor=caller().actor) as uow:
            row = (await uow.conn.execute(sa.select(store.access_tokens).where(c.id == token_id))).first()
            if row is None:
                raise errors.NotFound("AccessToken", request.name)
            revoked = _row(row).revoke(now(), caller().actor, request.reason.strip())
            await uow.conn.execute(
                store.access_tokens.update()
                .where(c.id == token_id)
                .values(
                    revoked_at=revoked.revoked_at, revoked_by=revoked.revoked_by, revoke_reason=revoked.revoke_reason
                )
            )
            # Refused here at once; the event brings it to every other service (and to this one's consumer,
            # which finds it recorded).
            await tokens.record_revocation(uow, token_id, revoked.expire_at)
            await uow.emit(
                tokens.REVOKED_SUBJECT,
                revoked.name,
                2,
                ev.AccessTokenRevoked(
                    name=revoked.name,
                    subject=revoked.subject,
                    role=revoked.role.upper(),
                    expire_time=timestamp(revoked.expire_at),
                    reason=revoked.revoke_reason,
                ),
            )
        self.verifier.remember(token_id, revoked.expire_at)
        return token_pb(revoked)
