"""Import and export (program managers). `/import`: a CSV of companies or people (UTF-8, with or without the BOM
Excel writes, or CP949) is read with the headers people write (기업명, 영문명, 분야, …) and previewed row by
row: new, what changes, unchanged, refused and why; nothing is written until "apply" posts the same file back
(sealed in the page, imports.seal) and each row is written with its request id, so applying twice changes
nothing. `/export`: companies and people as CSV with a UTF-8 BOM that Excel opens with Hangul intact, every
cell safe from formulas, the columns an import reads."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from zoneinfo import ZoneInfo

import grpc
from babel.numbers import format_decimal
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hubcore import sheets
from hubcore.text import decode_spreadsheet
from services.console import imports, outcomes
from services.console.backend import Refusal
from services.console.imports import KINDS, MAX_BYTES, MAX_ROWS, Carried
from services.console.web import Page, admins, headline_of, refused

EXAMPLES = {"companies": "기업명, 영문명, 분야, 단계, 태그", "people": "성명, 소속, 구분, 직책, 이메일"}


@admins
async def import_page(request: Request, page: Page) -> Response:
    kind = request.query_params.get("kind", "")
    return page.render("import.html", kinds=KINDS, kind=kind if kind in KINDS else "companies", preview=None,
                       result=None)  # fmt: skip


@admins
async def preview(request: Request, page: Page) -> Response:
    """The file read and each row planned against the hub as it is; nothing written."""
    form, _ = page.form, page._
    assert form is not None
    kind = str(form.get("kind", ""))
    upload = form.get("sheet")
    if kind not in KINDS or not isinstance(upload, UploadFile) or not upload.filename:
        return page.back("/import", "error", _("Choose what the file holds and the CSV file to import."))
    raw = await upload.read(MAX_BYTES + 1)
    text = decode_spreadsheet(raw) if len(raw) <= MAX_BYTES else None
    if text is None:
        said = _("The file is neither UTF-8 nor CP949 text.") if len(raw) <= MAX_BYTES else too_big(page)
        return page.back(f"/import?kind={kind}", "error", said)
    try:
        sheet = sheets.read_sheet(text, kind)
    except sheets.SheetError as error:
        return page.back(f"/import?kind={kind}", "error", unreadable(page, kind, error))
    if not sheet.rows or len(sheet.rows) > MAX_ROWS:
        said = _("The file has no rows under its first row.") if not sheet.rows else too_big(page)
        return page.back(f"/import?kind={kind}", "error", said)
    try:
        steps = await imports.plan(page.hub, kind, sheet)
    except Refusal as refusal:
        return refused(page, refusal, back=f"/import?kind={kind}")
    sealed = imports.seal(page.app.sealer, page.session.csrf, Carried.of(kind, upload.filename, text, steps))
    if sealed is None:
        return page.back(f"/import?kind={kind}", "error", too_big(page))
    rows = outcomes.previewed(_, steps)
    return page.render(
        "import.html", kinds=KINDS, kind=kind, result=None, sealed=sealed,
        preview={"filename": upload.filename, "rows": rows, "counts": outcomes.counts(_, rows),
                 "columns": [(h, outcomes.field_word(_, f)) for h, f in sheet.columns.items()],
                 "ignored": sheet.ignored, "writes": sum(1 for s in steps if s.writes)},
    )  # fmt: skip


@admins
async def apply(request: Request, page: Page) -> Response:
    """The previewed file again: planned anew, and each row the preview showed written (imports.apply)."""
    form, _ = page.form, page._
    assert form is not None
    carried = imports.unseal(page.app.sealer, page.session.csrf, str(form.get("sealed", "")))
    if carried is None:
        expired = _("This preview has expired or is not from this session. Upload the file again to see it anew.")
        return page.back("/import", "error", expired)
    try:
        steps = await imports.plan(page.hub, carried.kind, sheets.read_sheet(carried.text, carried.kind))
    except Refusal as refusal:
        return refused(page, refusal, back=f"/import?kind={carried.kind}")
    done = await imports.apply(page.hub, steps, carried.previewed)
    ended = grpc.StatusCode.UNAUTHENTICATED
    signed_out = next((o.refusal for o in done if o.refusal and o.refusal.code == ended), None)
    if signed_out is not None:
        return refused(page, signed_out)
    rows = outcomes.applied(_, done, lambda refusal: headline_of(page, refusal))
    processed = sum(1 for r in rows if r.outcome != imports.NOT_DONE)
    return page.render(
        "import.html", kinds=KINDS, kind=carried.kind, preview=None,
        result={"filename": carried.filename, "rows": rows, "counts": outcomes.counts(_, rows),
                "processed": processed, "total": len(rows)},
    )  # fmt: skip


def too_big(page: Page) -> str:
    said = page._("The file is too big for one import (at most %(rows)s rows): split it and import each part.")
    return said % {"rows": format_decimal(MAX_ROWS, locale=page.session.lang)}


def unreadable(page: Page, kind: str, error: sheets.SheetError) -> str:
    _ = page._
    if error.what == "twins":
        first, second = error.headers
        said = _("The columns %(first)s and %(second)s both hold the %(field)s: keep one of them and upload again.")
        return said % {"first": first, "second": second, "field": outcomes.field_word(_, error.field)}
    said = _("The first row must name the columns, the Korean name among them (for example %(example)s); "
             "this file's first row is: %(headers)s.")  # fmt: skip
    return said % {"example": EXAMPLES[kind], "headers": ", ".join(error.headers) or "-"}


@admins
async def export_page(request: Request, page: Page) -> Response:
    return page.render("export.html")


@admins
async def export_csv(request: Request, page: Page) -> Response:
    """Every company or person as a CSV file, written as the pages of the listing arrive."""
    kind = request.path_params["kind"]
    if kind not in KINDS:
        return page.render("refused.html", http_status=404, refusal=None,
                           headline=page._("This page does not exist, or it is not yours to see."))  # fmt: skip
    lines = imports.exported(page.hub, kind)
    first = await anext(lines)

    async def body() -> AsyncIterator[str]:
        yield first
        async for line in lines:
            yield line

    today = datetime.now(ZoneInfo(page.app.settings.time_zone)).strftime("%Y%m%d")
    disposition = f'attachment; filename="hub-{kind}-{today}.csv"'
    return StreamingResponse(body(), media_type="text/csv; charset=utf-8",
                             headers={"content-disposition": disposition})  # fmt: skip
