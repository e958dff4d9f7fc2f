"""InvestorService against a real database: firms and theses, partners and keys, matching, introductions
(one open per pair, a constraint too), rounds; bad input is INVALID_ARGUMENT naming the field and writes
nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf.field_mask_pb2 import FieldMask
from google.type import date_pb2, money_pb2
from grpc_status import rpc_status
from hub.events.v1 import envelope_pb2
from hub.investors.v1 import investors_pb2 as pb
from sqlalchemy.exc import IntegrityError

from hubcore.db import now, outbox
from services.investors import domain, store
from tests.conftest import ADMIN, RunningInvestors

S = pb.IntroductionState


def won(units: int, currency: str = "KRW") -> money_pb2.Money:
    return money_pb2.Money(currency_code=currency, units=units)


async def add_company(investors: RunningInvestors, company_id: int, **fields: Any) -> None:
    """Puts a company in the directory as its consumer would."""
    values: dict[str, Any] = {"korean_name": f"회사{company_id}", "sector": "MEDICAL", "stage": "SEED", "version": 1}
    values |= fields
    async with investors.runtime.db.write(actor="test") as uow:
        await store.upsert_directory_company(uow.conn, domain.DirectoryCompany(id=company_id, **values))


def thesis(**fields: Any) -> pb.Thesis:
    values = {
        "title": "AI 헬스케어", "sectors": ["MEDICAL"], "stages": ["SEED", "PRE_A"], "ticket_min": won(500_000_000),
        "ticket_max": won(3_000_000_000), "geographies": ["KR"],
    } | fields  # fmt: skip
    return pb.Thesis(**values)


async def create_firm(investors: RunningInvestors, name: str = "한빛벤처스", **fields: Any) -> pb.Firm:
    firm = pb.Firm(korean_name=name, type=pb.FIRM_TYPE_VC, **fields)
    return await investors.investors.CreateFirm(pb.CreateFirmRequest(firm=firm), metadata=ADMIN)


async def introduce(investors: RunningInvestors, company: str, firm: str, **fields: Any) -> pb.Introduction:
    intro = pb.Introduction(company=company, firm=firm, note="시드 라운드 리드를 찾고 있습니다", **fields)
    return await investors.investors.CreateIntroduction(
        pb.CreateIntroductionRequest(introduction=intro), metadata=ADMIN
    )


async def refused(call: Any, code: grpc.StatusCode) -> Any:
    """Awaits a call that must fail with code; returns its google.rpc.Status."""
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    assert caught.value.code() == code, caught.value.details()
    return rpc_status.from_call(caught.value)


def bad_fields(status: Any) -> list[str]:
    from google.rpc import error_details_pb2

    for detail in status.details:
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            request = error_details_pb2.BadRequest()
            detail.Unpack(request)
            return [v.field for v in request.field_violations]
    return []


async def row_counts(investors: RunningInvestors) -> dict[str, int]:
    tables = ("firms", "partners", "api_keys", "introductions", "introduction_history", "rounds", "outbox")
    async with investors.runtime.db.read() as conn:
        return {t: (await conn.execute(sa.text(f"SELECT count(*) FROM {t}"))).scalar_one() for t in tables}


async def events(investors: RunningInvestors) -> list[envelope_pb2.Envelope]:
    async with investors.runtime.db.read() as conn:
        rows = (await conn.execute(sa.select(outbox.c.data).order_by(outbox.c.seq))).scalars()
        return [envelope_pb2.Envelope.FromString(data) for data in rows]


async def test_firm_with_theses_round_trips_and_updates(investors: RunningInvestors) -> None:
    made = await create_firm(investors, english_name="Hanbit Ventures", theses=[thesis()])
    assert made.name == "firms/1" and made.theses[0].ticket_max.units == 3_000_000_000
    got = await investors.investors.GetFirm(pb.GetFirmRequest(name=made.name), metadata=ADMIN)
    assert got == made
    update = pb.UpdateFirmRequest(
        firm=pb.Firm(name=made.name, type=pb.FIRM_TYPE_CVC, theses=[thesis(sectors=["ROBOTICS"])], etag=made.etag),
        update_mask=FieldMask(paths=["type", "theses"]),
    )
    updated = await investors.investors.UpdateFirm(update, metadata=ADMIN)
    assert updated.type == pb.FIRM_TYPE_CVC and list(updated.theses[0].sectors) == ["ROBOTICS"]
    await refused(investors.investors.UpdateFirm(update, metadata=ADMIN), grpc.StatusCode.ABORTED)  # stale etag
    listed = await investors.investors.ListFirms(pb.ListFirmsRequest(filter="type=CVC", query="hanbit"), metadata=ADMIN)
    assert [f.name for f in listed.firms] == [made.name]
    assert [e.type for e in await events(investors)] == ["hub.investors.firm.registered", "hub.investors.firm.updated"]


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (thesis(sectors=["SPACE"]), "firm.theses[0].sectors"),
        (thesis(ticket_min=won(1, "USD")), "firm.theses[0].ticket_min.currency_code"),
        (thesis(ticket_max=money_pb2.Money(currency_code="KRW", units=1, nanos=5)), "firm.theses[0].ticket_max.nanos"),
        (thesis(ticket_min=won(9_000_000_000)), "firm.theses[0].ticket_max"),
    ],
)
async def test_bad_theses_are_invalid_argument_naming_the_field_and_write_nothing(
    investors: RunningInvestors, bad: pb.Thesis, field: str
) -> None:
    before = await row_counts(investors)
    status = await refused(create_firm(investors, theses=[thesis(), bad]), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(status) == [field.replace("[0]", "[1]")]
    assert await row_counts(investors) == before


async def test_partners_keys_shown_once_stored_hashed_and_revoked(investors: RunningInvestors) -> None:
    firm = await create_firm(investors)
    await refused(
        investors.investors.CreatePartner(
            pb.CreatePartnerRequest(partner=pb.Partner(firm="firms/99", korean_name="김파트너")), metadata=ADMIN
        ),
        grpc.StatusCode.NOT_FOUND,
    )
    partner = await investors.investors.CreatePartner(
        pb.CreatePartnerRequest(
            partner=pb.Partner(firm=firm.name, korean_name="김파트너", email="Kim@Hanbit.vc", focus=["Medical AI"])
        ),
        metadata=ADMIN,
    )
    assert partner.email == "kim@hanbit.vc" and list(partner.focus) == ["medical ai"]
    key = await investors.investors.CreateApiKey(
        pb.CreateApiKeyRequest(api_key=pb.ApiKey(partner=partner.name, description="deal flow")), metadata=ADMIN
    )
    assert key.secret.startswith("hubpk_") and key.firm == firm.name and key.secret.startswith(key.prefix)
    listed = await investors.investors.ListApiKeys(
        pb.ListApiKeysRequest(filter=f"partner={partner.name}"), metadata=ADMIN
    )
    assert [k.name for k in listed.api_keys] == [key.name] and listed.api_keys[0].secret == ""
    async with investors.runtime.db.read() as conn:
        everything = " ".join(str(v) for row in await conn.execute(sa.select(store.api_keys)) for v in row)
        outboxed = b"".join((await conn.execute(sa.select(outbox.c.data))).scalars())
    assert key.secret not in everything and key.secret.encode() not in outboxed
    revoked = await investors.investors.RevokeApiKey(pb.RevokeApiKeyRequest(name=key.name), metadata=ADMIN)
    assert revoked.HasField("revoke_time")
    await refused(
        investors.investors.RevokeApiKey(pb.RevokeApiKeyRequest(name=key.name), metadata=ADMIN),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    listed = await investors.investors.ListApiKeys(pb.ListApiKeysRequest(), metadata=ADMIN)
    assert list(listed.api_keys) == []


async def test_introduction_for_an_unknown_company_is_not_found_and_writes_nothing(
    investors: RunningInvestors,
) -> None:
    firm = await create_firm(investors)
    before = await row_counts(investors)
    await refused(introduce(investors, "companies/7", firm.name), grpc.StatusCode.NOT_FOUND)
    await refused(introduce(investors, "companies/x", firm.name), grpc.StatusCode.INVALID_ARGUMENT)
    await add_company(investors, 7)
    status = await refused(
        introduce(investors, "companies/7", firm.name, shared_fields=["status"]), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert bad_fields(status) == ["introduction.shared_fields"]
    assert await row_counts(investors) == before


async def test_one_open_introduction_per_company_and_firm(investors: RunningInvestors) -> None:
    firm = await create_firm(investors)
    await add_company(investors, 7)
    request = pb.CreateIntroductionRequest(
        introduction=pb.Introduction(company="companies/7", firm=firm.name, note="소개합니다"), request_id="intro-1"
    )
    first = await investors.investors.CreateIntroduction(request, metadata=ADMIN)
    again = await investors.investors.CreateIntroduction(request, metadata=ADMIN)  # a retry: the same answer
    assert again == first and first.state == S.INTRODUCTION_STATE_REQUESTED
    status = await refused(introduce(investors, "companies/7", firm.name), grpc.StatusCode.ALREADY_EXISTS)
    assert "introductions/1" in status.message
    await investors.investors.ChangeIntroductionState(
        pb.ChangeIntroductionStateRequest(name=first.name, state=S.INTRODUCTION_STATE_CANCELLED, reason="중복"),
        metadata=ADMIN,
    )
    second = await introduce(investors, "companies/7", firm.name)  # the first is closed: a new one may be asked
    assert second.name == "introductions/2"


async def test_concurrent_requests_for_the_same_pair_make_one_introduction(investors: RunningInvestors) -> None:
    firm = await create_firm(investors)
    await add_company(investors, 7)
    results = await asyncio.gather(
        *(introduce(investors, "companies/7", firm.name) for _ in range(6)), return_exceptions=True
    )
    made = [r for r in results if isinstance(r, pb.Introduction)]
    assert len(made) == 1
    assert all(r.code() == grpc.StatusCode.ALREADY_EXISTS for r in results if isinstance(r, grpc.aio.AioRpcError))
    assert len(made) + sum(isinstance(r, grpc.aio.AioRpcError) for r in results) == 6


async def test_the_database_itself_refuses_a_second_open_introduction(investors: RunningInvestors) -> None:
    firm = await create_firm(investors)
    row = {
        "company_id": 7, "firm_id": int(firm.name.split("/")[1]), "state": "REQUESTED", "note": "x",
        "shared_fields": "[]", "created_at": now(), "updated_at": now(), "version": 1,
    }  # fmt: skip
    async with investors.runtime.db.engine.begin() as conn:
        await conn.execute(store.introductions.insert().values(row))
        await conn.execute(store.introductions.insert().values(row | {"state": "INVESTED", "closed_at": now()}))
    with pytest.raises(IntegrityError):
        async with investors.runtime.db.engine.begin() as conn:
            await conn.execute(store.introductions.insert().values(row))


async def test_the_whole_path_with_events_naming_actor_and_reason(investors: RunningInvestors) -> None:
    firm = await create_firm(investors)
    await add_company(investors, 7)
    intro = await introduce(investors, "companies/7", firm.name)
    steps = [
        S.INTRODUCTION_STATE_COMPANY_CONSENTED, S.INTRODUCTION_STATE_PARTNER_ACCEPTED,
        S.INTRODUCTION_STATE_MEETING_HELD, S.INTRODUCTION_STATE_ON_HOLD, S.INTRODUCTION_STATE_INVESTED,
    ]  # fmt: skip
    for step in steps:
        intro = await investors.investors.ChangeIntroductionState(
            pb.ChangeIntroductionStateRequest(name=intro.name, state=step, reason=f"step {step}", etag=intro.etag),
            metadata=ADMIN,
        )
    assert intro.state == S.INTRODUCTION_STATE_INVESTED and intro.HasField("meeting_time")
    assert [h.to_state for h in intro.history] == [S.INTRODUCTION_STATE_REQUESTED, *steps]
    status = await refused(
        investors.investors.ChangeIntroductionState(
            pb.ChangeIntroductionStateRequest(name=intro.name, state=S.INTRODUCTION_STATE_PASSED), metadata=ADMIN
        ),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert "cannot go from INVESTED to PASSED" in status.message
    subjects = [e.type for e in await events(investors) if ".introduction." in e.type]
    assert subjects == [
        "hub.investors.introduction.requested", "hub.investors.introduction.company_consented",
        "hub.investors.introduction.partner_accepted", "hub.investors.introduction.meeting_held",
        "hub.investors.introduction.on_hold", "hub.investors.introduction.invested",
    ]  # fmt: skip
    from hub.events.v1 import investors_pb2 as ev

    last = next(e for e in await events(investors) if e.type.endswith(".invested"))
    payload = ev.IntroductionStateChanged()
    last.payload.Unpack(payload)
    assert (payload.from_state, payload.to_state, payload.reason) == ("ON_HOLD", "INVESTED", f"step {steps[-1]}")
    assert payload.actor.startswith("admin:") and last.actor == payload.actor and last.version == 6


async def test_rounds_validate_close_once_and_emit(investors: RunningInvestors) -> None:
    lead = await create_firm(investors)
    other = await create_firm(investors, "누리캐피탈")
    await add_company(investors, 7)

    def round_(**fields: Any) -> pb.Round:
        values = {"company": "companies/7", "round_type": pb.ROUND_TYPE_SEED, "amount": won(2_000_000_000)} | fields
        return pb.Round(**values)

    before = await row_counts(investors)
    cases = [
        (round_(amount=won(2_000_000_000, "USD")), grpc.StatusCode.INVALID_ARGUMENT),
        (round_(amount=None), grpc.StatusCode.INVALID_ARGUMENT),
        (
            round_(participants=[pb.Participant(firm=lead.name, amount=won(3_000_000_000))]),
            grpc.StatusCode.INVALID_ARGUMENT,
        ),
        (round_(lead_firm="firms/99"), grpc.StatusCode.NOT_FOUND),
        (round_(company="companies/8"), grpc.StatusCode.NOT_FOUND),
    ]
    for bad, code in cases:
        await refused(investors.investors.CreateRound(pb.CreateRoundRequest(round=bad), metadata=ADMIN), code)
    assert await row_counts(investors) == before
    made = await investors.investors.CreateRound(
        pb.CreateRoundRequest(
            round=round_(lead_firm=lead.name, participants=[pb.Participant(firm=other.name, amount=won(500_000_000))]),
            request_id="round-1",
        ),
        metadata=ADMIN,
    )
    assert made.status == pb.ROUND_STATUS_OPEN and {p.firm for p in made.participants} == {lead.name, other.name}
    listed = await investors.investors.ListRounds(pb.ListRoundsRequest(filter=f"firm={other.name}"), metadata=ADMIN)
    assert [r.name for r in listed.rounds] == [made.name]
    closed = await investors.investors.CloseRound(pb.CloseRoundRequest(name=made.name, etag=made.etag), metadata=ADMIN)
    assert closed.status == pb.ROUND_STATUS_CLOSED and closed.close_date.year >= 2026
    await refused(
        investors.investors.CloseRound(pb.CloseRoundRequest(name=made.name), metadata=ADMIN),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert [e.type for e in await events(investors) if ".round." in e.type] == [
        "hub.investors.round.opened", "hub.investors.round.closed",
    ]  # fmt: skip


async def test_match_investors_ranks_and_explains_and_the_reverse(investors: RunningInvestors) -> None:
    await add_company(investors, 7, sector="MEDICAL", stage="SEED")
    await add_company(investors, 8, sector="ENERGY", stage="SERIES_B")
    await add_company(investors, 9, sector="MEDICAL", stage="SEED", status="WITHDRAWN")
    health = await create_firm(investors, "세움헬스케어", theses=[thesis()])
    energy = await create_firm(investors, "가온에너지", theses=[thesis(sectors=["ENERGY"], stages=["SERIES_B"])])
    await create_firm(investors, "빈손")  # no thesis: not ranked
    await investors.investors.CreateRound(
        pb.CreateRoundRequest(
            round=pb.Round(company="companies/7", round_type=pb.ROUND_TYPE_SEED, amount=won(1_000_000_000))
        ),
        metadata=ADMIN,
    )
    matched = await investors.investors.MatchInvestors(pb.MatchInvestorsRequest(company="companies/7"), metadata=ADMIN)
    assert [(m.firm, m.fit.score) for m in matched.matches] == [(health.name, 100), (energy.name, 30)]
    ticket = matched.matches[0].fit.components[2]
    assert (ticket.component, ticket.points) == ("ticket", 20) and "₩1,000,000,000" in ticket.explanation
    reverse = await investors.investors.MatchCompanies(pb.MatchCompaniesRequest(firm=energy.name), metadata=ADMIN)
    assert [m.company for m in reverse.matches] == ["companies/8", "companies/7"]
    await refused(
        investors.investors.MatchInvestors(pb.MatchInvestorsRequest(company="companies/70"), metadata=ADMIN),
        grpc.StatusCode.NOT_FOUND,
    )
    status = await refused(
        investors.investors.MatchInvestors(
            pb.MatchInvestorsRequest(company="companies/7", max_results=-1), metadata=ADMIN
        ),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert bad_fields(status) == ["max_results"]


async def test_stats_count_introductions_by_state_and_funding_closed_in_the_year(investors: RunningInvestors) -> None:
    from tests.conftest import SERVICE

    firm = await create_firm(investors)
    await add_company(investors, 7)
    await add_company(investors, 8)
    await introduce(investors, "companies/7", firm.name)
    await introduce(investors, "companies/8", firm.name)
    for amount, closed_on in [(2_000_000_000, None), (500_000_000, date_pb2.Date(year=2025, month=12, day=31))]:
        made = await investors.investors.CreateRound(
            pb.CreateRoundRequest(
                round=pb.Round(company="companies/7", round_type=pb.ROUND_TYPE_SEED, amount=won(amount))
            ),
            metadata=ADMIN,
        )
        await investors.investors.CloseRound(pb.CloseRoundRequest(name=made.name, close_date=closed_on), metadata=ADMIN)
    await investors.investors.CreateRound(
        pb.CreateRoundRequest(round=pb.Round(company="companies/8", round_type=pb.ROUND_TYPE_SEED, amount=won(9))),
        metadata=ADMIN,
    )  # open: not counted
    stats = await investors.investors.GetInvestorStats(pb.GetInvestorStatsRequest(), metadata=SERVICE)
    assert stats.year >= 2026 and stats.firms == 1
    assert {c.key: c.count for c in stats.introductions_by_state} == {"REQUESTED": 2}
    assert (stats.rounds_closed, stats.funding_raised.units) == (1, 2_000_000_000)
    last_year = await investors.investors.GetInvestorStats(pb.GetInvestorStatsRequest(year=2025), metadata=ADMIN)
    assert (last_year.rounds_closed, last_year.funding_raised.units) == (1, 500_000_000)
    await refused(
        investors.investors.GetInvestorStats(pb.GetInvestorStatsRequest(year=1999), metadata=ADMIN),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
