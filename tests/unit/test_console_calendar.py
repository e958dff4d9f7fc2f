"""The calendar pages' parts that need no hub: which week a page shows and the UTC bounds it asks for, a day and
a time typed into a form read in Seoul, sessions laid out in a week's rows, the booking choices a form keeps,
the action items a completion form holds, and the ways times and periods are written."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from google.type import date_pb2, dayofweek_pb2, interval_pb2
from hub.consulting.v1 import consulting_pb2 as spb
from starlette.datastructures import FormData, QueryParams

from services.console import hours
from services.console.i18n import Formats
from services.console.pages.calendar import Choice, week_rows
from services.console.pages.directory import Directory, session_names
from services.console.pages.sessions import action_items
from services.console.weeks import Week, local_moment, moment_of, rfc3339, timestamp

SEOUL = ZoneInfo("Asia/Seoul")
SCHEDULED = spb.SESSION_STATE_SCHEDULED


def test_a_week_runs_from_monday_to_sunday_in_seoul_whatever_day_is_asked() -> None:
    today = date(2026, 12, 3)  # a Thursday
    assert Week.of("", today, SEOUL).monday == date(2026, 11, 30)
    assert Week.of("2026-12-13", today, SEOUL).monday == date(2026, 12, 7), "a Sunday is the end of its week"
    assert Week.of("not a day", today, SEOUL).monday == date(2026, 11, 30)
    assert Week.of("0001-01-01", today, SEOUL).monday == date(2026, 11, 30), "no week before the first day there is"
    week = Week.of("2026-12-07", today, SEOUL)
    assert (week.previous, week.next) == (date(2026, 11, 30), date(2026, 12, 14))
    start, end = week.bounds()
    assert (rfc3339(start), rfc3339(end)) == ("2026-12-06T15:00:00Z", "2026-12-13T15:00:00Z")
    assert [d.day for d in week.days] == [7, 8, 9, 10, 11, 12, 13]


def test_a_day_and_a_time_typed_in_are_read_in_seoul() -> None:
    assert local_moment("2026-12-07", "10:30", SEOUL) == datetime(2026, 12, 7, 1, 30, tzinfo=UTC)
    assert local_moment("2026-12-07", "", SEOUL) is None
    assert local_moment("12/07/2026", "10:30", SEOUL) is None
    assert local_moment("9999-12-31", "23:00", SEOUL) is None
    assert moment_of("2026-12-07T01:30:00Z") == datetime(2026, 12, 7, 1, 30, tzinfo=UTC)
    assert moment_of("2026-12-07T01:30:00") is None, "a moment without its offset is not guessed"


def _session(
    n: int, mentor: int, company: int, start: datetime, state: spb.SessionState.ValueType = SCHEDULED
) -> spb.Session:
    hour = interval_pb2.Interval(start_time=timestamp(start), end_time=timestamp(start + timedelta(hours=1)))
    return spb.Session(
        name=f"sessions/{n}", mentor=f"mentors/{mentor}", company=f"companies/{company}",
        session_type="sessionTypes/2", room="rooms/1" if n % 2 else "", state=state, interval=hour,
    )  # fmt: skip


def test_sessions_fall_in_their_mentors_row_on_their_seoul_day() -> None:
    week = Week.of("2026-12-07", date(2026, 12, 7), SEOUL)
    names = Directory(
        mentors={"mentors/1": spb.Mentor(name="mentors/1", korean_name="김도현"),
                 "mentors/3": spb.Mentor(name="mentors/3", korean_name="박정훈")},
        types={"sessionTypes/2": spb.SessionType(display_name="1:1 기술 자문")},
        companies={"companies/1": "메디비전"},
        words={"companies": "기업 %(n)s", "rooms": "회의실 %(n)s", "mentors": "멘토 %(n)s"},
    )  # fmt: skip
    sessions = [
        _session(1, 3, 1, datetime(2026, 12, 6, 16, tzinfo=UTC)),  # Monday 01:00 in Seoul, Sunday in UTC
        _session(2, 1, 2, datetime(2026, 12, 13, 5, tzinfo=UTC), spb.SESSION_STATE_CANCELLED),  # Sunday 14:00
    ]
    rows = week_rows(week, sessions, names, mentor="mentors/4")
    assert [r.label for r in rows] == ["김도현", "멘토 4", "박정훈"], "the mentor asked for, without a session"
    kim, _, park = rows
    [monday] = park.days[0]
    assert (monday.company, monday.kind, monday.room, monday.state, monday.link) == (
        "메디비전", "1:1 기술 자문", "회의실 1", "SCHEDULED", "/sessions/1",
    )  # fmt: skip
    [sunday] = kim.days[6]
    assert (sunday.company, sunday.room, sunday.state) == ("기업 2", "", "CANCELLED")


def test_the_booking_choices_keep_only_references_and_survive_a_round_trip() -> None:
    sent = QueryParams("company=companies/1&mentor=mentors/3&session_type=sessionTypes/2&room=evil/1&day=2026-12-07"
                       "&time=10:30&agenda=LLM%20평가")  # fmt: skip
    choice = Choice.of(sent)
    assert (choice.company, choice.mentor, choice.session_type, choice.room) == (
        "companies/1", "mentors/3", "sessionTypes/2", "",
    )  # fmt: skip
    assert Choice.of(QueryParams(choice.query(find="1"))) == choice


def test_a_completion_form_holds_the_action_item_rows_begun() -> None:
    form = FormData([("item1", "라벨 재검수"), ("owner1", "한예린"), ("due1", "2026-12-19"), ("item2", ""),
                     ("owner2", ""), ("due2", ""), ("item3", "일정 잡기"), ("owner3", ""), ("due3", "")])  # fmt: skip
    first, third = action_items(form)
    assert (first.description, first.owner) == ("라벨 재검수", "한예린")
    assert first.due_date == date_pb2.Date(year=2026, month=12, day=19)
    assert (third.description, third.owner, third.HasField("due_date")) == ("일정 잡기", "", False)


def test_times_and_periods_are_written_the_korean_way() -> None:
    ko, en = Formats("ko", "Asia/Seoul"), Formats("en", "Asia/Seoul")
    ten, eleven, half_past_twelve = (datetime(2026, 12, 7, h, m, tzinfo=UTC) for h, m in ((1, 0), (2, 0), (3, 30)))
    assert ko.span(ten, eleven) == "오전 10:00–11:00"
    assert ko.span(eleven, half_past_twelve) == "오전 11:00–오후 12:30"
    assert en.span(ten, eleven) == "10:00–11:00"
    assert ko.short_day(date(2026, 12, 7)) == "12월 7일 (월)" and en.short_day(date(2026, 12, 7)) == "Mon 7 Dec"
    assert ko.weekday(1) == "월" and en.weekday(7) == "Sun"
    assert ko.day(date_pb2.Date(year=2026, month=12, day=19)) == "2026년 12월 19일 (토)"
    whole = (timestamp(datetime(2027, 1, 3, 15, tzinfo=UTC)), timestamp(datetime(2027, 1, 6, 15, tzinfo=UTC)))
    assert ko.period(*whole) == "2027년 1월 4일 (월) – 2027년 1월 6일 (수)"
    one = (timestamp(datetime(2027, 1, 3, 15, tzinfo=UTC)), timestamp(datetime(2027, 1, 4, 15, tzinfo=UTC)))
    assert ko.period(*one) == "2027년 1월 4일 (월)"
    hours = (timestamp(datetime(2027, 1, 4, 5, tzinfo=UTC)), timestamp(datetime(2027, 1, 4, 9, tzinfo=UTC)))
    assert ko.period(*hours) == "2027년 1월 4일 (월) 오후 2:00–6:00"


def test_a_weekly_window_typed_in_is_read_and_checked_before_anything_is_sent() -> None:
    monday = hours.read_window("1", "09:00", "12:30")
    assert monday == hours.Window(1, 540, 750) and (monday.start_text, monday.end_text) == ("09:00", "12:30")
    assert hours.read_window("7", "18:00", "24:00").end == 1440, "24:00 ends a day"
    for day, start, end, field, kind in [
        ("1", "12:00", "09:00", "end", "order"),
        ("1", "09:00", "09:00", "end", "order"),
        ("1", "9시", "12:00", "start", "malformed"),
        ("1", "24:00", "24:00", "start", "malformed"),
        ("1", "09:00", "12:60", "end", "malformed"),
        ("1", "09:00", "25:00", "end", "malformed"),
        ("8", "09:00", "12:00", "day", "malformed"),
        ("", "09:00", "12:00", "day", "malformed"),
    ]:
        with pytest.raises(hours.Problem) as problem:
            hours.read_window(day, start, end)
        assert (problem.value.field, problem.value.kind) == (field, kind), (day, start, end)


def test_a_window_joins_the_week_unless_it_overlaps_one_of_the_same_day() -> None:
    week = [hours.Window(3, 600, 720), hours.Window(1, 540, 720)]
    added = hours.with_window(week, hours.Window(1, 720, 780))  # touching is not overlapping
    assert added == [hours.Window(1, 540, 720), hours.Window(1, 720, 780), hours.Window(3, 600, 720)]
    assert hours.with_window(week, hours.Window(2, 540, 720))[1] == hours.Window(2, 540, 720)
    with pytest.raises(hours.Problem) as problem:
        hours.with_window(week, hours.Window(1, 690, 800))
    assert problem.value.kind == "overlap" and problem.value.other == hours.Window(1, 540, 720)
    assert hours.without_window(added, hours.Window(1, 720, 780)) == sorted(week)
    days = hours.by_day(week)
    assert [d for d, _ in days] == [1, 2, 3, 4, 5, 6, 7] and days[0][1] == [hours.Window(1, 540, 720)]
    assert days[1][1] == []


def test_weekly_windows_go_to_the_service_and_back_unchanged() -> None:
    w = hours.Window(5, 13 * 60 + 30, 1440)
    message = w.pb()
    assert message.day == dayofweek_pb2.FRIDAY and (message.end_time.hours, message.end_time.minutes) == (24, 0)
    assert hours.Window.of(message) == w


def test_weekdays_are_named_in_full_in_korean() -> None:
    assert [Formats("ko", "Asia/Seoul").weekday_name(d) for d in (1, 7)] == ["월요일", "일요일"]
    assert Formats("en", "Asia/Seoul").weekday_name(1) == "Monday"


def test_a_reader_who_may_not_list_mentors_types_or_rooms_reads_the_names_the_sessions_give() -> None:
    session = spb.Session(
        mentor="mentors/3", session_type="sessionTypes/2", room="rooms/1", mentor_display_name="김도현",
        session_type_display_name="1:1 기술 자문", room_display_name="501호 회의실",
    )  # fmt: skip
    unnamed = spb.Session(mentor="mentors/4", session_type="sessionTypes/5")
    words = {"mentors": "멘토 %(n)s", "sessionTypes": "세션 유형 %(n)s", "rooms": "회의실 %(n)s"}
    names = Directory(words=words, named=session_names([session, unnamed]))
    assert (names.mentor("mentors/3"), names.kind("sessionTypes/2"), names.room("rooms/1")) == (
        "김도현", "1:1 기술 자문", "501호 회의실"
    )  # fmt: skip
    assert (names.mentor("mentors/4"), names.kind("sessionTypes/5")) == ("멘토 4", "세션 유형 5")
