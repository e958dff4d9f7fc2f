"""Selection: rounds, applications, reviewers' scores and conflicts, the ranking and the decisions. Pure Python."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from fractions import Fraction

from hubcore.errors import FailedPrecondition, InvalidArgument, invalid, refuse_if
from hubcore.resources import Named, Versioned
from services.companies.registry.domain import SELECTED

SEAT_KINDS = ("PRIVATE_OFFICE", "OPEN_DESK", "INDIVIDUAL")
SUBMITTED, WAITLISTED, REJECTED = "SUBMITTED", "WAITLISTED", "REJECTED"
# An application's decisions: a waitlisted one may still be selected or rejected; the others are final.
DECISIONS: dict[str, frozenset[str]] = {
    SUBMITTED: frozenset({SELECTED, WAITLISTED, REJECTED}),
    WAITLISTED: frozenset({SELECTED, REJECTED}),
    SELECTED: frozenset(),
    REJECTED: frozenset(),
}

MAX_SCORE = 10
RAW, NORMALIZED = "RAW", "NORMALIZED"  # the score a ranking is ordered by


@dataclass(frozen=True)
class Criterion:
    key: str
    title: str
    weight: int


@dataclass(frozen=True)
class Round(Named):
    collection = "rounds"

    id: int
    title: str
    open_date: date
    close_date: date
    seats: dict[str, int]
    criteria: list[Criterion]
    questions: list[str] = field(default_factory=list)
    created_at: datetime | None = None
    applications: int = 0  # how many applied: filled by the reads that show it

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

    def require_seat_kind(self, seat_kind: str) -> None:
        if seat_kind not in self.seats:
            raise FailedPrecondition(f"{self.name} offers no {seat_kind} seats", type_="SEAT_KIND", subject=self.name)

    @property
    def competition_ratio(self) -> float:
        return competition_ratio(self.applications, self.total_seats)


def check_round(r: Round) -> None:
    keys = [c.key for c in r.criteria]
    refuse_if(
        (not r.title.strip(), "round.title", "is required"),
        (r.close_date < r.open_date, "round.close_date", "is before open_date"),
        (not r.seats or any(n <= 0 for n in r.seats.values()), "round.seats",
         "must offer a positive count of at least one seat kind"),
        (not r.criteria, "round.criteria", "needs at least one criterion"),
        (len(set(keys)) != len(keys), "round.criteria", "has a key twice"),
        (any(c.weight <= 0 for c in r.criteria), "round.criteria", "weights must be positive"),
    )  # fmt: skip


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
    normalized: float | None = None  # the mean of its reviewers' z-scores; None: no counted review yet

    @property
    def normalized_key(self) -> float:
        """The normalized score as the ranking compares it: floats that differ only by rounding are a tie."""
        return round(self.normalized or 0.0, 9)


def z_scores(weighted: dict[tuple[str, str], Fraction]) -> dict[tuple[str, str], float]:
    """(application, reviewer) -> how far the reviewer's weighted score of it lies from their own mean over the
    round, in their own standard deviations (population); 0 for a reviewer with one score or all alike."""
    by_reviewer: dict[str, list[Fraction]] = defaultdict(list)
    for (_, reviewer), value in weighted.items():
        by_reviewer[reviewer].append(value)
    spread: dict[str, tuple[Fraction, float]] = {}
    for reviewer, values in by_reviewer.items():
        mean = sum(values, Fraction(0)) / len(values)
        spread[reviewer] = (mean, math.sqrt(sum((v - mean) ** 2 for v in values) / len(values)))
    result = {}
    for (application, reviewer), value in weighted.items():
        mean, deviation = spread[reviewer]
        result[(application, reviewer)] = float(value - mean) / deviation if deviation else 0.0
    return result


def rank(
    criteria: list[Criterion],
    applications: list[tuple[str, str, datetime]],
    scores: list[tuple[str, str, dict[str, int]]],
    conflicts: set[tuple[str, str]],
    scale: str = RAW,
) -> list[Ranked]:
    """Ranks applications (name, applicant, submitted) by the mean of their reviewers' weighted scores (RAW) or
    of their z-scores (NORMALIZED: each reviewer's scores measured against their own mean and spread).

    A score from a reviewer who declared a conflict with the applicant does not count. Ties go to the higher
    weighted score (NORMALIZED), then to the higher mean on the heaviest criterion, then the next heaviest, then
    to the earlier submission; each entry explains what set it apart from the one above it. Unscored come last."""
    applicant_of = {name: applicant for name, applicant, _ in applications}
    counted: dict[str, list[dict[str, int]]] = {name: [] for name, _, _ in applications}
    weighted: dict[tuple[str, str], Fraction] = {}
    for application, reviewer, values in scores:
        if application in counted and (reviewer, applicant_of[application]) not in conflicts:
            counted[application].append(values)
            weighted[(application, reviewer)] = weighted_score(criteria, values)
    z = z_scores(weighted)
    order = sorted(criteria, key=lambda c: (-c.weight, criteria.index(c)))
    entries = []
    for name, applicant, submitted in applications:
        reviews = counted[name]
        if reviews:
            score: Fraction | None = sum((weighted_score(criteria, v) for v in reviews), Fraction(0)) / len(reviews)
            means = {c.key: Fraction(sum(v[c.key] for v in reviews), len(reviews)) for c in criteria}
            own = [value for (application, _), value in z.items() if application == name]
            normalized: float | None = sum(own) / len(own)
        else:
            score, means, normalized = None, {}, None
        entries.append(Ranked(name, applicant, score, len(reviews), means, submitted, normalized=normalized))

    def key(e: Ranked) -> tuple[object, ...]:
        if e.score is None:
            return (1, 0, 0, (), e.submitted)
        first = -e.normalized_key if scale == NORMALIZED else 0
        return (0, first, -e.score, tuple(-e.by_criterion[c.key] for c in order), e.submitted)

    entries.sort(key=key)
    explained = []
    for i, e in enumerate(entries):
        explained.append(replace(e, explanation=_explain(e, entries[i - 1] if i else None, order, scale)))
    return explained


def _number(value: Fraction | float) -> str:
    return f"{float(value):.2f}"


def _explain(e: Ranked, above: Ranked | None, order: list[Criterion], scale: str) -> str:
    if e.score is None:
        return "no counted reviews yet"
    normalized = f"normalized score {_number(e.normalized or 0.0)}"
    if scale == NORMALIZED and (above is None or above.normalized_key != e.normalized_key):
        return f"{normalized} (weighted {_number(e.score)}) from {e.reviews} review(s)"
    if scale == NORMALIZED and above is not None and above.score is not None and above.score != e.score:
        return f"tied with {above.application} at {normalized}; weighted {_number(e.score)} vs {_number(above.score)}"
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
class Application(Versioned):
    collection = "applications"

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
    applicant_name: str = ""  # the applicant's Korean name, read beside it (not kept with the application)
    decided_on: date | None = None  # the day of its last decision, Asia/Seoul

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


def check_applicant_seat(applicant: str, seat_kind: str) -> None:
    """A person applies for an individual seat, a company for an office or a desk."""
    if applicant.startswith("people/") != (seat_kind == "INDIVIDUAL"):
        raise invalid("application.seat_kind", "is INDIVIDUAL for a person, an office or desk for a company")


def check_decision(decision: str) -> None:
    if decision not in (SELECTED, WAITLISTED, REJECTED):
        raise invalid("decision", "must be SELECTED, WAITLISTED or REJECTED")


def reviewer_key(reviewer: str) -> str:
    """Reviewers are compared without case or surrounding spaces."""
    return reviewer.strip().casefold()


@dataclass(frozen=True)
class Conflict:
    """A reviewer's declared conflict of interest with an applicant of a round: their score of it never counts."""

    round_id: int
    reviewer: str
    applicant: str
    reason: str = ""

    @property
    def round(self) -> str:
        return f"rounds/{self.round_id}"


@dataclass(frozen=True)
class Score:
    """One reviewer's scores of one application, 0 to MAX_SCORE per criterion, with their weighted mean."""

    application: str
    reviewer: str
    values: dict[str, int]
    comment: str = ""
    weighted: Fraction = Fraction(0)
    recorded_by: str = ""  # the caller's actor: the reviewer themselves, or a program manager for them
    reason: str = ""  # why a program manager recorded or corrected it


def in_conflict(keys: Collection[str], applicant: str, conflicts: set[tuple[str, str]]) -> bool:
    """Whether a reviewer known by any of keys declared a conflict with the applicant ((reviewer, applicant) pairs)."""
    return any((key, applicant) in conflicts for key in keys)


def check_scorer(
    reviewer: str, application: Application, conflicts: set[tuple[str, str]], keys: Collection[str] = ()
) -> None:
    """keys: every name the reviewer's conflicts may be under (reviewers/N and their email); the reviewer's own."""
    if in_conflict({reviewer, *keys}, application.applicant, conflicts):
        raise FailedPrecondition(
            f"{reviewer} declared a conflict of interest with {application.applicant} and cannot score it",
            type_="CONFLICT_OF_INTEREST",
            subject=application.name,
        )


@dataclass(frozen=True)
class Standing:
    """An application's place in its round's ranking."""

    rank: int
    entry: Ranked
    state: str
