"""The notifications service's tables and the queries it needs (SQLAlchemy Core).

- recipients: people the hub writes to (a read model fed by events) with their preferences;
- entities: the newest snapshot of each aggregate the rules follow (companies, sessions, …), so that an
  older event arriving late never overrides a newer one;
- follow_ups: what the rules planned, one row per rule + entity + occasion (the idempotency key);
- deliveries: one row per follow-up, recipient and channel: the delivery log the scheduler works from.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import Database, as_utc, now, runtime_metadata
from hubcore.retention import Retention
from services.notifications import domain
from services.notifications.domain import Plan

metadata = sa.MetaData()
big_id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
at = sa.DateTime(timezone=True)

recipients = sa.Table(
    "recipients",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("source", sa.String(200), nullable=False, unique=True),  # people/7, programManagers/<email>
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("korean_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("english_name", sa.String(100), nullable=False, server_default=""),
    sa.Column("email", sa.String(200), nullable=False, server_default=""),
    sa.Column("company", sa.String(40), nullable=False, server_default=""),
    sa.Column("role", sa.String(20), nullable=False, server_default=""),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("source_version", sa.BigInteger, nullable=False, server_default="0"),
    # Preferences; empty means the service's default (see config.py).
    sa.Column("channels", sa.String(100), nullable=False, server_default=""),
    sa.Column("language", sa.String(5), nullable=False, server_default=""),
    sa.Column("time_zone", sa.String(64), nullable=False, server_default=""),
    sa.Column("quiet_start", sa.Integer, nullable=True),  # minutes after local midnight
    sa.Column("quiet_end", sa.Integer, nullable=True),
    sa.Column("muted_rules", sa.Text, nullable=False, server_default="[]"),
    sa.Column("webhook_url", sa.String(500), nullable=False, server_default=""),
    sa.Column("preference_version", sa.Integer, nullable=False, server_default="1"),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Index("ix_recipients_company", "company"),
)

entities = sa.Table(
    "entities",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),  # companies/3, sessions/12, …
    sa.Column("version", sa.BigInteger, nullable=False),
    sa.Column("data", sa.LargeBinary, nullable=False),  # the event's snapshot, serialized
    sa.Column("updated_at", at, nullable=False),
)

follow_ups = sa.Table(
    "follow_ups",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(300), nullable=False, unique=True),  # rule:entity:occasion
    sa.Column("rule", sa.String(60), nullable=False),
    sa.Column("entity", sa.String(100), nullable=False),
    sa.Column("occasion", sa.String(100), nullable=False),
    sa.Column("company", sa.String(40), nullable=False, server_default=""),
    sa.Column("audience", sa.Text, nullable=False),  # JSON list
    sa.Column("context", sa.Text, nullable=False),  # JSON object: what the templates show
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("due_at", at, nullable=False),
    sa.Column("expires_at", at, nullable=True),
    sa.Column("dispatched_at", at, nullable=True),
    sa.Column("note", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.Index("ix_follow_ups_due", "state", "due_at"),
    sa.Index("ix_follow_ups_entity", "entity"),
)

deliveries = sa.Table(
    "deliveries",
    metadata,
    sa.Column("id", big_id, primary_key=True, autoincrement=True),
    sa.Column("follow_up_id", big_id, sa.ForeignKey("follow_ups.id"), nullable=False),
    sa.Column("recipient_id", big_id, sa.ForeignKey("recipients.id"), nullable=False),
    sa.Column("rule", sa.String(60), nullable=False),
    sa.Column("entity", sa.String(100), nullable=False),
    sa.Column("company", sa.String(40), nullable=False, server_default=""),
    sa.Column("channel", sa.String(10), nullable=False),
    sa.Column("address", sa.String(500), nullable=False, server_default=""),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("retries_from", sa.Integer, nullable=False, server_default="0"),  # attempts at the last manual retry
    sa.Column("next_attempt_at", at, nullable=True),
    sa.Column("lease_until", at, nullable=True),
    sa.Column("claim", sa.String(36), nullable=False, server_default=""),
    sa.Column("last_error", sa.Text, nullable=False, server_default=""),
    sa.Column("subject", sa.String(300), nullable=False, server_default=""),
    sa.Column("sent_at", at, nullable=True),
    sa.Column("created_at", at, nullable=False),
    sa.Column("updated_at", at, nullable=False),
    sa.UniqueConstraint("follow_up_id", "recipient_id", "channel", name="uq_deliveries_target"),
    sa.Index("ix_deliveries_due", "state", "next_attempt_at"),
    sa.Index("ix_deliveries_recipient", "recipient_id"),
)


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


# Everything the migrations must create: the service's tables and the runtime's.
for _table in runtime_metadata.sorted_tables:
    _table.to_metadata(metadata)


def insert_ignoring_conflict(conn: AsyncConnection, table: sa.Table, key: list[str]) -> Any:
    """INSERT … ON CONFLICT DO NOTHING in the connection's dialect (two replicas may insert at once)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).on_conflict_do_nothing(index_elements=key)


# Recipients


async def recipient_by_source(conn: AsyncConnection, source: str) -> Any:
    return (await conn.execute(sa.select(recipients).where(recipients.c.source == source))).first()


async def upsert_recipient(conn: AsyncConnection, *, source: str, version: int, active: bool, **fields: Any) -> bool:
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
    wanted: dict[str, dict[str, Any]] = {
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
    current = await entity(conn, name)
    if current is None:
        await conn.execute(entities.insert().values(name=name, version=version, data=data, updated_at=now()))
        return True
    if version <= current[0]:
        return False
    await conn.execute(
        entities.update().where(entities.c.name == name).values(version=version, data=data, updated_at=now())
    )
    return True


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


def utc(value: datetime) -> datetime:
    """Times are stored in UTC: SQLite keeps the wall time it is given and drops the zone."""
    return as_utc(value).astimezone(UTC)


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
