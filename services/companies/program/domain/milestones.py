"""Milestones (a launch, a first customer, funding, an overseas entry) and the "firms grown" figure: when a firm
the hub selected counts as grown. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from fractions import Fraction

from hubcore.errors import InvalidArgument
from hubcore.resources import Named, OfCompany
from services.companies.program.domain.kpi import months_in, period_end
from services.companies.registry.domain import GRADUATED, RESIDENT, SELECTED, Company


@dataclass(frozen=True)
class Milestone(Named, OfCompany):
    collection = "milestones"

    id: int
    company_id: int
    kind: str  # one of MILESTONE_KINDS
    achieved_on: date
    evidence_url: str = ""
    evidence: str = ""
    actor: str = ""
    created_at: datetime | None = None


MILESTONE_KINDS = ("PRODUCT_LAUNCH", "FIRST_CUSTOMER", "FUNDING", "OVERSEAS_ENTRY")
# The firms the hub discovered and grows: those that got in; applicants and withdrawn firms are not its own.
HUB_FIRMS = (SELECTED, RESIDENT, GRADUATED)


def check_milestone(*, achieved: date | None, today: date, evidence_url: str, evidence: str) -> None:
    problems = []
    if achieved is None:
        problems.append(("milestone.achieve_date", "is required"))
    elif achieved > today:
        problems.append(("milestone.achieve_date", f"is in the future (today is {today})"))
    if not evidence_url.strip() and not evidence.strip():
        problems.append(("milestone.evidence", "is required: a sentence, an evidence_url, or both"))
    if problems:
        raise InvalidArgument(problems)


@dataclass(frozen=True)
class GrowthRules:
    """When a firm counts as grown: any one rule met. A rule at 0 (or without kinds) is off."""

    funding_krw: int = 100_000_000  # funding raised from closed rounds, at least this much
    revenue_growth_pct: int = 30  # monthly-average revenue, first report to latest, up at least this much
    milestone_kinds: tuple[str, ...] = ("FIRST_CUSTOMER", "FUNDING", "OVERSEAS_ENTRY")  # any milestone of these

    def __post_init__(self) -> None:
        unknown = [k for k in self.milestone_kinds if k not in MILESTONE_KINDS]
        if self.funding_krw < 0 or self.revenue_growth_pct < 0 or unknown:
            raise ValueError(f"growth rules: amounts must not be negative, milestone kinds one of {MILESTONE_KINDS}")

    def describe(self) -> list[str]:
        rules = []
        if self.funding_krw:
            rules.append(f"funding raised from closed rounds ≥ {self.funding_krw:,} KRW")
        if self.revenue_growth_pct:
            rules.append(
                f"revenue up ≥ {self.revenue_growth_pct}% from the first KPI report to the latest (monthly average)"
            )
        if self.milestone_kinds:
            rules.append(f"a milestone of kind {', '.join(self.milestone_kinds)}")
        return rules


def revenue_growth(reports: list[tuple[str, int]]) -> tuple[str, str, Fraction] | None:
    """(first period, latest period, growth as a fraction) from (period, revenue) reports, comparing the monthly
    average of each (a quarter's revenue counts a third per month); None with fewer than two reports or no
    revenue in the first (growth from nothing is not a percentage)."""
    if len(reports) < 2:
        return None
    ordered = sorted(reports, key=lambda r: (period_end(r[0]), months_in(r[0])))
    (first, first_revenue), (latest, latest_revenue) = ordered[0], ordered[-1]
    if first_revenue <= 0 or first == latest:
        return None
    before = Fraction(first_revenue, months_in(first))
    after = Fraction(latest_revenue, months_in(latest))
    return first, latest, (after - before) / before


def growth_reasons(
    rules: GrowthRules, *, funding: int, reports: list[tuple[str, int]], milestones: list[tuple[str, date]]
) -> list[str]:
    """Why a firm counts as grown, one sentence per rule it meets; empty when it does not count."""
    reasons = []
    if rules.funding_krw and funding >= rules.funding_krw:
        reasons.append(f"raised {funding:,} KRW in closed rounds (rule: ≥ {rules.funding_krw:,})")
    growth = revenue_growth(reports) if rules.revenue_growth_pct else None
    if growth is not None and growth[2] * 100 >= rules.revenue_growth_pct:
        first, latest, ratio = growth
        reasons.append(
            f"revenue up {float(ratio * 100):.0f}% from {first} to {latest} (rule: ≥ {rules.revenue_growth_pct}%)"
        )
    for kind, achieved in sorted(milestones, key=lambda m: (m[1], m[0])):
        if kind in rules.milestone_kinds:
            reasons.append(f"milestone {kind} on {achieved.isoformat()}")
    return reasons


@dataclass(frozen=True)
class Grown:
    """A firm that counts as grown, with one reason per rule it meets."""

    company: Company
    reasons: list[str] = field(default_factory=list)


def grown(
    rules: GrowthRules,
    firms: list[Company],
    reports: dict[int, list[tuple[str, int]]],
    milestones: dict[int, list[tuple[str, date]]],
) -> list[Grown]:
    """The firms that count as grown by the rules, from their funding, (period, revenue) reports and milestones."""
    found = []
    for firm in firms:
        reasons = growth_reasons(
            rules, funding=firm.funding_raised, reports=reports.get(firm.id, []), milestones=milestones.get(firm.id, [])
        )
        if reasons:
            found.append(Grown(firm, reasons))
    return found
