"""AccessTokenService: program managers issue, list and revoke the signed access tokens every service verifies
(hubcore.tokens). Parse, call one use case (usecases.py), convert (convert.py); rules and roles in policy.py."""

from __future__ import annotations

from datetime import UTC
from typing import TypeAlias

import grpc
from hub.ops.v1 import tokens_pb2 as pb
from hub.ops.v1 import tokens_pb2_grpc

from hubcore import tokens
from hubcore.db import Database
from hubcore.requests import enum_short, page_size, parse_filter, short_value
from hubcore.server import caller
from services.companies.access import usecases
from services.companies.access.convert import parse_token_name, token_pb

Context: TypeAlias = grpc.aio.ServicerContext


class AccessTokenApi(tokens_pb2_grpc.AccessTokenServiceServicer):
    def __init__(self, db: Database, verifier: tokens.TokenVerifier, keys: tuple[str, ...]) -> None:
        self.db = db
        self.verifier = verifier
        self.keys = keys

    async def CreateAccessToken(self, request: pb.CreateAccessTokenRequest, context: Context) -> pb.AccessToken:
        wanted = request.access_token
        role = enum_short(pb.AccessTokenRole, "ACCESS_TOKEN_ROLE", wanted.role).lower()
        expire_at = wanted.expire_time.ToDatetime(UTC) if wanted.HasField("expire_time") else None
        async with self.db.write(actor=caller().actor) as uow:
            token, secret = await usecases.issue_token(
                uow, subject=wanted.subject.strip(), role=role, description=wanted.description.strip(),
                expire_at=expire_at, keys=self.keys,
            )  # fmt: skip
        response = token_pb(token)
        response.secret = secret  # shown once: the register keeps what it says
        return response

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
            revoked = await usecases.revoke_token(uow, token_id, request.name, request.reason.strip())
        self.verifier.remember(token_id, revoked.expire_at)
        return token_pb(revoked)
