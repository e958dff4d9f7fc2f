"""Mentors. The program managers' list, and one mentor's page, which is also a mentor's home: their week, their
sessions to come and of the last 30 days (the notes of a completed one written there), the open action items of
their sessions (each with its company and a button to mark it done), the exceptions to their week (a vacation,
extra hours), their usual week (changed by the mentor or a program manager: a window added or removed), and
their calendar as an iCalendar file. Each part is asked of the consulting service as the
signed-in person; a part their token may not read is left out, and the service refuses what they may not do."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from google.protobuf import field_mask_pb2
from google.type import interval_pb2
from hub.consulting.v1 import consulting_pb2 as spb
from hub.ops.v1 import identities_pb2 as idpb
from starlette.requests import Request
from starlette.responses import Response

from services.console import hours
from services.console.backend import Refusal
from services.console.labels import short_names
from services.console.pages.calendar import zone_of
from services.console.pages.consulting_setup import MENTOR_KINDS
from services.console.pages.directory import LIST_SIZE, directory, name_companies_of
from services.console.pages.home import _all, _ok
from services.console.pages.sessions import ACTION_ROWS
from services.console.web import Page, act, admins, posted, refused, signed_in
from services.console.weeks import local_moment, rfc3339, timestamp

RECENT_DAYS = 30
EXCEPTION_KINDS = short_names(spb.ExceptionKind)


@admins
async def mentor_list(request: Request, page: Page) -> Response:
    found = await page.hub.consulting.ListMentors(spb.ListMentorsRequest(page_size=LIST_SIZE))
    return page.render("mentors.html", mentors=sorted(found.mentors, key=lambda m: m.korean_name),
                       kinds=MENTOR_KINDS, request_id=str(uuid.uuid4()))  # fmt: skip


@signed_in
async def mentor_page(request: Request, page: Page) -> Response:
    name, hub = f"mentors/{request.path_params['mentor']}", page.hub
    mentor = await hub.consulting.GetMentor(spb.GetMentorRequest(name=name))
    now = datetime.now(UTC)
    since = now - timedelta(days=RECENT_DAYS)

    def sessions(*terms: str) -> spb.ListSessionsRequest:
        return spb.ListSessionsRequest(filter=" AND ".join((f"mentor={name}", *terms)), page_size=100)

    asked = {
        "upcoming": hub.consulting.ListSessions(sessions(f"start_after={rfc3339(now)}")),
        "recent": hub.consulting.ListSessions(
            sessions(f"start_after={rfc3339(since)}", f"start_before={rfc3339(now)}")
        ),
        "exceptions": hub.consulting.ListAvailabilityExceptions(
            spb.ListAvailabilityExceptionsRequest(mentor=name, page_size=100)
        ),
        "items": hub.consulting.ListActionItems(
            spb.ListActionItemsRequest(filter=f"mentor={name} AND state=OPEN", page_size=100)
        ),
    }
    if page.role == "admin":  # whether they can sign in
        asked["identities"] = hub.identities.ListIdentities(
            idpb.ListIdentitiesRequest(filter=f"scope={name} AND state=ACTIVE", page_size=10)
        )
    answers = await _all(asked)
    upcoming, recent = _ok(answers, "upcoming", "sessions"), _ok(answers, "recent", "sessions")[::-1]
    names = await directory(page, upcoming + recent)
    exceptions = answers["exceptions"]
    items = None if isinstance(answers["items"], Refusal) else list(answers["items"].action_items)
    await name_companies_of(page, names, items or [])
    return page.render(
        "mentor.html", mentor=mentor, upcoming=upcoming, recent=recent, names=names,
        exceptions=None if isinstance(exceptions, Refusal) else exceptions.availability_exceptions, items=items,
        missing=sorted(k for k in ("upcoming", "recent") if isinstance(answers[k], Refusal)),
        admin=page.role == "admin", kinds=EXCEPTION_KINDS,
        signs_in=bool(_ok(answers, "identities", "identities")), action_rows=range(1, ACTION_ROWS + 1),
        request_id=str(uuid.uuid4()), today=datetime.now(zone_of(page)).date().isoformat(),
        week=hours.by_day(hours.Window.of(w) for w in mentor.weekly_availability),
        keeps_week=page.role == "admin" or page.scope == name,
        draft={k: request.query_params.get(f"hours_{k}", "") for k in ("day", "start", "end")},
    )  # fmt: skip


@signed_in
async def export_calendar(request: Request, page: Page) -> Response:
    """The mentor's sessions as an iCalendar file, for their calendar app."""
    number = request.path_params["mentor"]
    body = await page.hub.consulting.ExportCalendar(spb.ExportCalendarRequest(owner=f"mentors/{number}"))
    disposition = f'attachment; filename="mentor-{number}.ics"'
    return Response(body.data, media_type=body.content_type or "text/calendar",
                    headers={"content-disposition": disposition})  # fmt: skip


async def create_exception(request: Request) -> Response:
    """A vacation or extra hours, typed as days and times in the hub's zone."""
    page, form = await posted(request)
    name = f"mentors/{request.path_params['mentor']}"
    zone = zone_of(page)
    start = local_moment(str(form.get("start_day", "")), str(form.get("start_time", "")) or "00:00", zone)
    end = local_moment(str(form.get("end_day", "")), str(form.get("end_time", "")) or "00:00", zone)
    if start is None or end is None:
        return page.back(f"/{name}", "error", page._("Enter the first and the last day of the exception."))
    if not form.get("end_time"):
        end += timedelta(days=1)  # a last day without a time: the whole of it
    kind = str(form.get("kind", ""))
    kind = kind if kind in EXCEPTION_KINDS else "UNSPECIFIED"  # the service says it is required
    exception = spb.AvailabilityException(
        mentor=name, kind=spb.ExceptionKind.Value(f"EXCEPTION_KIND_{kind}"),
        interval=interval_pb2.Interval(start_time=timestamp(start), end_time=timestamp(end)),
        reason=str(form.get("reason", "")),
    )  # fmt: skip
    asked = spb.CreateAvailabilityExceptionRequest(
        availability_exception=exception, request_id=str(form.get("request_id", "")) or str(uuid.uuid4())
    )
    said = page._("The exception is saved.")
    return await act(page, page.hub.consulting.CreateAvailabilityException(asked), f"/{name}", said)


async def delete_exception(request: Request) -> Response:
    page = Page(request, await request.form())
    asked = spb.DeleteAvailabilityExceptionRequest(name=f"availabilityExceptions/{request.path_params['exception']}")
    back, said = f"/mentors/{request.path_params['mentor']}", page._("The exception is removed.")
    return await act(page, page.hub.consulting.DeleteAvailabilityException(asked), back, said)


# The usual week


async def add_hours(request: Request) -> Response:
    """A window added to the mentor's week, checked here first (a malformed time, an end before the start, an
    overlap: said with the field, nothing sent), then sent with the etag the page was drawn with."""
    page, form = await posted(request)
    typed = {k: str(form.get(k, "")) for k in ("day", "start", "end")}
    again = f"/mentors/{request.path_params['mentor']}?{urlencode({f'hours_{k}': v for k, v in typed.items()})}"
    return await _change_week(page, lambda week: hours.with_window(week, hours.read_window(**typed)), again)


async def remove_hours(request: Request) -> Response:
    page, form = await posted(request)
    try:
        gone = hours.read_window(str(form.get("day", "")), str(form.get("start", "")), str(form.get("end", "")))
    except hours.Problem:
        gone = None  # not a window the page drew: nothing to remove
    return await _change_week(page, lambda week: hours.without_window(week, gone) if gone else week)


Change = Callable[[list[hours.Window]], list[hours.Window]]


async def _change_week(page: Page, change: Change, again: str = "") -> Response:
    form = page.form
    assert form is not None
    name = f"mentors/{page.request.path_params['mentor']}"
    back = f"/{name}"
    try:
        mentor = await page.hub.consulting.GetMentor(spb.GetMentorRequest(name=name))
        week = change([hours.Window.of(w) for w in mentor.weekly_availability])
        changed = spb.Mentor(name=name, weekly_availability=[w.pb() for w in week], etag=str(form.get("etag", "")))
        mask = field_mask_pb2.FieldMask(paths=["weekly_availability"])
        await page.hub.consulting.UpdateMentor(spb.UpdateMentorRequest(mentor=changed, update_mask=mask))
    except hours.Problem as problem:
        return page.back(again or back, "error", _problem_words(page, problem))
    except Refusal as refusal:
        return refused(page, refusal, back=again or back)
    return page.back(back, "ok", page._("The usual week is saved."))


def _problem_words(page: Page, problem: hours.Problem) -> str:
    _ = page._
    field = {"day": _("Day of the week"), "start": _("From"), "end": _("Until")}[problem.field]
    if problem.kind == "order":
        return _("%(field)s: the hours must end after they start.") % {"field": field}
    if problem.kind == "overlap" and problem.other:
        other = problem.other
        shown = f"{page.filters['weekday_name'](other.day)} {other.start_text}–{other.end_text}"
        return _("%(field)s: these hours overlap %(hours)s, which the week already has.") % {
            "field": field, "hours": shown
        }  # fmt: skip
    if problem.field == "day":
        return _("%(field)s: choose a day of the week.") % {"field": field}
    return _("%(field)s: write a time as HH:MM, such as 09:30 (24:00 only as an end).") % {"field": field}
