"""hubctl's consulting calendar commands against the real consulting service, in Korean first: a program manager
adds a mentor with weekly hours, edits them (a stale etag refused), adds and deletes an exception, adds rooms and
session types, marks a session a no-show, and exports a mentor's calendar as an .ics file that reads back with the
session's start in Asia/Seoul."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import Result

from tests.conftest import RunningConsulting
from tests.e2e.test_hubctl import hubctl
from tests.integration.consulting_world import earlier_today, future_monday, know_company

SEOUL = ZoneInfo("Asia/Seoul")


async def test_mentors_add_show_edit_hours_and_exceptions(consulting: RunningConsulting) -> None:
    env = {"HUB_CONSULTING_ADDRESS": consulting.address}

    async def run(*args: str) -> Result:
        return await hubctl(None, *args, env=env)

    added = await run("mentors", "add", "--ko", "김도현", "--kind", "faculty", "--affiliation", "KAIST 전산학부",
                      "--expertise", "vision", "--hours", "mon 09:00-12:00", "--hours", "수 14:00-18:00")  # fmt: skip
    assert added.exit_code == 0 and "등록함 (added)" in added.stdout, added.output
    assert "월(mon) 09:00-12:00, 수(wed) 14:00-18:00" in added.stdout
    unknown_kind = await run("mentors", "add", "--ko", "이수민", "--kind", "coach")
    assert unknown_kind.exit_code == 3 and "faculty, expert, vc" in unknown_kind.output
    blank = await run("mentors", "add", "--ko", " ", "--kind", "expert")
    assert blank.exit_code == 3 and "mentor.korean_name" in blank.output, blank.output
    bad_hours = await run("mentors", "add", "--ko", "이수민", "--kind", "expert", "--hours", "mon 9시-12시")
    assert bad_hours.exit_code == 3 and "HH:MM" in bad_hours.output
    missing = await run("mentors", "show", "99")
    assert missing.exit_code == 4 and "not found" in missing.output

    shown = json.loads((await run("--json", "mentors", "show", "1")).stdout)
    etag = shown["etag"]
    assert shown["korean_name"] == "김도현" and len(shown["weekly_availability"]) == 2
    edited = await run("mentors", "edit", "1", "--affiliation", "KAIST 김재철AI대학원", "--etag", etag)
    assert edited.exit_code == 0 and "수정함 (updated) mentors/1" in edited.stdout, edited.output
    assert "KAIST 김재철AI대학원" in edited.stdout
    stale = await run("mentors", "edit", "1", "--email", "kim@kaist.ac.kr", "--etag", etag)
    assert stale.exit_code == 5 and "stale" in stale.output, stale.output
    nothing = await run("mentors", "edit", "1")
    assert nothing.exit_code == 2 and "nothing to change" in nothing.output
    assert json.loads((await run("--json", "mentors", "show", "1")).stdout).get("email", "") == ""

    hours = await run("mentors", "hours", "1", "tue 10:00-16:00")
    assert hours.exit_code == 0 and "화(tue) 10:00-16:00" in hours.stdout, hours.output
    listed = await run("mentors", "hours", "1")
    assert "화(tue)" in listed.stdout and "월(mon)" not in listed.stdout and "10:00" in listed.stdout
    backwards = await run("mentors", "hours", "1", "tue 16:00-10:00")
    assert backwards.exit_code == 3 and "weekly_availability" in backwards.output, backwards.output

    week = future_monday().astimezone(SEOUL)
    away = ("--from", week.strftime("%Y-%m-%d 00:00"), "--to", week.strftime("%Y-%m-%d 23:00"))
    made = await run("mentors", "exceptions", "add", "1", *away, "--reason", "학회 참석")
    assert made.exit_code == 0 and "예외 추가함 (added) availabilityExceptions/1" in made.stdout, made.output
    assert f"{week:%Y-%m-%d} 00:00" in made.stdout and "불가 unavailable" in made.stdout
    backwards_exception = await run("mentors", "exceptions", "add", "1", "--from", away[3], "--to", away[1])
    assert backwards_exception.exit_code == 3 and "interval" in backwards_exception.output
    listed = json.loads((await run("--json", "mentors", "exceptions", "list", "1")).stdout)
    assert [e["reason"] for e in listed] == ["학회 참석"]
    assert (await run("mentors", "exceptions", "delete", "1")).exit_code == 0
    assert json.loads((await run("--json", "mentors", "exceptions", "list", "1")).stdout) == []
    gone = await run("mentors", "exceptions", "delete", "1")
    assert gone.exit_code == 4
    table = await run("mentors", "list")
    assert "이름 name" in table.stdout and "김도현" in table.stdout


async def test_rooms_session_types_no_show_and_calendar_export(consulting: RunningConsulting, tmp_path: Path) -> None:
    env = {"HUB_CONSULTING_ADDRESS": consulting.address}

    async def run(*args: str) -> Result:
        return await hubctl(None, *args, env=env)

    company = await know_company(consulting, 7, "메디비전")
    room = await run("rooms", "add", "--name", "501호 회의실", "--floor", "5", "--capacity", "8")
    assert room.exit_code == 0 and "등록함 (added) rooms/1" in room.stdout, room.output
    empty = await run("rooms", "add", "--name", "빈 방", "--capacity", "0")
    assert empty.exit_code == 3 and "room.capacity" in empty.output, empty.output
    assert "501호 회의실" in (await run("rooms", "show", "1")).stdout
    assert (await run("rooms", "show", "9")).exit_code == 4
    assert [r["display_name"] for r in json.loads((await run("--json", "rooms", "list")).stdout)] == ["501호 회의실"]

    kind = await run("session-types", "add", "--name", "1:1 기술 자문", "--category", "technical", "--minutes", "60",
                     "--after", "15")  # fmt: skip
    assert kind.exit_code == 0 and "sessionTypes/1" in kind.stdout and "15분" in kind.stdout, kind.output
    short = await run("session-types", "add", "--name", "인사", "--category", "other", "--minutes", "3")
    assert short.exit_code == 3 and "session_type.default_duration" in short.output, short.output
    assert (await run("session-types", "show", "5")).exit_code == 4
    assert "1:1 기술 자문" in (await run("session-types", "list")).stdout
    assert (
        json.loads((await run("--json", "session-types", "show", "1")).stdout)["category"]
        == "SESSION_CATEGORY_TECHNICAL"
    )

    every_day = [part for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
                 for part in ("--hours", f"{day} 00:00-24:00")]  # fmt: skip
    mentor = await run("--json", "mentors", "add", "--ko", "김도현", "--kind", "faculty", *every_day)
    assert mentor.exit_code == 0, mentor.output
    booking = ["sessions", "schedule", "--company", company, "--mentor", "1", "--type", "1", "--room", "1"]
    held = earlier_today().astimezone(SEOUL)
    past = await run(*booking, "--at", held.strftime("%Y-%m-%d %H:%M"))
    assert past.exit_code == 0, past.output
    coming = future_monday(hour_utc=5).astimezone(SEOUL)  # 14:00 in Seoul
    future = await run(*booking, "--at", coming.strftime("%Y-%m-%d %H:%M"))
    assert future.exit_code == 0, future.output

    early = await run("sessions", "no-show", "2")
    assert early.exit_code == 5, early.output
    missed = await run("sessions", "no-show", "1")
    assert missed.exit_code == 0 and "노쇼 기록함 (no-show) sessions/1" in missed.stdout and "no_show" in missed.stdout
    assert (await run("sessions", "no-show", "99")).exit_code == 4

    ics = tmp_path / "김도현.ics"
    exported = await run("sessions", "export", "--mentor", "1", "-o", str(ics))
    assert exported.exit_code == 0 and "상담 2건" in exported.stdout, exported.output
    events = read_events(ics.read_text())
    starts = sorted(start_time(e["DTSTART"], e["DTSTART params"]) for e in events)
    assert starts[-1].astimezone(SEOUL) == coming.replace(second=0, microsecond=0)
    assert starts[-1].astimezone(SEOUL).strftime("%H:%M") == "14:00"
    assert all("UID" in e for e in events)
    by_company = await run("--json", "sessions", "export", "--company", "7", "--from",
                           coming.strftime("%Y-%m-%d"), "-o", str(tmp_path / "company.ics"))  # fmt: skip
    assert json.loads(by_company.stdout)["events"] == 1, by_company.output
    neither = await run("sessions", "export")
    assert neither.exit_code == 2 and "--mentor" in neither.output
    assert (await run("sessions", "export", "--mentor", "99", "-o", str(tmp_path / "x.ics"))).exit_code == 4


def read_events(text: str) -> list[dict[str, str]]:
    """The VEVENTs of an RFC 5545 calendar (lines unfolded): each property's value, and its parameters under
    "<name> params" (DTSTART's TZID)."""
    lines = text.replace("\r\n ", "").replace("\r\n\t", "").splitlines()
    events: list[dict[str, str]] = []
    for line in lines:
        if line == "BEGIN:VEVENT":
            events.append({})
        elif events and ":" in line and not line.startswith("END:"):
            key, _, value = line.partition(":")
            name, _, params = key.partition(";")
            events[-1] |= {name: value, f"{name} params": params}
    return events


def start_time(value: str, params: str) -> datetime:
    """DTSTART as an aware time: UTC (…Z), or local time in its TZID (floating times read as UTC)."""
    if value.endswith("Z"):
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=ZoneInfo("UTC"))
    zone = params.removeprefix("TZID=") if params.startswith("TZID=") else "UTC"
    return datetime.strptime(value, "%Y%m%dT%H%M%S").replace(tzinfo=ZoneInfo(zone))
