"""The targets' period (settings, with the hub's own default: three years from its opening) and the pace on
fixed days, the days counted by hand."""

from __future__ import annotations

from datetime import date

import pytest

from hubcore.targets import BEFORE, BEHIND, ENDED, ON_PACE, REACHED, TargetPeriod, pace, pace_ko

PERIOD = TargetPeriod(date(2025, 3, 1), date(2028, 2, 29))  # 365 + 365 + 366 = 1,096 days


@pytest.fixture(autouse=True)
def no_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HUB_OPENED_ON", "HUB_TARGETS_START", "HUB_TARGETS_END"):
        monkeypatch.delenv(name, raising=False)


def test_the_period_defaults_to_three_years_from_the_opening(monkeypatch: pytest.MonkeyPatch) -> None:
    assert TargetPeriod.from_env() == PERIOD and PERIOD.days == 1096
    monkeypatch.setenv("HUB_OPENED_ON", "2024-02-29")  # three years on there is no 29 February
    assert TargetPeriod.from_env() == TargetPeriod(date(2024, 2, 29), date(2027, 2, 28))
    monkeypatch.setenv("HUB_TARGETS_START", "2017-01-01")  # the start setting wins over the opening
    assert TargetPeriod.from_env() == TargetPeriod(date(2017, 1, 1), date(2019, 12, 31))
    monkeypatch.setenv("HUB_TARGETS_END", "2020-12-31")
    assert TargetPeriod.from_env() == TargetPeriod(date(2017, 1, 1), date(2020, 12, 31))


@pytest.mark.parametrize(
    ("name", "value"), [("HUB_OPENED_ON", "2025-13-01"), ("HUB_TARGETS_END", "2020-01-01"), ("HUB_TARGETS_START", "x")]
)
def test_a_wrong_period_setting_is_named(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=name):
        TargetPeriod.from_env()


def test_the_pace_on_a_day_inside_the_period() -> None:
    # 6 December 2026: 365 days of the first year and 280 of the second have passed (645), 451 are left
    # (14.82 average months). An even pace to 500 would be at 500 × 645 / 1,096 = 294.3, so 295.
    behind = pace(293, 500, PERIOD, date(2026, 12, 6))
    assert (behind.state, behind.expected, behind.per_month, behind.months_left) == (BEHIND, 295, 14, 14.8)
    assert behind.elapsed_percent == 59  # 645 / 1,096
    assert pace_ko("experts", behind) == "월 14명 필요 (계획보다 늦음)"
    ahead = pace(300, 500, PERIOD, date(2026, 12, 6))  # 200 in 14.82 months: 13.5, so 14
    assert (ahead.state, ahead.per_month) == (ON_PACE, 14)
    programs = pace(3, 24, PERIOD, date(2026, 12, 6))  # 21 in 14.82 months: 1.4, so 2
    assert pace_ko("programs", programs) == "월 2개 필요 (계획보다 늦음)"


def test_the_pace_at_the_edges_of_the_period() -> None:
    first = pace(0, 500, PERIOD, date(2025, 3, 1))  # nothing expected yet; 500 over 36.01 months: 13.9, so 14
    assert (first.state, first.expected, first.per_month, first.elapsed_percent) == (ON_PACE, 0, 14, 0)
    before = pace(0, 500, PERIOD, date(2024, 12, 1))
    assert (before.state, before.per_month) == (BEFORE, 14) and pace_ko("experts", before) == "시작 전 · 월 14명 필요"
    last = pace(480, 500, PERIOD, date(2028, 2, 29))  # one day left: the whole rest is needed in it
    assert (last.state, last.per_month, last.expected) == (BEHIND, 20, 500)
    ended = pace(470, 500, PERIOD, date(2028, 3, 1))
    assert (ended.state, ended.per_month, ended.elapsed_percent) == (ENDED, 0, 100)
    assert pace_ko("participants", ended) == "기간 종료 (30명 미달)"
    reached = pace(8123, 8000, PERIOD, date(2027, 1, 1))
    assert (reached.state, reached.per_month) == (REACHED, 0) and pace_ko("participants", reached) == "달성"
