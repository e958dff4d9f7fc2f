"""Import and export in a real browser, against the whole hub as `make run` starts it (the fixtures and helpers of
test_console.py): a program manager uploads a CP949 file with Korean headers and values, sees each row's outcome
(a new company, the changes of one of the seed's, one unchanged, bad rows refused with why in Korean), applies it
and finds it done over gRPC; the same file again changes nothing. A people file in UTF-8 with a BOM: a row that
someone changed between preview and apply is refused, not overwritten. Exports start with the UTF-8 BOM, hold
the Hangul names and quote a cell a spreadsheet would run. Screenshots land in var/screenshots/console/import-*.png."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from google.protobuf import field_mask_pb2
from hub.companies.v1 import companies_pb2 as cpb
from playwright.sync_api import FilePayload, Page

from tests.e2e import test_console
from tests.e2e.test_console import Hub, accessible, shot, sign_in_with_token

# test_console.py's fixtures, which pytest finds here under their names: a hub of this module's own (the fixture
# is module-scoped), the browser, and a page checked for script errors and CSP violations.
browser, hub, page = test_console.browser, test_console.hub, test_console.page
pytestmark = test_console.pytestmark

BOM = b"\xef\xbb\xbf"


def sheet(rows: list[list[str]], encoding: str) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def company(hub: Hub, korean: str) -> cpb.Company | None:
    found = hub.companies.ListCompanies(cpb.ListCompaniesRequest(query=korean), metadata=hub.admin).companies
    return next((c for c in found if c.korean_name == korean), None)


def person(hub: Hub, email: str) -> cpb.Person | None:
    found = hub.companies.ListPeople(cpb.ListPeopleRequest(query=email), metadata=hub.admin).people
    return next((p for p in found if p.email == email), None)


def upload(page: Page, hub: Hub, kind: str, name: str, data: bytes) -> None:
    page.goto(hub.url + "/import")
    page.get_by_label("파일 내용").select_option(kind)
    page.get_by_label("CSV 파일").set_input_files(FilePayload(name=name, mimeType="text/csv", buffer=data))
    page.get_by_role("button", name="미리 보기").click()
    page.wait_for_selector("table.outcomes")


def outcome(page: Page, line: int) -> tuple[str, str]:
    """A row of the outcome table: its outcome and its text."""
    row = page.locator(f"table.outcomes tr[data-line='{line}']")
    return str(row.get_attribute("data-outcome")), row.inner_text()


def download(page: Page, link: str) -> bytes:
    with page.expect_download() as started:
        page.get_by_role("link", name=link).click()
    return Path(started.value.path()).read_bytes()


def test_a_cp949_sheet_is_previewed_applied_and_applied_again_without_change_then_exported(
    page: Page, hub: Hub
) -> None:
    edumind = company(hub, "에듀마인드")
    assert edumind is not None and company(hub, "한빛로보틱스") is None
    data = sheet([
        ["기업명", "영문명", "분야", "단계", "태그", "홈페이지", "비고"],
        ["한빛로보틱스", "Hanbit Robotics", "로보틱스", "시드", "협동로봇;Vision", "https://hanbit.example", "신규"],
        ["메디비전", "MediVision Inc.", "의료", "", "의료영상;vision", "", ""],
        ["에듀마인드", "EduMind", "교육", "시드", "에듀테크;tutoring", "", ""],
        ["우주항공", "", "우주", "", "", "", ""],
        ["웹사이트오류", "", "의료", "", "", "ftp://x", ""],
    ], "cp949")  # fmt: skip
    sign_in_with_token(page, hub)
    page.get_by_role("link", name="가져오기").click()
    assert page.locator("h1").inner_text() == "가져오기"
    accessible(page)
    shot(page, "import-01-upload")

    upload(page, hub, "companies", "입주기업.csv", data)
    assert outcome(page, 2)[0] == "create" and "신규" in outcome(page, 2)[1]
    changed = outcome(page, 3)
    assert changed[0] == "update" and "영문 이름" in changed[1] and "MediVision Inc." in changed[1], changed
    assert outcome(page, 4)[0] == "unchanged" and "변경 없음" in outcome(page, 4)[1]
    unknown = outcome(page, 5)
    assert unknown[0] == "rejected" and "'우주'은(는) 알 수 없는 값입니다" in unknown[1] and "로보틱스" in unknown[1]
    website = outcome(page, 6)
    assert website[0] == "rejected" and "웹사이트" in website[1] and "https://로 시작하는 웹 주소" in website[1]
    assert "읽지 않은 열: 비고" in page.locator("main").inner_text()
    assert company(hub, "한빛로보틱스") is None, "a preview writes nothing"
    accessible(page)
    shot(page, "import-02-preview")

    page.get_by_role("button", name="적용: 2행 쓰기").click()
    page.wait_for_selector("p.processed")
    assert page.locator("p.processed").inner_text() == "전체 5행 중 5행을 처리했습니다."
    assert outcome(page, 2)[0] == "created" and outcome(page, 3)[0] == "updated"
    assert outcome(page, 5)[0] == outcome(page, 6)[0] == "rejected"
    accessible(page)
    shot(page, "import-03-applied")
    made = company(hub, "한빛로보틱스")
    assert made is not None
    assert (made.english_name, made.sector, made.stage, list(made.tags), made.website) == (
        "Hanbit Robotics", cpb.SECTOR_ROBOTICS, cpb.STAGE_SEED, ["협동로봇", "vision"], "https://hanbit.example",
    )  # fmt: skip
    medivision = company(hub, "메디비전")
    assert medivision is not None and medivision.english_name == "MediVision Inc."
    again = company(hub, "에듀마인드")
    assert again is not None and again.etag == edumind.etag, "the unchanged row was not written"

    def etags() -> dict[str, str]:
        return {name: c.etag for name in ("한빛로보틱스", "메디비전", "에듀마인드") if (c := company(hub, name))}

    before = etags()
    upload(page, hub, "companies", "입주기업.csv", data)
    assert [outcome(page, n)[0] for n in range(2, 7)] == ["unchanged"] * 3 + ["rejected"] * 2
    assert "쓸 것이 없습니다" in page.locator("main").inner_text()
    assert page.get_by_role("button", name="적용", exact=False).count() == 0
    assert etags() == before
    accessible(page)
    shot(page, "import-04-again")

    page.get_by_role("link", name="내보내기").first.click()
    assert page.locator("h1").inner_text() == "내보내기"
    accessible(page)
    shot(page, "import-05-export")
    exported = download(page, "기업 내려받기 (CSV)")
    assert exported.startswith(BOM), exported[:10]
    text = exported.decode("utf-8-sig")
    assert "한빛로보틱스" in text and "메디비전" in text and "MediVision Inc." in text
    rows = list(csv.DictReader(io.StringIO(text)))
    assert {r["korean_name"]: r["sector"] for r in rows}["한빛로보틱스"] == "robotics"


def test_a_people_sheet_with_a_bom_refuses_a_row_changed_since_its_preview(page: Page, hub: Hub) -> None:
    data = sheet([
        ["성명", "영문이름", "소속", "구분", "직책", "이메일", "연락처"],
        ["김서연", "Seoyeon Kim", "메디비전", "창업자", "CTO 겸 대표", "seoyeon@medivision.kr", ""],
        ["강하늘", "Haneul Kang", "닥터노트", "직원", "엔지니어", "haneul@doctornote.kr", "+821055556666"],
        ["박지민", "", "에듀마인드", "직원", "", "jimin2@edumind.kr", "010-1234-5678"],
        ["최유나", "", "없는기업", "직원", "", "yuna@x.kr", ""],
    ], "utf-8-sig")  # fmt: skip
    sign_in_with_token(page, hub)
    upload(page, hub, "people", "구성원.csv", data)
    assert outcome(page, 2)[0] == "update" and "CTO 겸 대표" in outcome(page, 2)[1]
    assert outcome(page, 3)[0] == "create"
    phone = outcome(page, 4)
    assert phone[0] == "rejected" and "전화번호" in phone[1] and "국가 번호로 시작하는 전화번호" in phone[1]
    assert "'없는기업'은(는) 등록된 기업이 아닙니다" in outcome(page, 5)[1]
    accessible(page)
    shot(page, "import-06-people-preview")

    # Someone else changes 김서연 while the preview is open: the apply refuses that row rather than overwrite it.
    seoyeon = person(hub, "seoyeon@medivision.kr")
    assert seoyeon is not None
    seoyeon.title = "대표이사 (CEO)"
    mask = field_mask_pb2.FieldMask(paths=["title"])
    hub.companies.UpdatePerson(cpb.UpdatePersonRequest(person=seoyeon, update_mask=mask), metadata=hub.admin)
    page.get_by_role("button", name="적용: 2행 쓰기").click()
    page.wait_for_selector("p.processed")
    stale = outcome(page, 2)
    assert stale[0] == "rejected" and "미리 본 뒤에 누군가 바꿨습니다" in stale[1], stale
    assert outcome(page, 3)[0] == "created"
    accessible(page)
    shot(page, "import-07-people-applied")
    kept = person(hub, "seoyeon@medivision.kr")
    assert kept is not None and kept.title == "대표이사 (CEO)"
    haneul = person(hub, "haneul@doctornote.kr")
    doctornote = company(hub, "닥터노트")
    assert haneul is not None and doctornote is not None
    assert (haneul.company, haneul.role, haneul.phone) == (doctornote.name, cpb.PERSON_ROLE_STAFF, "+821055556666")

    page.goto(hub.url + "/export")
    exported = download(page, "구성원 내려받기 (CSV)")
    assert exported.startswith(BOM)
    [row] = [r for r in csv.DictReader(io.StringIO(exported.decode("utf-8-sig"))) if r["korean_name"] == "강하늘"]
    assert (row["role"], row["phone"], row["company"]) == ("staff", "'+821055556666", doctornote.name)


def test_a_big_file_is_applied_in_one_go_and_the_page_says_how_many_rows_it_processed(page: Page, hub: Hub) -> None:
    rows = [["기업명", "영문명", "분야", "태그"]]
    rows += [[f"새싹{n:03d}", f"Sprout {n}", "교육", "ai;edu"] for n in range(300)]
    rows[150][2] = "우주"
    sign_in_with_token(page, hub)
    upload(page, hub, "companies", "새싹기업.csv", sheet(rows, "cp949"))
    assert "299행을 쓰는 중" in str(page.locator("#applying").text_content()), "the note shown while it writes"
    page.get_by_role("button", name="적용: 299행 쓰기").click()
    page.wait_for_selector("p.processed")
    assert page.locator("p.processed").inner_text() == "전체 300행 중 300행을 처리했습니다."
    assert page.locator("ul.summary").inner_text().split() == ["등록함", "299", "거부", "1"]
    listed = hub.companies.ListCompanies(cpb.ListCompaniesRequest(query="새싹", page_size=500), metadata=hub.admin)
    assert len(listed.companies) == 299
