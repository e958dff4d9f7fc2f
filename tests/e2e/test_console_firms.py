"""Changing the register of firms and the recipients' preferences in a real browser, against the whole hub as
`make run` starts it (test_console.py's fixtures): a program manager registers a firm with a first thesis (tickets
typed the Korean way), edits its fields, is refused in words when the firm changed meanwhile (and nothing is
overwritten), adds, edits and removes a thesis and sees a company's match change each time as MatchInvestors
says, edits a partner; then finds a recipient by their Hangul name, changes their preferences (checked over gRPC)
and is refused in words for a time zone that does not exist. Screenshots: var/screenshots/console/firms-*.png."""

from __future__ import annotations

import time
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from hub.companies.v1 import companies_pb2 as cpb
from hub.investors.v1 import investors_pb2 as ipb
from hub.notifications.v1 import notifications_pb2 as npb
from hub.notifications.v1 import notifications_pb2_grpc
from playwright.sync_api import Page

from tests.e2e import test_console
from tests.e2e.test_console import Hub, accessible, shot, sign_in_with_token

browser, hub, page = test_console.browser, test_console.hub, test_console.page
pytestmark = test_console.pytestmark


@pytest.fixture(scope="module")
def notifications(hub: Hub) -> Iterator[notifications_pb2_grpc.NotificationServiceStub]:
    channel = grpc.insecure_channel(f"127.0.0.1:{hub.ports['notifications']}")
    yield notifications_pb2_grpc.NotificationServiceStub(channel)
    channel.close()


def flash(page: Page) -> str:
    return page.locator(".flash").inner_text()


def the_firm(hub: Hub, korean: str) -> ipb.Firm:
    [firm] = hub.investors.ListFirms(ipb.ListFirmsRequest(query=korean), metadata=hub.admin).firms
    return firm


def fit_of(hub: Hub, company: str, firm: str) -> int | None:
    """The firm's score for the company as MatchInvestors gives it (None: not among the matches)."""
    asked = ipb.MatchInvestorsRequest(company=company, max_results=100)
    found = hub.investors.MatchInvestors(asked, metadata=hub.admin).matches
    return next((m.fit.score for m in found if m.firm == firm), None)


def shown_fit(page: Page, hub: Hub, company: str, korean: str) -> str:
    """The match card of a firm on the company's matches page."""
    page.goto(f"{hub.url}/investors/matches?company={company.rpartition('/')[2]}")
    card = page.locator("article.match").filter(has_text=korean)
    return card.locator(".fit").inner_text() if card.count() else ""


def test_a_firm_is_registered_edited_and_its_theses_change_the_matches(page: Page, hub: Hub) -> None:
    sign_in_with_token(page, hub)
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="투자사").click()
    page.get_by_text("투자사 등록", exact=True).click()
    creating = page.locator("form[action='/investors/firms']")
    creating.get_by_label("한글 이름").fill("새봄벤처스")
    creating.get_by_label("유형").select_option("VC")
    creating.get_by_label("웹사이트 (선택)").fill("https://saebom.vc")
    creating.get_by_label("투자 전략 이름").fill("에듀테크 시드")
    creating.get_by_label("교육").check()
    creating.get_by_label("시드", exact=True).check()
    creating.get_by_label("최소 투자 금액(원), 예: 5억 (선택)").fill("1억")
    creating.get_by_label("최대 투자 금액(원), 예: 30억 (선택)").fill("10억 5,000만")
    accessible(page)
    shot(page, "firms-01-register")
    creating.get_by_role("button", name="투자사 등록하기").click()
    assert "투자사를 등록했습니다" in flash(page)
    assert page.locator("h1").inner_text() == "새봄벤처스"
    assert "1억 원 – 10억 5,000만 원" in page.locator("#theses ~ .card").first.inner_text()
    firm = the_firm(hub, "새봄벤처스")
    assert firm.type == ipb.FIRM_TYPE_VC and firm.website == "https://saebom.vc"
    [thesis] = firm.theses
    assert (list(thesis.sectors), list(thesis.stages)) == (["EDUCATION"], ["SEED"])
    assert (thesis.ticket_min.units, thesis.ticket_max.units) == (100_000_000, 1_050_000_000)

    # Its fields edited: only what changed is sent, so the theses stay as they are.
    page.get_by_text("투자사 정보 수정", exact=True).click()
    editing = page.locator("#edit-firm form")
    editing.get_by_label("영문 이름 (선택)").fill("Saebom Ventures")
    editing.get_by_label("소개 (선택)").fill("교육과 의료 AI 초기 투자")
    accessible(page)
    editing.get_by_role("button", name="투자사 정보 저장").click()
    assert "투자사 정보를 저장했습니다" in flash(page)
    assert "Saebom Ventures" in page.locator("h1").inner_text()
    firm = the_firm(hub, "새봄벤처스")
    assert (firm.english_name, firm.description) == ("Saebom Ventures", "교육과 의료 AI 초기 투자")
    assert len(firm.theses) == 1 and firm.website == "https://saebom.vc"

    # Someone changes the firm while the page is open: the page's edit is refused in words, nothing overwritten.
    page.get_by_text("투자사 정보 수정", exact=True).click()
    editing.get_by_label("소개 (선택)").fill("이 글은 저장되지 않아야 합니다")
    meanwhile = ipb.Firm(name=firm.name, description="다른 담당자가 고친 소개", etag=firm.etag)
    asked = ipb.UpdateFirmRequest(firm=meanwhile, update_mask=FieldMask(paths=["description"]))
    hub.investors.UpdateFirm(asked, metadata=hub.admin)
    editing.get_by_role("button", name="투자사 정보 저장").click()
    assert "그사이 다른 사람이 변경했습니다" in flash(page)
    shot(page, "firms-02-stale-edit-refused")
    assert the_firm(hub, "새봄벤처스").description == "다른 담당자가 고친 소개"
    assert "다른 담당자가 고친 소개" in page.locator("main").inner_text()  # the page shows what the firm holds

    # A thesis added for medical companies: 메디비전 (medical, seed) now fits the firm better.
    [medivision] = hub.companies.ListCompanies(cpb.ListCompaniesRequest(query="메디비전"), metadata=hub.admin).companies
    before = fit_of(hub, medivision.name, firm.name)
    assert before is not None and f"적합도 {before} / 100" in shown_fit(page, hub, medivision.name, "새봄벤처스")
    page.goto(f"{hub.url}/investors/{firm.name}")
    page.get_by_text("투자 전략 추가", exact=True).click()
    adding = page.locator("#new-thesis form")
    adding.get_by_label("투자 전략 이름").fill("의료 AI")
    adding.get_by_label("의료").check()
    adding.get_by_label("시드", exact=True).check()
    adding.get_by_label("최소 투자 금액(원), 예: 5억 (선택)").fill("오억")
    adding.get_by_role("button", name="투자 전략 추가하기").click()
    assert "투자 금액은 500000000이나 5억처럼" in flash(page)  # not an amount: said, nothing sent
    assert len(the_firm(hub, "새봄벤처스").theses) == 1
    page.get_by_text("투자 전략 추가", exact=True).click()
    adding.get_by_label("투자 전략 이름").fill("의료 AI")
    adding.get_by_label("의료").check()
    adding.get_by_label("시드", exact=True).check()
    adding.get_by_role("button", name="투자 전략 추가하기").click()
    assert "투자 전략을 저장했습니다" in flash(page)
    shot(page, "firms-03-theses")
    added = fit_of(hub, medivision.name, firm.name)
    assert added is not None and added > before
    shown = shown_fit(page, hub, medivision.name, "새봄벤처스")
    assert f"적합도 {added} / 100" in shown and "의료 AI" in shown
    shot(page, "firms-04-match-after-thesis")

    # The thesis edited to later stages: the fit falls; removed: back to where it was.
    page.goto(f"{hub.url}/investors/{firm.name}")
    page.get_by_text("이 투자 전략 수정").nth(1).click()
    second = page.locator("form[action$='/theses/1']").first
    second.get_by_label("시드", exact=True).uncheck()
    second.get_by_label("시리즈 B").check()
    accessible(page)
    second.get_by_role("button", name="투자 전략 저장").click()
    assert "투자 전략을 저장했습니다" in flash(page)
    edited = fit_of(hub, medivision.name, firm.name)
    assert edited is not None and edited < added
    assert f"적합도 {edited} / 100" in shown_fit(page, hub, medivision.name, "새봄벤처스")
    page.goto(f"{hub.url}/investors/{firm.name}")
    page.get_by_role("button", name="이 투자 전략 삭제").nth(1).click()
    assert "투자 전략을 삭제했습니다" in flash(page)
    assert [t.title for t in the_firm(hub, "새봄벤처스").theses] == ["에듀테크 시드"]
    assert fit_of(hub, medivision.name, firm.name) == before


def test_a_partner_is_edited_on_the_firms_page(page: Page, hub: Hub) -> None:
    sign_in_with_token(page, hub)
    hanbit = the_firm(hub, "한빛벤처스")
    page.goto(f"{hub.url}/investors/{hanbit.name}")
    page.get_by_text("김도윤 정보 수정").click()
    editing = page.locator("section[aria-labelledby='partners'] li").filter(has_text="김도윤").locator("form")
    editing.get_by_label("직함 (선택)").fill("대표 파트너")
    editing.get_by_label("관심 분야, 쉼표로 구분 (선택)").fill("Medical AI, 디지털 헬스")
    editing.get_by_label("전화번호, 예: +821012345678 (선택)").fill("010-1234")
    editing.get_by_role("button", name="파트너 정보 저장").click()
    assert "입력한 내용 중 올바르지 않은 것이 있습니다" in flash(page) and "phone" in flash(page)
    page.get_by_text("김도윤 정보 수정").click()
    editing.get_by_label("직함 (선택)").fill("대표 파트너")
    editing.get_by_label("관심 분야, 쉼표로 구분 (선택)").fill("Medical AI, 디지털 헬스")
    editing.get_by_role("button", name="파트너 정보 저장").click()
    assert "파트너 정보를 저장했습니다" in flash(page)
    partners = hub.investors.ListPartners(ipb.ListPartnersRequest(filter=f"firm={hanbit.name}"), metadata=hub.admin)
    [kim] = [p for p in partners.partners if p.korean_name == "김도윤"]
    assert (kim.title, list(kim.focus)) == ("대표 파트너", ["medical ai", "디지털 헬스"])
    assert "대표 파트너" in page.locator("section[aria-labelledby='partners']").inner_text()
    shot(page, "firms-05-partner")


def recipient_named(api: notifications_pb2_grpc.NotificationServiceStub, hub: Hub, email: str) -> npb.Recipient:
    """The recipient the notifications service keeps for an address (fed by events: waited for)."""
    deadline = time.monotonic() + 30
    while True:
        asked = npb.ListRecipientsRequest(filter=f"email={email}")
        found = api.ListRecipients(asked, metadata=hub.admin).recipients
        if found or time.monotonic() > deadline:
            return found[0]
        time.sleep(0.3)


def test_a_recipients_preferences_are_changed(page: Page, hub: Hub, notifications: object) -> None:
    api: notifications_pb2_grpc.NotificationServiceStub = notifications  # type: ignore[assignment]
    recipient = recipient_named(api, hub, "seoyeon@medivision.kr")
    sign_in_with_token(page, hub)
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="후속 알림").click()
    page.get_by_role("link", name="수신자와 알림 설정").click()
    assert page.locator("h1").inner_text() == "수신자"
    page.get_by_label("이름·이메일 검색").fill("서연")
    page.get_by_role("button", name="검색").click()
    rows = page.locator("table.recipients tbody tr")
    assert rows.count() == 1 and "김서연" in rows.first.inner_text() and "기업 구성원" in rows.first.inner_text()
    accessible(page)
    shot(page, "firms-06-recipients")

    rows.first.get_by_role("link", name="김서연").click()
    assert page.locator("h1").inner_text().startswith("김서연")
    form = page.locator("form.preference")
    form.get_by_label("시간대, 날짜와 방해 금지 시간의 기준 (예: Asia/Seoul)").fill("Mars/Olympus")
    form.get_by_role("button", name="알림 설정 저장").click()
    assert "입력한 내용 중 올바르지 않은 것이 있습니다" in flash(page) and "time_zone" in flash(page)

    form.get_by_label("메시지 언어").select_option("en")
    form.get_by_label("방해 금지 시작").fill("21:30")
    form.get_by_label("방해 금지 종료").fill("07:00")
    form.get_by_label("웹훅", exact=True).check()
    form.get_by_label("웹훅 주소, 웹훅 채널용 (예: Slack 수신 웹훅)").fill("https://hooks.example.kr/medivision")
    muted = form.locator("input[name='muted']").first
    rule = muted.get_attribute("value")
    muted.check()
    accessible(page)
    form.get_by_role("button", name="알림 설정 저장").click()
    assert "알림 설정을 저장했습니다" in flash(page)
    shot(page, "firms-07-preferences")
    saved = api.GetPreference(npb.GetPreferenceRequest(name=f"{recipient.name}/preference"), metadata=hub.admin)
    assert saved.language == "en" and saved.time_zone == "Asia/Seoul"
    assert (saved.quiet_start.hours, saved.quiet_start.minutes, saved.quiet_end.hours) == (21, 30, 7)
    assert list(saved.channels) == [npb.CHANNEL_EMAIL, npb.CHANNEL_WEBHOOK]
    assert saved.webhook_url == "https://hooks.example.kr/medivision" and list(saved.muted_rules) == [rule]
    assert page.locator("#language").input_value() == "en" and page.locator("#quiet-start").input_value() == "21:30"

    # Changed elsewhere meanwhile: the open page's save is refused in words, and what was saved stays.
    stale = api.GetPreference(npb.GetPreferenceRequest(name=f"{recipient.name}/preference"), metadata=hub.admin)
    stale.language = "ko"
    asked = npb.UpdatePreferenceRequest(preference=stale, update_mask=FieldMask(paths=["language"]))
    api.UpdatePreference(asked, metadata=hub.admin)
    form.get_by_label("방해 금지 시작").fill("23:00")
    form.get_by_role("button", name="알림 설정 저장").click()
    assert "그사이 다른 사람이 변경했습니다" in flash(page)
    again = api.GetPreference(npb.GetPreferenceRequest(name=f"{recipient.name}/preference"), metadata=hub.admin)
    assert again.language == "ko" and again.quiet_start.hours == 21
