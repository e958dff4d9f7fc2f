"""One consulting session: what it is and what became of it, and what may be done with it now: complete it with
notes and action items, mark a no-show, move it to another time (a conflict answered with the free times of
that week), cancel it with a reason, write the notes of a completed one later,
complete its action items, and (its founder) rate a completed one. Who may do which is the consulting service's
to say: a mentor acts on the sessions they lead, a program manager on any, a founder rates their company's; a
refusal comes back as words on the page the form was on."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from google.type import interval_pb2
from hub.consulting.v1 import consulting_pb2 as spb
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from services.console.backend import Refusal
from services.console.labels import short_names
from services.console.pages.calendar import Choice, FreeTimes, slot_search, zone_of
from services.console.pages.directory import Directory, company_names, session_names, words
from services.console.pages.home import _all
from services.console.web import Page, act, posted, refused, signed_in
from services.console.weeks import date_pb, day_of, local_day, local_moment, local_text, moment_of, timestamp

ACTION_ROWS = 3  # action item rows a completion form offers
FITS = short_names(spb.SessionFit)


def to_rate(sessions: list[Any]) -> list[Any]:
    """The completed sessions that have no feedback yet (a founder rates each once)."""
    return [s for s in sessions if s.state == spb.SESSION_STATE_COMPLETED and not s.feedback.create_time.seconds]


@signed_in
async def session_page(request: Request, page: Page) -> Response:
    name, hub = f"sessions/{request.path_params['session']}", page.hub
    session = await hub.consulting.GetSession(spb.GetSessionRequest(name=name))
    role, zone = page.role, zone_of(page)
    moving = role == "admin" and session.state == spb.SESSION_STATE_SCHEDULED
    day, clock = local_text(session.interval.start_time, zone)
    choice = Choice(company=session.company, mentor=session.mentor, session_type=session.session_type,
                    room=session.room, day=request.query_params.get("day", day),
                    time=request.query_params.get("time", clock))  # fmt: skip
    search = slot_search(choice, datetime.now(zone).date())
    items_of = spb.ListActionItemsRequest(filter=f"session={name}", page_size=100)
    asked = {"items": hub.consulting.ListActionItems(items_of)}
    if moving and request.query_params.get("find") == "1":  # a reschedule refused: the free times of that week
        asked["slots"] = hub.consulting.FindAvailableSlots(search)
    answers = await _all(asked)
    items = answers["items"]
    names = Directory(companies=company_names([session]), words=words(page), named=session_names([session]))
    return page.render(
        "session.html", s=session, names=names, items=None if isinstance(items, Refusal) else list(items.action_items),
        week=local_day(session.interval.start_time, zone).isoformat(), action_rows=range(1, ACTION_ROWS + 1),
        leads=role in ("admin", "mentor"), admin=role == "admin", rate=role == "founder" and bool(to_rate([session])),
        request_id=str(uuid.uuid4()), moving=moving, choice=choice,
        free=FreeTimes.of(page, search, answers["slots"]) if "slots" in answers else None,
    )  # fmt: skip


async def reschedule(request: Request) -> Response:
    """Moves a scheduled session to the free time chosen (start) or to the day and time typed in, Seoul time; it
    keeps its length and room. A refusal (a conflict above all) comes back with the time kept and the free times
    of that week offered."""
    page, form = await posted(request)
    here, zone = _here(request), zone_of(page)
    slot, day, clock = str(form.get("start", "")), str(form.get("day", "")), str(form.get("time", ""))
    start = moment_of(slot) if slot else local_moment(day, clock, zone)
    if start is not None:
        day, clock = local_text(timestamp(start), zone)
    again = f"{here}?{urlencode({'day': day, 'time': clock, 'find': '1'})}"
    if start is None:
        return page.back(again, "error", page._("Enter the new day and time, or choose a free time."))
    asked = spb.RescheduleSessionRequest(
        name=here[1:], interval=interval_pb2.Interval(start_time=timestamp(start)),
        reason=str(form.get("reason", "")), etag=str(form.get("etag", "")),
    )  # fmt: skip
    try:
        moved = await page.hub.consulting.RescheduleSession(asked)
    except Refusal as refusal:
        return refused(page, refusal, back=again)
    when = page.app.templates[page.session.lang].filters["when"](moved.interval.start_time)
    return page.back(here, "ok", page._("The session is moved to %(when)s.") % {"when": when})


def _here(request: Request) -> str:
    return f"/sessions/{request.path_params['session']}"


def _back(page: Page, fallback: str) -> str:
    assert page.form is not None
    return str(page.form.get("back", "")) or fallback


def action_items(form: FormData) -> list[spb.NewActionItem]:
    """The action item rows a form filled in (a row left wholly empty is no item); the service says what is
    missing in a row begun."""
    items = []
    for n in range(1, ACTION_ROWS + 1):
        description, owner = str(form.get(f"item{n}", "")).strip(), str(form.get(f"owner{n}", "")).strip()
        due = day_of(str(form.get(f"due{n}", "")))
        if not (description or owner or due):
            continue
        item = spb.NewActionItem(description=description, owner=owner)
        if due is not None:
            item.due_date.CopyFrom(date_pb(due))
        items.append(item)
    return items


async def _act(page: Page, call: Any, said: str) -> Response:
    return await act(page, call, _back(page, _here(page.request)), said)


async def complete(request: Request) -> Response:
    page, form = await posted(request)
    asked = spb.CompleteSessionRequest(name=_here(request)[1:], notes=str(form.get("notes", "")),
                                       action_items=action_items(form), etag=str(form.get("etag", "")))  # fmt: skip
    return await _act(page, page.hub.consulting.CompleteSession(asked), page._("The session is completed."))


async def record_notes(request: Request) -> Response:
    page, form = await posted(request)
    asked = spb.RecordSessionNotesRequest(name=_here(request)[1:], notes=str(form.get("notes", "")),
                                          action_items=action_items(form), etag=str(form.get("etag", "")))  # fmt: skip
    return await _act(page, page.hub.consulting.RecordSessionNotes(asked), page._("The notes are recorded."))


async def no_show(request: Request) -> Response:
    page, form = await posted(request)
    asked = spb.MarkSessionNoShowRequest(name=_here(request)[1:], etag=str(form.get("etag", "")))
    return await _act(page, page.hub.consulting.MarkSessionNoShow(asked), page._("The session is marked a no-show."))


async def cancel(request: Request) -> Response:
    page, form = await posted(request)
    asked = spb.CancelSessionRequest(name=_here(request)[1:], reason=str(form.get("reason", "")),
                                     etag=str(form.get("etag", "")))  # fmt: skip
    return await _act(page, page.hub.consulting.CancelSession(asked), page._("The session is cancelled."))


async def complete_action_item(request: Request) -> Response:
    page, form = await posted(request)
    asked = spb.CompleteActionItemRequest(name=f"actionItems/{request.path_params['item']}",
                                          etag=str(form.get("etag", "")))  # fmt: skip
    said = page._("The action item is done.")
    return await act(page, page.hub.consulting.CompleteActionItem(asked), _back(page, "/"), said)


async def record_feedback(request: Request) -> Response:
    """The founder's feedback on a completed session of their company: 1 to 4, whether the mentor fits them, a
    word. The form's request_id makes a second press of the button (or a resent form) the same feedback; it sends
    no etag, since notes written meanwhile change nothing the founder rates (the service takes one feedback)."""
    page, form = await posted(request)
    rating, fit = str(form.get("rating", "")), str(form.get("fit", ""))
    asked = spb.RecordSessionFeedbackRequest(
        name=_here(request)[1:], rating=int(rating) if rating.isdigit() and len(rating) < 3 else 0,
        fit=spb.SessionFit.Value(f"SESSION_FIT_{fit}") if fit in FITS else spb.SESSION_FIT_UNSPECIFIED,
        comment=str(form.get("comment", "")), request_id=str(form.get("request_id", "")) or str(uuid.uuid4()),
    )  # fmt: skip
    said = page._("Thank you: your feedback is recorded.")
    return await _act(page, page.hub.consulting.RecordSessionFeedback(asked), said)
