"""Follow-ups: what the notifications worker is stuck on (follow-ups overdue, deliveries failing) with a retry
or a cancel for each delivery, the latest deliveries, and every rule's message previewed in Korean and English
as its recipients read it."""

from __future__ import annotations

from hub.notifications.v1 import notifications_pb2 as npb
from starlette.requests import Request
from starlette.responses import Response

from services.console.backend import Refusal
from services.console.pages.home import _all, _ok
from services.console.web import Page, posted, refused


async def follow_ups(request: Request) -> Response:
    page = Page(request)
    if (account := page.account) is None or account.role != "admin":
        return page.back("/")
    language = request.query_params.get("preview", "ko")
    language = language if language in ("ko", "en") else "ko"
    api = page.hub.notifications
    answers = await _all({
        "stuck": api.ListStuckFollowUps(npb.ListStuckFollowUpsRequest(page_size=50)),
        "recent": api.ListDeliveries(npb.ListDeliveriesRequest(page_size=30)),
        "templates": api.ListMessageTemplates(npb.ListMessageTemplatesRequest(language=language)),
    })  # fmt: skip
    if isinstance(answers["stuck"], Refusal):
        return refused(page, answers["stuck"])
    return page.render(
        "followups.html", stuck=answers["stuck"], recent=_ok(answers, "recent", "deliveries"),
        templates=_ok(answers, "templates", "templates"), preview=language,
    )  # fmt: skip


async def act_on_delivery(request: Request) -> Response:
    """Retry a failed delivery now, or cancel one still waiting."""
    page, form = await posted(request)
    name = f"deliveries/{request.path_params['delivery']}"
    api = page.hub.notifications
    retry = form.get("act") == "retry"
    if retry:
        await api.RetryDelivery(npb.RetryDeliveryRequest(name=name))
    else:
        await api.CancelDelivery(npb.CancelDeliveryRequest(name=name))
    said = page._("It will be sent again in a moment.") if retry else page._("The delivery is cancelled.")
    return page.back("/follow-ups", "ok", said)
