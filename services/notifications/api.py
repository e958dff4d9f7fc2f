"""NotificationService: proto <-> rows, the program managers' use cases (retry, cancel, preferences) and
the views of what is pending, failing and stuck."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, TypeAlias

import grpc
import sqlalchemy as sa
from google.type import timeofday_pb2
from hub.notifications.v1 import notifications_pb2 as pb
from hub.notifications.v1 import notifications_pb2_grpc

from hubcore import errors
from hubcore.db import Database, as_utc, now, timestamp
from hubcore.requests import (
    PageTokens,
    Rules,
    check_etag,
    enum_number,
    length,
    max_items,
    page_size,
    parse_filter,
    parse_name,
    required,
    short_enum_name,
    short_value,
    url,
)
from hubcore.server import ADMIN, SERVICE, caller
from services.notifications import domain, rules, store
from services.notifications.config import Config
from services.notifications.scheduler import Clock, channels_of, muted_rules

Context: TypeAlias = grpc.aio.ServicerContext

PREFERENCE_MUTABLE = frozenset(
    {"channels", "language", "time_zone", "quiet_start", "quiet_end", "muted_rules", "webhook_url"}
)
RULES: dict[type, Rules] = {
    pb.ListFollowUpsRequest: Rules({"filter": [length(0, 500)]}),
    pb.GetFollowUpRequest: Rules({"name": [required]}),
    pb.CancelFollowUpRequest: Rules({"name": [required], "reason": [length(0, 500)]}),
    pb.ListDeliveriesRequest: Rules({"filter": [length(0, 500)]}),
    pb.GetDeliveryRequest: Rules({"name": [required]}),
    pb.RetryDeliveryRequest: Rules({"name": [required]}),
    pb.CancelDeliveryRequest: Rules({"name": [required]}),
    pb.ListRecipientsRequest: Rules({"filter": [length(0, 500)]}),
    pb.GetRecipientRequest: Rules({"name": [required]}),
    pb.GetPreferenceRequest: Rules({"name": [required]}),
    pb.UpdatePreferenceRequest: Rules(
        {
            "preference.name": [required],
            "preference.language": [length(2, 2)],
            "preference.time_zone": [length(1, 64)],
            "preference.muted_rules": [max_items(50, length(1, 60))],
            "preference.webhook_url": [url],
            "preference.channels": [max_items(len(domain.CHANNELS))],
        },
        "update_mask",
        "preference",
        PREFERENCE_MUTABLE,
    ),
}
# Program managers do everything; other services may read.
READ = frozenset({ADMIN, SERVICE})
ROLES = {
    "ListFollowUps": READ,
    "GetFollowUp": READ,
    "ListDeliveries": READ,
    "GetDelivery": READ,
    "ListStuckFollowUps": READ,
    "GetNotificationStats": READ,
    "ListRecipients": READ,
    "GetRecipient": READ,
    "GetPreference": READ,
}
DEFAULT_ROLES = frozenset({ADMIN})

FOLLOW_UP_STATE = short_value(pb.FollowUpState, "FOLLOW_UP_STATE")
DELIVERY_STATE = short_value(pb.DeliveryState, "DELIVERY_STATE")
CHANNEL = short_value(pb.Channel, "CHANNEL")
KIND = short_value(pb.RecipientKind, "RECIPIENT_KIND")


def follow_up_pb(row: Any) -> pb.FollowUp:
    return pb.FollowUp(
        name=f"followUps/{row.id}",
        rule=row.rule,
        entity=row.entity,
        occasion=row.occasion,
        company=row.company,
        state=enum_number(pb.FollowUpState, "FOLLOW_UP_STATE", row.state),
        due_time=timestamp(row.due_at),
        expire_time=timestamp(row.expires_at),
        dispatch_time=timestamp(row.dispatched_at),
        note=row.note,
        create_time=timestamp(row.created_at),
        update_time=timestamp(row.updated_at),
    )


def delivery_pb(row: Any) -> pb.Delivery:
    return pb.Delivery(
        name=f"deliveries/{row.id}",
        follow_up=f"followUps/{row.follow_up_id}",
        rule=row.rule,
        entity=row.entity,
        company=row.company,
        recipient=f"recipients/{row.recipient_id}",
        channel=enum_number(pb.Channel, "CHANNEL", row.channel),
        address=row.address,
        state=enum_number(pb.DeliveryState, "DELIVERY_STATE", row.state),
        attempts=row.attempts,
        next_attempt_time=timestamp(row.next_attempt_at),
        last_error=row.last_error,
        subject=row.subject,
        send_time=timestamp(row.sent_at),
        create_time=timestamp(row.created_at),
        update_time=timestamp(row.updated_at),
    )


def _time_of_day(minutes: int) -> timeofday_pb2.TimeOfDay:
    return timeofday_pb2.TimeOfDay(hours=minutes // 60, minutes=minutes % 60)


def _minutes(value: timeofday_pb2.TimeOfDay, field: str) -> int:
    if not (0 <= value.hours <= 23 and 0 <= value.minutes <= 59) or value.seconds or value.nanos:
        raise errors.invalid(field, "must be a time of day between 00:00 and 23:59, in whole minutes")
    return value.hours * 60 + value.minutes


class NotificationApi(notifications_pb2_grpc.NotificationServiceServicer):
    def __init__(self, db: Database, cfg: Config, clock: Clock = now) -> None:
        self.db = db
        self.cfg = cfg
        self.clock = clock

    def _write(self) -> Any:
        return self.db.write(actor=caller().actor)

    def preference_pb(self, row: Any) -> pb.Preference:
        start = self.cfg.quiet_start if row.quiet_start is None else row.quiet_start
        end = self.cfg.quiet_end if row.quiet_end is None else row.quiet_end
        return pb.Preference(
            name=f"recipients/{row.id}/preference",
            channels=[enum_number(pb.Channel, "CHANNEL", c) for c in channels_of(row)],
            language=row.language or self.cfg.language,
            time_zone=row.time_zone or self.cfg.time_zone,
            quiet_start=_time_of_day(start),
            quiet_end=_time_of_day(end),
            muted_rules=sorted(muted_rules(row)),
            webhook_url=row.webhook_url,
            etag=str(row.preference_version),
        )

    def recipient_pb(self, row: Any) -> pb.Recipient:
        return pb.Recipient(
            name=f"recipients/{row.id}",
            source=row.source,
            kind=enum_number(pb.RecipientKind, "RECIPIENT_KIND", row.kind),
            korean_name=row.korean_name,
            english_name=row.english_name,
            email=row.email,
            company=row.company,
            active=row.active,
            preference=self.preference_pb(row),
        )

    async def _page(self, request: Any, table: sa.Table, allowed: dict[str, Any], columns: dict[str, str]) -> Any:
        """Newest first, by id; the page token is the last id seen, bound to the filter."""
        size = page_size(request.page_size)
        terms = parse_filter(request.filter, allowed)
        query_key = f"{table.name}|{sorted(terms.items())}"
        after = PageTokens.decode(request.page_token, query_key, (int,))
        query = sa.select(table).order_by(table.c.id.desc()).limit(size + 1)
        for key, values in terms.items():
            query = query.where(table.c[columns.get(key, key)].in_(values))
        if after is not None:
            query = query.where(table.c.id < after[0])
        async with self.db.read() as conn:
            rows = (await conn.execute(query)).all()
        token = PageTokens.encode(query_key, [rows[size - 1].id]) if len(rows) > size else ""
        return rows[:size], token

    # Follow-ups

    async def ListFollowUps(self, request: pb.ListFollowUpsRequest, context: Context) -> pb.ListFollowUpsResponse:
        rows, token = await self._page(
            request,
            store.follow_ups,
            {
                "state": FOLLOW_UP_STATE,
                "rule": str,
                "entity": str,
                "company": lambda v: f"companies/{parse_name(v, 'companies', 'filter')}",
            },
            {},
        )
        return pb.ListFollowUpsResponse(follow_ups=[follow_up_pb(r) for r in rows], next_page_token=token)

    async def _follow_up(self, conn: Any, name: str) -> Any:
        number = parse_name(name, "followUps")
        row = (await conn.execute(sa.select(store.follow_ups).where(store.follow_ups.c.id == number))).first()
        if row is None:
            raise errors.NotFound("FollowUp", name)
        return row

    async def GetFollowUp(self, request: pb.GetFollowUpRequest, context: Context) -> pb.FollowUp:
        async with self.db.read() as conn:
            return follow_up_pb(await self._follow_up(conn, request.name))

    async def CancelFollowUp(self, request: pb.CancelFollowUpRequest, context: Context) -> pb.FollowUp:
        reason = request.reason.strip() or f"cancelled by {caller().actor}"
        async with self._write() as uow:
            row = await self._follow_up(uow.conn, request.name)
            if row.state != domain.PENDING:
                raise errors.FailedPrecondition(
                    f"{request.name} is {row.state}; only a pending follow-up can be cancelled",
                    type_="STATE",
                    subject=request.name,
                )
            await uow.conn.execute(
                store.follow_ups.update()
                .where(store.follow_ups.c.id == row.id)
                .values(state=domain.CANCELLED, note=reason[:500], updated_at=now())
            )
            return follow_up_pb(await self._follow_up(uow.conn, request.name))

    # Deliveries

    async def ListDeliveries(self, request: pb.ListDeliveriesRequest, context: Context) -> pb.ListDeliveriesResponse:
        rows, token = await self._page(
            request,
            store.deliveries,
            {
                "state": DELIVERY_STATE,
                "rule": str,
                "entity": str,
                "channel": CHANNEL,
                "company": lambda v: f"companies/{parse_name(v, 'companies', 'filter')}",
                "recipient": lambda v: parse_name(v, "recipients", "filter"),
                "follow_up": lambda v: parse_name(v, "followUps", "filter"),
            },
            {"recipient": "recipient_id", "follow_up": "follow_up_id"},
        )
        return pb.ListDeliveriesResponse(deliveries=[delivery_pb(r) for r in rows], next_page_token=token)

    async def _delivery(self, conn: Any, name: str) -> Any:
        number = parse_name(name, "deliveries")
        row = (await conn.execute(sa.select(store.deliveries).where(store.deliveries.c.id == number))).first()
        if row is None:
            raise errors.NotFound("Delivery", name)
        return row

    async def GetDelivery(self, request: pb.GetDeliveryRequest, context: Context) -> pb.Delivery:
        async with self.db.read() as conn:
            return delivery_pb(await self._delivery(conn, request.name))

    async def RetryDelivery(self, request: pb.RetryDeliveryRequest, context: Context) -> pb.Delivery:
        async with self._write() as uow:
            row = await self._delivery(uow.conn, request.name)
            if row.state in (domain.SENT, domain.SENDING):
                raise errors.FailedPrecondition(
                    f"{request.name} is {row.state}; only one not sent can be retried",
                    type_="STATE",
                    subject=request.name,
                )
            await uow.conn.execute(
                store.deliveries.update()
                .where(store.deliveries.c.id == row.id)
                .values(
                    state=domain.PENDING, next_attempt_at=self.clock(), retries_from=row.attempts,
                    claim="", lease_until=None, updated_at=now(),
                )
            )  # fmt: skip
            return delivery_pb(await self._delivery(uow.conn, request.name))

    async def CancelDelivery(self, request: pb.CancelDeliveryRequest, context: Context) -> pb.Delivery:
        async with self._write() as uow:
            row = await self._delivery(uow.conn, request.name)
            if row.state != domain.PENDING:
                raise errors.FailedPrecondition(
                    f"{request.name} is {row.state}; only a pending delivery can be cancelled",
                    type_="STATE",
                    subject=request.name,
                )
            await uow.conn.execute(
                store.deliveries.update()
                .where(store.deliveries.c.id == row.id)
                .values(
                    state=domain.CANCELLED, next_attempt_at=None, updated_at=now(),
                    last_error=f"cancelled by {caller().actor}",
                )
            )  # fmt: skip
            return delivery_pb(await self._delivery(uow.conn, request.name))

    # Views

    def _failing(self) -> Any:
        d = store.deliveries.c
        return sa.or_(
            d.state == domain.FAILED,
            sa.and_(d.state == domain.PENDING, d.attempts > d.retries_from),
            sa.and_(d.state == domain.SENDING, d.lease_until < as_utc(self.clock())),
        )

    def _overdue(self) -> Any:
        f = store.follow_ups.c
        late = as_utc(self.clock()) - timedelta(seconds=self.cfg.overdue_after)
        return sa.and_(f.state == domain.PENDING, f.due_at < late)

    async def ListStuckFollowUps(
        self, request: pb.ListStuckFollowUpsRequest, context: Context
    ) -> pb.ListStuckFollowUpsResponse:
        size = page_size(request.page_size)
        f, d = store.follow_ups, store.deliveries
        async with self.db.read() as conn:
            overdue = (await conn.execute(sa.select(f).where(self._overdue()).order_by(f.c.due_at).limit(size))).all()
            failing = (
                await conn.execute(sa.select(d).where(self._failing()).order_by(d.c.updated_at.desc()).limit(size))
            ).all()
            overdue_count = (await conn.execute(sa.select(sa.func.count()).where(self._overdue()))).scalar_one()
            failing_count = (await conn.execute(sa.select(sa.func.count()).where(self._failing()))).scalar_one()
        return pb.ListStuckFollowUpsResponse(
            overdue_follow_ups=[follow_up_pb(r) for r in overdue],
            failing_deliveries=[delivery_pb(r) for r in failing],
            overdue_count=overdue_count,
            failing_count=failing_count,
        )

    async def GetNotificationStats(
        self, request: pb.GetNotificationStatsRequest, context: Context
    ) -> pb.NotificationStats:
        f, d = store.follow_ups.c, store.deliveries.c
        since = as_utc(self.clock()) - timedelta(hours=24)
        # A delivery starts due at once; only quiet hours move it later without an attempt (a retry counts one).
        held = (d.state == domain.PENDING, d.attempts == d.retries_from, d.next_attempt_at > as_utc(self.clock()))

        def count(table: sa.Table, *where: Any) -> Any:
            return sa.select(sa.func.count()).select_from(table).where(*where).scalar_subquery()

        query = sa.select(
            count(store.follow_ups, f.state == domain.PENDING),
            count(store.follow_ups, self._overdue()),
            count(store.deliveries, d.state.in_([domain.PENDING, domain.SENDING])),
            count(store.deliveries, d.state == domain.PENDING, d.attempts > d.retries_from),
            count(store.deliveries, d.state == domain.FAILED),
            count(store.deliveries, d.state == domain.SENT, d.sent_at >= since),
            sa.select(sa.func.min(f.due_at)).where(f.state == domain.PENDING).scalar_subquery(),
            count(store.deliveries, *held),
            sa.select(sa.func.min(d.next_attempt_at)).where(*held).scalar_subquery(),
        )
        async with self.db.read() as conn:
            pending, overdue, waiting, retrying, failed, sent, next_due, held_count, held_until = (
                await conn.execute(query)
            ).one()
        return pb.NotificationStats(
            pending_follow_ups=pending,
            overdue_follow_ups=overdue,
            pending_deliveries=waiting,
            retrying_deliveries=retrying,
            failed_deliveries=failed,
            sent_last_24h=sent,
            next_due_time=timestamp(next_due),
            held_for_quiet_hours=held_count,
            held_until_time=timestamp(held_until),
        )

    # Recipients and preferences

    async def ListRecipients(self, request: pb.ListRecipientsRequest, context: Context) -> pb.ListRecipientsResponse:
        rows, token = await self._page(
            request,
            store.recipients,
            {
                "source": str,
                "kind": KIND,
                "email": lambda v: v.strip().lower(),
                "company": lambda v: f"companies/{parse_name(v, 'companies', 'filter')}",
            },
            {},
        )
        return pb.ListRecipientsResponse(recipients=[self.recipient_pb(r) for r in rows], next_page_token=token)

    async def _recipient(self, conn: Any, number: int, name: str) -> Any:
        row = (await conn.execute(sa.select(store.recipients).where(store.recipients.c.id == number))).first()
        if row is None:
            raise errors.NotFound("Recipient", name)
        return row

    async def GetRecipient(self, request: pb.GetRecipientRequest, context: Context) -> pb.Recipient:
        number = parse_name(request.name, "recipients")
        async with self.db.read() as conn:
            return self.recipient_pb(await self._recipient(conn, number, request.name))

    @staticmethod
    def _preference_id(name: str, field: str) -> int:
        if not name.endswith("/preference"):
            raise errors.invalid(field, "must look like recipients/<number>/preference")
        return parse_name(name.removesuffix("/preference"), "recipients", field)

    async def GetPreference(self, request: pb.GetPreferenceRequest, context: Context) -> pb.Preference:
        number = self._preference_id(request.name, "name")
        async with self.db.read() as conn:
            return self.preference_pb(await self._recipient(conn, number, request.name))

    async def UpdatePreference(self, request: pb.UpdatePreferenceRequest, context: Context) -> pb.Preference:
        sent = request.preference
        number = self._preference_id(sent.name, "preference.name")
        values = self._preference_values(sent, set(request.update_mask.paths))
        async with self._write() as uow:
            row = await self._recipient(uow.conn, number, sent.name)
            check_etag(sent.etag, str(row.preference_version))
            changed = {k: v for k, v in values.items() if getattr(row, k) != v}
            if changed:
                r = store.recipients.c
                result = await uow.conn.execute(
                    store.recipients.update()
                    .where(r.id == row.id, r.preference_version == row.preference_version)
                    .values(**changed, preference_version=row.preference_version + 1, updated_at=now())
                )
                if result.rowcount != 1:
                    raise errors.Aborted(f"{sent.name} changed meanwhile; read it again and retry")
            return self.preference_pb(await self._recipient(uow.conn, number, sent.name))

    def _preference_values(self, sent: pb.Preference, paths: set[str]) -> dict[str, Any]:
        values: dict[str, Any] = {}
        problems: list[tuple[str, str]] = []
        if "channels" in paths:
            chosen = []
            for number in sent.channels:
                if number == pb.CHANNEL_UNSPECIFIED:
                    problems.append(("preference.channels", "must not contain CHANNEL_UNSPECIFIED"))
                    break
                short = short_enum_name(pb.Channel, "CHANNEL", number)
                if short not in chosen:
                    chosen.append(short)
            values["channels"] = ",".join(chosen)
        if "language" in paths:
            if sent.language not in domain.LANGUAGES:
                problems.append(("preference.language", f"must be one of {', '.join(domain.LANGUAGES)}"))
            values["language"] = sent.language
        if "time_zone" in paths:
            if not domain.valid_time_zone(sent.time_zone):
                problems.append(("preference.time_zone", "must be an IANA time zone such as Asia/Seoul"))
            values["time_zone"] = sent.time_zone
        for path in ("quiet_start", "quiet_end"):
            if path in paths:
                try:
                    values[path] = _minutes(getattr(sent, path), f"preference.{path}")
                except errors.InvalidArgument as exc:
                    problems += exc.violations
        if "muted_rules" in paths:
            unknown = sorted(set(sent.muted_rules) - set(rules.RULES))
            if unknown:
                problems.append(
                    ("preference.muted_rules", f"unknown rules {unknown} (known: {', '.join(sorted(rules.RULES))})")
                )
            values["muted_rules"] = json.dumps(sorted(set(sent.muted_rules)))
        if "webhook_url" in paths:
            values["webhook_url"] = sent.webhook_url.strip()
        if problems:
            raise errors.InvalidArgument(problems)
        return values
