"""hubctl mentors: who the consulting calendar books, their weekly hours and the exceptions to them.

Hours are wall-clock times in the mentor's own zone (`mon 09:00-12:00`); exceptions are typed in Asia/Seoul (or
--tz), as every time hubctl reads."""

from __future__ import annotations

from typing import Annotated

import typer
from google.type import timeofday_pb2
from hub.consulting.v1 import consulting_pb2 as cpb

from hubctl import args
from hubctl.client import Client, Commands, enum_number, fail, print_table, short, when
from hubctl.consulting import moment

mentors_app = Commands(help="멘토: 등록, 조회, 수정, 주간 상담 시간, 예외, 비활성화 (mentors: add, show, edit, hours, "
                            "exceptions, deactivate).")  # fmt: skip
exceptions_app = Commands(help="멘토 일정 예외: 휴가·출장(불가), 추가 상담 시간(가능) (a mentor's exceptions to their "
                               "weekly hours).")  # fmt: skip
mentors_app.add_typer(exceptions_app, name="exceptions")

MENTOR_STATES = {cpb.MENTOR_STATE_ACTIVE: "활성 active", cpb.MENTOR_STATE_INACTIVE: "비활성 inactive"}
MENTOR_COLUMNS = ["id", "이름 name", "구분 kind", "소속 affiliation", "전문 expertise", "시간대 zone", "상태 state"]
MentorArgument = Annotated[str, typer.Argument(metavar="MENTOR", help="멘토 (a mentor): 3 or mentors/3")]
KindOption = Annotated[str, typer.Option(help="구분: faculty 교수, expert 전문가, vc 투자자 (kind)")]
AffiliationOption = Annotated[str, typer.Option(help="소속, 예: 'KAIST 전산학부 교수' (affiliation)")]
ExpertiseOption = Annotated[
    list[str] | None, typer.Option(help="전문 분야 태그, 반복 가능 (an expertise tag; repeatable)")
]
ZoneOption = Annotated[str, typer.Option("--zone", help="멘토의 시간대 (the mentor's IANA zone), 예: America/New_York")]
HoursArgument = Annotated[
    list[str] | None,
    typer.Argument(metavar="[DAY HH:MM-HH:MM]...", help="요일별 시간, 예: 'mon 09:00-12:00' 'wed 14:00-18:00'"),
]
DAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
KOREAN_DAYS = {"월": 1, "화": 2, "수": 3, "목": 4, "금": 5, "토": 6, "일": 7}
DAY_NAMES = {number: f"{ko}({en})" for (ko, number), en in zip(KOREAN_DAYS.items(), DAYS, strict=True)}


def mentor_name(text: str) -> str:
    return args.name("mentors", text)


def kind_number(text: str) -> int:
    return enum_number(cpb.MentorKind, "MENTOR_KIND", text, "kind")


def mentor_row(m: cpb.Mentor) -> list[str]:
    return [m.name.removeprefix("mentors/"), m.korean_name, short(cpb.MentorKind, m.kind, "MENTOR_KIND").lower(),
            m.affiliation, ", ".join(m.expertise), m.time_zone, MENTOR_STATES.get(m.state, "")]  # fmt: skip


def clock(t: timeofday_pb2.TimeOfDay) -> str:
    return f"{t.hours:02d}:{t.minutes:02d}"


def hours_text(m: cpb.Mentor) -> str:
    return ", ".join(f"{DAY_NAMES[w.day]} {clock(w.start_time)}-{clock(w.end_time)}" for w in m.weekly_availability)


def time_of_day(text: str, window: str) -> timeofday_pb2.TimeOfDay:
    hours, _, minutes = text.strip().partition(":")
    if not (hours.isdigit() and minutes.isdigit() and len(minutes) == 2):
        fail(f"hours {window!r}: 시간은 HH:MM 형식 (write times as HH:MM, e.g. 'mon 09:00-12:00')", 3)
    return timeofday_pb2.TimeOfDay(hours=int(hours), minutes=int(minutes))


def weekly(windows: list[str]) -> list[cpb.WeeklyWindow]:
    """'mon 09:00-12:00' (or '월 09:00-12:00') as a weekly window; the service checks the times themselves."""
    found = []
    for window in windows:
        day, _, times = window.strip().partition(" ")
        number = DAYS.get(day.strip().lower()[:3]) or KOREAN_DAYS.get(day.strip()[:1])
        start, dash, end = times.partition("-")
        if not number or not dash:
            fail(f"hours {window!r}: '요일 HH:MM-HH:MM' 형식 (write it like 'mon 09:00-12:00' or '월 09:00-12:00')", 3)
        found.append(cpb.WeeklyWindow(day=number, start_time=time_of_day(start, window),
                                      end_time=time_of_day(end, window)))  # fmt: skip
    return found


def show_mentor(hub: Client, title: str, m: cpb.Mentor) -> None:
    if hub.printed_json(m):
        return
    fields = dict(zip(MENTOR_COLUMNS, mentor_row(m), strict=True))
    fields |= {"영문 English": m.english_name, "이메일 email": m.email, "주간 시간 hours": hours_text(m),
               "수정 updated": when(m.update_time, hub.config.tz), "버전 etag": m.etag}  # fmt: skip
    if m.deactivation_reason:
        fields["비활성 사유 reason"] = m.deactivation_reason
    print_table(title, ["항목 field", "값 value"], fields.items())


@mentors_app.command("list")
def mentors_list(
    hub: Client,
    expertise: Annotated[str, typer.Option(help="이 전문 분야의 멘토만 (mentors with this expertise tag)")] = "",
    kind: Annotated[str, typer.Option(help="구분: faculty, expert, vc (kind)")] = "",
) -> None:
    """멘토 목록 (list mentors)."""
    request = cpb.ListMentorsRequest(filter=args.where(expertise=args.quoted(expertise), kind=kind), page_size=200)
    hub.table(hub.pages(hub.consulting.ListMentors, request, "mentors"), "멘토 mentors", MENTOR_COLUMNS, mentor_row)


@mentors_app.command("show")
def mentors_show(hub: Client, mentor: MentorArgument) -> None:
    """멘토 한 명: 연락처, 주간 상담 시간, 버전 (one mentor, with their weekly hours and etag)."""
    show_mentor(
        hub, mentor_name(mentor), hub.call(hub.consulting.GetMentor, cpb.GetMentorRequest(name=mentor_name(mentor)))
    )


@mentors_app.command("add")
def mentors_add(
    hub: Client,
    korean_name: args.KoreanNameOption,
    kind: KindOption,
    english_name: args.EnglishNameOption = "",
    affiliation: AffiliationOption = "",
    email: Annotated[str, typer.Option(help="이메일 (email)")] = "",
    expertise: ExpertiseOption = None,
    zone: ZoneOption = "",
    hours: Annotated[
        list[str] | None, typer.Option(help="주간 시간 'mon 09:00-12:00' (weekly hours; repeatable)")
    ] = None,
    request_id: args.RequestIdOption = "",
) -> None:
    """멘토를 등록합니다 (add a mentor); 로그인 초대는 `hubctl identities invite --mentor N`."""
    mentor = cpb.Mentor(
        korean_name=korean_name, english_name=english_name, kind=kind_number(kind),  # type: ignore[arg-type]
        affiliation=affiliation, email=email, expertise=expertise or [], time_zone=zone,
        weekly_availability=weekly(hours or []),
    )  # fmt: skip
    request = cpb.CreateMentorRequest(mentor=mentor, request_id=args.retry_safe(request_id))
    show_mentor(hub, "등록함 (added)", hub.call(hub.consulting.CreateMentor, request))


@mentors_app.command("edit")
def mentors_edit(
    hub: Client,
    mentor: MentorArgument,
    korean_name: args.KoreanNameEdit = None,
    english_name: args.EnglishNameEdit = None,
    kind: Annotated[str | None, typer.Option(help="faculty, expert, vc")] = None,
    affiliation: Annotated[str | None, typer.Option(help="소속 (affiliation)")] = None,
    email: args.EmailEdit = None,
    expertise: Annotated[list[str] | None, typer.Option(help="전문 분야 전체를 바꿈 (replaces all tags)")] = None,
    zone: Annotated[str | None, typer.Option("--zone", help="시간대 (IANA zone)")] = None,
    etag: args.EtagOption = "",
) -> None:
    """주어진 항목만 바꿉니다; 그 사이 누가 바꿨으면 거절됩니다 (change the fields given, and nothing else; refused
    if the mentor changed meanwhile)."""
    saved = args.saved_edit(
        hub, hub.consulting.GetMentor, cpb.GetMentorRequest(name=mentor_name(mentor)), hub.consulting.UpdateMentor,
        cpb.UpdateMentorRequest, "--affiliation 'KAIST 전산학부 교수'", etag,
        korean_name=korean_name, english_name=english_name, kind=None if kind is None else kind_number(kind),
        affiliation=affiliation, email=email, expertise=expertise, time_zone=zone,
    )  # fmt: skip
    show_mentor(hub, f"수정함 (updated) {saved.name}", saved)


@mentors_app.command("hours")
def mentors_hours(
    hub: Client,
    mentor: MentorArgument,
    windows: HoursArgument = None,
    clear: Annotated[bool, typer.Option("--clear", help="주간 시간을 모두 지움 (no weekly hours)")] = False,
    etag: args.EtagOption = "",
) -> None:
    """멘토의 주간 상담 시간을 봅니다, 또는 통째로 바꿉니다 (show a mentor's weekly hours, or replace them all):
    `hubctl mentors hours 3 'mon 09:00-12:00' 'wed 14:00-18:00'`. 멘토의 시간대 기준 (in the mentor's zone)."""
    if not windows and not clear:
        found = hub.call(hub.consulting.GetMentor, cpb.GetMentorRequest(name=mentor_name(mentor)))
        rows = [(DAY_NAMES[w.day], clock(w.start_time), clock(w.end_time)) for w in found.weekly_availability]
        title = f"{found.korean_name} ({found.name}) 주간 시간 (weekly hours, {found.time_zone})"
        hub.show(list(found.weekly_availability), title, ["요일 day", "시작 from", "끝 to"], rows)
        return
    saved = args.saved_edit(
        hub, hub.consulting.GetMentor, cpb.GetMentorRequest(name=mentor_name(mentor)), hub.consulting.UpdateMentor,
        cpb.UpdateMentorRequest, "'mon 09:00-12:00'", etag, weekly_availability=weekly(windows or []),
    )  # fmt: skip
    hub.say(saved, f"주간 시간 바꿈 (hours set) {saved.name}: {hours_text(saved) or '없음 (none)'}")


@mentors_app.command("deactivate")
def mentors_deactivate(
    hub: Client,
    mentor: MentorArgument,
    reason: args.ReasonOption = "",
) -> None:
    """멘토를 비활성화합니다: 예약할 수 없고, 로그인 신원과 토큰이 모두 종료됩니다 (deactivate a mentor: no
    booking, and their sign-in identities and tokens end)."""
    request = cpb.DeactivateMentorRequest(name=mentor_name(mentor), reason=reason)
    done = hub.call(hub.consulting.DeactivateMentor, request)
    hub.say(done, f"비활성화함 (deactivated) {done.name}: {done.korean_name}; "
                  "예약 불가, 로그인 종료 (cannot be booked; sign-in ended)")  # fmt: skip


@mentors_app.command("reactivate")
def mentors_reactivate(hub: Client, mentor: MentorArgument, reason: args.ReasonOption = "") -> None:
    """비활성화된 멘토를 다시 예약할 수 있게 합니다; 로그인은 새 초대가 필요합니다 (make a mentor bookable again;
    signing in takes a new invitation)."""
    request = cpb.ReactivateMentorRequest(name=mentor_name(mentor), reason=reason)
    done = hub.call(hub.consulting.ReactivateMentor, request)
    hub.say(done, f"다시 활성화함 (reactivated) {done.name}: {done.korean_name}")


# exceptions

EXCEPTION_KINDS = {cpb.EXCEPTION_KIND_UNAVAILABLE: "불가 unavailable", cpb.EXCEPTION_KIND_AVAILABLE: "가능 available"}
EXCEPTION_COLUMNS = ["id", "멘토 mentor", "구분 kind", "시작 from", "끝 to", "이유 reason"]


def exception_row(e: cpb.AvailabilityException, tz: str) -> list[str]:
    return [e.name.removeprefix("availabilityExceptions/"), e.mentor, EXCEPTION_KINDS.get(e.kind, ""),
            when(e.interval.start_time, tz), when(e.interval.end_time, tz), e.reason]  # fmt: skip


@exceptions_app.command("add")
def exceptions_add(
    hub: Client,
    mentor: MentorArgument,
    start: Annotated[str, typer.Option("--from", help="시작, 예: '2026-12-01 09:00' (from, your --tz)")],
    end: Annotated[str, typer.Option("--to", help="끝, 예: '2026-12-05 18:00' (to, your --tz)")],
    kind: Annotated[
        str, typer.Option(help="unavailable 불가 (휴가, 출장) or available 가능 (추가 시간)")
    ] = "unavailable",
    reason: args.ReasonOption = "",
    request_id: args.RequestIdOption = "",
) -> None:
    """주간 시간의 예외를 더합니다: 그 사이 예약 불가, 또는 추가로 가능 (add an exception: the mentor is away, or
    available besides their weekly hours)."""
    exception = cpb.AvailabilityException(
        mentor=mentor_name(mentor), kind=enum_number(cpb.ExceptionKind, "EXCEPTION_KIND", kind, "kind"),  # type: ignore[arg-type]
        reason=reason,
    )  # fmt: skip
    exception.interval.start_time.CopyFrom(moment(start, hub.config.tz))
    exception.interval.end_time.CopyFrom(moment(end, hub.config.tz))
    request = cpb.CreateAvailabilityExceptionRequest(availability_exception=exception,
                                                     request_id=args.retry_safe(request_id))  # fmt: skip
    made = hub.call(hub.consulting.CreateAvailabilityException, request)
    hub.show(made, f"예외 추가함 (added) {made.name}", EXCEPTION_COLUMNS, [exception_row(made, hub.config.tz)])


@exceptions_app.command("list")
def exceptions_list(hub: Client, mentor: MentorArgument) -> None:
    """멘토의 일정 예외 목록 (a mentor's exceptions, by start)."""
    request = cpb.ListAvailabilityExceptionsRequest(mentor=mentor_name(mentor), page_size=200)
    found = hub.pages(hub.consulting.ListAvailabilityExceptions, request, "availability_exceptions")
    hub.table(found, f"{mentor_name(mentor)} 예외 exceptions", EXCEPTION_COLUMNS,
              lambda e: exception_row(e, hub.config.tz))  # fmt: skip


@exceptions_app.command("delete")
def exceptions_delete(
    hub: Client, exception: Annotated[str, typer.Argument(metavar="EXCEPTION", help="5 or availabilityExceptions/5")]
) -> None:
    """일정 예외를 지웁니다: 주간 시간대로 돌아갑니다 (delete an exception; the weekly hours hold again)."""
    name = args.name("availabilityExceptions", exception)
    hub.call(hub.consulting.DeleteAvailabilityException, cpb.DeleteAvailabilityExceptionRequest(name=name))
    hub.say({"name": name, "deleted": True}, f"예외 지움 (deleted) {name}")
