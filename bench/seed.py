"""Seeding `make bench` at the issue's scale, straight into each service's database, honestly.

Companies, firms, partners and mentors go through the calls each API handler makes, minus gRPC and the
idempotency key: the request message, the api module's `*_fields`, `domain.new_*`, `store.insert_*` and
`uow.emit` of the same event with the same snapshot, a thousand to a transaction. Their events reach the
other services over NATS like any others, so the read models those keep (company directories in investors
and consulting, the companies stats projection, notifications' entities and recipients) are filled by
the services' own consumers; the bench waits for them and counts.

Sessions (200,000) are too many for that: they are inserted with executemany through the consulting
store's own tables and value mapping (`domain.new_session`, `store.session_values`, `Session.holds()`),
20,000 to a transaction, on a deterministic grid that never overlaps for a mentor or a company (no rooms),
with the bookings ScheduleSession would write; no outbox events (notifications keeps no reminders for
them) and no idempotency keys. Afterwards the bench checks in SQL that no two bookings of one resource
overlap, and stops if any do.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from google.type import dayofweek_pb2, money_pb2, timeofday_pb2
from hub.companies.v1 import companies_pb2 as company_pb
from hub.consulting.v1 import consulting_pb2 as consulting_pb
from hub.events.v1 import investors_pb2 as investor_ev
from hub.investors.v1 import investors_pb2 as investor_pb

from hubcore.db import Database, UnitOfWork, now

SEOUL = ZoneInfo("Asia/Seoul")
EOK = 100_000_000
BATCH = 1000
SESSION_BATCH = 20_000


@dataclass(frozen=True)
class Scale:
    companies: int
    firms: int
    partners: int  # firms + partners = the "investors"
    mentors: int
    sessions: int

    @property
    def investors(self) -> int:
        return self.firms + self.partners


SCALES = {
    "full": Scale(companies=10_000, firms=400, partners=1_600, mentors=1_000, sessions=200_000),
    "tenth": Scale(companies=1_000, firms=40, partners=160, mentors=100, sessions=20_000),
    # Only to prove the bench runs end to end (tests/e2e/test_bench.py): its figures mean nothing.
    "smoke": Scale(companies=120, firms=8, partners=16, mentors=60, sessions=600),
}

COMPANY_SECTORS = ["ROBOTICS", "MEDICAL", "MANUFACTURING", "FINANCE", "ENERGY", "EDUCATION", "MOBILITY"]
COMPANY_STAGES = ["IDEA", "PRE_SEED", "SEED", "PRE_A", "SERIES_A"]
THESIS_SECTORS = ["ROBOTICS", "MEDICAL", "MANUFACTURING", "FINANCE", "ENERGY"]
THESIS_STAGES = [["SEED", "PRE_A"], ["PRE_SEED", "SEED"], ["SERIES_A"], ["SEED", "SERIES_A", "SERIES_B"]]


async def _batched(
    url: str, source: str, count: int, one: Callable[[UnitOfWork, int], Awaitable[str]], batch: int = BATCH
) -> list[str]:
    db = Database(url, source=source)
    names: list[str] = []
    try:
        for first in range(0, count, batch):
            async with db.write(actor="bench:seed") as uow:
                for n in range(first, min(first + batch, count)):
                    names.append(await one(uow, n))
    finally:
        await db.close()
    return names


async def companies(url: str, count: int) -> list[str]:
    """What CreateCompany does, count times: its use case (insert_company and hub.companies.company.registered)."""
    from hubcore.convert import seoul_today
    from services.companies.registry import convert, usecases

    async def one(uow: UnitOfWork, n: int) -> str:
        message = company_pb.Company(
            korean_name=f"규모 기업 {n}",
            english_name=f"Scale Co {n}",
            sector=company_pb.Sector.Value(f"SECTOR_{COMPANY_SECTORS[n % len(COMPANY_SECTORS)]}"),
            stage=company_pb.Stage.Value(f"STAGE_{COMPANY_STAGES[n % len(COMPANY_STAGES)]}"),
            tags=["bench", f"cohort{n % 20}"],
            website=f"https://scale{n}.example",
        )
        company = await usecases.create_company(uow, convert.company_fields(message), today=seoul_today())
        return company.name

    return await _batched(url, "companies", count, one)


async def investors(url: str, firms: int, partners: int) -> tuple[list[str], list[str]]:
    """What CreateFirm and CreatePartner do: the firms first, then the partners spread over them."""
    from services.investors import convert, domain, store
    from services.investors.usecases import SUBJECT
    from services.investors.usecases import firms as firm_cases

    async def firm(uow: UnitOfWork, n: int) -> str:
        thesis = investor_pb.Thesis(
            title=f"Scale thesis {n}",
            sectors=[THESIS_SECTORS[n % 5], THESIS_SECTORS[(n + 2) % 5]],
            stages=THESIS_STAGES[n % len(THESIS_STAGES)],
            ticket_min=money_pb2.Money(currency_code="KRW", units=(1 + n % 5) * EOK),
            ticket_max=money_pb2.Money(currency_code="KRW", units=(10 + n % 7 * 10) * EOK),
            geographies=["KR"],
        )
        message = investor_pb.Firm(korean_name=f"규모 투자사 {n}", english_name=f"Scale Capital {n}",
                                   type=investor_pb.FIRM_TYPE_VC, theses=[thesis])  # fmt: skip
        return (await firm_cases.create_firm(uow, convert.firm_fields(message))).name

    firm_names = await _batched(url, "investors", firms, firm)

    async def partner(uow: UnitOfWork, n: int) -> str:
        firm_name = firm_names[n % len(firm_names)]
        message = investor_pb.Partner(firm=firm_name, korean_name=f"파트너 {n}", english_name=f"Partner {n}",
                                      email=f"partner{n}@scale.vc")  # fmt: skip
        fields = convert.partner_fields(message)
        created = await store.insert_partner(
            uow.conn, domain.new_partner(firm_id=int(firm_name.rsplit("/", 1)[1]), **fields)
        )
        await uow.emit(f"{SUBJECT}.partner.registered", created.name, created.version,
                       investor_ev.PartnerRegistered(partner=convert.partner_snapshot(created)))  # fmt: skip
        return created.name

    return firm_names, await _batched(url, "investors", partners, partner)


WEEKDAYS = (dayofweek_pb2.MONDAY, dayofweek_pb2.TUESDAY, dayofweek_pb2.WEDNESDAY, dayofweek_pb2.THURSDAY,
            dayofweek_pb2.FRIDAY)  # fmt: skip


async def mentors(url: str, count: int) -> list[str]:
    """What CreateMentor does: weekdays 09:00-19:00 in Seoul, hub.consulting.mentor.registered."""
    from services.consulting import convert
    from services.consulting.usecases import resources

    nine, seven = timeofday_pb2.TimeOfDay(hours=9), timeofday_pb2.TimeOfDay(hours=19)
    week = [consulting_pb.WeeklyWindow(day=day, start_time=nine, end_time=seven) for day in WEEKDAYS]

    async def one(uow: UnitOfWork, n: int) -> str:
        message = consulting_pb.Mentor(
            korean_name=f"규모 멘토 {n}", english_name=f"Scale Mentor {n}", kind=consulting_pb.MENTOR_KIND_EXPERT,
            expertise=["bench", f"field{n % 10}"], weekly_availability=week, email=f"mentor{n}@scale.example",
        )  # fmt: skip
        return (await resources.create_mentor(uow, convert.mentor_fields(message))).name

    return await _batched(url, "consulting", count, one)


# Sessions on a grid.

SLOTS_PER_DAY = 10  # 30 minutes at each hour 09:00-18:00; the half hours stay free for FindAvailableSlots


def weekdays(first: date, weeks: int) -> list[date]:
    return [first + timedelta(days=d) for d in range(7 * weeks) if (first + timedelta(days=d)).weekday() < 5]


@dataclass(frozen=True)
class Grid:
    """Session n: slot k = n // mentors (a day and an hour), mentor m = n % mentors, company
    (m + k * mentors) % companies. For one slot the mentors differ and so do the companies (as long as
    mentors <= companies), and every slot is a different time: nothing overlaps for a mentor or a company."""

    days: list[date]
    mentors: Sequence[int]
    companies: Sequence[int]

    @property
    def capacity(self) -> int:
        return len(self.days) * SLOTS_PER_DAY * len(self.mentors)

    def at(self, n: int) -> tuple[int, int, datetime]:
        m = n % len(self.mentors)
        k = n // len(self.mentors)
        day = self.days[k // SLOTS_PER_DAY]
        start = datetime(day.year, day.month, day.day, 9 + k % SLOTS_PER_DAY, tzinfo=SEOUL).astimezone(UTC)
        return self.companies[(m + k * len(self.mentors)) % len(self.companies)], self.mentors[m], start


async def sessions(url: str, type_id: int, grid: Grid, first: int, count: int, *, batch: int = SESSION_BATCH) -> None:
    """Sessions grid.at(first) .. grid.at(first + count - 1), as ScheduleSession would store them (the
    session row, one booking per resource it holds, and the dashboard's counts), with executemany."""
    from services.consulting import domain, store

    if len(grid.mentors) > len(grid.companies):
        raise ValueError("the grid needs at least as many companies as mentors")
    db = Database(url, source="consulting")
    try:
        async with db.read() as conn:
            kind = await store.get_session_type(conn, type_id)
        assert kind is not None
        insert = store.sessions.insert().returning(store.sessions.c.id, sort_by_parameter_order=True)
        for start_n in range(first, first + count, batch):
            stamp = now()
            made = []
            for n in range(start_n, min(start_n + batch, first + count)):
                company_id, mentor_id, start = grid.at(n)
                made.append(domain.new_session(
                    company_id=company_id, mentor_id=mentor_id, session_type=kind, start=start, end=None,
                    room_id=None, agenda="bench (seeded)",
                ))  # fmt: skip
            rows = [store.session_values(s) | {"created_at": stamp, "updated_at": stamp} for s in made]
            async with db.write(actor="bench:seed") as uow:
                ids = (await uow.conn.execute(insert, rows)).scalars().all()
                holds = [
                    {"resource": r, "holder": saved.name, "start_at": s, "end_at": e}
                    for session, new_id in zip(made, ids, strict=True)
                    for saved in [replace(session, id=new_id)]
                    for r, s, e in saved.holds()
                ]
                await uow.conn.execute(store.bookings.insert(), holds)
                await store.count_sessions(uow.conn, [(session, 1) for session in made])
    finally:
        await db.close()


async def overlapping_bookings(url: str) -> int:
    """Bookings that overlap the one before them for the same resource: 0 unless something is wrong."""
    db = Database(url, source="consulting")
    try:
        async with db.read() as conn:
            found = await conn.execute(
                sa.text(
                    "SELECT count(*) FROM (SELECT start_at, lag(end_at) OVER (PARTITION BY resource "
                    "ORDER BY start_at) AS previous_end FROM bookings) AS b WHERE previous_end > start_at"
                )
            )
            return int(found.scalar_one())
    finally:
        await db.close()


async def count_rows(url: str, table: sa.Table, *where: Any) -> int:
    db = Database(url, source="bench")
    try:
        async with db.read() as conn:
            return int((await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))).scalar_one())
    finally:
        await db.close()


async def wait_for_counts(
    wanted: dict[str, tuple[str, sa.Table, list[Any], int]], limit: float = 300, every: float = 1.0
) -> dict[str, tuple[int, float]]:
    """Polls each read model's count until it reaches what is wanted; returns (count, seconds) for each.
    Raises SystemExit naming what fell short after the timeout."""
    began = time.perf_counter()
    done: dict[str, tuple[int, float]] = {}
    last: dict[str, int] = {}
    while True:
        for what, (url, table, where, target) in wanted.items():
            if what in done:
                continue
            last[what] = await count_rows(url, table, *where)
            if last[what] >= target:
                done[what] = (last[what], round(time.perf_counter() - began, 1))
        if len(done) == len(wanted):
            return done
        if time.perf_counter() - began > limit:
            short = ", ".join(f"{w} {last[w]:,} of {wanted[w][3]:,}" for w in wanted if w not in done)
            raise SystemExit(f"read models short after {limit:.0f} s: {short}; not measuring")
        await asyncio.sleep(every)
