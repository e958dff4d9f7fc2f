"""Founders' and reviewers' own pages in a real browser, against the whole hub as `make run` starts it: a founder
invited over gRPC signs in with the mailed code, grants a firm a field group, widens it, is told in words that a
grant needs one, revokes it, narrows another firm's grant and reads in the access log what that firm's partner
read before and after; they read their company's profile; a program manager grants for the company, with a
reason. A reviewer invited over gRPC signs in, sees only the
applications assigned to them, scores one on the round's criteria, declares a conflict of interest and is refused
in words when a form left open scores that applicant anyway, and steps back from another. Every page is checked
for headings, labels and keyboard reach; screenshots land in var/screenshots/console/people-*.png."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as ppb
from hub.investors.v1 import investors_pb2 as ipb
from hub.investors.v1 import partner_pb2 as ptb
from hub.investors.v1 import partner_pb2_grpc
from hub.ops.v1 import identities_pb2 as idpb
from playwright.sync_api import Page

# The hub, the browser and the helpers of the console's own browser tests: imported, the fixtures are this
# module's too (a hub of its own, started once for the module).
from tests.e2e.test_console import Hub, accessible, browser, hub, page, pytestmark, shot, sign_in_with_token

__all__ = ["browser", "hub", "page", "pytestmark"]  # fixtures and the skip, used by pytest through their names
FOUNDER_EMAIL = "seoyeon@medivision.kr"  # 김서연, the demo's founder of 메디비전
REVIEWER_EMAIL = "jh.park@kaist.ac.kr"


@pytest.fixture(scope="module")
def partner(hub: Hub) -> Iterator[partner_pb2_grpc.PartnerServiceStub]:
    """The partner API as the demo's partner calls it (김도윤 of 한빛벤처스: make run's key, over TLS)."""
    roots = (hub.data / "tls" / "partner.crt").read_bytes()
    address = f"127.0.0.1:{hub.ports['partner']}"
    with grpc.secure_channel(address, grpc.ssl_channel_credentials(root_certificates=roots)) as channel:
        yield partner_pb2_grpc.PartnerServiceStub(channel)


def partner_key(hub: Hub) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {(hub.data / 'partner-key').read_text().strip()}"),)


def signs_in_with_a_code(page: Page, hub: Hub, email: str) -> None:
    hub.codes_mailed_to(email, 1)  # the invitation's; asking again voids it
    page.goto(hub.url + "/sign-in")
    page.get_by_label("이메일 주소").fill(email)
    page.get_by_role("button", name="코드 받기").click()
    page.get_by_label("로그인 코드").fill(hub.codes_mailed_to(email, 2)[-1])
    page.get_by_role("button", name="로그인").click()


def flash(page: Page) -> str:
    return page.locator(".flash").inner_text()


def grants_of(hub: Hub, company: str) -> dict[str, ipb.SharingGrant]:
    asked = ipb.ListSharingGrantsRequest(parent=company, show_revoked=True)
    return {g.firm: g for g in hub.investors.ListSharingGrants(asked, metadata=hub.admin).sharing_grants}


def test_a_founder_grants_changes_and_revokes_what_a_firm_sees_and_reads_the_access_log(
    page: Page, hub: Hub, partner: partner_pb2_grpc.PartnerServiceStub
) -> None:
    [person] = hub.companies.ListPeople(cpb.ListPeopleRequest(query="김서연"), metadata=hub.admin).people
    company = person.company
    [hanbit] = hub.investors.ListFirms(ipb.ListFirmsRequest(query="한빛벤처스"), metadata=hub.admin).firms
    [seum] = hub.investors.ListFirms(ipb.ListFirmsRequest(query="세움헬스케어"), metadata=hub.admin).firms
    # A firm the company is introduced to and shares nothing with yet (it has not consented).
    note = "세움헬스케어벤처스의 디지털 헬스 포트폴리오와 맞습니다."
    hub.investors.CreateIntroduction(ipb.CreateIntroductionRequest(
        introduction=ipb.Introduction(company=company, firm=seum.name, note=note), request_id="e2e-people-seum",
    ), metadata=hub.admin)  # fmt: skip
    # The demo's consent to 한빛벤처스 granted it every group; its partner reads the introduction.
    [intro] = hub.investors.ListIntroductions(ipb.ListIntroductionsRequest(
        filter=f"company={company} AND firm={hanbit.name}"), metadata=hub.admin).introductions  # fmt: skip
    read = partner.GetIntroduction(ptb.PartnerServiceGetIntroductionRequest(name=intro.name), metadata=partner_key(hub))
    assert read.company.korean_name == "메디비전" and read.company.sector == "MEDICAL"

    invited = idpb.Identity(role=idpb.IDENTITY_ROLE_FOUNDER, person=person.name)
    hub.identities.CreateIdentity(idpb.CreateIdentityRequest(identity=invited), metadata=hub.admin)
    signs_in_with_a_code(page, hub, FOUNDER_EMAIL)
    page.wait_for_url(f"{hub.url}/{company}")
    nav = page.get_by_role("navigation", name="주 메뉴")
    nav.get_by_role("link", name="투자사 정보 공개").click()
    page.wait_for_url(f"{hub.url}/{company}/sharing")
    assert page.locator("h1").inner_text().startswith("투자사 정보 공개")
    assert nav.get_by_role("link", name="투자사 정보 공개").get_attribute("aria-current") == "page"
    granted = page.locator(f"article.grant[data-firm='{hanbit.name}']")
    assert granted.locator("h3").inner_text() == "한빛벤처스", "the firm by its name, which founders cannot look up"
    for label in ("이름 (한글·영문)", "프로필 (분야·단계·태그)", "웹사이트"):
        assert granted.get_by_label(label).is_checked()
    log = page.locator("table.reads tbody tr")
    assert log.count() == 1 and "한빛벤처스" in log.first.inner_text() and "소개 열람" in log.first.inner_text()
    assert "프로필 (분야·단계·태그)" in log.first.inner_text()
    accessible(page)
    shot(page, "people-01-sharing")

    # A firm granted one group, then another added.
    offer = page.locator("form[action$='/sharing'][method='post']")
    offer.locator("#new-firm").select_option(label="세움헬스케어벤처스")
    offer.get_by_label("이름 (한글·영문)").check()
    offer.get_by_role("button", name="공개", exact=True).click()
    assert "공개했습니다" in flash(page)
    made = grants_of(hub, company)[seum.name]
    assert list(made.field_groups) == [ipb.FIELD_GROUP_NAMES] and made.actor.startswith("founder:")
    card = page.locator(f"article.grant[data-firm='{seum.name}']")
    card.get_by_label("프로필 (분야·단계·태그)").check()
    card.get_by_role("button", name="공개 범위 저장").click()
    assert "변경했습니다" in flash(page)
    assert list(grants_of(hub, company)[seum.name].field_groups) == [ipb.FIELD_GROUP_NAMES, ipb.FIELD_GROUP_PROFILE]
    accessible(page)
    shot(page, "people-02-granted")

    # Nothing chosen: the service refuses, and the page says why in words.
    for label in ("이름 (한글·영문)", "프로필 (분야·단계·태그)"):
        card.get_by_label(label).uncheck()
    card.get_by_role("button", name="공개 범위 저장").click()
    assert "공개할 정보를 하나 이상 고르세요" in flash(page) and "field_groups" not in flash(page)
    assert page.locator(".flash").get_attribute("role") == "alert"
    assert len(grants_of(hub, company)[seum.name].field_groups) == 2
    shot(page, "people-03-refused")

    card.get_by_role("button", name="세움헬스케어벤처스에 공개 중단").click()
    assert "공개를 중단했습니다" in flash(page)
    assert grants_of(hub, company)[seum.name].revoke_time.seconds
    assert "세움헬스케어벤처스" in page.locator("ul.stopped").inner_text()
    assert page.locator("#new-firm option", has_text="세움헬스케어벤처스").count() == 1, "it may be granted again"

    # 한빛벤처스 narrowed to names: its partner's next read shows no profile, and the log says so.
    granted.get_by_label("프로필 (분야·단계·태그)").uncheck()
    granted.get_by_label("웹사이트").uncheck()
    granted.get_by_role("button", name="공개 범위 저장").click()
    assert "변경했습니다" in flash(page)
    again = partner.GetIntroduction(ptb.PartnerServiceGetIntroductionRequest(name=intro.name),
                                    metadata=partner_key(hub))  # fmt: skip
    assert again.company.korean_name == "메디비전" and again.company.sector == ""
    page.locator("#log-firm").select_option(label="한빛벤처스")
    page.get_by_role("button", name="보기").click()
    assert page.url.endswith(f"/sharing?firm={hanbit.name.replace('/', '%2F')}")
    assert log.count() == 2
    newest, oldest = log.nth(0).locator("td").nth(4).inner_text(), log.nth(1).locator("td").nth(4).inner_text()
    assert newest == "이름 (한글·영문)" and "프로필" in oldest
    assert page.locator("#log-firm").input_value() == hanbit.name
    accessible(page)
    shot(page, "people-04-access-log")

    # Their profile: read only (founders may read their company, not change it).
    nav.get_by_role("link", name="회사 정보").click()
    page.wait_for_url(f"{hub.url}/{company}/profile")
    assert page.locator("h1").inner_text().startswith("회사 정보")
    profile = page.locator("dl.profile").inner_text()
    assert "메디비전" in profile and "MediVision" in profile and "의료" in profile
    assert "김서연" in page.locator("ul.people").inner_text()
    assert page.locator("main form").count() == 0 and page.locator("main input").count() == 0
    accessible(page)
    shot(page, "people-05-profile")

    # A program manager acts on the same page for the company, with the reason the service keeps.
    page.get_by_role("button", name="로그아웃").click()
    sign_in_with_token(page, hub)
    page.goto(f"{hub.url}/{company}")
    page.get_by_role("link", name="공개 범위 변경과 열람 기록").click()
    offer.locator("#new-firm").select_option(label="세움헬스케어벤처스")
    offer.get_by_label("웹사이트").check()
    offer.get_by_label("회사를 대신해 처리하는 이유").fill("대표 요청 (전화)")
    offer.get_by_role("button", name="공개", exact=True).click()
    assert "공개했습니다" in flash(page)
    again_granted = grants_of(hub, company)[seum.name]
    assert again_granted.actor.startswith("admin:") and again_granted.on_behalf_of == company
    said = page.locator(f"article.grant[data-firm='{seum.name}'] .facts").inner_text()
    assert "프로그램 매니저가 변경 (사유: 대표 요청 (전화))" in said
    accessible(page)


def test_a_reviewer_sees_only_what_is_assigned_scores_and_is_refused_in_words_where_the_service_refuses(
    page: Page, hub: Hub
) -> None:
    program = hub.program
    reviewer = program.CreateReviewer(ppb.CreateReviewerRequest(reviewer=ppb.Reviewer(
        korean_name="박지훈", english_name="Jihoon Park", email=REVIEWER_EMAIL, affiliation="KAIST 전산학부",
    ), request_id="e2e-people-reviewer"), metadata=hub.admin)  # fmt: skip
    [selection] = program.ListRounds(ppb.ListRoundsRequest(), metadata=hub.admin).rounds  # the demo's open call
    seeded = program.ListApplications(ppb.ListApplicationsRequest(filter=f"round={selection.name}"),
                                      metadata=hub.admin).applications  # fmt: skip
    [scored, other] = seeded  # 비전검사 (a company) and 오지훈 (a person)
    made = []
    for number, text in ((4, "초등 코딩 교육용 AI 튜터"), (3, "학습 데이터 기반 맞춤형 문제 추천")):
        application = ppb.Application(
            round=selection.name, applicant=f"companies/{number}", seat_kind=ppb.SEAT_KIND_OPEN_DESK,
            answers=[ppb.Application.Answer(question="핵심 AI 기술은?", text=text)],
            attachment_urls=[f"https://example.kr/decks/e2e-{number}.pdf"],
        )  # fmt: skip
        made.append(program.CreateApplication(ppb.CreateApplicationRequest(application=application),
                                               metadata=hub.admin))  # fmt: skip
    conflicted, abstained = made
    mine = [scored.name, conflicted.name, abstained.name]
    program.AssignReviewer(ppb.AssignReviewerRequest(reviewer=reviewer.name, applications=mine), metadata=hub.admin)
    invited = idpb.Identity(role=idpb.IDENTITY_ROLE_REVIEWER, scope=reviewer.name)
    hub.identities.CreateIdentity(idpb.CreateIdentityRequest(identity=invited), metadata=hub.admin)

    signs_in_with_a_code(page, hub, REVIEWER_EMAIL)
    home = f"{hub.url}/{reviewer.name}"
    page.wait_for_url(home)
    assert page.locator("h1").inner_text().startswith("박지훈")
    assert page.get_by_role("link", name="내 평가").get_attribute("aria-current") == "page"
    rows = page.locator("table.reviews tbody tr")
    assert [rows.nth(i).get_attribute("data-application") for i in range(rows.count())] == mine
    assert other.name not in page.content()
    # Each applicant by its name, which the service gives with the application (a reviewer cannot look it up).
    assert selection.title in rows.first.inner_text() and "비전검사" in rows.first.inner_text()
    accessible(page)
    shot(page, "people-10-reviewer-home")

    # A score on every criterion of the round, under their own name.
    rows.first.get_by_role("link").click()
    page.wait_for_url(f"{hub.url}/{scored.name}")
    assert "비전 기반 불량 검출" in page.locator("section").filter(has_text="답변").first.inner_text()
    assert "비전검사" in page.locator("h1").inner_text()
    accessible(page)
    shot(page, "people-11-application")
    form = page.locator("form.score")
    form.get_by_label("기술성").fill("8")
    form.get_by_label("시장성").fill("7")
    form.get_by_label("팀 역량").fill("9")
    form.get_by_label("의견 (선택)").fill("불량 검출 정확도 근거가 충분함")
    form.get_by_role("button", name="점수 제출").click()
    assert "점수를 제출했습니다" in flash(page) and "8.00" in flash(page)
    assert page.locator(".badge").first.inner_text() == "평가 완료" and page.locator("form.score").count() == 0

    def states() -> dict[str, int]:
        asked = ppb.ListReviewAssignmentsRequest(filter=f"reviewer={reviewer.name}")
        return {a.application: a.state for a in program.ListReviewAssignments(asked, metadata=hub.admin).assignments}

    assert states()[scored.name] == ppb.REVIEW_STATE_SCORED
    ranking = program.RankApplications(ppb.RankApplicationsRequest(round=selection.name), metadata=hub.admin)
    [entry] = [e for e in ranking.entries if e.application == scored.name]
    assert entry.reviews == 3  # the demo's two reviewers and this one

    # A conflict declared in another tab while this one's score form is open: the score is refused, in words.
    page.goto(f"{hub.url}/{conflicted.name}")
    stale = page.locator("form.score")
    elsewhere = page.context.new_page()
    elsewhere.goto(f"{hub.url}/{conflicted.name}")
    elsewhere.get_by_text("이해충돌 신고", exact=True).click()
    elsewhere.get_by_label("사유 (선택)").fill("전 직장 동료가 대표")
    elsewhere.get_by_role("button", name="이해충돌 신고하기").click()
    assert "이해충돌을 신고했습니다" in elsewhere.locator(".flash").inner_text()
    assert elsewhere.locator(".badge").first.inner_text() == "이해충돌"
    elsewhere.close()
    for label, value in (("기술성", "9"), ("시장성", "9"), ("팀 역량", "9")):
        stale.get_by_label(label).fill(value)
    stale.get_by_role("button", name="점수 제출").click()
    assert flash(page) == "이 지원자와의 이해충돌이 신고되어 있어 점수를 줄 수 없습니다."
    assert states()[conflicted.name] == ppb.REVIEW_STATE_CONFLICTED
    accessible(page)
    shot(page, "people-12-conflict-refused")

    # Stepping back, with a reason.
    page.goto(f"{hub.url}/{abstained.name}")
    page.get_by_text("이 지원서 평가 기권", exact=True).click()
    page.get_by_label("기권하는 이유").fill("해당 분야 전문성 부족")
    page.get_by_role("button", name="기권하기").click()
    assert "평가를 기권했습니다" in flash(page)
    assert "해당 분야 전문성 부족" in page.locator("section").filter(has_text="내 평가").first.inner_text()
    assert states()[abstained.name] == ppb.REVIEW_STATE_ABSTAINED

    page.get_by_role("link", name="내 평가").first.click()
    page.wait_for_url(home)
    assert "평가를 기다리는 지원서가 없습니다" in page.locator("section").filter(has_text="평가할 지원서").inner_text()
    assert rows.count() == 3
    accessible(page)
    shot(page, "people-13-reviewed")

    # What is not assigned to them does not exist for them; neither does a company's page.
    answer = page.goto(f"{hub.url}/{other.name}")
    assert answer is not None and answer.status == 404 and "없는 페이지" in page.locator("h1").inner_text()
    assert "오지훈" not in page.content()
    answer = page.goto(f"{hub.url}/companies/1")
    assert answer is not None and answer.status == 403
