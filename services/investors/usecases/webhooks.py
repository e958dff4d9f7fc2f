"""Use cases of webhooks: the subscriptions (a partner's, for its own firm; a program manager's, hub-wide or for
any firm), their delivery log, replays, a test delivery, and `deliveries_for`, which every use case that makes
an event a subscription may hear calls in its own transaction, so that no event is lost between the commit and
the delivery (the worker, webhook_worker.py, sends what it wrote).

`owner` is whose subscriptions the caller may touch: a firm's id (a partner, from its key, never from the
request), or None (a program manager: any). Another firm's subscription is NOT_FOUND, as if it did not exist."""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import timedelta

from google.protobuf.message import Message
from hub.events.v1 import investors_pb2 as ev
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore import errors
from hubcore.db import Database, UnitOfWork, now, uuid7
from hubcore.requests import Terms, check_etag
from hubcore.rows import filtered
from services.investors import store
from services.investors.domain import webhooks as hooks
from services.investors.usecases import SUBJECT
from services.investors.usecases.firms import load_firm
from services.investors.webhook_convert import SubscriptionFields, event_data

FIELD = "webhook_subscription"


# What the other use cases call, in their transaction


HUB_ONLY = frozenset({"actor", "on_behalf_of"})  # event fields a firm's subscription does not receive


async def deliveries_for(uow: UnitOfWork, event: hooks.WebhookEvent) -> int:
    """Writes a delivery of the event for every active subscription that hears it (domain: Subscription.hears),
    in the caller's transaction; returns how many. The commit wakes the worker (it listens for commits that
    wrote events, and every caller emitted the event it passes)."""
    listening = [s for s in await store.listening(uow.conn, event.type) if s.hears(event)]
    if not listening:
        return 0
    data = event_data(event.payload)
    # A firm is told what happened, not which of the hub's credentials did it (token ids stay inside).
    told = {k: v for k, v in data.items() if k not in HUB_ONLY}
    await store.insert_deliveries(
        uow.conn, [_delivery(s, event, data if s.firm_id is None else told) for s in listening]
    )
    return len(listening)


async def heard(
    uow: UnitOfWork, type_: str, event_id: str, payload: Message, *, company_id: int | None, firm_ids: Iterable[int]
) -> int:
    """deliveries_for an event just emitted (event_id: uow.emit's answer). update.shared (KPI figures a company
    shares with a firm it took money from) calls it with type_ hooks.UPDATE_SHARED, the event's payload, the
    company and firm_ids={the firm}."""
    event = hooks.WebhookEvent(type_, event_id, now(), payload, company_id, frozenset(firm_ids))
    return await deliveries_for(uow, event)


def _delivery(subscription: hooks.Subscription, event: hooks.WebhookEvent, data: dict[str, object]) -> hooks.Delivery:
    delivery_id = uuid7()
    return hooks.Delivery(
        id=0, delivery_id=delivery_id, subscription_id=subscription.id, event_type=event.type,
        event_id=event.event_id, occurred_at=event.occurred_at, body=hooks.body(delivery_id, event, subscription.name,
        data), retry_from=event.occurred_at, next_attempt_at=event.occurred_at,
    )  # fmt: skip


# Subscriptions


def _checked(fields: SubscriptionFields, firm_id: int | None, *, allow_http_loopback: bool) -> dict[str, object]:
    """The fields sent, as stored: a known endpoint and event types, firms filter only on a hub-wide one."""
    values: dict[str, object] = dict(fields)
    values.pop("firm_id", None)
    if "url" in values:
        problem = hooks.endpoint_problem(str(values["url"]), allow_http_loopback=allow_http_loopback)
        if problem:
            raise errors.invalid(f"{FIELD}.url", problem)
    if "event_types" in values:
        values["event_types"] = hooks.event_types(fields["event_types"], f"{FIELD}.event_types")
    for key in ("companies", "firms"):
        if len(values.get(key, ())) > hooks.MAX_FILTER_ITEMS:  # type: ignore[arg-type]
            raise errors.invalid(f"{FIELD}.{key}", f"has more than {hooks.MAX_FILTER_ITEMS} items")
    if firm_id is not None and values.get("firms"):
        raise errors.invalid(f"{FIELD}.firms", "filters a hub-wide subscription only; a firm's hears its own firm")
    if values.get("state", "") == "":
        values["state"] = hooks.ACTIVE
    return values


async def create_subscription(
    uow: UnitOfWork, owner: int | None, fields: SubscriptionFields, *, allow_http_loopback: bool
) -> hooks.Subscription:
    """A partner's is its firm's; a program manager's is the firm it names, or hub-wide. The secret is new."""
    firm_id = owner if owner is not None else fields["firm_id"]
    if firm_id is not None and owner is None:
        await load_firm(uow.conn, firm_id, f"firms/{firm_id}")
    values = _checked(fields, firm_id, allow_http_loopback=allow_http_loopback)
    new = hooks.Subscription(id=0, firm_id=firm_id, secret=new_secret(), actor=uow.actor, **values)  # type: ignore[arg-type]
    saved = await store.insert_subscription(uow.conn, new)
    await _emit(uow, saved, "created")
    return saved


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


async def _load(conn: AsyncConnection, owner: int | None, subscription_id: int, name: str) -> hooks.Subscription:
    found = await store.get_subscription(conn, subscription_id)
    if found is None or (owner is not None and found.firm_id != owner):
        raise errors.NotFound("WebhookSubscription", name)
    return found


async def get_subscription(db: Database, owner: int | None, subscription_id: int, name: str) -> hooks.Subscription:
    async with db.read() as conn:
        return await _load(conn, owner, subscription_id, name)


async def list_subscriptions(
    db: Database, owner: int | None, terms: Terms, *, size: int, token: str
) -> tuple[Sequence[hooks.Subscription], str]:
    scoped = terms if owner is None else {**terms, "firm": [owner]}
    return await filtered(db, scoped, token, size, store.list_subscriptions)


async def update_subscription(
    uow: UnitOfWork, owner: int | None, subscription_id: int, name: str, etag: str, changes: dict[str, object],
    *, allow_http_loopback: bool,
) -> hooks.Subscription:  # fmt: skip
    current = await _load(uow.conn, owner, subscription_id, name)
    check_etag(etag, current.etag)
    values = _checked(changes, current.firm_id, allow_http_loopback=allow_http_loopback)  # type: ignore[arg-type]
    changed = sorted(k for k, v in values.items() if getattr(current, k) != v)
    if not changed:
        return current
    updated = replace(current, **values, version=current.version + 1)  # type: ignore[arg-type]
    saved = await store.save_subscription(uow.conn, updated, expected_version=current.version)
    await _emit(uow, saved, "updated", changed)
    return saved


async def delete_subscription(uow: UnitOfWork, owner: int | None, subscription_id: int, name: str, etag: str) -> None:
    """Deletes the subscription and its delivery log; nothing more is sent to it."""
    current = await _load(uow.conn, owner, subscription_id, name)
    check_etag(etag, current.etag)
    await store.delete_subscription(uow.conn, subscription_id)
    await _emit(uow, current, "deleted")


async def rotate_secret(
    uow: UnitOfWork, owner: int | None, subscription_id: int, name: str, etag: str, overlap: timedelta
) -> hooks.Subscription:
    """A new secret; the old one signs beside it until the overlap ends (both signatures in the header)."""
    current = await _load(uow.conn, owner, subscription_id, name)
    check_etag(etag, current.etag)
    rotated = current.rotated(new_secret(), overlap, now())
    saved = await store.save_subscription(uow.conn, rotated, expected_version=current.version)
    await _emit(uow, saved, "secret_rotated")
    return saved


async def _emit(uow: UnitOfWork, s: hooks.Subscription, change: str, changed: list[str] | None = None) -> None:
    event = ev.WebhookSubscriptionChanged(
        name=s.name, firm=f"firms/{s.firm_id}" if s.firm_id else "", url=s.url, event_types=list(s.event_types),
        state=s.state, actor=uow.actor, changed_fields=changed or [],
    )  # fmt: skip
    await uow.emit(f"{SUBJECT}.webhook_subscription.{change}", s.name, s.version, event)


# Deliveries


async def list_deliveries(
    db: Database, owner: int | None, subscription_id: int, name: str, terms: Terms, *, size: int, token: str
) -> tuple[Sequence[hooks.Delivery], str]:
    await get_subscription(db, owner, subscription_id, name)

    async def fetch(conn: AsyncConnection, terms: Terms, before: int | None, limit: int) -> list[hooks.Delivery]:
        return await store.list_deliveries(conn, subscription_id, terms, before, limit)

    return await filtered(db, {**terms, "subscription": [subscription_id]}, token, size, fetch)  # a token per log


def delivery_key(name: str) -> tuple[int, str]:
    """webhookSubscriptions/3/deliveries/<id> -> (3, id); webhookSubscriptions/3 -> (3, "")."""
    parts = name.split("/")
    if len(parts) in (2, 4) and parts[0] == "webhookSubscriptions" and parts[1].isdigit() and int(parts[1]) > 0:
        if len(parts) == 2:
            return int(parts[1]), ""
        if parts[2] == "deliveries" and parts[3]:
            return int(parts[1]), parts[3]
    raise errors.invalid("name", "must be webhookSubscriptions/{id} or webhookSubscriptions/{id}/deliveries/{id}")


async def replay(uow: UnitOfWork, owner: int | None, name: str) -> list[hooks.Delivery]:
    """Queues a delivery again, whatever its state (the same delivery id, a fresh retry window), or every FAILED
    one of the subscription; an unknown delivery is NOT_FOUND."""
    subscription_id, delivery_id = delivery_key(name)
    await _load(uow.conn, owner, subscription_id, f"webhookSubscriptions/{subscription_id}")
    queued = await store.requeue(uow.conn, subscription_id, now(), delivery_id)
    if delivery_id and not queued:
        raise errors.NotFound("WebhookDelivery", name)
    return queued


async def send_test(uow: UnitOfWork, owner: int | None, subscription_id: int, name: str) -> hooks.Delivery:
    """A webhook.test delivery to the subscription (active or paused: a paused one keeps it until resumed)."""
    subscription = await _load(uow.conn, owner, subscription_id, name)
    at = now()
    event = hooks.WebhookEvent(hooks.TEST, uuid7(), at, None, None, frozenset())
    delivery = _delivery(subscription, event, {"message": "웹훅 시험 전송입니다 (a test delivery from the hub)"})
    await store.insert_deliveries(uow.conn, [delivery])
    found = await store.get_delivery(uow.conn, subscription_id, delivery.delivery_id)
    assert found is not None
    return found
