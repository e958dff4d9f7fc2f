"""Access tokens: proto <-> domain."""

from __future__ import annotations

from hub.events.v1 import ops_pb2 as ev
from hub.ops.v1 import tokens_pb2 as pb

from hubcore import errors, tokens
from hubcore.convert import timestamp
from services.companies.access.domain import IssuedToken


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


def issued_event(token: IssuedToken) -> ev.AccessTokenIssued:
    return ev.AccessTokenIssued(
        name=token.name, subject=token.subject, role=token.role.upper(), expire_time=timestamp(token.expire_at)
    )


def revoked_event(token: IssuedToken) -> ev.AccessTokenRevoked:
    return ev.AccessTokenRevoked(
        name=token.name,
        subject=token.subject,
        role=token.role.upper(),
        expire_time=timestamp(token.expire_at),
        reason=token.revoke_reason,
    )
