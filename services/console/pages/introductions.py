"""Warm introductions, for program managers: the pipeline board (a column per state, each card the company →
the firm with its age, and the steps a program manager may take from there), and a company's matches with why
each firm fits, from which an introduction is requested. The investors service decides every step: the board
only offers the ones its state machine allows a program manager."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hub.companies.v1 import companies_pb2 as cpb
from hub.investors.v1 import investors_pb2 as ipb
from starlette.requests import Request
from starlette.responses import Response

from services.console.backend import Refusal
from services.console.labels import N_, enum_name
from services.console.pages.home import _all, names_of
from services.console.pages.investors import every, firm_names, number_of
from services.console.web import Page, admins, posted, refused

# The board: the open states in the order an introduction goes through them, then where it ended.
OPEN = ["REQUESTED", "COMPANY_CONSENTED", "PARTNER_ACCEPTED", "MEETING_HELD", "ON_HOLD"]
ENDED = ["INVESTED", "PASSED", "COMPANY_DECLINED", "PARTNER_DECLINED", "CANCELLED"]
# What a program manager may move an introduction to (the service's TRANSITIONS; it refuses any other). The
# company's answer, recorded for it, needs a reason.
NEXT = {
    "REQUESTED": ["COMPANY_CONSENTED", "COMPANY_DECLINED", "CANCELLED"],
    "COMPANY_CONSENTED": ["PARTNER_ACCEPTED", "PARTNER_DECLINED", "CANCELLED"],
    "PARTNER_ACCEPTED": ["MEETING_HELD", "CANCELLED"],
    "MEETING_HELD": ["INVESTED", "PASSED", "ON_HOLD"],
    "ON_HOLD": ["INVESTED", "PASSED"],
}
COMPONENTS = {"sector": N_("Sector"), "stage": N_("Stage"), "ticket": N_("Ticket size"),
              "geography": N_("Geography")}  # fmt: skip


@dataclass(frozen=True)
class Card:
    """One introduction on the board."""

    name: str
    number: int
    company: str
    company_name: str
    firm: str
    firm_name: str
    state: str
    note: str
    days: int  # since it was requested
    age: str  # the same, in words
    moves: list[str]
    etag: str


def days_since(moment: Any, now: datetime) -> int:
    return max(0, (now - moment.ToDatetime(tzinfo=UTC)).days) if moment.seconds else 0


def age_of(page: Page, days: int) -> str:
    if days == 0:
        return page._("requested today")
    return page._("requested 1 day ago") if days == 1 else page._("requested %(days)s days ago") % {"days": days}


@admins
async def pipeline(request: Request, page: Page) -> Response:
    hub = page.hub
    answers = await _all({
        "introductions": every(hub.investors.ListIntroductions, ipb.ListIntroductionsRequest(page_size=500),
                               "introductions"),
        "firms": firm_names(hub),
    })  # fmt: skip
    if isinstance(answers["introductions"], Refusal):
        return refused(page, answers["introductions"])
    introductions, firms = answers["introductions"], answers["firms"]
    firms = {} if isinstance(firms, Refusal) else firms
    names = await names_of(hub, [i.company for i in introductions])
    now = datetime.now(UTC)
    cards: dict[str, list[Card]] = {state: [] for state in OPEN + ENDED}
    for i in sorted(introductions, key=lambda i: (i.create_time.seconds, i.name)):
        state, days = enum_name(i, "state"), days_since(i.create_time, now)
        firm = firms.get(i.firm) or i.firm_display_name or i.firm
        card = Card(i.name, number_of(i.name), i.company, names.get(i.company, i.company), i.firm, firm, state,
                    i.note, days, age_of(page, days), NEXT.get(state, []), i.etag)  # fmt: skip
        cards.setdefault(state, []).append(card)
    return page.render("pipeline.html", live="*", cards=cards, open_states=OPEN, ended_states=ENDED,
                       total=len(introductions))  # fmt: skip


async def move_introduction(request: Request) -> Response:
    """A step along the pipeline; the company's answer, given by mail or phone, is recorded with a reason."""
    page, form = await posted(request)
    state = str(form.get("state", ""))
    wanted = ipb.IntroductionState.Value(f"INTRODUCTION_STATE_{state}") if state in OPEN + ENDED else 0
    asked = ipb.ChangeIntroductionStateRequest(
        name=f"introductions/{request.path_params['introduction']}", state=ipb.IntroductionState.ValueType(wanted),
        reason=str(form.get("reason", "")).strip(), etag=str(form.get("etag", "")),
    )  # fmt: skip
    moved = await page.hub.investors.ChangeIntroductionState(asked)
    label = page.app.templates[page.session.lang].filters["enum"](moved, "state")
    return page.back(str(form.get("back", "")) or "/investors/pipeline", "ok",
                     page._("The introduction is now: %(state)s") % {"state": label})  # fmt: skip


@dataclass(frozen=True)
class Match:
    """A firm that fits the company, with why, and the introduction already open between them, if any."""

    firm: str
    firm_name: str
    english_name: str
    score: int
    thesis: str
    reasons: list[tuple[str, int, int, str]]  # (component in words, points, of most, the service's explanation)
    open_state: str  # the open introduction's state, "" when one may be requested


@admins
async def matches(request: Request, page: Page) -> Response:
    hub, chosen = page.hub, request.query_params.get("company", "")
    company_name = f"companies/{chosen}" if chosen.isdigit() else ""
    asked: dict[str, Any] = {
        "companies": hub.companies.ListCompanies(cpb.ListCompaniesRequest(page_size=500, order_by="korean_name")),
    }
    if company_name:
        asked |= {
            "company": hub.companies.GetCompany(cpb.GetCompanyRequest(name=company_name)),
            "matches": hub.investors.MatchInvestors(ipb.MatchInvestorsRequest(company=company_name, max_results=10)),
            "open": every(hub.investors.ListIntroductions,
                          ipb.ListIntroductionsRequest(filter=f"company={company_name}", page_size=500),
                          "introductions"),
        }  # fmt: skip
    answers = await _all(asked)
    for key in ("company", "matches", "open"):
        if isinstance(answers.get(key), Refusal):
            return refused(page, answers[key])
    companies = [] if isinstance(answers["companies"], Refusal) else answers["companies"].companies
    found = [_match(page, m, answers["open"]) for m in answers["matches"].matches] if company_name else []
    return page.render("matches.html", companies=companies, chosen=company_name, company=answers.get("company"),
                       matches=found, request_ids=[str(uuid.uuid4()) for _ in found])  # fmt: skip


def _match(page: Page, m: Any, introductions: list[Any]) -> Match:
    ended = {ipb.IntroductionState.Value(f"INTRODUCTION_STATE_{s}") for s in ENDED}
    open_state = next((enum_name(i, "state") for i in introductions if i.firm == m.firm and i.state not in ended), "")
    reasons = [(page._(COMPONENTS.get(c.component, c.component)), c.points, c.max_points, c.explanation)
               for c in m.fit.components]  # fmt: skip
    return Match(m.firm, m.korean_name, m.english_name, m.fit.score, m.fit.thesis, reasons, open_state)


async def request_introduction(request: Request) -> Response:
    """Requests an introduction of a company to a firm; the request id the page drew makes a second click of
    the same form answer with the same introduction instead of a refusal."""
    page, form = await posted(request)
    company, firm = str(form.get("company", "")), str(form.get("firm", ""))
    introduction = ipb.Introduction(company=company, firm=firm, note=str(form.get("note", "")).strip())
    asked = ipb.CreateIntroductionRequest(
        introduction=introduction, request_id=str(form.get("request_id", "")) or str(uuid.uuid4())
    )
    await page.hub.investors.CreateIntroduction(asked)
    back = f"/investors/matches?company={number_of(company)}"
    return page.back(back, "ok", page._("The introduction is requested: the company is asked to agree first."))
