"""The program's pure rules: weighted ranking, ties and their explanations, conflicts of interest,
decisions and seats, overlapping periods, KPI periods, quotas, milestones, growth rules, KPI trends."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction

import pytest

from hubcore.errors import FailedPrecondition, InvalidArgument
from services.companies.program import domain
from services.companies.program.domain import Application, Criterion

CRITERIA = [Criterion("tech", "기술성", 40), Criterion("market", "시장성", 30), Criterion("team", "팀", 30)]
T0 = datetime(2026, 3, 1, tzinfo=UTC)


def apps(*names: str) -> list[tuple[str, str, datetime]]:
    return [(f"applications/{n}", f"companies/{n}", T0 + timedelta(minutes=n)) for n in map(int, names)]


def test_weighted_score_is_exact() -> None:
    assert domain.weighted_score(CRITERIA, {"tech": 10, "market": 5, "team": 0}) == Fraction(55, 10)


def test_rank_by_mean_weighted_score_unscored_last() -> None:
    scores = [
        ("applications/1", "kim", {"tech": 6, "market": 6, "team": 6}),
        ("applications/2", "kim", {"tech": 9, "market": 9, "team": 9}),
        ("applications/2", "lee", {"tech": 7, "market": 7, "team": 7}),
    ]
    ranked = domain.rank(CRITERIA, apps("1", "2", "3"), scores, set())
    assert [r.application for r in ranked] == ["applications/2", "applications/1", "applications/3"]
    assert ranked[0].score == 8 and ranked[0].reviews == 2
    assert ranked[0].explanation == "weighted score 8.00 from 2 review(s)"
    assert ranked[2].explanation == "no counted reviews yet"


def test_ties_go_to_the_heaviest_criterion_and_are_explained() -> None:
    scores = [
        ("applications/1", "kim", {"tech": 6, "market": 8, "team": 8}),  # (240+240+240)/100 = 7.2
        ("applications/2", "kim", {"tech": 8, "market": 7, "team": 7}),  # (320+210+210)/100 = 7.4
        ("applications/3", "kim", {"tech": 9, "market": 6, "team": 6}),  # (360+180+180)/100 = 7.2
    ]
    ranked = domain.rank(CRITERIA, apps("1", "2", "3"), scores, set())
    assert [r.application for r in ranked] == ["applications/2", "applications/3", "applications/1"]
    assert ranked[1].explanation == "weighted score 7.20 from 1 review(s)"
    assert ranked[2].explanation == "tied with applications/3 at 7.20; behind on 기술성 (weight 40): 6.00 vs 9.00"


def test_a_full_tie_goes_to_the_earlier_submission() -> None:
    same = {"tech": 7, "market": 7, "team": 7}
    ranked = domain.rank(
        CRITERIA, apps("2", "1"), [("applications/1", "kim", same), ("applications/2", "kim", same)], set()
    )
    assert [r.application for r in ranked] == ["applications/1", "applications/2"]
    assert ranked[1].explanation == "tied with applications/1 at 7.00 on every criterion; submitted later"


def test_a_conflicted_reviewers_score_does_not_count() -> None:
    scores = [
        ("applications/1", "kim", {"tech": 10, "market": 10, "team": 10}),
        ("applications/1", "lee", {"tech": 5, "market": 5, "team": 5}),
    ]
    ranked = domain.rank(CRITERIA, apps("1"), scores, {("kim", "companies/1")})
    assert ranked[0].score == 5 and ranked[0].reviews == 1


def uniform(value: int) -> dict[str, int]:
    return {"tech": value, "market": value, "team": value}


def test_two_reviewers_on_shifted_scales_rank_alike_once_normalized_and_not_before() -> None:
    """A lenient reviewer scores their four applications 10, 9, 8, 7; a harsh one theirs 5, 4, 3, 2: the same
    judgement on scales three points apart. Raw, every lenient pick outranks every harsh one; normalized, each
    reviewer's first, second... stand together."""
    lenient = [(f"applications/{n}", "reviewers/1", uniform(11 - n)) for n in (1, 2, 3, 4)]
    harsh = [(f"applications/{n}", "reviewers/2", uniform(10 - n)) for n in (5, 6, 7, 8)]
    applications = apps("1", "2", "3", "4", "5", "6", "7", "8")

    raw = domain.rank(CRITERIA, applications, lenient + harsh, set())
    assert [r.application for r in raw] == [f"applications/{n}" for n in (1, 2, 3, 4, 5, 6, 7, 8)]
    assert (raw[3].score, raw[4].score) == (7, 5)  # the lenient one's worst above the harsh one's best

    normalized = domain.rank(CRITERIA, applications, lenient + harsh, set(), domain.NORMALIZED)
    assert [r.application for r in normalized] == [f"applications/{n}" for n in (1, 5, 2, 6, 3, 7, 4, 8)]
    by_name = {r.application: r for r in normalized}
    for mine, theirs in zip((1, 2, 3, 4), (5, 6, 7, 8), strict=True):
        assert by_name[f"applications/{mine}"].normalized == pytest.approx(by_name[f"applications/{theirs}"].normalized)
    assert by_name["applications/1"].normalized == pytest.approx(1.3416, abs=1e-4)  # (10 - 8.5) / sd 1.118
    assert normalized[0].explanation == "normalized score 1.34 (weighted 10.00) from 1 review(s)"
    assert normalized[1].explanation == "tied with applications/1 at normalized score 1.34; weighted 5.00 vs 10.00"
    # Both scores are on every entry whichever orders the ranking.
    assert [r.normalized for r in raw] == [by_name[r.application].normalized for r in raw]


def test_a_reviewer_with_one_score_or_all_alike_is_normalized_to_zero() -> None:
    z = domain.z_scores({("applications/1", "kim"): Fraction(9), ("applications/2", "lee"): Fraction(7),
                         ("applications/3", "lee"): Fraction(7)})  # fmt: skip
    assert z == {("applications/1", "kim"): 0.0, ("applications/2", "lee"): 0.0, ("applications/3", "lee"): 0.0}
    conflicted = domain.rank(
        CRITERIA, apps("1", "2"),
        [("applications/1", "kim", uniform(9)), ("applications/2", "kim", uniform(3))],
        {("kim", "companies/2")}, domain.NORMALIZED,
    )  # fmt: skip
    # A conflicted score counts neither in the ranking nor in the reviewer's scale.
    assert [(r.application, r.normalized) for r in conflicted] == [("applications/1", 0.0), ("applications/2", None)]


def test_score_values_must_cover_the_criteria_within_range() -> None:
    r = domain.Round(1, "2026 상반기", date(2026, 1, 1), date(2026, 1, 31), {"OPEN_DESK": 3}, CRITERIA)
    domain.check_score_values(r, {"tech": 0, "market": 10, "team": 5})
    with pytest.raises(InvalidArgument) as bad:
        domain.check_score_values(r, {"tech": 11, "market": 1, "price": 3})
    problems = [d for _, d in bad.value.violations]
    assert any("'price' is not a criterion" in p for p in problems)
    assert any("'team' is not scored" in p for p in problems)
    assert any("tech: 11" in p for p in problems)


def test_round_rules() -> None:
    with pytest.raises(InvalidArgument) as bad:
        domain.check_round(
            domain.Round(0, "x", date(2026, 2, 1), date(2026, 1, 1), {}, [Criterion("a", "", 0), Criterion("a", "", 1)])
        )
    assert {f for f, _ in bad.value.violations} == {"round.close_date", "round.seats", "round.criteria"}
    r = domain.Round(1, "x", date(2026, 1, 1), date(2026, 1, 31), {"OPEN_DESK": 2}, CRITERIA)
    r.require_open(date(2026, 1, 31))
    with pytest.raises(FailedPrecondition):
        r.require_open(date(2026, 2, 1))
    assert domain.competition_ratio(7, 2) == 3.5 and domain.competition_ratio(3, 0) == 0.0


def test_decisions_and_seats() -> None:
    a = Application(1, 1, "companies/1", "OPEN_DESK")
    waitlisted = a.decide("WAITLISTED", "다음 기회", selected_of_kind=0, seats_of_kind=1)
    assert waitlisted.state == "WAITLISTED" and waitlisted.version == 2
    selected = waitlisted.decide("SELECTED", "자리 남", selected_of_kind=0, seats_of_kind=1)
    with pytest.raises(FailedPrecondition, match="none \\(final\\)"):
        selected.decide("REJECTED", "x", selected_of_kind=1, seats_of_kind=1)
    with pytest.raises(FailedPrecondition, match="seat"):
        a.decide("SELECTED", "x", selected_of_kind=1, seats_of_kind=1)


def test_half_open_overlaps() -> None:
    d = date
    assert domain.overlaps(d(2026, 1, 1), d(2026, 2, 1), d(2026, 1, 31), None)
    assert not domain.overlaps(d(2026, 1, 1), d(2026, 2, 1), d(2026, 2, 1), None)
    assert domain.overlaps(d(2026, 3, 1), None, d(2026, 1, 1), None)
    assert not domain.overlaps(d(2026, 3, 1), None, d(2026, 1, 1), d(2026, 3, 1))


def test_kpi_periods() -> None:
    assert domain.check_period("2026-03") == "2026-03"
    assert domain.check_period("2026-q2") == "2026-Q2"
    for bad in ("2026-13", "2026-Q5", "26-01", "2026/01", "0001-01", "9999-Q4", "1999-12"):
        with pytest.raises(InvalidArgument):
            domain.check_period(bad)
    # A report on a period that has not begun is refused; the current month and quarter are fine.
    today = date(2026, 12, 4)
    assert domain.check_period("2026-12", today=today) == "2026-12"
    assert domain.check_period("2026-Q4", today=today) == "2026-Q4"
    for future in ("2027-01", "2027-Q1"):
        with pytest.raises(InvalidArgument, match="has not begun"):
            domain.check_period(future, today=today)


def test_quota() -> None:
    ok = {"kind": "GPU_HOURS", "subject": "companies/1", "override_reason": ""}
    domain.check_quota(used=90, quota=100, amount=10, **ok)
    with pytest.raises(FailedPrecondition, match="used 90 of 100"):
        domain.check_quota(used=90, quota=100, amount=11, **ok)
    with pytest.raises(FailedPrecondition, match="no GPU_HOURS quota"):
        domain.check_quota(used=0, quota=None, amount=1, **ok)
    domain.check_quota(used=90, quota=100, amount=50, **(ok | {"override_reason": "경진대회 마감"}))
    domain.check_quota(used=0, quota=None, amount=5, **(ok | {"kind": "EDUCATION_SEAT"}))


def test_period_ends() -> None:
    assert domain.period_end("2026-02") == date(2026, 2, 28)
    assert domain.period_end("2026-12") == date(2026, 12, 31)
    assert domain.period_end("2026-Q1") == date(2026, 3, 31)
    assert domain.period_end("2026-Q4") == date(2026, 12, 31)


def test_month_starts() -> None:
    assert domain.month_start(date(2026, 11, 25), 0) == date(2026, 11, 1)
    assert domain.month_start(date(2026, 11, 25), 2) == date(2027, 1, 1)


def test_milestones_need_a_past_date_and_evidence() -> None:
    today = date(2026, 3, 1)
    domain.check_milestone(achieved=today, today=today, evidence_url="", evidence="계약서")
    with pytest.raises(InvalidArgument) as caught:
        domain.check_milestone(achieved=date(2026, 3, 2), today=today, evidence_url=" ", evidence="")
    assert [f for f, _ in caught.value.violations] == ["milestone.achieve_date", "milestone.evidence"]


def test_growth_reasons_one_per_rule_met() -> None:
    rules = domain.GrowthRules(funding_krw=100, revenue_growth_pct=30, milestone_kinds=("FUNDING",))
    assert domain.growth_reasons(rules, funding=99, reports=[], milestones=[("PRODUCT_LAUNCH", date(2026, 1, 1))]) == []
    reasons = domain.growth_reasons(
        rules, funding=100, reports=[("2026-03", 13), ("2025-Q4", 30)], milestones=[("FUNDING", date(2026, 2, 1))]
    )
    assert reasons == [
        "raised 100 KRW in closed rounds (rule: ≥ 100)",
        "revenue up 30% from 2025-Q4 to 2026-03 (rule: ≥ 30%)",  # 10 a month, then 13
        "milestone FUNDING on 2026-02-01",
    ]
    off = domain.GrowthRules(funding_krw=0, revenue_growth_pct=0, milestone_kinds=())
    assert off.describe() == []
    assert domain.growth_reasons(off, funding=10**12, reports=[("2025-01", 1), ("2026-01", 99)], milestones=[]) == []
    with pytest.raises(ValueError):
        domain.GrowthRules(milestone_kinds=("IPO",))


def test_revenue_growth_needs_two_periods_and_revenue_to_start_from() -> None:
    assert domain.revenue_growth([("2026-01", 10)]) is None
    assert domain.revenue_growth([("2026-01", 0), ("2026-02", 10)]) is None
    assert domain.revenue_growth([("2026-02", 5), ("2026-01", 10)]) == ("2026-01", "2026-02", Fraction(-1, 2))


def test_growth_rules_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.companies.program.policy import growth_rules_from_env

    assert growth_rules_from_env() == domain.GrowthRules()
    monkeypatch.setenv("HUB_GROWTH_FUNDING_KRW", "0")
    monkeypatch.setenv("HUB_GROWTH_MILESTONES", "none")
    assert growth_rules_from_env() == domain.GrowthRules(funding_krw=0, milestone_kinds=())
    monkeypatch.setenv("HUB_GROWTH_MILESTONES", "funding, Overseas_Entry")
    assert growth_rules_from_env().milestone_kinds == ("FUNDING", "OVERSEAS_ENTRY")
    monkeypatch.setenv("HUB_GROWTH_MILESTONES", "ipo")
    with pytest.raises(ValueError):
        growth_rules_from_env()


def test_quarters_roll_up_months_and_prefer_the_quarterly_report() -> None:
    assert [domain.quarter_of(p) for p in ("2026-01", "2026-03", "2026-04", "2026-12", "2026-Q2")] == [
        "2026-Q1", "2026-Q1", "2026-Q2", "2026-Q4", "2026-Q2",
    ]  # fmt: skip
    rolled = domain.quarterly([("2026-02", 4, 10), ("2026-01", 3, 10), ("2026-04", 5, 7), ("2026-Q2", 6, 30)])
    assert rolled == {"2026-Q1": (4, 20), "2026-Q2": (6, 30)}


def test_trend_points_sum_and_median_per_quarter() -> None:
    assert domain.median([]) == 0.0 and domain.median([3, 1, 2]) == 2.0 and domain.median([4, 1, 3, 2]) == 2.5
    points = domain.trend_points([("2026-Q2", 1, 10, 0), ("2026-Q1", 2, 20, 5), ("2026-Q1", 4, 40, 0)])
    assert points == [
        domain.TrendPoint("2026-Q1", 2, (6, 3.0), (60, 30.0), (5, 2.5)),
        domain.TrendPoint("2026-Q2", 1, (1, 1.0), (10, 10.0), (0, 0.0)),
    ]


def test_kpi_schedules_periods_due_dates_and_the_completion_rate() -> None:
    monthly = replace(domain.new_schedule(domain.MONTHLY, [], [], 0), id=1)
    quarterly = replace(domain.new_schedule(domain.QUARTERLY, [], ["REVENUE", "HEADCOUNT", "REVENUE"], 5), id=2)
    assert (monthly.due_days, monthly.figures) == (10, domain.BASIC_FIGURES)
    assert quarterly.figures == ("HEADCOUNT", "REVENUE")  # in the form's order, once each
    assert monthly.period(date(2026, 11, 20)) == "2026-11" and quarterly.period(date(2026, 11, 20)) == "2026-Q4"
    assert monthly.due_on("2026-12") == date(2027, 1, 10) and quarterly.due_on("2026-Q4") == date(2027, 1, 5)
    for cadence, figures, due_days, field in (
        ("WEEKLY", [], 0, "schedule.cadence"), (domain.MONTHLY, [""], 0, "schedule.figures[0]"),
        (domain.MONTHLY, [], 91, "schedule.due_days"), (domain.MONTHLY, [], -1, "schedule.due_days"),
    ):  # fmt: skip
        with pytest.raises(InvalidArgument) as refused:
            domain.new_schedule(cadence, [], figures, due_days)
        assert [f for f, _ in refused.value.violations] == [field]

    def asked(company: int, period: str, due: date) -> domain.KpiRequest:
        return domain.KpiRequest(company, 1, company, period, due, domain.FIGURES)

    def at(day: date) -> datetime:  # 23:30 in Seoul, the last half hour of the day
        return datetime(day.year, day.month, day.day, 14, 30, tzinfo=UTC)

    due = date(2026, 12, 10)
    on_time = asked(1, "2026-11", due).answer(7, at(due), "founder:x", "")
    late = asked(2, "2026-11", due).answer(8, at(due) + timedelta(hours=1), "admin:y", "대리 입력")
    assert on_time.on_time and not late.on_time and late.answer(9, at(due), "founder:x", "") == late
    requests = [on_time, late, asked(3, "2026-11", due), asked(1, "2026-Q4", date(2027, 1, 10))]
    periods, overall = domain.completion(requests, date(2026, 12, 20))
    assert [(c.period, c.requested, c.answered, c.on_time, c.overdue) for c in periods] == [
        ("2026-Q4", 1, 0, 0, 0), ("2026-11", 3, 2, 1, 1),
    ]  # fmt: skip
    assert periods[1].rate == pytest.approx(1 / 3)
    assert (overall.requested, overall.on_time, overall.rate) == (4, 1, 0.25)
    assert domain.Completion("2026-10").rate == 0.0
    assert domain.on_behalf("founder", "무시됨") == "" and domain.on_behalf("admin", " 출장 ") == "출장"
    with pytest.raises(InvalidArgument):
        domain.on_behalf("admin", "  ")
