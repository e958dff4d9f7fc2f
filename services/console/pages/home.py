"""The home page. A program manager sees the hub's targets and what needs attention today; a founder, mentor
or reviewer is taken to their own page (/companies/N, /mentors/N, /reviewers/N). Each service is asked at once;
one that does not answer is named on the page instead of failing it whole."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
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

from hubcore import targets
from hubcore.convert import date_message, seoul_today
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
# The target cards: (figure, its name, what a month of it needs, in the person's language).
CARDS = (
    ("firms", N_("Firms grown"), N_("%(count)s firms a month needed")),
    ("experts", N_("Experts trained"), N_("%(count)s people a month needed")),
    ("programs", N_("Collaboration programs"), N_("%(count)s programs a month needed")),
    ("participants", N_("Participants"), N_("%(count)s people a month needed")),
)
PACE_STATES = {
    targets.REACHED: N_("Reached"),
    targets.ON_PACE: N_("On pace"),
    targets.BEHIND: N_("Behind pace"),
    targets.BEFORE: N_("The period has not begun"),
    targets.ENDED: N_("The period has ended"),
}


@dataclass(frozen=True)
class Card:
    """One target on the home page: the figure within the period (None: its service did not answer) and its pace."""

    key: str
    label: str
    value: int | None
    goal: int
    pace: targets.Pace | None
    needed: str  # "월 14명 필요", or "" once reached or ended
    state: str  # the pace's state in words


def cards(page: Page, figures: dict[str, Any], period: targets.TargetPeriod, today: date) -> list[Card]:
    shown = []
    for key, label, needed in CARDS:
        value, goal = figures[key], TARGETS[key]
        pace = None if value is None else targets.pace(value, goal, period, today)
        text = page._(needed) % {"count": f"{pace.per_month:,}"} if pace and pace.per_month else ""
        state = page._(PACE_STATES[pace.state]) if pace else ""
        shown.append(Card(key, page._(label), value, goal, pace, text, state))
    return shown


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
    period = targets.TargetPeriod.from_env()
    answers = await _all(home_calls(hub, period))
    stuck = None if isinstance(answers["stuck"], Refusal) else answers["stuck"]
    overdue, waiting = _ok(answers, "kpi_overdue", "requests"), _ok(answers, "waiting", "introductions")
    without_notes = _ok(answers, "without_notes", "sessions")
    firings = _ok(answers, "firings", "firings")
    shown = [r.company for r in overdue] + [i.company for i in waiting] + [f.company for f in firings if f.company]
    by_month, figures = _by_month(answers), _figures(answers)
    consulting = None if isinstance(answers["consulting"], Refusal) else answers["consulting"]
    return page.render(
        "home.html", live="*", figures=figures, targets=TARGETS, stuck=stuck, overdue=overdue,
        cards=cards(page, figures, period, seoul_today()), period=period, consulting=consulting,
        elapsed=targets.pace(0, 1, period, seoul_today()).elapsed_percent,
        collaboration_kinds=[spb.ProgramKind.Name(k).removeprefix("PROGRAM_KIND_")
                             for k in (consulting.collaboration_kinds if consulting else [])],
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


def home_calls(hub: Signed, period: targets.TargetPeriod | None = None) -> dict[str, Awaitable[Any]]:
    """What the home page asks, all at once (make bench measures the same calls beside the page); consulting's
    program figures within the targets' period."""
    period = period or targets.TargetPeriod.from_env()
    consulting = spb.GetConsultingStatsRequest(
        months=MONTHS, period_start=date_message(period.start), period_end=date_message(period.end)
    )
    return {
        "company_stats": hub.companies.GetCompanyStats(cpb.GetCompanyStatsRequest(months=MONTHS)),
        "growth": hub.program.GetGrowth(ppb.GetGrowthRequest()),
        "program": hub.program.GetProgramStats(ppb.GetProgramStatsRequest()),
        "consulting": hub.consulting.GetConsultingStats(consulting),
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
    """Each target's figure (consulting's within the targets' period), None where its service did not answer."""
    growth, consulting, stats = answers["growth"], answers["consulting"], answers["company_stats"]
    by_status = {} if isinstance(stats, Refusal) else {c.key: c.count for c in stats.by_status}
    ok = not isinstance(consulting, Refusal)
    return {
        "firms": None if isinstance(growth, Refusal) else growth.firms_grown,
        "discovered": None if isinstance(stats, Refusal) else sum(by_status.get(s, 0) for s in DISCOVERED),
        "experts": consulting.people_trained if ok else None,
        "programs": consulting.collaboration_programs_held if ok else None,
        "participants": consulting.participants if ok else None,
        "distinct_participants": consulting.distinct_participants if ok else None,
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
            experts=t.people_trained, programs=t.collaboration_programs_held, participants=t.participants
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
