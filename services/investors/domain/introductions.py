"""The company directory (a read model of the companies service's events), what a firm may be shown of a
company, and introductions: a double opt-in, as a state machine. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from hubcore.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from hubcore.resources import Named, OfCompany, Versioned
from hubcore.text import clean

# The company directory (a read model of the companies service's events)


@dataclass(frozen=True)
class DirectoryCompany(Named):
    collection = "companies"

    id: int
    korean_name: str
    sector: str
    english_name: str = ""
    stage: str = ""
    status: str = ""
    tags: tuple[str, ...] = ()
    website: str = ""
    archived: bool = False
    version: int = 0


# What a program manager may share with a firm, and what is shared unless they say otherwise. Everything
# else the directory holds (status, archival) stays inside the hub.
SHAREABLE_FIELDS = ("korean_name", "english_name", "sector", "stage", "tags", "website")
DEFAULT_SHARED_FIELDS = ("korean_name", "english_name", "sector", "stage")


def shared_fields(requested: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    if not requested:
        return DEFAULT_SHARED_FIELDS
    unknown = [f for f in requested if f not in SHAREABLE_FIELDS]
    if unknown:
        allowed = ", ".join(SHAREABLE_FIELDS)
        raise InvalidArgument([("introduction.shared_fields", f"{unknown[0]!r} cannot be shared (allowed: {allowed})")])
    return tuple(f for f in SHAREABLE_FIELDS if f in requested)


# Introductions: double opt-in, as a state machine

REQUESTED, COMPANY_CONSENTED, COMPANY_DECLINED = "REQUESTED", "COMPANY_CONSENTED", "COMPANY_DECLINED"
PARTNER_ACCEPTED, PARTNER_DECLINED, MEETING_HELD = "PARTNER_ACCEPTED", "PARTNER_DECLINED", "MEETING_HELD"
INVESTED, PASSED, ON_HOLD, CANCELLED = "INVESTED", "PASSED", "ON_HOLD", "CANCELLED"
STATES = (
    REQUESTED, COMPANY_CONSENTED, COMPANY_DECLINED, PARTNER_ACCEPTED, PARTNER_DECLINED,
    MEETING_HELD, INVESTED, PASSED, ON_HOLD, CANCELLED,
)  # fmt: skip
OUTCOMES = (INVESTED, PASSED, ON_HOLD)

# Who may make a transition: a program manager ("admin", also recording answers given to them by mail or
# phone), the company's founder ("founder", AnswerIntroduction) and the firm's partner ("partner", through the
# partner API). A program manager records the company's answer only with a reason (sharing.acting_for).
HUB, FIRM = frozenset({"admin"}), frozenset({"admin", "partner"})
COMPANY = frozenset({"admin", "founder"})
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    REQUESTED: {COMPANY_CONSENTED: COMPANY, COMPANY_DECLINED: COMPANY, CANCELLED: HUB},
    COMPANY_CONSENTED: {PARTNER_ACCEPTED: FIRM, PARTNER_DECLINED: FIRM, CANCELLED: HUB},
    PARTNER_ACCEPTED: {MEETING_HELD: FIRM, CANCELLED: HUB},
    MEETING_HELD: {INVESTED: FIRM, PASSED: FIRM, ON_HOLD: FIRM},
    ON_HOLD: {INVESTED: FIRM, PASSED: FIRM},
    COMPANY_DECLINED: {},
    PARTNER_DECLINED: {},
    INVESTED: {},
    PASSED: {},
    CANCELLED: {},
}
FINAL_STATES = frozenset(s for s, targets in TRANSITIONS.items() if not targets)


@dataclass(frozen=True)
class Transition:
    from_state: str
    to_state: str
    actor: str
    reason: str
    at: datetime
    on_behalf_of: str = ""  # "companies/7": a program manager recorded the company's answer for it


COMPANY_ANSWERS = (COMPANY_CONSENTED, COMPANY_DECLINED)


@dataclass(frozen=True)
class Introduction(Versioned, OfCompany):
    collection = "introductions"

    id: int
    company_id: int
    firm_id: int
    note: str
    partner_id: int | None = None
    state: str = REQUESTED
    shared_fields: tuple[str, ...] = DEFAULT_SHARED_FIELDS
    meeting_at: datetime | None = None
    shared_at: datetime | None = None  # the company's consent: from then on the firm sees it
    closed_at: datetime | None = None  # a final state: from then on another may be requested
    requested_by: str = ""  # "partners/4": the firm asked for it (the partner API), so it sees it from the start
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1
    history: tuple[Transition, ...] = field(default=())

    @property
    def is_open(self) -> bool:
        return self.state not in FINAL_STATES

    def visible_to_firm(self, firm_id: int) -> bool:
        """A firm sees its own introductions once the company consented (double opt-in), or from the start
        those it asked for (it knows of them already)."""
        return self.firm_id == firm_id and (self.shared_at is not None or bool(self.requested_by))

    def transition(
        self, target: str, *, role: str, actor: str, reason: str, at: datetime, meeting_at: datetime | None = None,
        on_behalf_of: str = "",
    ) -> tuple[Introduction, Transition]:  # fmt: skip
        allowed = TRANSITIONS[self.state]
        if target == self.state:
            raise FailedPrecondition(f"{self.name} is already {target}", type_="STATE", subject=self.name)
        if target not in allowed:
            choices = ", ".join(allowed) or "none (final)"
            raise FailedPrecondition(
                f"{self.name} cannot go from {self.state} to {target}; allowed from {self.state}: {choices}",
                type_="STATE_TRANSITION",
                subject=self.name,
            )
        if role not in allowed[target]:
            raise PermissionDenied(f"a {role} may not move an introduction to {target}")
        if target == MEETING_HELD:
            meeting_at = meeting_at or at
            if meeting_at > at + timedelta(minutes=5):
                raise InvalidArgument([("meeting_time", "is in the future; record a meeting once it took place")])
        step = Transition(self.state, target, actor, reason.strip(), at, on_behalf_of)
        moved = replace(
            self,
            state=target,
            meeting_at=meeting_at if target == MEETING_HELD else self.meeting_at,
            shared_at=at if target == COMPANY_CONSENTED else self.shared_at,
            closed_at=at if target in FINAL_STATES else None,
            version=self.version + 1,
            history=(*self.history, step),
        )
        return moved, step


def new_introduction(
    *, company_id: int, firm_id: int, note: str, partner_id: int | None, shared: tuple[str, ...], actor: str,
    at: datetime, requested_by: str = "",
) -> Introduction:  # fmt: skip
    if not clean(note):
        raise InvalidArgument([("note" if requested_by else "introduction.note", "is required")])
    return Introduction(
        id=0,
        company_id=company_id,
        firm_id=firm_id,
        note=clean(note),
        partner_id=partner_id,
        shared_fields=shared,
        requested_by=requested_by,
        history=(Transition("", REQUESTED, actor, "", at),),
    )
