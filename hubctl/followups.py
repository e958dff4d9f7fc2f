"""hubctl followups: what the notifications worker planned, sent and failed to send, for program managers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from hub.notifications.v1 import notifications_pb2 as npb

from hubcore.korean import held_mail
from hubctl.args import CompanyOption, NewestLimitOption, ReasonOption, name, name_if_given, page_size, where
from hubctl.client import AllOption, Client, Commands, print_table, short, when

followups_app = Commands(
    help=(
        "후속 알림과 발송: 목록, 막힌 것, 재발송, 취소 (follow-ups and their deliveries: list, what is stuck, "
        "retry, cancel)."
    )
)

DELIVERY_COLUMNS = [
    "id",
    "규칙 rule",
    "받는 사람 to",
    "채널 channel",
    "상태 state",
    "시도 tries",
    "다음·발송 next / sent",
    "오류 error",
]
FOLLOW_UP_COLUMNS = ["id", "규칙 rule", "대상 about", "상태 state", "예정 due", "메모 note"]


def delivery_row(d: npb.Delivery, tz: str) -> list[str]:
    moment = d.send_time if d.HasField("send_time") else d.next_attempt_time
    channel = short(npb.Channel, d.channel, "CHANNEL").lower()
    state = short(npb.DeliveryState, d.state, "DELIVERY_STATE").lower()
    return [d.name.removeprefix("deliveries/"), d.rule, d.address or d.recipient, channel, state, str(d.attempts),
            when(moment, tz), d.last_error[:60]]  # fmt: skip


def follow_up_row(f: npb.FollowUp, tz: str) -> list[str]:
    state = short(npb.FollowUpState, f.state, "FOLLOW_UP_STATE").lower()
    return [f.name.removeprefix("followUps/"), f.rule, f.entity, state, when(f.due_time, tz), f.note[:60]]


def say_held(hub: Client) -> None:
    """Email held back by quiet hours is neither lost nor failing: say how much waits and when it leaves (not
    with --json: the output stays the answer)."""
    if hub.config.json:
        return
    stats = hub.call(hub.notifications.GetNotificationStats, npb.GetNotificationStatsRequest())
    if stats.held_for_quiet_hours:
        tz = ZoneInfo(hub.config.tz)
        until = stats.held_until_time.ToDatetime(tzinfo=UTC)
        print(held_mail(stats.held_for_quiet_hours, until, tz, datetime.now(tz).date()))


@followups_app.command("list")
def followups_list(
    hub: Client,
    state: Annotated[str, typer.Option(help="pending, dispatched, cancelled, expired")] = "",
    rule: Annotated[str, typer.Option(help="e.g. session.reminder_24h")] = "",
    about: Annotated[str, typer.Option(help="what it is about, e.g. sessions/12")] = "",
    limit: NewestLimitOption = 50,
    all_: AllOption = False,
) -> None:
    """규칙이 계획한 후속 알림, 최근 순 (follow-ups the rules planned, newest first)."""
    request = npb.ListFollowUpsRequest(filter=where(state=state, rule=rule, entity=about), page_size=page_size(limit))
    found = list(hub.pages(hub.notifications.ListFollowUps, request, "follow_ups", 0 if all_ else limit))
    hub.show(found, f"follow-ups ({len(found)})", FOLLOW_UP_COLUMNS, (follow_up_row(f, hub.config.tz) for f in found))
    say_held(hub)


@followups_app.command("deliveries")
def followups_deliveries(
    hub: Client,
    state: Annotated[str, typer.Option(help="pending, sending, sent, failed, cancelled, skipped")] = "",
    company: CompanyOption = "",
    limit: NewestLimitOption = 50,
    all_: AllOption = False,
) -> None:
    """발송 기록: 누구에게 무엇을 어떤 채널로 보냈고 어떻게 됐는지 (the delivery log: who was sent what, by which
    channel, and how it went)."""
    terms = where(state=state, company=name_if_given("companies", company))
    request = npb.ListDeliveriesRequest(filter=terms, page_size=page_size(limit))
    found = list(hub.pages(hub.notifications.ListDeliveries, request, "deliveries", 0 if all_ else limit))
    hub.show(found, f"deliveries ({len(found)})", DELIVERY_COLUMNS, (delivery_row(d, hub.config.tz) for d in found))
    say_held(hub)


@followups_app.command("stuck")
def followups_stuck(hub: Client) -> None:
    """사람이 봐야 할 것: 발송이 늦은 후속 알림, 실패한 발송 (what needs a person: follow-ups overdue for
    dispatch, deliveries failing or failed)."""
    stuck = hub.call(hub.notifications.ListStuckFollowUps, npb.ListStuckFollowUpsRequest())
    if hub.printed_json(stuck):
        return
    tz = hub.config.tz
    print_table(f"failing deliveries ({stuck.failing_count})", DELIVERY_COLUMNS,
                (delivery_row(d, tz) for d in stuck.failing_deliveries))  # fmt: skip
    print_table(f"overdue follow-ups ({stuck.overdue_count})", FOLLOW_UP_COLUMNS,
                (follow_up_row(f, tz) for f in stuck.overdue_follow_ups))  # fmt: skip
    if stuck.failing_count:
        print("retry one with: hubctl followups retry <id>")
    say_held(hub)


@followups_app.command("retry")
def followups_retry(hub: Client, delivery: Annotated[str, typer.Argument(help="9 or deliveries/9")]) -> None:
    """실패(또는 건너뛴) 발송을 지금 다시 보냅니다 (send a failed (or skipped) delivery again, now, with a fresh
    set of attempts)."""
    retried = hub.call(hub.notifications.RetryDelivery, npb.RetryDeliveryRequest(name=name("deliveries", delivery)))
    hub.show(retried, f"{retried.name} will be sent again", DELIVERY_COLUMNS, [delivery_row(retried, hub.config.tz)])


@followups_app.command("cancel")
def followups_cancel(
    hub: Client,
    follow_up: Annotated[str, typer.Argument(help="4 or followUps/4")],
    reason: ReasonOption = "",
) -> None:
    """대기 중인 후속 알림을 취소합니다 (cancel a pending follow-up)."""
    request = npb.CancelFollowUpRequest(name=name("followUps", follow_up), reason=reason)
    cancelled = hub.call(hub.notifications.CancelFollowUp, request)
    hub.show(cancelled, f"{cancelled.name} cancelled", FOLLOW_UP_COLUMNS, [follow_up_row(cancelled, hub.config.tz)])
