"""The companies list in a real browser, against the whole hub as `make run` starts it (the fixtures and helpers of
test_console.py): a program manager signed in with a mailed code filters the list by status, sector, stage and
tag and saves it as a view; another program manager, on a fresh page, sees the view with who saved it, opens it
with one click and finds the filters applied, is refused in words when saving another view under the same title,
and deletes it, which the first one's open page shows without a reload; a cohort (the companies selected in a
round) filtered and saved. Checked over gRPC. Screenshots land in
var/screenshots/console/companies-*.png."""

from __future__ import annotations

from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as ppb
from hub.ops.v1 import identities_pb2 as idpb
from playwright.sync_api import Browser, Page, expect

from tests.e2e import test_console
from tests.e2e.test_console import Hub, accessible, shot, sign_in_with_token

# test_console.py's fixtures, which pytest finds here under their names: a hub of this module's own (the fixture
# is module-scoped), the browser, and a page checked for script errors and CSP violations.
browser, hub, page = test_console.browser, test_console.hub, test_console.page
pytestmark = test_console.pytestmark

TITLE = "입주 AI 헬스케어"


def sign_in_as_manager(page: Page, hub: Hub, email: str, name: str) -> None:
    """A program manager invited over gRPC signs in with the code mailed to them."""
    wanted = idpb.Identity(role=idpb.IDENTITY_ROLE_ADMIN, email=email, display_name=name)
    hub.identities.CreateIdentity(idpb.CreateIdentityRequest(identity=wanted), metadata=hub.admin)
    hub.codes_mailed_to(email, 1)  # the invitation's; asking again voids it
    page.goto(hub.url + "/sign-in")
    page.get_by_label("이메일 주소").fill(email)
    page.get_by_role("button", name="코드 받기").click()
    page.get_by_label("로그인 코드").fill(hub.codes_mailed_to(email, 2)[-1])
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(hub.url + "/")


def names_listed(page: Page) -> list[str]:
    return [row.locator("td a").first.inner_text() for row in page.locator("table.list tbody tr").all()
            if row.locator("td a").count()]  # fmt: skip


def views(hub: Hub) -> list[cpb.SavedView]:
    asked = cpb.ListSavedViewsRequest(filter="list=companies")
    return list(hub.companies.ListSavedViews(asked, metadata=hub.admin).saved_views)


def test_a_program_manager_saves_a_view_another_opens_it_is_refused_a_duplicate_and_deletes_it(
    page: Page, hub: Hub, browser: Browser
) -> None:
    sign_in_as_manager(page, hub, "minji@hub.kaist.ac.kr", "김민지")
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="기업").click()
    assert page.locator("h1").inner_text() == "기업"
    assert "저장된 보기가 아직 없습니다" in page.locator("section.saved-views").inner_text()
    search = page.get_by_role("search")
    search.get_by_label("상태").select_option("RESIDENT")
    search.get_by_label("분야").select_option("MEDICAL")
    search.get_by_role("button", name="검색").click()
    assert sorted(names_listed(page)) == ["닥터노트", "메디비전"]
    search = page.get_by_role("search")
    cohorts = search.get_by_label("기수(선발된 모집)").locator("option").all_inner_texts()
    assert any("입주기업 모집" in c for c in cohorts), cohorts  # the seed's selection round
    search.get_by_label("단계").select_option("SEED")
    search.get_by_label("태그(모두 포함").fill("Vision")
    search.get_by_role("button", name="검색").click()
    assert names_listed(page) == ["메디비전"]
    accessible(page)
    shot(page, "companies-01-filtered")

    page.get_by_label("이 검색과 필터를 다음 이름의 보기로 저장").fill(TITLE)
    page.get_by_role("button", name="보기 저장").click()
    assert "보기를 저장했습니다" in page.locator(".flash").inner_text()
    assert names_listed(page) == ["메디비전"], "the list stays as it was filtered"
    [saved] = views(hub)
    assert (saved.title, saved.creator_display_name) == (TITLE, "김민지")
    assert saved.query == "status=RESIDENT&sector=MEDICAL&stage=SEED&tag=vision"
    current = page.locator("section.saved-views li.current")
    assert TITLE in current.inner_text() and "김민지" in current.inner_text()
    shot(page, "companies-02-saved")

    # Another program manager, on a fresh page: the team's view, who saved it, opened with one click.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="ko-KR")
    other = context.new_page()
    try:
        sign_in_with_token(other, hub)
        other.goto(hub.url + "/companies")
        assert len(names_listed(other)) > 1
        view = other.locator("section.saved-views li.view").filter(has_text=TITLE)
        assert "김민지" in view.inner_text() and "입주" in view.inner_text() and "#vision" in view.inner_text()
        accessible(other)
        shot(other, "companies-03-views-on-a-fresh-page")
        view.get_by_role("link", name=TITLE).click()
        other.wait_for_url("**/companies?status=RESIDENT&sector=MEDICAL&stage=SEED&tag=vision")
        assert names_listed(other) == ["메디비전"]
        search = other.get_by_role("search")
        assert search.get_by_label("상태").input_value() == "RESIDENT"
        assert search.get_by_label("분야").input_value() == "MEDICAL"
        assert search.get_by_label("단계").input_value() == "SEED"
        assert search.get_by_label("태그(모두 포함").input_value() == "vision"
        assert other.locator("section.saved-views li.current a").inner_text() == TITLE
        shot(other, "companies-04-view-opened")

        # The same title again, for another search: refused in words, nothing saved.
        other.goto(hub.url + "/companies?status=SELECTED")
        other.get_by_label("이 검색과 필터를 다음 이름의 보기로 저장").fill(TITLE)
        other.get_by_role("button", name="보기 저장").click()
        flash = other.locator(".flash.error").inner_text()
        assert "같은 이름의 보기가 이미 있습니다" in flash, flash
        assert len(views(hub)) == 1
        accessible(other)
        shot(other, "companies-05-duplicate-title")

        # Deleted by the other program manager (the team shares them): gone here, and from the first page live.
        page.goto(hub.url + "/companies")  # every filter at "all": a page nobody is typing in
        expect(page.locator("section.saved-views li.view")).to_have_count(1)
        page.evaluate("window.stillHere = true")
        other.locator("section.saved-views li.view").filter(has_text=TITLE).get_by_role("button", name="삭제").click()
        assert "보기를 삭제했습니다" in other.locator(".flash").inner_text()
        assert other.locator("section.saved-views li.view").count() == 0
        assert views(hub) == []
        expect(page.locator("section.saved-views li.view")).to_have_count(0, timeout=15_000)
        assert page.evaluate("window.stillHere") is True
        shot(page, "companies-06-deleted-elsewhere")
    finally:
        context.close()


def test_a_cohort_lists_the_companies_selected_in_a_round(page: Page, hub: Hub) -> None:
    [call] = hub.program.ListRounds(ppb.ListRoundsRequest(), metadata=hub.admin).rounds
    [visioninspect] = hub.companies.ListCompanies(
        cpb.ListCompaniesRequest(query="비전검사"), metadata=hub.admin
    ).companies
    asked = ppb.ListApplicationsRequest(filter=f"applicant={visioninspect.name}")
    [application] = hub.program.ListApplications(asked, metadata=hub.admin).applications
    decided = ppb.DecideApplicationRequest(name=application.name, decision=ppb.APPLICATION_STATE_SELECTED, reason="1위")
    hub.program.DecideApplication(decided, metadata=hub.admin)
    sign_in_with_token(page, hub)
    page.goto(hub.url + "/companies")
    page.get_by_role("search").get_by_label("기수(선발된 모집)").select_option(call.name)
    page.get_by_role("search").get_by_role("button", name="검색").click()
    assert names_listed(page) == ["비전검사"]
    page.get_by_label("이 검색과 필터를 다음 이름의 보기로 저장").fill("올해 선발 기업")
    page.get_by_role("button", name="보기 저장").click()
    view = page.locator("section.saved-views li.current")
    assert "올해 선발 기업" in view.inner_text() and f"{call.title} 선발" in view.inner_text()
    accessible(page)
    shot(page, "companies-07-cohort")
