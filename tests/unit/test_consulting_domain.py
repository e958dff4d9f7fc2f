"""Consulting rules without I/O: availability (weekly rules, exceptions, buffers, DST, Seoul day
boundaries), the session lifecycle and what a session holds, and iCalendar output."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import icalendar
import pytest

from hubcore.errors import FailedPrecondition, InvalidArgument
from services.consulting import domain
from services.consulting.domain import Busy, Window

MON, SAT, SUN = 0, 5, 6
LONG_AGO = datetime(2000, 1, 1, tzinfo=UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def mentor(*windows: Window, tz: str = "Asia/Seoul") -> domain.Mentor:
    return domain.Mentor(id=1, korean_name="김교수", kind="FACULTY", time_zone=tz, windows=list(windows))


def hours(weekday: int, start: str, end: str) -> Window:
    def minute(text: str) -> int:
        h, m = text.split(":")
        return int(h) * 60 + int(m)

    return Window(weekday, minute(start), minute(end))


def slots(
    m: domain.Mentor,
    first: date,
    last: date | None = None,
    *,
    zone: str = "Asia/Seoul",
    minutes: int = 60,
    step: int = 30,
    exceptions: list[domain.AvailabilityException] | None = None,
    busy: list[domain.Period] | None = None,
    before: int = 0,
    after: int = 0,
    company: list[domain.Period] | None = None,
    rooms: dict[int, list[domain.Period]] | None = None,
    not_before: datetime = LONG_AGO,
) -> list[domain.Slot]:
    start, end = domain.search_window(first, last or first, zone)
    return domain.find_slots(
        mentor_id=m.id,
        available=domain.available_periods(m, exceptions or [], start, end),
        mentor_busy=Busy.of(busy or []),
        duration=timedelta(minutes=minutes),
        buffer_before=timedelta(minutes=before),
        buffer_after=timedelta(minutes=after),
        step=timedelta(minutes=step),
        not_before=not_before,
        company_busy=Busy.of(company) if company is not None else None,
        rooms={r: Busy.of(p) for r, p in rooms.items()} if rooms is not None else None,
    )


def starts(found: list[domain.Slot]) -> list[str]:
    return [s.start.strftime("%Y-%m-%d %H:%M") for s in found]


def test_weekly_rule_in_seoul_gives_slots_in_utc() -> None:
    found = slots(mentor(hours(MON, "09:00", "12:00")), date(2026, 3, 2))  # a Monday
    # 09:00 KST is 00:00 UTC; a 60-minute session every 30 minutes, the last ending at 12:00 KST.
    assert starts(found) == ["2026-03-02 00:00", "2026-03-02 00:30", "2026-03-02 01:00", "2026-03-02 01:30",
                             "2026-03-02 02:00"]  # fmt: skip
    assert all(s.end - s.start == timedelta(hours=1) for s in found)


def test_seoul_day_boundaries_dates_are_read_in_the_callers_zone() -> None:
    early = mentor(hours(MON, "07:00", "10:00"))  # Monday 07:00 KST is Sunday 22:00 UTC
    monday_in_seoul = slots(early, date(2026, 3, 2), step=60)
    assert starts(monday_in_seoul) == ["2026-03-01 22:00", "2026-03-01 23:00", "2026-03-02 00:00"]
    assert slots(early, date(2026, 3, 1), step=60) == []  # Sunday in Seoul: nothing
    sunday_in_utc = slots(early, date(2026, 3, 1), zone="UTC", step=60)  # the UTC Sunday holds 22:00-24:00
    assert starts(sunday_in_utc) == ["2026-03-01 22:00", "2026-03-01 23:00"]
    # A window that runs to midnight (24:00) ends at the next local day's start.
    late = mentor(hours(MON, "22:00", "24:00"))
    assert starts(slots(late, date(2026, 3, 2), step=60)) == ["2026-03-02 13:00", "2026-03-02 14:00"]


def test_exceptions_remove_time_away_and_add_extra_hours() -> None:
    m = mentor(hours(MON, "09:00", "12:00"))
    away = domain.AvailabilityException(1, 1, False, utc("2026-03-02T00:30"), utc("2026-03-02T02:00"))
    # Left: 09:00-09:30 (too short for an hour) and 11:00-12:00.
    assert starts(slots(m, date(2026, 3, 2), exceptions=[away], step=60)) == ["2026-03-02 02:00"]
    assert starts(slots(m, date(2026, 3, 2), exceptions=[away], minutes=30, step=30)) == [
        "2026-03-02 00:00",
        "2026-03-02 02:00",
        "2026-03-02 02:30",
    ]
    saturday = domain.AvailabilityException(2, 1, True, utc("2026-03-07T01:00"), utc("2026-03-07T03:00"))
    assert starts(slots(m, date(2026, 3, 7), exceptions=[saturday], step=60)) == [
        "2026-03-07 01:00",
        "2026-03-07 02:00",
    ]
    vacation = domain.AvailabilityException(3, 1, False, utc("2026-03-01T00:00"), utc("2026-03-15T00:00"))
    assert slots(m, date(2026, 3, 2), date(2026, 3, 13), exceptions=[vacation]) == []


def test_buffers_keep_time_free_around_sessions() -> None:
    m = mentor(hours(MON, "09:00", "13:00"))
    # A session 10:00-11:00 KST whose type keeps 15 minutes after: the mentor is held 10:00-11:15 KST.
    held = [(utc("2026-03-02T01:00"), utc("2026-03-02T02:15"))]
    found = slots(m, date(2026, 3, 2), busy=held, before=10)
    # 09:00 fits (its 10-minute lead-in ends where the booking starts); 11:00 does not (lead-in at 10:50);
    # 11:30 does (lead-in from 11:20, after 11:15).
    assert starts(found) == ["2026-03-02 00:00", "2026-03-02 02:30", "2026-03-02 03:00"]
    found_after = slots(m, date(2026, 3, 2), busy=held, after=30)
    assert "2026-03-02 00:00" not in starts(found_after)  # 09:00-10:00 plus 30 minutes after meets 10:00
    assert "2026-03-02 02:30" in starts(found_after)


def test_dst_mentor_in_los_angeles() -> None:
    la = mentor(hours(MON, "09:00", "17:00"), tz="America/Los_Angeles")
    before = slots(la, date(2026, 3, 2), zone="America/Los_Angeles", step=60)  # PST, UTC-8
    after = slots(la, date(2026, 3, 9), zone="America/Los_Angeles", step=60)  # PDT since 8 March, UTC-7
    assert before[0].start == utc("2026-03-02T17:00") and before[-1].end == utc("2026-03-03T01:00")
    assert after[0].start == utc("2026-03-09T16:00") and after[-1].end == utc("2026-03-10T00:00")
    assert len(before) == len(after) == 8  # the same eight wall-clock hours either side of the change

    night = [hours(SUN, "00:00", "04:00")]
    spring = slots(mentor(*night, tz="America/Los_Angeles"), date(2026, 3, 8), zone="America/Los_Angeles", step=60)
    assert starts(spring) == ["2026-03-08 08:00", "2026-03-08 09:00", "2026-03-08 10:00"]  # 02:00-03:00 never was
    fall = slots(mentor(*night, tz="America/Los_Angeles"), date(2026, 11, 1), zone="America/Los_Angeles", step=60)
    assert len(fall) == 5  # 01:00-02:00 happens twice
    # Seen from Seoul, the same Monday hours start on Tuesday morning, an hour earlier after the change.
    seoul_view = slots(la, date(2026, 3, 10), zone="Asia/Seoul", step=60)
    assert seoul_view[0].start == utc("2026-03-09T16:00")


def test_company_and_room_must_be_free_too() -> None:
    m = mentor(hours(MON, "09:00", "11:00"))
    company_busy = [(utc("2026-03-02T00:00"), utc("2026-03-02T01:00"))]
    assert starts(slots(m, date(2026, 3, 2), company=company_busy, step=60)) == ["2026-03-02 01:00"]
    rooms = {1: [(utc("2026-03-02T00:00"), utc("2026-03-02T01:00"))], 2: []}
    found = slots(m, date(2026, 3, 2), rooms=rooms, step=60)
    assert [(starts([s])[0], s.rooms) for s in found] == [("2026-03-02 00:00", (2,)), ("2026-03-02 01:00", (1, 2))]
    assert slots(m, date(2026, 3, 2), rooms={}, step=60) == []  # a room was needed and there is none


def test_past_slots_are_not_offered_and_the_grid_is_kept() -> None:
    m = mentor(hours(MON, "09:00", "12:00"))
    found = slots(m, date(2026, 3, 2), not_before=utc("2026-03-02T00:40"))
    assert starts(found)[0] == "2026-03-02 01:00"


def test_search_window_and_zone_checks_name_the_field() -> None:
    with pytest.raises(InvalidArgument) as caught:
        domain.search_window(date(2026, 3, 2), date(2026, 1, 1), "Asia/Seoul")
    assert caught.value.violations[0][0] == "end_date"
    with pytest.raises(InvalidArgument) as caught:
        domain.search_window(date(2026, 1, 1), date(2026, 6, 1), "Asia/Seoul")
    assert caught.value.violations[0][0] == "end_date"
    for bad in ("Mars/Olympus", "../etc/passwd", "", "Asia/"):
        with pytest.raises(InvalidArgument) as caught:
            domain.zone(bad, "mentor.time_zone")
        assert caught.value.violations[0][0] == "mentor.time_zone"
    with pytest.raises(InvalidArgument) as caught:
        domain.check_windows([Window(MON, 600, 540)], "mentor.weekly_availability")
    assert caught.value.violations[0][0] == "mentor.weekly_availability[0].end_time"


def session(**fields: object) -> domain.Session:
    base = {
        "id": 4, "company_id": 2, "mentor_id": 1, "session_type_id": 3,
        "start": utc("2026-03-02T01:00"), "end": utc("2026-03-02T02:00"),
        "buffer_before": timedelta(minutes=10), "buffer_after": timedelta(minutes=15), "room_id": 5,
    }  # fmt: skip
    return domain.Session(**(base | fields))  # type: ignore[arg-type]


def test_a_session_holds_mentor_with_buffers_company_and_room() -> None:
    assert session().holds() == [
        ("mentors/1", utc("2026-03-02T00:50"), utc("2026-03-02T02:15")),
        ("companies/2", utc("2026-03-02T01:00"), utc("2026-03-02T02:00")),
        ("rooms/5", utc("2026-03-02T01:00"), utc("2026-03-02T02:00")),
    ]
    assert [r for r, _, _ in session(room_id=None).holds()] == ["mentors/1", "companies/2"]
    assert session().cancel("일정 변경").holds() == []
    assert session().no_show(LATER).holds() == []
    assert len(session().complete("좋은 논의", LATER).holds()) == 3


LATER = utc("2026-03-02T01:30")  # the session() below began at 01:00


def test_a_session_cannot_be_completed_or_missed_before_it_starts() -> None:
    for early in (utc("2026-03-02T00:59"), utc("2026-03-01T09:00")):
        with pytest.raises(FailedPrecondition, match="before it has started"):
            session().complete("미리 기록", early)
        with pytest.raises(FailedPrecondition, match="before it has started"):
            session().no_show(early)
    assert session().complete("notes", utc("2026-03-02T01:00")).state == "COMPLETED"


def test_session_lifecycle() -> None:
    s = session(version=1, sequence=0)
    moved = s.reschedule(utc("2026-03-03T01:00"), utc("2026-03-03T02:00"), None)
    assert (moved.sequence, moved.version, moved.room_id) == (1, 2, None)
    cancelled = moved.cancel(" 회사 사정 ")
    assert (cancelled.state, cancelled.sequence, cancelled.cancel_reason) == ("CANCELLED", 2, "회사 사정")
    for final in (cancelled, s.complete("notes", LATER), s.no_show(LATER)):
        with pytest.raises(FailedPrecondition):
            final.cancel("again")
        with pytest.raises(FailedPrecondition):
            final.reschedule(utc("2026-03-04T01:00"), utc("2026-03-04T02:00"), None)
    with pytest.raises(FailedPrecondition, match="already at that time"):
        s.reschedule(s.start, s.end, s.room_id)
    with pytest.raises(InvalidArgument):
        s.reschedule(s.end, s.start, None)


def test_new_session_takes_the_types_duration_and_buffers() -> None:
    kind = domain.new_session_type(
        display_name="1:1 기술 자문", category="TECHNICAL", default_duration=timedelta(minutes=50),
        buffer_before=timedelta(minutes=5), buffer_after=timedelta(minutes=10),
    )  # fmt: skip
    made = domain.new_session(
        company_id=1, mentor_id=1, session_type=kind, start=utc("2026-03-02T01:00"), end=None, room_id=None, agenda=""
    )
    assert made.end == utc("2026-03-02T01:50") and made.buffer_after == timedelta(minutes=10)
    with pytest.raises(InvalidArgument) as caught:
        domain.new_session_type(
            display_name="", category="", default_duration=timedelta(seconds=90),
            buffer_before=timedelta(hours=3), buffer_after=timedelta(minutes=-5),
        )  # fmt: skip
    assert [f for f, _ in caught.value.violations] == [
        "session_type.display_name",
        "session_type.category",
        "session_type.default_duration",
        "session_type.buffer_before",
        "session_type.buffer_after",
    ]


def test_notes_come_with_the_completion_or_once_after_it() -> None:
    done = session().complete("  ", LATER)
    assert (done.completed_at, done.notes_at, done.notes) == (LATER, None, "")
    written = done.record_notes(" 경량화 논의 ", LATER + timedelta(hours=3))
    assert (written.notes, written.notes_at, written.version) == (
        "경량화 논의",
        LATER + timedelta(hours=3),
        done.version + 1,
    )
    with pytest.raises(FailedPrecondition, match="has its notes already"):
        written.record_notes("다시", LATER)
    with pytest.raises(FailedPrecondition, match="has its notes already"):
        session().complete("처음부터", LATER).record_notes("다시", LATER)
    with pytest.raises(FailedPrecondition, match="completed session"):
        session().record_notes("아직", LATER)
    with pytest.raises(InvalidArgument):
        done.record_notes(" ", LATER)


def test_feedback_is_on_a_completed_session_on_time_within_48_hours_and_a_manager_needs_a_reason() -> None:
    done = session().complete("notes", LATER)

    def give(at: datetime, **overrides: Any) -> domain.Feedback:
        values: dict[str, Any] = {"rating": 1, "fit": "GOOD_FIT", "comment": " 별로 ", "actor": "founder:x",
                                  "reason": "", "on_behalf": False, "at": at} | overrides  # fmt: skip
        return domain.new_feedback(done, **values)

    first = give(LATER + timedelta(hours=48))
    assert first.on_time and first.needs_follow_up and first.comment == "별로"
    assert not give(LATER + timedelta(hours=48, seconds=1)).on_time
    assert not give(LATER, rating=3, fit="STILL_DECIDING").needs_follow_up
    assert give(LATER, rating=4, fit="NOT_A_FIT").needs_follow_up
    assert give(LATER, on_behalf=True, reason=" 전화로 받음 ").reason == "전화로 받음"
    with pytest.raises(InvalidArgument) as caught:
        give(LATER, rating=5, fit="", on_behalf=True)
    assert [f for f, _ in caught.value.violations] == ["rating", "fit", "reason"]
    with pytest.raises(FailedPrecondition, match="completed session"):
        domain.new_feedback(session(), rating=3, fit="GOOD_FIT", comment="", actor="", reason="", on_behalf=False,
                            at=LATER)  # fmt: skip


def test_a_deactivated_mentor_cannot_be_booked_until_reactivated() -> None:
    m = mentor()
    m.check_bookable()
    away = m.deactivate(" 퇴임 ", LATER)
    assert (away.active, away.state, away.deactivation_reason, away.version) == (False, "INACTIVE", "퇴임", 2)
    with pytest.raises(FailedPrecondition, match="inactive"):
        away.check_bookable()
    with pytest.raises(FailedPrecondition, match="already inactive"):
        away.deactivate("again", LATER)
    back = away.reactivate()
    back.check_bookable()
    assert (back.state, back.deactivated_at, back.deactivation_reason) == ("ACTIVE", None, "")
    with pytest.raises(FailedPrecondition, match="already active"):
        back.reactivate()


def test_action_items_fall_overdue_after_their_due_date() -> None:
    item = domain.ActionItem(1, 4, 2, 1, "IR 자료 보완", "김서연", date(2026, 3, 10))
    assert not item.is_overdue(date(2026, 3, 10)) and item.is_overdue(date(2026, 3, 11))
    done = item.complete(utc("2026-03-12T00:00"))
    assert not done.is_overdue(date(2026, 3, 20))
    with pytest.raises(FailedPrecondition):
        done.complete(utc("2026-03-12T00:00"))


def test_icalendar_round_trip_keeps_uid_and_raises_sequence_on_reschedule() -> None:
    first = session(created_at=utc("2026-02-20T00:00"), updated_at=utc("2026-02-20T00:00"))
    moved = first.reschedule(utc("2026-03-03T01:00"), utc("2026-03-03T02:00"), 5)
    cancelled = session(id=5, state="CANCELLED", sequence=1)

    def parse(*sessions: domain.Session) -> list[Any]:
        entries = [
            domain.CalendarEntry(s, summary="1:1 기술 자문 · 메디비전 × 김교수", location="501호") for s in sessions
        ]
        calendar = icalendar.Calendar.from_ical(domain.to_ical("김교수 자문 일정", entries))
        assert str(calendar["version"]) == "2.0" and "PRODID" in calendar
        return list(calendar.walk("VEVENT"))

    [before] = parse(first)
    [after, gone] = parse(moved, cancelled)
    assert str(before["uid"]) == str(after["uid"]) == "session-4@hub.kaist.ac.kr"
    assert (int(before["sequence"]), int(after["sequence"])) == (0, 1)
    assert before.decoded("dtstart") == utc("2026-03-02T01:00")
    assert after.decoded("dtstart") == utc("2026-03-03T01:00") and after.decoded("dtend") == utc("2026-03-03T02:00")
    assert str(after["summary"]) == "1:1 기술 자문 · 메디비전 × 김교수" and str(after["location"]) == "501호"
    assert str(gone["status"]) == "CANCELLED" and str(gone["uid"]) == "session-5@hub.kaist.ac.kr"


def test_a_conflict_names_the_kind_of_what_is_taken_in_words() -> None:
    said = [domain.conflict_message(r, "sessions/4") for r in ("companies/2", "mentors/1", "rooms/3")]
    assert said == [
        "company companies/2 is already booked at an overlapping time by sessions/4",
        "mentor mentors/1 is already booked at an overlapping time by sessions/4",
        "room rooms/3 is already booked at an overlapping time by sessions/4",
    ]
