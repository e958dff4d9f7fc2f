"""Companies: the program managers' list (Hangul search, filters by status, sector, stage, cohort and tags, the team's
saved views: pages/saved_views.py) and one company's page,
which is also a founder's home: everything that happened to it on one timeline, its KPI reports drawn, and, for
its founder, the introductions to answer, the KPI requests to report on and the completed sessions to rate."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from typing import Any

from google.type import money_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import kpi_requests_pb2 as kpb
from hub.companies.v1 import program_pb2 as ppb
from hub.consulting.v1 import consulting_pb2 as spb
from hub.investors.v1 import investors_pb2 as ipb
from hub.notifications.v1 import notifications_pb2 as npb
from hub.ops.v1 import identities_pb2 as idpb
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from services.console.backend import Refusal, Signed
from services.console.charts import Series, line_chart
from services.console.labels import enum_value, short_names
from services.console.pages.auth import invite
from services.console.pages.home import _all, _ok
from services.console.pages.saved_views import SECTORS, STAGES, STATUSES, Filters, new_request_id, saved_views
from services.console.pages.sessions import to_rate
from services.console.pages.timeline import timeline
from services.console.web import Page, act, posted, refused, signed_in, whole_number

SUPPORT_KINDS = short_names(ppb.SupportKind)
PAGE_SIZE = 50


async def company_list(request: Request) -> Response:
    page = Page(request)
    if (account := page.account) is None or account.role != "admin":
        return page.back("/")
    filters = Filters.of(request.query_params)
    asked = cpb.ListCompaniesRequest(page_size=PAGE_SIZE, page_token=request.query_params.get("page", ""),
                                     filter=filters.filter, query=filters.q, order_by="korean_name")  # fmt: skip
    answers = await _all({
        "companies": page.hub.companies.ListCompanies(asked), "views": saved_views(page),
        "rounds": page.hub.program.ListRounds(ppb.ListRoundsRequest(page_size=100)),  # the cohorts
    })  # fmt: skip
    if isinstance(found := answers["companies"], Refusal):
        return refused(page, found)
    views = answers["views"]
    return page.render(
        "companies.html", live="*", companies=found.companies, next_page=found.next_page_token, filters=filters,
        statuses=STATUSES, sectors=SECTORS, stages=STAGES, views=[] if isinstance(views, Refusal) else views,
        views_refused=isinstance(views, Refusal), view_request=new_request_id(),
        cohorts={r.name: r.title for r in _ok(answers, "rounds", "rounds")},
    )  # fmt: skip


@signed_in
async def company_page(request: Request, page: Page) -> Response:
    name = f"companies/{request.path_params['company']}"
    hub, admin = page.hub, page.role == "admin"
    company = await hub.companies.GetCompany(cpb.GetCompanyRequest(name=name))
    answers = await _all(company_calls(hub, name, admin))
    reports = sorted(_ok(answers, "reports", "reports"), key=lambda r: period_end(r.period))
    open_requests = [r for r in _ok(answers, "requests", "requests") if r.state == kpb.KPI_REQUEST_STATE_OPEN]
    sessions = _ok(answers, "sessions", "sessions")
    rate = to_rate(sessions) if page.role == "founder" else []
    return page.render(
        "company.html", live=company.name, company=company, admin=admin,
        people=_ok(answers, "people", "people"), reports=reports,
        requests=open_requests, asked={r.name: asked_figures(r) for r in open_requests},
        optional_figures=OPTIONAL_FIGURES,
        introductions=_ok(answers, "introductions", "introductions"),
        grants=_ok(answers, "grants", "sharing_grants"),
        sessions=sessions, rate=rate, request_ids={s.name: str(uuid.uuid4()) for s in rate},
        timeline=timeline(page, company, answers), invited=_invited(answers),
        support=_ok(answers, "support", "totals"), support_kinds=SUPPORT_KINDS, support_request=str(uuid.uuid4()),
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
    asked["support"] = hub.program.ListSupport(ppb.ListSupportRequest(company=name))
    if admin:
        asked |= {
            "milestones": hub.program.ListMilestones(ppb.ListMilestonesRequest(filter=f"company={name}")),
            "applications": hub.program.ListApplications(ppb.ListApplicationsRequest(filter=f"applicant={name}")),
            "occupancy": hub.program.GetOccupancy(ppb.GetOccupancyRequest()),
            "spaces": hub.program.ListSpaces(ppb.ListSpacesRequest()),
            "rounds": hub.investors.ListRounds(ipb.ListRoundsRequest(filter=f"company={name}")),
            "deliveries": hub.notifications.ListDeliveries(
                npb.ListDeliveriesRequest(filter=f"company={name}", page_size=50)
            ),
            "identities": hub.identities.ListIdentities(
                idpb.ListIdentitiesRequest(filter=f"scope={name} AND state=ACTIVE", page_size=100)
            ),
        }
    return asked


def _invited(answers: dict[str, Any]) -> dict[str, Any]:
    """The people of the company who may sign in, by person: their identity."""
    return {i.person: i for i in _ok(answers, "identities", "identities") if i.person}


async def invite_founder(request: Request) -> Response:
    """A program manager lets one of a company's people sign in for it: the service mails them how."""
    page = Page(request, await request.form())
    company, person = f"companies/{request.path_params['company']}", f"people/{request.path_params['person']}"
    founder = idpb.Identity(role=idpb.IDENTITY_ROLE_FOUNDER, person=person)
    return await invite(page, founder, f"/{company}", page._("Invited: a mail tells them how to sign in with a code."))


def _revenue_chart(page: Page, reports: list[Any]) -> Markup:
    formats = page.app.templates[page.session.lang].filters
    series = Series(page._("Revenue"), [(r.period, float(r.revenue.units)) for r in reports])
    return Markup(line_chart(series, page._("Revenue by period"), [formats["won"](r.revenue) for r in reports]))


def _headcount_chart(page: Page, reports: list[Any]) -> Markup:
    series = Series(page._("Headcount"), [(r.period, float(r.headcount)) for r in reports])
    return Markup(line_chart(series, page._("Headcount by period")))


def period_end(period: str) -> tuple[int, int, int]:
    """Where a KPI period ends, to put months, quarters and years in one order: 2026-11 < 2026-12 < 2026-Q4 <
    2026… a quarter sorts with the last month it covers, after it, and a year after its last quarter."""
    year, _, part = period.partition("-")
    if not part and year.isdigit():  # a year (graduates' reports) after its December and its fourth quarter
        return int(year), 12, 2
    if part.startswith("Q") and part[1:].isdigit():
        return int(year), 3 * int(part[1:]), 1
    return (int(year), int(part), 0) if year.isdigit() and part.isdigit() else (0, 0, 0)


async def answer_introduction(request: Request) -> Response:
    """The founder's half of the double opt-in: consent or decline, in words of their own."""
    page, form = await posted(request)
    company = f"companies/{request.path_params['company']}"
    answer = ipb.AnswerIntroductionRequest(
        name=f"introductions/{request.path_params['introduction']}", consent=form.get("answer") == "consent",
        reason=str(form.get("reason", "")), etag=str(form.get("etag", "")),
    )  # fmt: skip
    await page.hub.investors.AnswerIntroduction(answer)
    said = page._("You agreed to the introduction.") if answer.consent else page._("You declined the introduction.")
    return page.back(f"/{company}", "ok", said)


# The figures a request may ask for beyond the basic four (the form shows a field for each one it asks).
OPTIONAL_FIGURES = ("CASH_ON_HAND", "MONTHLY_BURN", "EMPLOYMENT", "EXPORTS", "IP", "OVERSEAS")


def asked_figures(r: kpb.KpiRequest) -> list[str]:
    """The figures a request asks for, by short name (HEADCOUNT, CASH_ON_HAND…)."""
    return [kpb.KpiFigure.Name(f).removeprefix("KPI_FIGURE_") for f in r.figures]


async def report_kpi(request: Request) -> Response:
    """A KPI report for a period (answering the request for it); a program manager files one with a reason. The
    optional figures left blank are not reported (a correction keeps what an earlier version said)."""
    page, form = await posted(request)
    company = f"companies/{request.path_params['company']}"

    def number(field: str) -> int:
        return whole_number(form.get(field), blank=0)

    def given(field: str) -> int | None:
        return whole_number(form.get(field)) if str(form.get(field) or "").strip() else None

    def amount(field: str, currency: str = "KRW") -> money_pb2.Money | None:
        units = given(field)
        return money_pb2.Money(currency_code=currency, units=units) if units is not None else None

    countries = str(form.get("overseas_countries") or "").replace(",", " ").split()
    report = ppb.KpiReport(
        company=company, period=str(form.get("period", "")), headcount=number("headcount"),
        revenue=money_pb2.Money(currency_code="KRW", units=number("revenue")), customers=number("customers"),
        patents=number("patents"), note=str(form.get("note", "")),
        cash_on_hand=amount("cash_on_hand"), monthly_burn=amount("monthly_burn"), exports=amount("exports", "USD"),
        full_time_employees=given("full_time_employees"), hires=given("hires"), ip_filed=given("ip_filed"),
        ip_granted=given("ip_granted"), overseas_countries=countries,
    )  # fmt: skip
    asked = ppb.ReportKpiRequest(report=report, request_id=str(form.get("request_id", "")) or str(uuid.uuid4()),
                                 reason=str(form.get("reason", "")))  # fmt: skip
    return await act(page, page.hub.program.ReportKpi(asked), f"/{company}", page._("The KPI report is filed."))


async def record_support(request: Request) -> Response:
    """A program manager records support given to the company (GPU hours, a seat in a class…), against its quota;
    going over the quota needs a reason, which the service asks for."""
    page, form = await posted(request)
    company = f"companies/{request.path_params['company']}"
    grant = ppb.SupportGrant(
        company=company, kind=_support_kind(form.get("kind")), amount=whole_number(form.get("amount")),
        note=str(form.get("note", "")), override_reason=str(form.get("override_reason", "")),
    )  # fmt: skip
    asked = ppb.RecordSupportRequest(grant=grant, request_id=str(form.get("request_id", "")) or str(uuid.uuid4()))
    return await act(page, page.hub.program.RecordSupport(asked), f"/{company}", page._("The support is recorded."))


async def set_quota(request: Request) -> Response:
    """A program manager sets how much of a metered kind of support the company may use."""
    page, form = await posted(request)
    company = f"companies/{request.path_params['company']}"
    quota = ppb.SupportQuota(
        company=company, kind=_support_kind(form.get("kind")), quota=whole_number(form.get("quota"))
    )
    said = page._("The quota is set.")
    return await act(page, page.hub.program.SetSupportQuota(ppb.SetSupportQuotaRequest(quota=quota)), f"/{company}",
                     said)  # fmt: skip


def _support_kind(sent: object) -> ppb.SupportKind.ValueType:
    return ppb.SupportKind.ValueType(enum_value(ppb.SupportKind, str(sent or "")))


@signed_in
async def profile_page(request: Request, page: Page) -> Response:
    """The company's profile as the hub keeps it, with its people. Founders read it here; changing it is the
    program managers' (the companies service lets founders read their company, not update it)."""
    name, hub = f"companies/{request.path_params['company']}", page.hub
    company = await hub.companies.GetCompany(cpb.GetCompanyRequest(name=name))
    people = await _all({"people": hub.companies.ListPeople(cpb.ListPeopleRequest(filter=f"company={name}",
                                                                                   page_size=100))})  # fmt: skip
    return page.render("profile.html", company=company, people=_ok(people, "people", "people"),
                       admin=page.role == "admin")  # fmt: skip
