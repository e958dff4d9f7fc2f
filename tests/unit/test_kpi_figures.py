"""Issue 17's pure rules: runway from cash and burn, a correction carrying figures over and naming each figure's
source, the checks of the new figures (currency, sign, country codes), and survival at 1, 3 and 5 years."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from hubcore.errors import InvalidArgument
from services.companies.program import domain

T1 = datetime(2026, 3, 2, 9, tzinfo=UTC)
T2 = datetime(2026, 3, 9, 9, tzinfo=UTC)


def test_runway_is_cash_over_burn_to_one_decimal() -> None:
    assert domain.runway(100_000_000, 30_000_000) == 3.3
    assert domain.runway(100_000_000, 40_000_000) == 2.5
    assert domain.runway(125_000_000, 50_000_000) == 2.5
    assert domain.runway(7_000_000, 4_000_000) == 1.8  # 1.75: half up
    assert domain.runway(100_000_000, 15_000_000) == 6.7
    assert domain.runway(0, 10_000_000) == 0.0  # no cash left: zero months, a figure
    assert domain.runway(None, 10_000_000) is None
    assert domain.runway(100_000_000, None) is None
    assert domain.runway(100_000_000, 0) is None  # not burning: no runway to speak of


def test_report_runway_follows_its_figures() -> None:
    report = domain.KpiReport(0, 1, "2026-Q1", 5, 0, 0, 0, cash_on_hand_krw=90_000_000, monthly_burn_krw=20_000_000)
    assert report.runway_months == 4.5
    assert domain.KpiReport(0, 1, "2026-Q1", 5, 0, 0, 0, cash_on_hand_krw=90_000_000).runway_months is None


def test_a_correction_carries_figures_over_and_names_each_source() -> None:
    first = domain.with_sources(
        domain.KpiReport(
            1, 7, "2026-Q1", 5, 1000, 3, 0, version=1, actor="founder:7", created_at=T1,
            cash_on_hand_krw=90_000_000, monthly_burn_krw=20_000_000, hires=2, overseas_countries=("VN",),
        ),
        None,
    )  # fmt: skip
    assert first.sources()[0] == domain.FigureSource("headcount", 1, "founder:7", T1)
    correction = domain.KpiReport(
        2, 7, "2026-Q1", 6, 1200, 3, 0, version=2, actor="admin:kim", created_at=T2, monthly_burn_krw=30_000_000,
        exports_usd=50_000,
    )  # fmt: skip
    kept = domain.with_sources(correction, first)
    assert kept.cash_on_hand_krw == 90_000_000  # carried over
    assert kept.monthly_burn_krw == 30_000_000  # corrected
    assert kept.hires == 2 and kept.overseas_countries == ("VN",)
    assert kept.exports_usd == 50_000 and kept.full_time_employees is None  # never reported
    assert kept.runway_months == 3.0
    sources = {s.figure: (s.version, s.actor, s.entered_at) for s in kept.sources()}
    assert sources["cash_on_hand_krw"] == (1, "founder:7", T1)
    assert sources["hires"] == (1, "founder:7", T1)
    assert sources["overseas_countries"] == (1, "founder:7", T1)
    assert sources["monthly_burn_krw"] == (2, "admin:kim", T2)
    assert sources["exports_usd"] == (2, "admin:kim", T2)
    assert sources["headcount"] == sources["revenue_krw"] == (2, "admin:kim", T2)
    assert "full_time_employees" not in sources
    # A third version carries the first version's source along, not the second's.
    third = domain.with_sources(
        domain.KpiReport(3, 7, "2026-Q1", 6, 1200, 3, 0, version=3, actor="founder:7", created_at=T2), kept
    )
    assert {s.figure: s.version for s in third.sources()}["cash_on_hand_krw"] == 1
    assert third.monthly_burn_krw == 30_000_000


def test_new_figures_are_checked() -> None:
    domain.check_figures(currency="KRW", figures={"report.hires": 0, "report.exports.units": None})
    with pytest.raises(InvalidArgument) as refused:
        domain.check_figures(
            currency="KRW",
            figures={"report.hires": -1, "report.cash_on_hand.units": 5},
            currencies={"report.cash_on_hand": ("USD", "KRW"), "report.exports": ("USD", "USD")},
        )
    assert dict(refused.value.violations) == {
        "report.hires": "must not be negative",
        "report.cash_on_hand.currency_code": "must be KRW",
    }


def test_country_codes_are_iso_3166_alpha_2() -> None:
    assert domain.check_countries([" vn", "US", "VN", "jp"]) == ("VN", "US", "JP")
    for bad in ("XX", "EU", "001", "USA", "Korea", ""):
        with pytest.raises(InvalidArgument) as refused:
            domain.check_countries(["KR", bad])
        assert dict(refused.value.violations) == {
            "report.overseas_countries[1]": "must be an ISO 3166-1 alpha-2 country code like US or VN"
        }


def test_yearly_periods() -> None:
    assert domain.check_period("2026") == "2026"
    assert domain.period_start("2026") == date(2026, 1, 1)
    assert domain.period_end("2026") == date(2026, 12, 31)
    with pytest.raises(InvalidArgument):
        domain.check_period("2027", today=date(2026, 12, 6))
    assert domain.check_period("2026", today=date(2026, 1, 1)) == "2026"
    assert domain.quarter_of("2026") == "2026"


def test_survival_counts_eligible_survived_and_closed_per_horizon() -> None:
    on = date(2026, 6, 30)
    firms = [
        (date(2020, 3, 1), None),  # 6 years, alive: survived at 1, 3, 5
        (date(2021, 6, 30), date(2023, 1, 10)),  # 5 years exactly on `on`; closed in year 2: survived 1 only
        (date(2023, 7, 1), date(2026, 7, 2)),  # 3 years on 2026-07-01 > on: eligible at 1 only; closed later
        (date(2024, 2, 29), date(2025, 2, 27)),  # closed a day before its first anniversary (2025-02-28)
        (date(2024, 2, 29), date(2025, 2, 28)),  # closed on its anniversary: survived the year
        (date(2026, 1, 1), None),  # tracked half a year: eligible nowhere
    ]
    one, three, five = domain.survival(firms, on)
    assert (one.years, one.eligible, one.survived, one.closed) == (1, 5, 4, 1)
    assert (three.years, three.eligible, three.survived, three.closed) == (3, 2, 1, 1)
    assert (five.years, five.eligible, five.survived, five.closed) == (5, 2, 1, 1)
    assert five.rate == 0.5
    assert domain.survival([], on)[0].rate == 0.0
    assert domain.anniversary(date(2024, 2, 29), 1) == date(2025, 2, 28)


def report(period: str, revenue: int, **figures: object) -> domain.KpiReport:
    return domain.KpiReport(0, 1, period, 1, revenue, 0, 0, **figures)  # type: ignore[arg-type]


def test_a_firms_year_from_its_yearly_report_or_its_months_and_quarters() -> None:
    yearly = [report("2025", 100, full_time_employees=9, exports_usd=7), report("2025-Q1", 5)]
    assert domain.year_figures(yearly, "2025") == domain.YearFigures(100, 9, 7)
    rolled = [
        report("2025-Q1", 30, exports_usd=10), report("2025-02", 99, exports_usd=99),  # the quarter stands
        report("2025-04", 10, full_time_employees=3), report("2025-05", 10, full_time_employees=4),
        report("2024-12", 1000, full_time_employees=50), report("2026-01", 1000),  # other years
    ]  # fmt: skip
    assert domain.year_figures(rolled, "2025") == domain.YearFigures(50, 4, 10)
    assert domain.year_figures(rolled, "2023") is None
    group = domain.group_figures(
        [1, 2, 1], "2025", reports={1: yearly, 2: []}, funding={2: [(40, date(2025, 3, 1)), (9, None)]},
        tracked={1: (date(2020, 1, 1), None)}, on=date(2026, 1, 1),
    )  # fmt: skip
    assert (group.firms, group.reporters, group.revenue_median, group.investment_median) == (2, 1, 100.0, 20.0)
    assert [(s.years, s.eligible, s.survived) for s in group.survival] == [(1, 1, 1), (3, 1, 1), (5, 1, 1)]
