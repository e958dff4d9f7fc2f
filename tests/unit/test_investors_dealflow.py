"""Deal flow's pure rules: which fields a grant shows, DEAL_FLOW only with PROFILE, the fit of the named
theses (the matching's scorer), the filter, the figures of a KPI update a grant lets through, and the access
log's entries for what has no introduction."""

from __future__ import annotations

import pytest

from hubcore.errors import InvalidArgument
from services.investors import domain

COMPANY = domain.DirectoryCompany(id=7, korean_name="닥터노트", sector="MEDICAL", stage="SEED", tags=("vision",))
FIRM = domain.Firm(
    id=3, korean_name="한빛벤처스", type="VC",
    theses=(
        domain.Thesis(title="헬스케어", sectors=("MEDICAL",), stages=("SEED",)),
        domain.Thesis(title="에듀테크", sectors=("EDUCATION",), stages=("SERIES_A",)),
    ),
)  # fmt: skip


def test_a_grant_shows_the_fields_of_its_groups_and_deal_flow_needs_profile() -> None:
    assert domain.shown_fields(("PROFILE", "DEAL_FLOW")) == ("sector", "stage", "tags")
    assert domain.shown_fields(("NAMES", "KPI_TEAM")) == ("korean_name", "english_name")
    assert domain.in_deal_flow(("PROFILE", "DEAL_FLOW")) and not domain.in_deal_flow(("PROFILE",))
    assert domain.field_groups(["KPI_IP", "DEAL_FLOW", "PROFILE"], "f") == ("PROFILE", "DEAL_FLOW", "KPI_IP")
    with pytest.raises(InvalidArgument):
        domain.field_groups(["NAMES", "DEAL_FLOW"], "f")


def test_the_deal_flow_fit_is_the_matchings_for_the_theses_named() -> None:
    best = domain.deal_flow_fit(COMPANY, FIRM, (), None)
    assert best == domain.best_fit(COMPANY, FIRM, None)
    assert best is not None and best.thesis == "헬스케어"
    named = domain.deal_flow_fit(COMPANY, FIRM, ["에듀테크"], None)
    assert named == domain.score_fit(COMPANY, FIRM.theses[1], None)
    assert domain.deal_flow_fit(COMPANY, FIRM, ["없는 논지"], None) is None


def test_the_filter_reads_sector_stage_and_tags() -> None:
    assert domain.wanted(COMPANY, {})
    assert domain.wanted(COMPANY, {"sector": ["EDUCATION", "MEDICAL"], "tag": ["vision"]})
    assert not domain.wanted(COMPANY, {"stage": ["SERIES_A"]})
    assert not domain.wanted(COMPANY, {"tag": ["kids"]})


def test_an_update_shows_only_the_figures_of_the_granted_groups() -> None:
    figures = {"headcount": 12, "revenue_krw": 3, "cash_on_hand_krw": 9, "patents": 1, "overseas_countries": ["JP"]}
    update = domain.CompanyUpdate(id=1, company_id=7, period="2026-Q3", report_id=40, figures=figures)
    assert update.name == "companies/7/updates/2026-Q3"
    assert update.granted(("KPI_TEAM", "KPI_FINANCE", "NAMES")) == {"headcount": 12, "cash_on_hand_krw": 9}
    assert update.granted(("PROFILE", "DEAL_FLOW")) == {}


def test_what_has_no_introduction_is_logged_by_company_and_groups() -> None:
    shown = [
        domain.Shown(0, 7, ("korean_name", "sector"), ("DEAL_FLOW",)),
        domain.Shown(0, 8, ("headcount",)),
        domain.Shown(5, 7, ("website",)),
    ]
    assert domain.reads_of(shown) == {
        7: (("introductions/5",), ("NAMES", "PROFILE", "WEBSITE", "DEAL_FLOW")),
        8: ((), ("KPI_TEAM",)),
    }
