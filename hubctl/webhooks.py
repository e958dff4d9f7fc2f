"""hubctl webhooks: webhook subscriptions of the hub (hub-wide) and of the firms, their delivery logs and
replays, for program managers (InvestorService). Partners manage their own through the partner API."""

from __future__ import annotations

from typing import Annotated

import typer
from google.protobuf import duration_pb2, field_mask_pb2
from hub.investors.v1 import partner_webhooks_pb2 as wpb

from hubctl import args
from hubctl.client import Client, Commands, as_dict, short, when

webhooks_app = Commands(
    help="웹훅 (webhooks): 구독 목록·추가·일시정지, 서명 비밀 교체, 전송 기록, 재전송 (subscriptions of HTTPS "
    "endpoints to the hub's events, the delivery log, replays)."
)
SubscriptionArgument = Annotated[
    str, typer.Argument(metavar="SUBSCRIPTION", help="구독 (subscription): 3 or webhookSubscriptions/3")
]


def subscription_name(text: str) -> str:
    return args.name("webhookSubscriptions", text)


def _row(s: wpb.WebhookSubscription, tz: str) -> list[str]:
    state = short(wpb.WebhookSubscriptionState, s.state, "WEBHOOK_SUBSCRIPTION_STATE").lower()
    return [s.name.rsplit("/", 1)[1], s.firm or "허브 전체 hub-wide", s.url, ", ".join(s.event_types), state,
            s.description, when(s.update_time, tz)]  # fmt: skip


COLUMNS = ["id", "투자사 firm", "주소 url", "이벤트 events", "상태 state", "설명 description", "변경 changed"]


@webhooks_app.command("list")
def webhooks_list(
    hub: Client,
    firm: args.FirmOption = "",
    hub_wide: Annotated[bool, typer.Option("--hub", help="허브 전체 구독만 (hub-wide subscriptions only)")] = False,
) -> None:
    """웹훅 구독 목록 (webhook subscriptions, every firm's and the hub's)."""
    which = "hub" if hub_wide else args.name_if_given("firms", firm)
    request = wpb.ListWebhookSubscriptionsRequest(filter=args.where(firm=which), page_size=200)
    found = list(hub.pages(hub.investors.ListWebhookSubscriptions, request, "webhook_subscriptions"))
    rows = [_row(s, hub.config.tz) for s in found]
    hub.show([as_dict(s) for s in found], f"웹훅 구독 webhook subscriptions ({len(found)})", COLUMNS, rows)


@webhooks_app.command("add")
def webhooks_add(
    hub: Client,
    url: Annotated[str, typer.Argument(help="https:// 주소 (the endpoint)")],
    event: Annotated[
        list[str],
        typer.Option(
            "--event", help="이벤트 종류, 여러 번 (event type, repeatable): introduction.consented, round.reported, …"
        ),
    ],
    firm: Annotated[
        str, typer.Option(help="투자사의 구독으로 (a firm's subscription: 4 or firms/4); 없으면 허브 전체")
    ] = "",
    company: Annotated[list[str] | None, typer.Option("--company", help="이 기업만 (only these companies)")] = None,
    description: str = "",
    request_id: args.RequestIdOption = "",
) -> None:
    """웹훅 구독 추가: 서명 비밀은 한 번만 보여 줍니다 (subscribe an endpoint; the signing secret is shown once)."""
    subscription = wpb.WebhookSubscription(
        url=url, event_types=event, firm=args.name_if_given("firms", firm), description=description,
        companies=[args.name("companies", c) for c in company or []],
    )  # fmt: skip
    request = wpb.CreateWebhookSubscriptionRequest(
        webhook_subscription=subscription, request_id=args.retry_safe(request_id)
    )
    made = hub.call(hub.investors.CreateWebhookSubscription, request)
    hub.say(made, f"구독함 (subscribed) {made.name}: {made.url}\n서명 비밀 (signing secret, shown once): {made.secret}")


def _set_state(hub: Client, subscription: str, state: int, said: str) -> None:
    sent = wpb.WebhookSubscription(name=subscription_name(subscription), state=state)  # type: ignore[arg-type]
    request = wpb.UpdateWebhookSubscriptionRequest(
        webhook_subscription=sent, update_mask=field_mask_pb2.FieldMask(paths=["state"])
    )
    updated = hub.call(hub.investors.UpdateWebhookSubscription, request)
    hub.say(updated, f"{said} {updated.name}")


@webhooks_app.command("pause")
def webhooks_pause(hub: Client, subscription: SubscriptionArgument) -> None:
    """일시정지: 새 이벤트는 전송하지 않고, 대기 중인 전송은 재개까지 기다립니다 (pause)."""
    _set_state(hub, subscription, wpb.WEBHOOK_SUBSCRIPTION_STATE_PAUSED, "일시정지함 (paused)")


@webhooks_app.command("resume")
def webhooks_resume(hub: Client, subscription: SubscriptionArgument) -> None:
    """재개 (resume a paused subscription)."""
    _set_state(hub, subscription, wpb.WEBHOOK_SUBSCRIPTION_STATE_ACTIVE, "재개함 (resumed)")


@webhooks_app.command("rotate")
def webhooks_rotate(
    hub: Client,
    subscription: SubscriptionArgument,
    overlap_hours: Annotated[
        float,
        typer.Option(
            "--overlap-hours", help="이전 비밀도 서명하는 시간 (hours the old secret keeps signing beside the new one)"
        ),
    ] = 24.0,
) -> None:
    """서명 비밀 교체: 겹치는 동안 두 서명을 함께 보냅니다 (rotate the signing secret; both sign during the overlap)."""
    overlap = duration_pb2.Duration(seconds=int(overlap_hours * 3600))
    request = wpb.RotateWebhookSecretRequest(name=subscription_name(subscription), overlap=overlap)
    rotated = hub.call(hub.investors.RotateWebhookSecret, request)
    until = when(rotated.previous_secret_expire_time, hub.config.tz)
    hub.say(
        rotated,
        f"새 서명 비밀 (new secret, shown once): {rotated.secret}\n이전 비밀은 {until}까지 유효 (old one until)",
    )


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    hub: Client,
    subscription: SubscriptionArgument,
    state: Annotated[str, typer.Option(help="pending, sending, delivered, failed")] = "",
    limit: Annotated[int, typer.Option(help="최근 몇 건 (how many, newest first)")] = 50,
) -> None:
    """전송 기록, 최신순 (the subscription's delivery log, newest first)."""
    request = wpb.ListWebhookDeliveriesRequest(
        parent=subscription_name(subscription), filter=args.where(state=state.upper()), page_size=args.page_size(limit)
    )
    found = list(hub.pages(hub.investors.ListWebhookDeliveries, request, "webhook_deliveries", limit))
    tz = hub.config.tz
    rows = [
        [d.delivery_id, d.event_type, short(wpb.WebhookDeliveryState, d.state, "WEBHOOK_DELIVERY_STATE").lower(),
         str(d.attempts), str(d.last_status or "-"), d.last_error, when(d.occur_time, tz), when(d.deliver_time, tz)]
        for d in found
    ]  # fmt: skip
    columns = [
        "전송 delivery",
        "이벤트 event",
        "상태 state",
        "시도 tries",
        "HTTP",
        "오류 error",
        "발생 event at",
        "전달 delivered",
    ]
    hub.show([as_dict(d) for d in found], f"전송 기록 deliveries ({len(found)})", columns, rows)


@webhooks_app.command("replay")
def webhooks_replay(
    hub: Client,
    subscription: SubscriptionArgument,
    delivery: Annotated[
        str, typer.Argument(help="전송 id (a delivery id); 없으면 실패한 전송 모두 (every failed one)")
    ] = "",
) -> None:
    """재전송: 같은 전송 id로 다시 보냅니다 (send again, with the same delivery id, so receivers can drop copies)."""
    name = subscription_name(subscription) + (f"/deliveries/{delivery}" if delivery else "")
    replayed = hub.call(hub.investors.ReplayWebhookDelivery, wpb.ReplayWebhookDeliveryRequest(name=name))
    hub.say(replayed, f"다시 보냄 (queued again): {replayed.replayed}")


@webhooks_app.command("test")
def webhooks_test(hub: Client, subscription: SubscriptionArgument) -> None:
    """시험 전송 (queue a webhook.test delivery to the endpoint)."""
    sent = hub.call(hub.investors.SendTestWebhook, wpb.SendTestWebhookRequest(name=subscription_name(subscription)))
    hub.say(sent, f"시험 전송 대기 (test queued): {sent.delivery_id}")
