"""A program's registrations and attendance: from a sheet (`hubctl import registrations|attendance`, whose
commands are in transfer.py) and one at a time (`hubctl programs registrations|register|attend`, here).

Who is the same person is the consulting service's rule (services/consulting/domain/people.py), applied by
BatchCreateRegistrations against the program's registrations in one transaction; here a sheet's rows become
its requests (each request id from the row's own values, so a re-run sends the same requests and changes
nothing) and its outcomes the report's rows, by the sheet's line numbers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated

import typer
from hub.companies.v1 import companies_pb2
from hub.consulting.v1 import consulting_pb2 as cpb
from rich.progress import Progress

from hubcore.sheets import Sheet, import_request_id, key
from hubctl.client import Client, err, fail, print_table, short
from hubctl.consulting import programs_app

CHUNK = 500  # requests per call when writing: one step of the progress bar, one transaction
MAX_BATCH = 2000  # the service's most per call: a dry run sends this many at once, so it sees duplicates across them
Outcome = cpb.RegistrationOutcome
# How an attendance sheet says came or not (compared case-folded, without spaces); an empty cell marks nothing.
CAME = {"o", "○", "◯", "y", "yes", "true", "1", "v", "✓", "✔", "참석", "출석", "예", "attended", "present"}
AWAY = {"x", "×", "✕", "n", "no", "false", "0", "불참", "결석", "미참석", "아니오", "absent"}


def program_name(text: str) -> str:
    """`7` or `programs/7`."""
    name = text if text.startswith("programs/") else f"programs/{text}"
    if not name.removeprefix("programs/").isdigit():
        fail(f"PROGRAM {text!r}: give its number (7) or name (programs/7)", 2)
    return name


def attendance_mark(text: str) -> bool | None:
    """True (came), False (did not) or None (blank: not marked); ValueError for anything else."""
    word = "".join(text.casefold().split())
    if not word:
        return None
    if word in CAME or word in AWAY:
        return word in CAME
    raise ValueError(text)


@dataclass
class Row:
    """One line of the sheet as a request, or the problem that keeps it from being sent."""

    line: int
    name: str
    request: cpb.CreateRegistrationRequest | None = None
    problem: str = ""
    note: str = ""
    attended: bool | None = None


def company_lookup(hub: Client) -> dict[str, str]:
    """The hub's companies by Korean and English name (compared case-folded): companies/N."""
    found: dict[str, str] = {}
    request = companies_pb2.ListCompaniesRequest(page_size=500)
    for c in hub.pages(hub.companies.ListCompanies, request, "companies"):
        found.update({key(n): c.name for n in (c.korean_name, c.english_name) if n})
    return found


def sheet_rows(hub: Client, program: str, sheet: Sheet, *, attendance: bool) -> list[Row]:
    """Each line's request: its company resolved by name (one that is not the hub's: registered as an
    individual, said in the row's note), its attendance read (an attendance sheet without that column: came)."""
    named = [r["company"] for r in sheet.rows if r.get("company")]
    lookup = company_lookup(hub) if any(not c.startswith("companies/") for c in named) else {}
    marked = "attended" in sheet.columns.values()
    rows = []
    for line, raw in enumerate(sheet.rows, 2):
        name, email, phone, given = (raw.get(f, "") for f in ("korean_name", "email", "phone", "company"))
        row = Row(line, name, attended=True if attendance and not marked else None)
        company = given if given.startswith("companies/") else lookup.get(key(given), "")
        if given and not company:
            row.note = f"소속 {given!r}: 허브 기업이 아니어서 개인으로 등록 (not a hub company: as an individual)"
        if attendance and marked:
            try:
                row.attended = attendance_mark(raw.get("attended", ""))
            except ValueError:
                row.problem = f"attended: {raw.get('attended')!r} — 참석/불참, O/X, Y/N"
                rows.append(row)
                continue
        row.request = registration_request(program, name, email, phone, company)
        rows.append(row)
    return rows


def registration_request(program: str, name: str, email: str, phone: str, company: str
                         ) -> cpb.CreateRegistrationRequest:  # fmt: skip
    """The request for one person, its id from the values sent: the same row sent again is the same request."""
    registration = cpb.Registration(program=program, participant_name=name, email=email, phone=phone, company=company)
    once = import_request_id("registration", "|".join((program, name, email, phone, company)))
    return cpb.CreateRegistrationRequest(registration=registration, request_id=once)


@dataclass
class Done:
    """A row's outcome, its references to other requests turned into the sheet's lines."""

    row: Row
    outcome: Outcome
    same_line: int = 0  # the line that registered this person, in this run
    suspects: list[tuple[str, str]] = field(default_factory=list)  # (who: "line 5 김서연" or a name, why)

    @property
    def person(self) -> str:
        """The registration this row is: its name, or in a dry run the line that would make it."""
        name = self.outcome.registration.name
        return name or f"line {self.same_line or self.row.line}"


def register_rows(hub: Client, program: str, rows: list[Row], dry_run: bool) -> list[Done]:
    """The rows' requests in calls of CHUNK (MAX_BATCH in a dry run), with a progress bar for long sheets."""
    todo = [r for r in rows if r.request is not None]
    size = MAX_BATCH if dry_run else CHUNK
    if dry_run and len(todo) > size and not hub.config.json:
        err.print(f"[yellow]시험 실행은 {size}행씩 중복을 봅니다[/yellow] (the dry run checks duplicates within "
                  f"each {size} rows)", highlight=False)  # fmt: skip
    made: dict[str, int] = {}  # registration -> the line that made it
    done = []
    with Progress(console=err, transient=True, disable=hub.config.json or len(todo) < 200) as progress:
        task = progress.add_task("등록 (registering)", total=len(todo))
        for start in range(0, len(todo), size):
            chunk = todo[start : start + size]
            asked = cpb.BatchCreateRegistrationsRequest(
                parent=program, requests=[r.request for r in chunk if r.request], validate_only=dry_run
            )
            lines = {i + 1: r.line for i, r in enumerate(chunk)}
            answer = hub.call(hub.consulting.BatchCreateRegistrations, asked)
            for row, outcome in zip(chunk, answer.outcomes, strict=True):
                same = lines.get(outcome.same_as_request) or made.get(outcome.registration.name, 0)
                suspects = [
                    (f"line {lines.get(s.request_index) or made.get(s.registration)} {s.participant_name}"
                     if s.request_index or s.registration in made else f"{s.registration} {s.participant_name}",
                     s.reason)
                    for s in outcome.suspects
                ]  # fmt: skip
                if outcome.result == Outcome.RESULT_CREATED and outcome.registration.name:
                    made[outcome.registration.name] = row.line
                merged = outcome.result == Outcome.RESULT_SAME_PERSON
                done.append(Done(row, outcome, same if merged else 0, suspects))
            progress.advance(task, len(chunk))
    return done


def registration_action(d: Done) -> tuple[str, str]:
    """The report's action and detail of a row's registration."""
    o = d.outcome
    if o.result == Outcome.RESULT_CREATED:
        return "created", o.registration.name
    if o.result == Outcome.RESULT_ALREADY_DONE:
        return "unchanged", f"이미 등록됨 (already registered) {o.registration.name}"
    if o.result == Outcome.RESULT_SAME_PERSON:
        first = f"line {d.same_line}" if d.same_line else o.registration.name
        return "same person", f"= {first} {o.registration.participant_name}: {o.reason}"
    return "rejected", f"{o.field}: {o.reason}" if o.field else o.reason


def attendance_actions(done: list[Done], marks: dict[str, bool]) -> list[tuple[str, str]]:
    """Each attendance row's action and detail: the first row of a person carries their mark (attended, absent,
    unchanged, not marked); a later row of the same person says so; a refused row says why."""
    first: dict[str, int] = {}
    actions = []
    for d in done:
        action, detail = registration_action(d)
        if action == "rejected" or (action == "same person" and d.same_line):
            actions.append((action, detail))
            continue
        if d.person in first:
            actions.append(("same person", f"= line {first[d.person]} ({d.person})"))
            continue
        first[d.person] = d.row.line
        walk_in = "현장 등록 (registered now) " if action == "created" else ""
        if d.row.attended is None:
            actions.append(("not marked", f"{walk_in}{d.person} 참석 칸이 비어 있음 (blank)"))
        elif d.person in marks:
            actions.append((("attended" if marks[d.person] else "absent"), walk_in + d.person))
        else:
            actions.append(("unchanged", f"{walk_in}{d.person} 이미 기록됨 (already so)"))
    return actions


def changed_marks(done: list[Done]) -> dict[str, bool]:
    """The marks that change something: per registration, came if any of its rows says so, and only where its
    state is not that already."""
    wanted: dict[str, bool] = {}
    state: dict[str, int] = {}
    for d in done:
        if d.row.attended is None or d.outcome.result == Outcome.RESULT_REJECTED:
            continue
        wanted[d.person] = wanted.get(d.person, False) or d.row.attended
        state.setdefault(d.person, d.outcome.registration.state)
    attended, absent = cpb.REGISTRATION_STATE_ATTENDED, cpb.REGISTRATION_STATE_ABSENT
    return {p: came for p, came in wanted.items() if state[p] != (attended if came else absent)}


def record_marks(hub: Client, program: str, marks: dict[str, bool]) -> None:
    names = sorted(marks)
    for start in range(0, len(names), 1000):  # RecordAttendance takes up to 1000 marks
        chunk = [cpb.AttendanceMark(registration=n, attended=marks[n]) for n in names[start : start + 1000]]
        hub.call(hub.consulting.RecordAttendance, cpb.RecordAttendanceRequest(program=program, marks=chunk))


def begun(hub: Client, program: str) -> cpb.Program:
    """The program, once it has begun (attendance is a record of what happened); else exit 5, nothing written."""
    found = hub.call(hub.consulting.GetProgram, cpb.GetProgramRequest(name=program))
    if found.interval.start_time.ToDatetime(UTC) > datetime.now(UTC):
        fail(f"{program} has not begun: attendance is recorded once it has (시작 전에는 출석을 기록할 수 없습니다)", 5)
    return found


# One at a time

ProgramArgument = Annotated[str, typer.Argument(help="The program: 7 or programs/7")]


@programs_app.command("registrations")
def programs_registrations(hub: Client, program: ProgramArgument) -> None:
    """프로그램 신청자와 참석 여부 (a program's registrations with their attendance)."""
    request = cpb.ListRegistrationsRequest(program=program_name(program), page_size=500)
    found = list(hub.pages(hub.consulting.ListRegistrations, request, "registrations"))
    if hub.printed_json(found):
        return
    rows = [(r.name.removeprefix("registrations/"), r.participant_name, r.email, r.phone, r.company,
             short(cpb.RegistrationState, r.state, "REGISTRATION_STATE").lower()) for r in found]  # fmt: skip
    print_table(f"registrations ({len(found)})", ["id", "name", "email", "phone", "company", "state"], rows)


@programs_app.command("register")
def programs_register(
    hub: Client,
    program: ProgramArgument,
    name: Annotated[str, typer.Option(help="참가자 이름, e.g. 김서연")],
    email: Annotated[str, typer.Option(help="이메일")] = "",
    phone: Annotated[str, typer.Option(help="전화, e.g. 010-1234-5678")] = "",
    company: Annotated[str, typer.Option(help="companies/7 (empty: an individual)")] = "",
) -> None:
    """한 사람 신청 등록 (register one person), unless they are registered already (same email; same name and
    phone; same name and company without an email): then the registration they have is named."""
    target = program_name(program)
    request = registration_request(target, name, email, phone, company)
    asked = cpb.BatchCreateRegistrationsRequest(parent=target, requests=[request])
    outcome = hub.call(hub.consulting.BatchCreateRegistrations, asked).outcomes[0]
    action, detail = registration_action(Done(Row(0, name, request), outcome))
    for s in outcome.suspects:
        err.print(f"[yellow]중복 의심 (may be the same person):[/yellow] {s.registration} {s.participant_name}: "
                  f"{s.reason}", highlight=False)  # fmt: skip
    if action == "rejected":
        fail(detail, 3)
    hub.say(outcome.registration, f"{action}: {detail}")


@programs_app.command("attend")
def programs_attend(
    hub: Client,
    program: ProgramArgument,
    registrations: Annotated[list[str], typer.Argument(help="Registration numbers (3) or names (registrations/3)")],
    absent: Annotated[bool, typer.Option("--absent", help="Mark them absent (불참) instead")] = False,
) -> None:
    """참석 표시 (mark registrations attended), or absent with --absent, once the program has begun."""
    target = program_name(program)
    marks = [cpb.AttendanceMark(registration=r if r.startswith("registrations/") else f"registrations/{r}",
                                attended=not absent) for r in registrations]  # fmt: skip
    answer = hub.call(hub.consulting.RecordAttendance, cpb.RecordAttendanceRequest(program=target, marks=marks))
    hub.say(answer.program, f"{target}: {answer.program.attended_count}명 참석 (attended, different people)")
