"""Access tokens: proto <-> domain."""

from __future__ import annotations

from hub.events.v1 import ops_pb2 as ev
from hub.ops.v1 import tokens_pb2 as pb

from hubcore import errors, tokens
from hubcore.convert import Writer
from services.companies.access.domain import IssuedToken


def _role(token: IssuedToken) -> str:
    return token.role.upper()  # the token carries admin, the messages ADMIN


token_pb = Writer(
    pb.AccessToken,
    IssuedToken,
    rename={"create_time": "issued_at"},
    skip=("secret",),  # IssueAccessToken's answer sets it
    compute={"role": lambda t: pb.AccessTokenRole.Value(f"ACCESS_TOKEN_ROLE_{_role(t)}")},
)
issued_event = Writer(ev.AccessTokenIssued, IssuedToken, compute={"role": _role})
revoked_event = Writer(ev.AccessTokenRevoked, IssuedToken, rename={"reason": "revoke_reason"}, compute={"role": _role})


def parse_token_name(name: str) -> str:
    token_id = name.removeprefix("accessTokens/")
    if not name.startswith("accessTokens/") or not tokens.valid_id(token_id):
        raise errors.invalid("name", "must look like accessTokens/<16 letters and digits>")
    return token_id
