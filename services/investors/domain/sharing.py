"""What a company lets each firm see on the partner API (sharing grants, in field groups), who answers for the
company (its founders, or a program manager on its behalf, with a reason), and what a firm read (the access
log the founders read). Pure Python.

How a grant and an introduction's shared_fields meet: the introduction's shared_fields are what the program
manager proposes to show the firm with it; the company's grant to the firm is what it lets the firm see. A
partner sees an introduction's field only if both say so, and the company's consent to an introduction grants
the firm the groups its shared_fields belong to (adding to a grant it already has, never taking away)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from hubcore.errors import FailedPrecondition, InvalidArgument
from hubcore.resources import OfCompany
from hubcore.text import clean
from services.investors.domain.introductions import SHAREABLE_FIELDS

# The company fields the partner API shows (SharedCompany), in the groups a company grants. Funding history
# and pitch decks are not shown on the partner API, so they are no group.
FIELD_GROUPS: dict[str, tuple[str, ...]] = {
    "NAMES": ("korean_name", "english_name"),
    "PROFILE": ("sector", "stage", "tags"),
    "WEBSITE": ("website",),
}
# The company is in the firm's deal flow (shown with its fit; the firm may ask for an introduction). A company
# is matched on its sector and stage, so DEAL_FLOW goes only with PROFILE.
DEAL_FLOW = "DEAL_FLOW"
# The figures of the KPI updates a firm that invested in the company receives (the kpi.reported event's names).
KPI_GROUPS: dict[str, tuple[str, ...]] = {
    "KPI_TEAM": ("headcount", "full_time_employees", "hires"),
    "KPI_TRACTION": ("revenue_krw", "customers", "exports_usd", "overseas_countries"),
    "KPI_FINANCE": ("funding_raised_krw", "cash_on_hand_krw", "monthly_burn_krw", "runway_months"),
    "KPI_IP": ("patents", "ip_filed", "ip_granted"),
}
GROUPS = (*FIELD_GROUPS, DEAL_FLOW, *KPI_GROUPS)  # every group a grant may hold, in the enum's order
KPI_FIGURES = tuple(f for fields in KPI_GROUPS.values() for f in fields)
GROUP_OF = {name: group for group, fields in (*FIELD_GROUPS.items(), *KPI_GROUPS.items()) for name in fields}
assert set(SHAREABLE_FIELDS) <= set(GROUP_OF)  # every shareable field is in one group


def ordered_groups(groups: Iterable[str]) -> tuple[str, ...]:
    wanted = set(groups)
    return tuple(g for g in GROUPS if g in wanted)


def groups_of(fields: Iterable[str]) -> tuple[str, ...]:
    """The groups the fields belong to."""
    return ordered_groups(GROUP_OF[f] for f in fields)


def visible_fields(shared: Iterable[str], granted: Iterable[str]) -> tuple[str, ...]:
    """What a partner sees of an introduction's company: its shared fields whose group the firm was granted."""
    allowed = set(granted)
    return tuple(f for f in shared if GROUP_OF[f] in allowed)


def field_groups(requested: Iterable[str], field: str) -> tuple[str, ...]:
    """A grant's groups as sent: at least one, each known (the enum's short names)."""
    groups = list(requested)
    unknown = [g for g in groups if g not in GROUPS]
    if unknown:
        raise InvalidArgument([(field, f"{unknown[0]!r} is not a field group (allowed: {', '.join(GROUPS)})")])
    if not groups:
        raise InvalidArgument([(field, "needs at least one field group; to show nothing, revoke the grant")])
    if DEAL_FLOW in groups and "PROFILE" not in groups:
        raise InvalidArgument([(field, "DEAL_FLOW needs PROFILE: a firm's deal flow matches on sector and stage")])
    return ordered_groups(groups)


# Who acts for a company: its founder, or a program manager on its behalf (only with a reason)

FOUNDER = "founder"


@dataclass(frozen=True)
class Acting:
    """Who changes a company's answers and grants: `actor` ("founder:<token>", "admin:<token>"), the caller's
    role, why, and for whom when a program manager acts on the company's behalf ("companies/7", else "")."""

    actor: str
    role: str
    reason: str = ""
    on_behalf_of: str = ""


def acting_for(company: str, *, actor: str, role: str, reason: str) -> Acting:
    """A founder acts for their company; anyone else (a program manager) only with a reason."""
    reason = clean(reason)
    if role == FOUNDER:
        return Acting(actor, role, reason)
    if not reason:
        raise InvalidArgument([("reason", f"is required when a program manager acts for {company}")])
    return Acting(actor, role, reason, company)


# Sharing grants: one per company and firm, and one per company for every firm (firm_id None, "firms/-"): a
# firm may see what its own grant and the company's grant to every firm hold together.

EVERY_FIRM = "firms/-"


@dataclass(frozen=True)
class SharingGrant(OfCompany):
    id: int  # the row's; the grant is named by its firm
    company_id: int
    firm_id: int | None  # None: the grant to every firm
    field_groups: tuple[str, ...]
    actor: str = ""
    reason: str = ""
    on_behalf_of: str = ""
    introduction: str = ""  # the introduction whose consent made the last change
    revoked_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1

    @property
    def name(self) -> str:
        return f"companies/{self.company_id}/sharingGrants/{'-' if self.firm_id is None else self.firm_id}"

    @property
    def firm(self) -> str:
        return EVERY_FIRM if self.firm_id is None else f"firms/{self.firm_id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @property
    def granted(self) -> tuple[str, ...]:
        return self.field_groups if self.active else ()

    def changed(self, groups: tuple[str, ...], by: Acting, *, introduction: str = "") -> SharingGrant:
        return replace(
            self,
            field_groups=groups,
            actor=by.actor,
            reason=by.reason,
            on_behalf_of=by.on_behalf_of,
            introduction=introduction,
            revoked_at=None,
            version=self.version + 1,
        )

    def revoked(self, by: Acting, at: datetime) -> SharingGrant:
        if not self.active:
            raise FailedPrecondition(f"{self.name} is already revoked", type_="STATE", subject=self.name)
        return replace(self.changed((), by), revoked_at=at)


def new_grant(
    company_id: int, firm_id: int | None, groups: tuple[str, ...], by: Acting, introduction: str = ""
) -> SharingGrant:
    return SharingGrant(0, company_id, firm_id, (), version=0).changed(groups, by, introduction=introduction)


# The access log: what a firm's partner read of a company


@dataclass(frozen=True)
class CompanyRead(OfCompany):
    id: int
    company_id: int
    firm_id: int
    partner_id: int | None
    api_key_id: int | None
    method: str
    introductions: tuple[str, ...]
    field_groups: tuple[str, ...]
    read_at: datetime
    partner_call_id: int | None = None

    @property
    def name(self) -> str:
        return f"companies/{self.company_id}/reads/{self.id}"


@dataclass(frozen=True)
class Shown:
    """One introduction (or, with introduction_id 0, a company of the deal flow or one of its KPI updates) as a
    partner is shown it: the company's fields (and KPI figures) it may see, and their groups, with `also` the
    groups shown without a field (DEAL_FLOW)."""

    introduction_id: int
    company_id: int
    fields: tuple[str, ...]
    also: tuple[str, ...] = ()

    @property
    def groups(self) -> tuple[str, ...]:
        return ordered_groups((*groups_of(self.fields), *self.also))


def reads_of(shown: Iterable[Shown]) -> dict[int, tuple[tuple[str, ...], tuple[str, ...]]]:
    """One call's answer as the access log's entries: per company, the introductions and the groups it showed."""
    by_company: dict[int, tuple[list[str], set[str]]] = {}
    for s in shown:
        intros, groups = by_company.setdefault(s.company_id, ([], set()))
        if s.introduction_id:
            intros.append(f"introductions/{s.introduction_id}")
        groups.update(s.groups)
    return {c: (tuple(i), ordered_groups(g)) for c, (i, g) in by_company.items()}
