"""The dashboard's session figures are kept as counts in the transaction of every session write: after any mix
of bookings, moves, cancellations, no-shows, completions and feedback they equal the sessions counted one by one,
and revision 0004 fills them from the sessions a database already holds."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from hub.consulting.v1 import consulting_pb2 as pb

from hubcore import migrate
from hubcore.db import now
from services.consulting import domain, store
from services.consulting.__main__ import MIGRATIONS
from tests.conftest import ADMIN, RunningConsulting
from tests.integration.consulting_world import (
    earlier_today,
    future_monday,
    interval,
    know_company,
    make_mentor,
    make_type,
    schedule_request,
)

WINDOW = domain.FEEDBACK_WINDOW


async def counted_one_by_one(c: RunningConsulting) -> dict[str, Any]:
    """The figures as the service counted them before it kept counts: over every session."""
    s, f = store.sessions.c, store.session_feedback.c
    cutoff = now() - WINDOW
    async with c.runtime.db.read() as conn:
        by_type = await conn.execute(
            sa.select(s.session_type_id, s.state, sa.func.count()).group_by(s.session_type_id, s.state)
        )
        served = await conn.execute(sa.select(sa.func.count(sa.distinct(s.company_id))).where(s.state == "COMPLETED"))
        due = sa.and_(s.state == "COMPLETED", s.completed_at < cutoff)
        due_count = await conn.execute(sa.select(sa.func.count()).where(due))
        on_time = await conn.execute(
            sa.select(sa.func.count())
            .select_from(store.sessions.join(store.session_feedback, f.session_id == s.id))
            .where(due, f.on_time.is_(True))
        )
        return {
            "by_type": {(f"sessionTypes/{t}", state): n for t, state, n in by_type},
            "served": served.scalar_one(),
            "due": due_count.scalar_one(),
            "on_time": on_time.scalar_one(),
        }


async def as_kept(c: RunningConsulting) -> dict[str, Any]:
    stats = await c.consulting.GetConsultingStats(pb.GetConsultingStatsRequest(), metadata=ADMIN)
    states = {"scheduled": "SCHEDULED", "completed": "COMPLETED", "cancelled": "CANCELLED", "no_show": "NO_SHOW"}
    by_type = {
        (t.session_type, state): getattr(t, field) for t in stats.sessions_by_type for field, state in states.items()
    }
    return {
        "by_type": {key: n for key, n in by_type.items() if n},
        "served": stats.companies_served,
        "due": stats.feedback_due,
        "on_time": stats.feedback_on_time,
    }


async def test_kept_counts_equal_the_sessions_counted_and_the_migration_fills_them(
    consulting: RunningConsulting,
) -> None:
    c = consulting
    mentors = [await make_mentor(c, "김도현"), await make_mentor(c, "이서연")]
    kinds = [await make_type(c), await make_type(c, length=30)]
    companies = [await know_company(c, n, f"기업{n}") for n in range(1, 5)]
    booked = []
    for i in range(12):
        in_past = i % 3 != 0
        start = earlier_today(hours=2 + i) if in_past else future_monday() + timedelta(hours=i)
        request = schedule_request(companies[i % 4], mentors[i % 2], kinds[i % 2], start)
        booked.append(await c.consulting.ScheduleSession(request, metadata=ADMIN))
    future = [s for i, s in enumerate(booked) if i % 3 == 0]
    past = [s for i, s in enumerate(booked) if i % 3 != 0]
    moved = pb.RescheduleSessionRequest(name=future[0].name, interval=interval(future_monday(weeks=3)), reason="출장")
    await c.consulting.RescheduleSession(moved, metadata=ADMIN)
    await c.consulting.CancelSession(pb.CancelSessionRequest(name=future[1].name, reason="회사 사정"), metadata=ADMIN)
    await c.consulting.MarkSessionNoShow(pb.MarkSessionNoShowRequest(name=past[0].name), metadata=ADMIN)
    completed = past[1:6]
    for session in completed:
        await c.consulting.CompleteSession(pb.CompleteSessionRequest(name=session.name), metadata=ADMIN)
    # Three completions' feedback windows pass; two of them were rated on time, another only afterwards.
    for session in completed[:2] + completed[3:4]:
        current = await c.consulting.GetSession(pb.GetSessionRequest(name=session.name), metadata=ADMIN)
        rated = pb.RecordSessionFeedbackRequest(
            name=session.name, rating=3, fit=pb.SESSION_FIT_GOOD_FIT, reason="전화로 받은 의견", etag=current.etag
        )
        await c.consulting.RecordSessionFeedback(rated, metadata=ADMIN)
    passed = [int(s.name.removeprefix("sessions/")) for s in completed[:3]]
    async with c.runtime.db.engine.begin() as conn:
        table = store.sessions
        await conn.execute(table.update().where(table.c.id.in_(passed)).values(completed_at=now() - 2 * WINDOW))
    late = await c.consulting.GetSession(pb.GetSessionRequest(name=completed[2].name), metadata=ADMIN)
    await c.consulting.RecordSessionFeedback(
        pb.RecordSessionFeedbackRequest(name=late.name, rating=2, fit=pb.SESSION_FIT_STILL_DECIDING,
                                        reason="늦게 받은 의견", etag=late.etag),
        metadata=ADMIN,
    )  # fmt: skip

    expected = await counted_one_by_one(c)
    # Every state and both types are in the mix, so a count kept in the wrong place would show.
    assert {state for _, state in expected["by_type"]} == {"SCHEDULED", "COMPLETED", "CANCELLED", "NO_SHOW"}
    assert {kind for kind, _ in expected["by_type"]} == {kinds[0].name, kinds[1].name}
    assert expected["served"] == len({s.company for s in completed}) > 1
    assert (expected["due"], expected["on_time"]) == (3, 2)
    assert await as_kept(c) == expected

    # A database from before the counts: revision 0004 fills them from its sessions and feedback.
    url = c.runtime.db.engine.url.render_as_string(hide_password=False)
    async with c.runtime.db.read() as conn:
        kept = {
            tuple(row)
            for row in await conn.execute(sa.select(store.session_counts).where(store.session_counts.c.sessions > 0))
        }
        served = {tuple(row) for row in await conn.execute(sa.select(store.served_companies))}
    await c.runtime.db.engine.dispose()
    await migrate.downgrade(MIGRATIONS, url, "0003")
    await migrate.upgrade(MIGRATIONS, url)
    async with c.runtime.db.read() as conn:
        assert {tuple(row) for row in await conn.execute(sa.select(store.session_counts))} == kept
        assert {tuple(row) for row in await conn.execute(sa.select(store.served_companies))} == served
    assert await as_kept(c) == expected
