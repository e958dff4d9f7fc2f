"""Saved views of the companies list: the search and filters a program manager keeps under a title, which every
program manager sees above the list and opens with one click. The companies service keeps them (the console owns
no data) and checks the query; the team shares them, so any program manager may delete one."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

import grpc
from hub.companies.v1 import companies_pb2 as cpb
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response

from hubcore.text import clean, clean_tags
from services.console.backend import Refusal
from services.console.labels import short_names
from services.console.web import Page, act, posted, refused

STATUSES = short_names(cpb.CompanyStatus)
SECTORS = short_names(cpb.Sector)
STAGES = short_names(cpb.Stage)
LIST = "companies"
ROUND = re.compile(r"rounds/[1-9][0-9]{0,17}")


@dataclass(frozen=True)
class Filters:
    """The companies list's search and filters as its URL carries them (q, status, sector, stage, tag…)."""

    q: str = ""
    status: str = ""
    sector: str = ""
    stage: str = ""
    cohort: str = ""  # rounds/N: the companies selected in that selection round
    tags: tuple[str, ...] = ()

    @classmethod
    def of(cls, params: QueryParams) -> Filters:
        """What the address asks, as the service stores a view's (so the open view is found); a value the list
        does not know is dropped. Tags come repeated (a saved view) or as one field separated by commas (the form)."""
        pick = lambda key, known: value if (value := params.get(key, "").strip()) in known else ""  # noqa: E731
        tags = clean_tags(t for sent in params.getlist("tag") for t in sent.split(","))
        cohort = params.get("cohort", "").strip()
        return cls(clean(params.get("q", "")), pick("status", STATUSES), pick("sector", SECTORS), pick("stage", STAGES),
                   cohort if ROUND.fullmatch(cohort) else "", tuple(tags))  # fmt: skip

    @property
    def filter(self) -> str:
        """ListCompanies' filter."""
        terms = [f"{key}={value}" for key, value in self.fields if key in ("status", "sector", "stage", "cohort")]
        return " AND ".join(terms + [f'tag="{t}"' for t in self.tags if '"' not in t])

    @property
    def fields(self) -> list[tuple[str, str]]:
        pairs = [("q", self.q), ("status", self.status), ("sector", self.sector), ("stage", self.stage),
                 ("cohort", self.cohort)]  # fmt: skip
        return [(key, value) for key, value in pairs if value] + [("tag", t) for t in self.tags]

    @property
    def query(self) -> str:
        """The list's URL query, as a saved view keeps it."""
        return urlencode(self.fields)


async def saved_views(page: Page) -> list[dict[str, Any]] | Refusal:
    """The team's views of the companies list, with what each asks (key, value), which the page says in words."""
    asked = cpb.ListSavedViewsRequest(filter=f"list={LIST}", page_size=100)
    try:
        found = await page.hub.companies.ListSavedViews(asked)
    except Refusal as refusal:
        return refusal
    return [{"view": v, "id": v.name.removeprefix("savedViews/"), "asks": parse_qsl(v.query)}
            for v in found.saved_views]  # fmt: skip


def new_request_id() -> str:
    return str(uuid.uuid4())


async def save_view(request: Request) -> Response:
    """POST /companies/views: the list's present search and filters under a title."""
    page = Page(request, await request.form())
    form = page.form
    assert form is not None
    query = Filters.of(QueryParams(str(form.get("query", "")))).query
    back = f"/companies?{query}" if query else "/companies"
    view = cpb.SavedView(list=LIST, title=str(form.get("title", "")), query=query)
    asked = cpb.CreateSavedViewRequest(saved_view=view, request_id=str(form.get("request_id", "")) or new_request_id())
    try:
        await page.hub.companies.CreateSavedView(asked)
    except Refusal as refusal:
        if refusal.code == grpc.StatusCode.ALREADY_EXISTS:
            return page.back(back, "error", page._("A view with this title exists already: choose another title."))
        if {name for name, _detail in refusal.fields} == {"saved_view.title"}:
            return page.back(back, "error", page._("Give the view a title (at most 100 characters)."))
        return refused(page, refusal, back=back)
    return page.back(back, "ok", page._("The view is saved: every program manager sees it above the list."))


async def delete_view(request: Request) -> Response:
    """POST /companies/views/N/delete: any program manager may, the team shares them."""
    page, form = await posted(request)
    back = str(form.get("back", "")) or "/companies"
    asked = cpb.DeleteSavedViewRequest(name=f"savedViews/{request.path_params['view']}")
    return await act(page, page.hub.companies.DeleteSavedView(asked), back, page._("The view is deleted."))
