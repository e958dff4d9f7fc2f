"""What every page shares: the session read from and written to its cookie, the CSRF check of every form, the
security headers (a Content-Security-Policy that allows nothing but the console's own files), rendering in the
reader's language, and a refused call turned into words on the page it came from."""

from __future__ import annotations

import hmac
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import grpc
import jinja2
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from hubcore.calls import is_loopback
from services.console.backend import Hub, Refusal, Signed
from services.console.config import SESSION_HOURS
from services.console.i18n import gettext_for
from services.console.labels import N_
from services.console.session import COOKIE, Account, Sealer, Session

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}
UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
# Refusals headline_of words completely (the service's English detail adds nothing).
SAID_IN_FULL = {
    "BOOKING_CONFLICT", "SESSION_NOT_STARTED", "CONFLICT_OF_INTEREST", "REVIEW_ABSTAINED", "REVIEW_SCORED",
    "REVIEW_CONFLICTED", "NO_QUOTA", "QUOTA_EXCEEDED",
}  # fmt: skip
SAID_FIELDS = {"sharing_grant.field_groups"}  # fields whose refusal headline_of words completely


class Page:
    """One request as a page sees it: the session, the signed-in account, the services called as them."""

    def __init__(self, request: Request, form: FormData | None = None) -> None:
        self.request = request
        self.session: Session = request.state.session
        self.form = form
        self.app: Any = request.app.state.console

    @property
    def account(self) -> Account | None:
        return self.session.account

    @property
    def role(self) -> str:
        """The signed-in account's role (admin, founder, mentor, reviewer), or "" for no one."""
        return self.account.role if self.account else ""

    @property
    def scope(self) -> str:
        """What the signed-in account is bound to (companies/7, mentors/3…), or ""."""
        return self.account.scope if self.account else ""

    @property
    def hub(self) -> Signed:
        account = self.account
        hub: Hub = self.app.hub
        return hub.signed(account.token if account else "")

    def _(self, message: str) -> str:
        return gettext_for(self.session.lang)(message)

    @property
    def filters(self) -> dict[str, Callable[..., str]]:
        """The templates' formats (when, day, number, won, enum) in the person's language, for text built in code."""
        env: jinja2.Environment = self.app.templates[self.session.lang]
        return env.filters

    def render(self, template: str, http_status: int = 200, **context: Any) -> HTMLResponse:
        env: jinja2.Environment = self.app.templates[self.session.lang]
        live_refresh = "x-live" in self.request.headers  # the page's own script: the messages stay for a reload
        html = env.get_template(template).render(
            page=self, account=self.account, csrf=self.session.csrf, path=self.request.url.path,
            flash=[] if live_refresh else self.session.take_flash(), live=context.pop("live", None),
            here=here(self.request), **context,
        )  # fmt: skip
        return HTMLResponse(html, status_code=http_status)

    def back(self, to: str, kind: str = "", text: str = "") -> RedirectResponse:
        """After a form: to a page of ours (never an address the form names elsewhere), with a message."""
        if kind:
            self.session.say(kind, text)
        return RedirectResponse(local(to), status_code=303)


def admin_only(page: Page) -> Response | None:
    """The program managers' pages: anyone else is sent to sign in, or to their own home page."""
    if page.account is None:
        return page.back("/sign-in")
    return None if page.account.role == "admin" else page.back("/")


Handler = Callable[[Request], Awaitable[Response]]
Gated = Callable[[Request, Page], Awaitable[Response]]  # a handler given the page its gate let through


def admins(handler: Gated) -> Handler:
    """A handler of the program managers' (admin_only lets them through)."""

    async def gated(request: Request) -> Response:
        page = await page_of(request)
        return admin_only(page) or await handler(request, page)

    return gated


def signed_in(handler: Gated) -> Handler:
    """A page for anyone signed in (the services decide what of it they may see); anyone else signs in first."""

    async def gated(request: Request) -> Response:
        page = await page_of(request)
        return page.back("/sign-in") if page.account is None else await handler(request, page)

    return gated


async def page_of(request: Request) -> Page:
    """The request's page, a form's with what it sent."""
    return Page(request, await request.form() if request.method in UNSAFE else None)


def here(request: Request) -> str:
    """The page's own address within the console, its query included (where the language switch returns)."""
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def local(target: str) -> str:
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


async def session_middleware(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    sealer: Sealer = request.app.state.console.sealer
    request.state.session = session = sealer.open(request.cookies.get(COOKIE), SESSION_HOURS * 3600)
    response = await call_next(request)
    if session.changed:
        secure = request.url.scheme == "https" or not is_loopback(request.url.hostname or "")
        response.set_cookie(
            COOKIE, sealer.seal(session), max_age=SESSION_HOURS * 3600, httponly=True, secure=secure,
            samesite="lax", path="/",
        )  # fmt: skip
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def form(handler: Handler) -> Handler:
    """Every form's handler is wrapped in this: a form is taken only when it carries the session's CSRF secret
    and, where the browser says where it comes from, comes from this console."""

    async def checked(request: Request) -> Response:
        if await _csrf_ok(request, request.state.session):
            return await handler(request)
        page = Page(request)
        expired = page._(
            "This form has expired or did not come from this console. Go back, reload the page and try again."
        )
        return page.render("refused.html", http_status=403, refusal=None, headline=expired)

    return checked


async def _csrf_ok(request: Request, session: Session) -> bool:
    origin = request.headers.get("origin")
    if origin and origin != f"{request.url.scheme}://{request.url.netloc}":
        return False
    sent = str((await request.form()).get("csrf", "")) or request.headers.get("x-csrf-token", "")
    return bool(sent) and hmac.compare_digest(sent, session.csrf)


WHOLE = re.compile(r"-?\d+")


def whole_number(sent: object, *, blank: int = -1) -> int:
    """A whole number typed into a form (1,000 too): `blank` when nothing was typed, and -1 for anything that is
    not a number, which the service refuses naming the field (never a crash of ours)."""
    text = str(sent or "").replace(",", "").strip()
    if not text:
        return blank
    return int(text) if WHOLE.fullmatch(text) else -1


async def posted(request: Request) -> tuple[Page, FormData]:
    """A form's page and what it sent."""
    sent = await request.form()
    return Page(request, sent), sent


async def act(page: Page, call: Awaitable[Any], back: str, said: str) -> Response:
    """A form's one call: back to `back` with `said` when the service agrees, or with its refusal in words."""
    try:
        await call
    except Refusal as refusal:
        return refused(page, refusal, back=back)
    return page.back(back, "ok", said)


async def refusal_said(request: Request, refusal: Any) -> Response:
    """A refusal no handler catches (the app's handler for them): said as `refused` says it, so that a page or a
    form whose one call is refused just awaits it."""
    return refused(await page_of(request), refusal)


def refused(page: Page, refusal: Refusal, back: str = "") -> Response:
    """A refused call, said in words: on a form, back to its page (or to `back`) with the message; otherwise a
    page of its own."""
    if refusal.code == grpc.StatusCode.UNAUTHENTICATED:
        page.session.sign_out()
        return page.back("/sign-in", "error", page._("Your sign-in has ended. Please sign in again."))
    headline = headline_of(page, refusal)
    if page.request.method in UNSAFE and page.form is not None:
        back = back or str(page.form.get("back", "")) or page.request.url.path
        detail = "; ".join(f"{f}: {d}" for f, d in refusal.fields) or refusal.message
        fields = {name for name, _detail in refusal.fields}
        # A stale etag: the headline says what happened; the etags themselves mean nothing to a reader.
        said_in_full = SAID_IN_FULL & set(refusal.kinds) or refusal.code == grpc.StatusCode.ABORTED
        if said_in_full or (fields and fields <= SAID_FIELDS):
            return page.back(back, "error", headline)  # the headline says it all; the detail is the service's English
        return page.back(back, "error", f"{headline} ({detail})")
    status = {grpc.StatusCode.NOT_FOUND: 404, grpc.StatusCode.PERMISSION_DENIED: 403}.get(refusal.code, 409)
    if refusal.code == grpc.StatusCode.UNAVAILABLE:
        status = 503
    return page.render("refused.html", http_status=status, refusal=refusal, headline=headline)


# A refusal's headline by what it names, the first that fits: (any of these precondition kinds, or exactly these
# fields: its BadRequest names no others; the words).
HEADLINES = [
    ("BOOKING_CONFLICT", "",
     N_("That time is already taken: the mentor or the room has another booking then.")),
    ("SEATS_FILLED", "",
     N_("Every seat of this kind is taken: waitlist the application instead.")),
    ("STATE_TRANSITION DECISION", "",
     N_("This step is not possible from where it stands now. Reload the page to see its present state.")),
    ("", "reason",
     N_("Say why: this needs a reason.")),
    ("", "sharing_grant.field_groups",
     N_("Choose at least one kind of information to share; to share nothing, stop sharing with the firm.")),
    ("CONFLICT_OF_INTEREST", "",
     N_("A conflict of interest with this applicant is declared: it cannot be scored.")),
    ("REVIEW_ABSTAINED", "",
     N_("You stepped back from this application: it can no longer be scored.")),
    ("REVIEW_SCORED REVIEW_CONFLICTED", "",
     N_("This review is already settled (scored, or in conflict of interest). Reload the page to see it.")),
    ("NO_QUOTA", "",
     N_("This kind of support is counted against a quota, and the company has none yet: set it first.")),
    ("QUOTA_EXCEEDED", "",
     N_("This would go over the company's quota: say why in the form to record it anyway.")),
    ("", "year",
     N_("Choose a year from 2000 to 2100.")),
    ("SESSION_NOT_STARTED", "",
     N_("This session has not begun yet: it can be completed or marked a no-show once it has started.")),
]  # fmt: skip


def headline_of(page: Page, refusal: Refusal) -> str:
    _ = page._
    named = {name for name, _detail in refusal.fields}
    for kinds, fields, words in HEADLINES:
        if set(kinds.split()) & set(refusal.kinds) or (fields and named == set(fields.split())):
            return _(words)
    return {
        grpc.StatusCode.INVALID_ARGUMENT: _("Some of what was entered is not right."),
        grpc.StatusCode.NOT_FOUND: _("This page does not exist, or it is not yours to see."),
        grpc.StatusCode.PERMISSION_DENIED: _("You are not allowed to do this."),
        grpc.StatusCode.FAILED_PRECONDITION: _("This cannot be done in its present state."),
        grpc.StatusCode.ALREADY_EXISTS: _("This already exists."),
        grpc.StatusCode.ABORTED: _("Someone changed this meanwhile. Reload the page and try again."),
        grpc.StatusCode.RESOURCE_EXHAUSTED: _("Too many attempts. Wait a little and try again."),
        grpc.StatusCode.UNAVAILABLE: _("A service of the hub is not answering. Try again in a moment."),
        grpc.StatusCode.DEADLINE_EXCEEDED: _("A service of the hub is not answering. Try again in a moment."),
    }.get(refusal.code, _("Something went wrong on our side; the hub's logs say what."))
