"""Selection's reviewers: who they are, which applications they are assigned to, and who a selection call acts
as (a reviewer with their own token, or a program manager for a reviewer, with a reason). Pure Python."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from hubcore.errors import FailedPrecondition, NotFound, invalid, refuse_if
from hubcore.resources import NAME_NORMALIZERS, Named, Normalizers, created
from hubcore.text import clean, email_address
from services.companies.program.domain.selection import Application, reviewer_key

ASSIGNED, SCORED, ABSTAINED, CONFLICTED = "ASSIGNED", "SCORED", "ABSTAINED", "CONFLICTED"
MAX_ASSIGNED_AT_ONCE = 200


@dataclass(frozen=True)
class Reviewer(Named):
    collection = "reviewers"

    id: int
    korean_name: str
    email: str
    english_name: str = ""
    affiliation: str = ""
    created_at: datetime | None = None

    @property
    def keys(self) -> frozenset[str]:
        """What conflicts and scores name them by: reviewers/N, and their email as free text typed before."""
        return frozenset({self.name, reviewer_key(self.email)})


REVIEWER_NORMALIZERS: Normalizers = {**NAME_NORMALIZERS, "email": email_address, "affiliation": clean}


def new_reviewer(**fields: object) -> Reviewer:
    reviewer = created(Reviewer, fields, REVIEWER_NORMALIZERS)
    refuse_if(
        (not reviewer.korean_name, "reviewer.korean_name", "is required"),
        (not reviewer.email, "reviewer.email", "is required: the sign-in codes are mailed to it"),
    )
    return reviewer


@dataclass(frozen=True)
class ReviewAssignment:
    """A reviewer assigned to an application; `state` is what became of it (filled by the reads)."""

    application_id: int
    reviewer_id: int
    assigned_by: str
    assigned_at: datetime | None = None
    abstained_at: datetime | None = None
    abstained_by: str = ""
    abstain_reason: str = ""
    state: str = ASSIGNED
    id: int = 0  # the order assignments were made in (their pages)

    @property
    def application(self) -> str:
        return f"applications/{self.application_id}"

    @property
    def reviewer(self) -> str:
        return f"reviewers/{self.reviewer_id}"

    def with_state(self, *, scored: bool, conflicted: bool) -> ReviewAssignment:
        state = ABSTAINED if self.abstained_at else CONFLICTED if conflicted else SCORED if scored else ASSIGNED
        return replace(self, state=state)

    def abstain(self, when: datetime, by: str, reason: str) -> ReviewAssignment:
        if self.state != ASSIGNED:
            raise FailedPrecondition(
                f"{self.reviewer} cannot abstain from {self.application}: it is {self.state}",
                type_=f"REVIEW_{self.state}", subject=self.application,
            )  # fmt: skip
        return replace(self, abstained_at=when, abstained_by=by, abstain_reason=reason, state=ABSTAINED)

    def require_scorable(self) -> None:
        if self.abstained_at is not None:
            raise FailedPrecondition(
                f"{self.reviewer} abstained from {self.application} ({self.abstain_reason}) and cannot score it",
                type_="REVIEW_ABSTAINED", subject=self.application,
            )  # fmt: skip


@dataclass(frozen=True)
class Acting:
    """Who a selection call acts as: `reviewer` is reviewers/N (or, for a program manager in a round without
    assigned reviewers, a free-text name as before); `own` when the reviewer's own token says so; `reason` why a
    program manager acts for them."""

    reviewer: str
    own: bool = False
    reason: str = ""

    @property
    def reviewer_id(self) -> int | None:
        prefix, _, number = self.reviewer.partition("/")
        return int(number) if prefix == "reviewers" and number.isdigit() else None

    def require_reason(self, what: str) -> None:
        """A program manager acting for a registered reviewer says why."""
        if not self.own and self.reviewer_id is not None and not self.reason:
            raise invalid("reason", f"is required when a program manager {what} for {self.reviewer}")


def not_assigned(application: Application, acting: Acting) -> Exception:
    """What a call about an application the reviewer is not assigned to answers: to the reviewer, that it does not
    exist (they see only theirs); to a program manager, why it cannot be done."""
    if acting.own:
        return NotFound("Application", application.name)
    return FailedPrecondition(
        f"{acting.reviewer} is not assigned to {application.name}", type_="NOT_ASSIGNED", subject=application.name
    )
