"""Access as the register keeps it: tokens issued (who for, role, scope, expiry, who issued and revoked them, and
why; never the token itself), the identities of founders and mentors who sign in for themselves, their one-time
codes (only a keyed hash), and the log of sign-ins. Pure Python."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hubcore import errors, tokens
from hubcore.resources import Named

FOUNDER, MENTOR, REVIEWER = "founder", "mentor", "reviewer"  # as the token carries them; the messages say FOUNDER…
ADMIN = "admin"  # a program manager who signs in (the identity's tokens are admin tokens, with no scope)
ACTIVE, REVOKED = "ACTIVE", "REVOKED"
LANGUAGES = ("ko", "en")

CODE_LIFETIME = timedelta(minutes=15)
CODE_DIGITS = 6
MAX_FAILED_ATTEMPTS = 5  # wrong codes before an address's code is void (a new one must be asked for)
CODES_PER_HOUR = 5  # codes mailed to one address in an hour; beyond it requests are answered alike, mailing none

# What the sign-in log records (every sign-in, failure and revocation).
CODE_SENT, CODE_NOT_SENT, SIGNED_IN, WRONG_CODE, RENEWED, SIGNED_OUT, IDENTITY_REVOKED = (
    "CODE_SENT", "CODE_NOT_SENT", "SIGNED_IN", "WRONG_CODE", "RENEWED", "SIGNED_OUT", "IDENTITY_REVOKED",
)  # fmt: skip


@dataclass(frozen=True)
class IssuedToken(Named):
    collection = "accessTokens"

    id: str
    subject: str
    role: str  # "admin", "service", "founder", "mentor" or "reviewer", as the token carries it
    issued_at: datetime
    expire_at: datetime
    issued_by: str
    description: str = ""
    revoked_at: datetime | None = None
    revoked_by: str = ""
    revoke_reason: str = ""
    scope: str = ""  # companies/7 for a founder, mentors/3 for a mentor, reviewers/2 for a reviewer
    identity_id: int | None = None  # the identity a signed-in token belongs to

    def revoke(self, when: datetime, by: str, reason: str) -> IssuedToken:
        if self.revoked_at is not None:
            raise errors.FailedPrecondition(f"{self.name} is already revoked", type_="REVOKED", subject=self.name)
        return replace(self, revoked_at=when, revoked_by=by, revoke_reason=reason)


@dataclass(frozen=True)
class Identity(Named):
    """A person who signs in for themselves: an address bound to a role and the one resource it acts for."""

    collection = "identities"

    id: int
    role: str
    scope: str
    email: str
    display_name: str
    language: str
    state: str
    created_at: datetime
    invited_by: str
    person_id: int | None = None  # a founder's person: their leaving the company ends the identity
    last_sign_in_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_by: str = ""
    revoke_reason: str = ""

    @property
    def person(self) -> str:
        return f"people/{self.person_id}" if self.person_id is not None else ""

    def revoke(self, when: datetime, by: str, reason: str) -> Identity:
        if self.state == REVOKED:
            raise errors.FailedPrecondition(f"{self.name} is already revoked", type_="REVOKED", subject=self.name)
        return replace(self, state=REVOKED, revoked_at=when, revoked_by=by, revoke_reason=reason)


@dataclass(frozen=True)
class SignInCode(Named):
    collection = "signInCodes"

    id: int
    email: str
    code_hash: str
    created_at: datetime
    expire_at: datetime
    used_at: datetime | None = None
    failed_attempts: int = 0

    def usable(self, when: datetime) -> bool:
        return self.used_at is None and when < self.expire_at and self.failed_attempts < MAX_FAILED_ATTEMPTS

    def matches(self, code: str, key: str) -> bool:
        return hmac.compare_digest(self.code_hash, code_hash(key, self.email, code))


@dataclass(frozen=True)
class SignInEvent(Named):
    """One line of the sign-in log: what happened to which address, from which peer."""

    collection = "signInEvents"

    id: int
    at: datetime
    email: str
    outcome: str
    peer: str = ""
    identity_id: int | None = None
    actor: str = ""
    note: str = ""


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hash(key: str, email: str, code: str) -> str:
    """Keyed with the hub's signing key: a copy of the table alone cannot be searched for the million codes."""
    return hmac.new(key.encode(), f"{email}\n{code}".encode(), hashlib.sha256).hexdigest()


def scope_collection(role: str) -> str:
    return tokens.SCOPED[role]
