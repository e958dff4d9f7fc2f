"""hubctl sessions | actions | programs: the consulting calendar, for program managers (mentors: mentors.py; rooms,
session types, no-shows and the calendar export: rooms.py).

Times are typed and shown in Asia/Seoul (or --tz): `--at "2026-12-01 14:00"` means 14:00 in that zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from google.protobuf.timestamp_pb2 import Timestamp
from google.type import interval_pb2
from hub.consulting.v1 import consulting_pb2 as cpb

from hubctl import args
from hubctl.client import Client, Commands, as_dict, enum_number, fail, print_table, short, when

sessions_app = Commands(
    help="상담 일정: 빈 시간 찾기, 예약, 변경, 취소, 완료, 노쇼, 캘린더 내보내기 (the consulting calendar: find slots, "
    "schedule, reschedule, cancel, complete, no-show, export)."
)
actions_app = Commands(help="상담의 후속 조치: 목록(진행 중, 기한 지남), 완료 (action items from sessions).")
programs_app = Commands(
    help="협업 프로그램, 잡매칭, 살롱, 교육 (collaboration programs, job matching, salons, education)."
)


def moment(text: str, tz: str) -> Timestamp:
    """'2026-12-01 14:00' in the given zone (or an RFC 3339 time with its offset)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"time {text!r}: write it like '2026-12-01 14:00' ({tz})", 3)
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(tz))
    stamp = Timestamp()
    stamp.FromDatetime(value)
    return stamp


def span(start: Timestamp, minutes: int) -> interval_pb2.Interval:
    end = Timestamp()
    end.FromDatetime(start.ToDatetime() + timedelta(minutes=minutes))
    return interval_pb2.Interval(start_time=start, end_time=end)


def hhmm(ts: Timestamp, tz: str) -> str:
    return when(ts, tz)[-5:]


# sessions

SESSION_COLUMNS = ["id", "시간 when", "기업 company", "멘토 mentor", "유형 type", "회의실 room", "상태 state"]
SessionArgument = Annotated[str, typer.Argument(help="8 or sessions/8")]


def session_row(s: cpb.Session, tz: str) -> list[str]:
    slot = f"{when(s.interval.start_time, tz)}–{hhmm(s.interval.end_time, tz)}"
    state = short(cpb.SessionState, s.state, "SESSION_STATE").lower()
    return [s.name.removeprefix("sessions/"), slot, s.company, s.mentor, s.session_type, s.room, state]


def show_sessions(hub: Client, title: str, sessions: list[cpb.Session]) -> None:
    hub.show(sessions, title, SESSION_COLUMNS, (session_row(s, hub.config.tz) for s in sessions))


@sessions_app.command("list")
def sessions_list(
    hub: Client,
    week: Annotated[bool, typer.Option("--week", help="This week (Monday to Sunday)")] = False,
    mentor: args.MentorOption = "",
    company: args.CompanyOption = "",
    state: Annotated[str, typer.Option(help="scheduled, completed, cancelled, no_show")] = "",
) -> None:
    """상담 목록, 시작 순 (list sessions, by start time)."""
    today = datetime.now(ZoneInfo(hub.config.tz)).replace(hour=0, minute=0, second=0, microsecond=0)
    monday = today - timedelta(days=today.weekday())
    terms = args.where(
        mentor=args.name_if_given("mentors", mentor), state=state, company=args.name_if_given("companies", company),
        start_after=monday.isoformat() if week else "",
        start_before=(monday + timedelta(days=7)).isoformat() if week else "",
    )  # fmt: skip
    request = cpb.ListSessionsRequest(filter=terms, page_size=200)
    found = list(hub.pages(hub.consulting.ListSessions, request, "sessions"))
    show_sessions(hub, f"sessions ({len(found)})", found)


@sessions_app.command("find-slots")
def sessions_find_slots(
    hub: Client,
    start: Annotated[str, typer.Option(help="First day, YYYY-MM-DD")],
    end: Annotated[str, typer.Option(help="Last day, YYYY-MM-DD")],
    mentor: Annotated[list[str] | None, typer.Option(help="3 or mentors/3 (repeatable)")] = None,
    expertise: Annotated[str, typer.Option(help="Any mentor with this expertise")] = "",
    minutes: Annotated[int, typer.Option(help="Length of the session")] = 60,
    company: Annotated[str, typer.Option(help="Also free for this company (42 or companies/42)")] = "",
    room: Annotated[bool, typer.Option("--room", help="Only slots with a free room")] = False,
    limit: Annotated[int, typer.Option(help="At most this many slots")] = 20,
) -> None:
    """빈 시간: 멘토의 주간 시간, 예외, 상담, 여유 시간, 회의실을 반영 (free times that honour mentors' hours,
    exceptions, sessions, buffers and rooms)."""
    request = cpb.FindAvailableSlotsRequest(
        mentors=[args.name("mentors", m) for m in mentor or []], expertise=expertise,
        start_date=args.day(start, "--start"), end_date=args.day(end, "--end"), time_zone=hub.config.tz,
        company=args.name_if_given("companies", company), need_room=room, page_size=limit,
    )  # fmt: skip
    request.duration.FromTimedelta(timedelta(minutes=minutes))
    found = hub.call(hub.consulting.FindAvailableSlots, request)
    if found.truncated:
        hub.cut_short = (len(found.slots), f"--limit {2 * limit} or a later --start for the rest")
    if hub.printed_json(as_dict(found)):
        return
    tz = hub.config.tz
    rows = [
        (s.mentor, when(s.interval.start_time, tz), hhmm(s.interval.end_time, tz), ", ".join(s.rooms))
        for s in found.slots
    ]
    print_table(
        f"free slots ({len(rows)}{'+' if found.truncated else ''})",
        ["멘토 mentor", "시작 from", "끝 to", "회의실 rooms"],
        rows,
    )


@sessions_app.command("schedule")
def sessions_schedule(
    hub: Client,
    company: args.CompanyOption,
    mentor: args.MentorOption,
    type_: Annotated[str, typer.Option("--type", help="2 or sessionTypes/2")],
    at: Annotated[str, typer.Option(help="Start, e.g. '2026-12-01 14:00' (your --tz)")],
    minutes: args.MinutesOption = 60,
    room: args.RoomOption = "",
    agenda: str = "",
    request_id: args.RequestIdOption = "",
) -> None:
    """상담을 예약합니다; 멘토·기업·회의실이 겹치면 누구와 겹치는지 말하며 거절 (book a session; refused, naming
    the holder, if the mentor, company or room is taken)."""
    session = cpb.Session(
        company=args.name("companies", company), mentor=args.name("mentors", mentor),
        session_type=args.name("sessionTypes", type_),
        interval=span(moment(at, hub.config.tz), minutes), room=args.name_if_given("rooms", room), agenda=agenda,
    )  # fmt: skip
    request = cpb.ScheduleSessionRequest(session=session, request_id=args.retry_safe(request_id))
    made = hub.call(hub.consulting.ScheduleSession, request)
    show_sessions(hub, f"scheduled {made.name}", [made])


@sessions_app.command("reschedule")
def sessions_reschedule(
    hub: Client,
    session: SessionArgument,
    at: Annotated[str, typer.Option(help="New start, e.g. '2026-12-02 10:00'")],
    minutes: args.MinutesOption = 60,
    reason: str = "",
) -> None:
    """상담 시간을 옮깁니다 (이력과 캘린더 일정이 따라갑니다) (move a session (its history and calendar entry
    follow))."""
    request = cpb.RescheduleSessionRequest(
        name=args.name("sessions", session), interval=span(moment(at, hub.config.tz), minutes), reason=reason
    )
    moved = hub.call(hub.consulting.RescheduleSession, request)
    show_sessions(hub, f"rescheduled {moved.name}", [moved])


@sessions_app.command("cancel")
def sessions_cancel(hub: Client, session: SessionArgument, reason: args.RequiredReasonOption) -> None:
    """상담을 취소합니다; 그 시간은 다시 비어 있습니다 (cancel a session; its time is free again)."""
    done = hub.call(
        hub.consulting.CancelSession, cpb.CancelSessionRequest(name=args.name("sessions", session), reason=reason)
    )
    show_sessions(hub, f"cancelled {done.name}", [done])


@sessions_app.command("complete")
def sessions_complete(
    hub: Client,
    session: SessionArgument,
    notes: Annotated[str, typer.Option(help="What was discussed")] = "",
    action: Annotated[
        list[str] | None, typer.Option(help="An action item as 'owner|due YYYY-MM-DD|what' (repeatable)")
    ] = None,
) -> None:
    """상담을 완료하고 메모와 후속 조치를 기록합니다 (complete a session with notes and action items)."""
    items = []
    for text in action or []:
        parts = [p.strip() for p in text.split("|", 2)]
        if len(parts) != 3:
            fail(f"--action {text!r}: write it as 'owner|2026-12-15|what to do'", 3)
        d = args.day(parts[1], "the action item's due date")
        items.append(cpb.NewActionItem(owner=parts[0], due_date=d, description=parts[2]))
    done = hub.call(
        hub.consulting.CompleteSession,
        cpb.CompleteSessionRequest(name=args.name("sessions", session), notes=notes, action_items=items),
    )
    if hub.printed_json(as_dict(done)):
        return
    show_sessions(hub, f"completed {done.session.name}", [done.session])
    if done.action_items:
        print_table("action items", ACTION_COLUMNS, (action_row(a) for a in done.action_items))


FITS = {
    "good-fit": cpb.SESSION_FIT_GOOD_FIT, "deciding": cpb.SESSION_FIT_STILL_DECIDING,
    "not-a-fit": cpb.SESSION_FIT_NOT_A_FIT,
}  # fmt: skip
FIT_NAMES = {cpb.SESSION_FIT_GOOD_FIT: "잘 맞음", cpb.SESSION_FIT_STILL_DECIDING: "판단 중",
             cpb.SESSION_FIT_NOT_A_FIT: "맞지 않음"}  # fmt: skip


@sessions_app.command("feedback")
def sessions_feedback(
    hub: Client,
    session: SessionArgument,
    rating: Annotated[int, typer.Option(help="평점 1-4 (the founder's rating)")],
    fit: Annotated[str, typer.Option(help="적합성 (fit): good-fit 잘 맞음, deciding 판단 중, not-a-fit 맞지 않음")],
    reason: args.RequiredReasonOption = "",
    comment: Annotated[str, typer.Option(help="창업자의 의견 (the founder's words)")] = "",
    request_id: args.RequestIdOption = "",
) -> None:
    """창업자를 대신해 완료된 세션의 피드백을 기록합니다 (record a founder's feedback on a completed session on
    their behalf; it shows who recorded it and why)."""
    if fit.strip().lower().replace("_", "-") not in FITS:
        fail(f"알 수 없는 적합성 (unknown fit) {fit!r}: {', '.join(FITS)}", 3)
    request = cpb.RecordSessionFeedbackRequest(
        name=args.name("sessions", session), rating=rating, fit=FITS[fit.strip().lower().replace("_", "-")],
        comment=comment, reason=reason, request_id=args.retry_safe(request_id),
    )  # fmt: skip
    done = hub.call(hub.consulting.RecordSessionFeedback, request)
    given = done.feedback
    hub.say(done, f"피드백 기록함 (feedback recorded) {done.name}: {given.rating}점, {FIT_NAMES[given.fit]}; "
                  f"기록자 (by) {given.actor}, 사유 (reason) {given.reason}")  # fmt: skip


# action items

ACTION_COLUMNS = ["id", "담당 owner", "기한 due", "할 일 what", "기업 company", "상태 state"]


def action_row(a: cpb.ActionItem) -> list[str]:
    state = short(cpb.ActionItemState, a.state, "ACTION_ITEM_STATE").lower() + (" (overdue)" if a.overdue else "")
    return [a.name.removeprefix("actionItems/"), a.owner, args.iso(a.due_date), a.description, a.company, state]


@actions_app.command("list")
def actions_list(
    hub: Client,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only overdue ones")] = False,
    company: args.CompanyOption = "",
    mentor: args.MentorOption = "",
    owner: Annotated[str, typer.Option(help="Who does it")] = "",
    done: Annotated[bool, typer.Option("--done", help="Completed ones instead of open ones")] = False,
) -> None:
    """진행 중인 후속 조치 (또는 기한 지남, 완료) (open action items (or overdue, or done))."""
    terms = args.where(
        state="done" if done else "open", overdue="true" if overdue else "",
        company=args.name_if_given("companies", company), mentor=args.name_if_given("mentors", mentor),
        owner=args.quoted(owner),
    )  # fmt: skip
    request = cpb.ListActionItemsRequest(filter=terms, page_size=200)
    found = list(hub.pages(hub.consulting.ListActionItems, request, "action_items"))
    hub.show(found, f"action items ({len(found)})", ACTION_COLUMNS, map(action_row, found))


@actions_app.command("complete")
def actions_complete(hub: Client, item: Annotated[str, typer.Argument(help="4 or actionItems/4")]) -> None:
    """후속 조치를 완료로 표시합니다 (mark an action item done)."""
    done = hub.call(
        hub.consulting.CompleteActionItem, cpb.CompleteActionItemRequest(name=args.name("actionItems", item))
    )
    hub.show(done, f"completed {done.name}", ACTION_COLUMNS, [action_row(done)])


# programs


@programs_app.command("list")
def programs_list(
    hub: Client, kind: Annotated[str, typer.Option(help="collaboration, job_matching, salon, education")] = ""
) -> None:
    """프로그램·행사 목록과 신청·참석 인원 (list programs and events with registrations and attendance)."""
    request = cpb.ListProgramsRequest(filter=args.where(kind=kind), page_size=200)
    found = list(hub.pages(hub.consulting.ListPrograms, request, "programs"))
    if hub.printed_json(found):
        return
    tz = hub.config.tz
    rows = [
        (p.name.removeprefix("programs/"), p.display_name, short(cpb.ProgramKind, p.kind, "PROGRAM_KIND").lower(),
         when(p.interval.start_time, tz), p.capacity or "", p.registered_count, p.attended_count)
        for p in found
    ]  # fmt: skip
    print_table(
        f"programs ({len(found)})",
        ["id", "이름 name", "구분 kind", "시작 starts", "정원 seats", "신청 registered", "참석 attended"],
        rows,
    )


@programs_app.command("add")
def programs_add(
    hub: Client,
    title: Annotated[str, typer.Option(help="Its name, e.g. 'AI 잡매칭 데이'")],
    kind: Annotated[str, typer.Option(help="collaboration, job_matching, salon, education, other")],
    at: Annotated[str, typer.Option(help="Start, e.g. '2026-12-10 14:00'")],
    minutes: args.MinutesOption = 120,
    capacity: Annotated[int, typer.Option(help="Seats (0: no limit)")] = 0,
    room: args.RoomOption = "",
) -> None:
    """프로그램이나 행사를 만듭니다 (create a program or event)."""
    program = cpb.Program(
        display_name=title, kind=enum_number(cpb.ProgramKind, "PROGRAM_KIND", kind, "kind"),  # type: ignore[arg-type]
        interval=span(moment(at, hub.config.tz), minutes), capacity=capacity, room=args.name_if_given("rooms", room),
    )  # fmt: skip
    made = hub.call(hub.consulting.CreateProgram, cpb.CreateProgramRequest(program=program))
    hub.say(made, f"created {made.name}: {made.display_name}")
