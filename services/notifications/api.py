"""NotificationService: the program managers' views of what is pending, failing and stuck, their actions
(retry, cancel) and recipients' preferences. Each method parses its request, calls one use case
(usecases.py) and converts the result (convert.py); the input rules and roles are in policy.py."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import TypeAlias, TypeVar

import grpc
from hub.notifications.v1 import notifications_pb2 as pb
from hub.notifications.v1 import notifications_pb2_grpc

from hubcore.db import Database, now
from hubcore.requests import page_size, parse_filter, parse_name
from hubcore.resources import Numbered
from hubcore.rows import keyset_page
from hubcore.server import caller
from hubcore.servicing import Api, ListRequest
from services.notifications import convert, usecases
from services.notifications.config import Config
from services.notifications.policy import DELIVERY_FILTER, FOLLOW_UP_FILTER, RECIPIENT_FILTER, Filter
from services.notifications.store import Page

Context: TypeAlias = grpc.aio.ServicerContext
Clock = Callable[[], datetime]


E = TypeVar("E", bound=Numbered)


async def page_by_id(
    db: Database,
    request: ListRequest,
    allowed: Filter,
    kind: str,
    fetch: Callable[[Database, Page], Awaitable[list[E]]],
) -> tuple[Sequence[E], str]:
    """A List's page: newest first, by id; the token is the last id seen, bound to the filter."""
    size = page_size(request.page_size)
    terms = parse_filter(request.filter, allowed)
    query_key = f"{kind}|{sorted(terms.items())}"
    # The store's Page reads size + 1 rows itself.
    return await keyset_page(query_key, request.page_token, size, lambda after, _: fetch(db, Page(terms, after, size)))


class NotificationApi(Api, notifications_pb2_grpc.NotificationServiceServicer):
    def __init__(self, db: Database, cfg: Config, clock: Clock = now) -> None:
        super().__init__(db)
        self.cfg = cfg
        self.clock = clock

    # Follow-ups

    async def ListFollowUps(self, request: pb.ListFollowUpsRequest, context: Context) -> pb.ListFollowUpsResponse:
        found, token = await page_by_id(self.db, request, FOLLOW_UP_FILTER, "follow_ups", usecases.list_follow_ups)
        return pb.ListFollowUpsResponse(follow_ups=[convert.follow_up_pb(f) for f in found], next_page_token=token)

    async def GetFollowUp(self, request: pb.GetFollowUpRequest, context: Context) -> pb.FollowUp:
        return await self._get(request.name, "followUps", usecases.get_follow_up, convert.follow_up_pb)

    async def CancelFollowUp(self, request: pb.CancelFollowUpRequest, context: Context) -> pb.FollowUp:
        number = parse_name(request.name, "followUps")
        reason = request.reason.strip() or f"cancelled by {caller().actor}"
        cancel = lambda uow: usecases.cancel_follow_up(uow, number=number, name=request.name, reason=reason)  # noqa: E731
        return convert.follow_up_pb(await self._in_write(cancel))

    # Deliveries

    async def ListDeliveries(self, request: pb.ListDeliveriesRequest, context: Context) -> pb.ListDeliveriesResponse:
        found, token = await page_by_id(self.db, request, DELIVERY_FILTER, "deliveries", usecases.list_deliveries)
        return pb.ListDeliveriesResponse(deliveries=[convert.delivery_pb(d) for d in found], next_page_token=token)

    async def GetDelivery(self, request: pb.GetDeliveryRequest, context: Context) -> pb.Delivery:
        return await self._get(request.name, "deliveries", usecases.get_delivery, convert.delivery_pb)

    async def RetryDelivery(self, request: pb.RetryDeliveryRequest, context: Context) -> pb.Delivery:
        number = parse_name(request.name, "deliveries")
        retry = lambda uow: usecases.retry_delivery(uow, number=number, name=request.name, at=self.clock())  # noqa: E731
        return convert.delivery_pb(await self._in_write(retry))

    async def RetryRecipientDeliveries(
        self, request: pb.RetryRecipientDeliveriesRequest, context: Context
    ) -> pb.RetryRecipientDeliveriesResponse:
        number = parse_name(request.name, "recipients")
        async with self._write() as uow:
            retried = await usecases.retry_recipient_deliveries(uow, number=number, name=request.name, at=self.clock())
        return pb.RetryRecipientDeliveriesResponse(deliveries=[convert.delivery_pb(d) for d in retried])

    async def CancelDelivery(self, request: pb.CancelDeliveryRequest, context: Context) -> pb.Delivery:
        number = parse_name(request.name, "deliveries")
        actor = caller().actor
        cancel = lambda uow: usecases.cancel_delivery(uow, number=number, name=request.name, actor=actor)  # noqa: E731
        return convert.delivery_pb(await self._in_write(cancel))

    # Views

    async def ListStuckFollowUps(
        self, request: pb.ListStuckFollowUpsRequest, context: Context
    ) -> pb.ListStuckFollowUpsResponse:
        size = page_size(request.page_size)
        found = await usecases.stuck(self.db, at=self.clock(), overdue_after=self.cfg.overdue_after, size=size)
        return convert.stuck_pb(found)

    async def GetNotificationStats(
        self, request: pb.GetNotificationStatsRequest, context: Context
    ) -> pb.NotificationStats:
        return convert.stats_pb(await usecases.stats(self.db, at=self.clock(), overdue_after=self.cfg.overdue_after))

    async def ListMessageTemplates(
        self, request: pb.ListMessageTemplatesRequest, context: Context
    ) -> pb.ListMessageTemplatesResponse:
        made = usecases.message_templates(request.language.strip().lower() or "ko", self.cfg.time_zone)
        return pb.ListMessageTemplatesResponse(templates=[convert.message_template_pb(t) for t in made])

    # Recipients and preferences

    async def ListRecipients(self, request: pb.ListRecipientsRequest, context: Context) -> pb.ListRecipientsResponse:
        found, token = await page_by_id(self.db, request, RECIPIENT_FILTER, "recipients", usecases.list_recipients)
        recipients = [convert.recipient_pb(r, self.cfg) for r in found]
        return pb.ListRecipientsResponse(recipients=recipients, next_page_token=token)

    async def GetRecipient(self, request: pb.GetRecipientRequest, context: Context) -> pb.Recipient:
        number = parse_name(request.name, "recipients")
        return convert.recipient_pb(await usecases.get_recipient(self.db, number, request.name), self.cfg)

    async def GetPreference(self, request: pb.GetPreferenceRequest, context: Context) -> pb.Preference:
        number = convert.preference_id(request.name, "name")
        return convert.preference_pb(await usecases.get_recipient(self.db, number, request.name), self.cfg)

    async def UpdatePreference(self, request: pb.UpdatePreferenceRequest, context: Context) -> pb.Preference:
        sent = request.preference
        number = convert.preference_id(sent.name, "preference.name")
        wanted = convert.preference_fields(sent, set(request.update_mask.paths))
        async with self._write() as uow:
            recipient = await usecases.update_preference(
                uow, number=number, name=sent.name, etag=sent.etag, wanted=wanted
            )
        return convert.preference_pb(recipient, self.cfg)
