"""One company's whole journey through the console, in a real browser, against the whole hub as `make run` starts
it: a program manager imports it and its founder from spreadsheets; its application (sent by the hub's form, over
gRPC) is decided on the selection board; it moves into a space; a session is booked for it and completed with
notes; an introduction to a fund is requested from its matches; the founder, invited from the company's page,
signs in with the mailed code and consents; the fund's partner accepts over the partner API. Then the home page's
figures and lists, the pipeline and the company's timeline say what the journey did, and nothing else.
Screenshots land in var/screenshots/console/journey-*.png."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as ppb
from hub.investors.v1 import investors_pb2 as ipb
from hub.investors.v1 import partner_pb2 as ptb
from hub.investors.v1 import partner_pb2_grpc
from hub.ops.v1 import identities_pb2 as idpb
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_console import Hub, accessible, browser, hub, page, pytestmark, shot, sign_in_with_token
from tests.e2e.test_console_calendar import choose
from tests.e2e.test_console_import import sheet, upload
from tests.e2e.test_console_investors import column
from tests.e2e.test_console_people import partner, partner_key, signs_in_with_a_code

__all__ = ["browser", "hub", "page", "partner", "pytestmark"]  # fixtures and the skip, used by pytest by name
FOUNDER = "haeun@sumgyeol.kr"


def discovered(page: Page, hub: Hub) -> int:
    """The home page's count of firms discovered."""
    page.goto(hub.url + "/")
    found = re.search(r"발굴 기업 \(선정·입주·졸업\): ([\d,]+)곳", page.locator("#targets + .targets + p").inner_text())
    assert found, page.locator("main").inner_text()
    return int(found.group(1).replace(",", ""))


def attention(page: Page, heading: str) -> str:
    """The text of one card of the home page's "needs attention today"."""
    return page.locator(".attention .card").filter(has=page.get_by_role("heading", name=heading)).inner_text()


def yesterday() -> date:
    return datetime.now(ZoneInfo("Asia/Seoul")).date() - timedelta(days=1)


@pytest.fixture
def founder_page(browser: Browser) -> Iterator[Page]:
    """A second browser of its own: the founder signs in beside the program manager."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    yield context.new_page()
    context.close()


def test_one_company_from_import_to_an_accepted_introduction_and_the_dashboard_says_so(
    page: Page, founder_page: Page, hub: Hub, partner: partner_pb2_grpc.PartnerServiceStub
) -> None:
    sign_in_with_token(page, hub)
    before = discovered(page, hub)
    growth_before = hub.program.GetGrowth(ppb.GetGrowthRequest(), metadata=hub.admin).firms_grown

    # 1. Imported from two spreadsheets: the company, then its founder.
    upload(page, hub, "companies", "신규기업.csv", sheet([
        ["기업명", "영문명", "분야", "단계", "태그", "홈페이지"],
        ["숨결헬스", "Sumgyeol Health", "의료", "시드", "AI;의료영상;호흡기", "https://sumgyeol.example"],
    ], "utf-8-sig"))  # fmt: skip
    page.get_by_role("button", name="적용: 1행 쓰기").click()
    page.wait_for_selector("p.processed")
    [company] = hub.companies.ListCompanies(cpb.ListCompaniesRequest(query="숨결헬스"), metadata=hub.admin).companies
    assert company.status == cpb.COMPANY_STATUS_APPLICANT
    upload(page, hub, "people", "구성원.csv", sheet([
        ["성명", "영문이름", "소속", "구분", "직책", "이메일"],
        ["정하은", "Haeun Jung", "숨결헬스", "창업자", "대표", FOUNDER],
    ], "utf-8-sig"))  # fmt: skip
    page.get_by_role("button", name="적용: 1행 쓰기").click()
    page.wait_for_selector("p.processed")
    shot(page, "journey-01-imported")
    assert discovered(page, hub) == before, "an applicant is not yet discovered"

    # 2. Its application arrives (the hub's application form sends it over gRPC) and is decided on the board.
    [selection_round] = hub.program.ListRounds(ppb.ListRoundsRequest(), metadata=hub.admin).rounds
    application = hub.program.CreateApplication(ppb.CreateApplicationRequest(
        application=ppb.Application(round=selection_round.name, applicant=company.name,
                                    seat_kind=ppb.SEAT_KIND_OPEN_DESK,
                                    answers=[ppb.Application.Answer(question="핵심 AI 기술은?",
                                                                    text="호흡음 기반 폐질환 조기 선별")]),
        request_id="journey-application"), metadata=hub.admin)  # fmt: skip
    page.get_by_role("link", name="선발").click()
    page.get_by_role("link", name=selection_round.title).click()
    assert column(page, "SUBMITTED", application.name) == 1
    card = page.locator(f"article[data-application='{application.name}']")
    assert "숨결헬스" in card.inner_text(), "the applicant by its name"
    card.get_by_text("결정하기").click()
    card.get_by_label("결정", exact=True).select_option("SELECTED")
    card.get_by_label("사유 (지원자에게 전달될 수 있음)").fill("임상 파트너 확보, 기술 검증 완료")
    card.get_by_role("button", name="결정 기록").click()
    assert "결정을 기록했습니다: 선정" in page.locator(".flash").inner_text()
    assert column(page, "SELECTED", application.name) == 1
    shot(page, "journey-02-selected")

    # 3. A space: it moves in.
    page.get_by_role("link", name="공간").click()
    form = page.locator("form[action='/spaces/assign']")
    form.get_by_label("기업").select_option(label="숨결헬스")
    space = form.get_by_label("공간").locator("option").first.inner_text().split(" ")[0]
    form.get_by_role("button", name="입주").click()
    assert "공간을 배정했습니다" in page.locator(".flash").inner_text()
    assert page.locator("svg.plan a").filter(has_text="숨결헬스").count() == 1
    shot(page, "journey-03-moved-in")

    # 4. A session booked yesterday and completed with notes.
    page.goto(hub.url + "/calendar/book")
    direct = page.locator("form[action='/sessions']").filter(has=page.locator("#direct-day"))
    choose(direct, "direct", company="숨결헬스", mentor="이수진 · KAIST 산업및시스템공학과 교수",
           kind="성장전략 컨설팅 (90분)")  # fmt: skip
    direct.get_by_label("날짜").fill(yesterday().isoformat())
    direct.get_by_label("시작 시각").fill("14:00")
    direct.get_by_label("안건 (선택)").fill("병원 도입 전략")
    direct.get_by_role("button", name="예약", exact=True).click()
    assert "세션을 예약했습니다" in page.locator(".flash").inner_text()
    page.locator("a.chip").filter(has_text="숨결헬스").click()
    session_page = page.url
    page.locator("form[action$='/complete']").get_by_role("button", name="완료", exact=True).click()
    assert "세션을 완료 처리했습니다" in page.locator(".flash").inner_text()
    page.goto(hub.url + "/")
    assert "숨결헬스" in attention(page, "노트 없는 세션 (30일)"), "completed without its notes"
    page.goto(session_page)
    later = page.locator("section").filter(has=page.get_by_role("heading", name="노트 작성"))
    later.get_by_label("세션 노트").fill("대학병원 두 곳과 실증 협의, 인허가 일정부터 확정하기로 함")
    later.get_by_role("button", name="노트 기록").click()
    assert "대학병원 두 곳과 실증 협의" in page.locator(".notes").inner_text()
    shot(page, "journey-04-session-completed")

    # GPU-cluster hours, counted against a quota: refused in words without one, recorded once it is set.
    page.goto(f"{hub.url}/{company.name}")
    support = page.locator("section[aria-labelledby='support']")
    support.get_by_text("지원 혜택 기록 또는 한도 설정").click()
    record = support.locator("form[action$='/support']")
    record.get_by_label("지원 혜택").select_option("GPU_HOURS")
    record.get_by_label("수량 (종류에 따라 시간, 석 또는 회)").fill("40")
    record.get_by_label("메모 (선택)").fill("폐음 분류 모델 학습")
    record.get_by_role("button", name="지원 기록").click()
    assert "아직 한도가 없습니다" in page.locator(".flash.error").inner_text()
    support.get_by_text("지원 혜택 기록 또는 한도 설정").click()
    quota = support.locator("form[action$='/support/quota']")
    quota.get_by_label("지원 혜택").select_option("GPU_HOURS")
    quota.get_by_label("한도").fill("100")
    quota.get_by_role("button", name="한도 정하기").click()
    assert "한도를 정했습니다" in page.locator(".flash").inner_text()
    support.get_by_text("지원 혜택 기록 또는 한도 설정").click()
    record.get_by_label("지원 혜택").select_option("GPU_HOURS")
    record.get_by_label("수량 (종류에 따라 시간, 석 또는 회)").fill("40")
    record.get_by_role("button", name="지원 기록").click()
    assert "지원 혜택을 기록했습니다" in page.locator(".flash").inner_text()
    gpu = support.locator("tr[data-kind='GPU_HOURS']")
    assert "GPU 클러스터 (시간)" in gpu.inner_text() and "40" in gpu.inner_text() and "100" in gpu.inner_text()
    ledger = hub.program.ListSupport(ppb.ListSupportRequest(company=company.name), metadata=hub.admin)
    [total] = [t for t in ledger.totals if t.kind == ppb.SUPPORT_KIND_GPU_HOURS]
    assert (total.used, total.quota) == (40, 100)
    accessible(page)
    shot(page, "journey-04b-support")

    # 5. An introduction requested from its matches, to the fund whose thesis fits it.
    page.goto(f"{hub.url}/{company.name}")
    page.get_by_role("link", name="맞는 투자사").click()
    card = page.locator("article.match").filter(has_text="한빛벤처스")
    assert "AI 헬스케어 시드" in card.inner_text(), "the reason: the thesis it matched"
    card.get_by_text("소개 요청", exact=True).click()
    card.get_by_label("두 곳이 만나야 하는 이유").fill("호흡기 AI 진단, 한빛벤처스의 AI 헬스케어 시드 투자와 맞습니다.")
    card.get_by_role("button", name="소개 요청하기").click()
    assert "소개를 요청했습니다" in page.locator(".flash").inner_text()
    [introduction] = hub.investors.ListIntroductions(ipb.ListIntroductionsRequest(filter=f"company={company.name}"),
                                                     metadata=hub.admin).introductions  # fmt: skip
    page.goto(hub.url + "/")
    assert "숨결헬스 → 한빛벤처스" in attention(page, "기업의 답을 기다리는 소개")
    assert "숨결헬스" not in attention(page, "노트 없는 세션 (30일)"), "its session has its notes now"
    shot(page, "journey-05-home-waiting")

    # 6. The founder, invited from the company's page, signs in with the mailed code and consents.
    page.goto(f"{hub.url}/{company.name}")
    person = page.locator("ul.people li").filter(has_text="정하은")
    person.get_by_role("button", name="로그인 초대").click()
    assert "초대했습니다" in page.locator(".flash").inner_text()
    assert "로그인 가능" in page.locator("ul.people li").filter(has_text="정하은").inner_text()
    accessible(page)
    signs_in_with_a_code(founder_page, hub, FOUNDER)
    founder_page.wait_for_url(f"{hub.url}/{company.name}")
    intro = founder_page.locator(".intro").filter(has_text="한빛벤처스")
    intro.get_by_role("button", name="소개에 동의").click()
    assert "소개에 동의했습니다" in founder_page.locator(".flash").inner_text()
    shot(founder_page, "journey-06-founder-consented")

    # 7. The fund's partner accepts over the partner API (as make run's key, 김도윤 of 한빛벤처스).
    shared = partner.GetIntroduction(ptb.PartnerServiceGetIntroductionRequest(name=introduction.name),
                                     metadata=partner_key(hub))  # fmt: skip
    answered = partner.RespondToIntroduction(
        ptb.RespondToIntroductionRequest(name=introduction.name, accept=True, reason="다음 주 미팅 제안",
                                         etag=shared.etag), metadata=partner_key(hub))  # fmt: skip
    assert answered.state == ipb.INTRODUCTION_STATE_PARTNER_ACCEPTED

    # 8. What the console says now: one more firm discovered, nothing of it waiting; the pipeline and the
    # company's timeline hold every step.
    assert discovered(page, hub) == before + 1
    assert hub.program.GetGrowth(ppb.GetGrowthRequest(), metadata=hub.admin).firms_grown == growth_before
    assert "숨결헬스" not in attention(page, "기업의 답을 기다리는 소개")
    accessible(page)
    shot(page, "journey-07-home-after")
    page.goto(hub.url + "/investors/pipeline")
    assert column(page, "PARTNER_ACCEPTED", introduction.name) == 1
    page.goto(f"{hub.url}/{company.name}")
    assert page.locator(".facts").inner_text().startswith("입주")
    kinds = page.locator("ol.timeline li").evaluate_all("items => items.map(i => i.dataset.kind + ' ' + i.innerText)")
    moments = "\n".join(kinds)
    assert "application" in moments and "입주 지원 (오픈 데스크) · 선정: 임상 파트너 확보, 기술 검증 완료" in moments
    assert f"입주: {space}" in moments, moments
    assert "세션: 병원 도입 전략 · 완료" in moments
    assert "투자사 소개: 한빛벤처스 · 투자사 수락" in moments
    assert "company" in moments and "허브에 등록" in moments, moments
    # And what the follow-ups wrote about it (sent as the events arrive, so within moments).
    deadline = time.monotonic() + 30
    while not (messages := page.locator("ol.timeline li[data-kind=followup]").all_inner_texts()):
        assert time.monotonic() < deadline, "no follow-up about the company on its timeline"
        page.wait_for_timeout(500)
        page.reload()
    assert any(FOUNDER in m for m in messages), messages
    assert "지원 혜택: GPU 클러스터 (시간) 40" in moments
    accessible(page)
    shot(page, "journey-08-company-timeline")


def test_an_invitation_to_someone_without_an_address_cannot_be_sent_and_a_second_one_is_refused_in_words(
    page: Page, hub: Hub
) -> None:
    [medivision] = hub.companies.ListCompanies(cpb.ListCompaniesRequest(query="메디비전"), metadata=hub.admin).companies
    sign_in_with_token(page, hub)
    page.goto(f"{hub.url}/{medivision.name}")
    people = page.locator("ul.people li")
    without = [p for p in people.all() if "@" not in p.inner_text()]
    for p in without:
        assert p.get_by_role("button", name="로그인 초대").count() == 0, "no address, no invitation"
    first = next(p for p in people.all() if p.get_by_role("button", name="로그인 초대").count())
    form = first.locator("form")
    action, secret = form.get_attribute("action"), form.locator("input[name=csrf]").get_attribute("value")
    first.get_by_role("button", name="로그인 초대").click()
    assert "초대했습니다" in page.locator(".flash").inner_text()
    # The same form sent again (a page left open): the service refuses, the page says so in words.
    again = page.request.post(f"{hub.url}{action}", form={"csrf": secret or ""})
    refusal = re.search(r'class="flash error" role="alert">([^<]*)<', again.text())
    assert again.ok and refusal and refusal.group(1) == "이미 초대했습니다. 로그인할 수 있습니다.", again.text()[-2000:]
    person = str(first.get_attribute("data-person"))
    asked = idpb.ListIdentitiesRequest(filter=f"scope={medivision.name}")
    invited = [i for i in hub.identities.ListIdentities(asked, metadata=hub.admin).identities if i.person == person]
    assert len(invited) == 1, invited


def test_two_program_managers_on_one_board_see_each_others_decisions_without_a_reload(
    page: Page, founder_page: Page, hub: Hub
) -> None:
    other = founder_page  # a second browser, here a second program manager
    [selection_round] = hub.program.ListRounds(ppb.ListRoundsRequest(), metadata=hub.admin).rounds
    asked = ppb.ListApplicationsRequest(filter=f"round={selection_round.name} AND state=SUBMITTED")
    waiting = hub.program.ListApplications(asked, metadata=hub.admin).applications[0]
    board = f"{hub.url}/selection/{selection_round.name.rpartition('/')[2]}"
    for browser_page in (page, other):
        sign_in_with_token(browser_page, hub)
        browser_page.goto(board)
        assert column(browser_page, "SUBMITTED", waiting.name) == 1
    page.evaluate("window.stillHere = true")

    card = other.locator(f"article[data-application='{waiting.name}']")
    card.get_by_text("결정하기").click()
    card.get_by_label("결정", exact=True).select_option("WAITLISTED")
    card.get_by_label("사유 (지원자에게 전달될 수 있음)").fill("다음 기수 우선 검토")
    card.get_by_role("button", name="결정 기록").click()
    assert "결정을 기록했습니다" in other.locator(".flash").inner_text()

    moved = page.locator(f"section.column[data-state='WAITLISTED'] article[data-application='{waiting.name}']")
    expect(moved).to_have_count(1, timeout=15_000)
    assert page.evaluate("window.stillHere") is True, "the board changed in place"
    assert column(page, "SUBMITTED", waiting.name) == 0
    shot(page, "journey-09-board-seen-by-another")
