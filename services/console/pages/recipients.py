"""The people the hub writes to (the notifications service's recipients), for program managers: the list with a
Hangul search, and a recipient's page with their preferences (channels, language, time zone, quiet hours, the
rules they muted, a webhook) changed there. Only the fields changed are sent, with the etag of the page: a
preference changed meanwhile is refused in words, not overwritten."""

from __future__ import annotations

from typing import Any

from google.protobuf.field_mask_pb2 import FieldMask
from google.type import timeofday_pb2
from hub.notifications.v1 import notifications_pb2 as npb
from starlette.requests import Request
from starlette.responses import Response

from hubcore.text import search_text
from services.console.backend import Refusal
from services.console.labels import enum_value, short_names
from services.console.pages.firms import changed, text
from services.console.pages.home import _all, _ok
from services.console.pages.investors import every
from services.console.web import Page, act, admins, posted, refused

KINDS = short_names(npb.RecipientKind)
CHANNELS = short_names(npb.Channel)
CHANNEL_OF = {enum_value(npb.Channel, c): c for c in CHANNELS}  # 1 → EMAIL
LANGUAGES = (("ko", "한국어"), ("en", "English"))
PREFERENCE_FIELDS = ("language", "time_zone", "webhook_url")
MOST = 2000  # ListRecipients has no text search: the page reads this many and searches them itself


def matches(recipient: Any, query: str) -> bool:
    """Whether a recipient's names or email hold what was typed (Hangul or Latin, any case)."""
    return search_text(query) in search_text(f"{recipient.korean_name} {recipient.english_name} {recipient.email}")


@admins
async def recipient_list(request: Request, page: Page) -> Response:
    query, kind = request.query_params.get("q", "").strip(), request.query_params.get("kind", "")
    asked = npb.ListRecipientsRequest(page_size=500, filter=f"kind={kind}" if kind in KINDS else "")
    found = await every(page.hub.notifications.ListRecipients, asked, "recipients", MOST)
    shown = [r for r in found if matches(r, query)] if query else found
    return page.render("recipients.html", recipients=shown, query=query, kind=kind, kinds=KINDS,
                       channel_of=CHANNEL_OF)  # fmt: skip


def clock(value: Any) -> str:
    """A TimeOfDay as an <input type=time> value: 22:00."""
    return f"{value.hours:02d}:{value.minutes:02d}"


def time_of_day(typed: str) -> timeofday_pb2.TimeOfDay | None:
    """22:00 → TimeOfDay(22, 0); None when it is not a time."""
    hours, _, minutes = typed.partition(":")
    if not (hours.isdigit() and minutes[:2].isdigit()):
        return None
    return timeofday_pb2.TimeOfDay(hours=int(hours), minutes=int(minutes[:2]))


@admins
async def recipient_page(request: Request, page: Page) -> Response:
    name, api = f"recipients/{request.path_params['recipient']}", page.hub.notifications
    answers = await _all({
        "recipient": api.GetRecipient(npb.GetRecipientRequest(name=name)),
        "templates": api.ListMessageTemplates(npb.ListMessageTemplatesRequest(language=page.session.lang)),
        "deliveries": api.ListDeliveries(npb.ListDeliveriesRequest(filter=f"recipient={name}", page_size=10)),
    })  # fmt: skip
    if isinstance(answers["recipient"], Refusal):
        return refused(page, answers["recipient"])
    recipient = answers["recipient"]
    preference = recipient.preference
    return page.render(
        "recipient.html", recipient=recipient, preference=preference,
        who=recipient.korean_name or recipient.english_name or recipient.email or recipient.name,
        channels=CHANNELS, languages=LANGUAGES,
        chosen=[CHANNEL_OF[c] for c in preference.channels],
        rules=[t for t in _ok(answers, "templates", "templates") if not t.essential],
        deliveries=_ok(answers, "deliveries", "deliveries"), quiet_start=clock(preference.quiet_start),
        quiet_end=clock(preference.quiet_end),
    )  # fmt: skip


async def change_preference(request: Request) -> Response:
    page, form = await posted(request)
    recipient = f"recipients/{request.path_params['recipient']}"
    back = f"/follow-ups/{recipient}"
    starts, ends = time_of_day(text(form, "quiet_start")), time_of_day(text(form, "quiet_end"))
    if starts is None or ends is None:
        return page.back(back, "error", page._("Write the quiet hours as times of day, such as 22:00 and 08:00."))
    wanted = npb.Preference(
        name=f"{recipient}/preference", etag=text(form, "etag"), quiet_start=starts, quiet_end=ends,
        channels=[npb.Channel.ValueType(enum_value(npb.Channel, c)) for c in form.getlist("channel") if c in CHANNELS],
        muted_rules=sorted(str(r) for r in form.getlist("muted")), **{f: text(form, f) for f in PREFERENCE_FIELDS},
    )  # fmt: skip
    try:
        current = await page.hub.notifications.GetPreference(npb.GetPreferenceRequest(name=wanted.name))
    except Refusal as refusal:
        return refused(page, refusal, back=back)
    paths = changed(current, wanted, (*PREFERENCE_FIELDS, "quiet_start", "quiet_end"))
    paths += [f for f in ("channels", "muted_rules") if list(getattr(current, f)) != list(getattr(wanted, f))]
    if not paths:
        return page.back(back, "ok", page._("Nothing was changed."))
    asked = npb.UpdatePreferenceRequest(preference=wanted, update_mask=FieldMask(paths=paths))
    said = page._("The preferences are saved.")
    return await act(page, page.hub.notifications.UpdatePreference(asked), back, said)
