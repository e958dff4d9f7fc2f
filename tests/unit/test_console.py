"""The console's parts that need no hub: the sealed session cookie, the CSRF guard on every form, the Korean
catalog covering every message a page shows, and the Korean ways of writing amounts and times."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from cryptography.fernet import Fernet
from hub.events.v1 import companies_pb2 as ev
from hub.events.v1 import envelope_pb2
from starlette.routing import Route

from hubcore.months import last_months
from services.console.app import ROUTES
from services.console.backend import Refusal
from services.console.catalog import read, said_by_the_pages
from services.console.charts import Series, bar_chart, line_chart, percent_chart
from services.console.i18n import Formats
from services.console.live import Live
from services.console.pages.companies import period_end
from services.console.pages.investors import FundingRound, raised_by_quarter
from services.console.session import Account, Sealer, Session
from services.console.web import headline_of, whole_number


def test_a_session_survives_its_cookie_and_a_forged_or_old_one_is_a_new_session() -> None:
    sealer = Sealer(Fernet.generate_key())
    session = Session(lang="en")
    session.sign_in([Account("secret-token", "accessTokens/abc", "founder", "companies/3", "박지민", time.time() + 60)])
    session.say("ok", "저장했습니다")
    cookie = sealer.seal(session)
    assert "secret-token" not in cookie and "companies/3" not in cookie  # sealed, not merely signed
    opened = sealer.open(cookie, max_age=3600)
    assert opened.account is not None and opened.account.scope == "companies/3" and opened.lang == "en"
    assert opened.csrf == session.csrf and opened.take_flash() == [("ok", "저장했습니다")]

    tampered = cookie[:-6] + ("A" if cookie[-6] != "A" else "B") + cookie[-5:]
    for bad in (tampered, "garbage", Sealer(Fernet.generate_key()).seal(session)):
        fresh = sealer.open(bad, max_age=3600)
        assert fresh.account is None and fresh.csrf != session.csrf
    later = time.time() + 3601
    assert sealer.open(cookie, max_age=3600, now=later).account is None, "a cookie older than a session is refused"


def test_an_expired_account_is_signed_out_and_signing_in_again_changes_the_csrf_secret() -> None:
    session = Session()
    before = session.csrf
    session.sign_in([Account("t", "", "admin", "", "PM", time.time() - 1)])
    assert session.account is None
    assert session.csrf != before


def test_every_form_route_checks_the_csrf_secret() -> None:
    posts = [r for r in ROUTES if isinstance(r, Route) and "POST" in (r.methods or set())]
    assert len(posts) >= 8
    for route in posts:
        assert route.endpoint.__qualname__ == "form.<locals>.checked", route.path


def test_every_message_of_the_pages_has_its_korean() -> None:
    found = said_by_the_pages()
    catalog = read()
    korean = {m.id: m.string for m in catalog if m.id}
    assert len(found) > 100
    missing = sorted(m for m in found if not korean.get(m))
    assert not missing, f"messages without Korean (make catalog, then write them): {missing}"
    fuzzy = sorted(m.id for m in catalog if m.id and m.fuzzy)
    assert not fuzzy, f"fuzzy (unchecked) translations: {fuzzy}"


@pytest.mark.parametrize(
    ("units", "korean", "english"),
    [
        (120_000_000, "1억 2,000만 원", "₩120,000,000"),
        (1_500_000_000, "15억 원", "₩1,500,000,000"),
        (9_000, "9,000원", "₩9,000"),
        (0, "0원", "₩0"),
    ],
)
def test_amounts_read_the_korean_way(units: int, korean: str, english: str) -> None:
    assert Formats("ko", "Asia/Seoul").won(units) == korean
    assert Formats("en", "Asia/Seoul").won(units) == english


def test_times_are_shown_in_seoul() -> None:
    moment = datetime(2026, 12, 5, 5, 30, tzinfo=UTC)  # 14:30 in Seoul
    assert Formats("ko", "Asia/Seoul").when(moment) == "2026년 12월 5일 (토) 오후 2:30"
    assert Formats("en", "Asia/Seoul").when(moment) == "Sat 5 Dec 2026, 14:30"
    assert Formats("ko", "Asia/Seoul").day(moment) == "2026년 12월 5일 (토)"
    assert Formats("ko", "Asia/Seoul").when(None) == ""


async def test_a_founder_hears_only_of_their_own_company_and_nothing_of_what_changed() -> None:
    live = Live("nats://unused")
    founder, manager = live.stream("companies/2"), live.stream(None)
    assert await anext(founder) == await anext(manager) == "retry: 3000\n\n"  # both now listening
    for company in ("companies/1", "companies/2"):
        payload = ev.CompanyUpdated(company=ev.CompanySnapshot(name=company, korean_name="비밀"))
        envelope = envelope_pb2.Envelope(type="hub.companies.company.updated", subject_id=company)
        envelope.payload.Pack(payload)
        await live._heard(SimpleNamespace(data=envelope.SerializeToString()))  # type: ignore[arg-type]
    heard = await asyncio.wait_for(anext(founder), 1)
    assert "companies/2" in heard and "companies/1" not in heard and "비밀" not in heard
    assert "companies/1" in await asyncio.wait_for(anext(manager), 1)
    assert "companies/2" in await asyncio.wait_for(anext(manager), 1)
    await founder.aclose()
    await manager.aclose()
    assert not live.listeners


def test_months_quarters_and_years_fall_in_one_order() -> None:
    periods = ["2026-12", "2026", "2026-Q4", "2025", "2025-Q1", "2026-11", "2026-01"]
    assert sorted(periods, key=period_end) == [
        "2025-Q1", "2025", "2026-01", "2026-11", "2026-12", "2026-Q4", "2026",
    ]  # fmt: skip


def test_a_chart_is_svg_with_its_labels_escaped_and_its_points_in_order() -> None:
    svg = line_chart(Series("매출", [("2026-10", 1.0), ("2026-11", 3.0)]), "매출 <분기>", ["1원", "3원"])
    assert svg.startswith("<svg") and "<title>매출 &lt;분기&gt;</title>" in svg
    assert svg.index("2026-10") < svg.index("2026-11") and "3원" in svg
    assert line_chart(Series("x", []), "empty") == ""


def test_a_percent_chart_draws_a_line_per_series_on_a_round_scale_and_names_each_with_its_last_value() -> None:
    firms = Series("발굴 기업", [("11월", 0.0), ("12월", 10.0)])
    people = Series("참여자 <명>", [("11월", 0.0), ("12월", 0.025)])
    svg = percent_chart([firms, people, Series("빈", [])], "목표 <월별>")
    assert svg.startswith("<svg") and "<title>목표 &lt;월별&gt;</title>" in svg
    assert svg.count("<polyline") == 2 and 'class="line s0"' in svg and 'class="line s1"' in svg
    assert ">발굴 기업 10%<" in svg and ">참여자 &lt;명&gt; &lt;0.1%<" in svg
    assert ">10%<" in svg and ">2%<" in svg and ">100%<" not in svg  # 0 to 10 %, in fifths
    assert ">125%<" in percent_chart([Series("초과", [("1월", 110.0)])], "t")
    assert percent_chart([Series("x", [])], "empty") == ""


def test_months_read_the_korean_way() -> None:
    korean, english = Formats("ko", "Asia/Seoul"), Formats("en", "Asia/Seoul")
    assert (korean.month("2026-03"), korean.month("2026-03", False)) == ("2026년 3월", "3월")
    assert (english.month("2026-03"), english.month("2026-03", False)) == ("Mar 2026", "Mar")


def test_the_last_months_end_at_seoul_midnight_on_the_first() -> None:
    months = last_months(3, date(2026, 1, 31))
    assert [label for label, _ in months] == ["2025-11", "2025-12", "2026-01"]
    assert months[-1][1] == datetime(2026, 1, 31, 15, tzinfo=UTC)  # 2026-02-01 00:00 in Seoul


def test_a_bar_chart_draws_a_bar_per_point_and_says_only_the_values_that_are_not_zero() -> None:
    svg = bar_chart(Series("투자", [("2026-Q3", 0.0), ("2026-Q4", 7.3e9)]), "분기별 <투자>", ["0원", "73억 원"])
    assert svg.startswith("<svg") and "<title>분기별 &lt;투자&gt;</title>" in svg
    assert svg.count("<rect") == 1 and "73억 원" in svg and "0원" not in svg
    assert svg.index("2026-Q3") < svg.index("2026-Q4")
    assert bar_chart(Series("x", []), "empty") == ""


def test_funding_is_summed_by_the_quarter_a_round_closed_in_over_the_last_quarters() -> None:
    def funding(amount: int, status: str, closed: date | None) -> FundingRound:
        return FundingRound("rounds/1", 1, "companies/1", "메디비전", "SEED", status, amount, 0, "", closed=closed)

    rounds = [
        funding(800_000_000, "CLOSED", date(2026, 12, 5)),
        funding(5_000_000_000, "CLOSED", date(2026, 10, 1)),
        funding(1_500_000_000, "OPEN", None),  # not raised yet
        funding(300_000_000, "CLOSED", date(2026, 9, 30)),
        funding(900_000_000, "CLOSED", date(2024, 12, 31)),  # before the chart's quarters
    ]
    shown = raised_by_quarter(rounds, date(2026, 12, 20), count=3)
    assert shown == [("2026-Q2", 0.0), ("2026-Q3", 300_000_000.0), ("2026-Q4", 5_800_000_000.0)]


@pytest.mark.parametrize(
    ("typed", "blank", "read"),
    [("1,000", -1, 1000), (" 12 ", -1, 12), ("", -1, -1), (None, 0, 0), ("", 0, 0), ("-5", -1, -5), ("--5", -1, -1),
     ("열두", -1, -1), ("1.5", -1, -1)],
)  # fmt: skip
def test_a_number_typed_into_a_form_is_read_or_left_for_the_service_to_refuse(
    typed: str, blank: int, read: int
) -> None:
    # "--5" once reached int() and failed the whole request; now the service refuses it, naming the field.
    assert whole_number(typed, blank=blank) == read


def test_a_refusal_is_headlined_by_the_first_kind_or_field_it_names_else_by_its_code() -> None:
    page: Any = SimpleNamespace(_=lambda message: message)
    conflict = Refusal(grpc.StatusCode.FAILED_PRECONDITION, "", kinds=["BOOKING_CONFLICT", "NO_QUOTA"])
    assert headline_of(page, conflict).startswith("That time is already taken")
    scored = Refusal(grpc.StatusCode.FAILED_PRECONDITION, "", kinds=["REVIEW_CONFLICTED"])
    assert headline_of(page, scored).startswith("This review is already settled")
    reason = Refusal(grpc.StatusCode.INVALID_ARGUMENT, "", fields=[("reason", "required")])
    assert headline_of(page, reason) == "Say why: this needs a reason."
    more = Refusal(grpc.StatusCode.INVALID_ARGUMENT, "", fields=[("reason", "required"), ("etag", "stale")])
    assert headline_of(page, more) == "Some of what was entered is not right."
    assert headline_of(page, Refusal(grpc.StatusCode.INTERNAL, "")).startswith("Something went wrong")
