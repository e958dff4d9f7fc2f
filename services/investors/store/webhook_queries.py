"""Webhook subscriptions and their deliveries: queries that return domain objects, and the delivery worker's
claim (row locks with SKIP LOCKED on PostgreSQL, so replicas never take the same delivery; SQLite's writers are
serialized) and mark (only by the claim that took it)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.requests import Terms
from hubcore.rows import JSON_TUPLE, Rows, filtered_by
from services.investors.domain.webhooks import ACTIVE, FAILED, PENDING, SENDING, Delivery, Subscription
from services.investors.store.tables import webhook_deliveries, webhook_subscriptions

SUBSCRIPTIONS = Rows(
    webhook_subscriptions, Subscription, codecs=dict.fromkeys(("event_types", "companies", "firms"), JSON_TUPLE)
)
DELIVERIES = Rows(webhook_deliveries, Delivery)
_s, _d = webhook_subscriptions.c, webhook_deliveries.c

get_subscription = SUBSCRIPTIONS.get
insert_subscription = SUBSCRIPTIONS.insert
save_subscription = SUBSCRIPTIONS.save


async def list_subscriptions(conn: AsyncConnection, terms: Terms, after: int | None, limit: int) -> list[Subscription]:
    """terms: firm (ids; 0 for hub-wide ones), state."""
    where = filtered_by({k: v for k, v in terms.items() if k != "firm"}, {"state": _s.state})
    if "firm" in terms:
        firms = [f for f in terms["firm"] if f]
        where.append(sa.or_(_s.firm_id.in_(firms), _s.firm_id.is_(None) if 0 in terms["firm"] else sa.false()))
    return await SUBSCRIPTIONS.list(conn, *where, after=after, limit=limit)


async def delete_subscription(conn: AsyncConnection, subscription_id: int) -> None:
    await conn.execute(webhook_deliveries.delete().where(_d.subscription_id == subscription_id))
    await conn.execute(webhook_subscriptions.delete().where(_s.id == subscription_id))


async def listening(conn: AsyncConnection, event_type: str) -> list[Subscription]:
    """The active subscriptions that name the event type (the domain then checks firm and filters)."""
    named = _s.event_types.like(f'%"{event_type}"%')
    return await SUBSCRIPTIONS.all(conn, SUBSCRIPTIONS.select(_s.state == ACTIVE, named).order_by(_s.id))


async def insert_deliveries(conn: AsyncConnection, deliveries: Iterable[Delivery]) -> None:
    await DELIVERIES.insert_many(conn, deliveries)


async def list_deliveries(
    conn: AsyncConnection, subscription_id: int, terms: Terms, before: int | None, limit: int
) -> list[Delivery]:
    """A subscription's delivery log, newest first; terms: state, event_type."""
    where = filtered_by(terms, {"state": _d.state, "event_type": _d.event_type})
    return await DELIVERIES.list(conn, _d.subscription_id == subscription_id, *where, after=before, limit=limit,
                                 descending=True)  # fmt: skip


async def get_delivery(conn: AsyncConnection, subscription_id: int, delivery_id: str) -> Delivery | None:
    return await DELIVERIES.first(conn, _d.subscription_id == subscription_id, _d.delivery_id == delivery_id)


async def requeue(conn: AsyncConnection, subscription_id: int, at: datetime, delivery_id: str = "") -> list[Delivery]:
    """Puts a delivery (or, without an id, every FAILED one of the subscription) back in the queue, due now, with
    a fresh retry window; the same delivery id. Returns them as they now are."""
    which = _d.delivery_id == delivery_id if delivery_id else _d.state == FAILED
    ids = list((await conn.execute(sa.select(_d.id).where(_d.subscription_id == subscription_id, which))).scalars())
    if not ids:
        return []
    values = {"state": PENDING, "next_attempt_at": at, "retry_from": at, "replays": _d.replays + 1,
              "claim": "", "lease_until": None, "updated_at": at}  # fmt: skip
    await conn.execute(webhook_deliveries.update().where(_d.id.in_(ids)).values(values))
    return await DELIVERIES.all(conn, DELIVERIES.select(_d.id.in_(ids)).order_by(_d.id))


# The worker


Due = list[tuple[Delivery, Subscription]]


async def due(conn: AsyncConnection, moment: datetime, limit: int, *, lock: bool) -> Due:
    """Deliveries to attempt now (pending and due, or sending with a lapsed lease) of active subscriptions."""
    query = (
        sa.select(webhook_deliveries, *(c.label(f"s_{c.name}") for c in webhook_subscriptions.c))
        .join(webhook_subscriptions, _s.id == _d.subscription_id)
        .where(
            _s.state == ACTIVE,
            sa.or_(
                sa.and_(_d.state == PENDING, _d.next_attempt_at <= moment),
                sa.and_(_d.state == SENDING, _d.lease_until < moment),
            ),
        )
        .order_by(_d.next_attempt_at, _d.id)
        .limit(limit)
    )
    rows = (await conn.execute(query.with_for_update(of=webhook_deliveries, skip_locked=True) if lock else query)).all()
    return [(DELIVERIES.load(row), SUBSCRIPTIONS.load(_Prefixed(row))) for row in rows]


class _Prefixed:
    """The subscription's columns of a joined row (labelled s_<name>), as Rows.load reads a row."""

    def __init__(self, row: Any) -> None:
        self._row = row

    def __getattr__(self, name: str) -> Any:
        return getattr(self._row, f"s_{name}")


async def claim(conn: AsyncConnection, ids: Sequence[int], token: str, moment: datetime, lease_until: datetime) -> None:
    await conn.execute(
        webhook_deliveries.update()
        .where(_d.id.in_(ids))
        .values(state=SENDING, claim=token, attempts=_d.attempts + 1, lease_until=lease_until, updated_at=moment)
    )


async def mark(conn: AsyncConnection, delivery_id: int, token: str, values: dict[str, object]) -> bool:
    """Records an attempt's outcome, if the delivery is still this claim's; whether it was."""
    result = await conn.execute(
        webhook_deliveries.update()
        .where(_d.id == delivery_id, _d.claim == token, _d.state == SENDING)
        .values(**values, claim="", lease_until=None)
    )
    return bool(result.rowcount == 1)


async def delivery_counts(conn: AsyncConnection) -> dict[str, int]:
    query = sa.select(_d.state, sa.func.count()).group_by(_d.state)
    return {state: int(count) for state, count in await conn.execute(query)}


async def oldest_waiting(conn: AsyncConnection) -> datetime | None:
    """When the oldest delivery still waiting for its first success was made (None when none waits)."""
    query = sa.select(sa.func.min(_d.occurred_at)).where(_d.state.in_((PENDING, SENDING)))
    value: datetime | None = (await conn.execute(query)).scalar_one()
    return value
