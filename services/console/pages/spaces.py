"""Spaces: floors 6 and 8 drawn as plans with each office's occupant and since when, the open desks, occupancy
over the last twelve months, and the program managers' two acts: moving a resident (a selected company, or a
selected individual: a person admitted without a company) into a free space, and ending an assignment
(graduated, withdrawn, or moved to another space)."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as ppb
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from hubcore.convert import date_message, seoul_today
from services.console import plans
from services.console.backend import Refusal
from services.console.charts import Series, line_chart
from services.console.labels import short_names
from services.console.pages.home import _all, names_of
from services.console.web import Page, act, refused

MOVE_OUT_REASONS = short_names(ppb.MoveOutReason)


async def spaces(request: Request) -> Response:
    page = Page(request)
    if (account := page.account) is None or account.role != "admin":
        return page.back("/")
    hub = page.hub
    answers = await _all({
        "spaces": hub.program.ListSpaces(ppb.ListSpacesRequest()),
        "today": hub.program.GetOccupancy(ppb.GetOccupancyRequest()),
        "history": hub.program.GetOccupancyHistory(ppb.GetOccupancyHistoryRequest(months=12)),
        "candidates": hub.companies.ListCompanies(cpb.ListCompaniesRequest(
            filter="status=SELECTED", page_size=200, order_by="korean_name")),
        "individuals": hub.companies.ListPeople(cpb.ListPeopleRequest(filter="role=INDIVIDUAL", page_size=500)),
    })  # fmt: skip
    for key in ("spaces", "today"):
        if isinstance(answers[key], Refusal):
            return refused(page, answers[key])
    occupancy = answers["today"]
    by_space = {a.space: a for a in occupancy.assignments}
    individuals = [] if isinstance(answers["individuals"], Refusal) else list(answers["individuals"].people)
    names = await names_of(hub, [a.company for a in occupancy.assignments if a.company])
    names |= {p.name: p.korean_name for p in individuals}
    formats = page.app.templates[page.session.lang].filters

    def room(space: Any) -> plans.Room:
        held = by_space.get(space.name)
        if held is None:
            return plans.Room(space.label, "", "", "")
        since = formats["day"](date(held.move_in_date.year, held.move_in_date.month, held.move_in_date.day))
        holder = held.holder or held.company  # an individual has no page of its own: no link
        link = f"/{holder}" if holder.startswith("companies/") else ""
        return plans.Room(space.label, names.get(holder, holder), link, since)

    all_spaces = sorted(answers["spaces"].spaces, key=lambda s: (s.floor, s.label))
    offices = [s for s in all_spaces if s.kind == ppb.SPACE_KIND_PRIVATE_OFFICE]
    floors = sorted({s.floor for s in offices})
    drawn = {
        floor: Markup(plans.offices(page._("Floor %(floor)s") % {"floor": floor},
                                    [room(s) for s in offices if s.floor == floor], page._("free")))
        for floor in floors
    }  # fmt: skip
    open_desks = [s for s in all_spaces if s.kind == ppb.SPACE_KIND_OPEN_DESK]
    history = [] if isinstance(answers["history"], Refusal) else list(answers["history"].points)
    months = [f"{p.date.year % 100:02d}.{p.date.month:02d}" for p in history]
    return page.render(
        "spaces.html", live="*", occupancy=occupancy, floors=drawn,
        desks=Markup(plans.desks(page._("Open space"), [room(s) for s in open_desks])),
        offices_chart=Markup(line_chart(Series(page._("Offices taken"), list(zip(
            months, [float(p.offices_taken) for p in history], strict=True))), page._("Offices taken by month"))),
        desks_chart=Markup(line_chart(Series(page._("Desks taken"), list(zip(
            months, [float(p.desks_taken) for p in history], strict=True))), page._("Desks taken by month"))),
        free=[s for s in all_spaces if s.name not in by_space],
        assignments=sorted(occupancy.assignments, key=lambda a: a.space), labels={s.name: s.label for s in all_spaces},
        names=names, candidates=[] if isinstance(answers["candidates"], Refusal) else answers["candidates"].companies,
        selected_individuals=[p for p in individuals if p.status == cpb.COMPANY_STATUS_SELECTED],
        reasons=MOVE_OUT_REASONS, today=seoul_today().isoformat(),
    )  # fmt: skip


def _day(text: str) -> Any:
    try:
        return date_message(date.fromisoformat(text))
    except ValueError:
        return None  # the service names the missing date


async def assign(request: Request) -> Response:
    page = Page(request, await request.form())
    assert page.form is not None
    form = page.form
    holder = str(form.get("holder", "")) or str(form.get("company", ""))  # a company or an individual
    assignment = ppb.Assignment(space=str(form.get("space", "")), holder=holder,
                                move_in_date=_day(str(form.get("move_in", ""))))  # fmt: skip
    request_id = str(form.get("request_id", "")) or str(uuid.uuid4())
    asked = ppb.AssignSpaceRequest(assignment=assignment, request_id=request_id)
    said = page._("The space is assigned: the resident moves in on the move-in day.")
    return await act(page, page.hub.program.AssignSpace(asked), "/spaces", said)


async def end(request: Request) -> Response:
    page = Page(request, await request.form())
    assert page.form is not None
    form = page.form
    reason = str(form.get("reason", ""))
    asked = ppb.EndAssignmentRequest(
        name=f"assignments/{request.path_params['assignment']}", move_out_date=_day(str(form.get("move_out", ""))),
    )  # fmt: skip
    if reason in MOVE_OUT_REASONS:  # otherwise left unset: the service names the field
        asked.reason = ppb.MoveOutReason.Value(f"MOVE_OUT_REASON_{reason}")
    said = page._("The assignment ends on the day given.")
    return await act(page, page.hub.program.EndAssignment(asked), "/spaces", said)
