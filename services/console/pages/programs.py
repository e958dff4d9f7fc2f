"""Programs and events (collaboration programs, job matching, salons, AI education): the list with who registered
and who came, a new program, and one program's registrations, added one by one or from a spreadsheet (CSV in
UTF-8 or CP949, as Excel saves it) and marked attended or absent. Participants count toward the 8,000."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from hub.consulting.v1 import consulting_pb2 as spb
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from hubcore.convert import interval_message
from hubcore.text import decode_spreadsheet, email_address
from services.console.backend import Refusal
from services.console.labels import short_names
from services.console.outcomes import refusal_notes
from services.console.pages.home import _all
from services.console.web import Page, headline_of, posted, refused, whole_number

KINDS = short_names(spb.ProgramKind)
# The columns a registrations sheet may have, in Korean or English (the first row names them).
COLUMNS = {"name": ("이름", "성명", "name"), "email": ("이메일", "email", "e-mail"), "company": ("기업", "company")}
MAX_ROWS = 2000


async def program_list(request: Request) -> Response:
    page = Page(request)
    if (account := page.account) is None or account.role != "admin":
        return page.back("/")
    kind = request.query_params.get("kind", "")
    asked = spb.ListProgramsRequest(page_size=200, filter=f"kind={kind}" if kind in KINDS else "")
    found = await page.hub.consulting.ListPrograms(asked)
    programs = sorted(found.programs, key=lambda p: p.interval.start_time.seconds, reverse=True)
    return page.render("programs.html", live="*", programs=programs, kinds=KINDS, kind=kind,
                       registered=sum(p.registered_count for p in programs),
                       attended=sum(p.attended_count for p in programs))  # fmt: skip


async def create_program(request: Request) -> Response:
    page, form = await posted(request)
    zone = ZoneInfo(page.app.settings.time_zone)
    try:
        day = datetime.strptime(str(form.get("day", "")), "%Y-%m-%d").date()
        start, end = (time.fromisoformat(str(form.get(f, ""))) for f in ("start", "end"))
    except ValueError:
        return page.back("/programs", "error", page._("Give the day and the start and end times."))
    program = spb.Program(
        display_name=str(form.get("display_name", "")), description=str(form.get("description", "")),
        interval=interval_message(datetime.combine(day, start, zone), datetime.combine(day, end, zone)),
        capacity=whole_number(form.get("capacity", "0")),
    )  # fmt: skip
    if form.get("kind") in KINDS:  # otherwise unset: the service names the field
        program.kind = spb.ProgramKind.Value(f"PROGRAM_KIND_{form.get('kind')}")
    made = await page.hub.consulting.CreateProgram(
        spb.CreateProgramRequest(program=program, request_id=str(form.get("request_id", "")))
    )
    return page.back(f"/{made.name}", "ok", page._("The program is created."))


async def program_page(request: Request) -> Response:
    page = Page(request)
    if (account := page.account) is None or account.role != "admin":
        return page.back("/")
    name = f"programs/{request.path_params['program']}"
    answers = await _all({
        "program": page.hub.consulting.GetProgram(spb.GetProgramRequest(name=name)),
        "registrations": page.hub.consulting.ListRegistrations(spb.ListRegistrationsRequest(program=name,
                                                                                            page_size=500)),
    })  # fmt: skip
    for answer in answers.values():
        if isinstance(answer, Refusal):
            return refused(page, answer)
    return page.render("program.html", live="*", program=answers["program"],
                       registrations=answers["registrations"].registrations)  # fmt: skip


def _request_id(program: str, name: str, email: str) -> str:
    """The same person registered twice for a program (a file uploaded again) is one registration."""
    return "console-" + hashlib.sha256(f"{program}|{name.strip()}|{email_address(email)}".encode()).hexdigest()[:32]


def _rows(text: str) -> tuple[list[dict[str, str]], list[str]]:
    """The sheet's rows by field, and its columns that were not understood."""
    reader = csv.DictReader(io.StringIO(text))
    headers = [h.strip() for h in reader.fieldnames or []]
    fields = {h: f for h in headers for f, names in COLUMNS.items() if h.lower() in names}
    rows = [{fields[k.strip()]: (v or "").strip() for k, v in row.items() if k and k.strip() in fields}
            for row in reader]  # fmt: skip
    return rows, [h for h in headers if h not in fields]


async def register(request: Request) -> Response:
    """One person from the form, or every row of an uploaded sheet: each created once (a row sent again is the
    same registration), the refused ones reported with their row number and why."""
    page, form = await posted(request)
    program = f"programs/{request.path_params['program']}"
    upload = form.get("sheet")
    if isinstance(upload, UploadFile) and upload.filename:
        text = decode_spreadsheet(await upload.read())
        if text is None:
            return page.back(f"/{program}", "error", page._("The file is neither UTF-8 nor CP949 text."))
        rows, unknown = _rows(text)
        if not rows or "name" not in rows[0]:
            return page.back(f"/{program}", "error", page._("The first row must name the columns: 이름, 이메일, 기업."))
        rows = rows[:MAX_ROWS]
    else:
        rows, unknown = [{f: str(form.get(f, "")) for f in COLUMNS}], []
    added, problems = 0, []
    sheet = isinstance(upload, UploadFile) and bool(upload.filename)
    for number, row in enumerate(rows, 2 if sheet else 1):
        wanted = spb.Registration(program=program, participant_name=row.get("name", ""), email=row.get("email", ""),
                                  company=row.get("company", ""))  # fmt: skip
        once = _request_id(program, wanted.participant_name, wanted.email)
        asked = spb.CreateRegistrationRequest(registration=wanted, request_id=once)
        try:
            await page.hub.consulting.CreateRegistration(asked)
            added += 1
        except Refusal as refusal:
            if not sheet:
                return refused(page, refusal)
            notes = refusal_notes(page._, refusal, headline_of(page, refusal))
            problems.append(f"{number}: {'; '.join(f'{n.field}: {n.text}' if n.field else n.text for n in notes)}")
    said = page._("%(count)s registered.") % {"count": added}
    if unknown:
        said += " " + page._("Columns not read: %(columns)s.") % {"columns": ", ".join(unknown)}
    if problems:
        said += " " + page._("Rows refused: %(rows)s") % {"rows": " · ".join(problems[:20])}
    return page.back(f"/{program}", "error" if problems else "ok", said)


async def attendance(request: Request) -> Response:
    page, form = await posted(request)
    program = f"programs/{request.path_params['program']}"
    came = set(form.getlist("attended"))
    marks = [spb.AttendanceMark(registration=str(r), attended=str(r) in came) for r in form.getlist("registration")]
    answer: Any = await page.hub.consulting.RecordAttendance(spb.RecordAttendanceRequest(program=program,
                                                                                        marks=marks))  # fmt: skip
    said = page._("Attendance recorded: %(attended)s came.") % {"attended": answer.program.attended_count}
    return page.back(f"/{program}", "ok", said)
