"""AccessTokenService's input rules and roles: program managers only."""

from __future__ import annotations

from hub.ops.v1 import tokens_pb2 as pb

from hubcore.requests import Rules, length, required
from hubcore.server import ADMIN

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
