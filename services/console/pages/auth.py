"""Signing in and out. Program managers, founders, mentors and reviewers sign in with a code mailed to them
(IdentityService); a program manager may also paste an admin token (the machine's, or one `hubctl tokens issue`
made). Attempts are limited per browser address here, and per address and code by the service."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable

import grpc
from hub.ops.v1 import identities_pb2 as ipb
from hub.ops.v1 import tokens_pb2 as tpb
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from services.console.backend import Hub, Refusal, Signed
from services.console.session import LANGUAGES, Account
from services.console.web import Page, local, posted, refused

ROLES = {
    tpb.ACCESS_TOKEN_ROLE_ADMIN: "admin",
    tpb.ACCESS_TOKEN_ROLE_FOUNDER: "founder",
    tpb.ACCESS_TOKEN_ROLE_MENTOR: "mentor",
    tpb.ACCESS_TOKEN_ROLE_REVIEWER: "reviewer",
}
PASTED_TOKEN_HOURS = 8  # how long the console keeps a pasted admin token signed in


async def sign_in_page(request: Request) -> Response:
    """The address step, or the code step once a code was asked for; the link in a sign-in mail
    (/sign-in?email=…) opens the code step for its address."""
    page = Page(request)
    mailed = request.query_params.get("email", "").strip()
    if mailed and "@" in mailed and len(mailed) <= 200:
        page.session.email, page.session.changed = mailed, True
        return page.render("sign_in.html", step="code", email=mailed)
    step = "code" if page.session.email and request.query_params.get("step") == "code" else "email"
    return page.render("sign_in.html", step=step, email=page.session.email)


def _front(page: Page) -> Signed:
    """The services as the console calls the open sign-in methods for this browser."""
    hub: Hub = page.app.hub
    return hub.for_browser(page.request.client.host if page.request.client else "")


def _limited(page: Page) -> Response | None:
    peer = page.request.client.host if page.request.client else "?"
    if wait := page.app.sign_in_limit.take(peer):
        return page.back("/sign-in", "error", page._("Too many attempts. Wait a little and try again.")
                         + f" ({wait:.0f} s)")  # fmt: skip
    return None


def _attempt(handler: Callable[[Page, FormData], Awaitable[Response]]) -> Callable[[Request], Awaitable[Response]]:
    """A sign-in attempt's form: taken only within the limit per browser address."""

    async def counted(request: Request) -> Response:
        page, form = await posted(request)
        return _limited(page) or await handler(page, form)

    return counted


@_attempt
async def ask_code(page: Page, form: FormData) -> Response:
    email = str(form.get("email", "")).strip()
    await _front(page).identities.RequestSignInCode(ipb.RequestSignInCodeRequest(email=email))
    page.session.email = email
    page.session.say("ok", page._("If this address is invited, a six-digit code is on its way. It works once, "
                                  "for 15 minutes."))  # fmt: skip
    return page.back("/sign-in?step=code")


@_attempt
async def sign_in(page: Page, form: FormData) -> Response:
    email, code = page.session.email, str(form.get("code", "")).strip()
    try:
        signed = await _front(page).identities.SignIn(ipb.SignInRequest(email=email, code=code))
    except Refusal as refusal:
        page.form = None  # a wrong code is said on the code step itself
        page.session.say("error", page._("The code is wrong, used or expired. Check the latest mail, or ask "
                                         "for a new code."))  # fmt: skip
        return page.back("/sign-in?step=code" if refusal.code.name != "RESOURCE_EXHAUSTED" else "/sign-in")
    accounts = [
        Account(token=t.secret, name=t.name, role=ROLES.get(t.role, ""), scope=t.scope,
                label=t.subject, expires=t.expire_time.seconds)
        for t in signed.access_tokens
    ]  # fmt: skip
    page.session.sign_in(accounts)
    return page.back("/")


@_attempt
async def sign_in_with_token(page: Page, form: FormData) -> Response:
    """A program manager's admin token, checked by a call only admins may make."""
    secret = str(form.get("token", "")).strip()
    probe = page.app.hub.signed(secret)
    try:
        await probe.identities.ListIdentities(ipb.ListIdentitiesRequest(page_size=1))
    except Refusal:
        return page.back("/sign-in", "error", page._("This token is not a program manager's token, or it has "
                                                     "ended."))  # fmt: skip
    expires = time.time() + PASTED_TOKEN_HOURS * 3600
    page.session.sign_in([Account(token=secret, name="", role="admin", scope="", label=page._("Program manager"),
                                  expires=expires)])  # fmt: skip
    return page.back("/")


async def sign_out(request: Request) -> Response:
    """Revokes the token (every account of this sign-in) where the register holds it, then forgets them."""
    page = Page(request, await request.form())
    for account in page.session.accounts:
        with contextlib.suppress(Refusal):  # already ended, or the machine's configured token: nothing to revoke
            await page.app.hub.signed(account.token).identities.SignOut(ipb.SignOutRequest())
    page.session.sign_out()
    return page.back("/sign-in", "ok", page._("You have signed out."))


async def switch_account(request: Request) -> Response:
    """A founder of two companies acts for one at a time."""
    page, form = await posted(request)
    chosen = str(form.get("account", ""))
    if chosen.isdigit() and int(chosen) < len(page.session.accounts):
        page.session.current = int(chosen)
        page.session.changed = True
    return page.back("/")


async def language(request: Request) -> Response:
    page, form = await posted(request)
    wanted = str(form.get("lang", "ko"))
    if wanted in LANGUAGES:
        page.session.lang = wanted
        page.session.changed = True
    return page.back(local(str(form.get("back", "/"))))


async def invite(page: Page, identity: ipb.Identity, back: str, said: str) -> Response:
    """Someone let sign in (a founder, a mentor): the companies service mails them how. An invitation already
    sent (a page left open, a second program manager) is said so, in words."""
    try:
        await page.hub.identities.CreateIdentity(ipb.CreateIdentityRequest(identity=identity))
    except Refusal as refusal:
        if refusal.code == grpc.StatusCode.ALREADY_EXISTS:
            return page.back(back, "error", page._("They were invited already: they can sign in."))
        return refused(page, refusal, back=back)
    return page.back(back, "ok", said)
