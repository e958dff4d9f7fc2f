"""The console's application: its routes, the session and security middleware, and what it holds while it runs
(the channels to the services, the templates of each language, the sign-in limit per browser address)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hubcore.calls import TokenBuckets
from services.console import i18n, live
from services.console.backend import Hub, Refusal
from services.console.config import ConsoleSettings
from services.console.live import Live
from services.console.pages import (
    auth,
    calendar,
    companies,
    company_edit,
    consulting_setup,
    firms,
    followups,
    home,
    introductions,
    investors,
    mentors,
    programs,
    recipients,
    reports,
    reviewers,
    saved_views,
    selection,
    sessions,
    sharing,
    spaces,
    transfer,
)
from services.console.session import Sealer
from services.console.web import Page, form, refusal_said, session_middleware


@dataclass
class Console:
    settings: ConsoleSettings
    hub: Hub
    sealer: Sealer
    templates: dict[str, jinja2.Environment]
    sign_in_limit: TokenBuckets
    live: Live


async def healthz(request: Request) -> Response:
    return PlainTextResponse("ok")


async def not_found(request: Request, exc: Any) -> Response:
    page = Page(request)
    return page.render("refused.html", http_status=404, refusal=None,
                       headline=page._("This page does not exist, or it is not yours to see."))  # fmt: skip


GET, POST = "GET", "POST"
# Every path the console answers: (path, handler, method). A POST is a form's, checked by web.form first.
PATHS = [
    ("/", home.home, GET),
    ("/healthz", healthz, GET),
    ("/events", live.changes, GET),
    ("/sign-in", auth.sign_in_page, GET),
    ("/sign-in/code", auth.ask_code, POST),
    ("/sign-in", auth.sign_in, POST),
    ("/sign-in/token", auth.sign_in_with_token, POST),
    ("/sign-out", auth.sign_out, POST),
    ("/account", auth.switch_account, POST),
    ("/language", auth.language, POST),
    ("/companies", companies.company_list, GET),
    ("/companies/new", company_edit.new_company, GET),
    ("/companies/new", company_edit.create_company, POST),
    ("/companies/views", saved_views.save_view, POST),
    ("/companies/views/{view:int}/delete", saved_views.delete_view, POST),
    ("/companies/{company:int}", companies.company_page, GET),
    ("/companies/{company:int}/edit", company_edit.edit_company, GET),
    ("/companies/{company:int}/edit", company_edit.update_company, POST),
    ("/companies/{company:int}/introductions/{introduction:int}/answer", companies.answer_introduction, POST),
    ("/companies/{company:int}/kpi", companies.report_kpi, POST),
    ("/companies/{company:int}/people/{person:int}/invite", companies.invite_founder, POST),
    ("/companies/{company:int}/support", companies.record_support, POST),
    ("/companies/{company:int}/support/quota", companies.set_quota, POST),
    ("/companies/{company:int}/profile", companies.profile_page, GET),
    ("/companies/{company:int}/sharing", sharing.sharing_page, GET),
    ("/companies/{company:int}/sharing", sharing.grant, POST),
    ("/companies/{company:int}/sharing/{firm:int}", sharing.change, POST),
    ("/companies/{company:int}/sharing/{firm:int}/revoke", sharing.revoke, POST),
    ("/import", transfer.import_page, GET),
    ("/import", transfer.preview, POST),
    ("/import/apply", transfer.apply, POST),
    ("/export", transfer.export_page, GET),
    ("/export/{kind}.csv", transfer.export_csv, GET),
    ("/reports", reports.reports_page, GET),
    ("/reports/{year:int}.xlsx", reports.report_xlsx, GET),
    ("/reports/{year:int}/{table}.csv", reports.report_csv, GET),
    ("/follow-ups", followups.follow_ups, GET),
    ("/follow-ups/deliveries/{delivery:int}", followups.act_on_delivery, POST),
    ("/follow-ups/recipients", recipients.recipient_list, GET),
    ("/follow-ups/recipients/{recipient:int}", recipients.recipient_page, GET),
    ("/follow-ups/recipients/{recipient:int}/preference", recipients.change_preference, POST),
    ("/programs", programs.program_list, GET),
    ("/programs", programs.create_program, POST),
    ("/programs/{program:int}", programs.program_page, GET),
    ("/programs/{program:int}/registrations", programs.register, POST),
    ("/programs/{program:int}/attendance", programs.attendance, POST),
    ("/spaces", spaces.spaces, GET),
    ("/spaces/assign", spaces.assign, POST),
    ("/spaces/assignments/{assignment:int}/end", spaces.end, POST),
    ("/investors", investors.firm_list, GET),
    ("/investors/firms", firms.create_firm, POST),
    ("/investors/firms/{firm:int}", investors.firm_page, GET),
    ("/investors/firms/{firm:int}", firms.edit_firm, POST),
    ("/investors/firms/{firm:int}/theses", firms.change_theses, POST),
    ("/investors/firms/{firm:int}/theses/{thesis:int}", firms.change_theses, POST),
    ("/investors/partners/{partner:int}", firms.edit_partner, POST),
    ("/investors/firms/{firm:int}/partners", investors.add_partner, POST),
    ("/investors/pipeline", introductions.pipeline, GET),
    ("/investors/introductions", introductions.request_introduction, POST),
    ("/investors/introductions/{introduction:int}/state", introductions.move_introduction, POST),
    ("/investors/matches", introductions.matches, GET),
    ("/investors/rounds", investors.funding_rounds, GET),
    ("/investors/rounds/{round:int}/close", investors.close_round, POST),
    ("/selection", selection.round_list, GET),
    ("/selection/{round:int}", selection.board, GET),
    ("/selection/{round:int}/conflicts", selection.declare_conflict, POST),
    ("/selection/applications/{application:int}/decision", selection.decide, POST),
    ("/reviewers/{reviewer:int}", reviewers.reviewer_home, GET),
    ("/applications/{application:int}", reviewers.application_page, GET),
    ("/applications/{application:int}/score", reviewers.score, POST),
    ("/applications/{application:int}/abstain", reviewers.abstain, POST),
    ("/applications/{application:int}/conflict", reviewers.declare_conflict, POST),
    ("/calendar", calendar.week_page, GET),
    ("/calendar/book", calendar.book_page, GET),
    ("/rooms", calendar.rooms_page, GET),
    ("/rooms", consulting_setup.add_room, POST),
    ("/session-types", consulting_setup.add_session_type, POST),
    ("/sessions", calendar.schedule, POST),
    ("/sessions/{session:int}", sessions.session_page, GET),
    ("/sessions/{session:int}/complete", sessions.complete, POST),
    ("/sessions/{session:int}/notes", sessions.record_notes, POST),
    ("/sessions/{session:int}/no-show", sessions.no_show, POST),
    ("/sessions/{session:int}/cancel", sessions.cancel, POST),
    ("/sessions/{session:int}/reschedule", sessions.reschedule, POST),
    ("/sessions/{session:int}/feedback", sessions.record_feedback, POST),
    ("/action-items/{item:int}/complete", sessions.complete_action_item, POST),
    ("/mentors", mentors.mentor_list, GET),
    ("/mentors", consulting_setup.add_mentor, POST),
    ("/mentors/{mentor:int}", mentors.mentor_page, GET),
    ("/mentors/{mentor:int}/invite", consulting_setup.invite_mentor, POST),
    ("/mentors/{mentor:int}/deactivate", consulting_setup.deactivate_mentor, POST),
    ("/mentors/{mentor:int}/reactivate", consulting_setup.reactivate_mentor, POST),
    ("/mentors/{mentor:int}/calendar.ics", mentors.export_calendar, GET),
    ("/mentors/{mentor:int}/exceptions", mentors.create_exception, POST),
    ("/mentors/{mentor:int}/hours", mentors.add_hours, POST),
    ("/mentors/{mentor:int}/hours/remove", mentors.remove_hours, POST),
    ("/mentors/{mentor:int}/exceptions/{exception:int}/delete", mentors.delete_exception, POST),
]
ROUTES = [
    *(Route(path, form(handler), methods=[POST]) if method == POST else Route(path, handler)
      for path, handler, method in PATHS),
    Mount("/static", StaticFiles(directory=i18n.HERE / "static"), name="static"),
]  # fmt: skip


def build(settings: ConsoleSettings) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        console = Console(
            settings, Hub(settings.addresses, settings.grpc_timeout, settings.service_token),
            Sealer(settings.session_key),
            i18n.environments(settings.time_zone, {}), TokenBuckets(settings.sign_in_rate, settings.sign_in_burst),
            Live(settings.nats_url),
        )  # fmt: skip
        app.state.console = console
        console.live.start()
        try:
            yield
        finally:
            await console.live.stop()
            await console.hub.close()

    return Starlette(
        routes=ROUTES, lifespan=lifespan, exception_handlers={404: not_found, Refusal: refusal_said},
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=session_middleware)],
    )  # fmt: skip
