"""Who is the same person in a program's registrations (services/consulting/domain/people.py), how a sheet's
encoding is told (hubcore.text.decode_spreadsheet) and how an attendance cell is read (hubctl)."""

from __future__ import annotations

import unicodedata

import pytest

from hubcore.sheets import read_sheet
from hubcore.text import decode_spreadsheet
from hubctl.registrations import attendance_mark
from services.consulting.domain import SAME, SUSPECT, People, Who, name_key, phone_key
from services.consulting.domain.people import match

SHEET = (
    "이름,이메일,전화,소속,참석\n김서연,seoyeon@medivision.kr,010-1234-5678,메디비전,O\n"
    "이준호,,010 2222 3333,누리로봇,X\n"
)


# Encodings


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp949", "euc-kr"])
def test_a_sheet_is_read_whatever_korean_excel_saved_it_as(encoding: str) -> None:
    raw = SHEET.encode(encoding)
    text = decode_spreadsheet(raw)
    assert text == SHEET  # the BOM dropped, CP949 and EUC-KR read as CP949
    sheet = read_sheet(text, "registrations")
    assert sheet.columns == {"이름": "korean_name", "이메일": "email", "전화": "phone", "소속": "company",
                             "참석": "attended"}  # fmt: skip
    assert sheet.rows[0]["korean_name"] == "김서연" and sheet.rows[1]["phone"] == "010 2222 3333"


def test_cp949_hangul_is_never_taken_for_utf8() -> None:
    """Every Hangul syllable CP949 encodes (the 2,350 of KS X 1001 and the rest) fails as UTF-8."""
    syllables = "".join(chr(c) for c in range(0xAC00, 0xD7A4))
    assert decode_spreadsheet(("이름\n" + syllables).encode("cp949")) == "이름\n" + syllables


def test_an_encoding_given_wins_and_an_unreadable_file_is_none() -> None:
    raw = SHEET.encode("cp949")
    assert decode_spreadsheet(raw, "euc-kr") == SHEET
    assert decode_spreadsheet(raw, "utf-8") is None  # forced and wrong: refused, not mangled
    assert decode_spreadsheet(b"\xff\xfe\x00\xd8\x80") is None  # neither UTF-8 nor CP949
    assert decode_spreadsheet(SHEET.encode(), "no-such-codec") is None


def test_english_headers_and_the_hubs_synonyms() -> None:
    sheet = read_sheet("Name,E-mail,Mobile,Company,Attendance\nKim,k@x.kr,010,ACME,Y\n", "registrations")
    assert set(sheet.columns.values()) == {"korean_name", "email", "phone", "company", "attended"}
    sheet = read_sheet("성명,메일,휴대폰 번호,소속 기관\n김,a@b.kr,010,KAIST\n", "registrations")
    assert set(sheet.columns.values()) == {"korean_name", "email", "phone", "company"}


@pytest.mark.parametrize(
    ("cell", "came"),
    [("O", True), ("○", True), ("y", True), ("참석", True), (" 출석 ", True),
     ("X", False), ("불참", False), ("n", False), ("", None), ("  ", None)],
)  # fmt: skip
def test_attendance_cells(cell: str, came: bool | None) -> None:
    assert attendance_mark(cell) is came


def test_an_unknown_attendance_cell_is_an_error() -> None:
    with pytest.raises(ValueError):
        attendance_mark("늦음")


# The rule


def test_names_compare_without_spaces_case_or_composition() -> None:
    decomposed = unicodedata.normalize("NFD", "김서연")
    assert len(decomposed) == 8  # jamo (ㄱㅣㅁ ㅅㅓ ㅇㅕㄴ), as macOS writes them
    assert name_key("김 서연") == name_key(" 김서연 ") == name_key(decomposed) == name_key("김　서 연") == "김서연"
    assert name_key("Kim Seoyeon") == name_key("kim  SEOYEON")
    assert name_key("김서연") != name_key("김서윤")


@pytest.mark.parametrize(
    "written", ["010-1234-5678", "01012345678", "010 1234 5678", "(010) 1234-5678", "+82 10-1234-5678",
                "+82-10-1234-5678", "+82 (0)10 1234 5678", "82-10-1234-5678", "０１０-１２３４-５６７８"],
)  # fmt: skip
def test_phone_formats_are_one_number(written: str) -> None:
    assert phone_key(written) == "01012345678"


def test_other_phones_stay_other() -> None:
    assert phone_key("02-880-1234") == "028801234"  # a Seoul landline: its leading 0 kept
    assert phone_key("010-1234-5679") != phone_key("010-1234-5678")
    assert phone_key("") == phone_key("없음") == ""


KIM = Who("김서연", "seoyeon@medivision.kr", "010-1234-5678", "companies/1")


@pytest.mark.parametrize(
    ("other", "verdict"),
    [
        (Who("Seoyeon Kim", "SeoYeon@MediVision.KR"), SAME),  # the email decides, whatever the name
        (Who("김 서연", "", "+82 10 1234 5678"), SAME),  # name and phone, no email on one side
        (Who("김서연", "", "", "companies/1"), SUSPECT),  # same name and company, an email on one side only
        (Who("김서연", "kim@gmail.com", "01012345678"), SUSPECT),  # same name and phone, another email
        (Who("김서연", "kim@gmail.com", "", "companies/1"), None),  # a namesake at the company with another email
        (Who("김서연", "", "010-9999-0000", "companies/2"), None),  # a namesake elsewhere
        (Who("김서윤", "", "010-1234-5678"), None),  # another name at the same phone (a shared office line)
    ],
)
def test_who_is_the_same_person(other: Who, verdict: str | None) -> None:
    found = match(other, KIM)
    assert (found.verdict if found else None) == verdict
    back = match(KIM, other)  # the rule is symmetric
    assert (back.verdict if back else None) == verdict


def test_without_an_email_name_and_company_decide_as_the_dashboard_counts() -> None:
    assert match(Who("이준호", "", "", "companies/1"), Who("이 준호", "", "", "companies/1")).verdict == SAME  # type: ignore[union-attr]
    assert match(Who("이준호", "", "", "companies/1"), Who("이준호", "", "", "companies/2")) is None
    assert match(Who("홍길동"), Who("홍길동")).verdict == SAME  # type: ignore[union-attr]  # two individuals
    assert match(Who(""), Who("")) is None  # no name: no one to compare


def test_people_finds_the_first_same_person_and_lists_the_suspects() -> None:
    people = People([KIM, Who("김서연", "other@x.kr", "010-1234-5678"), Who("이준호", "", "", "companies/1")])
    found = people.find(Who("김 서 연", "", "010.1234.5678"))
    assert found.same == 0 and "phone" in found.reason
    suspects = people.find(Who("김서연", "third@x.kr", "01012345678"))
    assert suspects.same is None and [i for i, _ in suspects.suspects] == [0, 1]
    assert people.find(Who("이준호", "", "", "companies/1")).same == 2
    assert people.find(Who("박지민", "jimin@nuri.kr")).same is None
    added = people.add(Who("박지민", "jimin@nuri.kr"))
    assert people.find(Who("Jimin Park", "JIMIN@nuri.kr")).same == added == 3
