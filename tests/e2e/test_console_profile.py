"""A company registered and its profile changed in the console's form, in a real browser against the whole hub as
`make run` starts it: a wrong website is refused in Korean words with what was typed kept; the company, once
registered, is one company however often the form is sent; a change sends only the fields that differ; a change
someone else made meanwhile is refused, not overwritten. Screenshots land in var/screenshots/console/profile-*.png."""

from __future__ import annotations

from google.protobuf import field_mask_pb2
from hub.companies.v1 import companies_pb2 as cpb
from playwright.sync_api import Page

from tests.e2e.test_console import Hub, accessible, browser, hub, page, pytestmark, shot, sign_in_with_token

__all__ = ["browser", "hub", "page", "pytestmark"]  # fixtures and the skip, used by pytest through their names


def named(hub: Hub, korean: str) -> list[cpb.Company]:
    found = hub.companies.ListCompanies(cpb.ListCompaniesRequest(query=korean), metadata=hub.admin).companies
    return [c for c in found if c.korean_name == korean]


def test_a_company_is_registered_in_a_form_and_its_profile_changed_without_overwriting_anyone(
    page: Page, hub: Hub
) -> None:
    sign_in_with_token(page, hub)
    page.get_by_role("navigation", name="주 메뉴").get_by_role("link", name="기업").click()
    page.get_by_role("link", name="기업 등록").click()
    assert page.locator("h1").inner_text() == "기업 등록"
    page.get_by_label("한글 이름").fill("바른로봇")
    page.get_by_label("영문 이름 (선택)").fill("Bareun Robotics")
    page.get_by_label("분야").select_option("ROBOTICS")
    page.get_by_label("투자 단계 (선택)").select_option("SEED")
    page.get_by_label("태그, 쉼표로 구분 (선택)").fill("협동로봇, Vision")
    page.get_by_label("웹사이트 (선택)").fill("ftp://bareun.example")
    accessible(page)
    page.get_by_role("button", name="등록", exact=True).click()
    problems = page.locator(".flash.error").inner_text()
    assert "저장하지 않았습니다" in problems and "웹사이트" in problems and "https://로 시작하는 웹 주소" in problems
    assert page.get_by_label("영문 이름 (선택)").input_value() == "Bareun Robotics", "what was typed is kept"
    assert named(hub, "바른로봇") == []
    shot(page, "profile-01-refused")

    page.get_by_label("웹사이트 (선택)").fill("https://bareun.example")
    sent: dict[str, str | float | bool] = {
        f: page.locator(f"main form input[name={f}]").input_value() for f in ("csrf", "request_id")
    }
    page.get_by_role("button", name="등록", exact=True).click()
    assert "기업을 등록했습니다" in page.locator(".flash").inner_text()
    assert page.locator("h1").inner_text().startswith("바른로봇")
    [made] = named(hub, "바른로봇")
    assert (made.sector, made.stage, list(made.tags), made.website) == (
        cpb.SECTOR_ROBOTICS, cpb.STAGE_SEED, ["협동로봇", "vision"], "https://bareun.example"
    )  # fmt: skip
    # The same form sent again (a second press): the same company, not a second one.
    again = page.request.post(f"{hub.url}/companies/new", form=sent | {
        "korean_name": "바른로봇", "english_name": "Bareun Robotics", "sector": "ROBOTICS", "stage": "SEED",
        "tags": "협동로봇, Vision", "website": "https://bareun.example"})  # fmt: skip
    assert again.ok and len(named(hub, "바른로봇")) == 1

    # A change: only the fields that differ are sent.
    page.get_by_role("link", name="기업 정보 수정").click()
    assert page.get_by_label("한글 이름").input_value() == "바른로봇"
    page.get_by_label("투자 단계 (선택)").select_option("PRE_A")
    page.get_by_label("소개 (선택)").fill("물류센터용 협동로봇 비전 모듈")
    accessible(page)
    shot(page, "profile-02-edit")
    page.get_by_role("button", name="기업 정보 저장").click()
    assert "기업 정보를 저장했습니다" in page.locator(".flash").inner_text()
    [changed] = named(hub, "바른로봇")
    assert (changed.stage, changed.description, changed.website) == (
        cpb.STAGE_PRE_A, "물류센터용 협동로봇 비전 모듈", "https://bareun.example"
    )  # fmt: skip

    # Someone changes the website while the form is open: the form's change is refused, theirs stays.
    page.get_by_role("link", name="기업 정보 수정").click()
    page.get_by_label("영문 이름 (선택)").fill("Bareun Robotics Inc.")
    theirs = cpb.Company(name=changed.name, website="https://bareun.kr", etag=changed.etag)
    hub.companies.UpdateCompany(cpb.UpdateCompanyRequest(company=theirs, update_mask=field_mask_pb2.FieldMask(
        paths=["website"])), metadata=hub.admin)  # fmt: skip
    page.get_by_role("button", name="기업 정보 저장").click()
    assert "그사이 다른 사람이 변경했습니다" in page.locator(".flash.error").inner_text()
    assert page.get_by_label("영문 이름 (선택)").input_value() == "Bareun Robotics Inc."
    [kept] = named(hub, "바른로봇")
    assert (kept.english_name, kept.website) == ("Bareun Robotics", "https://bareun.kr")
    shot(page, "profile-03-changed-meanwhile")
