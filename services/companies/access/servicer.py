"""AccessTokenService: program managers issue, list and revoke the signed access tokens every service verifies
(hubcore.tokens). IdentityService: program managers invite founders, mentors and reviewers, who sign in with a
mailed code.
Parse, call one use case (usecases.py), convert (convert.py); rules and roles in policy.py."""

from __future__ import annotations

from datetime import UTC
from typing import TypeAlias

import grpc
from hub.ops.v1 import identities_pb2 as ipb
from hub.ops.v1 import identities_pb2_grpc, tokens_pb2_grpc
from hub.ops.v1 import tokens_pb2 as pb

from hubcore import errors, tokens
from hubcore.convert import timestamp
from hubcore.db import Database
from hubcore.requests import enum_short, page_size, parse_filter, parse_name, short_value
from hubcore.server import TokenBuckets, caller
from hubcore.servicing import Api, listed
from hubcore.text import email_address
from services.companies.access import usecases
from services.companies.access.convert import (
    identity_from_pb,
    identity_pb,
    parse_token_name,
    sign_in_event_pb,
    token_pb,
)
from services.companies.access.domain import IssuedToken
from services.companies.access.usecases import Issuer

Context: TypeAlias = grpc.aio.ServicerContext
SCOPED_ROLES = {role.upper() for role in tokens.SCOPED}


def with_secret(token: IssuedToken, secret: str) -> pb.AccessToken:
    response = token_pb(token)
    response.secret = secret  # shown once: the register keeps what it says
    return response


class AccessTokenApi(tokens_pb2_grpc.AccessTokenServiceServicer):
    def __init__(self, db: Database, verifier: tokens.TokenVerifier, keys: tuple[str, ...]) -> None:
        self.db = db
        self.verifier = verifier
        self.issuer = Issuer(keys, remember=verifier.remember)

    async def CreateAccessToken(self, request: pb.CreateAccessTokenRequest, context: Context) -> pb.AccessToken:
        wanted = request.access_token
        role = enum_short(pb.AccessTokenRole, "ACCESS_TOKEN_ROLE", wanted.role)
        if role in SCOPED_ROLES:
            raise errors.invalid("access_token.role", f"{role} tokens come from signing in (IdentityService)")
        expire_at = wanted.expire_time.ToDatetime(UTC) if wanted.HasField("expire_time") else None
        async with self.db.write(actor=caller().actor) as uow:
            token, secret = await usecases.issue_token(
                uow, subject=wanted.subject.strip(), role=role.lower(), description=wanted.description.strip(),
                expire_at=expire_at, keys=self.issuer.keys,
            )  # fmt: skip
        return with_secret(token, secret)

    async def ListAccessTokens(
        self, request: pb.ListAccessTokensRequest, context: Context
    ) -> pb.ListAccessTokensResponse:
        size = page_size(request.page_size)
        terms = parse_filter(request.filter, {"role": short_value(pb.AccessTokenRole, "ACCESS_TOKEN_ROLE")})
        found, token = await usecases.list_tokens(
            self.db, terms=terms, show_revoked=request.show_revoked, show_expired=request.show_expired, size=size,
            page_token=request.page_token,
        )  # fmt: skip
        return pb.ListAccessTokensResponse(access_tokens=[token_pb(t) for t in found], next_page_token=token)

    async def RevokeAccessToken(self, request: pb.RevokeAccessTokenRequest, context: Context) -> pb.AccessToken:
        token_id = parse_token_name(request.name)
        async with self.db.write(actor=caller().actor) as uow:
            revoked = await usecases.revoke_token(uow, token_id, request.name, request.reason.strip(), self.issuer)
        return token_pb(revoked)


IDENTITY_FILTER = {
    "role": short_value(ipb.IdentityRole, "IDENTITY_ROLE"),
    "scope": str.strip,
    "state": short_value(ipb.IdentityState, "IDENTITY_STATE"),
}


class IdentityApi(Api, identities_pb2_grpc.IdentityServiceServicer):
    """Asking for codes and signing in are open: each peer address may try `peers.burst` times at once and
    then `peers.rate` times a second, on top of the server's own limits (a code has a million values)."""

    def __init__(self, db: Database, issuer: Issuer, peers: TokenBuckets) -> None:
        super().__init__(db)
        self.issuer = issuer
        self.peers = peers

    async def CreateIdentity(self, request: ipb.CreateIdentityRequest, context: Context) -> ipb.Identity:
        wanted = identity_from_pb(request.identity)
        return identity_pb(await self._in_write(lambda uow: usecases.invite(uow, wanted, self.issuer)))

    async def ListIdentities(self, request: ipb.ListIdentitiesRequest, context: Context) -> ipb.ListIdentitiesResponse:
        async def fetch(terms: dict[str, list[object]], size: int, token: str) -> ipb.ListIdentitiesResponse:
            found, next_token = await usecases.list_identities(self.db, terms=terms, size=size, page_token=token)
            return ipb.ListIdentitiesResponse(identities=[identity_pb(i) for i in found], next_page_token=next_token)

        return await listed(request, IDENTITY_FILTER, fetch)

    async def RevokeIdentity(self, request: ipb.RevokeIdentityRequest, context: Context) -> ipb.Identity:
        identity_id = parse_name(request.name, "identities")
        reason = request.reason.strip() or "revoked by a program manager"
        ended = await self._in_write(
            lambda uow: usecases.revoke_identity(uow, identity_id, request.name, reason, self.issuer)
        )
        return identity_pb(ended)

    async def RequestSignInCode(
        self, request: ipb.RequestSignInCodeRequest, context: Context
    ) -> ipb.RequestSignInCodeResponse:
        peer = self._take_peer()
        email = email_address(request.email)
        async with self.db.write(actor=f"sign-in:{peer}") as uow:
            expire_at = await usecases.request_code(uow, email, self.issuer, peer)
        return ipb.RequestSignInCodeResponse(expire_time=timestamp(expire_at))

    async def SignIn(self, request: ipb.SignInRequest, context: Context) -> ipb.SignInResponse:
        peer = self._take_peer()
        email = email_address(request.email)
        async with self.db.write(actor=f"sign-in:{peer}") as uow:
            issued = await usecases.sign_in(uow, email, request.code.strip(), self.issuer, peer)
        if issued is None:  # refused after the failure committed (counted and logged)
            raise errors.Unauthenticated("the code is wrong, used or expired; ask for a new code")
        return ipb.SignInResponse(access_tokens=[with_secret(token, secret) for token, secret in issued])

    async def RenewAccessToken(self, request: ipb.RenewAccessTokenRequest, context: Context) -> pb.AccessToken:
        who = caller()
        token_id = who.id.removeprefix("accessTokens/")
        async with self.db.write(actor=who.actor) as uow:
            token, secret = await usecases.renew(uow, token_id, self.issuer, "")
        return with_secret(token, secret)

    async def SignOut(self, request: ipb.SignOutRequest, context: Context) -> pb.AccessToken:
        who = caller()
        async with self.db.write(actor=who.actor) as uow:
            return token_pb(await usecases.sign_out(uow, who.id, self.issuer, ""))

    async def ListSignInEvents(
        self, request: ipb.ListSignInEventsRequest, context: Context
    ) -> ipb.ListSignInEventsResponse:
        async def fetch(terms: dict[str, list[object]], size: int, token: str) -> ipb.ListSignInEventsResponse:
            found, next_token = await usecases.list_sign_in_events(self.db, terms=terms, size=size, page_token=token)
            events = [sign_in_event_pb(e) for e in found]
            return ipb.ListSignInEventsResponse(sign_in_events=events, next_page_token=next_token)

        return await listed(request, {"email": str.strip}, fetch)

    def _take_peer(self) -> str:
        peer = caller().id  # an open method's caller is its peer address
        if wait := self.peers.take(peer):
            raise errors.ResourceExhausted(
                f"too many sign-in attempts from your address; retry in {wait:.0f} s", retry_after=wait
            )
        return peer
