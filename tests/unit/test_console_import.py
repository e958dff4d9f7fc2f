"""The console's import without a hub: every problem the services' rules name is said in Korean words (so the
wording keeps pace with hubcore.requests), every reason a row is refused too, and the file carried from preview
to apply is sealed: tamper with it, bring it to another session or make it too big, and there is nothing."""

from __future__ import annotations

import base64
import os

from cryptography.fernet import Fernet
from google.type import date_pb2

from hubcore import requests, sheets
from services.console import imports, outcomes
from services.console.i18n import gettext_for
from services.console.session import Sealer

_ = gettext_for("ko")


def test_every_problem_the_rules_name_is_said_in_korean() -> None:
    problems = [
        requests.required(""),
        requests.length(1, 100)("가" * 101),
        requests.max_items(2)(["a", "b", "c"]),
        requests.max_items(20, requests.length(1, 30))(["t" * 31]),
        requests.url("ftp://x"),
        requests.email("nobody"),
        requests.e164("010-1234-5678"),
        requests.text_problem("한 줄\n두 줄"),
        requests.text_problem("보이지\u200b않음"),
        requests.text_problem("제어\x07문자"),
        requests._date_problem(date_pb2.Date(year=1800, month=1, day=1), 1900),
        "is in the future",  # the companies domain's own
        "must be empty for an individual resident",
        "is required for a staff",
    ]
    said = [outcomes.problem(_, p) for p in problems if p]
    assert len(said) == len(problems)
    assert [text for text, lang in said if lang] == [], "a problem shown in English: add its words to PROBLEMS"
    assert said[1] == ("1~100자여야 합니다", "")
    assert said[3][0].startswith("'tttt") and said[3][0].endswith(": 1~30자여야 합니다")
    assert outcomes.problem(_, "something new") == ("something new", "en")


def test_every_reason_a_row_is_refused_has_words() -> None:
    rows = [{"korean_name": "", "sector": "medical"}, {"korean_name": "우주", "sector": "space"},
            {"korean_name": "날짜", "sector": "의료", "founded_on": "어제"}, {"korean_name": "가", "sector": "의료"},
            {"korean_name": "가", "sector": "의료"}, {"korean_name": "나", "sector": "의료", "email": "a@b.kr"},
            {"korean_name": "다", "sector": "의료", "website": "x"}]  # fmt: skip
    steps = sheets.plan_companies(rows, [])
    reasons = [s.reason for s in steps if s.reason]
    assert {r.what for r in reasons} == {"empty", "unknown", "not_a_date", "twice", "no_founder_name", "invalid"}
    people = sheets.plan_people([{"korean_name": "김", "company": "없는기업"}], [], [])
    assert people[0].reason is not None
    reasons.append(people[0].reason)
    notes = [n for r in reasons for n in outcomes.rejected(_, r)]
    assert all(n.lang == "" and n.field for n in notes), notes
    assert notes[1].field == "분야" and "'space'은(는) 알 수 없는 값입니다" in notes[1].text and "의료" in notes[1].text


def test_the_file_is_carried_sealed_to_its_own_session_only() -> None:
    sealer = Sealer(Fernet.generate_key())
    carried = imports.Carried("companies", "입주기업.csv", "기업명\r\n메디비전\r\n", {2: ("update", "3")})
    token = imports.seal(sealer, "csrf-1", carried)
    assert token is not None and "메디비전" not in token
    assert imports.unseal(sealer, "csrf-1", token) == carried
    assert imports.unseal(sealer, "csrf-2", token) is None, "another session's preview"
    assert imports.unseal(sealer, "csrf-1", token[:-4] + "AAAA") is None
    assert imports.unseal(Sealer(Fernet.generate_key()), "csrf-1", token) is None
    noise = base64.b64encode(os.urandom(800_000)).decode()  # does not compress
    assert imports.seal(sealer, "csrf-1", imports.Carried("companies", "big.csv", noise)) is None
