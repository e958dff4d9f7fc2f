"""The investors and consulting cases of `make bench` (driven from bench.grpc_bench, same table and ratios).

The companies, firms, partners and mentors are seeded at scale by bench/seed.py before these run. What is
added here goes through the public APIs with request ids, like the demo seeds (the investors' 20 firms with
theses, a partner and introductions; the first 50 sessions); the companies reach each service's company
directory over NATS, so the first calls naming them retry while NOT_FOUND. The rest of the 200,000
sessions go straight into the consulting database through its store (bench.seed.sessions), and the bench
counts them and checks for overlapping bookings before measuring (and stops if either is wrong).
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
from google.protobuf import duration_pb2, field_mask_pb2, timestamp_pb2
from google.type import date_pb2, interval_pb2, money_pb2
from hub.consulting.v1 import consulting_pb2 as cpb
from hub.consulting.v1 import consulting_pb2_grpc
from hub.investors.v1 import investors_pb2 as ipb
from hub.investors.v1 import investors_pb2_grpc, partner_pb2, partner_pb2_grpc
from hub.notifications.v1 import notifications_pb2 as npb
from hub.notifications.v1 import notifications_pb2_grpc

from bench import seed
from bench.seed import SLOTS_PER_DAY
from hubcore.db import Database
from services.consulting import domain, store

T = TypeVar("T")
Call = Callable[[int], Awaitable[Any]]
Measure = Callable[[str, Callable[[int], Awaitable[Any]]], Awaitable[None]]  # name, call: runs every in-flight

EOK = 100_000_000
SECTORS = ["ROBOTICS", "MEDICAL", "MANUFACTURING", "FINANCE", "ENERGY"]
STAGES = [["SEED", "PRE_A"], ["PRE_SEED", "SEED"], ["SERIES_A"], ["SEED", "SERIES_A", "SERIES_B"]]
FIRMS = 20
INTRODUCTIONS = 40  # to the partner's firm; every other one consented
MENTORS = 50  # those FindAvailableSlots searches and the ScheduleSession case books
WEEKS = 4
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


async def investors(
    channel: grpc.aio.Channel,
    partner_port: int,
    token: str,
    companies: list[str],
    seeded_firms: list[str],
    measure: Measure,
) -> Call:
    """Seeds 20 firms with theses and introductions (through the API) beside the firms seeded at scale,
    measures the reads, and returns UpdateFirm (a write, measured later)."""
    metadata = (("authorization", f"Bearer {token}"),)
    async with grpc.aio.insecure_channel(f"127.0.0.1:{partner_port}") as partner_channel:
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

        async def get_firm(n: int) -> Any:
            return await stub.GetFirm(ipb.GetFirmRequest(name=seeded_firms[n % len(seeded_firms)]), metadata=metadata)

        async def list_firms(n: int) -> Any:
            return await stub.ListFirms(ipb.ListFirmsRequest(page_size=50), metadata=metadata)

        await measure("GetFirm", get_firm)
        await measure("ListFirms", list_firms)
        await measure("MatchInvestors", match_investors)
        await measure("P.ListIntros", list_introductions)

    async def update_firm(n: int) -> Any:
        firm = ipb.Firm(name=seeded_firms[n % len(seeded_firms)], website=f"https://firm{n}.example")
        request = ipb.UpdateFirmRequest(firm=firm, update_mask=field_mask_pb2.FieldMask(paths=["website"]))
        return await stub.UpdateFirm(request, metadata=metadata)

    return update_firm


# Consulting.


def _ts(value: datetime) -> timestamp_pb2.Timestamp:
    message = timestamp_pb2.Timestamp()
    message.FromDatetime(value)
    return message


def _weekdays(first: date, weeks: int) -> list[date]:
    return [first + timedelta(days=d) for d in range(7 * weeks) if (first + timedelta(days=d)).weekday() < 5]


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


async def consulting(
    channel: grpc.aio.Channel,
    token: str,
    companies: list[str],
    mentors: list[str],
    measure: Measure,
    *,
    database_url: str,
    sessions_wanted: int,
) -> tuple[dict[str, Any], Call]:
    """Seeds sessions_wanted sessions (200,000 at full scale) for the mentors seeded at scale on bench.seed's
    grid, the first 50 through ScheduleSession and the rest through the consulting store; measures
    FindAvailableSlots over the first 50 mentors and 4 weeks, GetSession and a ListSessions page. Returns what
    was seeded and the ScheduleSession call (a write, measured later)."""
    metadata = (("authorization", f"Bearer {token}"),)
    stub = consulting_pb2_grpc.ConsultingServiceStub(channel)
    started = time.perf_counter()
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
    ids = [int(name.rsplit("/", 1)[1]) for name in mentors]
    company_ids = [int(name.rsplit("/", 1)[1]) for name in companies]
    per_week = len(mentors) * 5 * SLOTS_PER_DAY
    seeded_weeks = max(WEEKS, -(-sessions_wanted // per_week))
    grid = seed.Grid(seed.weekdays(monday, seeded_weeks), ids, company_ids)
    later_days = _weekdays(monday + timedelta(days=7 * seeded_weeks), 8)  # the ScheduleSession case books these
    searched = mentors[:MENTORS]  # FindAvailableSlots looks at these over the first WEEKS weeks

    def when(n: int, days: list[date]) -> tuple[str, str, datetime]:
        # Consecutive n share a time across the 50 mentors; their companies differ (n % 200 in a block of 50).
        block = n // MENTORS
        day = days[(block // SLOTS_PER_DAY) % len(days)]
        hour = 9 + block % SLOTS_PER_DAY
        start = datetime(day.year, day.month, day.day, hour, tzinfo=SEOUL).astimezone(UTC)
        return companies[n % len(companies)], searched[n % MENTORS], start

    def booking(company: str, mentor: str, start: datetime, request_id: str) -> cpb.ScheduleSessionRequest:
        session = cpb.Session(
            company=company, mentor=mentor, session_type=session_type.name,
            interval=interval_pb2.Interval(start_time=_ts(start)), agenda=f"bench {request_id}",
        )  # fmt: skip
        return cpb.ScheduleSessionRequest(session=session, request_id=request_id)

    if sessions_wanted > grid.capacity:
        raise SystemExit(f"--sessions {sessions_wanted} does not fit {grid.capacity} free slots")
    # The first bookings go through the API (they wait until the directory knows the companies used), on
    # the grid like the rest.
    through_api = min(MENTORS, sessions_wanted)
    for n in range(through_api):
        company_id, mentor_id, start = grid.at(n)
        request = booking(f"companies/{company_id}", f"mentors/{mentor_id}", start, f"bench-seed-{n}")
        await until_known(partial(stub.ScheduleSession, request, metadata=metadata))
    api_seconds = time.perf_counter() - started
    direct_started = time.perf_counter()
    type_id = int(session_type.name.rsplit("/", 1)[1])
    await seed.sessions(database_url, type_id, grid, through_api, sessions_wanted - through_api)
    direct_seconds = time.perf_counter() - direct_started
    overlaps = await seed.overlapping_bookings(database_url)
    window = (
        datetime(monday.year, monday.month, monday.day, tzinfo=SEOUL),
        datetime(monday.year, monday.month, monday.day, tzinfo=SEOUL) + timedelta(days=7 * WEEKS),
    )
    total, inside = await count_sessions(database_url, ids[:MENTORS], *window)
    rest = sessions_wanted - through_api
    print(
        f"seeded {total:,} sessions for {len(mentors):,} mentors over {seeded_weeks} weeks ({inside:,} of the first "
        f"{MENTORS} mentors in the {WEEKS} weeks searched): {through_api} through ScheduleSession "
        f"({api_seconds:.1f} s, waiting for the company directory), {rest:,} straight into the database through "
        f"the consulting store ({direct_seconds:.1f} s, {rest / max(direct_seconds, 1e-9):,.0f} sessions/s); "
        f"{overlaps} overlapping bookings",
        flush=True,
    )
    if total < sessions_wanted:
        raise SystemExit(f"only {total} of the {sessions_wanted} sessions asked for exist; not measuring")
    if overlaps:
        raise SystemExit(f"{overlaps} bookings overlap another of the same resource; not measuring")
    last = seed.weekdays(monday, WEEKS)[-1]
    find = cpb.FindAvailableSlotsRequest(
        mentors=searched,
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
    page = await stub.ListSessions(cpb.ListSessionsRequest(page_size=50), metadata=metadata)

    async def find_slots(n: int) -> Any:
        return await stub.FindAvailableSlots(find, metadata=metadata)

    async def get_session(n: int) -> Any:
        # Spread over every session seeded (ids 1..total, the 50 booked through the API first).
        return await stub.GetSession(cpb.GetSessionRequest(name=f"sessions/{1 + n * 7919 % total}"), metadata=metadata)

    async def list_sessions(n: int) -> Any:
        return await stub.ListSessions(cpb.ListSessionsRequest(page_size=50), metadata=metadata)

    await measure("FindSlots", find_slots)
    await measure("GetSession", get_session)
    await measure("ListSessions", list_sessions)

    booked = [0]  # across the in-flight runs, so that each booking takes a new time

    async def schedule(n: int) -> Any:
        k = booked[0]
        booked[0] += 1
        company, mentor, start = when(k, later_days)
        return await stub.ScheduleSession(booking(company, mentor, start, f"bench-schedule-{k}"), metadata=metadata)

    seeded = {
        "mentors": len(mentors),
        "mentors_searched": MENTORS,
        "weeks_searched": WEEKS,
        "weeks_seeded": seeded_weeks,
        "sessions_asked": sessions_wanted,
        "sessions_present": total,
        "sessions_in_searched_weeks": inside,
        "sessions_through_api": through_api,
        "sessions_through_store": rest,
        "store_seconds": round(direct_seconds, 1),
        "overlapping_bookings": overlaps,
        "slots_found": len(slots.slots),
        "list_sessions_page": len(page.sessions),
    }
    return seeded, schedule


# Notifications.


async def notifications(channel: grpc.aio.Channel, token: str, measure: Measure) -> tuple[dict[str, Any], Call]:
    """GetRecipient and a ListRecipients page over the recipients the seeded partners and mentors became;
    returns UpdatePreference (a write, measured later), which flips each recipient's language."""
    metadata = (("authorization", f"Bearer {token}"),)
    stub = notifications_pb2_grpc.NotificationServiceStub(channel)
    names: list[str] = []
    token_ = ""
    while True:
        page = await stub.ListRecipients(npb.ListRecipientsRequest(page_size=500, page_token=token_), metadata=metadata)
        names += [r.name for r in page.recipients]
        token_ = page.next_page_token
        if not token_:
            break

    async def get_recipient(n: int) -> Any:
        return await stub.GetRecipient(npb.GetRecipientRequest(name=names[n % len(names)]), metadata=metadata)

    async def list_recipients(n: int) -> Any:
        return await stub.ListRecipients(npb.ListRecipientsRequest(page_size=50), metadata=metadata)

    await measure("GetRecipient", get_recipient)
    await measure("ListRecipients", list_recipients)

    async def update_preference(n: int) -> Any:
        preference = npb.Preference(
            name=f"{names[n % len(names)]}/preference", language="en" if n // len(names) % 2 == 0 else "ko"
        )
        request = npb.UpdatePreferenceRequest(
            preference=preference, update_mask=field_mask_pb2.FieldMask(paths=["language"])
        )
        return await stub.UpdatePreference(request, metadata=metadata)

    return {"recipients": len(names)}, update_preference
