"""Proto <-> domain for webhooks (partner_webhooks.proto): subscriptions and deliveries as their messages, what
a request asks for, and an event's payload as the proto JSON a delivery carries. Imported by the servicer and,
for the payload, by the use cases; the domain never imports it."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any, TypedDict

from google.protobuf import any_pb2, json_format
from google.protobuf.message import Message
from hub.investors.v1 import partner_webhooks_pb2 as wpb

from hubcore.convert import Reader, Writer, ref_name, timestamp
from hubcore.requests import parse_name
from services.investors.domain import webhooks as hooks


def _names(collection: str, field: str) -> Any:
    return lambda m: tuple(parse_name(n, collection, field) for n in getattr(m, field.rsplit(".", 1)[1]))


class SubscriptionFields(TypedDict):
    firm_id: int | None
    url: str
    event_types: list[str]
    companies: tuple[int, ...]
    firms: tuple[int, ...]
    state: str
    description: str


subscription_fields = Reader(
    wpb.WebhookSubscription,
    SubscriptionFields,
    "webhook_subscription",
    refs={"firm": "firms"},
    strip=("url", "description"),
    read={
        "companies": _names("companies", "webhook_subscription.companies"),
        "firms": _names("firms", "webhook_subscription.firms"),
    },
)
MUTABLE = frozenset({"url", "event_types", "companies", "firms", "state", "description"})

subscription_pb = Writer(
    wpb.WebhookSubscription,
    hooks.Subscription,
    refs={"firm": "firms"},
    compute={
        "event_types": lambda s: list(s.event_types),
        "companies": lambda s: [ref_name("companies", c) for c in s.companies],
        "firms": lambda s: [ref_name("firms", f) for f in s.firms],
    },
    skip=("secret",),  # shown by Create and Rotate only
)


def subscription_with_secret(subscription: hooks.Subscription) -> wpb.WebhookSubscription:
    return subscription_pb(subscription, secret=subscription.secret)


_delivery = Writer(
    wpb.WebhookDelivery,
    hooks.Delivery,
    rename={"occur_time": "occurred_at", "deliver_time": "delivered_at"},
    skip=("retry_until_time",),
)


def delivery_pb(delivery: hooks.Delivery, window: timedelta) -> wpb.WebhookDelivery:
    return _delivery(delivery, retry_until_time=timestamp(delivery.retry_from + window))


def deliveries_pb(deliveries: Iterable[hooks.Delivery], window: timedelta) -> list[wpb.WebhookDelivery]:
    return [delivery_pb(d, window) for d in deliveries]


def event_data(payload: Message | None) -> dict[str, Any]:
    """An event's payload as a delivery carries it: proto JSON with its "@type", field names as in the proto."""
    if payload is None:
        return {}
    packed = any_pb2.Any()
    packed.Pack(payload)
    data: dict[str, Any] = json_format.MessageToDict(packed, preserving_proto_field_name=True)
    return data


def overlap_of(request: wpb.RotateWebhookSecretRequest) -> timedelta:
    if not request.HasField("overlap"):
        return hooks.DEFAULT_OVERLAP
    return timedelta(seconds=request.overlap.seconds, microseconds=request.overlap.nanos // 1000)
