"""The webhook methods, thin, served twice: on PartnerService, where a partner manages its own firm's
subscriptions (the firm from its key: partner_firm), and on InvestorService, where a program manager manages
hub-wide ones and any firm's. `_owner()` says which; the use cases scope every read and write to it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeAlias

import grpc
from hub.investors.v1 import partner_webhooks_pb2 as wpb

from hubcore.db import Database
from hubcore.requests import parse_name
from hubcore.servicing import Api, listed
from hubcore.settings import Settings
from services.investors import policy
from services.investors import webhook_convert as convert
from services.investors.usecases import webhooks

Context: TypeAlias = grpc.aio.ServicerContext
SUBSCRIPTIONS = "webhookSubscriptions"


class WebhookApi(Api):
    def __init__(self, db: Database, settings: Settings, wake: Callable[[], None] | None = None) -> None:
        super().__init__(db)
        self.allow_http = settings.webhook_allow_http_loopback
        self.window = timedelta(hours=settings.webhook_retry_hours)
        self.wake = wake or (lambda: None)  # the worker's, after a replay or a test delivery (no event wakes it)

    def _owner(self) -> int | None:
        """The caller's firm on the partner API; None for a program manager (any firm's, and hub-wide ones)."""
        raise NotImplementedError

    async def CreateWebhookSubscription(
        self, request: wpb.CreateWebhookSubscriptionRequest, context: Context
    ) -> wpb.WebhookSubscription:
        owner, fields = self._owner(), convert.subscription_fields(request.webhook_subscription)
        make = lambda uow: webhooks.create_subscription(uow, owner, fields, allow_http_loopback=self.allow_http)  # noqa: E731
        return await self._once("CreateWebhookSubscription", request, wpb.WebhookSubscription, make,
                                convert.subscription_with_secret)  # fmt: skip

    async def ListWebhookSubscriptions(
        self, request: wpb.ListWebhookSubscriptionsRequest, context: Context
    ) -> wpb.ListWebhookSubscriptionsResponse:
        owner = self._owner()
        fetch = lambda terms, **page: webhooks.list_subscriptions(self.db, owner, terms, **page)  # noqa: E731
        found, token = await listed(request, policy.WEBHOOK_SUBSCRIPTION_FILTER, fetch)
        return wpb.ListWebhookSubscriptionsResponse(
            webhook_subscriptions=[convert.subscription_pb(s) for s in found], next_page_token=token
        )

    async def GetWebhookSubscription(
        self, request: wpb.GetWebhookSubscriptionRequest, context: Context
    ) -> wpb.WebhookSubscription:
        owner = self._owner()
        found = await webhooks.get_subscription(self.db, owner, parse_name(request.name, SUBSCRIPTIONS), request.name)
        return convert.subscription_pb(found)

    async def UpdateWebhookSubscription(
        self, request: wpb.UpdateWebhookSubscriptionRequest, context: Context
    ) -> wpb.WebhookSubscription:
        owner, sent = self._owner(), request.webhook_subscription
        number = parse_name(sent.name, SUBSCRIPTIONS, "webhook_subscription.name")
        changes = convert.subscription_fields.changes(sent, request.update_mask.paths)
        updated = await self._in_write(
            lambda uow: webhooks.update_subscription(
                uow, owner, number, sent.name, sent.etag, changes, allow_http_loopback=self.allow_http
            )
        )
        return convert.subscription_pb(updated)

    async def DeleteWebhookSubscription(
        self, request: wpb.DeleteWebhookSubscriptionRequest, context: Context
    ) -> wpb.DeleteWebhookSubscriptionResponse:
        owner, number = self._owner(), parse_name(request.name, SUBSCRIPTIONS)
        await self._in_write(lambda uow: webhooks.delete_subscription(uow, owner, number, request.name, request.etag))
        return wpb.DeleteWebhookSubscriptionResponse()

    async def RotateWebhookSecret(
        self, request: wpb.RotateWebhookSecretRequest, context: Context
    ) -> wpb.WebhookSubscription:
        owner, number, overlap = self._owner(), parse_name(request.name, SUBSCRIPTIONS), convert.overlap_of(request)
        rotated = await self._in_write(
            lambda uow: webhooks.rotate_secret(uow, owner, number, request.name, request.etag, overlap)
        )
        return convert.subscription_with_secret(rotated)

    async def ListWebhookDeliveries(
        self, request: wpb.ListWebhookDeliveriesRequest, context: Context
    ) -> wpb.ListWebhookDeliveriesResponse:
        owner, number = self._owner(), parse_name(request.parent, SUBSCRIPTIONS, "parent")
        fetch = lambda terms, **page: webhooks.list_deliveries(self.db, owner, number, request.parent, terms, **page)  # noqa: E731
        found, token = await listed(request, policy.WEBHOOK_DELIVERY_FILTER, fetch)
        return wpb.ListWebhookDeliveriesResponse(
            webhook_deliveries=convert.deliveries_pb(found, self.window), next_page_token=token
        )

    async def ReplayWebhookDelivery(
        self, request: wpb.ReplayWebhookDeliveryRequest, context: Context
    ) -> wpb.ReplayWebhookDeliveryResponse:
        owner = self._owner()
        queued = await self._in_write(lambda uow: webhooks.replay(uow, owner, request.name))
        self.wake()
        shown = convert.deliveries_pb(queued[: policy.MAX_REPLAYS_SHOWN], self.window)
        return wpb.ReplayWebhookDeliveryResponse(webhook_deliveries=shown, replayed=len(queued))

    async def SendTestWebhook(self, request: wpb.SendTestWebhookRequest, context: Context) -> wpb.WebhookDelivery:
        owner, number = self._owner(), parse_name(request.name, SUBSCRIPTIONS)
        delivery = await self._in_write(lambda uow: webhooks.send_test(uow, owner, number, request.name))
        self.wake()
        return convert.delivery_pb(delivery, self.window)
