"""A firm's deal flow (the companies whose founders granted it DEAL_FLOW, with the fit the program managers'
matching computes) and the KPI updates of the companies it invested in, cut to the figure groups granted.
Pure Python.

A founder puts the company in a firm's deal flow with the firm's sharing grant: DEAL_FLOW (with PROFILE, and
NAMES or WEBSITE if they like) for each firm they choose. What the partner sees of the company is the grant's
field groups, no more; the fit is matching.score_fit's, so the reasons are the same ones program managers read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from hubcore.resources import OfCompany
from services.investors.domain.firms import Firm
from services.investors.domain.introductions import SHAREABLE_FIELDS, DirectoryCompany
from services.investors.domain.matching import Fit, score_fit
from services.investors.domain.sharing import DEAL_FLOW, GROUP_OF, KPI_FIGURES

# The filter's fields of ListDealFlow; a thesis is named by its title
DEAL_FLOW_TERMS = ("sector", "stage", "tag", "thesis")


def in_deal_flow(granted: Iterable[str]) -> bool:
    return DEAL_FLOW in set(granted)


def shown_fields(granted: Iterable[str]) -> tuple[str, ...]:
    """The company's fields a grant shows: those of its groups."""
    allowed = set(granted)
    return tuple(f for f in SHAREABLE_FIELDS if GROUP_OF[f] in allowed)


@dataclass(frozen=True)
class DealFlowEntry:
    company: DirectoryCompany
    fields: tuple[str, ...]  # what the grant shows of it
    groups: tuple[str, ...]  # the grant's groups
    fit: Fit | None  # None for a firm without theses
    introduction: str = ""  # the firm's open introduction to it that the firm can see


def deal_flow_fit(company: DirectoryCompany, firm: Firm, theses: Iterable[str], round_amount: int | None) -> Fit | None:
    """The fit of the firm's best thesis, among those named (their titles) if any; None if none is left. The
    score and its reasons are matching.score_fit's, the same as MatchCompanies shows program managers."""
    wanted = set(theses)
    fits = [score_fit(company, t, round_amount) for t in firm.theses if not wanted or t.title in wanted]
    return max(fits, key=lambda f: f.score, default=None)


def wanted(company: DirectoryCompany, terms: Mapping[str, list[str]]) -> bool:
    """The company meets the filter's sector, stage and tag terms (values of one field: any of them)."""
    checks = (("sector", {company.sector}), ("stage", {company.stage}), ("tag", set(company.tags)))
    return all(not terms.get(name) or have & set(terms[name]) for name, have in checks)


# KPI updates: one per KPI report of a company (its latest correction), kept from hub.companies.kpi.reported


@dataclass(frozen=True)
class CompanyUpdate(OfCompany):
    """A company's KPI report for one period, as its latest version (a correction) holds it."""

    id: int
    company_id: int
    period: str  # "2026-11" or "2026-Q4": one update per company and period
    report_id: int  # the companies service's report of the latest version (kpiReports/12)
    figures: dict[str, object] = field(default_factory=dict)  # by the event's names; an unknown figure absent
    reported_at: datetime | None = None
    version: int = 1

    @property
    def name(self) -> str:
        return f"companies/{self.company_id}/updates/{self.period}"

    def granted(self, groups: Iterable[str]) -> dict[str, object]:
        """The figures of the groups granted; the others are not shown."""
        allowed = set(groups)
        return {k: v for k, v in self.figures.items() if k in KPI_FIGURES and GROUP_OF[k] in allowed}
