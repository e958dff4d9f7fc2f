"""The runway playbook end to end on real services (companies, consulting, investors, notifications, playbooks over
one nats-server): a KPI report with a runway under 6 months books exactly one consultation, proposes the top 3
introductions and tells the program managers, once per episode: not again when the event is delivered twice, nor
for a correction still under 6 months, nor when the worker is killed mid-action and restarted; again only after
the runway recovered and fell again. A dry run over the seeded history lists the firings it would have made and
makes none."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from google.type import money_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as ppb
from hub.consulting.v1 import consulting_pb2 as spb
from hub.investors.v1 import investors_pb2 as ipb
from hub.notifications.v1 import notifications_pb2 as npb
from hub.playbooks.v1 import playbooks_pb2 as pb

from hubcore.convert import seoul_today
from hubcore.db import Database, now, outbox, processed_events
from hubcore.events import STREAM
from hublocal.natsserver import NatsServer
from services.playbooks import domain
from services.playbooks.tables import firing_actions
from tests.conftest import (
    ADMIN,
    Running,
    RunningConsulting,
    RunningInvestors,
    RunningNotifications,
    RunningPlaybooks,
    eventually,
    make_settings,
    playbooks_config,
    row_counts,
    start_playbooks,
)
from tests.integration.consulting_world import make_mentor, make_type, ts
from tests.integration.test_investors_api import create_firm, thesis
from tests.integration.test_notifications import move
from tests.integration.test_playbooks_api import seeded


def won(amount: int) -> money_pb2.Money:
    return money_pb2.Money(currency_code="KRW", units=amount)


async def hub_company(
    companies: Running, consulting: RunningConsulting, investors: RunningInvestors, korean_name: str = "메디비전"
) -> str:
    """A resident seed-stage medical company that consulting's and investors' directories know."""
    made = await companies.companies.CreateCompany(
        cpb.CreateCompanyRequest(company=cpb.Company(korean_name=korean_name, english_name="MediVision",
                                                     sector=cpb.SECTOR_MEDICAL, stage=cpb.STAGE_SEED)),
        metadata=ADMIN,
    )  # fmt: skip
    await move(companies, made, "SELECTED", "RESIDENT")
    number = int(made.name.split("/")[1])

    async def known() -> bool:
        from services.consulting import store as consulting_store
        from services.investors import store as investors_store

        async with consulting.runtime.db.read() as conn:
            in_consulting = await consulting_store.get_company(conn, made.name)
        async with investors.runtime.db.read() as conn:
            in_investors = await investors_store.get_directory_company(conn, number)
        return bool(in_consulting) and in_investors is not None

    await eventually(known, timeout=20)
    return made.name


async def runway_rule(playbooks: RunningPlaybooks, consulting: RunningConsulting) -> pb.Playbook:
    """The seeded runway example, given a real session type and a mentor who knows growth, then switched on."""
    await make_mentor(consulting, "박성장", expertise=("growth",))
    kind = await make_type(consulting)
    example = next(p for p in await seeded(playbooks) if p.trigger.kind == pb.TRIGGER_KIND_KPI_THRESHOLD)
    actions = list(example.actions)
    actions[0].session_type = kind.name
    from google.protobuf.field_mask_pb2 import FieldMask

    updated = await playbooks.api.UpdatePlaybook(
        pb.UpdatePlaybookRequest(playbook=pb.Playbook(name=example.name, actions=actions),
                                 update_mask=FieldMask(paths=["actions"])),
        metadata=ADMIN,
    )  # fmt: skip
    return await playbooks.api.EnablePlaybook(pb.EnablePlaybookRequest(name=updated.name), metadata=ADMIN)


async def firms(investors: RunningInvestors, n: int = 4) -> None:
    for i in range(n):
        await create_firm(investors, f"성장벤처스{i}", theses=[thesis()])


async def report(companies: Running, company: str, cash: int, burn: int, period: str = "") -> None:
    kpi = ppb.KpiReport(company=company, period=period or seoul_today().strftime("%Y-%m"), headcount=5,
                        cash_on_hand=won(cash), monthly_burn=won(burn))  # fmt: skip
    await ppb_stub(companies).ReportKpi(ppb.ReportKpiRequest(report=kpi, reason="창업자 대신 입력"), metadata=ADMIN)


def ppb_stub(companies: Running) -> Any:
    from hub.companies.v1 import program_pb2_grpc

    return program_pb2_grpc.ProgramServiceStub(companies.channel)


async def firings(playbooks: RunningPlaybooks, rule: pb.Playbook) -> list[pb.Firing]:
    found = await playbooks.api.ListFirings(pb.ListFiringsRequest(filter=f"playbook={rule.name}"), metadata=ADMIN)
    return sorted(found.firings, key=lambda f: f.episode)


async def sessions(consulting: RunningConsulting, company: str) -> list[spb.Session]:
    found = await consulting.consulting.ListSessions(spb.ListSessionsRequest(filter=f"company={company}"),
                                                     metadata=ADMIN)  # fmt: skip
    return list(found.sessions)


async def introductions(investors: RunningInvestors, company: str) -> list[ipb.Introduction]:
    found = await investors.investors.ListIntroductions(ipb.ListIntroductionsRequest(filter=f"company={company}"),
                                                        metadata=ADMIN)  # fmt: skip
    return list(found.introductions)


async def settled(playbooks: RunningPlaybooks) -> bool:
    """The playbooks consumer has been given everything and acked it, and no action is pending."""
    assert playbooks.runtime.js is not None
    info = await playbooks.runtime.js.consumer_info(STREAM, "playbooks")
    async with playbooks.runtime.db.read() as conn:
        pending = (await conn.execute(sa.select(sa.func.count()).where(firing_actions.c.state == "PENDING"))).scalar()
    return not info.num_pending and not info.num_ack_pending and not pending


async def done(playbooks: RunningPlaybooks, rule: pb.Playbook, count: int) -> list[pb.Firing]:
    async def all_done() -> list[pb.Firing]:
        found = await firings(playbooks, rule)
        return found if len(found) == count and all(f.state == pb.FIRING_STATE_DONE for f in found) else []

    return list(await eventually(all_done, timeout=30))


async def test_the_runway_rule_acts_once_per_episode_whatever_is_delivered_twice(
    companies: Running, consulting: RunningConsulting, investors: RunningInvestors,
    notifications: RunningNotifications, playbooks: RunningPlaybooks, nats_server: NatsServer,
) -> None:  # fmt: skip
    company = await hub_company(companies, consulting, investors)
    await firms(investors)
    rule = await runway_rule(playbooks, consulting)
    await report(companies, company, cash=40_000_000, burn=10_000_000)  # runway 4.0

    [first] = await done(playbooks, rule, 1)
    assert (first.subject, first.company, first.episode, first.playbook_revision) == (
        company,
        company,
        1,
        rule.revision,
    )
    assert first.facts[0].values["runway_months"] == "4.0"
    [booked] = await sessions(consulting, company)
    assert first.actions[0].results == [booked.name] and booked.session_type == rule.actions[0].session_type
    proposed = await introductions(investors, company)
    assert len(proposed) == 3 and sorted(first.actions[1].results) == sorted(i.name for i in proposed)
    assert all(i.state == ipb.INTRODUCTION_STATE_REQUESTED for i in proposed)

    async def noticed() -> list[npb.FollowUp]:
        found = await notifications.api.ListFollowUps(npb.ListFollowUpsRequest(filter="rule=playbook.notice"),
                                                      metadata=ADMIN)  # fmt: skip
        return list(found.follow_ups)

    [notice] = await eventually(noticed, timeout=20)
    assert notice.entity == first.name and notice.occasion == "action-2"

    # The KPI event delivered again: once as JetStream redelivers it (the inbox drops it), once with the inbox
    # record gone (the fact's key and the episode drop it).
    async with companies.runtime.db.read() as conn:
        row = (await conn.execute(sa.select(outbox).where(outbox.c.subject == "hub.companies.kpi.reported"))).one()
    assert playbooks.runtime.js is not None
    await playbooks.runtime.js.publish(row.subject, row.data, headers={"Nats-Msg-Id": f"again-{row.event_id}"})
    async with playbooks.runtime.db.begin() as conn:
        await conn.execute(processed_events.delete().where(processed_events.c.event_id == row.event_id))
    await playbooks.runtime.js.publish(row.subject, row.data, headers={"Nats-Msg-Id": f"thrice-{row.event_id}"})
    # A correction still under 6 months is the same episode.
    await report(companies, company, cash=30_000_000, burn=10_000_000)  # runway 3.0
    await eventually(lambda: settled(playbooks), timeout=20)
    assert len(await firings(playbooks, rule)) == 1
    assert len(await sessions(consulting, company)) == 1 and len(await introductions(investors, company)) == 3

    # The runway recovers (the episode ends), then falls again: a second episode, a second consultation; the
    # introductions still open are not proposed twice.
    await report(companies, company, cash=90_000_000, burn=10_000_000)  # 9.0
    await eventually(lambda: settled(playbooks), timeout=20)
    assert len(await firings(playbooks, rule)) == 1
    await report(companies, company, cash=20_000_000, burn=10_000_000)  # 2.0
    [_, second] = await done(playbooks, rule, 2)
    assert second.episode == 2 and second.facts[0].values["runway_months"] == "2.0"
    assert len(await sessions(consulting, company)) == 2 and len(await introductions(investors, company)) == 3
    assert "already" in second.actions[1].outcome and second.actions[1].results == []
    assert len(await eventually(lambda: _count(noticed, 2), timeout=20)) == 2


async def _count(check: Any, n: int) -> list[Any]:
    found = await check()
    return found if len(found) == n else []


async def test_a_worker_killed_mid_action_resumes_and_every_effect_stays_single(
    companies: Running, consulting: RunningConsulting, investors: RunningInvestors, playbooks_database: str,
    nats_server: NatsServer, tmp_path: Path,
) -> None:  # fmt: skip
    settings = make_settings("playbooks", playbooks_database, nats_server.url, tmp_path)
    config = playbooks_config(consulting.address, investors.address, lease_seconds=1.0)
    running = await start_playbooks(settings, config)
    company = await hub_company(companies, consulting, investors)
    await firms(investors)
    rule = await runway_rule(running, consulting)

    stuck = kill_at(running, "ScheduleSession", 1)
    await report(companies, company, cash=40_000_000, burn=10_000_000)
    await eventually(lambda: _is_set(stuck), timeout=30)
    await running.close()  # killed: ScheduleSession was carried out, its outcome not yet written

    database = Database(playbooks_database, source="test")
    async with database.read() as conn:
        actions = (await conn.execute(sa.select(firing_actions).order_by(firing_actions.c.position))).all()
    await database.close()
    assert [a.state for a in actions] == [domain.PENDING] * 3 and '"mentor"' in actions[0].plan
    assert len(await sessions(consulting, company)) == 1

    # Restarted: the booking is asked again with the same request (the same session comes back); then killed
    # again after the first introduction of three.
    running = await start_playbooks(settings, config)
    stuck = kill_at(running, "CreateIntroduction", 1)
    await eventually(lambda: _is_set(stuck), timeout=30)
    await running.close()
    assert len(await introductions(investors, company)) == 1

    running = await start_playbooks(settings, config)
    try:
        [fired] = await done(running, rule, 1)
        [booked] = await sessions(consulting, company)
        assert fired.actions[0].results == [booked.name]
        proposed = await introductions(investors, company)
        assert len(proposed) == 3 and sorted(fired.actions[1].results) == sorted(i.name for i in proposed)
        assert fired.actions[0].attempts == 1  # the killed attempts wrote nothing: they are not counted
    finally:
        await running.close()


def kill_at(running: RunningPlaybooks, call: str, nth: int) -> asyncio.Event:
    """The worker hangs right after the nth such call returned, before it writes what came of it; the test then
    stops the service, which cancels the worker there. Returns the event set once it hangs."""
    seen: list[str] = []
    stuck = asyncio.Event()

    async def hang(what: str) -> None:
        seen.append(what)
        if what == call and seen.count(call) == nth:
            stuck.set()
            await asyncio.Event().wait()

    running.worker.after_call = hang
    return stuck


async def test_a_slot_taken_before_it_was_booked_is_searched_again_and_booked_once(
    companies: Running, consulting: RunningConsulting, investors: RunningInvestors, playbooks_database: str,
    nats_server: NatsServer, tmp_path: Path,
) -> None:  # fmt: skip
    settings = make_settings("playbooks", playbooks_database, nats_server.url, tmp_path)
    config = playbooks_config(consulting.address, investors.address, lease_seconds=1.0)
    running = await start_playbooks(settings, config)
    company = await hub_company(companies, consulting, investors)
    other = await hub_company(companies, consulting, investors, "누리로보틱스")
    await firms(investors)
    rule = await runway_rule(running, consulting)
    stuck = kill_at(running, "FindAvailableSlots", 1)
    await report(companies, company, cash=40_000_000, burn=10_000_000)
    await eventually(lambda: _is_set(stuck), timeout=30)
    await running.close()  # the slot is chosen and written, not yet booked
    database = Database(playbooks_database, source="test")
    async with database.read() as conn:
        booking = sa.select(firing_actions.c.plan).where(firing_actions.c.position == 0)
        plan = json.loads((await conn.execute(booking)).scalar_one())
    await database.close()
    # Someone else books that very slot meanwhile.
    taken = spb.Session(company=other, mentor=plan["mentor"], session_type=rule.actions[0].session_type,
                        interval=interval_of(plan["start"], plan["end"]))  # fmt: skip
    await consulting.consulting.ScheduleSession(spb.ScheduleSessionRequest(session=taken, request_id="theirs"),
                                                metadata=ADMIN)  # fmt: skip
    running = await start_playbooks(settings, config)
    try:
        [fired] = await done(running, rule, 1)
        [booked] = await sessions(consulting, company)
        assert fired.actions[0].results == [booked.name]
        assert booked.interval.start_time.ToJsonString() != plan["start"]  # another slot, found again
        assert fired.actions[0].attempts == 2 and len(await sessions(consulting, other)) == 1
    finally:
        await running.close()


def interval_of(start: str, end: str) -> Any:
    from google.type import interval_pb2

    made = interval_pb2.Interval()
    made.start_time.FromJsonString(start)
    made.end_time.FromJsonString(end)
    return made


async def _is_set(event: Any) -> bool:
    return bool(event.is_set())


async def test_a_dry_run_over_the_seeded_history_lists_the_firings_it_would_have_made_and_makes_none(
    companies: Running, consulting: RunningConsulting, investors: RunningInvestors, playbooks: RunningPlaybooks,
) -> None:  # fmt: skip
    company = await hub_company(companies, consulting, investors)
    other = (await companies.companies.CreateCompany(
        cpb.CreateCompanyRequest(company=cpb.Company(korean_name="넉넉", sector=cpb.SECTOR_MEDICAL)), metadata=ADMIN
    )).name  # fmt: skip
    start = now() - timedelta(minutes=1)
    for cash in (80, 40, 90, 30):  # runway 8, 4, 9, 3 (a report, then its corrections)
        await report(companies, company, cash=cash * 1_000_000, burn=10_000_000)
    await report(companies, other, cash=120_000_000, burn=10_000_000)

    async def heard() -> bool:
        async with playbooks.runtime.db.read() as conn:
            return (await conn.execute(sa.text("select count(*) from facts where kind='KPI_REPORT'"))).scalar() == 5

    await eventually(heard, timeout=20)
    await eventually(lambda: settled(playbooks), timeout=20)
    example = next(p for p in await seeded(playbooks) if p.trigger.kind == pb.TRIGGER_KIND_KPI_THRESHOLD)
    assert not example.enabled
    before = await row_counts(playbooks.runtime.db)
    window: dict[str, Any] = {"start_time": ts(start), "end_time": ts(now() + timedelta(minutes=1))}
    stored = await playbooks.api.DryRunPlaybook(pb.DryRunPlaybookRequest(name=example.name, **window), metadata=ADMIN)
    assert stored.facts_read == 5
    assert [(f.subject, f.episode) for f in stored.firings] == [(company, 1), (company, 2)]
    assert [f.facts[0].values["runway_months"] for f in stored.firings] == ["4.0", "3.0"]
    assert all(not f.name and not f.actions for f in stored.firings)
    # a rule given, not stored: under 10 months holds from the first report on, for one episode
    given = pb.Playbook(display_name="런웨이 10개월 미만", trigger=pb.Trigger(
        kind=pb.TRIGGER_KIND_KPI_THRESHOLD, metric="runway_months", comparison=pb.COMPARISON_BELOW, threshold=10),
        actions=[pb.Action(kind=pb.ACTION_KIND_NOTIFY, audience=pb.AUDIENCE_PROGRAM_MANAGERS)])  # fmt: skip
    dry = await playbooks.api.DryRunPlaybook(pb.DryRunPlaybookRequest(playbook=given, **window), metadata=ADMIN)
    assert [(f.subject, f.episode, f.facts[0].values["runway_months"]) for f in dry.firings] == [(company, 1, "8.0")]
    # nothing was made: no firing, no action, no session, no introduction
    assert await row_counts(playbooks.runtime.db) == before and before["firings"] == 0
    assert await sessions(consulting, company) == [] and await introductions(investors, company) == []
