"""The companies and investors services together over a real nats-server: a registered company appears in
the investors' directory; a closed round shows in the company's funding; redelivery of any event changes
nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from google.protobuf.field_mask_pb2 import FieldMask
from hub.companies.v1 import companies_pb2 as cpb
from hub.events.v1 import envelope_pb2
from hub.investors.v1 import investors_pb2 as pb
from nats.js import JetStreamContext

from hubcore.db import Database, outbox, processed_events, uuid7
from hubcore.events import STREAM
from hublocal.natsserver import NatsServer
from services.companies import tables as companies_store
from services.investors import store
from services.investors.handlers import DIRECTORY
from tests.conftest import ADMIN, Running, RunningInvestors, eventually
from tests.integration.test_investors_api import create_firm, won

CONSUMERS = ["investors-directory", "companies-funding", "companies-stats"]


async def register(companies: Running, investors: RunningInvestors, korean_name: str) -> cpb.Company:
    made = await companies.companies.CreateCompany(
        cpb.CreateCompanyRequest(
            company=cpb.Company(korean_name=korean_name, sector=cpb.SECTOR_MEDICAL, stage=cpb.STAGE_SEED)
        ),
        metadata=ADMIN,
    )

    async def known() -> bool:
        async with investors.runtime.db.read() as conn:
            return await store.get_directory_company(conn, int(made.name.split("/")[1])) is not None

    assert await eventually(known, timeout=20)
    return made


async def funding(companies: Running, name: str) -> tuple[int, str]:
    got = await companies.companies.GetCompany(cpb.GetCompanyRequest(name=name), metadata=ADMIN)
    return got.funding_raised.units, got.last_round


async def settled(js: JetStreamContext) -> bool:
    """Every consumer has been given everything in the stream and acked it."""
    for durable in CONSUMERS:
        info = await js.consumer_info(STREAM, durable)
        if info.num_pending or info.num_ack_pending:
            return False
    return True


async def test_a_registered_company_joins_the_directory_and_follows_its_changes(
    companies: Running, investors: RunningInvestors
) -> None:
    made = await register(companies, investors, "메디비전")
    company_id = int(made.name.split("/")[1])
    await companies.companies.UpdateCompany(
        cpb.UpdateCompanyRequest(
            company=cpb.Company(name=made.name, english_name="MediVision", stage=cpb.STAGE_PRE_A),
            update_mask=FieldMask(paths=["english_name", "stage"]),
        ),
        metadata=ADMIN,
    )

    async def updated() -> Any:
        async with investors.runtime.db.read() as conn:
            found = await store.get_directory_company(conn, company_id)
        return found if found and found.version == 2 else None

    found = await eventually(updated, timeout=20)
    assert (found.english_name, found.stage, found.sector) == ("MediVision", "PRE_A", "MEDICAL")
    firm = await create_firm(investors)
    intro = await investors.investors.CreateIntroduction(
        pb.CreateIntroductionRequest(introduction=pb.Introduction(company=made.name, firm=firm.name, note="소개")),
        metadata=ADMIN,
    )
    assert intro.company == made.name


async def test_a_closed_round_counts_in_the_company_funding_once_whatever_is_redelivered(
    companies: Running, investors: RunningInvestors
) -> None:
    made = await register(companies, investors, "닥터노트")
    firm = await create_firm(investors)
    opened = await investors.investors.CreateRound(
        pb.CreateRoundRequest(
            round=pb.Round(
                company=made.name, round_type=pb.ROUND_TYPE_SEED, amount=won(2_000_000_000), lead_firm=firm.name
            )
        ),
        metadata=ADMIN,
    )
    await investors.investors.CloseRound(pb.CloseRoundRequest(name=opened.name), metadata=ADMIN)
    assert await eventually(lambda: _equals(funding(companies, made.name), (2_000_000_000, "SEED")), timeout=20)
    await investors.investors.CreateRound(
        pb.CreateRoundRequest(
            round=pb.Round(
                company=made.name, round_type=pb.ROUND_TYPE_SERIES_A, amount=won(5_000_000_000),
                status=pb.ROUND_STATUS_CLOSED,
            )
        ),
        metadata=ADMIN,
    )  # fmt: skip
    assert await eventually(lambda: _equals(funding(companies, made.name), (7_000_000_000, "SERIES_A")), timeout=20)

    # Redelivery: every event of both services published again under new message ids, as an operator's
    # replay or a relay restart past JetStream's de-duplication window would. The inboxes drop them all.
    js = investors.runtime.js
    assert js is not None
    assert await eventually(lambda: settled(js), timeout=20)
    before = await everything(companies, investors)
    republished = 0
    for running in (companies.runtime, investors.runtime):
        async with running.db.read() as conn:
            rows = (await conn.execute(sa.select(outbox.c.subject, outbox.c.data).order_by(outbox.c.seq))).all()
        for row in rows:
            await js.publish(row.subject, row.data, headers={"Nats-Msg-Id": uuid7()})
            republished += 1
    assert republished == 5  # registered, firm registered, opened, closed, closed
    assert await eventually(lambda: settled(js), timeout=20)
    assert await everything(companies, investors) == before

    # And past the inbox: the same round closed in an event with another id still counts once.
    async with investors.runtime.db.read() as conn:
        query = sa.select(outbox.c.data).where(outbox.c.subject == "hub.investors.round.closed")
        data = (await conn.execute(query)).scalars().first()
    assert data is not None
    copy = envelope_pb2.Envelope.FromString(data)
    copy.id = uuid7()
    consumer = next(c for c in companies.runtime.consumers if c.spec.durable == "companies-funding")
    assert await consumer.apply(copy) is True
    assert await everything(companies, investors) == before


async def everything(companies: Running, investors: RunningInvestors) -> dict[str, Any]:
    """What the events feed: the companies (funding included), their rounds applied, their stats, and the
    investors' directory."""
    found: dict[str, Any] = {}
    async with companies.runtime.db.read() as conn:
        for table in (companies_store.companies, companies_store.company_rounds, companies_store.stats_companies):
            found[table.name] = sorted(tuple(map(str, r)) for r in await conn.execute(sa.select(table)))
    async with investors.runtime.db.read() as conn:
        found["directory"] = sorted(tuple(map(str, r)) for r in await conn.execute(sa.select(store.directory)))
    return found


async def _equals(value: Any, expected: object) -> bool:
    return bool(await value == expected)


async def test_the_directory_is_rebuilt_by_replaying_the_stream(
    companies: Running, new_database: Any, nats_server: NatsServer, tmp_path: Path
) -> None:
    from tests.conftest import investors_settings, start_investors

    url = await new_database("rebuilt")
    settings = investors_settings(url, nats_server.url, tmp_path)
    first = await start_investors(settings)
    await asyncio.wait_for(first.runtime.ready.wait(), 10)
    try:
        made = [await register(companies, first, name) for name in ("메디비전", "에듀마인드")]
        assert first.runtime.js is not None
        await first.runtime.js.delete_consumer(STREAM, DIRECTORY)  # what an operator does to rebuild
    finally:
        await first.close()
    db = Database(url, source="investors")
    async with db.engine.begin() as conn:
        await conn.execute(store.directory.delete())
        await conn.execute(processed_events.delete().where(processed_events.c.consumer == DIRECTORY))
    await db.close()
    second = await start_investors(settings)
    try:

        async def rebuilt() -> bool:
            async with second.runtime.db.read() as conn:
                return len(await store.live_directory(conn)) == len(made)

        assert await eventually(rebuilt, timeout=20)
    finally:
        await second.close()
