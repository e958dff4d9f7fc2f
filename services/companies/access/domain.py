"""An access token as the register keeps it: who it is for, its role, expiry, who issued and who revoked it, and
why; never the token itself. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from hubcore import errors
from hubcore.resources import Named


@dataclass(frozen=True)
class IssuedToken(Named):
    collection = "accessTokens"

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

    def revoke(self, when: datetime, by: str, reason: str) -> IssuedToken:
        if self.revoked_at is not None:
            raise errors.FailedPrecondition(f"{self.name} is already revoked", type_="REVOKED", subject=self.name)
        return replace(self, revoked_at=when, revoked_by=by, revoke_reason=reason)
