"""Selection, for program managers: the rounds, and a board per round: the seats and how many are taken, the
ranking (raw and normalized scores, and why each stands where it does), the applications by state with their
reviewers and any conflict of interest, and the decision on each application, with its reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.companies.v1 import program_pb2 as ppb
from starlette.requests import Request
from starlette.responses import Response

from services.console.backend import Refusal
from services.console.labels import enum_name
from services.console.pages.home import _all
from services.console.pages.investors import every, number_of, to_date
from services.console.web import Page, admins, posted, refused

STATES = ["SUBMITTED", "WAITLISTED", "SELECTED", "REJECTED"]
# What may become of an application (the service's DECISIONS; it refuses any other).
DECISIONS = {"SUBMITTED": ["SELECTED", "WAITLISTED", "REJECTED"], "WAITLISTED": ["SELECTED", "REJECTED"]}
SCALES = {"raw": ppb.SCORE_SCALE_RAW, "normalized": ppb.SCORE_SCALE_NORMALIZED}


@admins
async def round_list(request: Request, page: Page) -> Response:
    rounds = await every(page.hub.program.ListRounds, ppb.ListRoundsRequest(page_size=100), "rounds", most=100)
    shown = [(r, number_of(r.name), to_date(r.open_date), to_date(r.close_date)) for r in rounds]
    return page.render("selection.html", rounds=shown)


@dataclass(frozen=True)
class Entry:
    """One application on the board: who applied, for what, where it ranks and who reviews it."""

    name: str
    number: int
    applicant: str
    applicant_name: str
    link: str  # the company's page, "" for a person
    seat: str
    state: str
    rank: int
    raw: float
    normalized: float
    reviews: int
    explanation: str
    decision_reason: str
    etag: str
    decisions: list[str]
    reviewers: list[tuple[str, str]] = field(default_factory=list)  # (reviewer's name, review state)

    @property
    def conflicted(self) -> bool:
        return any(state == "CONFLICTED" for _, state in self.reviewers)


@dataclass(frozen=True)
class Seats:
    kind: str
    count: int
    selected: int


@admins
async def board(request: Request, page: Page) -> Response:
    name, hub = f"rounds/{request.path_params['round']}", page.hub
    scale = request.query_params.get("scale", "raw")
    scale = scale if scale in SCALES else "raw"
    selection_round = await hub.program.GetRound(ppb.GetRoundRequest(name=name))
    answers = await _all({
        "applications": every(hub.program.ListApplications,
                              ppb.ListApplicationsRequest(filter=f"round={name}", page_size=500), "applications"),
        "ranking": hub.program.RankApplications(ppb.RankApplicationsRequest(round=name, scale=SCALES[scale])),
        "assignments": every(hub.program.ListReviewAssignments,
                             ppb.ListReviewAssignmentsRequest(filter=f"round={name}", page_size=500), "assignments"),
        "reviewers": every(hub.program.ListReviewers, ppb.ListReviewersRequest(page_size=500), "reviewers"),
    })  # fmt: skip
    for key in ("applications", "ranking"):
        if isinstance(answers[key], Refusal):
            return refused(page, answers[key])
    missing = sorted(k for k, v in answers.items() if isinstance(v, Refusal))
    reviewers = [] if "reviewers" in missing else answers["reviewers"]
    assignments = [] if "assignments" in missing else answers["assignments"]
    who = {r.name: r.korean_name for r in reviewers}
    applications = answers["applications"]
    names = {a.applicant: a.applicant_display_name or a.applicant for a in applications}
    entries = _entries(applications, answers["ranking"].entries, assignments, names, who)
    columns = {state: [e for e in entries if e.state == state] for state in STATES}
    seats = [Seats(enum_name(s, "kind"), s.count, sum(1 for e in columns["SELECTED"] if e.seat == enum_name(s, "kind")))
             for s in selection_round.seats]  # fmt: skip
    conflicts = [(reviewer, e) for e in entries for reviewer, state in e.reviewers if state == "CONFLICTED"]
    return page.render(
        "selection_round.html", live="*", round=selection_round, number=number_of(name), scale=scale, seats=seats,
        ranking=sorted(entries, key=lambda e: e.rank or len(entries) + 1), columns=columns, states=STATES,
        conflicts=conflicts, reviewers=reviewers, missing=missing,
        opens=to_date(selection_round.open_date), closes=to_date(selection_round.close_date),
    )  # fmt: skip


def _entries(
    applications: list[Any], ranked: list[Any], assignments: list[Any], names: dict[str, str], who: dict[str, str]
) -> list[Entry]:
    standing = {r.application: r for r in ranked}
    reviews: dict[str, list[tuple[str, str]]] = {}
    for a in assignments:
        reviews.setdefault(a.application, []).append((who.get(a.reviewer, a.reviewer), enum_name(a, "state")))
    entries = []
    for a in applications:
        r, state = standing.get(a.name), enum_name(a, "state")
        link = f"/{a.applicant}" if a.applicant.startswith("companies/") else ""
        entries.append(Entry(
            a.name, number_of(a.name), a.applicant, names.get(a.applicant, a.applicant), link,
            enum_name(a, "seat_kind"), state, r.rank if r else 0, r.weighted_score if r else 0.0,
            r.normalized_score if r else 0.0, r.reviews if r else 0, r.explanation if r else "",
            a.decision_reason, a.etag, DECISIONS.get(state, []), reviews.get(a.name, []),
        ))  # fmt: skip
    return entries


async def decide(request: Request) -> Response:
    """Selects, waitlists or rejects an application, with the reason the service keeps with it."""
    page, form = await posted(request)
    decision = str(form.get("decision", ""))
    wanted = ppb.ApplicationState.Value(f"APPLICATION_STATE_{decision}") if decision in STATES else 0
    asked = ppb.DecideApplicationRequest(
        name=f"applications/{request.path_params['application']}", reason=str(form.get("reason", "")).strip(),
        decision=ppb.ApplicationState.ValueType(wanted), etag=str(form.get("etag", "")),
    )  # fmt: skip
    decided = await page.hub.program.DecideApplication(asked)
    label = page.app.templates[page.session.lang].filters["enum"](decided, "state")
    back = str(form.get("back", "")) or f"/selection/{number_of(decided.round)}"
    return page.back(back, "ok", page._("The decision is recorded: %(state)s") % {"state": label})


async def declare_conflict(request: Request) -> Response:
    """Records for a reviewer that they may not score an applicant: their score of it stops counting."""
    page, form = await posted(request)
    round_name = f"rounds/{request.path_params['round']}"
    conflict = ppb.Conflict(
        round=round_name,
        reviewer=str(form.get("reviewer", "")),
        applicant=str(form.get("applicant", "")),
        reason=str(form.get("reason", "")).strip(),
    )
    await page.hub.program.DeclareConflict(ppb.DeclareConflictRequest(conflict=conflict))
    said = page._("The conflict of interest is recorded: that reviewer's score of the applicant no longer counts.")
    return page.back(f"/selection/{number_of(round_name)}", "ok", said)
