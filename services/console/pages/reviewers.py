"""A selection reviewer's pages: their home (`/reviewers/N`: the applications assigned to them, to review and
reviewed) and an application's page (`/applications/N`: the round's questions answered, the attachments, and
the reviewer's score on the round's criteria, stepping back, or declaring a conflict of interest).

Every call is the reviewer's own: the companies service shows them only what is assigned to them (another
application is NOT_FOUND) and decides what they may do; a form offered here is a courtesy. A reviewer may not
read companies or people: an application carries its applicant's name (`applicant_display_name`), so that they
know whom they judge and can declare a conflict of interest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from hub.companies.v1 import program_pb2 as ppb
from starlette.requests import Request
from starlette.responses import Response

from services.console.backend import Refusal
from services.console.labels import enum_name
from services.console.pages.home import _all
from services.console.pages.investors import every, number_of
from services.console.web import Page, act, posted, refused, signed_in, whole_number

LIST_SIZE = 500
DONE = ("SCORED", "ABSTAINED", "CONFLICTED")


@dataclass(frozen=True)
class Review:
    """One application assigned to the reviewer, as their home lists it."""

    number: int
    round_title: str
    applicant: str  # in words
    seat: str
    state: str  # the review's: ASSIGNED, SCORED…
    decision: str  # the application's: SUBMITTED, SELECTED…
    assigned: Any  # a Timestamp
    abstain_reason: str


@signed_in
async def reviewer_home(request: Request, page: Page) -> Response:
    name, hub = f"reviewers/{request.path_params['reviewer']}", page.hub
    reviewer = await hub.program.GetReviewer(ppb.GetReviewerRequest(name=name))
    answers = await _all({
        "assignments": every(hub.program.ListReviewAssignments,
                             ppb.ListReviewAssignmentsRequest(filter=f"reviewer={name}", page_size=LIST_SIZE),
                             "assignments"),
        "applications": every(hub.program.ListApplications,
                              ppb.ListApplicationsRequest(filter=f"reviewer={name}", page_size=LIST_SIZE),
                              "applications"),
    })  # fmt: skip
    for answer in answers.values():
        if isinstance(answer, Refusal):
            return refused(page, answer)
    applications = {a.name: a for a in answers["applications"]}
    titles = await round_titles(page, {a.round for a in applications.values()})
    names = {a.applicant: a.applicant_display_name or a.applicant for a in applications.values()}
    reviews = []
    for assignment in answers["assignments"]:
        a = applications.get(assignment.application)
        if a is None:  # assigned after the applications were listed: the next visit shows it
            continue
        reviews.append(Review(
            number_of(a.name), titles[a.round], names[a.applicant], enum_name(a, "seat_kind"),
            enum_name(assignment, "state"), enum_name(a, "state"), assignment.assign_time, assignment.abstain_reason,
        ))  # fmt: skip
    return page.render(
        "reviewer.html", reviewer=reviewer, to_review=[r for r in reviews if r.state not in DONE],
        reviewed=[r for r in reviews if r.state in DONE],
    )  # fmt: skip


@signed_in
async def application_page(request: Request, page: Page) -> Response:
    name, hub = f"applications/{request.path_params['application']}", page.hub
    application = await hub.program.GetApplication(ppb.GetApplicationRequest(name=name))
    answers = await _all({
        "round": hub.program.GetRound(ppb.GetRoundRequest(name=application.round)),
        "assignments": every(hub.program.ListReviewAssignments,
                             ppb.ListReviewAssignmentsRequest(filter=f"application={name}", page_size=LIST_SIZE),
                             "assignments"),
    })  # fmt: skip
    selection_round = None if isinstance(answers["round"], Refusal) else answers["round"]
    assignments = [] if isinstance(answers["assignments"], Refusal) else answers["assignments"]
    mine = next((a for a in assignments if a.reviewer == page.scope), None) if page.role == "reviewer" else None
    untitled = page._("Selection round %(n)s") % {"n": number_of(application.round)}
    others = [(number_of(a.reviewer), enum_name(a, "state")) for a in assignments] if mine is None else []
    return page.render(
        "application.html", application=application, number=number_of(name), round=selection_round,
        round_title=selection_round.title if selection_round else untitled,
        applicant=application.applicant_display_name or application.applicant,
        mine=mine, state=enum_name(mine, "state") if mine else "", assignments=others,
        reviewer_home=f"/{page.scope}" if page.role == "reviewer" else "",
    )  # fmt: skip


async def round_titles(page: Page, rounds: set[str]) -> dict[str, str]:
    """Each round's title; one that cannot be read is named by its number (선발 2)."""
    found = await _all({r: page.hub.program.GetRound(ppb.GetRoundRequest(name=r)) for r in sorted(rounds)})
    words = page._("Selection round %(n)s")
    return {r: words % {"n": number_of(r)} if isinstance(v, Refusal) else v.title for r, v in found.items()}


async def score(request: Request) -> Response:
    """The reviewer's score, on every criterion of the round, under the name their token gives."""
    page, form = await posted(request)
    name = f"applications/{request.path_params['application']}"
    values = {k.removeprefix("score-"): whole_number(v) for k, v in form.multi_items() if k.startswith("score-")}
    given = ppb.Score(application=name, values=values, comment=str(form.get("comment", "")).strip())
    try:
        scored = await page.hub.program.ScoreApplication(ppb.ScoreApplicationRequest(score=given))
    except Refusal as refusal:
        if refusal.code == grpc.StatusCode.ALREADY_EXISTS:
            once = page._("You have already scored this application: a score is given once.")
            return page.back(f"/{name}", "error", once)
        return refused(page, refusal, back=f"/{name}")
    said = page._("Your score is recorded: %(score)s out of 10, weighted by the round's criteria.")
    return page.back(f"/{name}", "ok", said % {"score": f"{scored.weighted:.2f}"})


async def abstain(request: Request) -> Response:
    """The reviewer steps back from an application, saying why."""
    page, form = await posted(request)
    name = f"applications/{request.path_params['application']}"
    asked = ppb.AbstainFromReviewRequest(application=name, reason=str(form.get("reason", "")).strip())
    said = page._("You stepped back from this application.")
    return await act(page, page.hub.program.AbstainFromReview(asked), f"/{name}", said)


async def declare_conflict(request: Request) -> Response:
    """The reviewer's own conflict of interest with the application's applicant, in its round."""
    page, form = await posted(request)
    name = f"applications/{request.path_params['application']}"

    async def declare() -> None:
        application = await page.hub.program.GetApplication(ppb.GetApplicationRequest(name=name))
        conflict = ppb.Conflict(round=application.round, applicant=application.applicant,
                                reason=str(form.get("reason", "")).strip())  # fmt: skip
        await page.hub.program.DeclareConflict(ppb.DeclareConflictRequest(conflict=conflict))

    said = page._("Your conflict of interest is recorded: you will not score this applicant.")
    return await act(page, declare(), f"/{name}", said)
