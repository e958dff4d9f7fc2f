"""A program manager registers a company, or changes its profile, in a form (the import does the same for many
at once). The form's fields are an import's columns, read by the same rules (`hubcore.sheets.company_from_row`),
so a company typed here and one imported are one and the same; only the fields that differ are sent, with the
etag the form was drawn from, so a change someone made meanwhile is refused, not overwritten. A refused form
comes back with what was typed and why, in words."""

from __future__ import annotations

import uuid
from typing import Any

from google.protobuf import field_mask_pb2
from hub.companies.v1 import companies_pb2 as cpb
from starlette.requests import Request
from starlette.responses import Response

from hubcore.directory import COMPANY_MUTABLE
from hubcore.sheets import Rejected, company_from_row, company_row, shown
from services.console.backend import Refusal
from services.console.labels import short_names
from services.console.outcomes import Note, refusal_notes, rejected
from services.console.pages.companies import SECTORS
from services.console.web import Page, admins, headline_of, refused

STAGES = short_names(cpb.Stage)
FIELDS = ("korean_name", "english_name", "sector", "stage", "tags", "website", "founded_on", "description")


@admins
async def new_company(request: Request, page: Page) -> Response:
    return _form(page, None, {f: "" for f in FIELDS}, [])


@admins
async def edit_company(request: Request, page: Page) -> Response:
    company = await page.hub.companies.GetCompany(cpb.GetCompanyRequest(name=_name(request)))
    row = company_row(company)
    return _form(page, company, {f: str(row.get(f, "")) for f in FIELDS} | {"etag": company.etag}, [])


async def create_company(request: Request) -> Response:
    page = Page(request, await request.form())
    typed = _typed(page)
    try:
        wanted = company_from_row(typed)
    except Rejected as why:
        return _form(page, None, typed, rejected(page._, why))
    asked = cpb.CreateCompanyRequest(company=wanted, request_id=typed.get("request_id") or str(uuid.uuid4()))
    try:
        made = await page.hub.companies.CreateCompany(asked)
    except Refusal as refusal:
        return _form(page, None, typed, _why(page, refusal))
    return page.back(f"/{made.name}", "ok", page._("The company is registered."))


async def update_company(request: Request) -> Response:
    page = Page(request, await request.form())
    typed, name = _typed(page), _name(request)
    try:
        current = await page.hub.companies.GetCompany(cpb.GetCompanyRequest(name=name))
        wanted = company_from_row(typed)
    except Refusal as refusal:
        return refused(page, refusal)
    except Rejected as why:
        return _form(page, current, typed, rejected(page._, why))
    # The form does not show the reporting consent (set by CompanyService's UpdateCompany or hubctl): never sent.
    changed = [f for f in sorted(COMPANY_MUTABLE - {"reporting_consent"}) if shown(wanted, f) != shown(current, f)]
    if not changed:
        return page.back(f"/{name}", "ok", page._("Nothing changed."))
    wanted.name, wanted.etag = name, typed.get("etag", "")
    asked = cpb.UpdateCompanyRequest(company=wanted, update_mask=field_mask_pb2.FieldMask(paths=changed))
    try:
        await page.hub.companies.UpdateCompany(asked)
    except Refusal as refusal:
        return _form(page, current, typed, _why(page, refusal))
    return page.back(f"/{name}", "ok", page._("The profile is saved."))


def _why(page: Page, refusal: Refusal) -> list[Note]:
    """The fields the service refused, in words; otherwise its refusal's headline (a change made meanwhile…)."""
    if refusal.fields:
        return refusal_notes(page._, refusal, "")
    return [Note("", headline_of(page, refusal))]


def _name(request: Request) -> str:
    return f"companies/{request.path_params['company']}"


def _typed(page: Page) -> dict[str, str]:
    assert page.form is not None
    return {f: str(page.form.get(f, "")).strip() for f in (*FIELDS, "etag", "request_id")}


def _form(page: Page, company: Any, values: dict[str, str], problems: list[Note]) -> Response:
    """The form, with what was typed (or the company as it is) and, after a refusal, why."""
    values.setdefault("etag", "")
    values.setdefault("request_id", str(uuid.uuid4()))  # one id per form drawn: a second press is one company
    return page.render(
        "company_form.html", company=company, values=values, problems=problems, sectors=SECTORS, stages=STAGES,
        http_status=400 if problems else 200,
    )  # fmt: skip
