"""The queries the playbooks service needs (SQLAlchemy Core, over tables.py), returning domain objects: the
rules, the facts' history, episodes, firings and the action records the worker claims and marks."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.db import Database, now
from hubcore.retention import Retention
from hubcore.rows import Rows, insert_ignoring_conflict, json_codec, utc
from services.playbooks import domain
from services.playbooks.domain import Action, Fact, Firing, FiringAction, Playbook, Trigger
from services.playbooks.tables import episodes, facts, firing_actions, firings, metadata, playbooks  # noqa: F401


def retentions(fact_days: float, firing_days: float) -> list[Retention]:
    """A fact goes once a newer fact of its kind and subject stands in for it (a trigger reads the latest of each
    kind, and a session's latest state), so no rule's condition changes; only a dry run far back sees less.
    An action record goes once done or failed, then its firing once no action of it is left. The episode
    counter stays, so a firing swept never lets its episode fire again."""
    newer = facts.alias("newer")
    superseded = sa.exists().where(
        newer.c.kind == facts.c.kind,
        newer.c.subject == facts.c.subject,
        sa.or_(
            newer.c.occurred_at > facts.c.occurred_at,
            sa.and_(newer.c.occurred_at == facts.c.occurred_at, newer.c.id > facts.c.id),
        ),
    )
    over = firing_actions.c.state.in_([domain.DONE, domain.FAILED])
    emptied = ~sa.exists().where(firing_actions.c.firing_id == firings.c.id)
    return [
        Retention(facts, facts.c.occurred_at, fact_days, superseded),
        Retention(firing_actions, firing_actions.c.updated_at, firing_days, over),
        Retention(firings, firings.c.fired_at, firing_days, emptied),
    ]


def trigger_of(data: Mapping[str, Any]) -> Trigger:
    return Trigger(**data)


def actions_of(data: Iterable[Mapping[str, Any]]) -> tuple[Action, ...]:
    return tuple(Action(**{**a, "mentors": tuple(a.get("mentors", ()))}) for a in data)


def definition(playbook: Playbook) -> dict[str, Any]:
    """The rule as data: what a firing keeps of the revision it fired under, and what examples/ hold."""
    return {
        "display_name": playbook.display_name,
        "description": playbook.description,
        "trigger": dataclasses.asdict(playbook.trigger),
        "actions": [dataclasses.asdict(a) for a in playbook.actions],
    }


def from_definition(data: Mapping[str, Any], **extra: Any) -> Playbook:
    return Playbook(
        id=0, display_name=data["display_name"], description=data.get("description", ""),
        trigger=trigger_of(data["trigger"]), actions=actions_of(data["actions"]), **extra,
    )  # fmt: skip


PLAYBOOKS = Rows(
    playbooks,
    Playbook,
    codecs={
        "trigger": json_codec(trigger_of, dataclasses.asdict, ascii=False),
        "actions": json_codec(actions_of, lambda actions: [dataclasses.asdict(a) for a in actions]),
    },
)
FACTS = Rows(facts, Fact, columns={"values": "data"}, codecs={"values": json_codec()})
ACTIONS = Rows(
    firing_actions,
    FiringAction,
    codecs={"results": json_codec(tuple, list), "plan": json_codec()},
)
FIRINGS = Rows(
    firings,
    Firing,
    codecs={
        "facts": json_codec(lambda items: tuple(fact_of(i) for i in items), lambda fs: [fact_json(f) for f in fs]),
        "rule": json_codec(),
    },
)


def fact_json(fact: Fact) -> dict[str, Any]:
    return {"kind": fact.kind, "subject": fact.subject, "company": fact.company,
            "occurred_at": utc(fact.occurred_at).isoformat(), "values": dict(fact.values)}  # fmt: skip


def fact_of(item: Mapping[str, Any]) -> Fact:
    return Fact(item["kind"], item["subject"], item["company"], datetime.fromisoformat(item["occurred_at"]),
                item.get("values", {}))  # fmt: skip


# Playbooks

playbook = PLAYBOOKS.get


async def insert_playbook(conn: AsyncConnection, item: Playbook, key: str | None = None) -> Playbook:
    return await PLAYBOOKS.insert(conn, item, key=key)


async def save_playbook(conn: AsyncConnection, item: Playbook, expected_version: int) -> Playbook:
    return await PLAYBOOKS.save(conn, item, expected_version=expected_version)


async def list_playbooks(conn: AsyncConnection, after: int | None, limit: int) -> list[Playbook]:
    return await PLAYBOOKS.list(conn, after=after, limit=limit)


async def enabled_playbooks(conn: AsyncConnection) -> list[Playbook]:
    return await PLAYBOOKS.all(conn, PLAYBOOKS.select(playbooks.c.enabled.is_(True)).order_by(playbooks.c.id))


async def keyed_playbooks(conn: AsyncConnection) -> set[str]:
    return set((await conn.execute(sa.select(playbooks.c.key).where(playbooks.c.key.is_not(None)))).scalars())


# Facts


async def add_fact(conn: AsyncConnection, fact: Fact) -> bool:
    """Keeps a fact once (an event redelivered past the inbox finds it); returns whether it is new."""
    values = FACTS.values(fact) | {"occurred_at": utc(fact.occurred_at), "created_at": now()}
    result = await conn.execute(insert_ignoring_conflict(conn, facts, ["event_id", "kind", "subject"]), values)
    return bool(result.rowcount)


def _reading(trigger: Trigger) -> list[sa.ColumnElement[bool]]:
    return [facts.c.kind.in_(domain.kinds_read(trigger))]


async def facts_of(conn: AsyncConnection, trigger: Trigger, key: str) -> list[Fact]:
    """One subject's facts as the trigger reads them, in time order."""
    column = facts.c.company if domain.by_company(trigger) else facts.c.subject
    query = FACTS.select(*_reading(trigger), column == key).order_by(facts.c.occurred_at, facts.c.id)
    return await FACTS.all(conn, query)


async def keys_of(conn: AsyncConnection, trigger: Trigger) -> list[str]:
    """Every subject the trigger has facts of."""
    column = facts.c.company if domain.by_company(trigger) else facts.c.subject
    query = sa.select(column).where(*_reading(trigger), column != "").distinct().order_by(column)
    return list((await conn.execute(query)).scalars())


async def history(conn: AsyncConnection, trigger: Trigger, until: datetime) -> list[Fact]:
    """Every fact the trigger reads up to a moment, in time order (a dry run's input)."""
    query = FACTS.select(*_reading(trigger), facts.c.occurred_at <= utc(until))
    return await FACTS.all(conn, query.order_by(facts.c.occurred_at, facts.c.id))


# Episodes and firings


async def episode(conn: AsyncConnection, playbook_id: int, subject: str) -> tuple[int, bool]:
    """How many episodes the subject has had under the rule, and whether the last one still holds."""
    row = (
        await conn.execute(
            sa.select(episodes.c.episode, episodes.c.holding).where(
                episodes.c.playbook_id == playbook_id, episodes.c.subject == subject
            )
        )
    ).first()
    return (row.episode, row.holding) if row else (0, False)


async def set_episode(conn: AsyncConnection, playbook_id: int, subject: str, number: int, holding: bool) -> None:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    values = {"playbook_id": playbook_id, "subject": subject, "episode": number, "holding": holding,
              "updated_at": now()}  # fmt: skip
    statement = dialect.insert(episodes).values(values)
    await conn.execute(
        statement.on_conflict_do_update(
            index_elements=["playbook_id", "subject"],
            set_={"episode": number, "holding": holding, "updated_at": values["updated_at"]},
        )
    )


async def insert_firing(conn: AsyncConnection, firing: Firing) -> int | None:
    """The firing's row, unless this rule already fired for this subject and episode (None then)."""
    values = FIRINGS.values(firing) | {"fired_at": utc(firing.fired_at), "created_at": now()}
    statement = insert_ignoring_conflict(conn, firings, ["playbook_id", "subject", "episode"])
    result = await conn.execute(statement.values(values).returning(firings.c.id))
    return result.scalar_one_or_none()


async def insert_actions(conn: AsyncConnection, items: Iterable[FiringAction]) -> None:
    await ACTIONS.insert_many(conn, items)


async def firing(conn: AsyncConnection, number: int) -> Firing | None:
    found = await FIRINGS.get(conn, number)
    return (await with_actions(conn, [found]))[0] if found else None


async def with_actions(conn: AsyncConnection, found: list[Firing]) -> list[Firing]:
    if not found:
        return []
    query = ACTIONS.select(firing_actions.c.firing_id.in_([f.id for f in found])).order_by(firing_actions.c.position)
    by_firing: dict[int, list[FiringAction]] = {}
    for action in await ACTIONS.all(conn, query):
        by_firing.setdefault(action.firing_id, []).append(action)
    return [dataclasses.replace(f, actions=tuple(by_firing.get(f.id, ()))) for f in found]


FIRING_STATE = {
    domain.RUNNING: lambda: firings.c.id.in_(
        sa.select(firing_actions.c.firing_id).where(firing_actions.c.state == domain.PENDING)
    ),
    domain.FAILED: lambda: firings.c.id.in_(
        sa.select(firing_actions.c.firing_id).where(firing_actions.c.state == domain.FAILED)
    ),
    domain.DONE: lambda: (
        ~firings.c.id.in_(sa.select(firing_actions.c.firing_id).where(firing_actions.c.state != domain.DONE))
    ),
}


async def list_firings(conn: AsyncConnection, terms: Mapping[str, list[Any]], after: int | None,
                       limit: int) -> list[Firing]:  # fmt: skip
    where: list[sa.ColumnElement[bool]] = []
    for key, values in terms.items():
        if key == "state":
            where.append(sa.or_(*(FIRING_STATE[v]() for v in values)))
        elif key == "playbook":
            where.append(firings.c.playbook_id.in_(values))
        else:
            where.append(firings.c[key].in_(values))
    found = await FIRINGS.list(conn, *where, after=after, limit=limit, descending=True)
    return await with_actions(conn, found)


# The worker's records


async def claim_due(conn: AsyncConnection, moment: datetime, lease: float, limit: int) -> list[FiringAction]:
    """Pending actions whose time has come and whose earlier actions are over (done or failed), not leased by
    another worker; leased to this one for `lease` seconds."""
    a, earlier = firing_actions.c, firing_actions.alias("earlier")
    moment = utc(moment)
    blocked = sa.exists().where(
        earlier.c.firing_id == a.firing_id, earlier.c.position < a.position, earlier.c.state == domain.PENDING
    )
    query = (
        ACTIONS.select(
            a.state == domain.PENDING,
            sa.or_(a.next_attempt_at.is_(None), a.next_attempt_at <= moment),
            sa.or_(a.lease_until.is_(None), a.lease_until < moment),
            ~blocked,
        )
        .order_by(a.id)
        .limit(limit)
    )
    claimed = []
    free = sa.or_(a.lease_until.is_(None), a.lease_until < moment)
    for action in await ACTIONS.all(conn, query):
        result = await conn.execute(
            firing_actions.update()
            .where(a.id == action.id, a.state == domain.PENDING, free)
            .values(lease_until=moment + timedelta(seconds=lease))
        )
        if result.rowcount == 1:
            claimed.append(action)
    return claimed


async def update_action(conn: AsyncConnection, number: int, **values: Any) -> None:
    for name in ("results", "plan"):
        if name in values:
            values[name] = json.dumps(list(values[name]) if name == "results" else values[name], ensure_ascii=False)
    await conn.execute(firing_actions.update().where(firing_actions.c.id == number).values(**values, updated_at=now()))


async def action(conn: AsyncConnection, number: int) -> FiringAction | None:
    return await ACTIONS.get(conn, number)


async def firing_row(conn: AsyncConnection, number: int) -> Firing | None:
    return await FIRINGS.get(conn, number)


async def recent_firings(db: Database, limit: int) -> list[Firing]:
    async with db.read() as conn:
        return await list_firings(conn, {}, None, limit)


async def metric_counts(db: Database) -> dict[str, dict[tuple[str, ...], float]]:
    """Firing actions by kind and state, for /metrics."""
    async with db.read() as conn:
        rows = (
            await conn.execute(
                sa.select(firing_actions.c.kind, firing_actions.c.state, sa.func.count()).group_by(
                    firing_actions.c.kind, firing_actions.c.state
                )
            )
        ).all()
    counts = {(k, s): 0.0 for k in domain.ACTIONS for s in (domain.PENDING, domain.DONE, domain.FAILED)}
    return {"hub_playbook_actions": counts | {(k, s): float(n) for k, s, n in rows}}


METRIC_GAUGES = {"hub_playbook_actions": ("Actions of playbook firings, by kind and state", ["kind", "state"])}
