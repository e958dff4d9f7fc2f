"""Request checking: rules, names, filters, order, page tokens."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, date, datetime

import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from hub.companies.v1 import companies_pb2 as pb
from hub.companies.v1 import program_pb2
from hub.consulting.v1 import consulting_pb2

from hubcore import convert, requests, text
from hubcore.errors import Aborted, InvalidArgument
from services.companies.registry.policy import RULES


def violations(request: object) -> list[tuple[str, str]]:
    with pytest.raises(InvalidArgument) as caught:
        requests.validate(request, RULES.get(type(request)))  # type: ignore[arg-type]
    return caught.value.violations


def test_create_rules_name_each_bad_field() -> None:
    bad = pb.CreateCompanyRequest(company=pb.Company(korean_name="", website="ftp://x", tags=["a" * 31]))
    fields = [f for f, _ in violations(bad)]
    assert fields == ["company.korean_name", "company.sector", "company.website", "company.tags"]


def test_unknown_enum_numbers_and_huge_strings_are_refused_anywhere() -> None:
    request = pb.CreateCompanyRequest(company=pb.Company(korean_name="회사", sector=999))  # type: ignore[arg-type]
    assert ("company.sector", "unknown value 999") in violations(request)
    assert violations(pb.ListCompaniesRequest(order_by="x" * 10_001))[0][0] == "order_by"


YEAR_2000, YEAR_2101 = 946_684_800, 4_133_980_800  # 2000-01-01T00:00Z and 2101-01-01T00:00Z


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [
        (-62_135_596_800, 0),  # 0001-01-01
        (253_402_300_740, 0),  # 9999-12-31T23:59Z
        (YEAR_2000 - 1, 0),  # the last second of 1999
        (YEAR_2101, 0),  # 2101-01-01
        (-62_135_596_801, 0),  # before any RFC 3339 time
        (0, -1),
        (0, 10**9),
    ],
)
def test_timestamps_outside_the_business_range_are_refused_anywhere(seconds: int, nanos: int) -> None:
    company = pb.Company(korean_name="회사", sector=pb.SECTOR_MEDICAL)
    company.create_time.seconds, company.create_time.nanos = seconds, nanos
    found = violations(pb.CreateCompanyRequest(company=company))
    assert ("company.create_time", f"must be a time from {requests.BUSINESS_RANGE}") in found
    for first, last in ((YEAR_2000, 0), (YEAR_2101 - 1, 999_999_999)):  # the first and the last instant
        company.create_time.seconds, company.create_time.nanos = first, last
        requests.validate(pb.CreateCompanyRequest(company=company), RULES.get(pb.CreateCompanyRequest))


@pytest.mark.parametrize("year", [1, 1999, 2101, 9999])
def test_dates_outside_the_business_range_are_refused_anywhere(year: int) -> None:
    occupancy = program_pb2.GetOccupancyRequest(date={"year": year, "month": 12, "day": 31})
    assert violations(occupancy) == [("date", "must be a date from 2000-01-01 to 2100-12-31")]
    requests.validate(program_pb2.GetOccupancyRequest(date={"year": 2100, "month": 12, "day": 31}), None)


def test_a_founding_date_may_be_older_than_the_business_range() -> None:
    company = pb.Company(korean_name="회사", sector=pb.SECTOR_MEDICAL, founded_on={"year": 1987, "month": 3, "day": 2})
    requests.validate(pb.CreateCompanyRequest(company=company), RULES.get(pb.CreateCompanyRequest))
    company.founded_on.year = 1899
    found = violations(pb.CreateCompanyRequest(company=company))
    assert ("company.founded_on", "must be a date from 1900-01-01 to 2100-12-31") in found


@pytest.mark.parametrize(
    ("seconds", "nanos", "problem"),
    [
        (10**15, 0, "must be at most 366 days"),
        (2**63 - 1, 0, "must be at most 366 days"),
        (366 * 86400, 1, "must be at most 366 days"),
        (-1, 0, "must not be negative"),
        (0, -1, "must not be negative"),
        (-(2**63), 0, "must not be negative"),
        (0, 10**9, "must be at most 366 days"),
    ],
)
def test_durations_are_range_checked_anywhere(seconds: int, nanos: int, problem: str) -> None:
    request = consulting_pb2.FindAvailableSlotsRequest()
    request.duration.seconds, request.duration.nanos = seconds, nanos
    with pytest.raises(InvalidArgument) as caught:
        requests.validate(request, None)
    assert caught.value.violations == [("duration", problem)]
    request.duration.seconds, request.duration.nanos = 366 * 86400, 0
    requests.validate(request, None)


def test_update_checks_only_masked_fields_and_only_mutable_paths() -> None:
    ok = pb.UpdateCompanyRequest(
        company=pb.Company(name="companies/1", english_name="Medi"), update_mask=FieldMask(paths=["english_name"])
    )
    requests.validate(ok, RULES[pb.UpdateCompanyRequest])  # korean_name is empty but not masked
    bad = pb.UpdateCompanyRequest(company=pb.Company(name="companies/1"), update_mask=FieldMask(paths=["status"]))
    assert [f for f, _ in violations(bad)] == ["update_mask"]
    empty = pb.UpdateCompanyRequest(company=pb.Company(name="companies/1"))
    assert violations(empty) == [("update_mask", "must name at least one field")]


@pytest.mark.parametrize(
    "name", ["companies/abc", "companies/", "people/1", "companies/-1", "companies/0", "companies/1/x"]
)
def test_malformed_names(name: str) -> None:
    with pytest.raises(InvalidArgument, match="name"):
        requests.parse_name(name, "companies")


def test_page_tokens_round_trip_and_are_bound_to_their_query() -> None:
    tokens = requests.PageTokens
    token = tokens.encode("status=RESIDENT", ["2026-11-25T09:00:00+09:00", 42])
    assert tokens.decode(token, "status=RESIDENT", (datetime, int)) == [datetime(2026, 11, 25, tzinfo=UTC), 42]
    assert tokens.decode(tokens.encode("q", ["2026-03-02", 7]), "q", (date, int)) == [date(2026, 3, 2), 7]
    assert tokens.decode(tokens.encode("q", ["메디비전", 7]), "q", (str, int)) == ["메디비전", 7]
    with pytest.raises(InvalidArgument, match="page_token"):
        tokens.decode(token, "status=SELECTED", (datetime, int))
    for garbage in ("!!!", "e30", "bm90IGpzb24", "e30.", "." * 3000, "WzFd.가나다"):
        with pytest.raises(InvalidArgument, match="page_token"):
            tokens.decode(garbage, "", (int,))


def test_page_tokens_are_signed_so_replicas_share_them_and_nobody_else_makes_them() -> None:
    """The key derives from HUB_TOKEN_SIGNING_KEY: another replica with the same setting accepts a token, a
    token under a key still listed after rotation is accepted, and one altered or made without it is not."""
    old, new = "o" * 32, "n" * 32
    token = requests.PageTokens.encode("rooms", [7], requests.page_token_keys([old]))
    assert requests.PageTokens.decode(token, "rooms", (int,), requests.page_token_keys([old])) == [7]
    assert requests.PageTokens.decode(token, "rooms", (int,), requests.page_token_keys([new, old])) == [7]
    body, _, mac = token.partition(".")
    forged = [
        requests.PageTokens.encode("rooms", [7], requests.page_token_keys([new])),  # another hub's key
        requests.PageTokens.encode("rooms", [7]),  # the embedded key, public
        base64.urlsafe_b64encode(b"[8]").decode().rstrip("=") + "." + mac,  # another position, same mac
        body,  # no mac
        # what tokens looked like before they were signed: base64 JSON with an unkeyed digest of the query
        base64.urlsafe_b64encode(json.dumps({"q": hashlib.sha256(b"rooms").hexdigest()[:16], "p": [7]}).encode())
        .decode()
        .rstrip("="),
    ]
    for token in forged:
        with pytest.raises(InvalidArgument, match="page_token"):
            requests.PageTokens.decode(token, "rooms", (int,), requests.page_token_keys([old]))


HOSTILE_POSITIONS = [
    [], [None], [[1]], [[[]]], [{"p": 1}], [1.0], [1.5], [True], [0], [-1], [2**63], [2**70], ["1"], [1, 2],
    ["x" * 10_000, 1], ["a\x00b", 1], [None, 1], [1, "x"], ["2026-01-01T00:00:00+00:00", 2**70],
    ["2026-01-01T00:00:00", 1], ["0001-01-01T00:00:00+14:00", 1], ["9999-12-31T23:59:59-14:00", 1],
    ["2026-13-01", 1], ["tomorrow", 1], [20260101, 1], [["2026-01-01"], 1], ["2026-01-01", -1],
]  # fmt: skip


@pytest.mark.parametrize("position", HOSTILE_POSITIONS, ids=repr)
@pytest.mark.parametrize("types", [(int,), (str, int), (datetime, int), (date, int)], ids=repr)
def test_a_signed_token_whose_position_has_the_wrong_shape_is_refused(position: list, types: tuple) -> None:
    """Even with the key in hand (the embedded default is public), a position that is not of the declared
    types and ranges never reaches a query."""
    token = requests.PageTokens.encode("q", position)
    try:
        decoded = requests.PageTokens.decode(token, "q", types)
    except InvalidArgument as exc:
        assert [field for field, _ in exc.violations] == ["page_token"]
        return
    # The few that fit (a str sort key that happens to look like a date) come back as the declared types.
    assert decoded is not None
    assert all(isinstance(v, t) and (t is not int or 0 < v < 2**63) for v, t in zip(decoded, types, strict=True))
    assert types == (str, int)


def test_page_size_defaults_caps_and_refuses_negative() -> None:
    assert requests.page_size(0) == requests.DEFAULT_PAGE_SIZE
    assert requests.page_size(10_000) == requests.MAX_PAGE_SIZE
    with pytest.raises(InvalidArgument, match="page_size"):
        requests.page_size(-1)


def test_filter_parsing() -> None:
    status = requests.enum_value(pb.CompanyStatus, "COMPANY_STATUS")
    parsed = requests.parse_filter("status=RESIDENT AND status = company_status_selected", {"status": status})
    assert parsed == {"status": [pb.COMPANY_STATUS_RESIDENT, pb.COMPANY_STATUS_SELECTED]}
    for bad in ("owner=me", "status=BOGUS", "status RESIDENT", "status=UNSPECIFIED"):
        with pytest.raises(InvalidArgument, match="filter"):
            requests.parse_filter(bad, {"status": status})


def test_order_by_and_etags() -> None:
    assert requests.parse_order_by("korean_name desc", ["korean_name"], "korean_name") == ("korean_name", True)
    assert requests.parse_order_by("", ["create_time"], "create_time") == ("create_time", False)
    with pytest.raises(InvalidArgument, match="order_by"):
        requests.parse_order_by("status", ["korean_name"], "korean_name")
    requests.check_etag("", "3")  # no etag sent: last write wins, as AIP-154 allows
    with pytest.raises(Aborted):
        requests.check_etag("2", "3")


def test_normalize_text_matches_composed_and_decomposed_hangul() -> None:
    import unicodedata

    assert text.normalize_text(unicodedata.normalize("NFD", "메디비전")) == "메디비전"
    assert text.normalize_text("MediVision") == "medivision"


def test_calendar_date_and_short_value() -> None:
    from datetime import date

    from google.type import date_pb2

    assert convert.calendar_date(date_pb2.Date(), "due_date") is None
    assert convert.calendar_date(date_pb2.Date(year=2026, month=2, day=28), "due_date") == date(2026, 2, 28)
    with pytest.raises(InvalidArgument, match="due_date"):
        convert.calendar_date(date_pb2.Date(year=2026, month=2, day=30), "due_date")
    read = requests.short_value(pb.CompanyStatus, "COMPANY_STATUS")
    assert read("resident") == read("COMPANY_STATUS_RESIDENT") == "RESIDENT"
    with pytest.raises(ValueError, match="unknown value"):
        read("sleeping")


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("메디\x07비전", "must not contain control characters (U+0007)"),
        ("\u202e메디비전", "must not contain invisible characters (U+202E RIGHT-TO-LEFT OVERRIDE)"),
        ("메디\u200b비전", "must not contain invisible characters (U+200B ZERO WIDTH SPACE)"),
        ("메디\u3164비전", "must not contain invisible characters (U+3164 HANGUL FILLER)"),
        ("메디\n비전", "must be a single line"),
        ("메디\u2028비전", "must be a single line"),
        ("\u200d메디", "must not contain invisible characters (U+200D ZERO WIDTH JOINER)"),  # a joiner at an edge
        ("\u200b", "is required"),  # nothing visible is nothing
        ("\u3164\u3164", "is required"),
        (" \u200b\u2060 ", "is required"),
    ],
)
def test_names_refuse_control_and_invisible_characters(name: str, problem: str) -> None:
    company = pb.Company(korean_name=name, sector=pb.SECTOR_MEDICAL)
    assert violations(pb.CreateCompanyRequest(company=company)) == [("company.korean_name", problem)]


@pytest.mark.parametrize(
    "name", ["👩\u200d💻 랩스", "🏳\ufe0f\u200d🌈", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",
             "می\u200cخواهم", "메디\u00a0비전", "메디\u3000비전", "가\u0301", "\U000f0000"],
)  # fmt: skip
def test_names_keep_joined_emoji_words_and_ordinary_spaces(name: str) -> None:
    company = pb.Company(korean_name=name, sector=pb.SECTOR_MEDICAL)
    requests.validate(pb.CreateCompanyRequest(company=company), RULES[pb.CreateCompanyRequest])


def test_prose_fields_take_line_breaks_and_tabs_but_nothing_else_invisible() -> None:
    company = pb.Company(korean_name="메디", sector=pb.SECTOR_MEDICAL, description="첫 줄\r\n둘째 줄\n\t들여쓰기")
    requests.validate(pb.CreateCompanyRequest(company=company), RULES[pb.CreateCompanyRequest])
    for bad in ("벨\x07", "뒤집기\u202e", "\x1b[31m"):
        company.description = bad
        assert [f for f, _ in violations(pb.CreateCompanyRequest(company=company))] == ["company.description"]
    change = pb.ChangeCompanyStatusRequest(name="companies/1", status=pb.COMPANY_STATUS_SELECTED, reason="사유\x00")
    assert violations(change) == [("reason", "must not contain NUL characters")]


def test_map_keys_and_values_are_text_too() -> None:
    from hub.companies.v1 import program_pb2

    score = program_pb2.ScoreApplicationRequest(score=program_pb2.Score(values={"기술\u202e": 3}))
    with pytest.raises(InvalidArgument) as caught:
        requests.validate(score, None)
    assert caught.value.violations == [
        ("score.values", "must not contain invisible characters (U+202E RIGHT-TO-LEFT OVERRIDE)")
    ]
