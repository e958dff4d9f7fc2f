"""Partner API keys: what each may do (scopes, per resource group of the partner API), until when (expiry),
and its secrets (a rotation gives the key a new one, and the old one works on for an overlap). Pure Python."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from hubcore.errors import FailedPrecondition, InvalidArgument
from hubcore.resources import Named

KEY_LIFETIME = timedelta(days=90)
MAX_KEY_LIFETIME = timedelta(days=366)
KEY_PREFIX = "hubpk_"  # partner keys are recognizable (secret scanners, logs) and never confused with others
KEY_LENGTH = len(KEY_PREFIX) + 43  # the prefix and token_urlsafe(32)
DEFAULT_OVERLAP = timedelta(hours=24)
MAX_OVERLAP = timedelta(days=30)

# The partner API's resource groups. A new PartnerService method declares the scope it needs in
# policy.PARTNER_SCOPES (the server refuses to start otherwise); a new group is added here.
KEY_GROUPS = ("introductions", "rounds", "dealflow", "updates", "webhooks")
READ, WRITE = "read", "write"
ALL = "all"  # "all:read", "all:write": every group


@dataclass(frozen=True)
class Scope:
    """What a method needs of a key: a group and read or write (write includes read)."""

    group: str
    access: str

    def __str__(self) -> str:
        return f"{self.group}:{self.access}"


def reads(group: str) -> Scope:
    assert group in KEY_GROUPS, group
    return Scope(group, READ)


def writes(group: str) -> Scope:
    assert group in KEY_GROUPS, group
    return Scope(group, WRITE)


# What a method any valid key may call needs (GetMyApiKey: the key itself).
ANY_KEY = Scope("", "")
EVERY_SCOPE = tuple(f"{group}:{WRITE}" for group in KEY_GROUPS)  # a key created without scopes; keys before scopes


def parse_scopes(values: Iterable[str], field: str = "api_key.scopes") -> tuple[str, ...]:
    """The scopes as stored: each group once at its highest access, in KEY_GROUPS order ("all:x" names every
    group). None asked for: every group, read and write, what keys could always do."""
    access: dict[str, str] = {}
    for n, value in enumerate(values):
        group, _, level = value.strip().lower().partition(":")
        groups = KEY_GROUPS if group == ALL else (group,)
        if group not in (*KEY_GROUPS, ALL) or level not in (READ, WRITE):
            raise InvalidArgument(
                [(f"{field}[{n}]", f"{value!r} is not a scope: write <group>:read or <group>:write, groups "
                                   f"{', '.join((*KEY_GROUPS, ALL))}")]
            )  # fmt: skip
        for one in groups:
            access[one] = WRITE if WRITE in (level, access.get(one)) else READ
    if not access:
        return EVERY_SCOPE
    return tuple(f"{group}:{access[group]}" for group in KEY_GROUPS if group in access)


def allows(scopes: Iterable[str], needed: Scope) -> bool:
    if needed == ANY_KEY:
        return True
    held = set(scopes)
    return f"{needed.group}:{WRITE}" in held or (needed.access == READ and f"{needed.group}:{READ}" in held)


@dataclass(frozen=True)
class ApiKey(Named):
    collection = "apiKeys"

    id: int
    partner_id: int
    firm_id: int
    prefix: str
    expire_at: datetime
    description: str = ""
    scopes: tuple[str, ...] = EVERY_SCOPE
    created_at: datetime | None = None
    revoked_at: datetime | None = None
    rotated_at: datetime | None = None
    previous_expire_at: datetime | None = None  # when the secret before the last rotation stops working
    rotations: int = 0

    def refusal(self, when: datetime, *, previous: bool = False) -> str | None:
        """Why the key may not be used at `when`, or None; `previous`: with the secret a rotation replaced."""
        if self.revoked_at is not None:
            return "the API key was revoked"
        if when >= self.expire_at:
            return "the API key has expired"
        if previous and (self.previous_expire_at is None or when >= self.previous_expire_at):
            return "this secret of the API key was rotated out: use the key's new secret"
        return None

    def missing(self, needed: Scope) -> str | None:
        """Why the key may not call a method that needs `needed`, or None."""
        if allows(self.scopes, needed):
            return None
        return f"this API key lacks the scope {needed} (it has {', '.join(self.scopes) or 'none'})"

    def revoke(self, when: datetime) -> ApiKey:
        if self.revoked_at is not None:
            raise FailedPrecondition(f"{self.name} is already revoked", type_="REVOKED", subject=self.name)
        return replace(self, revoked_at=when)

    def rotate(self, when: datetime, overlap: timedelta, prefix: str) -> ApiKey:
        """A new secret (starting with `prefix`) from `when`; the current one works on until when + overlap.
        One overlap at a time: a second rotation during it would cut the first secret off unannounced (a
        retried request, say)."""
        if refusal := self.refusal(when):
            raise FailedPrecondition(f"{self.name}: {refusal}", type_="NOT_USABLE", subject=self.name)
        if self.previous_expire_at is not None and when < self.previous_expire_at:
            raise FailedPrecondition(
                f"{self.name} was rotated at {self.rotated_at:%Y-%m-%d %H:%M} UTC and its previous secret works "
                f"until {self.previous_expire_at:%Y-%m-%d %H:%M} UTC: rotate again after that, or revoke the key",
                type_="ROTATION_OVERLAP",
                subject=self.name,
            )
        return replace(
            self, prefix=prefix, rotated_at=when, previous_expire_at=when + overlap, rotations=self.rotations + 1
        )

    def overlapping(self, when: datetime) -> datetime | None:
        """When the previous secret stops working, while it still works."""
        if self.previous_expire_at is not None and when < self.previous_expire_at:
            return self.previous_expire_at
        return None


def key_expiry(requested: datetime | None, issued: datetime) -> datetime:
    if requested is None:
        return issued + KEY_LIFETIME
    if requested <= issued:
        raise InvalidArgument([("api_key.expire_time", "must be in the future")])
    if requested > issued + MAX_KEY_LIFETIME:
        raise InvalidArgument([("api_key.expire_time", "must be at most 366 days ahead")])
    return requested


def rotation_overlap(requested: timedelta | None) -> timedelta:
    if requested is None:
        return DEFAULT_OVERLAP
    if requested < timedelta(0):
        raise InvalidArgument([("overlap", "must not be negative")])
    if requested > MAX_OVERLAP:
        raise InvalidArgument([("overlap", "must be at most 30 days")])
    return requested
