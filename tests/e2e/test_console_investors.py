"""The investors pages and the selection board in a real browser, against the whole hub as `make run` starts it
(the fixtures and helpers of test_console.py): a program manager finds a firm by its Hangul name, sees the seed's
introductions in the pipeline's columns, requests an introduction from a company's matches and sees it arrive as
REQUESTED, moves one on, is refused in Korean words when the company's answer comes without a reason, closes a
funding round and sees it in the quarter's bar; on the selection board, the ranking (raw and normalized) as the
service ranks it, a conflict of interest recorded and shown, and an application decided with a reason, checked
over gRPC. Screenshots land in var/screenshots/console/investors-*.png."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as ppb
from hub.investors.v1 import investors_pb2 as ipb
from playwright.sync_api import Page

from hubcore.korean import format_krw
from tests.e2e import test_console
from tests.e2e.test_console import Hub, accessible, shot, sign_in_with_token

# test_console.py's fixtures, which pytest finds here under their names: a hub of this module's own (the fixture
# is module-scoped), the browser, and a page checked for script errors and CSP violations.
browser, hub, page = test_console.browser, test_console.hub, test_console.page
pytestmark = test_console.pytestmark

STATE = ipb.IntroductionState


def column(page: Page, state: str, name: str) -> int:
    """How many cards of the introduction or application named stand in the column of a state."""
    return page.locator(f"section.column[data-state='{state}'] article[data-introduction='{name}'], "
                        f"section.column[data-state='{state}'] article[data-application='{name}']").count()  # fmt: skip


def pairs(page: Page, state: str) -> list[tuple[str, ...]]:
    """The cards of a pipeline column as (company, firm)."""
    cards = page.locator(f"section.column[data-state='{state}'] .pair").all()
    return [tuple(a.inner_text() for a in card.locator("a").all()) for card in cards]


def introductions(hub: Hub, company: str) -> list[ipb.Introduction]:
    asked = ipb.ListIntroductionsRequest(filter=f"company={company}")
    return list(hub.investors.ListIntroductions(asked, metadata=hub.admin).introductions)


def firm_named(hub: Hub, korean: str) -> str:
    [firm] = hub.investors.ListFirms(ipb.ListFirmsRequest(query=korean), metadata=hub.admin).firms
    return firm.name


def company_named(hub: Hub, korean: str) -> str:
    [company] = hub.companies.ListCompanies(cpb.ListCompaniesRequest(query=korean), metadata=hub.admin).companies
    return company.name


def test_the_pipeline_shows_the_seed_and_an_introduction_requested_from_a_companys_matches(
    page: Page, hub: Hub
) -> None:
    sign_in_with_token(page, hub)
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="투자사").click()
    assert page.locator("h1").inner_text() == "투자사"
    page.get_by_label("투자사 이름 검색").fill("한빛")
    page.get_by_role("button", name="검색").click()
    rows = page.locator("table.list tbody tr")
    assert (
        rows.count() == 1 and "한빛벤처스" in rows.first.inner_text() and "5억 원 – 30억 원" in rows.first.inner_text()
    )
    accessible(page)
    shot(page, "investors-01-firms")

    page.get_by_role("link", name="한빛벤처스").click()
    assert page.locator("h1").inner_text().startswith("한빛벤처스")
    assert "김도윤" in page.locator("section[aria-labelledby='partners']").inner_text()
    assert "AI 헬스케어 시드" in page.locator("#theses + .card").inner_text()
    assert "메디비전" in page.locator("section[aria-labelledby='firm-introductions']").inner_text()
    accessible(page)
    page.get_by_text("파트너 추가", exact=True).click()
    adding = page.locator("form[action$='/partners']")  # each partner has an edit form with the same labels
    adding.get_by_label("한글 이름").fill("최유나")
    adding.get_by_label("직함 (선택)").fill("심사역")
    shot(page, "investors-02-firm")
    page.get_by_role("button", name="파트너 추가하기").click()
    assert "파트너를 추가했습니다" in page.locator(".flash").inner_text()
    assert "최유나 · 심사역" in page.locator("section[aria-labelledby='partners']").inner_text()
    hanbit = firm_named(hub, "한빛벤처스")
    partners = hub.investors.ListPartners(ipb.ListPartnersRequest(filter=f"firm={hanbit}"), metadata=hub.admin).partners
    assert sorted(p.korean_name for p in partners) == ["김도윤", "최유나"]

    page.get_by_role("link", name="소개 파이프라인").click()
    seeded = hub.investors.ListIntroductions(ipb.ListIntroductionsRequest(), metadata=hub.admin).introductions
    assert len(seeded) >= 4
    for i in seeded:  # each in the column of its state, as the service has it
        state = STATE.Name(i.state).removeprefix("INTRODUCTION_STATE_")
        assert column(page, state, i.name) == 1, (i.name, state)
    requested = page.locator("section.column[data-state='REQUESTED']")
    assert ("에듀마인드", "누리캐피탈") in pairs(page, "REQUESTED") and "오늘 요청" in requested.inner_text()
    assert pairs(page, "INVESTED") == [("스마트팩토리랩", "가온모빌리티 CVC")]
    accessible(page)
    shot(page, "investors-03-pipeline")

    page.get_by_role("link", name="기업의 매칭에서 소개 요청하기").click()
    page.get_by_label("기업", exact=True).select_option(label="코딩하랑")
    page.get_by_role("button", name="맞는 투자사 보기").click()
    assert page.locator("h1").inner_text() == "코딩하랑에 맞는 투자사"
    company, nuri = company_named(hub, "코딩하랑"), firm_named(hub, "누리캐피탈")
    best = hub.investors.MatchInvestors(ipb.MatchInvestorsRequest(company=company), metadata=hub.admin).matches[0]
    card = page.locator("article.match").filter(has_text="누리캐피탈")
    assert f"적합도 {best.fit.score} / 100" in page.locator("article.match").first.inner_text()
    reasons = card.locator("table.reasons tbody tr")
    assert reasons.count() == 4 and reasons.first.inner_text().startswith("분야")
    assert "40 / 40" in reasons.first.inner_text() and "EDUCATION" in reasons.first.inner_text()
    accessible(page)
    card.get_by_text("소개 요청", exact=True).click()
    card.get_by_label("두 곳이 만나야 하는 이유").fill("코딩 교육 AI, 누리캐피탈의 에듀테크 초기 투자와 맞습니다.")
    shot(page, "investors-04-matches")
    card.get_by_role("button", name="소개 요청하기").click()
    assert "소개를 요청했습니다" in page.locator(".flash").inner_text()
    card = page.locator("article.match").filter(has_text="누리캐피탈")
    assert "진행 중인 소개가 있습니다: 요청됨" in card.inner_text()
    [made] = [i for i in introductions(hub, company) if i.firm == nuri]
    assert made.state == STATE.INTRODUCTION_STATE_REQUESTED and made.note.startswith("코딩 교육 AI")
    page.get_by_role("link", name="파이프라인에서 보기").first.click()
    assert column(page, "REQUESTED", made.name) == 1
    shot(page, "investors-05-requested")


def test_a_program_manager_moves_an_introduction_on_and_is_refused_in_words_without_a_reason(
    page: Page, hub: Hub
) -> None:
    medivision, hanbit = company_named(hub, "메디비전"), firm_named(hub, "한빛벤처스")
    [consented] = [i for i in introductions(hub, medivision) if i.firm == hanbit]
    assert consented.state == STATE.INTRODUCTION_STATE_COMPANY_CONSENTED
    harang, rocket = company_named(hub, "코딩하랑"), firm_named(hub, "로켓스테이션")
    waiting = hub.investors.CreateIntroduction(
        ipb.CreateIntroductionRequest(introduction=ipb.Introduction(company=harang, firm=rocket, note="프리시드 배치"),
                                      request_id="e2e-console-rocket"),
        metadata=hub.admin,
    )  # fmt: skip
    sign_in_with_token(page, hub)
    page.goto(hub.url + "/investors/pipeline")

    card = page.locator(f"article[data-introduction='{consented.name}']")
    card.get_by_text("다음 단계로").click()
    card.get_by_role("button", name="투자사 수락").click()
    assert "소개 단계를 옮겼습니다: 투자사 수락" in page.locator(".flash").inner_text()
    assert column(page, "PARTNER_ACCEPTED", consented.name) == 1
    moved = hub.investors.GetIntroduction(ipb.GetIntroductionRequest(name=consented.name), metadata=hub.admin)
    assert moved.state == STATE.INTRODUCTION_STATE_PARTNER_ACCEPTED and moved.history[-1].actor.startswith("admin:")

    # The company's answer, recorded by a program manager, needs a reason: the service refuses, the page says so.
    card = page.locator(f"article[data-introduction='{waiting.name}']")
    card.get_by_text("다음 단계로").click()
    card.get_by_role("button", name="기업 동의").click()
    refusal = page.locator(".flash.error")
    assert "사유를 적어 주세요" in refusal.inner_text() and refusal.get_attribute("role") == "alert"
    still = hub.investors.GetIntroduction(ipb.GetIntroductionRequest(name=waiting.name), metadata=hub.admin)
    assert still.state == STATE.INTRODUCTION_STATE_REQUESTED
    accessible(page)
    shot(page, "investors-06-refused")
    card = page.locator(f"article[data-introduction='{waiting.name}']")
    card.get_by_text("다음 단계로").click()
    card.get_by_label("사유").fill("대표가 전화로 동의함")
    card.get_by_role("button", name="기업 동의").click()
    assert column(page, "COMPANY_CONSENTED", waiting.name) == 1
    answered = hub.investors.GetIntroduction(ipb.GetIntroductionRequest(name=waiting.name), metadata=hub.admin)
    assert answered.state == STATE.INTRODUCTION_STATE_COMPANY_CONSENTED
    assert (answered.history[-1].reason, answered.history[-1].on_behalf_of) == ("대표가 전화로 동의함", harang)
    shot(page, "investors-07-moved")

    page.get_by_role("button", name="English").click()
    assert page.locator("h1").inner_text() == "Introductions pipeline"
    assert "Partner accepted" in page.locator("section.column[data-state='PARTNER_ACCEPTED'] h3").inner_text()
    shot(page, "investors-08-pipeline-english")
    page.get_by_role("button", name="한국어").click()
    assert page.locator("h1").inner_text() == "소개 파이프라인"


def _closed_this_quarter(hub: Hub) -> int:
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Seoul")).date()
    rounds = hub.investors.ListRounds(ipb.ListRoundsRequest(filter="status=CLOSED"), metadata=hub.admin).rounds
    quarter = (today.year, (today.month - 1) // 3)
    return sum(r.amount.units for r in rounds if (r.close_date.year, (r.close_date.month - 1) // 3) == quarter)


def test_funding_rounds_are_drawn_by_quarter_and_an_open_round_is_closed(page: Page, hub: Hub) -> None:
    sign_in_with_token(page, hub)
    page.goto(hub.url + "/investors/rounds")
    chart = page.locator("svg.chart")
    before = _closed_this_quarter(hub)
    assert format_krw(before) in chart.inner_html() and chart.locator("rect.bar").count() >= 1
    accessible(page)
    shot(page, "investors-09-rounds")

    doctornote = company_named(hub, "닥터노트")
    [open_round] = hub.investors.ListRounds(ipb.ListRoundsRequest(filter=f"company={doctornote} AND status=OPEN"),
                                            metadata=hub.admin).rounds  # fmt: skip
    page.locator(f"tr[data-round='{open_round.name}']").get_by_role("button", name="오늘 마감").click()
    assert "라운드를 마감했습니다" in page.locator(".flash").inner_text()
    closed = hub.investors.GetRound(ipb.GetRoundRequest(name=open_round.name), metadata=hub.admin)
    assert closed.status == ipb.ROUND_STATUS_CLOSED
    after = before + open_round.amount.units
    assert _closed_this_quarter(hub) == after and format_krw(after) in page.locator("svg.chart").inner_html()
    assert "마감" in page.locator(f"tr[data-round='{open_round.name}']").inner_text()
    shot(page, "investors-10-round-closed")


def test_the_selection_board_ranks_shows_a_conflict_and_decides_an_application_with_a_reason(
    page: Page, hub: Hub
) -> None:
    [selection_round] = hub.program.ListRounds(ppb.ListRoundsRequest(), metadata=hub.admin).rounds
    reviewer = hub.program.CreateReviewer(
        ppb.CreateReviewerRequest(reviewer=ppb.Reviewer(korean_name="윤심사", email="yoon@reviewers.kr",
                                                        affiliation="KAIST 전산학부"), request_id="e2e-console-yoon"),
        metadata=hub.admin,
    )  # fmt: skip
    hub.program.AssignReviewer(ppb.AssignReviewerRequest(reviewer=reviewer.name, round=selection_round.name),
                               metadata=hub.admin)  # fmt: skip
    applications = hub.program.ListApplications(
        ppb.ListApplicationsRequest(filter=f"round={selection_round.name}"), metadata=hub.admin
    ).applications
    inspect = next(a for a in applications if a.applicant.startswith("companies/"))
    person = next(a for a in applications if a.applicant.startswith("people/"))

    sign_in_with_token(page, hub)
    page.get_by_role("link", name="선발").click()
    page.get_by_role("link", name=selection_round.title).click()
    assert page.locator("h1").inner_text() == selection_round.title
    for a in applications:
        assert column(page, "SUBMITTED", a.name) == 1
    ranked = hub.program.RankApplications(ppb.RankApplicationsRequest(round=selection_round.name),
                                          metadata=hub.admin).entries  # fmt: skip
    rows = page.locator("table.ranking tbody tr")
    assert [rows.nth(n).get_attribute("data-application") for n in range(rows.count())] == [
        e.application for e in ranked
    ]
    top = rows.first.locator("td")
    assert top.nth(3).inner_text() == f"{ranked[0].weighted_score:.2f}" and top.nth(5).inner_text() == "2"
    assert "윤심사 · 배정됨" in page.locator(f"article[data-application='{inspect.name}']").inner_text()
    accessible(page)
    shot(page, "investors-11-selection")
    page.get_by_role("link", name="정규화 점수 (심사위원별)").click()
    by_z = hub.program.RankApplications(
        ppb.RankApplicationsRequest(round=selection_round.name, scale=ppb.SCORE_SCALE_NORMALIZED), metadata=hub.admin
    ).entries
    rows = page.locator("table.ranking tbody tr")
    assert [rows.nth(n).get_attribute("data-application") for n in range(rows.count())] == [e.application for e in by_z]

    # A conflict of interest recorded for the reviewer: the board shows it on the card and in its list.
    page.get_by_text("심사위원의 이해충돌 기록").click()
    page.get_by_label("심사위원", exact=True).select_option(label="윤심사 (KAIST 전산학부)")
    page.get_by_label("지원자", exact=True).select_option(label="오지훈")
    page.get_by_label("사유 (선택)").fill("지도교수")
    page.get_by_role("button", name="이해충돌 기록").click()
    assert "이해충돌을 기록했습니다" in page.locator(".flash").inner_text()
    assert "윤심사 님은 오지훈을(를) 평가할 수 없습니다" in page.locator("ul.conflicts").inner_text()
    assert "이해충돌" in page.locator(f"article[data-application='{person.name}'] .reviewers").inner_text()
    [assigned] = hub.program.ListReviewAssignments(
        ppb.ListReviewAssignmentsRequest(filter=f"application={person.name}"), metadata=hub.admin
    ).assignments
    assert assigned.state == ppb.REVIEW_STATE_CONFLICTED

    # Deciding without a reason (spaces pass the browser's check): refused, in Korean words, nothing decided.
    card = page.locator(f"article[data-application='{inspect.name}']")
    card.get_by_text("결정하기").click()
    card.get_by_label("결정", exact=True).select_option("SELECTED")
    card.get_by_label("사유 (지원자에게 전달될 수 있음)").fill("   ")
    card.get_by_role("button", name="결정 기록").click()
    assert "사유를 적어 주세요" in page.locator(".flash.error").inner_text()
    unchanged = hub.program.GetApplication(ppb.GetApplicationRequest(name=inspect.name), metadata=hub.admin)
    assert unchanged.state == ppb.APPLICATION_STATE_SUBMITTED
    shot(page, "investors-12-selection-refused")

    card = page.locator(f"article[data-application='{inspect.name}']")
    card.get_by_text("결정하기").click()
    card.get_by_label("결정", exact=True).select_option("SELECTED")
    card.get_by_label("사유 (지원자에게 전달될 수 있음)").fill("기술성 우수, 시장 검증 완료")
    card.get_by_role("button", name="결정 기록").click()
    assert "결정을 기록했습니다: 선정" in page.locator(".flash").inner_text()
    assert column(page, "SELECTED", inspect.name) == 1
    assert (
        "사유: 기술성 우수, 시장 검증 완료" in page.locator(f"article[data-application='{inspect.name}']").inner_text()
    )
    decided = hub.program.GetApplication(ppb.GetApplicationRequest(name=inspect.name), metadata=hub.admin)
    assert (decided.state, decided.decision_reason) == (ppb.APPLICATION_STATE_SELECTED, "기술성 우수, 시장 검증 완료")
    company = hub.companies.GetCompany(cpb.GetCompanyRequest(name=inspect.applicant), metadata=hub.admin)
    assert company.status == cpb.COMPANY_STATUS_SELECTED
    assert "1 / 4" in page.locator(".card").filter(has_text="오픈 데스크").first.inner_text()
    accessible(page)
    shot(page, "investors-13-selection-decided")
