"""hubctl rooms | session-types, and sessions no-show | export: what the consulting calendar books besides
mentors, a session the company missed, and the calendar as an .ics file for calendar apps.

Times are typed and shown in Asia/Seoul (or --tz)."""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Annotated

import typer
from google.protobuf.duration_pb2 import Duration
from hub.consulting.v1 import consulting_pb2 as cpb

from hubctl import args
from hubctl.client import Client, Commands, enum_number, fail, short
from hubctl.consulting import SessionArgument, sessions_app, show_sessions
from hubctl.listing import list_and_show

rooms_app = Commands(help="상담·행사 회의실: 등록, 목록, 조회 (meeting rooms sessions and programs book).")
session_types_app = Commands(help="상담 유형: 길이, 앞뒤 여유 시간 (session types: length and buffers).")

ROOM_COLUMNS = ["id", "이름 name", "층 floor", "정원 capacity"]
TYPE_COLUMNS = ["id", "이름 name", "분야 category", "길이 length", "앞 여유 before", "뒤 여유 after"]
CATEGORIES = "growth_strategy, technical, vc_advisory, overseas_expansion, other"


def room_row(r: cpb.Room) -> list[str]:
    return [r.name.removeprefix("rooms/"), r.display_name, str(r.floor), str(r.capacity)]


def minutes(d: Duration) -> str:
    return f"{d.seconds // 60}분"


def type_row(t: cpb.SessionType) -> list[str]:
    category = short(cpb.SessionCategory, t.category, "SESSION_CATEGORY").lower()
    return [t.name.removeprefix("sessionTypes/"), t.display_name, category, minutes(t.default_duration),
            minutes(t.buffer_before), minutes(t.buffer_after)]  # fmt: skip


def duration(length: int) -> Duration:
    given = Duration()
    given.FromTimedelta(timedelta(minutes=length))
    return given


# rooms


@rooms_app.command("add")
def rooms_add(
    hub: Client,
    name: Annotated[str, typer.Option(help="이름, 예: '501호 회의실' (display name)")],
    capacity: Annotated[int, typer.Option(help="정원 (seats)")],
    floor: args.FloorOption = 0,
    request_id: args.RequestIdOption = "",
) -> None:
    """회의실을 등록합니다 (add a meeting room)."""
    room = cpb.Room(display_name=name, floor=floor, capacity=capacity)
    made = hub.call(hub.consulting.CreateRoom, cpb.CreateRoomRequest(room=room, request_id=args.retry_safe(request_id)))
    hub.show(made, f"등록함 (added) {made.name}", ROOM_COLUMNS, [room_row(made)])


list_and_show(
    rooms_app, korean="회의실", english="rooms", collection="rooms", example="1", columns=ROOM_COLUMNS, row=room_row,
    rpcs=lambda hub: (hub.consulting.ListRooms, hub.consulting.GetRoom), field="rooms",
    list_request=lambda: cpb.ListRoomsRequest(page_size=200), get_request=cpb.GetRoomRequest,
)  # fmt: skip


# session types


@session_types_app.command("add")
def session_types_add(
    hub: Client,
    name: Annotated[str, typer.Option(help="이름, 예: '1:1 기술 자문' (display name)")],
    category: Annotated[str, typer.Option(help=f"분야 (category): {CATEGORIES}")],
    length: Annotated[int, typer.Option("--minutes", help="기본 길이, 분 (default length in minutes)")] = 60,
    before: Annotated[int, typer.Option(help="앞 여유 시간, 분 (minutes the mentor keeps free before)")] = 0,
    after: Annotated[int, typer.Option(help="뒤 여유 시간, 분 (minutes kept free after)")] = 0,
    request_id: args.RequestIdOption = "",
) -> None:
    """상담 유형을 등록합니다 (add a session type)."""
    kind = cpb.SessionType(
        display_name=name, category=enum_number(cpb.SessionCategory, "SESSION_CATEGORY", category, "category"),  # type: ignore[arg-type]
        default_duration=duration(length), buffer_before=duration(before), buffer_after=duration(after),
    )  # fmt: skip
    request = cpb.CreateSessionTypeRequest(session_type=kind, request_id=args.retry_safe(request_id))
    made = hub.call(hub.consulting.CreateSessionType, request)
    hub.show(made, f"등록함 (added) {made.name}", TYPE_COLUMNS, [type_row(made)])


list_and_show(
    session_types_app, korean="상담 유형", english="session types", collection="sessionTypes", example="2",
    columns=TYPE_COLUMNS, row=type_row, field="session_types", get_request=cpb.GetSessionTypeRequest,
    rpcs=lambda hub: (hub.consulting.ListSessionTypes, hub.consulting.GetSessionType),
    list_request=lambda: cpb.ListSessionTypesRequest(page_size=200),
)  # fmt: skip


# sessions: no-show, export


@sessions_app.command("no-show")
def sessions_no_show(hub: Client, session: SessionArgument, etag: args.EtagOption = "") -> None:
    """시작한 상담에 기업이 오지 않았음을 기록합니다 (mark a session that began as a no-show)."""
    name = args.name("sessions", session)
    done = hub.call(hub.consulting.MarkSessionNoShow, cpb.MarkSessionNoShowRequest(name=name, etag=etag))
    show_sessions(hub, f"노쇼 기록함 (no-show) {done.name}", [done])


@sessions_app.command("export")
def sessions_export(
    hub: Client,
    mentor: Annotated[str, typer.Option(help="이 멘토의 상담 (a mentor's sessions): 3 or mentors/3")] = "",
    company: Annotated[str, typer.Option(help="이 기업의 상담 (a company's sessions): 7 or companies/7")] = "",
    start: Annotated[str, typer.Option("--from", help="이날부터 시작한 상담, YYYY-MM-DD (default: 30 days ago)")] = "",
    end: Annotated[str, typer.Option("--to", help="이날 전까지 (sessions starting before this day)")] = "",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="저장할 파일 (default mentors-3.ics); '-': stdout")
    ] = None,
) -> None:
    """멘토나 기업의 상담 일정을 .ics 파일로 내보냅니다: 캘린더 앱이 가져오고, 다시 가져오면 바뀐 일정만
    고칩니다 (export a mentor's or a company's sessions as an iCalendar file)."""
    if bool(mentor) == bool(company):
        fail("--mentor 또는 --company 중 하나를 지정하세요 (name --mentor or --company)", 2)
    owner = args.name("mentors", mentor) if mentor else args.name("companies", company)
    request = cpb.ExportCalendarRequest(owner=owner)
    if start:
        request.interval.start_time.FromDatetime(args.midnight(start, "--from", hub.config.tz))
    if end:
        request.interval.end_time.FromDatetime(args.midnight(end, "--to", hub.config.tz))
    body = hub.call(hub.consulting.ExportCalendar, request)
    events = body.data.count(b"BEGIN:VEVENT")
    if str(output) == "-":
        sys.stdout.buffer.write(body.data)
        return
    path = output or Path(owner.replace("/", "-") + ".ics")
    path.write_bytes(body.data)
    hub.say({"file": str(path), "owner": owner, "events": events},
            f"내보냄 (exported) {owner}: 상담 {events}건 → {path}")  # fmt: skip
