"""Retention: the one sweep loop of every runtime deletes the rows of the tables that grow with traffic once
they are older than their setting, and keeps newer ones, unpublished outbox rows and unresolved dead letters
whatever their age. Real databases; old timestamps are written directly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from hubcore import migrate, retention
from hubcore.db import dead_letters, idempotency_keys, now, outbox, processed_events
from hubcore.server import ConfigurationError
from hublocal.natsserver import NatsServer
from services.investors import store as investors_store
from services.notifications import domain
from services.notifications import store as notifications_store
from tests.conftest import eventually, investors_settings, make_settings, start_investors


def ago(days: float) -> Any:
    return now() - timedelta(days=days)


async def keys_of(db: Any, table: sa.Table, column: str) -> set[Any]:
    async with db.read() as conn:
        return {r[0] for r in await conn.execute(sa.select(table.c[column]))}


async def test_the_sweep_deletes_what_is_older_than_its_retention_and_keeps_the_rest(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> None:
    url = await new_database("retention")
    running = await start_investors(investors_settings(url, nats_server.url, tmp_path, retention_sweep_seconds=0.2))
    try:
        async with running.runtime.db.begin() as conn:
            for event_id, published in (("old-published", ago(31)), ("new-published", ago(29)), ("old-waiting", None)):
                await conn.execute(
                    outbox.insert().values(
                        event_id=event_id, subject="hub.test", data=b"", created_at=ago(400), published_at=published
                    )
                )
            for event_id, days in (("old", 121), ("new", 100)):  # both beyond the stream's 90 days
                await conn.execute(
                    processed_events.insert().values(consumer="c", event_id=event_id, processed_at=ago(days))
                )
            for request_id, days in (("old", 31), ("new", 29)):
                await conn.execute(
                    idempotency_keys.insert().values(
                        method="M", request_id=request_id, request_hash="h", response=b"", created_at=ago(days)
                    )
                )
            for event_id, resolved in (("old-replayed", ago(31)), ("new-replayed", ago(29)), ("old-open", None)):
                await conn.execute(
                    dead_letters.insert().values(
                        consumer="c",
                        event_id=event_id,
                        event_type="t",
                        data=b"",
                        error="e",
                        deliveries=5,
                        created_at=ago(400),
                        resolved_at=resolved,
                    )
                )
            for request_id, days in (("old", 366), ("new", 364)):
                await conn.execute(
                    investors_store.partner_calls.insert().values(
                        method="/m", code="OK", called_at=ago(days), request_id=request_id
                    )
                )
            for peer, days in (("10.0.0.1", 31), ("10.0.0.2", 29)):
                minute = ago(days).replace(second=0, microsecond=0)
                await conn.execute(
                    investors_store.partner_refusals.insert().values(peer=peer, minute=minute, unauthenticated=1)
                )
            for key_id, age in ((1, 2.1), (2, 1.9)):  # the keys' calls per window: 2 days
                window = ago(age).replace(second=0, microsecond=0)
                await conn.execute(
                    investors_store.partner_key_usage.insert().values(api_key_id=key_id, window_start=window, calls=9)
                )
        db = running.runtime.db

        expected = {
            (outbox, "event_id"): {"new-published", "old-waiting"},
            (processed_events, "event_id"): {"new"},
            (idempotency_keys, "request_id"): {"new"},
            (dead_letters, "event_id"): {"new-replayed", "old-open"},
            (investors_store.partner_calls, "request_id"): {"new"},
            (investors_store.partner_refusals, "peer"): {"10.0.0.2"},
            (investors_store.partner_key_usage, "api_key_id"): {2},
        }

        async def kept() -> dict[str, set[Any]]:
            return {table.name: await keys_of(db, table, column) for table, column in expected}

        async def swept() -> bool:
            return await kept() == {table.name: keys for (table, _), keys in expected.items()}

        await eventually(swept, timeout=10)  # the loop runs again and again: every 0.2 s here
    finally:
        await running.close()


async def test_finished_deliveries_and_their_follow_ups_are_swept_in_batches(database_url: str, tmp_path: Path) -> None:
    from services.notifications.__main__ import build
    from services.notifications.config import Config

    runtime = build(make_settings("notifications", database_url, "nats://127.0.0.1:1", tmp_path), Config())
    await migrate.upgrade(runtime.migrations, database_url)
    db = runtime.db
    try:
        async with db.begin() as conn:
            recipient = (
                await conn.execute(
                    notifications_store.recipients.insert()
                    .values(
                        source="people/1", kind=domain.PERSON, active=True, created_at=ago(400), updated_at=ago(400)
                    )
                    .returning(notifications_store.recipients.c.id)
                )
            ).scalar_one()
            cases = [  # (follow-up state, delivery state, days since the last change)
                *[(domain.DISPATCHED, domain.SENT, 366)] * 5,
                (domain.DISPATCHED, domain.FAILED, 366),
                (domain.DISPATCHED, domain.SENT, 364),  # newer than the retention
                (domain.PENDING, domain.PENDING, 400),  # still to be sent, however old
            ]
            for n, (state, delivery_state, days) in enumerate(cases):
                follow_up = (
                    await conn.execute(
                        notifications_store.follow_ups.insert()
                        .values(
                            key=f"rule:e{n}:o",
                            rule="rule",
                            entity=f"e{n}",
                            occasion="o",
                            audience="[]",
                            context="{}",
                            state=state,
                            due_at=ago(days),
                            created_at=ago(days),
                            updated_at=ago(days),
                        )
                        .returning(notifications_store.follow_ups.c.id)
                    )
                ).scalar_one()
                await conn.execute(
                    notifications_store.deliveries.insert().values(
                        follow_up_id=follow_up,
                        recipient_id=recipient,
                        rule="rule",
                        entity=f"e{n}",
                        channel=domain.EMAIL,
                        state=delivery_state,
                        created_at=ago(days),
                        updated_at=ago(days),
                    )
                )
        deleted = await retention.sweep(db, runtime.retentions, batch=2)
        assert deleted == {"deliveries": 6, "follow_ups": 6}
        assert await keys_of(db, notifications_store.follow_ups, "entity") == {"e6", "e7"}
        assert await keys_of(db, notifications_store.deliveries, "entity") == {"e6", "e7"}
    finally:
        await db.close()


async def test_processed_events_kept_shorter_than_the_stream_is_refused_at_start(tmp_path: Path) -> None:
    from services.companies.__main__ import build

    url = f"sqlite+aiosqlite:///{tmp_path / 'short.db'}"
    settings = make_settings("companies", url, "nats://127.0.0.1:1", tmp_path, processed_events_retention_days=30)
    runtime = build(settings)
    with pytest.raises(ConfigurationError, match="HUB_PROCESSED_EVENTS_RETENTION_DAYS"):
        await runtime.start()
    await runtime.db.close()


async def test_superseded_facts_finished_firings_and_past_waitlist_entries_are_swept(
    new_database: Callable[[str], Awaitable[str]], tmp_path: Path
) -> None:
    """Playbooks keep the newest fact of each kind and subject whatever its age (a trigger reads it), and a
    firing while any of its actions is still to run; consulting keeps a waitlist entry whose slot is recent."""
    from services.consulting.__main__ import build as build_consulting
    from services.consulting.store.tables import gpu_nodes, gpu_waitlist
    from services.playbooks import store as playbooks_store
    from services.playbooks.__main__ import build as build_playbooks
    from services.playbooks.config import Config as PlaybooksConfig

    database_url = await new_database("playbooks_retention")
    playbooks = build_playbooks(
        make_settings("playbooks", database_url, "nats://127.0.0.1:1", tmp_path), PlaybooksConfig()
    )
    await migrate.upgrade(playbooks.migrations, database_url)
    db = playbooks.db
    try:
        async with db.begin() as conn:
            rule = (
                await conn.execute(
                    playbooks_store.playbooks.insert()
                    .values(
                        display_name="규칙",
                        trigger="{}",
                        actions="[]",
                        enabled=False,
                        revision=1,
                        created_at=ago(500),
                        updated_at=ago(500),
                        version=1,
                    )
                    .returning(playbooks_store.playbooks.c.id)
                )
            ).scalar_one()
            facts = [  # (event, subject, days ago): s1 has a newer fact, s2's only fact is old
                ("e1", "s1", 500), ("e2", "s1", 450), ("e3", "s1", 10), ("e4", "s2", 500), ("e5", "s3", 399),
            ]  # fmt: skip
            for event_id, subject, days in facts:
                await conn.execute(
                    playbooks_store.facts.insert().values(
                        event_id=event_id, kind="SESSION", subject=subject, occurred_at=ago(days), created_at=ago(days)
                    )
                )
            await conn.execute(  # an older fact of s3, so only the age keeps e5
                playbooks_store.facts.insert().values(
                    event_id="e0", kind="SESSION", subject="s3", occurred_at=ago(398.5), created_at=ago(398.5)
                )
            )
            cases = [("old-done", 366, "DONE"), ("old-failed", 366, "FAILED"), ("old-pending", 366, "PENDING"),
                     ("new-done", 364, "DONE")]  # fmt: skip
            for n, (subject, days, state) in enumerate(cases):
                firing = (
                    await conn.execute(
                        playbooks_store.firings.insert()
                        .values(
                            playbook_id=rule,
                            playbook_revision=1,
                            playbook_display_name="규칙",
                            subject=subject,
                            episode=1,
                            fired_at=ago(days),
                            created_at=ago(days),
                        )
                        .returning(playbooks_store.firings.c.id)
                    )
                ).scalar_one()
                await conn.execute(
                    playbooks_store.firing_actions.insert().values(
                        firing_id=firing,
                        position=0,
                        kind="NOTIFY",
                        request_id=f"r{n}",
                        state=state,
                        created_at=ago(days),
                        updated_at=ago(days),
                    )
                )
        deleted = await retention.sweep(db, playbooks.retentions, batch=2)
        assert deleted == {"facts": 2, "firing_actions": 2, "firings": 2}
        assert await keys_of(db, playbooks_store.facts, "event_id") == {"e0", "e3", "e4", "e5"}
        assert await keys_of(db, playbooks_store.firings, "subject") == {"old-pending", "new-done"}
    finally:
        await db.close()

    database_url = await new_database("consulting_retention")
    consulting = build_consulting(make_settings("consulting", database_url, "nats://127.0.0.1:1", tmp_path))
    await migrate.upgrade(consulting.migrations, database_url)
    db = consulting.db
    try:
        async with db.begin() as conn:
            node = (
                await conn.execute(
                    gpu_nodes.insert()
                    .values(display_name="A100-1", kind="A100", gpus=8, created_at=ago(100))
                    .returning(gpu_nodes.c.id)
                )
            ).scalar_one()
            for company, ended, state in ((1, 31, "OFFERED"), (2, 31, "WAITING"), (3, 29, "WAITING")):
                await conn.execute(
                    gpu_waitlist.insert().values(
                        node_id=node,
                        company_id=company,
                        start_at=ago(ended + 0.5),
                        end_at=ago(ended),
                        state=state,
                        created_at=ago(ended + 1),
                    )
                )
        assert await retention.sweep(db, [r for r in consulting.retentions if r.table is gpu_waitlist]) == {
            "gpu_waitlist": 2
        }
        assert await keys_of(db, gpu_waitlist, "company_id") == {3}
    finally:
        await db.close()
