"""Matching: how well a firm's thesis fits a company, explained per component. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass

from services.investors.domain.firms import HOME_GEOGRAPHY, STAGES, Firm, Thesis, won
from services.investors.domain.introductions import DirectoryCompany

# Matching: how well a thesis fits a company, explained per component

WEIGHTS = {"sector": 40, "stage": 30, "ticket": 20, "geography": 10}


@dataclass(frozen=True)
class Component:
    component: str
    points: int
    max_points: int
    explanation: str


@dataclass(frozen=True)
class Fit:
    score: int  # 0-100
    thesis: str
    components: tuple[Component, ...]


def _sector(company: DirectoryCompany, thesis: Thesis) -> Component:
    top = WEIGHTS["sector"]
    if not thesis.sectors:
        return Component("sector", top, top, "the thesis takes any sector")
    if company.sector in thesis.sectors:
        return Component("sector", top, top, f"{company.sector} is one of the thesis's sectors")
    wanted = ", ".join(thesis.sectors)
    return Component("sector", 0, top, f"{company.sector or 'an unknown sector'} is not among {wanted}")


def _stage(company: DirectoryCompany, thesis: Thesis) -> Component:
    top = WEIGHTS["stage"]
    if not thesis.stages:
        return Component("stage", top, top, "the thesis takes any stage")
    if not company.stage:
        return Component("stage", top // 2, top, "the company's stage is unknown")
    if company.stage in thesis.stages:
        return Component("stage", top, top, f"{company.stage} is one of the thesis's stages")
    here = STAGES.index(company.stage)
    nearest = min(abs(STAGES.index(s) - here) for s in thesis.stages)
    wanted = ", ".join(thesis.stages)
    if nearest == 1:
        return Component("stage", top // 2, top, f"{company.stage} is one stage from {wanted}")
    return Component("stage", 0, top, f"{company.stage} is {nearest} stages from {wanted}")


def _ticket(thesis: Thesis, round_amount: int | None) -> Component:
    top = WEIGHTS["ticket"]
    low, high = thesis.ticket_min, thesis.ticket_max
    if not low and not high:
        return Component("ticket", top, top, "the thesis names no ticket range")
    span = f"{won(low) if low else 'any'}–{won(high) if high else 'any'}"
    if round_amount is None:
        return Component("ticket", top // 2, top, f"no open round to compare with the ticket range {span}")
    size = won(round_amount)
    if (not low or round_amount >= low) and (not high or round_amount <= high):
        return Component("ticket", top, top, f"the open round of {size} is within the ticket range {span}")
    if (not low or round_amount >= low // 2) and (not high or round_amount <= high * 2):
        return Component("ticket", top // 2, top, f"the open round of {size} is within a factor 2 of {span}")
    return Component("ticket", 0, top, f"the open round of {size} is far outside the ticket range {span}")


def _geography(thesis: Thesis) -> Component:
    top = WEIGHTS["geography"]
    if not thesis.geographies:
        return Component("geography", top, top, "the thesis takes any geography")
    if HOME_GEOGRAPHY in thesis.geographies:
        return Component("geography", top, top, f"the thesis includes {HOME_GEOGRAPHY}")
    return Component("geography", 0, top, f"the thesis covers {', '.join(thesis.geographies)}, not {HOME_GEOGRAPHY}")


def score_fit(company: DirectoryCompany, thesis: Thesis, round_amount: int | None) -> Fit:
    """How well one thesis fits a company, 0-100: sector 40, stage 30, ticket 20 (against the company's
    open round, if any), geography 10; each component full, half or nothing, with the reason."""
    parts = (_sector(company, thesis), _stage(company, thesis), _ticket(thesis, round_amount), _geography(thesis))
    return Fit(sum(p.points for p in parts), thesis.title, parts)


def best_fit(company: DirectoryCompany, firm: Firm, round_amount: int | None) -> Fit | None:
    """The firm's best-fitting thesis (the first, on a tie); None for a firm without theses."""
    fits = [score_fit(company, thesis, round_amount) for thesis in firm.theses]
    return max(fits, key=lambda f: f.score, default=None)
