"""Companies: the program managers' list (Hangul search, filters by status and sector) and one company's page,
which is also a founder's home: everything that happened to it on one timeline, its KPI reports drawn, and, for
its founder, the introductions to answer, the KPI requests to report on and the completed sessions to rate."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from google.type import money_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import kpi_requests_pb2 as kpb
from hub.companies.v1 import program_pb2 as ppb
from hub.consulting.v1 import consulting_pb2 as spb
from hub.investors.v1 import investors_pb2 as ipb
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from services.console.backend import Refusal, Signed
from services.console.charts import Series, line_chart
from services.console.labels import short_names
from services.console.pages.home import _all, _ok
from services.console.pages.sessions import to_rate
from services.console.web import Page, act, refused

STATUSES = short_names(cpb.CompanyStatus)
SECTORS = short_names(cpb.Sector)
PAGE_SIZE = 50


async def company_list(request: Request) -> Response:
    page = Page(request)
    if (account := page.account) is None or account.role != "admin":
        return page.back("/")
    query = request.query_params.get("q", "").strip()
    status, sector = request.query_params.get("status", ""), request.query_params.get("sector", "")
    terms = ([f"status={status}"] if status in STATUSES else []) + ([f"sector={sector}"] if sector in SECTORS else [])
    asked = cpb.ListCompaniesRequest(page_size=PAGE_SIZE, page_token=request.query_params.get("page", ""),
                                     filter=" AND ".join(terms), query=query, order_by="korean_name")  # fmt: skip
    try:
        found = await page.hub.companies.ListCompanies(asked)
    except Refusal as refusal:
        return refused(page, refusal)
    return page.render(
        "companies.html", live="*", companies=found.companies, next_page=found.next_page_token, query=query,
        status=status, sector=sector, statuses=STATUSES, sectors=SECTORS,
    )  # fmt: skip


@dataclass(frozen=True)
class Moment:
    """One line of a company's timeline."""

    when: Any  # a Timestamp
    kind: str  # company, session, introduction, kpi, milestone
    text: str
    link: str = ""


async def company_page(request: Request) -> Response:
    page = Page(request)
    if page.account is None:
        return page.back("/sign-in")
    name = f"companies/{request.path_params['company']}"
    hub, admin = page.hub, page.account.role == "admin"
    try:
        company = await hub.companies.GetCompany(cpb.GetCompanyRequest(name=name))
    except Refusal as refusal:
        return refused(page, refusal)
    answers = await _all(company_calls(hub, name, admin))
    reports = sorted(_ok(answers, "reports", "reports"), key=lambda r: period_end(r.period))
    sessions = _ok(answers, "sessions", "sessions")
    rate = to_rate(sessions) if page.account.role == "founder" else []
    return page.render(
        "company.html", live=company.name, company=company, admin=admin,
        people=_ok(answers, "people", "people"), reports=reports,
        requests=[r for r in _ok(answers, "requests", "requests") if r.state == kpb.KPI_REQUEST_STATE_OPEN],
        introductions=_ok(answers, "introductions", "introductions"),
        grants=_ok(answers, "grants", "sharing_grants"),
        sessions=sessions, rate=rate, request_ids={s.name: str(uuid.uuid4()) for s in rate},
        timeline=_timeline(page, company, answers),
        revenue_chart=_revenue_chart(page, reports), headcount_chart=_headcount_chart(page, reports),
        missing=sorted(k for k, v in answers.items() if isinstance(v, Refusal)),
        intro_states={v: k.removeprefix("INTRODUCTION_STATE_") for k, v in ipb.IntroductionState.items()},
        session_states={v: k.removeprefix("SESSION_STATE_") for k, v in spb.SessionState.items()},
    )  # fmt: skip


def company_calls(hub: Signed, name: str, admin: bool) -> dict[str, Awaitable[Any]]:
    """What a company's page asks once it has the company, all at once (make bench measures the same calls)."""
    asked = {
        "people": hub.companies.ListPeople(cpb.ListPeopleRequest(filter=f"company={name}", page_size=100)),
        "reports": hub.program.ListKpiReports(ppb.ListKpiReportsRequest(company=name)),
        "requests": hub.program.ListKpiRequests(kpb.ListKpiRequestsRequest(parent=name, page_size=20)),
        "introductions": hub.investors.ListCompanyIntroductions(ipb.ListCompanyIntroductionsRequest(parent=name)),
        "grants": hub.investors.ListSharingGrants(ipb.ListSharingGrantsRequest(parent=name)),
        "sessions": hub.consulting.ListSessions(spb.ListSessionsRequest(filter=f"company={name}", page_size=100)),
    }
    if admin:
        asked["milestones"] = hub.program.ListMilestones(ppb.ListMilestonesRequest(filter=f"company={name}"))
    return asked


def _timeline(page: Page, company: Any, answers: dict[str, Any]) -> list[Moment]:
    _ = page._
    moments = [Moment(company.create_time, "company", _("Registered with the hub"))]
    session, introduction, report, milestone = _("Session"), _("Introduction"), _("KPI report"), _("Milestone")
    for s in _ok(answers, "sessions", "sessions"):
        moments.append(Moment(s.interval.start_time, "session", f"{session}: {s.agenda or s.session_type}"))
    for i in _ok(answers, "introductions", "introductions"):
        moments.append(Moment(i.create_time, "introduction", f"{introduction}: {i.firm_display_name or i.firm}"))
    for r in _ok(answers, "reports", "reports"):
        moments.append(Moment(r.create_time, "kpi", f"{report} {r.period}"))
    for m in _ok(answers, "milestones", "milestones"):
        kind = page.app.templates[page.session.lang].filters["enum"](m, "kind")
        moments.append(Moment(m.create_time, "milestone", f"{milestone}: {kind}"))
    return sorted(moments, key=lambda m: (m.when.seconds, m.when.nanos), reverse=True)


def _revenue_chart(page: Page, reports: list[Any]) -> Markup:
    formats = page.app.templates[page.session.lang].filters
    series = Series(page._("Revenue"), [(r.period, float(r.revenue.units)) for r in reports])
    return Markup(line_chart(series, page._("Revenue by period"), [formats["won"](r.revenue) for r in reports]))


def _headcount_chart(page: Page, reports: list[Any]) -> Markup:
    series = Series(page._("Headcount"), [(r.period, float(r.headcount)) for r in reports])
    return Markup(line_chart(series, page._("Headcount by period")))


def period_end(period: str) -> tuple[int, int, int]:
    """Where a KPI period ends, to put months and quarters in one order: 2026-11 < 2026-Q4 < 2026-12… the
    quarter sorts with the last month it covers, after it."""
    year, _, part = period.partition("-")
    if part.startswith("Q") and part[1:].isdigit():
        return int(year), 3 * int(part[1:]), 1
    return (int(year), int(part), 0) if year.isdigit() and part.isdigit() else (0, 0, 0)


async def answer_introduction(request: Request) -> Response:
    """The founder's half of the double opt-in: consent or decline, in words of their own."""
    page = Page(request, await request.form())
    assert page.form is not None
    company = f"companies/{request.path_params['company']}"
    answer = ipb.AnswerIntroductionRequest(
        name=f"introductions/{request.path_params['introduction']}", consent=page.form.get("answer") == "consent",
        reason=str(page.form.get("reason", "")), etag=str(page.form.get("etag", "")),
    )  # fmt: skip
    try:
        await page.hub.investors.AnswerIntroduction(answer)
    except Refusal as refusal:
        return refused(page, refusal)
    said = page._("You agreed to the introduction.") if answer.consent else page._("You declined the introduction.")
    return page.back(f"/{company}", "ok", said)


async def report_kpi(request: Request) -> Response:
    """A KPI report for a period (answering the request for it); a program manager files one with a reason."""
    page = Page(request, await request.form())
    form = page.form
    assert form is not None
    company = f"companies/{request.path_params['company']}"

    def number(field: str) -> int:
        text = str(form.get(field, "0")).replace(",", "").strip() or "0"
        return int(text) if text.lstrip("-").isdigit() else -1  # the service names the field that is wrong

    report = ppb.KpiReport(
        company=company, period=str(form.get("period", "")), headcount=number("headcount"),
        revenue=money_pb2.Money(currency_code="KRW", units=number("revenue")), customers=number("customers"),
        patents=number("patents"), note=str(form.get("note", "")),
    )  # fmt: skip
    asked = ppb.ReportKpiRequest(report=report, request_id=str(form.get("request_id", "")) or str(uuid.uuid4()),
                                 reason=str(form.get("reason", "")))  # fmt: skip
    return await act(page, page.hub.program.ReportKpi(asked), f"/{company}", page._("The KPI report is filed."))


async def profile_page(request: Request) -> Response:
    """The company's profile as the hub keeps it, with its people. Founders read it here; changing it is the
    program managers' (the companies service lets founders read their company, not update it)."""
    page = Page(request)
    if page.account is None:
        return page.back("/sign-in")
    name, hub = f"companies/{request.path_params['company']}", page.hub
    try:
        company = await hub.companies.GetCompany(cpb.GetCompanyRequest(name=name))
    except Refusal as refusal:
        return refused(page, refusal)
    people = await _all({"people": hub.companies.ListPeople(cpb.ListPeopleRequest(filter=f"company={name}",
                                                                                   page_size=100))})  # fmt: skip
    return page.render("profile.html", company=company, people=_ok(people, "people", "people"),
                       admin=page.account.role == "admin")  # fmt: skip
