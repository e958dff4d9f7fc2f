"""Import and export for program managers, the hub's side: a sheet's rows planned with hubcore.sheets (the rules
hubctl applies) against the companies and people the signed-in person can read, the file carried from the
preview to its apply as a sealed value (the console keeps nothing of it), and the plan's writes sent as that
person with the plan's request ids, so that applying a file twice changes nothing.

What was previewed is what is applied, or said why not: the sealed value carries each row's previewed action
and the version (etag) of each record an update was previewed against, so a record someone changed meanwhile
is refused by the service (ABORTED) rather than overwritten, and a row whose action is no longer what the
preview said is not written."""

from __future__ import annotations

import asyncio
import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import grpc
from cryptography.fernet import InvalidToken
from hub.companies.v1 import companies_pb2 as cpb

from hubcore import sheets
from hubcore.sheets import Sheet, Step
from services.console.backend import Refusal, Signed
from services.console.session import Sealer

KINDS = ("companies", "people")
MAX_BYTES = 2_000_000  # an upload; a sheet of thousands of companies is a few hundred kilobytes
MAX_ROWS = 5_000
MAX_SEALED = 900_000  # the apply form's field, under the 1 MB a form field may have (Starlette)
SEALED_SECONDS = 3600  # a preview left open longer is uploaded again
PARALLEL = 4  # writes in flight at once: a big file goes faster, the service is not flooded
LIST_SIZE = 500
FINAL = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAVAILABLE,
         grpc.StatusCode.DEADLINE_EXCEEDED)  # fmt: skip  # nothing more will work: stop, applying again is safe
CREATED, UPDATED, NOT_DONE, STALE = "created", "updated", "not_done", "stale"


async def listed(call: Callable[[Any], Awaitable[Any]], request: Any, field: str) -> list[Any]:
    """Every item of a listing, page after page."""
    items: list[Any] = []
    while True:
        answer = await call(request)
        items += getattr(answer, field)
        request.page_token = answer.next_page_token
        if not request.page_token:
            return items


async def plan(hub: Signed, kind: str, sheet: Sheet) -> list[Step]:
    """Each row's step, against the hub as it is now (a Refusal if it cannot be read)."""
    companies = await listed(hub.companies.ListCompanies, cpb.ListCompaniesRequest(page_size=LIST_SIZE), "companies")
    if kind == "companies" and not sheet.with_founders:
        return sheets.plan_companies(sheet.rows, companies)
    people = await listed(hub.companies.ListPeople, cpb.ListPeopleRequest(page_size=LIST_SIZE), "people")
    if kind == "companies":
        return sheets.plan_companies(sheet.rows, companies, people)
    return sheets.plan_people(sheet.rows, companies, people)


@dataclass
class Carried:
    """What the preview hands its apply: the file's kind and text, and per line the action previewed and the
    etag of the record an update was previewed against."""

    kind: str
    filename: str
    text: str
    previewed: dict[int, tuple[str, str]] = field(default_factory=dict)

    @classmethod
    def of(cls, kind: str, filename: str, text: str, steps: list[Step]) -> Carried:
        return cls(kind, filename, text, {s.line: (s.action, _etag(s.request)) for s in steps})


def _resource(request: Any) -> Any:
    return request.company if isinstance(request, cpb.UpdateCompanyRequest) else request.person


def _etag(request: Any) -> str:
    if isinstance(request, cpb.UpdateCompanyRequest | cpb.UpdatePersonRequest):
        return str(_resource(request).etag)
    return ""


def seal(sealer: Sealer, csrf: str, carried: Carried) -> str | None:
    """The sealed value of the apply form (None: too big for one form field). Bound to the session's CSRF
    secret, so it applies only in the session that previewed it (a sign-in again starts a new one)."""
    data = {"kind": carried.kind, "filename": carried.filename, "text": carried.text, "csrf": csrf,
            "previewed": {str(k): v for k, v in carried.previewed.items()}}  # fmt: skip
    token = sealer.fernet.encrypt(zlib.compress(json.dumps(data, ensure_ascii=False).encode(), 9)).decode()
    return token if len(token) <= MAX_SEALED else None


def unseal(sealer: Sealer, csrf: str, token: str) -> Carried | None:
    """The preview's file again; None for a value forged, altered, from another session or older than an hour."""
    try:
        data = json.loads(zlib.decompress(sealer.fernet.decrypt(token.encode(), ttl=SEALED_SECONDS)))
    except (InvalidToken, ValueError, zlib.error):
        return None
    if data.get("csrf") != csrf or data.get("kind") not in KINDS:
        return None
    previewed = {int(k): (str(a), str(e)) for k, (a, e) in data.get("previewed", {}).items()}
    return Carried(data["kind"], str(data.get("filename", "")), str(data["text"]), previewed)


@dataclass
class Outcome:
    """What applying one row did: created, updated, unchanged, rejected (in the plan: step.reason; by the
    service: refusal), stale (no longer what was previewed) or not_done (the run stopped before it)."""

    step: Step
    done: str
    refusal: Refusal | None = None


async def apply(hub: Signed, steps: list[Step], previewed: dict[int, tuple[str, str]]) -> list[Outcome]:
    """Writes each step the preview showed (PARALLEL at a time; a company's founder after the company); stops
    at a refusal after which nothing more would work."""
    gate = asyncio.Semaphore(PARALLEL)
    stopped: list[Refusal] = []

    async def one(step: Step) -> Outcome:
        action, etag = previewed.get(step.line, ("", ""))
        if not step.writes:
            return Outcome(step, step.action)
        if action != step.action:
            return Outcome(step, STALE)
        if etag and step.request is not None:
            _resource(step.request).etag = etag  # the version previewed: changed meanwhile is ABORTED
        async with gate:
            if stopped:
                return Outcome(step, NOT_DONE, stopped[0])
            try:
                await write(hub, step)
            except Refusal as refusal:
                if refusal.code in FINAL:
                    stopped.append(refusal)
                return Outcome(step, sheets.REJECTED, refusal)
        return Outcome(step, CREATED if step.action == sheets.CREATE else UPDATED)

    return list(await asyncio.gather(*(one(step) for step in steps)))


async def write(hub: Signed, step: Step) -> None:
    """A step's write (CreateCompany for a CreateCompanyRequest, …), then a company's founder."""
    made = None
    if step.request is not None:
        made = await getattr(hub.companies, type(step.request).__name__.removesuffix("Request"))(step.request)
    if step.founder is not None:
        company = step.founder.company or (made.name if made is not None else "")
        await hub.companies.CreatePerson(sheets.founder_request(step.founder, company))


async def exported(hub: Signed, kind: str) -> AsyncIterator[str]:
    """An export's text, line by line as the pages arrive: a UTF-8 BOM first (so Excel reads Hangul), the
    columns an import reads, every cell safe from formulas. The first page is asked before anything is sent,
    so a refusal is still a page of its own (a Refusal from the first step of the iterator)."""
    headers = sheets.COMPANY_EXPORT if kind == "companies" else sheets.PERSON_EXPORT
    request: Any = (cpb.ListCompaniesRequest(page_size=LIST_SIZE) if kind == "companies"
                    else cpb.ListPeopleRequest(page_size=LIST_SIZE))  # fmt: skip
    call = hub.companies.ListCompanies if kind == "companies" else hub.companies.ListPeople
    answer = await call(request)
    yield "\ufeff" + sheets.csv_line(headers, dict(zip(headers, headers, strict=True)))
    while True:
        for item in getattr(answer, kind):
            row = sheets.company_row(item) if kind == "companies" else sheets.person_row(item)
            yield sheets.csv_line(headers, row)
        if not answer.next_page_token:
            return
        request.page_token = answer.next_page_token
        answer = await call(request)
