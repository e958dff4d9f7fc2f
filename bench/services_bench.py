"""The investors and consulting cases of `make bench` (driven from bench.grpc_bench, same table and ratios).

Seeding goes through the public APIs with request ids, like the demo seeds: the companies the bench created
reach each service's company directory over NATS, so the first calls naming them retry while NOT_FOUND.
The exception is the 10k consulting sessions: ScheduleSession books about 100 a second on this machine, so
after the first 50 the rest go straight into the service's database through its own store (seed_sessions),
and the bench counts what is there before measuring (and stops if it is short).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import grpc
import sqlalchemy as sa
from google.protobuf import duration_pb2, timestamp_pb2
from google.type import date_pb2, dayofweek_pb2, interval_pb2, money_pb2, timeofday_pb2
from hub.consulting.v1 import consulting_pb2 as cpb
from hub.consulting.v1 import consulting_pb2_grpc
from hub.investors.v1 import investors_pb2 as ipb
from hub.investors.v1 import investors_pb2_grpc, partner_pb2, partner_pb2_grpc

from hubcore.db import Database
from services.consulting import domain, store

T = TypeVar("T")
Measure = Callable[[str, Callable[[int], Awaitable[Any]]], Awaitable[None]]  # name, call: runs every in-flight

EOK = 100_000_000
SECTORS = ["ROBOTICS", "MEDICAL", "MANUFACTURING", "FINANCE", "ENERGY"]
STAGES = [["SEED", "PRE_A"], ["PRE_SEED", "SEED"], ["SERIES_A"], ["SEED", "SERIES_A", "SERIES_B"]]
FIRMS = 20
INTRODUCTIONS = 40  # to the partner's firm; every other one consented
MENTORS = 50
WEEKS = 4
SESSIONS_TARGET = 10_000  # --sessions
SLOTS_PER_DAY = 10  # seeded sessions per mentor and weekday: 30 minutes at each hour 09:00-18:00
SEOUL = ZoneInfo("Asia/Seoul")


async def until_known(call: Callable[[], Awaitable[T]], wait_seconds: float = 60) -> T:
    """Retries a call that is NOT_FOUND while a service's company directory catches up with the events."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return await call()
        except grpc.aio.AioRpcError as exc:
            if exc.code() != grpc.StatusCode.NOT_FOUND or time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.2)


# Investors.


async def investors(port: int, partner_port: int, token: str, companies: list[str], measure: Measure) -> None:
    metadata = (("authorization", f"Bearer {token}"),)
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel,
        grpc.aio.insecure_channel(f"127.0.0.1:{partner_port}") as partner_channel,
    ):
        stub = investors_pb2_grpc.InvestorServiceStub(channel)
        started = time.perf_counter()
        firms = []
        for n in range(FIRMS):
            thesis = ipb.Thesis(
                title=f"Bench thesis {n}",
                sectors=[SECTORS[n % len(SECTORS)], SECTORS[(n + 2) % len(SECTORS)]],
                stages=STAGES[n % len(STAGES)],
                ticket_min=money_pb2.Money(currency_code="KRW", units=(1 + n % 5) * EOK),
                ticket_max=money_pb2.Money(currency_code="KRW", units=(10 + n % 7 * 10) * EOK),
                geographies=["KR"],
            )
            firm = await stub.CreateFirm(
                ipb.CreateFirmRequest(
                    firm=ipb.Firm(
                        korean_name=f"벤치 투자사 {n}", english_name=f"Bench Capital {n}", type=ipb.FIRM_TYPE_VC,
                        theses=[thesis],
                    ),
                    request_id=f"bench-firm-{n}",
                ),
                metadata=metadata,
            )  # fmt: skip
            firms.append(firm.name)
        partner = await stub.CreatePartner(
            ipb.CreatePartnerRequest(
                partner=ipb.Partner(
                    firm=firms[0], korean_name="김벤치", english_name="Bench Kim", email="bench@bench.vc"
                ),
                request_id="bench-partner-1",
            ),
            metadata=metadata,
        )
        for n in range(INTRODUCTIONS):
            request = ipb.CreateIntroductionRequest(
                introduction=ipb.Introduction(
                    company=companies[n % len(companies)], firm=firms[0], partner=partner.name,
                    note=f"bench introduction {n}", shared_fields=["korean_name", "english_name", "sector", "stage"],
                ),
                request_id=f"bench-introduction-{n}",
            )  # fmt: skip
            intro = await until_known(partial(stub.CreateIntroduction, request, metadata=metadata))
            if n % 2 == 0:
                await stub.ChangeIntroductionState(
                    ipb.ChangeIntroductionStateRequest(
                        name=intro.name, state=ipb.INTRODUCTION_STATE_COMPANY_CONSENTED, reason="bench",
                        etag=intro.etag,
                    ),
                    metadata=metadata,
                )  # fmt: skip
        key = await stub.CreateApiKey(
            ipb.CreateApiKeyRequest(api_key=ipb.ApiKey(partner=partner.name, description="bench")), metadata=metadata
        )
        partner_stub = partner_pb2_grpc.PartnerServiceStub(partner_channel)
        partner_metadata = (("authorization", f"Bearer {key.secret}"),)
        listing = await partner_stub.ListIntroductions(
            partner_pb2.PartnerServiceListIntroductionsRequest(), metadata=partner_metadata
        )
        match = await stub.MatchInvestors(ipb.MatchInvestorsRequest(company=companies[0]), metadata=metadata)
        print(
            f"seeded {FIRMS} firms, {INTRODUCTIONS} introductions to {firms[0]} ({INTRODUCTIONS // 2} consented) "
            f"in {time.perf_counter() - started:.1f} s; the partner sees {len(listing.introductions)}, "
            f"MatchInvestors gives {len(match.matches)} firms",
            flush=True,
        )

        async def match_investors(n: int) -> Any:
            request = ipb.MatchInvestorsRequest(company=companies[n % len(companies)])
            return await stub.MatchInvestors(request, metadata=metadata)

        async def list_introductions(n: int) -> Any:
            request = partner_pb2.PartnerServiceListIntroductionsRequest()
            return await partner_stub.ListIntroductions(request, metadata=partner_metadata)

        await measure("MatchInvestors", match_investors)
        await measure("P.ListIntros", list_introductions)


# Consulting.


def _ts(value: datetime) -> timestamp_pb2.Timestamp:
    message = timestamp_pb2.Timestamp()
    message.FromDatetime(value)
    return message


def _weekdays(first: date, weeks: int) -> list[date]:
    return [first + timedelta(days=d) for d in range(7 * weeks) if (first + timedelta(days=d)).weekday() < 5]


async def seed_sessions(
    database_url: str, type_id: int, bookings: list[tuple[int, int, datetime]], *, batch: int = 500
) -> None:
    """Books sessions straight into the consulting service's database, through the same store calls as
    ScheduleSession (domain.new_session, store.insert_session, store.reserve with its overlap check), a few
    hundred to a transaction. What it leaves out: the outbox events and idempotency keys, which only the
    event consumers and retries would read."""
    db = Database(database_url, source="consulting")
    try:
        async with db.read() as conn:
            kind = await store.get_session_type(conn, type_id)
        assert kind is not None
        for first in range(0, len(bookings), batch):
            async with db.write(actor="bench:seed") as uow:
                for company_id, mentor_id, start in bookings[first : first + batch]:
                    session = domain.new_session(
                        company_id=company_id, mentor_id=mentor_id, session_type=kind, start=start, end=None,
                        room_id=None, agenda="bench (seeded)",
                    )  # fmt: skip
                    session = await store.insert_session(uow.conn, session)
                    await store.reserve(uow.conn, session.holds(), holder=session.name)
    finally:
        await db.close()


async def count_sessions(database_url: str, mentor_ids: list[int], start: datetime, end: datetime) -> tuple[int, int]:
    """Sessions holding time in the database: all of them, and those of the mentors inside [start, end)."""
    db = Database(database_url, source="consulting")
    try:
        async with db.read() as conn:
            s = store.sessions.c
            holding = s.state.in_(sorted(domain.HOLDS_TIME))
            total = (await conn.execute(sa.select(sa.func.count()).where(holding))).scalar_one()
            inside = (
                await conn.execute(
                    sa.select(sa.func.count()).where(
                        holding, s.mentor_id.in_(mentor_ids), s.start_at < end, s.end_at > start
                    )
                )
            ).scalar_one()
    finally:
        await db.close()
    return int(total), int(inside)


Call = Callable[[int], Awaitable[Any]]


async def consulting(
    channel: grpc.aio.Channel,
    token: str,
    companies: list[str],
    measure: Measure,
    *,
    database_url: str,
    sessions_wanted: int,
) -> tuple[dict[str, Any], Call]:
    """Seeds 50 mentors with sessions_wanted sessions (10k by default) and measures FindAvailableSlots over
    the 50 mentors and 4 weeks. Returns what was seeded and the ScheduleSession call (a write, measured later)."""
    metadata = (("authorization", f"Bearer {token}"),)
    stub = consulting_pb2_grpc.ConsultingServiceStub(channel)
    started = time.perf_counter()
    week = [
        cpb.WeeklyWindow(
            day=day, start_time=timeofday_pb2.TimeOfDay(hours=9), end_time=timeofday_pb2.TimeOfDay(hours=19)
        )
        for day in (
            dayofweek_pb2.MONDAY, dayofweek_pb2.TUESDAY, dayofweek_pb2.WEDNESDAY, dayofweek_pb2.THURSDAY,
            dayofweek_pb2.FRIDAY,
        )
    ]  # fmt: skip
    mentors = []
    for n in range(MENTORS):
        mentor = await stub.CreateMentor(
            cpb.CreateMentorRequest(
                mentor=cpb.Mentor(
                    korean_name=f"벤치 멘토 {n}", english_name=f"Bench Mentor {n}",
                    kind=cpb.MENTOR_KIND_EXPERT, expertise=["bench"], weekly_availability=week,
                ),
                request_id=f"bench-mentor-{n}",
            ),
            metadata=metadata,
        )  # fmt: skip
        mentors.append(mentor.name)
    session_type = await stub.CreateSessionType(
        cpb.CreateSessionTypeRequest(
            session_type=cpb.SessionType(
                display_name="벤치 자문", category=cpb.SESSION_CATEGORY_TECHNICAL,
                default_duration=duration_pb2.Duration(seconds=30 * 60),
            ),
            request_id="bench-type-1",
        ),
        metadata=metadata,
    )  # fmt: skip
    today = datetime.now(SEOUL).date()
    monday = today + timedelta(days=7 - today.weekday())
    searched_days = _weekdays(monday, WEEKS)  # FindAvailableSlots looks at these
    later_days = _weekdays(monday + timedelta(days=7 * WEEKS), 8)  # the ScheduleSession case books these
    per_week = MENTORS * 5 * SLOTS_PER_DAY
    # Beyond 10k (--sessions), further sessions go after the ScheduleSession weeks: history the search skips.
    extra_weeks = max(0, -(-sessions_wanted // per_week) - WEEKS)
    seeded_days = searched_days + _weekdays(monday + timedelta(days=7 * (WEEKS + 8)), extra_weeks)

    def when(n: int, days: list[date]) -> tuple[str, str, datetime]:
        # Consecutive n share a time across the 50 mentors; their companies differ (n % 200 in a block of 50).
        block = n // MENTORS
        day = days[(block // SLOTS_PER_DAY) % len(days)]
        hour = 9 + block % SLOTS_PER_DAY
        start = datetime(day.year, day.month, day.day, hour, tzinfo=SEOUL).astimezone(UTC)
        return companies[n % len(companies)], mentors[n % MENTORS], start

    def booking(n: int, days: list[date], prefix: str) -> cpb.ScheduleSessionRequest:
        company, mentor, start = when(n, days)
        session = cpb.Session(
            company=company, mentor=mentor, session_type=session_type.name,
            interval=interval_pb2.Interval(start_time=_ts(start)), agenda=f"bench {n}",
        )  # fmt: skip
        return cpb.ScheduleSessionRequest(session=session, request_id=f"{prefix}-{n}")

    capacity = MENTORS * len(seeded_days) * SLOTS_PER_DAY
    if sessions_wanted > capacity:
        raise SystemExit(f"--sessions {sessions_wanted} does not fit {capacity} free slots")
    # The first bookings go through the API: they wait until the directory knows the companies used.
    through_api = min(len(companies), MENTORS, sessions_wanted)
    for n in range(through_api):
        await until_known(partial(stub.ScheduleSession, booking(n, seeded_days, "bench-seed"), metadata=metadata))
    api_seconds = time.perf_counter() - started
    direct_started = time.perf_counter()
    rest = [when(n, seeded_days) for n in range(through_api, sessions_wanted)]
    type_id = int(session_type.name.rsplit("/", 1)[1])
    await seed_sessions(
        database_url, type_id, [(int(c.rsplit("/", 1)[1]), int(m.rsplit("/", 1)[1]), s) for c, m, s in rest]
    )
    direct_seconds = time.perf_counter() - direct_started
    mentor_ids = [int(m.rsplit("/", 1)[1]) for m in mentors]
    window = (
        datetime(monday.year, monday.month, monday.day, tzinfo=SEOUL),
        datetime(monday.year, monday.month, monday.day, tzinfo=SEOUL) + timedelta(days=7 * WEEKS),
    )
    total, inside = await count_sessions(database_url, mentor_ids, *window)
    print(
        f"seeded {MENTORS} mentors and {total:,} sessions ({inside:,} in the {WEEKS} weeks searched): "
        f"{through_api} through ScheduleSession ({api_seconds:.1f} s, waiting for the company directory), "
        f"{len(rest):,} straight into the database through the consulting store ({direct_seconds:.1f} s, "
        f"{len(rest) / max(direct_seconds, 1e-9):,.0f} sessions/s)",
        flush=True,
    )
    if total < sessions_wanted:
        raise SystemExit(f"only {total} of the {sessions_wanted} sessions asked for exist; not measuring")
    last = searched_days[-1]
    find = cpb.FindAvailableSlotsRequest(
        mentors=mentors,
        start_date=date_pb2.Date(year=monday.year, month=monday.month, day=monday.day),
        end_date=date_pb2.Date(year=last.year, month=last.month, day=last.day),
        session_type=session_type.name,
    )
    slots = await stub.FindAvailableSlots(find, metadata=metadata)
    print(
        f"FindAvailableSlots over {MENTORS} mentors x {WEEKS} weeks: {len(slots.slots)} slots, "
        f"{slots.ByteSize()} bytes, truncated={slots.truncated}",
        flush=True,
    )

    async def find_slots(n: int) -> Any:
        return await stub.FindAvailableSlots(find, metadata=metadata)

    await measure("FindSlots", find_slots)

    booked = [0]  # across the in-flight runs, so that each booking takes a new time

    async def schedule(n: int) -> Any:
        k = booked[0]
        booked[0] += 1
        return await stub.ScheduleSession(booking(k, later_days, "bench-schedule"), metadata=metadata)

    seeded = {
        "mentors": MENTORS,
        "weeks_searched": WEEKS,
        "sessions_asked": sessions_wanted,
        "sessions_present": total,
        "sessions_in_searched_weeks": inside,
        "sessions_through_api": through_api,
        "sessions_through_store": len(rest),
        "store_seconds": round(direct_seconds, 1),
        "slots_found": len(slots.slots),
    }
    return seeded, schedule
