"""hubcore.sheets without a hub: Korean headers and values read, each row planned (create, update with what
changes, unchanged, rejected with why in parts a page can word), request ids that repeat, safe export cells."""

from __future__ import annotations

import pytest
from hub.companies.v1 import companies_pb2 as cpb

from hubcore import sheets

MEDIVISION = cpb.Company(
    name="companies/1", etag="3", korean_name="메디비전", english_name="MediVision", sector=cpb.SECTOR_MEDICAL,
    stage=cpb.STAGE_SEED, tags=["의료영상", "vision"],
)  # fmt: skip


def test_korean_headers_and_values_are_read_and_unknown_columns_named() -> None:
    text = "기업명 (국문),영문명,분야,단계,태그,비고\r\n메디비전,MediVision,의료,시리즈 A,의료영상;Vision,1층\r\n"
    sheet = sheets.read_sheet(text, "companies")
    assert sheet.columns == {"기업명 (국문)": "korean_name", "영문명": "english_name", "분야": "sector",
                             "단계": "stage", "태그": "tags"}  # fmt: skip
    assert sheet.ignored == ["비고"] and not sheet.with_founders
    [step] = sheets.plan_companies(sheet.rows, [MEDIVISION])
    assert step.action == sheets.UPDATE and step.changes == [("stage", "SEED", "SERIES_A")]
    assert isinstance(step.request, cpb.UpdateCompanyRequest) and list(step.request.update_mask.paths) == ["stage"]


def test_a_sheet_without_a_name_column_or_with_two_is_refused_as_a_whole() -> None:
    with pytest.raises(sheets.SheetError) as none:
        sheets.read_sheet("분야,비고\r\n의료,x\r\n", "companies")
    assert none.value.what == "no_name" and none.value.headers == ["분야", "비고"]
    with pytest.raises(sheets.SheetError) as twins:
        sheets.read_sheet("기업명,회사명\r\n가,나\r\n", "companies")
    assert (twins.value.what, twins.value.headers, twins.value.field) == ("twins", ["기업명", "회사명"], "korean_name")


def test_each_row_is_planned_and_a_known_one_as_the_hub_has_it_is_unchanged() -> None:
    rows = [
        {"korean_name": "메디비전", "english_name": "MediVision", "sector": "medical", "tags": "의료영상;Vision"},
        {"korean_name": "새싹AI", "sector": "교육", "founder": "박지민", "email": "Jimin@Sprout.kr"},
        {"korean_name": "새싹AI", "sector": "education"},
        {"korean_name": "우주기업", "sector": "space"},
        {"korean_name": "날짜기업", "sector": "medical", "founded_on": "2024-13-01"},
        {"korean_name": "긴영문", "english_name": "E" * 101, "sector": "medical"},
        {"korean_name": "", "sector": "medical"},
    ]
    steps = sheets.plan_companies(rows, [MEDIVISION], [])
    assert [(s.line, s.action) for s in steps] == [
        (2, "unchanged"), (3, "create"), (4, "rejected"), (5, "rejected"), (6, "rejected"), (7, "rejected"),
        (8, "rejected"),
    ]  # fmt: skip
    new = steps[1]
    assert new.founder is not None and new.founder.email == "jimin@sprout.kr" and new.detail.startswith("+ founder")
    founder = sheets.founder_request(new.founder, "companies/9")
    assert founder.request_id == sheets.founder_request(new.founder, "companies/9").request_id
    assert isinstance(new.request, cpb.CreateCompanyRequest)
    assert new.request.request_id == sheets.import_request_id("company", "새싹ai")
    reasons = [(s.reason.what, s.reason.field, s.reason.value) for s in steps[2:] if s.reason]
    assert reasons == [
        ("twice", "korean_name", "새싹AI"), ("unknown", "sector", "space"), ("not_a_date", "founded_on", "2024-13-01"),
        ("invalid", "", ""), ("empty", "korean_name", ""),
    ]  # fmt: skip
    assert steps[3].detail == "unknown sector 'space'"  # hubctl's words, as before
    assert steps[5].reason is not None and steps[5].reason.violations[0][0] == "company.english_name"


def test_people_are_keyed_by_email_and_their_company_by_its_korean_name() -> None:
    known = cpb.Person(name="people/1", etag="1", korean_name="김서연", email="kim@medi.kr",
                       role=cpb.PERSON_ROLE_FOUNDER, company="companies/1", title="대표")  # fmt: skip
    rows = [
        {"korean_name": "김서연", "company": "메디비전", "role": "창업자", "title": "CEO", "email": "KIM@medi.kr"},
        {"korean_name": "박지민", "company": "없는회사", "role": "staff", "email": "park@x.kr"},
        {"korean_name": "최하랑", "role": "개인", "email": "choi@x.kr", "phone": "010-1234"},
        {"korean_name": "정민수", "company": "1", "role": "직원", "email": "minsu@medi.kr"},
    ]
    steps = sheets.plan_people(rows, [MEDIVISION], [known])
    assert [(s.key, s.action) for s in steps] == [("kim@medi.kr", "update"), ("park@x.kr", "rejected"),
                                                  ("choi@x.kr", "rejected"), ("minsu@medi.kr", "create")]  # fmt: skip
    assert steps[0].changes == [("title", "대표", "CEO")]
    assert steps[1].reason is not None and steps[1].reason.what == "unknown_company"
    assert steps[2].reason is not None and steps[2].reason.violations[0][0] == "person.phone"
    assert isinstance(steps[3].request, cpb.CreatePersonRequest) and steps[3].request.person.company == "companies/1"


def test_exports_are_the_columns_an_import_reads_with_formulas_made_text() -> None:
    hostile = cpb.Company(name="companies/2", korean_name="=HYPERLINK(1)", sector=cpb.SECTOR_MEDICAL, tags=["a", "b"])
    row = sheets.company_row(hostile)
    assert (row["sector"], row["tags"], row["founded_on"]) == ("medical", "a;b", "")
    assert sheets.csv_line(sheets.COMPANY_EXPORT, row) == "companies/2,,'=HYPERLINK(1),,medical,,a;b,,,\r\n"
    person = cpb.Person(name="people/1", korean_name="김서연", role=cpb.PERSON_ROLE_STAFF, phone="+821012345678")
    assert sheets.person_row(person)["role"] == "staff"
    assert sheets.csv_line(sheets.PERSON_EXPORT, sheets.person_row(person)).endswith(",'+821012345678\r\n")
    text = sheets.csv_line(sheets.COMPANY_EXPORT, dict(zip(sheets.COMPANY_EXPORT, sheets.COMPANY_EXPORT, strict=True)))
    back = sheets.read_sheet(text + sheets.csv_line(sheets.COMPANY_EXPORT, row), "companies")
    assert back.rows[0]["korean_name"] == "=HYPERLINK(1)" and back.ignored == ["name", "status"]
