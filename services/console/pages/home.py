"""The home page. A program manager sees the hub's targets and what needs attention today; a founder, mentor
or reviewer is taken to their own page (/companies/N, /mentors/N, /reviewers/N). Each service is asked at once;
one that does not answer is named on the page instead of failing it whole."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import kpi_requests_pb2 as kpb
from hub.companies.v1 import program_pb2 as ppb
from hub.consulting.v1 import consulting_pb2 as spb
from hub.investors.v1 import investors_pb2 as ipb
from hub.notifications.v1 import notifications_pb2 as npb
from hub.ops.v1 import ops_pb2 as opb
from hub.playbooks.v1 import playbooks_pb2 as pbpb
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import Response

from hubcore.targets import DISCOVERED, TARGETS
from services.console.backend import Refusal, Signed
from services.console.charts import Series, percent_chart
from services.console.labels import N_
from services.console.web import Page

SERVICES = ("companies", "investors", "consulting", "notifications", "playbooks")
MONTHS = 12  # the chart's months, up to this one
# The chart's lines: (figure, its target, its name). Firms grown has no line: the services judge growth by the
# rules in force today (settings), over reports and rounds that arrive late, so it has no honest past by month.
LINES = (
    ("discovered", "firms", N_("Firms discovered")),
    ("experts", "experts", N_("Experts trained")),
    ("programs", "programs", N_("Collaboration programs")),
    ("participants", "participants", N_("Participants")),
)


async def home(request: Request) -> Response:
    page = Page(request)
    account = page.account
    if account is None:
        return page.back("/sign-in")
    if account.role in ("founder", "mentor", "reviewer"):
        return page.back(f"/{account.scope}")
    if account.role != "admin":
        return page.render("welcome.html")
    hub = page.hub
    answers = await _all(home_calls(hub))
    stuck = None if isinstance(answers["stuck"], Refusal) else answers["stuck"]
    overdue, waiting = _ok(answers, "kpi_overdue", "requests"), _ok(answers, "waiting", "introductions")
    without_notes = _ok(answers, "without_notes", "sessions")
    firings = _ok(answers, "firings", "firings")
    shown = [r.company for r in overdue] + [i.company for i in waiting] + [f.company for f in firings if f.company]
    by_month = _by_month(answers)
    return page.render(
        "home.html", live="*", figures=_figures(answers), targets=TARGETS, stuck=stuck, overdue=overdue,
        chart=_chart(page, by_month), by_month=by_month,
        lines=[(key, page._(name), TARGETS[target]) for key, target, name in LINES],
        waiting=waiting, firings=firings, firing_state=_firing_state,
        without_notes=without_notes, names=await names_of(hub, shown + [s.company for s in without_notes]),
        dead_letters=[(name, d) for name in SERVICES for d in _ok(answers, f"dead:{name}", "dead_letters")],
        not_answering=sorted({k.split(":")[-1] for k, v in answers.items() if isinstance(v, Refusal)}),
    )  # fmt: skip


async def names_of(hub: Signed, refs: list[str]) -> dict[str, str]:
    """What people call the companies a page names (companies/3 → 메디비전); a name that cannot be read stays
    as it is."""
    asked = {r: hub.companies.GetCompany(cpb.GetCompanyRequest(name=r)) for r in sorted(set(refs))}
    found = await _all(asked)
    return {r: getattr(v, "korean_name", "") or r for r, v in found.items() if not isinstance(v, Refusal)}


def home_calls(hub: Signed) -> dict[str, Awaitable[Any]]:
    """What the home page asks, all at once (make bench measures the same calls beside the page)."""
    return {
        "company_stats": hub.companies.GetCompanyStats(cpb.GetCompanyStatsRequest(months=MONTHS)),
        "growth": hub.program.GetGrowth(ppb.GetGrowthRequest()),
        "program": hub.program.GetProgramStats(ppb.GetProgramStatsRequest()),
        "consulting": hub.consulting.GetConsultingStats(spb.GetConsultingStatsRequest(months=MONTHS)),
        "stuck": hub.notifications.ListStuckFollowUps(npb.ListStuckFollowUpsRequest(page_size=5)),
        "kpi_overdue": hub.program.ListKpiRequests(kpb.ListKpiRequestsRequest(filter="state=OVERDUE", page_size=5)),
        "waiting": hub.investors.ListIntroductions(ipb.ListIntroductionsRequest(filter="state=REQUESTED", page_size=5)),
        "without_notes": hub.consulting.ListSessions(spb.ListSessionsRequest(filter=_without_notes(), page_size=5)),
        "firings": hub.playbooks.ListFirings(pbpb.ListFiringsRequest(page_size=5)),
    } | {f"dead:{name}": hub.ops(name).ListDeadLetters(opb.ListDeadLettersRequest(page_size=5)) for name in SERVICES}


FIRING_STATES: dict[int, str] = {
    pbpb.FIRING_STATE_RUNNING: N_("running"),
    pbpb.FIRING_STATE_DONE: N_("done"),
    pbpb.FIRING_STATE_FAILED: N_("failed"),
}


def _firing_state(state: int) -> str:
    return FIRING_STATES.get(state, "")


def _without_notes() -> str:
    """The sessions of the last 30 days completed without their notes (the oldest first: the most overdue)."""
    since = (datetime.now(UTC) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"state=COMPLETED AND has_notes=false AND start_after={since}"


async def _all(asked: dict[str, Awaitable[Any]]) -> dict[str, Any]:
    results = await asyncio.gather(*asked.values(), return_exceptions=True)
    for result in results:
        if isinstance(result, BaseException) and not isinstance(result, Refusal):
            raise result
    return dict(zip(asked, results, strict=True))


def _ok(answers: dict[str, Any], key: str, field: str) -> list[Any]:
    answer = answers.get(key)
    return [] if answer is None or isinstance(answer, Refusal) else list(getattr(answer, field))


def _figures(answers: dict[str, Any]) -> dict[str, int | None]:
    """Each target's figure, None where its service did not answer."""
    growth, consulting, stats = answers["growth"], answers["consulting"], answers["company_stats"]
    by_status = {} if isinstance(stats, Refusal) else {c.key: c.count for c in stats.by_status}
    ok = not isinstance(consulting, Refusal)
    return {
        "firms": None if isinstance(growth, Refusal) else growth.firms_grown,
        "discovered": None if isinstance(stats, Refusal) else sum(by_status.get(s, 0) for s in DISCOVERED),
        "experts": consulting.people_trained if ok else None,
        "programs": consulting.programs_held if ok else None,
        "participants": consulting.participants if ok else None,
    }


def _by_month(answers: dict[str, Any]) -> dict[str, dict[str, int]]:
    """Each month's figures ("2026-03" → {"discovered": 4, …}), as the services counted them at its end; a
    service that did not answer leaves its figures out."""
    stats, consulting = answers["company_stats"], answers["consulting"]
    months: dict[str, dict[str, int]] = {}
    for m in [] if isinstance(stats, Refusal) else stats.discovered_by_month:
        months.setdefault(m.month, {})["discovered"] = m.count
    for t in [] if isinstance(consulting, Refusal) else consulting.by_month:
        months.setdefault(t.month, {}).update(
            experts=t.people_trained, programs=t.programs_held, participants=t.participants
        )
    return {month: months[month] for month in sorted(months)[-MONTHS:]}


def _chart(page: Page, by_month: dict[str, dict[str, int]]) -> Markup:
    """One line per target, as a percent of it; a month's year is written on the first and on January."""
    month = page.filters["month"]
    ticks = {m: month(m, i == 0 or m.endswith("-01")) for i, m in enumerate(by_month)}
    lines = [
        Series(page._(name), [(ticks[m], 100 * figures[key] / TARGETS[target]) for m, figures in by_month.items()])
        for key, target, name in LINES
        if by_month and all(key in figures for figures in by_month.values())
    ]
    return Markup(percent_chart(lines, page._("The targets month by month, as a percent of each")))
