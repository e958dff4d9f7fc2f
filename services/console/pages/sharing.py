"""What a company lets investors see, decided by its founder (`/companies/N/sharing`): the field groups each firm
is granted (changed or revoked there), a firm granted anew, and the access log of what each firm's partners read.
A program manager may act here for the company, with a reason the investors service keeps.

A founder may not list the hub's firms, so the firms offered are the ones the company knows: those of its
introductions and of its grants, named as the service names them for the company (firm_display_name), and
every firm at once (firms/-: the grant to every firm, which puts the company in every firm's deal flow with
DEAL_FLOW); the page's addresses number that grant 0."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from hub.companies.v1 import companies_pb2 as cpb
from hub.investors.v1 import investors_pb2 as ipb
from starlette.requests import Request
from starlette.responses import Response

from services.console.backend import Refusal
from services.console.labels import N_, short_names
from services.console.pages.home import _all
from services.console.pages.investors import every, number_of
from services.console.web import Page, act, posted, refused, signed_in

GROUPS = short_names(ipb.FieldGroup)  # NAMES, PROFILE, WEBSITE, DEAL_FLOW, KPI_…
EVERY_FIRM = "firms/-"  # the company's grant to every firm, numbered 0 in the page's addresses
READS_PAGE = 50
FIRM = re.compile(r"firms/\d+")
# What a partner's call did, by the partner API's method (the access log names the method).
READ_WORDS = {
    "ListIntroductions": N_("Listed the firm's introductions"),
    "GetIntroduction": N_("Opened an introduction"),
    "RespondToIntroduction": N_("Answered an introduction"),
    "RecordMeeting": N_("Recorded a meeting"),
    "RecordOutcome": N_("Recorded an outcome"),
    "ListDealFlow": N_("Saw the company in the firm's deal flow"),
    "RequestIntroduction": N_("Asked for an introduction"),
    "ListCompanyUpdates": N_("Read the company's KPI updates"),
}


@dataclass(frozen=True)
class Grant:
    """One firm's grant, as the page shows it."""

    firm: str  # firms/3
    number: int
    firm_name: str
    groups: list[str]  # NAMES, PROFILE…; empty once revoked
    active: bool
    since: Any  # Timestamps
    changed: Any
    revoked: Any
    by_founder: bool
    reason: str
    introduction: int  # the introduction whose consent made the last change, 0 if none
    etag: str


@dataclass(frozen=True)
class Read:
    """One line of the access log."""

    when: Any
    firm_name: str
    partner: int
    what: str  # READ_WORDS' message, or the method's name
    groups: list[str]
    introductions: list[int]


@signed_in
async def sharing_page(request: Request, page: Page) -> Response:
    company, hub = f"companies/{request.path_params['company']}", page.hub
    firm = request.query_params.get("firm", "")
    firm = firm if FIRM.fullmatch(firm) else ""
    found = await hub.companies.GetCompany(cpb.GetCompanyRequest(name=company))
    answers = await _all({
        "grants": every(hub.investors.ListSharingGrants, ipb.ListSharingGrantsRequest(
            parent=company, show_revoked=True, page_size=100), "sharing_grants"),
        "introductions": every(hub.investors.ListCompanyIntroductions, ipb.ListCompanyIntroductionsRequest(
            parent=company, page_size=100), "introductions"),
        "reads": hub.investors.ListCompanyReads(ipb.ListCompanyReadsRequest(
            parent=company, page_size=READS_PAGE, page_token=request.query_params.get("page", ""),
            filter=f"firm={firm}" if firm else "")),
    })  # fmt: skip
    for key in ("grants", "reads"):
        if isinstance(answers[key], Refusal):
            return refused(page, answers[key])
    introductions = [] if isinstance(answers["introductions"], Refusal) else answers["introductions"]
    names = {i.firm: i.firm_display_name for i in introductions}
    names |= {g.firm: g.firm_display_name or names.get(g.firm, "") for g in answers["grants"]}
    grants = [_grant(g, names) for g in answers["grants"]]
    held = {g.firm for g in grants if g.active}
    offered = sorted(((f, n or f) for f, n in names.items() if f not in held and f != EVERY_FIRM), key=lambda p: p[1])
    if EVERY_FIRM not in held:
        offered.insert(0, (EVERY_FIRM, page._("Every firm (all investors)")))
    reads = answers["reads"]
    return page.render(
        "sharing.html", company=found, number=number_of(company), admin=page.role == "admin",
        active=[g for g in grants if g.active], revoked=[g for g in grants if not g.active], offered=offered,
        groups=GROUPS, reads=[_read(page, r, names) for r in reads.company_reads], next_page=reads.next_page_token,
        firm=firm, firms=sorted(names.items(), key=lambda pair: pair[1]),
    )  # fmt: skip


def _grant(g: Any, names: dict[str, str]) -> Grant:
    number = 0 if g.firm == EVERY_FIRM else number_of(g.firm)
    return Grant(
        g.firm, number, names.get(g.firm) or g.firm, group_names(g.field_groups),
        not g.revoke_time.seconds, g.create_time, g.update_time, g.revoke_time, g.actor.startswith("founder:"),
        g.reason, number_of(g.introduction) if g.introduction else 0, g.etag,
    )  # fmt: skip


def _read(page: Page, r: Any, names: dict[str, str]) -> Read:
    method = r.method.rpartition("/")[2]
    what = page._(READ_WORDS[method]) if method in READ_WORDS else method
    return Read(
        r.read_time, names.get(r.firm) or r.firm, number_of(r.partner) if r.partner else 0, what,
        group_names(r.field_groups), [number_of(i) for i in r.introductions],
    )  # fmt: skip


def group_names(values: Any) -> list[str]:
    """FieldGroup numbers as their short names (NAMES, PROFILE…)."""
    return [ipb.FieldGroup.Name(v).removeprefix("FIELD_GROUP_") for v in values if v]


def _chosen(page: Page) -> list[ipb.FieldGroup.ValueType]:
    assert page.form is not None
    return [ipb.FieldGroup.Value(f"FIELD_GROUP_{g}") for g in page.form.getlist("group") if g in GROUPS]


async def grant(request: Request) -> Response:
    """Grants a firm the field groups chosen (a firm whose grant was revoked is granted again)."""
    page, form = await posted(request)
    company = f"companies/{request.path_params['company']}"
    asked = ipb.CreateSharingGrantRequest(
        parent=company, reason=str(form.get("reason", "")),
        sharing_grant=ipb.SharingGrant(firm=str(form.get("firm", "")), field_groups=_chosen(page)),
    )  # fmt: skip
    said = page._("Shared. The firm sees what you chose from its next read.")
    return await act(page, page.hub.investors.CreateSharingGrant(asked), f"/{company}/sharing", said)


async def change(request: Request) -> Response:
    """Replaces what a firm may see with the field groups chosen."""
    page, form = await posted(request)
    wanted = ipb.SharingGrant(name=_grant_name(request), field_groups=_chosen(page), etag=str(form.get("etag", "")))
    asked = ipb.UpdateSharingGrantRequest(sharing_grant=wanted, reason=str(form.get("reason", "")))
    said = page._("Changed. The firm sees what you chose from its next read.")
    return await act(page, page.hub.investors.UpdateSharingGrant(asked), _page_of(request), said)


async def revoke(request: Request) -> Response:
    """Stops sharing anything with a firm."""
    page, form = await posted(request)
    asked = ipb.RevokeSharingGrantRequest(name=_grant_name(request), reason=str(form.get("reason", "")),
                                          etag=str(form.get("etag", "")))  # fmt: skip
    said = page._("Sharing stopped. The firm sees nothing of the company from its next read.")
    return await act(page, page.hub.investors.RevokeSharingGrant(asked), _page_of(request), said)


def _grant_name(request: Request) -> str:
    """The grant to the firm the address names: companies/7/sharingGrants/4 (0: the grant to every firm, -)."""
    firm = request.path_params["firm"] or "-"
    return f"companies/{request.path_params['company']}/sharingGrants/{firm}"


def _page_of(request: Request) -> str:
    return f"/companies/{request.path_params['company']}/sharing"
