"""The queries the notifications service needs (SQLAlchemy Core, over tables.py): the read model of
recipients and entities the handlers keep, the follow-ups the rules plan, the API's views and actions
(returning domain objects), retention and metrics. The scheduler's claim-and-mark queries stay in
scheduler.py, beside the durability argument they serve."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.convert import as_utc
from hubcore.db import Database, now, save_versioned
from hubcore.retention import Retention
from hubcore.rows import Codec, Rows, insert_ignoring_conflict, upsert_newer, utc
from services.notifications import domain
from services.notifications.domain import Plan
from services.notifications.tables import deliveries, entities, follow_ups, metadata, recipients  # noqa: F401


def retentions(days: float) -> list[Retention]:
    """The delivery log is pruned once finished (sent, failed, cancelled, skipped), then the follow-ups that
    are over and have no delivery left. A follow-up's key guards against planning it twice; an event that
    could plan it again is gone from the stream (90 days) and from processed_events long before `days`."""
    finished = deliveries.c.state.in_([domain.SENT, domain.FAILED, domain.CANCELLED, domain.SKIPPED])
    over = sa.and_(
        follow_ups.c.state.in_([domain.DISPATCHED, domain.CANCELLED, domain.EXPIRED]),
        ~sa.exists().where(deliveries.c.follow_up_id == follow_ups.c.id),
    )
    return [
        Retention(deliveries, deliveries.c.updated_at, days, finished),
        Retention(follow_ups, follow_ups.c.updated_at, days, over),
    ]


# Recipients


async def recipient_by_source(conn: AsyncConnection, source: str) -> domain.Recipient | None:
    row = (await conn.execute(RECIPIENTS.select(recipients.c.source == source))).first()
    return to_recipient(row) if row else None


async def upsert_recipient(conn: AsyncConnection, *, source: str, version: int, active: bool, **fields: str) -> bool:
    """Applies what the owning service says of a person if it is newer than what we hold; returns
    whether it changed anything. Preferences are ours and are left alone."""
    current = await recipient_by_source(conn, source)
    stamp = now()
    if current is None:
        await conn.execute(
            insert_ignoring_conflict(conn, recipients, ["source"]).values(
                source=source, source_version=version, active=active, created_at=stamp, updated_at=stamp, **fields
            )
        )
        return True
    if version <= current.source_version:
        return False
    await conn.execute(
        recipients.update()
        .where(recipients.c.id == current.id)
        .values(source_version=version, active=active, updated_at=stamp, **fields)
    )
    return True


async def contacts_of(conn: AsyncConnection, company: str) -> list[str]:
    """Sources of the active people of a company (founders and staff)."""
    rows = await conn.execute(
        sa.select(recipients.c.source)
        .where(recipients.c.company == company, recipients.c.active.is_(True))
        .order_by(recipients.c.id)
    )
    return list(rows.scalars())


async def sync_program_managers(conn: AsyncConnection, emails: Iterable[str], webhook_url: str) -> None:
    """Program managers come from settings: one recipient per address, and one for the team's webhook."""
    wanted: dict[str, dict[str, str]] = {
        f"programManagers/{email}": {"email": email, "channels": domain.EMAIL, "webhook_url": ""} for email in emails
    }
    if webhook_url:
        wanted["programManagers/webhook"] = {"email": "", "channels": domain.WEBHOOK, "webhook_url": webhook_url}
    stamp = now()
    existing = {
        row.source: row
        for row in await conn.execute(sa.select(recipients).where(recipients.c.kind == domain.PROGRAM_MANAGER))
    }
    for source, values in wanted.items():
        row = existing.get(source)
        if row is None:
            await conn.execute(
                insert_ignoring_conflict(conn, recipients, ["source"]).values(
                    source=source, kind=domain.PROGRAM_MANAGER, korean_name="프로그램 매니저",
                    english_name="Program manager", active=True, created_at=stamp, updated_at=stamp, **values,
                )
            )  # fmt: skip
        elif not row.active or row.email != values["email"] or row.webhook_url != values["webhook_url"]:
            await conn.execute(
                recipients.update()
                .where(recipients.c.id == row.id)
                .values(active=True, email=values["email"], webhook_url=values["webhook_url"], updated_at=stamp)
            )
    gone = [row.id for source, row in existing.items() if source not in wanted and row.active]
    if gone:
        await conn.execute(recipients.update().where(recipients.c.id.in_(gone)).values(active=False, updated_at=stamp))


# Entities the rules follow


async def entity(conn: AsyncConnection, name: str) -> tuple[int, bytes] | None:
    row = (await conn.execute(sa.select(entities.c.version, entities.c.data).where(entities.c.name == name))).first()
    return (row.version, row.data) if row else None


async def remember_entity(conn: AsyncConnection, name: str, version: int, data: bytes) -> bool:
    """Keeps the snapshot if it is newer than the one held; returns False for an older (late) event."""
    return await upsert_newer(conn, entities, {"name": name}, {"version": version, "data": data, "updated_at": now()})


async def entities_like(conn: AsyncConnection, pattern: str) -> list[tuple[str, bytes]]:
    """Held snapshots whose name matches a LIKE pattern, e.g. companies/% ."""
    rows = await conn.execute(sa.select(entities.c.name, entities.c.data).where(entities.c.name.like(pattern)))
    return [(row.name, row.data) for row in rows]


# Follow-ups


async def apply_plan(conn: AsyncConnection, plan: Plan, *, revive: bool = True) -> str:
    """Stores a planned follow-up once. Pending: moved to the plan's time. Cancelled: planned again (unless
    revive is False: the clock's rules plan again every few minutes and must not undo a cancellation).
    Dispatched or expired: left alone, so nothing is ever sent twice. Returns what it did."""
    stamp = now()
    values = {
        "rule": plan.rule,
        "entity": plan.entity,
        "occasion": plan.occasion,
        "company": plan.company,
        "audience": json.dumps(list(plan.audience)),
        "context": json.dumps(plan.context, ensure_ascii=False, sort_keys=True),
        "due_at": utc(plan.due_at),
        "expires_at": utc(plan.expires_at) if plan.expires_at else None,
    }
    row = (await conn.execute(sa.select(follow_ups).where(follow_ups.c.key == plan.key))).first()
    if row is None:
        await conn.execute(
            follow_ups.insert().values(key=plan.key, state=domain.PENDING, created_at=stamp, updated_at=stamp, **values)
        )
        return "planned"
    if row.state == domain.PENDING or (row.state == domain.CANCELLED and revive):
        await conn.execute(
            follow_ups.update()
            .where(follow_ups.c.id == row.id)
            .values(state=domain.PENDING, note="", updated_at=stamp, **values)
        )
        return "moved" if row.state == domain.PENDING else "planned again"
    return "kept"


async def cancel_pending(
    conn: AsyncConnection, *, entity: str, rules: Iterable[str], reason: str, keep: Iterable[str] = ()
) -> int:
    """Cancels an entity's pending follow-ups for these rules (but not the occasions kept), and the
    deliveries of its dispatched ones that are still waiting (e.g. for quiet hours to end)."""
    f, d = follow_ups.c, deliveries.c
    matching = sa.and_(f.entity == entity, f.rule.in_(list(rules)))
    keep = list(keep)
    if keep:
        matching = sa.and_(matching, f.occasion.not_in(keep))
    stamp = now()
    ids = list((await conn.execute(sa.select(f.id).where(matching, f.state == domain.PENDING))).scalars())
    if ids:
        await conn.execute(
            follow_ups.update().where(f.id.in_(ids)).values(state=domain.CANCELLED, note=reason[:500], updated_at=stamp)
        )
    waiting = sa.select(f.id).where(matching, f.state == domain.DISPATCHED)
    await conn.execute(
        deliveries.update()
        .where(d.follow_up_id.in_(waiting), d.state == domain.PENDING)
        .values(state=domain.CANCELLED, last_error=reason[:500], next_attempt_at=None, updated_at=stamp)
    )
    return len(ids)


# What the API reads and changes (program managers' views and actions)


FOLLOW_UPS = Rows(follow_ups, domain.FollowUp)
DELIVERIES = Rows(deliveries, domain.Delivery)
PREFERENCES = Rows(
    recipients,
    domain.Preference,
    columns={"version": "preference_version"},
    codecs={
        "channels": Codec(lambda text: tuple(c for c in (text or "").split(",") if c), ",".join),
        "muted_rules": Codec(lambda text: tuple(json.loads(text or "[]")), lambda rules: json.dumps(list(rules))),
    },
)
RECIPIENTS = Rows(recipients, domain.Recipient)  # with its preference, from the same row

follow_up = FOLLOW_UPS.get
delivery = DELIVERIES.get


def to_recipient(row: sa.Row[Any]) -> domain.Recipient:
    return RECIPIENTS.load(row, preference=PREFERENCES.load(row))


async def recipient(conn: AsyncConnection, number: int) -> domain.Recipient | None:
    row = (await conn.execute(RECIPIENTS.select(recipients.c.id == number))).first()
    return to_recipient(row) if row else None


@dataclass(frozen=True)
class Page:
    """Newest first, by id: filter terms (field -> values, any of), the last id seen, how many."""

    terms: dict[str, list[object]]
    after: int | None
    size: int

    def query(self, rows: Rows[Any], columns: Mapping[str, str] | None = None) -> sa.Select[Any]:
        """size + 1 rows, so that the caller knows whether there is a next page."""
        c, names = rows.table.c, columns or {}
        where = [c[names.get(key, key)].in_(values) for key, values in self.terms.items()]
        return rows.page(*where, after=self.after, limit=self.size + 1, descending=True)


async def list_follow_ups(conn: AsyncConnection, page: Page) -> list[domain.FollowUp]:
    return await FOLLOW_UPS.all(conn, page.query(FOLLOW_UPS))


async def list_deliveries(conn: AsyncConnection, page: Page) -> list[domain.Delivery]:
    return await DELIVERIES.all(
        conn, page.query(DELIVERIES, {"recipient": "recipient_id", "follow_up": "follow_up_id"})
    )


async def list_recipients(conn: AsyncConnection, page: Page) -> list[domain.Recipient]:
    return [to_recipient(row) for row in await conn.execute(page.query(RECIPIENTS))]


async def failed_deliveries_of(conn: AsyncConnection, recipient_id: int) -> list[int]:
    """The ids of a recipient's failed deliveries, oldest first."""
    c = deliveries.c
    query = sa.select(c.id).where(c.recipient_id == recipient_id, c.state == domain.FAILED).order_by(c.id)
    return list((await conn.execute(query)).scalars())


async def update_follow_up(conn: AsyncConnection, number: int, **values: object) -> None:
    await conn.execute(follow_ups.update().where(follow_ups.c.id == number).values(**values, updated_at=now()))


async def update_delivery(conn: AsyncConnection, number: int, **values: object) -> None:
    await conn.execute(deliveries.update().where(deliveries.c.id == number).values(**values, updated_at=now()))


async def save_preference(
    conn: AsyncConnection, recipient: domain.Recipient, changes: dict[str, object], *, name: str
) -> None:
    """Writes the changed preference fields if nobody else did meanwhile (StaleWrite otherwise)."""
    version = recipient.preference.version
    values = PREFERENCES.columns_of(changes) | {"preference_version": version + 1, "updated_at": now()}
    await save_versioned(conn, recipients, recipient.id, version, values, name=name, version="preference_version")


def _failing(moment: datetime) -> sa.ColumnElement[bool]:
    d = deliveries.c
    return sa.or_(
        d.state == domain.FAILED,
        sa.and_(d.state == domain.PENDING, d.attempts > d.retries_from),
        sa.and_(d.state == domain.SENDING, d.lease_until < moment),
    )


def _overdue(moment: datetime, overdue_after: float) -> sa.ColumnElement[bool]:
    f = follow_ups.c
    return sa.and_(f.state == domain.PENDING, f.due_at < moment - timedelta(seconds=overdue_after))


async def stuck(conn: AsyncConnection, moment: datetime, overdue_after: float, size: int) -> domain.Stuck:
    moment = as_utc(moment)
    f, d = follow_ups, deliveries
    overdue, failing = _overdue(moment, overdue_after), _failing(moment)
    late = (await conn.execute(sa.select(f).where(overdue).order_by(f.c.due_at).limit(size))).all()
    bad = (await conn.execute(sa.select(d).where(failing).order_by(d.c.updated_at.desc()).limit(size))).all()
    return domain.Stuck(
        overdue=[FOLLOW_UPS.load(row) for row in late],
        failing=[DELIVERIES.load(row) for row in bad],
        overdue_count=(await conn.execute(sa.select(sa.func.count()).where(overdue))).scalar_one(),
        failing_count=(await conn.execute(sa.select(sa.func.count()).where(failing))).scalar_one(),
    )


async def stats(conn: AsyncConnection, moment: datetime, overdue_after: float) -> domain.Stats:
    moment = as_utc(moment)
    f, d = follow_ups.c, deliveries.c
    since = moment - timedelta(hours=24)
    # A delivery starts due at once; only quiet hours move it later without an attempt (a retry counts one).
    held = (d.state == domain.PENDING, d.attempts == d.retries_from, d.next_attempt_at > moment)

    def count(table: sa.Table, *where: sa.ColumnElement[bool]) -> sa.ScalarSelect[int]:
        return sa.select(sa.func.count()).select_from(table).where(*where).scalar_subquery()

    query = sa.select(
        count(follow_ups, f.state == domain.PENDING),
        count(follow_ups, _overdue(moment, overdue_after)),
        count(deliveries, d.state.in_([domain.PENDING, domain.SENDING])),
        count(deliveries, d.state == domain.PENDING, d.attempts > d.retries_from),
        count(deliveries, d.state == domain.FAILED),
        count(deliveries, d.state == domain.SENT, d.sent_at >= since),
        sa.select(sa.func.min(f.due_at)).where(f.state == domain.PENDING).scalar_subquery(),
        count(deliveries, *held),
        sa.select(sa.func.min(d.next_attempt_at)).where(*held).scalar_subquery(),
    )
    pending, overdue, waiting, retrying, failed, sent, next_due, held_count, held_until = (
        await conn.execute(query)
    ).one()
    return domain.Stats(
        pending_follow_ups=pending, overdue_follow_ups=overdue, pending_deliveries=waiting,
        retrying_deliveries=retrying, failed_deliveries=failed, sent_last_24h=sent, next_due_at=next_due,
        held_for_quiet_hours=held_count, held_until=held_until,
    )  # fmt: skip


async def cancel_occasions(
    conn: AsyncConnection, *, entity: str, rule: str, occasions: Iterable[str], note: str
) -> None:
    """Cancels the pending follow-ups of one rule for an entity on these occasions (e.g. the months a KPI
    report covers), leaving the deliveries of dispatched ones alone."""
    f = follow_ups.c
    await conn.execute(
        follow_ups.update()
        .where(f.entity == entity, f.rule == rule, f.occasion.in_(list(occasions)), f.state == domain.PENDING)
        .values(state=domain.CANCELLED, note=note, updated_at=now())
    )


async def metric_counts(db: Database) -> dict[str, dict[tuple[str, ...], float]]:
    """Follow-ups by state and deliveries by channel and state, for /metrics."""
    async with db.read() as conn:
        plans = (await conn.execute(sa.select(follow_ups.c.state, sa.func.count()).group_by(follow_ups.c.state))).all()
        sends = (
            await conn.execute(
                sa.select(deliveries.c.channel, deliveries.c.state, sa.func.count()).group_by(
                    deliveries.c.channel, deliveries.c.state
                )
            )
        ).all()
    by_state = {(state,): 0.0 for state in domain.FOLLOW_UP_STATES} | {(s,): float(n) for s, n in plans}
    by_channel = {(c, s): 0.0 for c in domain.CHANNELS for s in domain.DELIVERY_STATES}
    return {"hub_follow_ups": by_state, "hub_deliveries": by_channel | {(c, s): float(n) for c, s, n in sends}}


METRIC_GAUGES = {
    "hub_follow_ups": ("Follow-ups planned, by state", ["state"]),
    "hub_deliveries": (
        "Messages to send or sent, by channel and state (FAILED: given up after retries)",
        ["channel", "state"],
    ),
}
