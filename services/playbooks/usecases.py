"""What the playbooks service does, as plain functions over a unit of work (writes) or a database (reads):
the rules' lifecycle, the facts the handlers record and the evaluation that fires a rule once per episode, the
dry run, and the firings' views. The servicer and the handlers only parse and convert around them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from hub.events.v1 import playbooks_pb2 as ev

from hubcore import errors
from hubcore.db import Database, UnitOfWork
from hubcore.requests import check_etag
from hubcore.resources import found, revise
from hubcore.server import caller
from services.playbooks import domain, store
from services.playbooks.domain import Fact, Firing, FiringAction, Playbook

SUBJECT = "hub.playbooks"
EXAMPLES = Path(__file__).parent / "examples"
# The order, so the runway rule is playbooks/1 on a new hub; any other file follows by name.
FIRST = ("runway-under-6", "no-session-60-days", "introduction-unanswered-14-days", "session-rated-low",
         "kpi-request-overdue-7-days")  # fmt: skip


def _actor() -> str:
    try:
        return caller().actor
    except LookupError:
        return "service:playbooks"


async def _changed(uow: UnitOfWork, item: Playbook, what: str) -> None:
    event = ev.PlaybookChanged(playbook=item.name, display_name=item.display_name, revision=item.revision,
                               enabled=item.enabled, actor=_actor())  # fmt: skip
    await uow.emit(f"{SUBJECT}.playbook.{what}", item.name, item.version, event)


# Playbooks


async def create_playbook(uow: UnitOfWork, item: Playbook) -> Playbook:
    """A new rule, switched off."""
    domain.check_playbook(item)
    created = await store.insert_playbook(uow.conn, dataclasses.replace(item, enabled=False, revision=1, version=1))
    await _changed(uow, created, "created")
    return created


async def get_playbook(db: Database, number: int, name: str) -> Playbook:
    async with db.read() as conn:
        return found(await store.playbook(conn, number), "Playbook", name)


async def list_playbooks(db: Database, after: int | None, limit: int) -> list[Playbook]:
    async with db.read() as conn:
        return await store.list_playbooks(conn, after, limit)


async def update_playbook(uow: UnitOfWork, number: int, name: str, etag: str, changes: dict[str, object]) -> Playbook:
    """The masked fields, checked as a whole rule; the revision goes up with any change."""
    current = found(await store.playbook(uow.conn, number), "Playbook", name)
    check_etag(etag, current.etag)
    updated, changed = revise(current, changes, {}, domain.check_playbook)
    if not changed:
        return current
    updated = dataclasses.replace(updated, revision=current.revision + 1)
    saved = await store.save_playbook(uow.conn, updated, current.version)
    await _changed(uow, saved, "updated")
    return saved


async def set_enabled(uow: UnitOfWork, number: int, name: str, etag: str, enabled: bool, at: datetime) -> Playbook:
    """Switches a rule on (every subject whose condition holds now fires at once) or off."""
    current = found(await store.playbook(uow.conn, number), "Playbook", name)
    check_etag(etag, current.etag)
    if current.enabled == enabled:
        return current
    saved = await store.save_playbook(
        uow.conn, dataclasses.replace(current, enabled=enabled, version=current.version + 1), current.version
    )
    await _changed(uow, saved, "enabled" if enabled else "disabled")
    if enabled:
        for key in await store.keys_of(uow.conn, saved.trigger):
            await evaluate(uow, saved, key, at)
    return saved


async def seed_examples(uow: UnitOfWork) -> list[Playbook]:
    """The issue's example rules (examples/*.json), each once (by its key), switched off: a program manager
    reads one, fills in the session type and runs it dry before switching it on."""
    present = await store.keyed_playbooks(uow.conn)
    made = []
    ordered = sorted(EXAMPLES.glob("*.json"), key=lambda p: (FIRST.index(p.stem) if p.stem in FIRST else 99, p.stem))
    for path in ordered:
        data = json.loads(path.read_text(encoding="utf-8"))
        if path.stem in present:
            continue
        item = store.from_definition(data)
        domain.check_playbook(item)
        made.append(await store.insert_playbook(uow.conn, item, key=path.stem))
        await _changed(uow, made[-1], "created")
    return made


# Facts and firings


async def record_fact(uow: UnitOfWork, fact: Fact, at: datetime) -> None:
    """Keeps what an event said and evaluates, for its subject, every rule switched on that reads it."""
    if not await store.add_fact(uow.conn, fact):
        return
    for item in await store.enabled_playbooks(uow.conn):
        key = domain.key_of(item.trigger, fact)
        if fact.kind in domain.kinds_read(item.trigger) and key:
            await evaluate(uow, item, key, at)


async def tick(uow: UnitOfWork, at: datetime) -> int:
    """The clock's turn: every subject of every rule switched on whose condition may begin to hold as time
    passes. Returns how many firings it made."""
    made = 0
    for item in await store.enabled_playbooks(uow.conn):
        if domain.timed(item.trigger):
            by_key: dict[str, list[Fact]] = {}
            for fact in await store.history(uow.conn, item.trigger, at):  # one read per rule, not one per subject
                by_key.setdefault(domain.key_of(item.trigger, fact), []).append(fact)
            for key, facts in by_key.items():
                if key:
                    made += await evaluate(uow, item, key, at, facts) is not None
    return made


async def evaluate(
    uow: UnitOfWork, item: Playbook, key: str, at: datetime, facts: list[Fact] | None = None
) -> int | None:
    """Whether the rule's condition holds for the subject now (from its facts, read here unless given): a new
    episode fires (once: the firing's unique key is the rule, the subject and the episode), a cleared one is
    closed. Returns the new firing's id."""
    if facts is None:
        facts = await store.facts_of(uow.conn, item.trigger, key)
    holding, matched = domain.holds(item.trigger, facts, at)
    number, was_holding = await store.episode(uow.conn, item.id, key)
    if holding == was_holding:
        return None
    if not holding:
        await store.set_episode(uow.conn, item.id, key, number, False)
        return None
    number += 1
    await store.set_episode(uow.conn, item.id, key, number, True)
    company = next((f.company for f in matched if f.company), "")
    firing = Firing(
        id=0, playbook_id=item.id, playbook_revision=item.revision, playbook_display_name=item.display_name,
        subject=key, company=company, episode=number, facts=tuple(matched), fired_at=at,
        rule=store.definition(item),
    )  # fmt: skip
    firing_id = await store.insert_firing(uow.conn, firing)
    if firing_id is None:
        return None
    await store.insert_actions(
        uow.conn,
        [FiringAction(firing_id, i, a.kind, domain.request_id(firing_id, i)) for i, a in enumerate(item.actions)],
    )
    fired = ev.PlaybookFired(
        firing=f"firings/{firing_id}", playbook=item.name, display_name=item.display_name,
        playbook_revision=item.revision, subject=key, company=company, episode=number,
    )  # fmt: skip
    await uow.emit(f"{SUBJECT}.firing.fired", f"firings/{firing_id}", 1, fired)
    return firing_id


# The dry run and the firings' views


async def dry_run(db: Database, item: Playbook, start: datetime, end: datetime) -> tuple[list[Firing], int]:
    """The firings the rule would have made from start to end, from the facts kept; nothing is written."""
    domain.check_playbook(item)
    async with db.read() as conn:
        history = await store.history(conn, item.trigger, end)
    would = domain.replay(item.trigger, history, start, end)
    firings = [
        Firing(id=0, playbook_id=item.id, playbook_revision=item.revision, playbook_display_name=item.display_name,
               subject=w.subject, company=w.company, episode=w.episode, facts=w.facts, fired_at=w.at)
        for w in would
    ]  # fmt: skip
    return firings, len(history)


async def get_firing(db: Database, number: int, name: str) -> Firing:
    async with db.read() as conn:
        return found(await store.firing(conn, number), "Firing", name)


async def list_firings(db: Database, terms: Mapping[str, list[Any]], after: int | None, limit: int) -> list[Firing]:
    async with db.read() as conn:
        return await store.list_firings(conn, terms, after, limit)


def stored_or_given(name: str, given: object | None) -> None:
    errors.refuse_if(
        (bool(name) == (given is not None), "name", "exactly one of name and playbook must be given"),
    )
