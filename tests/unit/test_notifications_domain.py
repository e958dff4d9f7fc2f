"""The notifications worker's pure parts: business days with Korean holidays, quiet hours, back-off with
jitter, amounts and dates the Korean way, templates in both languages, webhook signatures, settings."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from hubcore.korean import format_krw
from services.notifications import channels, domain, messages, rules
from services.notifications.config import Config, parse_hours

SEOUL = ZoneInfo("Asia/Seoul")


@pytest.mark.parametrize(
    ("day", "business"),
    [
        (date(2025, 10, 2), True),  # Thursday before the Chuseok week
        (date(2025, 10, 3), False),  # National Foundation Day
        (date(2025, 10, 6), False),  # Chuseok
        (date(2025, 10, 8), False),  # substitute holiday for Chuseok
        (date(2025, 10, 9), False),  # Hangul Day
        (date(2025, 10, 10), True),
        (date(2025, 10, 11), False),  # Saturday
        (date(2026, 3, 2), False),  # substitute for Independence Movement Day (a Sunday)
        (date(2026, 12, 25), False),
    ],
)
def test_business_days_skip_weekends_and_korean_public_holidays(day: date, business: bool) -> None:
    assert domain.is_business_day(day) is business


def test_adding_business_days_jumps_the_chuseok_week() -> None:
    thursday = datetime(2025, 10, 2, 14, 30, tzinfo=SEOUL)
    assert domain.add_business_days(thursday, 1) == datetime(2025, 10, 10, 14, 30, tzinfo=SEOUL)
    assert domain.add_business_days(thursday, 3) == datetime(2025, 10, 14, 14, 30, tzinfo=SEOUL)
    friday = datetime(2026, 11, 27, 9, tzinfo=SEOUL)
    assert domain.add_business_days(friday, 1) == datetime(2026, 11, 30, 9, tzinfo=SEOUL)
    # Counted in Seoul even when given in UTC: 23:00 UTC Thursday is already Friday morning in Seoul.
    late = datetime(2026, 11, 26, 23, tzinfo=UTC)
    assert domain.add_business_days(late, 1) == datetime(2026, 11, 30, 8, tzinfo=SEOUL)


@pytest.mark.parametrize(
    ("local", "until"),
    [
        (datetime(2026, 12, 1, 21, 59), None),
        (datetime(2026, 12, 1, 22, 0), datetime(2026, 12, 2, 8, 0)),
        (datetime(2026, 12, 1, 23, 30), datetime(2026, 12, 2, 8, 0)),
        (datetime(2026, 12, 2, 3, 0), datetime(2026, 12, 2, 8, 0)),
        (datetime(2026, 12, 2, 8, 0), None),
    ],
)
def test_quiet_hours_cross_midnight(local: datetime, until: datetime | None) -> None:
    found = domain.quiet_until(local.replace(tzinfo=SEOUL).astimezone(UTC), SEOUL, 22 * 60, 8 * 60)
    assert found == (until.replace(tzinfo=SEOUL) if until else None)


def test_quiet_hours_within_a_day_and_switched_off() -> None:
    lunch = datetime(2026, 12, 1, 12, 30, tzinfo=SEOUL)
    assert domain.quiet_until(lunch, SEOUL, 12 * 60, 13 * 60) == datetime(2026, 12, 1, 13, tzinfo=SEOUL)
    assert domain.quiet_until(lunch, SEOUL, 0, 0) is None
    # Quiet hours are the recipient's own night: 10:00 in Seoul is 02:00 in Berlin.
    berlin = ZoneInfo("Europe/Berlin")
    assert domain.quiet_until(datetime(2026, 12, 1, 10, tzinfo=SEOUL), berlin, 22 * 60, 8 * 60) == datetime(
        2026, 12, 1, 8, tzinfo=berlin
    )


def test_back_off_grows_exponentially_with_jitter_and_a_cap() -> None:
    low, high = (lambda: 0.0), (lambda: 1.0)
    assert [domain.retry_delay(n, 30, 3600, low) for n in (1, 2, 3)] == [15, 30, 60]
    assert [domain.retry_delay(n, 30, 3600, high) for n in (1, 2, 3)] == [30, 60, 120]
    assert domain.retry_delay(20, 30, 3600, high) == 3600
    assert 1800 <= domain.retry_delay(20, 30, 3600) <= 3600


@pytest.mark.parametrize(
    ("amount", "korean", "english"),
    [
        (1_500_000_000, "15억 원", "₩1,500,000,000"),
        (1_530_000_000, "15억 3,000만 원", "₩1,530,000,000"),
        (35_000_000, "3,500만 원", "₩35,000,000"),
        (1_200_000_000_000, "1조 2,000억 원", "₩1,200,000,000,000"),
        (9_000, "9,000원", "₩9,000"),
        (0, "0원", "₩0"),
        (-50_000_000, "-5,000만 원", "-₩50,000,000"),
    ],
)
def test_krw_is_written_the_korean_way(amount: int, korean: str, english: str) -> None:
    assert format_krw(amount, "ko") == korean
    assert format_krw(amount, "en") == english


def test_dates_in_the_readers_zone_and_language() -> None:
    moment = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)  # 15:00 in Seoul
    assert domain.format_datetime(moment, SEOUL, "ko") == "2026년 12월 1일 (화) 오후 3:00"
    assert domain.format_datetime(moment, SEOUL, "en") == "Tue 1 Dec 2026, 3:00 PM KST"
    assert domain.format_datetime(moment, ZoneInfo("America/New_York"), "en") == "Tue 1 Dec 2026, 1:00 AM (EST)"
    assert domain.format_datetime(moment, ZoneInfo("Europe/Berlin"), "ko") == "2026년 12월 1일 (화) 오전 7:00 (CET)"
    assert domain.format_date(date(2026, 12, 25), "ko") == "2026년 12월 25일 (금)"
    assert domain.format_date(date(2026, 12, 25), "en") == "Fri 25 Dec 2026"


def test_every_rule_has_a_template_in_both_languages_and_they_render() -> None:
    assert messages.template_names("ko") == messages.template_names("en") == set(rules.RULES)
    context = {
        "company": "companies/3", "company_ko": "메디비전", "company_en": "MediVision", "from_status": "SELECTED",
        "to_status": "RESIDENT", "reason": "입주 심사 통과",
    } | rules.SAMPLE_CONTEXT  # fmt: skip
    for rule in rules.RULES:
        for language in ("ko", "en"):
            message = messages.render(rule, language, SEOUL, context, "김서연")
            assert message.subject and "\n" not in message.subject and message.body.strip(), (rule, language)
            assert "{{" not in message.body and "None" not in message.body, (rule, language)


def test_templates_use_the_readers_language() -> None:
    context = {"company": "companies/3", "company_ko": "메디비전", "company_en": "MediVision"}
    korean = messages.render(rules.COMPANY_WELCOME, "ko", SEOUL, context, "김서연")
    assert korean.subject == "[KAIST AI 허브] 메디비전 입주를 환영합니다" and korean.body.startswith("김서연님")
    english = messages.render(rules.COMPANY_WELCOME, "en", SEOUL, context, "Seoyeon Kim")
    assert english.subject == "[KAIST AI Hub] Welcome to the hub, MediVision"
    assert english.text.startswith("*[KAIST AI Hub] Welcome")
    no_english_name = messages.render(rules.COMPANY_WELCOME, "en", SEOUL, context | {"company_en": ""}, "Kim")
    assert "메디비전" in no_english_name.subject


def test_webhook_signatures_verify_and_refuse_tampering_and_replays() -> None:
    body = b'{"text":"hello"}'
    headers = {channels.TIMESTAMP_HEADER: "1796100000"}
    headers[channels.SIGNATURE_HEADER] = channels.signature("secret", "1796100000", body)
    assert channels.verify("secret", headers, body, now=1796100010)
    assert not channels.verify("other", headers, body, now=1796100010)
    assert not channels.verify("secret", headers, body + b" ", now=1796100010)
    assert not channels.verify("secret", headers, body, now=1796100000 + channels.SIGNATURE_TOLERANCE + 1)


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_SMTP_HOST", "smtp.example.kr")
    monkeypatch.setenv("HUB_SMTP_PORT", "587")
    monkeypatch.setenv("HUB_SMTP_STARTTLS", "true")
    monkeypatch.setenv("HUB_PROGRAM_MANAGER_EMAILS", "PM@hub.kr, lee@hub.kr")
    monkeypatch.setenv("HUB_QUIET_HOURS", "21:30-07:00")
    cfg = Config.from_env()
    assert (cfg.smtp_host, cfg.smtp_port, cfg.smtp_starttls) == ("smtp.example.kr", 587, True)
    assert cfg.manager_emails == ("pm@hub.kr", "lee@hub.kr")
    assert (cfg.quiet_start, cfg.quiet_end) == (21 * 60 + 30, 7 * 60)
    assert parse_hours("off") == (0, 0)
    with pytest.raises(ValueError, match="22:00-08:00"):
        parse_hours("25:00-08:00")
