"""The hub program's values and rules (selection rounds, applications, scores and decisions; spaces; KPI reports;
support; milestones and growth). Pure Python: no database, no network. Companies and people live in
registry/domain.py; their names are re-exported here for the program's code until it moves to program/."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from fractions import Fraction

from hubcore.errors import FailedPrecondition, InvalidArgument
from hubcore.text import clean  # noqa: F401 (re-exported: the program's code calls domain.clean)
from services.companies.registry.domain import (  # noqa: F401 (re-exported for the program's code)
    APPLICANT,
    GRADUATED,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    RESIDENT,
    ROLES,
    SECTORS,
    SELECTED,
    STAGES,
    TRANSITIONS,
    WITHDRAWN,
    Company,
    Person,
    check_company,
    check_person,
    new_company,
    new_person,
    update_company,
    update_person,
)

# The hub program: selection rounds, applications, scores and decisions; spaces; KPI reports; support.

SEAT_KINDS = ("PRIVATE_OFFICE", "OPEN_DESK", "INDIVIDUAL")
SPACE_KINDS = ("PRIVATE_OFFICE", "OPEN_DESK")
SUBMITTED, WAITLISTED, REJECTED = "SUBMITTED", "WAITLISTED", "REJECTED"
# An application's decisions: a waitlisted one may still be selected or rejected; the others are final.
DECISIONS: dict[str, frozenset[str]] = {
    SUBMITTED: frozenset({SELECTED, WAITLISTED, REJECTED}),
    WAITLISTED: frozenset({SELECTED, REJECTED}),
    SELECTED: frozenset(),
    REJECTED: frozenset(),
}
MOVE_OUT_REASONS = ("GRADUATED", "WITHDRAWN", "RELOCATED")
SUPPORT_KINDS = (
    "GPU_HOURS", "EDUCATION_SEAT", "OVERSEAS_PROGRAM", "LEGAL_IP_CLINIC", "INVESTMENT_SUPPORT",
    "TECHNICAL_CONSULTATION",
)  # fmt: skip
METERED = frozenset({"GPU_HOURS"})  # kinds used against a per-company quota
# Kinds counted from other services' events, never recorded by hand (they would be counted twice).
COUNTED = {"TECHNICAL_CONSULTATION": "counted from consulting's completed technical sessions"}
# Consulting session categories (hub.consulting.session.completed's session.category) that are 1:1 technical
# consultations; other sessions (growth strategy, VC advisory, overseas) are not counted as this support.
TECHNICAL_CATEGORIES = frozenset({"TECHNICAL"})
MAX_SCORE = 10


@dataclass(frozen=True)
class Criterion:
    key: str
    title: str
    weight: int


@dataclass(frozen=True)
class Round:
    id: int
    title: str
    open_date: date
    close_date: date
    seats: dict[str, int]
    criteria: list[Criterion]
    questions: list[str] = field(default_factory=list)
    created_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"rounds/{self.id}"

    @property
    def total_seats(self) -> int:
        return sum(self.seats.values())

    def require_open(self, today: date) -> None:
        if not self.open_date <= today <= self.close_date:
            raise FailedPrecondition(
                f"{self.name} takes applications from {self.open_date} to {self.close_date}, not on {today}",
                type_="ROUND_CLOSED",
                subject=self.name,
            )


def check_round(r: Round) -> None:
    problems = []
    if not r.title.strip():
        problems.append(("round.title", "is required"))
    if r.close_date < r.open_date:
        problems.append(("round.close_date", "is before open_date"))
    if not r.seats or any(n <= 0 for n in r.seats.values()):
        problems.append(("round.seats", "must offer a positive count of at least one seat kind"))
    if not r.criteria:
        problems.append(("round.criteria", "needs at least one criterion"))
    keys = [c.key for c in r.criteria]
    if len(set(keys)) != len(keys):
        problems.append(("round.criteria", "has a key twice"))
    if any(c.weight <= 0 for c in r.criteria):
        problems.append(("round.criteria", "weights must be positive"))
    if problems:
        raise InvalidArgument(problems)


def competition_ratio(applications: int, seats: int) -> float:
    return round(applications / seats, 2) if seats else 0.0


def check_score_values(r: Round, values: dict[str, int]) -> None:
    keys = {c.key for c in r.criteria}
    problems = []
    for key in sorted(set(values) - keys):
        problems.append(("score.values", f"{key!r} is not a criterion of {r.name} (known: {', '.join(sorted(keys))})"))
    for key in sorted(keys - set(values)):
        problems.append(("score.values", f"criterion {key!r} is not scored"))
    for key, value in sorted(values.items()):
        if not 0 <= value <= MAX_SCORE:
            problems.append(("score.values", f"{key}: {value} is not within 0-{MAX_SCORE}"))
    if problems:
        raise InvalidArgument(problems)


def weighted_score(criteria: list[Criterion], values: dict[str, int]) -> Fraction:
    """The weighted mean of one reviewer's scores: exact, so that ties are real ties."""
    total = sum(c.weight for c in criteria)
    return Fraction(sum(c.weight * values[c.key] for c in criteria), total)


@dataclass(frozen=True)
class Ranked:
    application: str
    applicant: str
    score: Fraction | None  # None: no counted review yet
    reviews: int
    by_criterion: dict[str, Fraction]
    submitted: datetime
    explanation: str = ""


def rank(
    criteria: list[Criterion],
    applications: list[tuple[str, str, datetime]],
    scores: list[tuple[str, str, dict[str, int]]],
    conflicts: set[tuple[str, str]],
) -> list[Ranked]:
    """Ranks applications (name, applicant, submitted) by the mean of their reviewers' weighted scores.

    A score from a reviewer who declared a conflict with the applicant does not count. Ties on the
    weighted score go to the higher mean on the heaviest criterion, then the next heaviest, then to the
    earlier submission; each entry explains what set it apart from the one above it. Unscored come last."""
    applicant_of = {name: applicant for name, applicant, _ in applications}
    counted: dict[str, list[dict[str, int]]] = {name: [] for name, _, _ in applications}
    for application, reviewer, values in scores:
        if application in counted and (reviewer, applicant_of[application]) not in conflicts:
            counted[application].append(values)
    order = sorted(criteria, key=lambda c: (-c.weight, criteria.index(c)))
    entries = []
    for name, applicant, submitted in applications:
        reviews = counted[name]
        if reviews:
            score: Fraction | None = sum((weighted_score(criteria, v) for v in reviews), Fraction(0)) / len(reviews)
            means = {c.key: Fraction(sum(v[c.key] for v in reviews), len(reviews)) for c in criteria}
        else:
            score, means = None, {}
        entries.append(Ranked(name, applicant, score, len(reviews), means, submitted))

    def key(e: Ranked) -> tuple[object, ...]:
        if e.score is None:
            return (1, 0, (), e.submitted)
        return (0, -e.score, tuple(-e.by_criterion[c.key] for c in order), e.submitted)

    entries.sort(key=key)
    explained = []
    for i, e in enumerate(entries):
        explained.append(replace(e, explanation=_explain(e, entries[i - 1] if i else None, order)))
    return explained


def _number(value: Fraction) -> str:
    return f"{float(value):.2f}"


def _explain(e: Ranked, above: Ranked | None, order: list[Criterion]) -> str:
    if e.score is None:
        return "no counted reviews yet"
    if above is None or above.score != e.score:
        return f"weighted score {_number(e.score)} from {e.reviews} review(s)"
    for c in order:
        if above.by_criterion[c.key] != e.by_criterion[c.key]:
            return (
                f"tied with {above.application} at {_number(e.score)}; behind on {c.title or c.key} "
                f"(weight {c.weight}): {_number(e.by_criterion[c.key])} vs {_number(above.by_criterion[c.key])}"
            )
    return f"tied with {above.application} at {_number(e.score)} on every criterion; submitted later"


@dataclass(frozen=True)
class Application:
    id: int
    round_id: int
    applicant: str  # companies/1 or people/2
    seat_kind: str
    answers: list[tuple[str, str]] = field(default_factory=list)
    attachment_urls: list[str] = field(default_factory=list)
    state: str = SUBMITTED
    decision_reason: str = ""
    created_at: datetime | None = None
    version: int = 1

    @property
    def name(self) -> str:
        return f"applications/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    def decide(self, decision: str, reason: str, *, selected_of_kind: int, seats_of_kind: int) -> Application:
        if decision not in DECISIONS[self.state]:
            allowed = ", ".join(sorted(DECISIONS[self.state])) or "none (final)"
            raise FailedPrecondition(
                f"{self.name} is {self.state}; it can become: {allowed}", type_="DECISION", subject=self.name
            )
        if decision == SELECTED and selected_of_kind >= seats_of_kind:
            raise FailedPrecondition(
                f"all {seats_of_kind} {self.seat_kind} seat(s) of the round are taken; waitlist instead",
                type_="SEATS_FILLED",
                subject=self.name,
            )
        return replace(self, state=decision, decision_reason=reason, version=self.version + 1)


def overlaps(start: date, end: date | None, other_start: date, other_end: date | None) -> bool:
    """Half-open periods [start, end), None meaning open-ended."""
    return (other_end is None or start < other_end) and (end is None or other_start < end)


def month_start(start: date, months_later: int) -> date:
    """The first day of the month months_later after start's month."""
    index = start.year * 12 + start.month - 1 + months_later
    return date(index // 12, index % 12 + 1, 1)


PERIOD = r"(\d{4})-(0[1-9]|1[0-2]|Q[1-4])"


def check_period(period: str, field: str = "report.period", *, today: date | None = None) -> str:
    """A month or quarter within the hub's business years; with today, one that has begun (a report on a period
    not yet begun is a typo, and would count in trends as if it had happened)."""
    match = re.fullmatch(PERIOD, period.strip().upper())
    if not match:
        raise InvalidArgument([(field, "must be a month like 2026-03 or a quarter like 2026-Q1")])
    if not 2000 <= int(match.group(1)) <= 2100:
        raise InvalidArgument([(field, "must be a period between 2000 and 2100")])
    if today is not None and period_start(match.group(0)) > today:
        raise InvalidArgument([(field, "has not begun yet")])
    return match.group(0)


def period_start(period: str) -> date:
    """The first day of a month (2026-03) or a quarter (2026-Q1)."""
    year, part = period.split("-")
    month = (int(part[1]) - 1) * 3 + 1 if part.startswith("Q") else int(part)
    return date(int(year), month, 1)


def period_end(period: str) -> date:
    """The last day of a month (2026-03) or a quarter (2026-Q1)."""
    year, part = period.split("-")
    month = int(part[1]) * 3 if part.startswith("Q") else int(part)
    following = date(int(year) + (month == 12), month % 12 + 1, 1)
    return date.fromordinal(following.toordinal() - 1)


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


# Milestones and the "firms grown" figure.

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


def months_in(period: str) -> int:
    return 3 if "Q" in period else 1


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


# KPI figures across companies, quarter by quarter.


def quarter_of(period: str) -> str:
    """2026-05 -> 2026-Q2; a quarter stays itself."""
    year, part = period.split("-")
    return period if part.startswith("Q") else f"{year}-Q{(int(part) - 1) // 3 + 1}"


def quarterly(reports: list[tuple[str, int, int]]) -> dict[str, tuple[int, int]]:
    """One company's (period, headcount, revenue) reports as quarter -> (headcount, revenue): a quarterly report
    is the quarter's figure; otherwise headcount is the latest month's and revenue the months' sum."""
    result: dict[str, tuple[int, int]] = {}
    months: dict[str, list[tuple[str, int, int]]] = {}
    for period, headcount, revenue in reports:
        if "Q" in period:
            result[period] = (headcount, revenue)
        else:
            months.setdefault(quarter_of(period), []).append((period, headcount, revenue))
    for quarter, rows in months.items():
        if quarter not in result:
            rows.sort()
            result[quarter] = (rows[-1][1], sum(r[2] for r in rows))
    return result


def median(values: list[int]) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    middle = len(ordered) // 2
    return float(ordered[middle]) if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


@dataclass(frozen=True)
class TrendPoint:
    quarter: str
    companies: int
    headcount: tuple[int, float]  # sum, median
    revenue: tuple[int, float]
    funding: tuple[int, float]


def trend_points(figures: list[tuple[str, int, int, int]]) -> list[TrendPoint]:
    """(quarter, headcount, revenue, funding), one per company and quarter, as per-quarter sums and medians
    across the companies, in quarter order."""
    by_quarter: dict[str, list[tuple[int, int, int]]] = {}
    for quarter, *values in figures:
        by_quarter.setdefault(quarter, []).append((values[0], values[1], values[2]))
    points = []
    for quarter, rows in sorted(by_quarter.items()):
        h, r, f = ([row[i] for row in rows] for i in (0, 1, 2))
        points.append(TrendPoint(quarter, len(rows), (sum(h), median(h)), (sum(r), median(r)), (sum(f), median(f))))
    return points
