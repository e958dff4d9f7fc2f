"""The consulting calendar in a real browser, against the whole hub as `make run` starts it: a program manager
books a session in a free slot the consulting service finds, sees it in the week, is told in Korean words that
the same mentor is taken at that time, and completes a session with notes and an action item; a mentor invited
over gRPC signs in with the code mailed to them, lands on their own page, where companies, rooms and session
types have their names, writes the notes of a session they completed with an action item and marks it done,
exports their own calendar (not another's) and keeps the exceptions to their week. Every page is checked for
headings, labels and keyboard reach; screenshots land in var/screenshots/console/calendar-*.png."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf import field_mask_pb2
from google.type import interval_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.consulting.v1 import consulting_pb2 as spb
from hub.consulting.v1 import consulting_pb2_grpc
from hub.ops.v1 import identities_pb2 as idpb
from playwright.sync_api import Locator, Page

# The hub, the browser and the helpers of the console's own browser tests: imported, the fixtures are this
# module's too (a hub of its own, started once for the module).
from services.console.weeks import timestamp
from tests.e2e.test_console import Hub, accessible, browser, hub, page, pytestmark, shot, sign_in_with_token

__all__ = ["browser", "hub", "page", "pytestmark"]  # fixtures and the skip, used by pytest through their names
SEOUL = ZoneInfo("Asia/Seoul")
MENTOR_EMAIL = "dohyun.kim@kaist.ac.kr"


@pytest.fixture(scope="module")
def consulting(hub: Hub) -> Iterator[consulting_pb2_grpc.ConsultingServiceStub]:
    with grpc.insecure_channel(f"127.0.0.1:{hub.ports['consulting']}") as channel:
        yield consulting_pb2_grpc.ConsultingServiceStub(channel)


def today() -> date:
    return datetime.now(SEOUL).date()


def seed_monday() -> date:
    """The Monday of the demo's week of sessions (services/consulting/seed.py)."""
    return today() + timedelta(days=7 - today().weekday())


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SEOUL).astimezone(UTC)


def sessions_of(consulting: consulting_pb2_grpc.ConsultingServiceStub, hub: Hub, mentor: str, day: date) -> list:
    terms = f"mentor={mentor} AND start_after={at(day, 0):%Y-%m-%dT%H:%M:%SZ} AND " \
            f"start_before={at(day + timedelta(days=1), 0):%Y-%m-%dT%H:%M:%SZ}"  # fmt: skip
    return list(consulting.ListSessions(spb.ListSessionsRequest(filter=terms), metadata=hub.admin).sessions)


def choose(form: Locator, prefix: str, *, company: str, mentor: str, kind: str, room: str = "") -> None:
    """Fills a booking form's choices (its fields' ids begin with prefix), by the words the options show."""
    form.locator(f"#{prefix}-company").select_option(label=company)
    form.locator(f"#{prefix}-mentor").select_option(label=mentor)
    form.locator(f"#{prefix}-type").select_option(label=kind)
    if room:
        form.locator(f"#{prefix}-room").select_option(label=room)


def test_a_program_manager_books_a_free_slot_sees_it_in_the_week_and_is_told_of_a_conflict(
    page: Page, hub: Hub, consulting: consulting_pb2_grpc.ConsultingServiceStub
) -> None:
    sign_in_with_token(page, hub)
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="캘린더").click()
    assert page.locator("h1").inner_text() == "컨설팅 캘린더"
    accessible(page)
    shot(page, "calendar-01-this-week")
    page.get_by_role("link", name="다음 주 →").click()
    seeded = page.locator("table.week")
    assert "의료영상 판독 모델 검증 설계" not in seeded.inner_text()  # the agenda is on the session's page
    assert "김도현" in seeded.inner_text() and "메디비전" in seeded.inner_text()
    assert seeded.locator("thead th").nth(1).inner_text() == f"{seed_monday().month}월 {seed_monday().day}일 (월)"
    accessible(page)
    shot(page, "calendar-02-seeded-week")

    # A week after the demo's: 박정훈 (weekdays 10:00-17:00) is free from 10:00 on Monday.
    monday = seed_monday() + timedelta(days=7)
    page.get_by_role("link", name="세션 예약").click()
    find = page.locator("form[action='/calendar/book']")
    choose(find, "find", company="스마트팩토리랩", mentor="박정훈 · 전 AI 연구소장", kind="1:1 기술 자문 (60분)",
           room="502호 회의실 (6석)")  # fmt: skip
    find.get_by_label("검색 시작일").fill(monday.isoformat())
    find.get_by_label("안건 (선택)").fill("예지보전 LLM 도입 검토")
    find.get_by_role("button", name="빈 시간 찾기").click()
    first_day = page.locator("fieldset.slots").first
    assert first_day.locator("legend").inner_text().startswith(f"{monday.year}년 {monday.month}월 {monday.day}일")
    assert first_day.locator("label.slot").first.inner_text().strip() == "오전 10:00"
    accessible(page)
    shot(page, "calendar-03-free-slots")
    first_day.locator("label.slot").first.click()
    page.get_by_role("button", name="선택한 시간으로 예약").click()

    assert "세션을 예약했습니다" in page.locator(".flash").inner_text()
    assert page.url.endswith(f"/calendar?week={monday.isoformat()}")
    row = page.locator("table.week tbody tr").filter(has=page.get_by_role("rowheader", name="박정훈"))
    monday_cell = row.locator("td").first
    assert "스마트팩토리랩" in monday_cell.inner_text() and "오전 10:00–11:00" in monday_cell.inner_text()
    assert "502호 회의실" in monday_cell.inner_text()
    [booked] = sessions_of(consulting, hub, "mentors/3", monday)
    assert booked.interval.start_time.ToDatetime(tzinfo=UTC) == at(monday, 10)
    assert (booked.company, booked.room, booked.agenda) == ("companies/5", "rooms/2", "예지보전 LLM 도입 검토")
    accessible(page)
    shot(page, "calendar-04-booked")

    # The same mentor at an overlapping time, typed in: refused, in Korean words, the choices kept.
    page.goto(hub.url + "/calendar/book")
    direct = page.locator("form[action='/sessions']").filter(has=page.locator("#direct-day"))
    choose(direct, "direct", company="메디비전", mentor="박정훈 · 전 AI 연구소장", kind="1:1 기술 자문 (60분)")
    direct.get_by_label("날짜").fill(monday.isoformat())
    direct.get_by_label("시작 시각").fill("10:30")
    direct.get_by_role("button", name="예약", exact=True).click()
    refusal = page.locator(".flash.error")
    assert "이미 예약된 시간입니다" in refusal.inner_text()
    assert "Traceback" not in page.content()
    assert page.locator("#direct-mentor option:checked").inner_text().startswith("박정훈")
    assert page.locator("#direct-time").input_value() == "10:30"
    assert page.locator("fieldset.slots").count() > 0, "the free times of that week are offered instead"
    assert len(sessions_of(consulting, hub, "mentors/3", monday)) == 1
    accessible(page)
    shot(page, "calendar-05-conflict")

    # Completing a session that has not begun: refused, in words.
    page.goto(f"{hub.url}/{booked.name}")
    accessible(page)
    page.get_by_role("button", name="완료", exact=True).click()
    assert "아직 시작하지 않은 세션입니다" in page.locator(".flash.error").inner_text()

    # The English switch, and back.
    page.goto(f"{hub.url}/calendar?week={monday.isoformat()}")
    page.get_by_role("button", name="English").click()
    assert page.locator("h1").inner_text() == "Consulting calendar"
    assert "10:00–11:00" in page.locator("table.week").inner_text()
    assert page.locator("table.week thead th").nth(1).inner_text() == monday.strftime("%a %-d %b")
    shot(page, "calendar-06-english")
    page.get_by_role("button", name="한국어").click()
    assert page.locator("h1").inner_text() == "컨설팅 캘린더"


def test_a_program_manager_completes_a_session_with_notes_and_an_action_item(
    page: Page, hub: Hub, consulting: consulting_pb2_grpc.ConsultingServiceStub
) -> None:
    yesterday = today() - timedelta(days=1)
    sign_in_with_token(page, hub)
    page.goto(hub.url + "/calendar/book")
    direct = page.locator("form[action='/sessions']").filter(has=page.locator("#direct-day"))
    choose(direct, "direct", company="비전검사", mentor="이수진 · KAIST 산업및시스템공학과 교수",
           kind="성장전략 컨설팅 (90분)", room="501호 회의실 (8석)")  # fmt: skip
    direct.get_by_label("날짜").fill(yesterday.isoformat())
    direct.get_by_label("시작 시각").fill("14:00")
    direct.get_by_label("안건 (선택)").fill("양산 라인 불량 데이터 점검")
    direct.get_by_role("button", name="예약", exact=True).click()
    assert "세션을 예약했습니다" in page.locator(".flash").inner_text()

    page.locator("a.chip").filter(has_text="비전검사").filter(has_text="오후 2:00–3:30").click()
    assert page.locator("h1").inner_text() == "비전검사 · 성장전략 컨설팅"
    assert "양산 라인 불량 데이터 점검" in page.locator("main").inner_text()
    accessible(page)
    shot(page, "calendar-07-session")

    complete = page.locator("form[action$='/complete']")
    complete.get_by_label("세션 노트").fill("불량 라벨 기준을 통일하고, 다음 달에 재점검하기로 함")
    complete.get_by_label("후속 조치 1").fill("불량 라벨 재검수")
    complete.get_by_label("담당자").first.fill("한예린")
    complete.get_by_label("기한").first.fill((today() + timedelta(days=14)).isoformat())
    complete.get_by_role("button", name="완료", exact=True).click()
    assert "세션을 완료 처리했습니다" in page.locator(".flash").inner_text()
    assert page.locator(".facts .badge").inner_text() == "완료"
    assert "불량 라벨 기준을 통일하고" in page.locator(".notes").inner_text()
    item = page.locator("ul.items li").filter(has_text="불량 라벨 재검수")
    assert "한예린" in item.inner_text()
    accessible(page)
    shot(page, "calendar-08-completed")
    [done] = sessions_of(consulting, hub, "mentors/2", yesterday)
    assert done.state == spb.SESSION_STATE_COMPLETED and done.notes.startswith("불량 라벨 기준을")

    item.get_by_role("button", name="완료 처리").click()
    assert "후속 조치를 완료 처리했습니다" in page.locator(".flash").inner_text()
    [action] = consulting.ListActionItems(spb.ListActionItemsRequest(filter=f"session={done.name}"),
                                          metadata=hub.admin).action_items  # fmt: skip
    assert action.state == spb.ACTION_ITEM_STATE_DONE

    page.goto(hub.url + "/rooms")
    assert "503호 세미나실" in page.locator("main").inner_text()
    accessible(page)
    page.goto(hub.url + "/mentors")
    accessible(page)
    page.get_by_role("link", name="이수진").click()
    assert "양산 라인 불량 데이터 점검" in page.locator("section").filter(has_text="최근 30일의 세션").inner_text()
    accessible(page)
    shot(page, "calendar-09-mentor-for-a-manager")
    calendar = page.request.get(f"{hub.url}/mentors/2/calendar.ics")
    assert calendar.ok and calendar.headers["content-type"].startswith("text/calendar")
    assert "BEGIN:VCALENDAR" in calendar.text() and "양산 라인 불량 데이터 점검" in calendar.text()


def test_a_mentor_signs_in_with_a_mailed_code_writes_notes_and_keeps_their_exceptions(
    page: Page, hub: Hub, consulting: consulting_pb2_grpc.ConsultingServiceStub
) -> None:
    # A session of 김도현 two days ago, completed without notes (they are due within 48 hours).
    held = today() - timedelta(days=2)
    session = spb.Session(
        company="companies/3", mentor="mentors/1", session_type="sessionTypes/2", agenda="튜터링 모델 평가 지표",
        interval=interval_pb2.Interval(start_time=timestamp(at(held, 10))),
    )  # fmt: skip
    booked = consulting.ScheduleSession(spb.ScheduleSessionRequest(session=session, request_id="e2e-mentor-notes"),
                                        metadata=hub.admin)  # fmt: skip
    consulting.CompleteSession(spb.CompleteSessionRequest(name=booked.name), metadata=hub.admin)
    invited = idpb.Identity(role=idpb.IDENTITY_ROLE_MENTOR, scope="mentors/1", email=MENTOR_EMAIL,
                            display_name="김도현")  # fmt: skip
    hub.identities.CreateIdentity(idpb.CreateIdentityRequest(identity=invited), metadata=hub.admin)

    hub.codes_mailed_to(MENTOR_EMAIL, 1)  # the invitation's; asking again voids it
    page.goto(hub.url + "/sign-in")
    page.get_by_label("이메일 주소").fill(MENTOR_EMAIL)
    page.get_by_role("button", name="코드 받기").click()
    page.get_by_label("로그인 코드").fill(hub.codes_mailed_to(MENTOR_EMAIL, 2)[-1])
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(f"{hub.url}/mentors/1")
    assert page.locator("h1").inner_text().startswith("김도현")
    upcoming = page.locator("section").filter(has=page.get_by_role("heading", name="다가오는 세션"))
    assert "의료영상 판독 모델 검증 설계" in upcoming.inner_text()  # the demo's sessions of next week
    # Named as people say them, though a mentor may not read companies: the sessions carry their company's name.
    seeded = upcoming.locator("li").filter(has_text="의료영상 판독 모델 검증 설계").inner_text()
    assert "메디비전" in seeded and "1:1 기술 자문" in seeded and "501호 회의실" in seeded, seeded
    numbered = re.findall(r"(?:기업|회의실|세션 유형) \d+", page.locator("main").inner_text())
    assert not numbered, f"named by number: {numbered}"
    assert page.get_by_role("link", name="내 세션").count() == 1
    assert page.get_by_role("link", name="캘린더", exact=True).count() == 0
    accessible(page)
    shot(page, "calendar-10-mentor-home")

    entry = page.locator("ul.sessions li").filter(has_text="튜터링 모델 평가 지표")
    assert "에듀마인드" in entry.inner_text() and "성장전략 컨설팅" not in entry.inner_text()
    entry.get_by_label("세션 노트").fill("평가 지표를 정답률에서 학습 효과 중심으로 바꾸기로 함")
    entry.get_by_label("후속 조치 1").fill("학습 효과 지표 초안 공유")
    entry.get_by_label("담당자").first.fill("박지민")
    entry.get_by_label("기한").first.fill((today() + timedelta(days=10)).isoformat())
    entry.get_by_role("button", name="노트 기록").click()
    assert "세션 노트를 기록했습니다" in page.locator(".flash").inner_text()
    noted = consulting.GetSession(spb.GetSessionRequest(name=booked.name), metadata=hub.admin)
    assert noted.notes.startswith("평가 지표를") and noted.notes_time.seconds

    # The action items of their sessions, each with its company, and done with a press of a button.
    items = page.locator("section").filter(has=page.get_by_role("heading", name="진행 중인 후속 조치"))
    item = items.locator("li").filter(has_text="학습 효과 지표 초안 공유")
    assert "박지민" in item.inner_text() and item.get_by_role("link", name="에듀마인드").count() == 1
    accessible(page)
    shot(page, "calendar-10b-mentor-action-item")
    item.get_by_role("button", name="완료 처리").click()
    assert "후속 조치를 완료 처리했습니다" in page.locator(".flash").inner_text()
    assert "학습 효과 지표 초안 공유" not in page.locator("main").inner_text(), "an item done is no longer open"
    [action] = consulting.ListActionItems(spb.ListActionItemsRequest(filter=f"session={booked.name}"),
                                          metadata=hub.admin).action_items  # fmt: skip
    assert action.state == spb.ACTION_ITEM_STATE_DONE

    # Their own calendar, for their calendar app; another mentor's is not theirs.
    export = page.get_by_role("link", name="캘린더 앱으로 내보내기 (iCalendar)")
    assert export.get_attribute("href") == "/mentors/1/calendar.ics"
    calendar = page.request.get(hub.url + "/mentors/1/calendar.ics")
    assert calendar.ok and calendar.headers["content-type"].startswith("text/calendar")
    assert "튜터링 모델 평가 지표" in calendar.text() and "에듀마인드" in calendar.text()
    assert page.request.get(hub.url + "/mentors/2/calendar.ics").status == 403

    away = today() + timedelta(days=30)
    exceptions = page.locator("form[action='/mentors/1/exceptions']")
    exceptions.get_by_label("종류").select_option(label="불가")
    exceptions.get_by_label("시작일").fill(away.isoformat())
    exceptions.get_by_label("종료일").fill((away + timedelta(days=2)).isoformat())
    exceptions.get_by_label("사유 (선택)").fill("국제 학회 참석")
    exceptions.get_by_role("button", name="예외 저장").click()
    assert "예외 일정을 저장했습니다" in page.locator(".flash").inner_text()
    listed = page.locator("ul.exceptions li").filter(has_text="국제 학회 참석")
    assert f"{away.year}년 {away.month}월 {away.day}일" in listed.inner_text()
    [kept] = consulting.ListAvailabilityExceptions(spb.ListAvailabilityExceptionsRequest(mentor="mentors/1"),
                                                   metadata=hub.admin).availability_exceptions  # fmt: skip
    assert kept.kind == spb.EXCEPTION_KIND_UNAVAILABLE
    assert kept.interval.start_time.ToDatetime(tzinfo=UTC) == at(away, 0), "from the first day's midnight in Seoul"
    accessible(page)
    shot(page, "calendar-11-mentor-notes-and-exception")

    # Their own session's page, named: they may complete it, but cancelling is the program managers'.
    upcoming.locator("li").filter(has_text="의료영상 판독 모델 검증 설계").get_by_role("link").first.click()
    assert page.locator("h1").inner_text() == "메디비전 · 1:1 기술 자문"
    assert "501호 회의실" in page.locator(".facts").inner_text()
    assert page.locator("form[action$='/complete']").count() == 1
    assert page.locator("form[action$='/cancel']").count() == 0
    accessible(page)
    shot(page, "calendar-12-mentor-session")

    # Another mentor's page, and the program managers' calendar: not theirs.
    answer = page.goto(hub.url + "/mentors/2")
    assert answer is not None and answer.status == 403
    assert "권한이 없습니다" in page.locator("h1").inner_text()
    page.goto(hub.url + "/calendar")
    assert page.url == f"{hub.url}/mentors/1"

    page.locator("ul.exceptions li").filter(has_text="국제 학회 참석").get_by_role("button", name="삭제").click()
    assert "예외 일정을 삭제했습니다" in page.locator(".flash").inner_text()
    page.get_by_role("button", name="English").click()
    assert page.get_by_role("heading", name="Sessions to come").count() == 1
    shot(page, "calendar-13-mentor-english")
    page.get_by_role("button", name="한국어").click()
    page.get_by_role("button", name="로그아웃").click()
    assert "로그아웃했습니다" in page.locator(".flash").inner_text()


def sign_in_with_code(page: Page, hub: Hub, email: str) -> None:
    """Signs in someone just invited (the invitation mailed them a first code; asking again voids it)."""
    hub.codes_mailed_to(email, 1)
    page.goto(hub.url + "/sign-in")
    page.get_by_label("이메일 주소").fill(email)
    page.get_by_role("button", name="코드 받기").click()
    page.get_by_label("로그인 코드").fill(hub.codes_mailed_to(email, 2)[-1])
    page.get_by_role("button", name="로그인").click()


def windows_of(consulting: consulting_pb2_grpc.ConsultingServiceStub, hub: Hub, mentor: str) -> list[tuple]:
    found = consulting.GetMentor(spb.GetMentorRequest(name=mentor), metadata=hub.admin).weekly_availability
    return sorted((w.day, w.start_time.hours, w.start_time.minutes, w.end_time.hours) for w in found)


def test_a_mentor_changes_their_usual_week_and_the_booking_page_offers_the_new_hours(
    page: Page, hub: Hub, consulting: consulting_pb2_grpc.ConsultingServiceStub
) -> None:
    # 정하늘 (mentors/5) keeps Wednesday 14:00-18:00 in Seoul.
    email = "haneul.jung@patent.example"
    invited = idpb.Identity(role=idpb.IDENTITY_ROLE_MENTOR, scope="mentors/5", email=email, display_name="정하늘")
    hub.identities.CreateIdentity(idpb.CreateIdentityRequest(identity=invited), metadata=hub.admin)
    sign_in_with_code(page, hub, email)
    page.wait_for_url(f"{hub.url}/mentors/5")
    week = page.locator("table.hours")
    assert week.locator("tr").nth(2).inner_text().split() == ["수요일", "14:00–18:00", "삭제"]
    assert week.locator("tr").first.inner_text().split() == ["월요일", "없음"]
    assert "Asia/Seoul" in page.locator("section").filter(has=week).inner_text()
    accessible(page)
    shot(page, "calendar-14-mentor-week")

    add = page.locator("form[action='/mentors/5/hours']")
    add.get_by_label("요일").select_option(label="금요일")
    add.get_by_label("시작", exact=True).fill("09:30")
    add.get_by_label("종료", exact=True).fill("12:00")
    add.get_by_role("button", name="시간 추가하기").click()
    assert "평소 가능 시간을 저장했습니다" in page.locator(".flash").inner_text()
    assert week.locator("tr").nth(4).inner_text().split() == ["금요일", "09:30–12:00", "삭제"]
    assert windows_of(consulting, hub, "mentors/5") == [(3, 14, 0, 18), (5, 9, 30, 12)]

    # Refused before anything is sent, the field named and what was typed kept: an end before the start, an
    # overlap with the week's hours, a time that cannot be read.
    for day, start, end, said in [
        ("월요일", "15:00", "10:00", "종료: 끝나는 시각은 시작 시각보다 뒤여야 합니다."),
        ("수요일", "17:00", "19:00", "시작: 이미 있는 수요일 14:00–18:00 시간과 겹칩니다."),
        ("화요일", "10:00", "6시", "종료: 시각은 09:30처럼 HH:MM으로 쓰세요"),
    ]:
        add.get_by_label("요일").select_option(label=day)
        add.get_by_label("시작", exact=True).fill(start)
        add.get_by_label("종료", exact=True).fill(end)
        add.get_by_role("button", name="시간 추가하기").click()
        assert said in page.locator(".flash.error").inner_text()
        assert add.get_by_label("종료", exact=True).input_value() == end
        assert add.locator("#hours-day option:checked").inner_text() == day
    assert windows_of(consulting, hub, "mentors/5") == [(3, 14, 0, 18), (5, 9, 30, 12)], "nothing changed"
    accessible(page)
    shot(page, "calendar-15-mentor-week-refused")

    # Wednesday's hours removed; then a program manager changes the week meanwhile, and the page's form, drawn
    # before, is refused rather than overwriting it.
    week.get_by_role("button", name="수요일 14:00–18:00 삭제").click()
    assert "평소 가능 시간을 저장했습니다" in page.locator(".flash").inner_text()
    assert windows_of(consulting, hub, "mentors/5") == [(5, 9, 30, 12)]
    current = consulting.GetMentor(spb.GetMentorRequest(name="mentors/5"), metadata=hub.admin)
    current.weekly_availability.add(day=4, start_time={"hours": 13}, end_time={"hours": 15})
    mask = field_mask_pb2.FieldMask(paths=["weekly_availability"])
    consulting.UpdateMentor(spb.UpdateMentorRequest(mentor=current, update_mask=mask), metadata=hub.admin)
    add.get_by_label("요일").select_option(label="금요일")
    add.get_by_label("시작", exact=True).fill("14:00")
    add.get_by_label("종료", exact=True).fill("17:00")
    add.get_by_role("button", name="시간 추가하기").click()
    assert "그사이 다른 사람이 변경했습니다" in page.locator(".flash.error").inner_text()
    assert windows_of(consulting, hub, "mentors/5") == [(4, 13, 0, 15), (5, 9, 30, 12)]
    add.get_by_role("button", name="시간 추가하기").click()  # the page drawn again: its etag is the week's now
    assert windows_of(consulting, hub, "mentors/5") == [(4, 13, 0, 15), (5, 9, 30, 12), (5, 14, 0, 17)]
    shot(page, "calendar-16-mentor-week-changed")
    page.get_by_role("button", name="로그아웃").click()

    # The booking page offers the new hours: Thursday from 13:00, Friday from 09:30 and 14:00; no Wednesday.
    monday = seed_monday() + timedelta(days=14)
    sign_in_with_token(page, hub)
    page.goto(hub.url + "/calendar/book")
    find = page.locator("form[action='/calendar/book']")
    choose(find, "find", company="메디비전", mentor="정하늘 · 특허법인 변리사", kind="1:1 기술 자문 (60분)")
    find.get_by_label("검색 시작일").fill(monday.isoformat())
    find.get_by_role("button", name="빈 시간 찾기").click()
    days = page.locator("fieldset.slots")
    assert [d.locator("legend").inner_text().split(" (")[1][0] for d in days.all()] == ["목", "금"]
    thursday, friday = days.nth(0), days.nth(1)
    assert thursday.locator("label.slot").first.inner_text().strip() == "오후 1:00"
    friday_slots = [s.strip() for s in friday.locator("label.slot").all_inner_texts()]
    assert friday_slots[0] == "오전 9:30" and "오후 2:00" in friday_slots, friday_slots
    accessible(page)
    shot(page, "calendar-17-booking-in-the-new-hours")


def test_a_program_manager_reschedules_a_session_and_a_taken_time_is_refused_in_words(
    page: Page, hub: Hub, consulting: consulting_pb2_grpc.ConsultingServiceStub
) -> None:
    # 박정훈 (weekdays 10:00-17:00) with 에듀마인드 on a Tuesday at 10:00, and with 누리로보틱스 at 14:00.
    tuesday = seed_monday() + timedelta(days=22)
    booked = []
    for company, hour in (("companies/3", 10), ("companies/2", 14)):
        session = spb.Session(
            company=company, mentor="mentors/3", session_type="sessionTypes/2", agenda=f"검색 품질 점검 {hour}시",
            interval=interval_pb2.Interval(start_time=timestamp(at(tuesday, hour))),
        )  # fmt: skip
        asked = spb.ScheduleSessionRequest(session=session, request_id=f"e2e-reschedule-{hour}")
        booked.append(consulting.ScheduleSession(asked, metadata=hub.admin))
    moving = booked[0]
    sign_in_with_token(page, hub)
    page.goto(f"{hub.url}/{moving.name}")
    form = page.locator("form[action$='/reschedule']")
    assert form.locator("#move-day").input_value() == tuesday.isoformat()
    assert form.locator("#move-time").input_value() == "10:00"

    # Onto the other session's time: refused in words, the time kept, the free times of that week offered.
    form.locator("#move-time").fill("14:30")
    form.get_by_role("button", name="일정 변경").click()
    assert "이미 예약된 시간입니다" in page.locator(".flash.error").inner_text()
    assert "Traceback" not in page.content()
    assert page.locator("#move-time").input_value() == "14:30"
    again = consulting.GetSession(spb.GetSessionRequest(name=moving.name), metadata=hub.admin)
    assert again.interval.start_time.ToDatetime(tzinfo=UTC) == at(tuesday, 10) and again.sequence == 0
    offered = page.locator("fieldset.slots")
    first_day = offered.first.locator("legend").inner_text()
    assert first_day.startswith(f"{tuesday.year}년 {tuesday.month}월 {tuesday.day}일")
    assert "오후 2:00" not in offered.first.inner_text(), "the other session's time is not offered"
    accessible(page)
    shot(page, "calendar-18-reschedule-conflict")

    # A free time of Wednesday chosen, with a reason.
    wednesday = offered.nth(1)
    wednesday.locator("label.slot").filter(has_text="오전 11:00").click()
    page.locator("#slot-reason").fill("멘토 출장 일정 변경")
    page.get_by_role("button", name="고른 시간으로 변경").click()
    assert "세션 일정을" in page.locator(".flash").inner_text()
    moved = consulting.GetSession(spb.GetSessionRequest(name=moving.name), metadata=hub.admin)
    assert moved.interval.start_time.ToDatetime(tzinfo=UTC) == at(tuesday + timedelta(days=1), 11)
    assert moved.history[-1].reason == "멘토 출장 일정 변경" and moved.sequence == 1
    assert "멘토 출장 일정 변경" in page.locator("section").filter(has_text="변경 이력").inner_text()
    accessible(page)
    shot(page, "calendar-19-rescheduled")

    # A day and a time typed in: Thursday 15:00.
    page.locator("#move-day").fill((tuesday + timedelta(days=2)).isoformat())
    page.locator("#move-time").fill("15:00")
    page.get_by_role("button", name="일정 변경").click()
    moved = consulting.GetSession(spb.GetSessionRequest(name=moving.name), metadata=hub.admin)
    assert moved.interval.start_time.ToDatetime(tzinfo=UTC) == at(tuesday + timedelta(days=2), 15)
    page.get_by_role("button", name="로그아웃").click()

    # The founder of 에듀마인드, who may not read mentors or session types, reads them by name.
    [person] = hub.companies.ListPeople(cpb.ListPeopleRequest(query="박지민"), metadata=hub.admin).people
    wanted = idpb.Identity(role=idpb.IDENTITY_ROLE_FOUNDER, person=person.name)
    hub.identities.CreateIdentity(idpb.CreateIdentityRequest(identity=wanted), metadata=hub.admin)
    sign_in_with_code(page, hub, "jimin@edumind.kr")
    page.wait_for_url(f"{hub.url}/companies/3")
    line = page.locator("section").filter(has=page.get_by_role("heading", name="세션", exact=True)).locator("li")
    text = line.filter(has_text="검색 품질 점검 10시").inner_text()
    assert "박정훈" in text and "1:1 기술 자문" in text, text
    numbered = re.findall(r"(?:멘토|세션 유형) \d+|mentors/\d|sessionTypes/\d", page.locator("main").inner_text())
    assert not numbered, f"named by number: {numbered}"
    page.goto(f"{hub.url}/{moving.name}")
    assert page.locator("h1").inner_text() == "에듀마인드 · 1:1 기술 자문"
    assert "박정훈" in page.locator(".facts").inner_text()
    assert page.locator("form[action$='/reschedule']").count() == 0, "moving a session is the program managers'"
    accessible(page)
    shot(page, "calendar-20-founder-session")


def test_a_program_manager_adds_a_room_a_session_type_and_a_mentor_invites_deactivates_and_brings_them_back(
    page: Page, hub: Hub, consulting: consulting_pb2_grpc.ConsultingServiceStub
) -> None:
    sign_in_with_token(page, hub)
    page.goto(hub.url + "/rooms")
    page.get_by_text("회의실 추가", exact=True).click()
    page.get_by_label("이름", exact=True).first.fill("601호 세미나실")
    page.get_by_label("층 (선택)").fill("6")
    page.get_by_label("좌석").fill("열두")
    page.get_by_role("button", name="회의실 추가하기").click()
    assert page.locator(".flash.error").count() == 1, "a seat count that is not a number is refused"
    page.get_by_text("회의실 추가", exact=True).click()
    page.get_by_label("이름", exact=True).first.fill("601호 세미나실")
    page.get_by_label("층 (선택)").fill("6")
    page.get_by_label("좌석").fill("12")
    page.get_by_role("button", name="회의실 추가하기").click()
    assert "회의실을 추가했습니다" in page.locator(".flash").inner_text()
    assert "601호 세미나실" in page.locator("section[aria-labelledby=rooms]").inner_text()
    page.get_by_text("세션 유형 추가", exact=True).click()
    added = page.locator("form[action='/session-types']")
    added.get_by_label("이름", exact=True).fill("AI 교육 상담")
    added.get_by_label("분류").select_option("TECHNICAL")
    added.get_by_label("길이 (분)").fill("45")
    added.get_by_label("세션 뒤 멘토 여유 시간 (분, 선택)").fill("15")
    accessible(page)
    page.get_by_role("button", name="세션 유형 추가하기").click()
    assert "세션 유형을 추가했습니다" in page.locator(".flash").inner_text()
    [kind] = [t for t in consulting.ListSessionTypes(spb.ListSessionTypesRequest(), metadata=hub.admin).session_types
              if t.display_name == "AI 교육 상담"]  # fmt: skip
    assert (kind.default_duration.seconds, kind.buffer_after.seconds, kind.category) == (
        45 * 60, 15 * 60, spb.SESSION_CATEGORY_TECHNICAL
    )  # fmt: skip
    shot(page, "calendar-21-rooms-and-types-added")

    page.goto(hub.url + "/mentors")
    page.get_by_text("멘토 추가", exact=True).click()
    page.get_by_label("한글 이름").fill("정유진")
    page.get_by_label("종류").select_option("EXPERT")
    page.get_by_label("소속 (선택)").fill("전 네이버 클로바 리드")
    page.get_by_label("이메일").fill("yujin@mentors.kr")
    page.get_by_label("전문 분야, 쉼표로 구분 (선택)").fill("LLM, 의료")
    accessible(page)
    page.get_by_role("button", name="멘토 추가하기").click()
    assert "멘토를 추가하고 초대했습니다" in page.locator(".flash").inner_text()
    assert page.locator("h1").inner_text() == "정유진"
    assert "로그인 가능" in page.locator("section[aria-labelledby=standing]").inner_text()
    assert hub.codes_mailed_to("yujin@mentors.kr", 1), "the invitation is mailed"
    mentor = page.url.removeprefix(hub.url + "/")
    made = consulting.GetMentor(spb.GetMentorRequest(name=mentor), metadata=hub.admin)
    assert (made.kind, list(made.expertise)) == (spb.MENTOR_KIND_EXPERT, ["llm", "의료"])
    shot(page, "calendar-22-mentor-added")

    page.get_by_text("비활성화", exact=True).click()
    page.get_by_label("사유", exact=True).fill("계약 종료")
    page.get_by_role("button", name="멘토 비활성화하기").click()
    assert "멘토를 비활성화했습니다" in page.locator(".flash").inner_text()
    assert "비활성화됨: 계약 종료" in page.locator("section[aria-labelledby=standing]").inner_text()
    # Their sign-in ends when the companies service hears of it (an event): within moments, not in the same call.
    deadline = time.monotonic() + 15
    while "로그인 가능" in page.locator("section[aria-labelledby=standing]").inner_text():
        assert time.monotonic() < deadline, "their sign-in did not end with the deactivation"
        page.wait_for_timeout(300)
        page.reload()
    assert page.get_by_role("button", name="로그인 초대").count() == 0, "no invitation while inactive"
    gone = consulting.GetMentor(spb.GetMentorRequest(name=mentor), metadata=hub.admin)
    assert gone.state == spb.MENTOR_STATE_INACTIVE
    shot(page, "calendar-23-mentor-deactivated")
    page.get_by_role("button", name="다시 활성화").click()
    assert "멘토를 다시 활성화했습니다" in page.locator(".flash").inner_text()
    assert consulting.GetMentor(spb.GetMentorRequest(name=mentor), metadata=hub.admin).state == spb.MENTOR_STATE_ACTIVE
    page.get_by_role("button", name="로그인 초대").click()
    assert "초대했습니다" in page.locator(".flash").inner_text()
    assert "로그인 가능" in page.locator("section[aria-labelledby=standing]").inner_text()
