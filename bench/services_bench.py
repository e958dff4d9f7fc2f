"""The investors and consulting cases of `make bench` (driven from bench.grpc_bench, same table and ratios).

Seeding goes through the public APIs with request ids, like the demo seeds: the companies the bench created
reach each service's company directory over NATS, so the first calls naming them retry while NOT_FOUND.
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
from google.protobuf import duration_pb2, timestamp_pb2
from google.type import date_pb2, dayofweek_pb2, interval_pb2, money_pb2, timeofday_pb2
from hub.consulting.v1 import consulting_pb2 as cpb
from hub.consulting.v1 import consulting_pb2_grpc
from hub.investors.v1 import investors_pb2 as ipb
from hub.investors.v1 import investors_pb2_grpc, partner_pb2, partner_pb2_grpc

T = TypeVar("T")
Measure = Callable[[str, Callable[[int], Awaitable[Any]]], Awaitable[None]]  # name, call: runs every in-flight

EOK = 100_000_000
SECTORS = ["ROBOTICS", "MEDICAL", "MANUFACTURING", "FINANCE", "ENERGY"]
STAGES = [["SEED", "PRE_A"], ["PRE_SEED", "SEED"], ["SERIES_A"], ["SEED", "SERIES_A", "SERIES_B"]]
FIRMS = 20
INTRODUCTIONS = 40  # to the partner's firm; every other one consented
MENTORS = 50
WEEKS = 4
SESSIONS_TARGET = 10_000
SEED_BUDGET_S = 60.0  # seeding stops here and the output says how many sessions exist
SEED_IN_FLIGHT = 16
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


async def consulting(port: int, token: str, companies: list[str], measure: Measure) -> None:
    metadata = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
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
        seeded_days = _weekdays(monday, WEEKS)
        later_days = _weekdays(monday + timedelta(days=7 * WEEKS), 8)  # for the ScheduleSession case

        def booking(n: int, days: list[date], prefix: str) -> cpb.ScheduleSessionRequest:
            # Consecutive n share a time across the 50 mentors; their companies differ (n % 200 in a block of 50).
            block = n // MENTORS
            day = days[(block // SLOTS_PER_DAY) % len(days)]
            hour = 9 + block % SLOTS_PER_DAY
            start = datetime(day.year, day.month, day.day, hour, tzinfo=SEOUL).astimezone(UTC)
            session = cpb.Session(
                company=companies[n % len(companies)], mentor=mentors[n % MENTORS], session_type=session_type.name,
                interval=interval_pb2.Interval(start_time=_ts(start)), agenda=f"bench {n}",
            )  # fmt: skip
            return cpb.ScheduleSessionRequest(session=session, request_id=f"{prefix}-{n}")

        capacity = MENTORS * len(seeded_days) * SLOTS_PER_DAY
        target = min(SESSIONS_TARGET, capacity)
        for n in range(min(len(companies), MENTORS)):  # wait until the directory knows the companies used
            await until_known(partial(stub.ScheduleSession, booking(n, seeded_days, "bench-seed"), metadata=metadata))
        seeded = [min(len(companies), MENTORS)]
        errors = [0]
        deadline = time.perf_counter() + SEED_BUDGET_S

        async def seeder() -> None:
            while seeded[0] < target and time.perf_counter() < deadline:
                n = seeded[0]
                seeded[0] += 1
                try:
                    await stub.ScheduleSession(booking(n, seeded_days, "bench-seed"), metadata=metadata)
                except grpc.aio.AioRpcError:
                    errors[0] += 1

        await asyncio.gather(*(seeder() for _ in range(SEED_IN_FLIGHT)))
        elapsed = time.perf_counter() - started
        sessions = seeded[0] - errors[0]
        note = (
            ""
            if sessions >= SESSIONS_TARGET
            else f" (target {SESSIONS_TARGET}; seeding is capped at {SEED_BUDGET_S:g} s)"
        )
        print(
            f"seeded {MENTORS} mentors and {sessions} sessions over {WEEKS} weeks{note}, {errors[0]} refused, "
            f"in {elapsed:.1f} s ({(seeded[0] / elapsed):.0f} bookings/s at {SEED_IN_FLIGHT} in flight)",
            flush=True,
        )
        last = seeded_days[-1]
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

        booked = [0]  # across the in-flight runs, so that each booking takes a new time

        async def schedule(n: int) -> Any:
            k = booked[0]
            booked[0] += 1
            return await stub.ScheduleSession(booking(k, later_days, "bench-schedule"), metadata=metadata)

        await measure("FindSlots", find_slots)
        await measure("ScheduleSession", schedule)
