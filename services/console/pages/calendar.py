"""The consulting calendar of the program managers: a week of sessions, one row per mentor (Monday to Sunday in
the hub's zone); booking a session, in a free slot the consulting service finds or at a time typed in (a
conflict comes back as words on the booking page, its choices kept); the rooms and session types."""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from google.type import interval_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.consulting.v1 import consulting_pb2 as spb
from starlette.datastructures import FormData, QueryParams
from starlette.requests import Request
from starlette.responses import Response

from services.console.backend import Refusal
from services.console.labels import enum_name
from services.console.pages.consulting_setup import CATEGORIES
from services.console.pages.directory import LIST_SIZE, Directory, directory, every_session
from services.console.pages.home import _all, _ok
from services.console.web import Page, admins, headline_of, refused
from services.console.weeks import Week, date_pb, day_of, local_day, local_moment, moment_of, rfc3339, timestamp

SEARCH_DAYS = 7  # free slots are looked for in the week from the day chosen
SLOTS_SHOWN = 120
REFS = {
    "company": re.compile(r"companies/\d+"),
    "mentor": re.compile(r"mentors/\d+"),
    "session_type": re.compile(r"sessionTypes/\d+"),
    "room": re.compile(r"rooms/\d+"),
}


def zone_of(page: Page) -> ZoneInfo:
    return ZoneInfo(page.app.settings.time_zone)


# The week


@dataclass(frozen=True)
class Entry:
    """One session in a day's cell of the week."""

    link: str
    start: Any  # Timestamp
    end: Any
    company: str
    kind: str
    room: str  # "" online
    state: str  # SCHEDULED, COMPLETED, …
    agenda: str


@dataclass(frozen=True)
class Row:
    mentor: str  # mentors/3
    label: str
    days: list[list[Entry]]


@admins
async def week_page(request: Request, page: Page) -> Response:
    zone = zone_of(page)
    week = Week.of(request.query_params.get("week", ""), datetime.now(zone).date(), zone)
    mentor = _ref(request.query_params, "mentor")
    start, end = week.bounds()
    terms = [f"start_after={rfc3339(start)}", f"start_before={rfc3339(end)}"]
    if mentor:
        terms.append(f"mentor={mentor}")
    sessions = await every_session(page.hub, terms)
    names = await directory(page, sessions)
    return page.render(
        "calendar.html", live="*", week=week, rows=week_rows(week, sessions, names, mentor), mentor=mentor,
        mentors=sorted(names.mentors.values(), key=lambda m: m.korean_name), today=datetime.now(zone).date(),
        count=len(sessions),
    )  # fmt: skip


def week_rows(week: Week, sessions: list[Any], names: Directory, mentor: str = "") -> list[Row]:
    """One row per mentor with a session in the week (and the mentor asked for, even without one), each with
    seven cells of that day's sessions in the order they start."""
    cells: dict[str, list[list[Entry]]] = {mentor: [[] for _ in range(7)]} if mentor else {}
    for s in sessions:
        day = (local_day(s.interval.start_time, week.zone) - week.monday).days
        if not 0 <= day < 7:
            continue
        cells.setdefault(s.mentor, [[] for _ in range(7)])[day].append(
            Entry(
                link=f"/{s.name}", start=s.interval.start_time, end=s.interval.end_time,
                company=names.company(s.company), kind=names.kind(s.session_type),
                room=names.room(s.room) if s.room else "", state=enum_name(s, "state"), agenda=s.agenda,
            )
        )  # fmt: skip
    rows = [Row(ref, names.mentor(ref), days) for ref, days in cells.items()]
    return sorted(rows, key=lambda r: r.label)


# Booking


@dataclass(frozen=True)
class Choice:
    """What the booking forms hold: kept across a search and a refusal, so nothing has to be typed twice."""

    company: str = ""
    mentor: str = ""
    session_type: str = ""
    room: str = ""
    day: str = ""  # YYYY-MM-DD in the hub's zone
    time: str = ""  # HH:MM
    agenda: str = ""

    @classmethod
    def of(cls, values: QueryParams | FormData) -> Choice:
        def text(key: str) -> str:
            return str(values.get(key, "")).strip()

        return cls(
            company=_ref(values, "company"), mentor=_ref(values, "mentor"), session_type=_ref(values, "session_type"),
            room=_ref(values, "room"), day=text("day"), time=text("time"), agenda=text("agenda")[:2000],
        )  # fmt: skip

    def query(self, **more: str) -> str:
        kept = {k: v for k, v in vars(self).items() if v}
        return urlencode(kept | more)


def _ref(values: QueryParams | FormData, key: str) -> str:
    value = str(values.get(key, "")).strip()
    return value if REFS[key].fullmatch(value) else ""


@dataclass(frozen=True)
class SlotDay:
    day: date
    slots: list[Any]  # Slot


@admins
async def book_page(request: Request, page: Page) -> Response:
    zone = zone_of(page)
    today = datetime.now(zone).date()
    choice = Choice.of(request.query_params)
    if not choice.day:
        choice = Choice(**(vars(choice) | {"day": today.isoformat()}))
    hub = page.hub
    asked = {
        "companies": hub.companies.ListCompanies(cpb.ListCompaniesRequest(page_size=LIST_SIZE, order_by="korean_name")),
        "mentors": hub.consulting.ListMentors(spb.ListMentorsRequest(page_size=LIST_SIZE)),
        "types": hub.consulting.ListSessionTypes(spb.ListSessionTypesRequest(page_size=LIST_SIZE)),
        "rooms": hub.consulting.ListRooms(spb.ListRoomsRequest(page_size=LIST_SIZE)),
    }
    searched = request.query_params.get("find") == "1"
    search = slot_search(choice, today)
    if searched:
        asked["slots"] = hub.consulting.FindAvailableSlots(search)
    answers = await _all(asked)
    return page.render(
        "book.html", choice=choice, searched=searched, free=FreeTimes.of(page, search, answers.get("slots")),
        companies=_ok(answers, "companies", "companies"),
        mentors=sorted(_ok(answers, "mentors", "mentors"), key=lambda m: m.korean_name),
        types=_ok(answers, "types", "session_types"), rooms=_ok(answers, "rooms", "rooms"),
        search_id=str(uuid.uuid4()), direct_id=str(uuid.uuid4()),
        missing=sorted(k for k, v in answers.items() if isinstance(v, Refusal) and k != "slots"),
    )  # fmt: skip


@dataclass(frozen=True)
class FreeTimes:
    """What FindAvailableSlots answered, as the slot pickers show it (the booking page, a session's reschedule):
    the free times by day in the hub's zone, or the refusal in words."""

    since: date
    days: list[SlotDay]
    truncated: bool = False
    refused: str = ""  # headline_of's words
    detail: str = ""

    @classmethod
    def of(cls, page: Page, search: spb.FindAvailableSlotsRequest, found: Any) -> FreeTimes:
        since = date(search.start_date.year, search.start_date.month, search.start_date.day)
        if isinstance(found, Refusal):
            return cls(since, [], refused=headline_of(page, found), detail=_detail(found))
        return cls(since, slot_days(found.slots if found else [], zone_of(page)), bool(found and found.truncated))


def slot_days(slots: Any, zone: ZoneInfo) -> list[SlotDay]:
    by_day: dict[date, list[Any]] = defaultdict(list)
    for slot in slots:
        by_day[local_day(slot.interval.start_time, zone)].append(slot)
    return [SlotDay(d, s) for d, s in sorted(by_day.items())]


def _detail(refusal: Refusal) -> str:
    return "; ".join(f"{f}: {d}" for f, d in refusal.fields) or refusal.message


def slot_search(choice: Choice, today: date) -> spb.FindAvailableSlotsRequest:
    """The free times of the week from the day chosen (not before today), for the choice's mentor, type,
    company and room."""
    first = max(day_of(choice.day) or today, today)
    return spb.FindAvailableSlotsRequest(
        mentors=[choice.mentor] if choice.mentor else [], start_date=date_pb(first),
        end_date=date_pb(first + timedelta(days=SEARCH_DAYS - 1)), session_type=choice.session_type,
        room=choice.room, company=choice.company, page_size=SLOTS_SHOWN,
    )  # fmt: skip


@admins
async def schedule(request: Request, page: Page) -> Response:
    """Books a session: at the free slot chosen (start), or at the day and time typed in. A refusal (a conflict
    above all) goes back to the booking page with the choices kept and the free slots of that week shown."""
    form = page.form
    assert form is not None
    zone = zone_of(page)
    choice = Choice.of(form)
    slot = str(form.get("start", ""))
    start = moment_of(slot) if slot else local_moment(choice.day, choice.time, zone)
    if slot and start is not None:
        day, clock = start.astimezone(zone).date().isoformat(), start.astimezone(zone).strftime("%H:%M")
        choice = Choice(**(vars(choice) | {"day": day, "time": clock}))
    form_again = "/calendar/book?" + choice.query(find="1")
    if start is None:
        return page.back(form_again, "error", page._("Choose a free time, or enter a day and a time."))
    session = spb.Session(
        company=choice.company, mentor=choice.mentor, session_type=choice.session_type, room=choice.room,
        agenda=choice.agenda, interval=interval_pb2.Interval(start_time=timestamp(start)),
    )  # fmt: skip
    request_id = str(form.get("request_id", "")) or str(uuid.uuid4())
    asked = spb.ScheduleSessionRequest(session=session, request_id=request_id)
    try:
        booked = await page.hub.consulting.ScheduleSession(asked)
    except Refusal as refusal:
        return refused(page, refusal, back=form_again)
    when = page.app.templates[page.session.lang].filters["when"](booked.interval.start_time)
    week = local_day(booked.interval.start_time, zone).isoformat()
    return page.back(f"/calendar?week={week}", "ok", page._("The session is booked: %(when)s.") % {"when": when})


# Rooms and session types


@admins
async def rooms_page(request: Request, page: Page) -> Response:
    names = await directory(page)
    rooms = sorted(names.rooms.values(), key=lambda r: r.display_name)
    return page.render("rooms.html", rooms=rooms, types=list(names.types.values()), categories=CATEGORIES,
                       request_id=str(uuid.uuid4()))  # fmt: skip
