"""The console in a real browser (Debian's chromium, driven by Playwright), against the whole hub as `make run`
starts it: a program manager signs in and finds a company by its Hangul name; a founder signs in with the code
mailed to them, consents to an introduction, files the KPI report asked of them, rates a completed session (a
resent form is the same feedback), and cannot open another company by editing the address; forms without the
CSRF secret are refused; every page has a heading and a label for every field, and can be walked with the
keyboard. Screenshots land in var/screenshots/console/."""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import grpc
import pytest
from google.protobuf import field_mask_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import companies_pb2_grpc, program_pb2_grpc
from hub.companies.v1 import kpi_requests_pb2 as kpb
from hub.companies.v1 import program_pb2 as ppb
from hub.consulting.v1 import consulting_pb2 as cspb
from hub.consulting.v1 import consulting_pb2_grpc
from hub.investors.v1 import investors_pb2 as ipb
from hub.investors.v1 import investors_pb2_grpc
from hub.ops.v1 import identities_pb2 as idpb
from hub.ops.v1 import identities_pb2_grpc

from hubcore.settings import PROJECT_DIR
from hubcore.targets import TargetPeriod, pace
from hublocal.natsserver import free_port
from tests.e2e.test_make_run import start, stop

CHROMIUM = os.environ.get("HUB_CHROMIUM", "/usr/bin/chromium")
SHOTS = PROJECT_DIR / "var" / "screenshots" / "console"
try:
    from playwright.sync_api import Browser, FilePayload, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - the Makefile installs it
    sync_playwright = None  # type: ignore[assignment]
pytestmark = pytest.mark.skipif(
    sync_playwright is None or not shutil.which(CHROMIUM),
    reason=f"browser tests need Playwright and {CHROMIUM} (Debian: apt-get install chromium fonts-noto-cjk)",
)
# As root in a container, without the sandbox; no background networking (this machine's network is closed).
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]  # fmt: skip


class Hub:
    def __init__(self, data: Path, ports: dict[str, int]) -> None:
        self.data, self.ports = data, ports
        self.url = f"http://127.0.0.1:{ports['console']}"
        self.admin = (("authorization", f"Bearer {(data / 'admin-token').read_text().strip()}"),)
        self.companies_channel = grpc.insecure_channel(f"127.0.0.1:{ports['companies']}")
        self.investors_channel = grpc.insecure_channel(f"127.0.0.1:{ports['investors']}")
        self.companies = companies_pb2_grpc.CompanyServiceStub(self.companies_channel)
        self.program = program_pb2_grpc.ProgramServiceStub(self.companies_channel)
        self.identities = identities_pb2_grpc.IdentityServiceStub(self.companies_channel)
        self.investors = investors_pb2_grpc.InvestorServiceStub(self.investors_channel)
        self.consulting_channel = grpc.insecure_channel(f"127.0.0.1:{ports['consulting']}")
        self.consulting = consulting_pb2_grpc.ConsultingServiceStub(self.consulting_channel)

    def codes_mailed_to(self, address: str, count: int) -> list[str]:
        """The sign-in codes mailed to an address, oldest first, once there are at least count of them."""
        deadline = time.monotonic() + 30
        while True:
            codes = []
            for path in sorted((self.data / "mail").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns):
                mail = message_from_bytes(path.read_bytes(), policy=policy.default)
                body = mail.get_body(("plain",))
                found = re.search(r"로그인 코드: (\d{6})", body.get_content() if body else "")
                if address in str(mail["To"]) and found:
                    codes.append(found.group(1))
            if len(codes) >= count:
                return codes
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(codes)} sign-in codes reached {address}, not {count}")
            time.sleep(0.3)


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hub]:
    data = tmp_path_factory.mktemp("console") / "var"
    ports = {name: free_port() for name in ("companies", "investors", "partner", "consulting", "notifications",
                                            "playbooks", "console")}  # fmt: skip
    process = start(data, ports["companies"], free_port(), None, HUB_INVESTORS_PORT=ports["investors"],
                    HUB_INVESTORS_PARTNER_PORT=ports["partner"], HUB_CONSULTING_PORT=ports["consulting"],
                    HUB_NOTIFICATIONS_PORT=ports["notifications"],
                    HUB_PLAYBOOKS_PORT=ports["playbooks"], HUB_CONSOLE_PORT=ports["console"])  # fmt: skip
    running = Hub(data, ports)
    try:
        yield running
    finally:
        running.companies_channel.close()
        running.investors_channel.close()
        running.consulting_channel.close()
        stop(process)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    # Script errors, CSP violations, and any file of a page (CSS, icon) that did not load; a page itself may
    # answer 403 or 404 on purpose, which the browser also logs.
    opened.on("console", lambda m: errors.append(m.text) if m.type == "error" and "Failed to load" not in m.text
              else None)  # fmt: skip
    opened.on("response", lambda r: errors.append(f"{r.status} {r.url}")
              if r.status >= 400 and r.request.resource_type != "document" and r.request.resource_type != "fetch"
              else None)  # fmt: skip
    yield opened
    context.close()
    assert not errors, f"the browser reported errors (a CSP violation, a missing file…): {errors}"


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def accessible(page: Page) -> None:
    """A page has one main heading, a label for every field, and no field a keyboard cannot reach."""
    assert page.locator("h1").count() >= 1, page.url
    unlabelled = page.evaluate(
        """() => [...document.querySelectorAll('input, select, textarea')]
            .filter(e => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label'))
            .map(e => e.name || e.id)"""
    )
    assert not unlabelled, f"fields without a label on {page.url}: {unlabelled}"
    assert page.locator("[tabindex^='-']").count() == 0


def sign_in_with_token(page: Page, hub: Hub) -> None:
    page.goto(hub.url + "/")
    assert page.url.endswith("/sign-in")
    page.get_by_text("관리자 토큰으로 로그인").click()
    page.get_by_label("관리자 토큰").fill(hub.admin[0][1].removeprefix("Bearer "))
    page.locator("form[action='/sign-in/token'] button").click()
    page.wait_for_url(hub.url + "/")


def hold_an_education_program(hub: Hub) -> None:
    """A program that began an hour ago, its attendance taken: two of three came (the program's first figures)."""
    hold_a_program(hub, "AI 실무 교육 2기", cspb.PROGRAM_KIND_EDUCATION,
                   [("김서연", "seoyeon@example.kr", True), ("이준호", "", True), ("최민지", "", False)])  # fmt: skip


def hold_a_program(hub: Hub, title: str, kind: cspb.ProgramKind.ValueType, people: list[tuple[str, str, bool]]) -> None:
    start = datetime.now(UTC) - timedelta(hours=1)
    program = cspb.Program(display_name=title, kind=kind, capacity=10)
    program.interval.start_time.FromDatetime(start)
    program.interval.end_time.FromDatetime(start + timedelta(hours=2))
    made = hub.consulting.CreateProgram(cspb.CreateProgramRequest(program=program), metadata=hub.admin)
    marks = []
    for name, email, attended in people:
        registration = cspb.Registration(program=made.name, participant_name=name, email=email)
        registered = hub.consulting.CreateRegistration(
            cspb.CreateRegistrationRequest(registration=registration), metadata=hub.admin
        )
        marks.append(cspb.AttendanceMark(registration=registered.name, attended=attended))
    hub.consulting.RecordAttendance(cspb.RecordAttendanceRequest(program=made.name, marks=marks), metadata=hub.admin)


def test_a_program_manager_signs_in_sees_the_targets_and_finds_a_company_by_its_hangul_name(
    page: Page, hub: Hub
) -> None:
    hold_an_education_program(hub)
    # A collaboration program one of the class also came to, and a salon, which is no collaboration program.
    hold_a_program(hub, "투자 설명회", cspb.PROGRAM_KIND_COLLABORATION,
                   [("김서연", "SeoYeon@example.kr", True), ("박하늘", "haneul@example.kr", True)])  # fmt: skip
    hold_a_program(hub, "창업 살롱", cspb.PROGRAM_KIND_SALON, [("박하늘", "haneul@example.kr", True)])
    page.goto(hub.url + "/sign-in")
    accessible(page)
    shot(page, "01-sign-in")
    # The keyboard alone does it: the address field has the focus and Tab reaches its button; the first thing
    # a keyboard reaches on every page is the link that skips to its content.
    assert page.evaluate("document.activeElement.id") == "email"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "코드 받기"
    assert page.evaluate("document.querySelector('a, button, input, select, summary').className") == "skip"
    sign_in_with_token(page, hub)
    assert page.locator("h1").inner_text() == "오늘의 허브"
    accessible(page)
    grown = hub.program.GetGrowth(ppb.GetGrowthRequest(), metadata=hub.admin).firms_grown
    firms = page.locator(".target").filter(has_text="육성 기업")
    assert firms.locator(".figure strong").inner_text() == str(grown)
    assert firms.locator(".figure").inner_text().endswith("/ 50")
    # The cards count within the targets' period (by default three years from 2025-03-01) and say the pace.
    period, today = TargetPeriod.from_env(), datetime.now(ZoneInfo("Asia/Seoul")).date()
    assert period == TargetPeriod(date(2025, 3, 1), date(2028, 2, 29))
    assert "기간: 2025년 3월 1일 (토) – 2028년 2월 29일 (화)" in page.locator("#target-period").inner_text()
    experts = page.locator("#card-experts")
    assert experts.locator(".figure strong").inner_text() == "2"  # 김서연 and 이준호, each once
    needed = pace(2, 500, period, today).per_month
    assert f"월 {needed:,}명 필요" in experts.locator(".pace").inner_text()
    programs = page.locator("#card-programs")
    assert programs.locator(".figure strong").inner_text() == "1"  # the briefing; not the class, not the salon
    programs.locator("details summary").click()
    assert programs.locator("details li").all_inner_texts()[0].startswith("투자 설명회")
    assert "협업 프로그램" in programs.locator("details summary").inner_text()
    participants = page.locator("#card-participants")
    # Per program: 2 at the class, 2 at the briefing, 1 at the salon; different people: 김서연, 이준호, 박하늘.
    assert participants.locator(".figure strong").inner_text() == "5"
    assert participants.locator(".distinct").inner_text() == "서로 다른 사람 3명"
    waiting = page.locator(".card").filter(has_text="기업의 답을 기다리는 소개")
    assert "에듀마인드" in waiting.inner_text()  # the seed's introduction no company has answered yet
    # The chart: a line per target but firms grown, month by month; its table says the figures, the last month's
    # those of the cards (the program held above; the seed's companies, discovered this month in a new hub).
    stats = hub.companies.GetCompanyStats(cpb.GetCompanyStatsRequest(), metadata=hub.admin)
    discovered = sum(c.count for c in stats.by_status if c.key in ("SELECTED", "RESIDENT", "GRADUATED"))
    assert page.locator("svg.chart.wide polyline").count() == 4
    legend = page.locator("svg.chart.wide text.legend").all_text_contents()
    assert legend == [f"발굴 기업 {100 * discovered // 50}%", "전문가 양성 0.4%", "협업 프로그램 4.2%", "참여자 <0.1%"]
    page.locator("details.figures summary").click()
    rows = page.locator("#targets-by-month tbody tr")
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Seoul"))
    assert rows.count() == 12 and rows.last.locator("th").inner_text() == f"{today.year}년 {today.month}월"
    assert rows.last.locator("td").all_inner_texts() == [str(discovered), "2", "1", "5"]
    assert rows.first.locator("td").all_inner_texts() == ["0", "0", "0", "0"]  # nothing before this hub began
    shot(page, "02-home")

    page.get_by_role("link", name="기업").first.click()
    page.get_by_label("이름·태그 검색").fill("메디")
    page.get_by_role("button", name="검색").click()
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 1 and "메디비전" in rows.first.inner_text() and "8억 원" in rows.first.inner_text()
    accessible(page)
    shot(page, "03-companies-search")
    page.get_by_role("link", name="메디비전").click()
    assert page.locator("h1").inner_text().startswith("메디비전")
    assert "한빛벤처스" in page.locator("section").filter(has_text="투자사 소개").first.inner_text()
    assert page.locator("svg.chart").count() == 2  # revenue and headcount drawn
    accessible(page)
    shot(page, "04-company")

    page.get_by_role("button", name="English").click()
    assert page.locator("h1").inner_text().startswith("메디비전")  # names stay as they are
    assert page.get_by_role("heading", name="Timeline").count() == 1
    page.get_by_role("button", name="한국어").click()
    assert page.get_by_role("heading", name="타임라인").count() == 1


def test_a_founder_signs_in_with_a_mailed_code_consents_reports_and_sees_only_their_company(
    page: Page, hub: Hub
) -> None:
    [person] = hub.companies.ListPeople(cpb.ListPeopleRequest(query="박지민"), metadata=hub.admin).people
    company = person.company
    wanted = idpb.Identity(role=idpb.IDENTITY_ROLE_FOUNDER, person=person.name)
    hub.identities.CreateIdentity(idpb.CreateIdentityRequest(identity=wanted), metadata=hub.admin)
    schedule = kpb.KpiSchedule(cadence=kpb.KPI_CADENCE_MONTHLY, companies=[company])
    hub.program.CreateKpiSchedule(kpb.CreateKpiScheduleRequest(schedule=schedule), metadata=hub.admin)
    [asked] = hub.program.ListKpiRequests(kpb.ListKpiRequestsRequest(parent=company), metadata=hub.admin).requests
    held = completed_session(hub, company, "후속 투자 유치 전략", days_ago=3)
    later = completed_session(hub, company, "해외 투자사 네트워크 소개", days_ago=4)

    hub.codes_mailed_to("jimin@edumind.kr", 1)  # the invitation's; asking again voids it
    page.goto(hub.url + "/sign-in")
    page.get_by_label("이메일 주소").fill("jimin@edumind.kr")
    page.get_by_role("button", name="코드 받기").click()
    assert "여섯 자리 코드" in page.locator(".flash").inner_text()
    accessible(page)
    shot(page, "05-sign-in-code")
    code = hub.codes_mailed_to("jimin@edumind.kr", 2)[-1]
    page.get_by_label("로그인 코드").fill(code)
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(f"{hub.url}/{company}")
    assert page.locator("h1").inner_text().startswith("에듀마인드")
    accessible(page)
    shot(page, "06-founder-company")

    intro = page.locator(".intro").filter(has_text="에듀테크 포트폴리오")
    assert intro.locator("strong").inner_text() == "누리캐피탈", "the firm by its name, which founders cannot look up"
    intro.get_by_label("프로그램 매니저에게 한마디 (선택)").fill("좋습니다, 소개 부탁드립니다")
    intro.get_by_role("button", name="소개에 동의").click()
    assert "소개에 동의했습니다" in page.locator(".flash").inner_text()
    listed = hub.investors.ListIntroductions(ipb.ListIntroductionsRequest(filter=f"company={company}"),
                                             metadata=hub.admin).introductions  # fmt: skip
    assert [i.state for i in listed] == [ipb.INTRODUCTION_STATE_COMPANY_CONSENTED]
    assert listed[0].history[-1].actor.startswith("founder:")

    form = page.locator("form").filter(has_text=asked.period)
    form.get_by_label("인원").fill("7")
    form.get_by_label("기간 매출 (원)").fill("35000000")
    form.get_by_label("고객 수").fill("12")
    form.get_by_role("button", name="보고 제출").click()
    assert "KPI 보고를 제출했습니다" in page.locator(".flash").inner_text()
    reports = hub.program.ListKpiReports(ppb.ListKpiReportsRequest(company=company), metadata=hub.admin).reports
    [report] = [r for r in reports if r.period == asked.period]
    assert (report.period, report.headcount, report.revenue.units, report.customers) == (
        asked.period,
        7,
        35_000_000,
        12,
    )
    assert "3,500만 원" in page.locator("section[aria-labelledby=kpi] table.list").inner_text()
    shot(page, "07-founder-reported")

    # The completed session, rated: 1 to 4, whether the mentor fits, a word.
    rate = page.locator("section").filter(has=page.get_by_role("heading", name="완료된 세션 평가"))
    form = rate.locator("form").filter(has_text="후속 투자 유치 전략")
    form.get_by_text("3 · 도움이 됨").click()
    form.get_by_label("멘토가 우리 회사와 잘 맞나요?").select_option(label="잘 맞음")
    words = "밸류에이션 논리를 정리하는 데 도움이 됐습니다"
    form.get_by_label("프로그램 매니저에게 남길 말 (선택)").fill(words)
    sent = {field: form.locator(f"input[name={field}]").get_attribute("value") or ""
            for field in ("csrf", "request_id", "back")}  # fmt: skip
    accessible(page)
    shot(page, "07b-founder-rates-a-session")
    form.get_by_role("button", name="피드백 보내기").click()
    assert "감사합니다. 피드백을 기록했습니다." in page.locator(".flash").inner_text()
    assert rate.locator("form").filter(has_text="후속 투자 유치 전략").count() == 0, "rated once"
    given = hub.consulting.GetSession(cspb.GetSessionRequest(name=held.name), metadata=hub.admin).feedback
    assert (given.rating, given.fit, given.comment) == (3, cspb.SESSION_FIT_GOOD_FIT, words)
    assert given.actor.startswith("founder:") and not given.reason
    # The same form sent again (a second press, a reload): the same feedback, not a refusal.
    resent: dict[str, str | float | bool] = {**sent, "rating": "3", "fit": "GOOD_FIT", "comment": words}
    again = page.request.post(f"{hub.url}/{held.name}/feedback", form=resent)
    assert again.ok and "감사합니다. 피드백을 기록했습니다." in again.text()
    after = hub.consulting.GetSession(cspb.GetSessionRequest(name=held.name), metadata=hub.admin).feedback
    assert after == given
    # Another, rated on the session's own page, which then shows the feedback.
    page.goto(f"{hub.url}/{later.name}")
    on_page = page.locator("form[action$='/feedback']")
    on_page.get_by_text("2 · 조금 도움이 됨").click()
    on_page.get_by_label("멘토가 우리 회사와 잘 맞나요?").select_option(label="판단 보류")
    accessible(page)
    shot(page, "07c-founder-rates-on-the-session-page")
    on_page.get_by_role("button", name="피드백 보내기").click()
    assert "감사합니다. 피드백을 기록했습니다." in page.locator(".flash").inner_text()
    assert page.url == f"{hub.url}/{later.name}" and page.locator("form[action$='/feedback']").count() == 0
    shown = page.locator("section").filter(has=page.get_by_role("heading", name="창업자 피드백")).inner_text()
    assert "평점 2 / 4" in shown and "판단 보류" in shown
    page.goto(f"{hub.url}/{company}")
    assert page.get_by_role("heading", name="완료된 세션 평가").count() == 0, "nothing left to rate"
    shot(page, "07d-founder-rated")

    # Another company by editing the address: refused, in words.
    other = "companies/1" if company != "companies/1" else "companies/2"
    answer = page.goto(f"{hub.url}/{other}")
    assert answer is not None and answer.status == 403
    assert "권한이 없습니다" in page.locator("h1").inner_text() and "메디비전" not in page.content()
    shot(page, "08-founder-other-company")
    page.goto(hub.url + "/companies")
    assert page.url == f"{hub.url}/{company}", "the list of every company is not theirs: they land on their own"

    page.get_by_role("button", name="로그아웃").click()
    assert "로그아웃했습니다" in page.locator(".flash").inner_text()
    log = hub.identities.ListSignInEvents(idpb.ListSignInEventsRequest(filter="email=jimin@edumind.kr"),
                                          metadata=hub.admin).sign_in_events  # fmt: skip
    assert [e.outcome for e in log][:2] == ["SIGNED_OUT", "SIGNED_IN"]


def completed_session(hub: Hub, company: str, agenda: str, *, days_ago: int) -> cspb.Session:
    """A session of the company some days ago at 11:00 in Seoul with the demo's VC (최유나), held and completed."""
    start = datetime.now(UTC).replace(hour=2, minute=0, second=0, microsecond=0) - timedelta(days=days_ago)
    session = cspb.Session(company=company, mentor="mentors/4", session_type="sessionTypes/3", agenda=agenda)
    session.interval.start_time.FromDatetime(start)
    booked = hub.consulting.ScheduleSession(cspb.ScheduleSessionRequest(session=session, request_id=f"e2e-{agenda}"),
                                            metadata=hub.admin)  # fmt: skip
    hub.consulting.CompleteSession(cspb.CompleteSessionRequest(name=booked.name), metadata=hub.admin)
    return booked


def test_a_change_made_elsewhere_shows_on_an_open_page_without_a_reload(page: Page, hub: Hub) -> None:
    sign_in_with_token(page, hub)
    page.goto(hub.url + "/companies/2")
    assert page.locator("h1").inner_text().startswith("닥터노트")
    page.evaluate("window.stillHere = true")  # gone if the page were loaded again
    company = hub.companies.GetCompany(cpb.GetCompanyRequest(name="companies/2"), metadata=hub.admin)
    company.english_name = "DoctorNote Health"
    mask = field_mask_pb2.FieldMask(paths=["english_name"])
    hub.companies.UpdateCompany(cpb.UpdateCompanyRequest(company=company, update_mask=mask), metadata=hub.admin)
    expect(page.locator("h1")).to_contain_text("DoctorNote Health", timeout=15_000)
    assert page.evaluate("window.stillHere") is True and page.evaluate("document.body.dataset.refreshed") == "1"
    accessible(page)
    shot(page, "09-live-update")

    # Someone typing is not interrupted: the page keeps what they typed and says it changed meanwhile.
    page.get_by_text("지원 혜택 기록 또는 한도 설정").click()
    amount = page.get_by_label("수량 (종류에 따라 시간, 석 또는 회)")
    amount.fill("12")
    company = hub.companies.GetCompany(cpb.GetCompanyRequest(name="companies/2"), metadata=hub.admin)
    company.english_name = "DoctorNote"
    hub.companies.UpdateCompany(cpb.UpdateCompanyRequest(company=company, update_mask=mask), metadata=hub.admin)
    expect(page.locator("#live-note")).to_be_visible(timeout=15_000)
    assert amount.input_value() == "12" and page.evaluate("document.body.dataset.refreshed") == "1"
    assert page.locator("h1").inner_text().endswith("DoctorNote Health"), "what was shown stays until they reload"
    shot(page, "09b-live-while-typing")
    page.locator("#live-note").get_by_role("link").click()
    expect(page.locator("h1")).to_have_text(re.compile(r"DoctorNote$"))


def test_floors_are_drawn_with_their_occupants_and_a_selected_company_moves_in(page: Page, hub: Hub) -> None:
    sign_in_with_token(page, hub)
    page.get_by_role("link", name="공간").click()
    assert page.locator("h1").inner_text() == "공간"
    plans = page.locator("svg.plan")
    assert plans.count() == 3  # floors 6 and 8, and the open space
    assert page.locator("svg.plan .room").count() == 16 and page.locator("svg.plan .desk").count() == 30
    before = hub.program.GetOccupancy(ppb.GetOccupancyRequest(), metadata=hub.admin)
    assert page.locator("svg.plan .room.taken").count() == before.offices_taken
    accessible(page)
    shot(page, "10-spaces")

    form = page.locator("form[action='/spaces/assign']")
    form.get_by_label("기업").select_option(label="코딩하랑")
    office = form.get_by_label("공간").locator("option").first.inner_text()
    form.get_by_role("button", name="입주").click()
    assert "공간을 배정했습니다" in page.locator(".flash").inner_text()
    after = hub.program.GetOccupancy(ppb.GetOccupancyRequest(), metadata=hub.admin)
    assert after.offices_taken == before.offices_taken + 1
    label = office.split(" ")[0]
    room = page.locator("svg.plan a").filter(has_text=label).filter(has_text="코딩하랑")
    assert room.count() == 1
    shot(page, "11-spaces-moved-in")

    # An individual resident (the seed's 오지훈, a person admitted without a company), once selected, moves in
    # beside the companies: drawn on the plan by name, without a link, and counted as an individual.
    applications = hub.program.ListApplications(ppb.ListApplicationsRequest(page_size=500), metadata=hub.admin)
    [application] = [a for a in applications.applications if a.applicant.startswith("people/")]
    hub.program.DecideApplication(
        ppb.DecideApplicationRequest(name=application.name, decision=ppb.APPLICATION_STATE_SELECTED, reason="선정"),
        metadata=hub.admin,
    )
    page.reload()
    form = page.locator("form[action='/spaces/assign']")
    form.get_by_label("입주자").select_option(label="오지훈")
    form.get_by_role("button", name="입주").click()
    assert "공간을 배정했습니다" in page.locator(".flash").inner_text()
    assert page.locator("svg.plan").filter(has_text="오지훈").count() == 1
    assert page.locator("svg.plan a").filter(has_text="오지훈").count() == 0
    assert "개인 1명" in page.locator("p.facts").nth(1).inner_text()
    assert page.locator("#residents ~ form, section[aria-labelledby=residents]").filter(has_text="오지훈").count() >= 1


def test_follow_ups_show_the_latest_mail_and_preview_every_rule_in_both_languages(page: Page, hub: Hub) -> None:
    sign_in_with_token(page, hub)
    page.get_by_role("link", name="후속 알림").click()
    assert page.locator("h1").inner_text() == "후속 알림"
    latest = page.locator("section").filter(has_text="최근 발송").locator("tbody")
    expect(latest).to_contain_text("입주를 환영합니다")  # the seed's welcome mails
    recap = page.locator("details.template").filter(has_text="session.recap")
    recap.locator("summary").click()
    assert "메디비전" in recap.inner_text() and "모델 경량화" in recap.inner_text()
    accessible(page)
    shot(page, "12-follow-ups")
    page.get_by_label("미리 보기 언어").select_option("en")
    page.get_by_role("button", name="보기").click()
    code = page.locator("details.template").filter(has_text="access.sign_in_code")
    assert "항상 발송" in code.locator("summary").inner_text()
    code.locator("summary").click()
    assert "042917" in code.inner_text() and "MediVision" in page.locator("details.template").first.inner_text()


def test_a_program_gets_its_registrations_from_an_excel_sheet_in_cp949_and_its_attendance(page: Page, hub: Hub) -> None:
    sign_in_with_token(page, hub)
    page.get_by_role("link", name="프로그램").click()
    page.get_by_label("이름", exact=True).fill("생성형 AI 실무 교육")
    page.get_by_label("종류").last.select_option("EDUCATION")
    page.get_by_label("날짜").fill((date.today() - timedelta(days=1)).isoformat())  # attendance once it has begun
    page.get_by_role("button", name="만들기").click()
    assert "프로그램을 만들었습니다" in page.locator(".flash").inner_text()
    program = page.url.removeprefix(hub.url + "/")
    accessible(page)

    page.get_by_label("이름", exact=True).fill("김하늘")
    page.get_by_label("이메일", exact=True).fill("sky@example.kr")
    page.get_by_role("button", name="등록", exact=True).click()
    sheet = "이름,이메일,직함\n김하늘,sky@example.kr,연구원\n박바다,sea@example.kr,대표\n,nobody@example.kr,\n"
    page.get_by_label("CSV 파일").set_input_files(
        files=FilePayload(name="명단.csv", mimeType="text/csv", buffer=sheet.encode("cp949"))
    )
    page.get_by_role("button", name="모두 등록").click()
    said = page.locator(".flash").inner_text()
    assert (
        "2명 등록했습니다" in said and "읽지 않은 열: 직함" in said and "거절된 줄: 4: 이름: 꼭 있어야 합니다" in said
    ), said
    assert "required" not in said, "the service's English is worded"
    rows = page.locator("table.list tbody tr")
    assert rows.count() == 2, "the person registered by hand and again in the sheet is one registration"
    shot(page, "13-program-registrations")

    page.locator("table.list tbody tr").filter(has_text="박바다").get_by_label("참석").check()
    page.get_by_role("button", name="출석 기록").click()
    assert "1명 참석" in page.locator(".flash").inner_text()
    got = hub.consulting.GetProgram(cspb.GetProgramRequest(name=program), metadata=hub.admin)
    assert (got.registered_count, got.attended_count) == (2, 1)
    accessible(page)


def test_forms_without_the_secret_or_from_elsewhere_are_refused_and_pages_are_locked_down(page: Page, hub: Hub) -> None:
    answer = page.goto(hub.url + "/sign-in")
    assert answer is not None
    headers: dict[str, Any] = answer.headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    [cookie] = page.context.cookies()
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"

    token = hub.admin[0][1].removeprefix("Bearer ")
    forged = page.request.post(hub.url + "/sign-in/token", form={"token": token})
    assert forged.status == 403 and "이 콘솔에서 온 것이 아닙니다" in forged.text()
    csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    elsewhere = page.request.post(hub.url + "/sign-in/token", form={"token": token, "csrf": csrf},
                                  headers={"origin": "http://evil.example"})  # fmt: skip
    assert elsewhere.status == 403
    page.goto(hub.url + "/")
    assert page.url.endswith("/sign-in"), "neither form signed anyone in"
    accepted = page.request.post(hub.url + "/sign-in/token", form={"token": token, "csrf": csrf})
    assert accepted.ok and "오늘의 허브" in accepted.text()
