"""Investors, for program managers: the firms (Hangul search), a firm's page (its theses, partners,
introductions and rounds, and the companies that fit it), and the funding rounds with what was raised quarter
by quarter. The introductions pipeline and the matches are in pages/introductions.py."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from hub.investors.v1 import investors_pb2 as ipb
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from services.console.backend import Refusal, Signed
from services.console.charts import Series, bar_chart
from services.console.labels import enum_name, short_names
from services.console.pages.firms import SECTORS, STAGES
from services.console.pages.home import _all, _ok, names_of
from services.console.web import Page, admins, posted, refused

FIRM_TYPES = short_names(ipb.FirmType)
QUARTERS = 8  # the funding chart: this quarter and the seven before it


async def every(call: Callable[[Any], Awaitable[Any]], request: Any, field: str, most: int = 2000) -> list[Any]:
    """Every item of a listing, page after page (up to most)."""
    items: list[Any] = []
    while True:
        answer = await call(request)
        items += getattr(answer, field)
        request.page_token = answer.next_page_token
        if not request.page_token or len(items) >= most:
            return items


async def firm_names(hub: Signed) -> dict[str, str]:
    """firms/3 → 가온모빌리티 CVC, for every firm."""
    firms = await every(hub.investors.ListFirms, ipb.ListFirmsRequest(page_size=500), "firms")
    return {f.name: f.korean_name for f in firms}


def number_of(name: str) -> int:
    """introductions/12 → 12, for the console's addresses."""
    return int(name.rpartition("/")[2] or 0)


def to_date(value: Any) -> date | None:
    """A google.type.Date as a date (None when unset)."""
    return date(value.year, value.month, value.day) if value and value.year else None


@admins
async def firm_list(request: Request, page: Page) -> Response:
    query, kind = request.query_params.get("q", "").strip(), request.query_params.get("type", "")
    asked = ipb.ListFirmsRequest(page_size=100, page_token=request.query_params.get("page", ""), query=query,
                                 filter=f"type={kind}" if kind in FIRM_TYPES else "")  # fmt: skip
    found = await page.hub.investors.ListFirms(asked)
    return page.render("investors.html", firms=found.firms, next_page=found.next_page_token, query=query,
                       kind=kind, kinds=FIRM_TYPES, request_id=str(uuid.uuid4()), sectors=SECTORS,
                       stages=STAGES)  # fmt: skip


@admins
async def firm_page(request: Request, page: Page) -> Response:
    name, hub = f"firms/{request.path_params['firm']}", page.hub
    firm = await hub.investors.GetFirm(ipb.GetFirmRequest(name=name))
    answers = await _all({
        "partners": hub.investors.ListPartners(ipb.ListPartnersRequest(filter=f"firm={name}", page_size=100)),
        "introductions": every(hub.investors.ListIntroductions,
                               ipb.ListIntroductionsRequest(filter=f"firm={name}", page_size=500), "introductions"),
        "rounds": hub.investors.ListRounds(ipb.ListRoundsRequest(filter=f"firm={name}", page_size=100)),
        "fits": hub.investors.MatchCompanies(ipb.MatchCompaniesRequest(firm=name, max_results=5)),
    })  # fmt: skip
    introductions = answers["introductions"]
    introductions = [] if isinstance(introductions, Refusal) else introductions
    rounds = _ok(answers, "rounds", "rounds")
    names = await names_of(hub, [i.company for i in introductions] + [r.company for r in rounds])
    return page.render(
        "firm.html", firm=firm, partners=_ok(answers, "partners", "partners"), introductions=introductions,
        rounds=rounds, fits=_ok(answers, "fits", "matches"), names=names, request_id=str(uuid.uuid4()),
        missing=sorted(k for k, v in answers.items() if isinstance(v, Refusal)), kinds=FIRM_TYPES, sectors=SECTORS,
        stages=STAGES,
    )  # fmt: skip


async def add_partner(request: Request) -> Response:
    page, form = await posted(request)
    firm = f"firms/{request.path_params['firm']}"
    partner = ipb.Partner(
        firm=firm, korean_name=str(form.get("korean_name", "")), english_name=str(form.get("english_name", "")),
        title=str(form.get("title", "")), email=str(form.get("email", "")),
    )  # fmt: skip
    asked = ipb.CreatePartnerRequest(partner=partner, request_id=str(form.get("request_id", "")) or str(uuid.uuid4()))
    await page.hub.investors.CreatePartner(asked)
    return page.back(f"/investors/{firm}", "ok", page._("The partner is added."))


@dataclass(frozen=True)
class FundingRound:
    """One funding round as the page shows it."""

    name: str
    number: int
    company: str
    company_name: str
    kind: str  # SEED, SERIES_A, …
    status: str  # OPEN, CLOSED, CANCELLED
    amount: int
    pre_money: int
    lead: str
    participants: list[tuple[str, int]] = field(default_factory=list)  # (firm's name, amount)
    announced: date | None = None
    closed: date | None = None
    etag: str = ""


@admins
async def funding_rounds(request: Request, page: Page) -> Response:
    hub = page.hub
    answers = await _all({
        "rounds": every(hub.investors.ListRounds, ipb.ListRoundsRequest(page_size=500), "rounds"),
        "stats": hub.investors.GetInvestorStats(ipb.GetInvestorStatsRequest()),
        "firms": firm_names(hub),
    })  # fmt: skip
    if isinstance(answers["rounds"], Refusal):
        return refused(page, answers["rounds"])
    firms = {} if isinstance(answers["firms"], Refusal) else answers["firms"]
    names = await names_of(hub, [r.company for r in answers["rounds"]])
    rounds = [
        FundingRound(
            r.name, number_of(r.name), r.company, names.get(r.company, r.company), enum_name(r, "round_type"),
            enum_name(r, "status"), r.amount.units, r.pre_money_valuation.units, firms.get(r.lead_firm, r.lead_firm),
            [(firms.get(p.firm, p.firm), p.amount.units) for p in r.participants if p.firm != r.lead_firm],
            to_date(r.announce_date), to_date(r.close_date), r.etag,
        )
        for r in reversed(answers["rounds"])  # the newest first
    ]  # fmt: skip
    today = datetime.now(UTC).astimezone(ZoneInfo(page.app.settings.time_zone)).date()
    by_quarter = raised_by_quarter(rounds, today)
    won = page.app.templates[page.session.lang].filters["won"]
    title = page._("Funding raised by quarter (closed rounds)")
    chart = bar_chart(Series(page._("Funding raised"), by_quarter), title, [won(v) for _, v in by_quarter])
    stats = None if isinstance(answers["stats"], Refusal) else answers["stats"]
    return page.render("funding_rounds.html", rounds=rounds, chart=Markup(chart), chart_title=title, stats=stats)


def raised_by_quarter(rounds: list[FundingRound], today: date, count: int = QUARTERS) -> list[tuple[str, float]]:
    """The closed rounds' amounts summed by the quarter they closed in, for the count quarters up to today's
    (a quarter without a round is 0): [("2026-Q3", 0.0), ("2026-Q4", 7_300_000_000.0)]."""
    now = today.year * 4 + (today.month - 1) // 3
    sums = {now - i: 0.0 for i in range(count)}
    for r in rounds:
        if r.status == "CLOSED" and r.closed is not None:
            quarter = r.closed.year * 4 + (r.closed.month - 1) // 3
            if quarter in sums:
                sums[quarter] += r.amount
    return [(f"{q // 4}-Q{q % 4 + 1}", sums[q]) for q in sorted(sums)]


async def close_round(request: Request) -> Response:
    page, form = await posted(request)
    asked = ipb.CloseRoundRequest(name=f"rounds/{request.path_params['round']}", etag=str(form.get("etag", "")))
    await page.hub.investors.CloseRound(asked)
    return page.back("/investors/rounds", "ok", page._("The round is closed; it now counts in the company's funding."))
