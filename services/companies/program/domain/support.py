"""Support: what the hub grants each company (GPU hours, education seats, clinics, ...), the quotas that meter
some kinds, and the ledger. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from hubcore.errors import FailedPrecondition, invalid
from hubcore.resources import Named, OfCompany

SUPPORT_KINDS = (
    "GPU_HOURS", "EDUCATION_SEAT", "OVERSEAS_PROGRAM", "LEGAL_IP_CLINIC", "INVESTMENT_SUPPORT",
    "TECHNICAL_CONSULTATION",
)  # fmt: skip
METERED = frozenset({"GPU_HOURS"})  # kinds used against a per-company quota
# Kinds counted from other services' events, never recorded by hand (they would be counted twice).
COUNTED = {"TECHNICAL_CONSULTATION": "counted from consulting's completed technical sessions"}
GPU_HOURS, TECHNICAL_CONSULTATION = "GPU_HOURS", "TECHNICAL_CONSULTATION"


@dataclass(frozen=True)
class SupportGrant(Named, OfCompany):
    """An entry of a company's support ledger: granted by hand, or counted from another service's event (source)."""

    collection = "supportGrants"

    id: int
    company_id: int
    kind: str
    amount: int
    note: str = ""
    override_reason: str = ""  # why an admin went beyond the quota
    actor: str = ""
    created_at: datetime | None = None
    source: str = ""  # what it was counted from ("sessions/12"); "" when granted by hand


def check_grant(*, kind: str, amount: int) -> None:
    """What can be granted by hand: a kind not counted from events, a positive amount."""
    if kind in COUNTED:
        raise invalid("grant.kind", f"{kind} is {COUNTED[kind]}, never recorded by hand")
    if amount <= 0:
        raise invalid("grant.amount", "must be positive")


def check_quota_value(quota: int) -> None:
    if quota < 0:
        raise invalid("quota.quota", "must not be negative")


def check_quota(*, kind: str, used: int, quota: int | None, amount: int, override_reason: str, subject: str) -> None:
    """Metered support needs a quota, and stays within it unless an admin overrides with a reason."""
    if kind not in METERED or override_reason.strip():
        return
    if quota is None:
        raise FailedPrecondition(f"{subject} has no {kind} quota; set one first", type_="NO_QUOTA", subject=subject)
    if used + amount > quota:
        raise FailedPrecondition(
            f"{subject} has used {used} of {quota} {kind}; {amount} more would exceed the quota "
            "(an admin may override with a reason)",
            type_="QUOTA_EXCEEDED",
            subject=subject,
        )


@dataclass(frozen=True)
class SupportQuota:
    company: str
    kind: str
    quota: int
    used: int


@dataclass(frozen=True)
class SupportTotal:
    kind: str
    used: int
    quota: int


@dataclass(frozen=True)
class SupportLedger:
    grants: list[SupportGrant]
    totals: list[SupportTotal] = field(default_factory=list)


def ledger(grants: list[SupportGrant], used: dict[str, int], quotas: dict[str, int]) -> SupportLedger:
    """A company's grants with, per kind used or given a quota, the total used and the quota (0: none)."""
    kinds = sorted(set(used) | set(quotas), key=SUPPORT_KINDS.index)
    return SupportLedger(grants, [SupportTotal(k, used.get(k, 0), quotas.get(k, 0)) for k in kinds])


# Consulting session categories (hub.consulting.session.completed's session.category) that are 1:1 technical
# consultations; other sessions (growth strategy, VC advisory, overseas) are not counted as this support.
TECHNICAL_CATEGORIES = frozenset({"TECHNICAL"})
