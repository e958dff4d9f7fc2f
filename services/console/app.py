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
from services.console.backend import Hub
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
    reviewers,
    saved_views,
    selection,
    sessions,
    sharing,
    spaces,
    transfer,
)
from services.console.session import Sealer
from services.console.web import Page, form, session_middleware


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


ROUTES = [
    Route("/", home.home),
    Route("/healthz", healthz),
    Route("/events", live.changes),
    Route("/sign-in", auth.sign_in_page),
    Route("/sign-in/code", form(auth.ask_code), methods=["POST"]),
    Route("/sign-in", form(auth.sign_in), methods=["POST"]),
    Route("/sign-in/token", form(auth.sign_in_with_token), methods=["POST"]),
    Route("/sign-out", form(auth.sign_out), methods=["POST"]),
    Route("/account", form(auth.switch_account), methods=["POST"]),
    Route("/language", form(auth.language), methods=["POST"]),
    Route("/companies", companies.company_list),
    Route("/companies/new", company_edit.new_company),
    Route("/companies/new", form(company_edit.create_company), methods=["POST"]),
    Route("/companies/views", form(saved_views.save_view), methods=["POST"]),
    Route("/companies/views/{view:int}/delete", form(saved_views.delete_view), methods=["POST"]),
    Route("/companies/{company:int}", companies.company_page),
    Route("/companies/{company:int}/edit", company_edit.edit_company),
    Route("/companies/{company:int}/edit", form(company_edit.update_company), methods=["POST"]),
    Route(
        "/companies/{company:int}/introductions/{introduction:int}/answer",
        form(companies.answer_introduction),
        methods=["POST"],
    ),
    Route("/companies/{company:int}/kpi", form(companies.report_kpi), methods=["POST"]),
    Route("/companies/{company:int}/people/{person:int}/invite", form(companies.invite_founder), methods=["POST"]),
    Route("/companies/{company:int}/support", form(companies.record_support), methods=["POST"]),
    Route("/companies/{company:int}/support/quota", form(companies.set_quota), methods=["POST"]),
    Route("/companies/{company:int}/profile", companies.profile_page),
    Route("/companies/{company:int}/sharing", sharing.sharing_page),
    Route("/companies/{company:int}/sharing", form(sharing.grant), methods=["POST"]),
    Route("/companies/{company:int}/sharing/{firm:int}", form(sharing.change), methods=["POST"]),
    Route("/companies/{company:int}/sharing/{firm:int}/revoke", form(sharing.revoke), methods=["POST"]),
    Route("/import", transfer.import_page),
    Route("/import", form(transfer.preview), methods=["POST"]),
    Route("/import/apply", form(transfer.apply), methods=["POST"]),
    Route("/export", transfer.export_page),
    Route("/export/{kind}.csv", transfer.export_csv),
    Route("/follow-ups", followups.follow_ups),
    Route("/follow-ups/deliveries/{delivery:int}", form(followups.act_on_delivery), methods=["POST"]),
    Route("/follow-ups/recipients", recipients.recipient_list),
    Route("/follow-ups/recipients/{recipient:int}", recipients.recipient_page),
    Route("/follow-ups/recipients/{recipient:int}/preference", form(recipients.change_preference), methods=["POST"]),
    Route("/programs", programs.program_list),
    Route("/programs", form(programs.create_program), methods=["POST"]),
    Route("/programs/{program:int}", programs.program_page),
    Route("/programs/{program:int}/registrations", form(programs.register), methods=["POST"]),
    Route("/programs/{program:int}/attendance", form(programs.attendance), methods=["POST"]),
    Route("/spaces", spaces.spaces),
    Route("/spaces/assign", form(spaces.assign), methods=["POST"]),
    Route("/spaces/assignments/{assignment:int}/end", form(spaces.end), methods=["POST"]),
    Route("/investors", investors.firm_list),
    Route("/investors/firms", form(firms.create_firm), methods=["POST"]),
    Route("/investors/firms/{firm:int}", investors.firm_page),
    Route("/investors/firms/{firm:int}", form(firms.edit_firm), methods=["POST"]),
    Route("/investors/firms/{firm:int}/theses", form(firms.change_theses), methods=["POST"]),
    Route("/investors/firms/{firm:int}/theses/{thesis:int}", form(firms.change_theses), methods=["POST"]),
    Route("/investors/partners/{partner:int}", form(firms.edit_partner), methods=["POST"]),
    Route("/investors/firms/{firm:int}/partners", form(investors.add_partner), methods=["POST"]),
    Route("/investors/pipeline", introductions.pipeline),
    Route("/investors/introductions", form(introductions.request_introduction), methods=["POST"]),
    Route("/investors/introductions/{introduction:int}/state", form(introductions.move_introduction), methods=["POST"]),
    Route("/investors/matches", introductions.matches),
    Route("/investors/rounds", investors.funding_rounds),
    Route("/investors/rounds/{round:int}/close", form(investors.close_round), methods=["POST"]),
    Route("/selection", selection.round_list),
    Route("/selection/{round:int}", selection.board),
    Route("/selection/{round:int}/conflicts", form(selection.declare_conflict), methods=["POST"]),
    Route("/selection/applications/{application:int}/decision", form(selection.decide), methods=["POST"]),
    Route("/reviewers/{reviewer:int}", reviewers.reviewer_home),
    Route("/applications/{application:int}", reviewers.application_page),
    Route("/applications/{application:int}/score", form(reviewers.score), methods=["POST"]),
    Route("/applications/{application:int}/abstain", form(reviewers.abstain), methods=["POST"]),
    Route("/applications/{application:int}/conflict", form(reviewers.declare_conflict), methods=["POST"]),
    Route("/calendar", calendar.week_page),
    Route("/calendar/book", calendar.book_page),
    Route("/rooms", calendar.rooms_page),
    Route("/rooms", form(consulting_setup.add_room), methods=["POST"]),
    Route("/session-types", form(consulting_setup.add_session_type), methods=["POST"]),
    Route("/sessions", form(calendar.schedule), methods=["POST"]),
    Route("/sessions/{session:int}", sessions.session_page),
    Route("/sessions/{session:int}/complete", form(sessions.complete), methods=["POST"]),
    Route("/sessions/{session:int}/notes", form(sessions.record_notes), methods=["POST"]),
    Route("/sessions/{session:int}/no-show", form(sessions.no_show), methods=["POST"]),
    Route("/sessions/{session:int}/cancel", form(sessions.cancel), methods=["POST"]),
    Route("/sessions/{session:int}/reschedule", form(sessions.reschedule), methods=["POST"]),
    Route("/sessions/{session:int}/feedback", form(sessions.record_feedback), methods=["POST"]),
    Route("/action-items/{item:int}/complete", form(sessions.complete_action_item), methods=["POST"]),
    Route("/mentors", mentors.mentor_list),
    Route("/mentors", form(consulting_setup.add_mentor), methods=["POST"]),
    Route("/mentors/{mentor:int}", mentors.mentor_page),
    Route("/mentors/{mentor:int}/invite", form(consulting_setup.invite_mentor), methods=["POST"]),
    Route("/mentors/{mentor:int}/deactivate", form(consulting_setup.deactivate_mentor), methods=["POST"]),
    Route("/mentors/{mentor:int}/reactivate", form(consulting_setup.reactivate_mentor), methods=["POST"]),
    Route("/mentors/{mentor:int}/calendar.ics", mentors.export_calendar),
    Route("/mentors/{mentor:int}/exceptions", form(mentors.create_exception), methods=["POST"]),
    Route("/mentors/{mentor:int}/hours", form(mentors.add_hours), methods=["POST"]),
    Route("/mentors/{mentor:int}/hours/remove", form(mentors.remove_hours), methods=["POST"]),
    Route("/mentors/{mentor:int}/exceptions/{exception:int}/delete", form(mentors.delete_exception), methods=["POST"]),
    Mount("/static", StaticFiles(directory=i18n.HERE / "static"), name="static"),
]


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
        routes=ROUTES, lifespan=lifespan, exception_handlers={404: not_found},
        middleware=[Middleware(BaseHTTPMiddleware, dispatch=session_middleware)],
    )  # fmt: skip
