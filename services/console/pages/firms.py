"""Changing the register of firms, for program managers: a firm created, its fields edited, its theses added,
edited and removed (what MatchInvestors scores companies against), its partners edited. Each edit sends only the
fields the person changed, with the etag of the page they edited: a firm or partner changed meanwhile is refused
(ABORTED, said in words), not overwritten."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask
from hub.investors.v1 import investors_pb2 as ipb
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from hubcore.convert import money_if
from hubcore.korean import read_krw
from hubcore.text import clean_tags
from services.console.backend import Refusal
from services.console.labels import enum_value
from services.console.web import Page, act, posted, refused

# The companies service's sectors and stages, as the Thesis message names them.
SECTORS = (
    "MEDICAL", "EDUCATION", "MANUFACTURING", "MOBILITY", "FINANCE", "RETAIL",
    "MEDIA", "SECURITY", "ROBOTICS", "AGRICULTURE", "ENERGY", "OTHER",
)  # fmt: skip
STAGES = ("IDEA", "PRE_SEED", "SEED", "PRE_A", "SERIES_A", "SERIES_B", "SERIES_C_PLUS")
FIRM_FIELDS = ("korean_name", "english_name", "website", "description")
PARTNER_FIELDS = ("korean_name", "english_name", "title", "email", "phone")


class NotAnAmount(ValueError):
    """A ticket typed that is not an amount in won."""


def text(form: FormData, name: str) -> str:
    return str(form.get(name, "")).strip()


def listed(value: str) -> list[str]:
    """KR, US SG → [KR, US, SG]: codes typed in one field."""
    return value.replace(",", " ").split()


def amount(form: FormData, name: str) -> int:
    """A ticket bound typed the Korean way (5억, 500,000,000); empty is 0 (no bound)."""
    typed = text(form, name)
    if not typed:
        return 0
    units = read_krw(typed)
    if units is None:
        raise NotAnAmount(typed)
    return units


def thesis_of(form: FormData) -> ipb.Thesis:
    """The thesis a form describes (its sectors and stages ticked, its tickets in won)."""
    return ipb.Thesis(
        title=text(form, "title"), sectors=[s for s in form.getlist("sector") if s in SECTORS],
        stages=[s for s in form.getlist("stage") if s in STAGES], ticket_min=money_if(amount(form, "ticket_min")),
        ticket_max=money_if(amount(form, "ticket_max")),
        geographies=[g.upper() for g in listed(text(form, "geographies"))],
    )  # fmt: skip


def firm_type(form: FormData) -> ipb.FirmType.ValueType:
    return ipb.FirmType.ValueType(enum_value(ipb.FirmType, text(form, "type")))


def has_thesis(form: FormData) -> bool:
    """Whether the create form's thesis part was filled in at all."""
    return any(text(form, f) for f in ("title", "ticket_min", "ticket_max", "geographies")) or bool(
        form.getlist("sector") or form.getlist("stage")
    )


def changed(current: Any, wanted: Any, fields: Iterable[str]) -> list[str]:
    """The fields whose wanted value differs from the current one: the update mask of an edit."""
    return [f for f in fields if getattr(current, f) != getattr(wanted, f)]


def not_an_amount(page: Page, back: str) -> Response:
    said = page._("Write the ticket in won as a number, such as 500000000 or 5억, or leave it empty.")
    return page.back(back, "error", said)


async def create_firm(request: Request) -> Response:
    page, form = await posted(request)
    firm = ipb.Firm(
        korean_name=text(form, "korean_name"), english_name=text(form, "english_name"),
        type=firm_type(form), website=text(form, "website"),
        description=text(form, "description"),
    )  # fmt: skip
    try:
        if has_thesis(form):
            firm.theses.append(thesis_of(form))
    except NotAnAmount:
        return not_an_amount(page, "/investors")
    asked = ipb.CreateFirmRequest(firm=firm, request_id=text(form, "request_id") or str(uuid.uuid4()))
    try:
        made = await page.hub.investors.CreateFirm(asked)
    except Refusal as refusal:
        return refused(page, refusal, back="/investors")
    return page.back(f"/investors/{made.name}", "ok", page._("The firm is registered."))


async def edit_firm(request: Request) -> Response:
    """The firm's fields changed on its page: only those that differ are sent."""
    page, form = await posted(request)
    name = f"firms/{request.path_params['firm']}"
    back = f"/investors/{name}"
    wanted = ipb.Firm(name=name, etag=text(form, "etag"), type=firm_type(form))
    for field in FIRM_FIELDS:
        setattr(wanted, field, text(form, field))
    try:
        current = await page.hub.investors.GetFirm(ipb.GetFirmRequest(name=name))
    except Refusal as refusal:
        return refused(page, refusal, back=back)
    paths = changed(current, wanted, (*FIRM_FIELDS, "type"))
    if not paths:  # what was sent is what the firm holds (even if someone else wrote it meanwhile)
        return page.back(back, "ok", page._("Nothing was changed."))
    asked = ipb.UpdateFirmRequest(firm=wanted, update_mask=FieldMask(paths=paths))
    return await act(page, page.hub.investors.UpdateFirm(asked), back, page._("The firm is updated."))


async def change_theses(request: Request) -> Response:
    """A thesis added (no index), edited (its index) or removed (remove=1): the firm's theses are replaced whole,
    as UpdateFirm takes them, under the etag of the page the person saw."""
    page, form = await posted(request)
    name = f"firms/{request.path_params['firm']}"
    back = f"/investors/{name}"
    index = request.path_params.get("thesis")
    try:
        current = await page.hub.investors.GetFirm(ipb.GetFirmRequest(name=name))
    except Refusal as refusal:
        return refused(page, refusal, back=back)
    theses = list(current.theses)
    if index is not None and index >= len(theses):
        return page.back(back, "error", page._("Someone changed this meanwhile. Reload the page and try again."))
    try:
        if index is None:
            theses.append(thesis_of(form))
        elif form.get("remove"):
            del theses[index]
        else:
            theses[index] = thesis_of(form)
    except NotAnAmount:
        return not_an_amount(page, back)
    wanted = ipb.Firm(name=name, etag=text(form, "etag"), theses=theses)
    asked = ipb.UpdateFirmRequest(firm=wanted, update_mask=FieldMask(paths=["theses"]))
    said = page._("The thesis is removed.") if form.get("remove") else page._("The theses are saved.")
    return await act(page, page.hub.investors.UpdateFirm(asked), back, said)


async def edit_partner(request: Request) -> Response:
    """A partner's fields changed on their firm's page: only those that differ are sent."""
    page, form = await posted(request)
    name = f"partners/{request.path_params['partner']}"
    wanted = ipb.Partner(name=name, etag=text(form, "etag"), focus=clean_tags(text(form, "focus").split(",")))
    for field in PARTNER_FIELDS:
        setattr(wanted, field, text(form, field))
    current = await page.hub.investors.GetPartner(ipb.GetPartnerRequest(name=name))
    back = f"/investors/{current.firm}"
    paths = changed(current, wanted, PARTNER_FIELDS) + (["focus"] if list(current.focus) != list(wanted.focus) else [])
    if not paths:
        return page.back(back, "ok", page._("Nothing was changed."))
    asked = ipb.UpdatePartnerRequest(partner=wanted, update_mask=FieldMask(paths=paths))
    return await act(page, page.hub.investors.UpdatePartner(asked), back, page._("The partner is updated."))
