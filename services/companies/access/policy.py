"""AccessTokenService's and IdentityService's input rules and roles: program managers manage tokens and
identities; asking for a sign-in code and signing in are open (limited per peer); a signed-in founder, mentor
or reviewer renews their own token; anyone signed in signs out (their token revoked)."""

from __future__ import annotations

from typing import ClassVar

from hub.ops.v1 import identities_pb2 as ipb
from hub.ops.v1 import tokens_pb2 as pb

from hubcore.requests import Rules, email, length, matches, required
from hubcore.server import ADMIN, ANYONE, FOUNDER, MENTOR, REVIEWER, RolePolicy

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
ROLES: dict[str, RolePolicy] = {}
DEFAULT_ROLES = frozenset({ADMIN})  # program managers only


class Identities:
    """IdentityService's rules and roles (served beside AccessTokenService: Runtime.add_api takes this too)."""

    RULES: ClassVar[dict[type, Rules]] = {
        ipb.CreateIdentityRequest: Rules(
            {
                "identity.role": [required],
                "identity.email": [length(0, 200), email],
                "identity.display_name": [length(0, 100)],
                "identity.language": [length(0, 5)],
            }
        ),
        ipb.ListIdentitiesRequest: Rules({"filter": [length(0, 200)]}),
        ipb.ListSignInEventsRequest: Rules({"filter": [length(0, 250)]}),
        ipb.RevokeIdentityRequest: Rules({"name": [required, length(1, 40)], "reason": [length(0, 500)]}),
        ipb.RequestSignInCodeRequest: Rules({"email": [required, length(3, 200), email]}),
        ipb.SignInRequest: Rules(
            {"email": [required, length(3, 200), email], "code": [required, matches(r"\s*[0-9]{6}\s*", "six digits")]}
        ),
    }
    ROLES: ClassVar[dict[str, RolePolicy]] = {
        "RequestSignInCode": frozenset({ANYONE}),
        "SignIn": frozenset({ANYONE}),
        "RenewAccessToken": frozenset({FOUNDER, MENTOR, REVIEWER}),
        "SignOut": frozenset({ADMIN, FOUNDER, MENTOR, REVIEWER}),
    }
    DEFAULT_ROLES: ClassVar[RolePolicy] = frozenset({ADMIN})
