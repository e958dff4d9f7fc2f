"""hubctl recipients | preferences: whom the notifications service writes to, and how each wants to hear (channels,
language, time zone, quiet hours, rules muted). Recipients are kept from the other services' events; only their
preferences are set here."""

from __future__ import annotations

from typing import Annotated

import typer
from hub.notifications.v1 import notifications_pb2 as npb

from hubctl import args
from hubctl.client import Client, Commands, enum_number, fail, print_table, short
from hubctl.mentors import clock, time_of_day

recipients_app = Commands(help="알림 받는 사람: 목록, 조회 (the people the hub writes to: list, show).")
preferences_app = Commands(help="알림 설정: 채널, 언어, 시간대, 방해 금지 시간, 끈 알림 (a recipient's preferences).")

RECIPIENT_COLUMNS = ["id", "이름 name", "구분 kind", "이메일 email", "소속 company", "출처 source", "상태 state"]
RecipientArgument = Annotated[
    str, typer.Argument(metavar="RECIPIENT", help="받는 사람 (a recipient): 4 or recipients/4")
]
KINDS = "person, mentor, partner, program_manager"


def recipient_name(text: str) -> str:
    return args.name("recipients", text.removesuffix("/preference"))


def recipient_row(r: npb.Recipient) -> list[str]:
    kind = short(npb.RecipientKind, r.kind, "RECIPIENT_KIND").lower()
    return [r.name.removeprefix("recipients/"), r.korean_name or r.english_name, kind, r.email, r.company, r.source,
            "활성 active" if r.active else "삭제됨 gone"]  # fmt: skip


def preference_fields(p: npb.Preference) -> dict[str, str]:
    channels = ", ".join(short(npb.Channel, c, "CHANNEL").lower() for c in p.channels) or "email"
    quiet = f"{clock(p.quiet_start)}–{clock(p.quiet_end)}" if p.quiet_start != p.quiet_end else "없음 (none)"
    return {"채널 channels": channels, "언어 language": p.language, "시간대 zone": p.time_zone,
            "방해 금지 quiet hours": quiet, "끈 알림 muted": ", ".join(p.muted_rules), "웹훅 webhook": p.webhook_url,
            "버전 etag": p.etag}  # fmt: skip


def show_preference(hub: Client, title: str, p: npb.Preference) -> None:
    hub.show(p, title, ["항목 field", "값 value"], preference_fields(p).items())


@recipients_app.command("list")
def recipients_list(
    hub: Client,
    kind: Annotated[str, typer.Option(help=f"구분 (kind): {KINDS}")] = "",
    company: Annotated[str, typer.Option(help="이 기업·투자사 사람만: companies/7 or firms/3 (organisation)")] = "",
    email: Annotated[str, typer.Option(help="이 이메일 (this address)")] = "",
    limit: args.LimitOption = 100,
) -> None:
    """알림 받는 사람 목록 (the people the hub writes to)."""
    kind_term = short(npb.RecipientKind, enum_number(npb.RecipientKind, "RECIPIENT_KIND", kind, "kind"),
                      "RECIPIENT_KIND") if kind else ""  # fmt: skip
    request = npb.ListRecipientsRequest(filter=args.where(kind=kind_term, company=company, email=email),
                                        page_size=args.page_size(limit))  # fmt: skip
    found = hub.pages(hub.notifications.ListRecipients, request, "recipients", limit)
    hub.table(found, "받는 사람 recipients", RECIPIENT_COLUMNS, recipient_row)


@recipients_app.command("show")
def recipients_show(hub: Client, recipient: RecipientArgument) -> None:
    """받는 사람 한 명과 알림 설정 (one recipient, with their preferences)."""
    found = hub.call(hub.notifications.GetRecipient, npb.GetRecipientRequest(name=recipient_name(recipient)))
    if hub.printed_json(found):
        return
    fields = dict(zip(RECIPIENT_COLUMNS, recipient_row(found), strict=True)) | preference_fields(found.preference)
    print_table(found.name, ["항목 field", "값 value"], fields.items())


@preferences_app.command("show")
def preferences_show(hub: Client, recipient: RecipientArgument) -> None:
    """받는 사람의 알림 설정 (a recipient's preferences, with the etag an edit sends)."""
    name = recipient_name(recipient) + "/preference"
    show_preference(hub, name, hub.call(hub.notifications.GetPreference, npb.GetPreferenceRequest(name=name)))


def quiet_hours(text: str) -> tuple[object, object]:
    """'22:00-08:00' as (start, end); 'none' as no quiet hours (equal start and end)."""
    if text.strip().lower() in ("none", "없음"):
        return time_of_day("00:00", text), time_of_day("00:00", text)
    start, dash, end = text.partition("-")
    if not dash:
        fail(f"--quiet {text!r}: '22:00-08:00' 형식, 또는 none (write it like 22:00-08:00, or none)", 3)
    return time_of_day(start, text), time_of_day(end, text)


@preferences_app.command("set")
def preferences_set(
    hub: Client,
    recipient: RecipientArgument,
    channel: Annotated[list[str] | None, typer.Option(help="채널 전체를 바꿈: email, webhook (replaces all)")] = None,
    language: Annotated[str | None, typer.Option(help="ko or en")] = None,
    zone: Annotated[str | None, typer.Option("--zone", help="시간대, 예: Asia/Seoul (IANA zone)")] = None,
    quiet: Annotated[str | None, typer.Option(help="방해 금지 시간, 예: 22:00-08:00, 또는 none (quiet hours)")] = None,
    mute: Annotated[
        list[str] | None, typer.Option(help="끌 알림 규칙 전체를 바꿈, 예: session.recap (replaces all)")
    ] = None,
    webhook: Annotated[str | None, typer.Option(help="웹훅 주소 (where webhook posts go)")] = None,
    etag: args.EtagOption = "",
) -> None:
    """알림 설정의 주어진 항목만 바꿉니다; 그 사이 바뀌었으면 거절됩니다 (change the preferences given, and nothing
    else; refused if they changed meanwhile)."""
    name = recipient_name(recipient) + "/preference"
    start, end = quiet_hours(quiet) if quiet is not None else (None, None)
    channels = None if channel is None else [enum_number(npb.Channel, "CHANNEL", c, "channel") for c in channel]
    saved = args.saved_edit(
        hub, hub.notifications.GetPreference, npb.GetPreferenceRequest(name=name), hub.notifications.UpdatePreference,
        npb.UpdatePreferenceRequest, "--language en", etag, channels=channels, language=language, time_zone=zone,
        quiet_start=start, quiet_end=end, muted_rules=mute, webhook_url=webhook,
    )  # fmt: skip
    show_preference(hub, f"수정함 (updated) {saved.name}", saved)
