"""The targets' figures on a crafted hub (GetConsultingStats), on SQLite and PostgreSQL: one person at three
classes, two events with overlapping attendees, a person registered twice at one event, programs of several
kinds; each figure equals the one computed here from the same list, independently of the service's SQL, with
the settings' defaults, with other settings, and within a targets' period."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import grpc
import pytest
from google.type import date_pb2
from hub.consulting.v1 import consulting_pb2 as pb

from hubcore.convert import SEOUL, seoul_today
from tests.conftest import SERVICE, RunningConsulting
from tests.integration.consulting_world import know_company
from tests.integration.test_target_series import held_program, starts_at

EDUCATION, COLLABORATION = pb.PROGRAM_KIND_EDUCATION, pb.PROGRAM_KIND_COLLABORATION
SALON, JOB_MATCHING = pb.PROGRAM_KIND_SALON, pb.PROGRAM_KIND_JOB_MATCHING

# (title, kind, days ago it started, [(name, email, company, attended)])
HUB = [
    (
        "AI 실무 교육 1강",
        EDUCATION,
        400,
        [
            ("김서연", "seoyeon@medivision.kr", "companies/1", True),
            ("이준호", "", "companies/1", True),
            ("박지민", "jimin@nuri.kr", "companies/2", True),
        ],
    ),
    (
        "AI 실무 교육 2강",
        EDUCATION,
        20,
        [
            ("김서연", "SeoYeon@MediVision.kr", "companies/1", True),  # the same person, another letter case
            ("김서연", "seoyeon@medivision.kr", "companies/1", True),  # registered twice at one class
            ("이준호", "", "companies/1", True),
            ("박지민", "jimin@nuri.kr", "companies/2", False),
        ],
    ),
    (
        "AI 실무 교육 3강",
        EDUCATION,
        10,
        [
            ("김서연", "seoyeon@medivision.kr", "companies/1", True),  # her third class
            ("이준호", "", "companies/2", True),  # a namesake at another company: another person
        ],
    ),
    (
        "투자 설명회",
        COLLABORATION,
        15,
        [
            ("김서연", "seoyeon@medivision.kr", "companies/1", True),
            ("홍길동", "gildong@vc.kr", "", True),
            ("최유나", "yuna@nuri.kr", "companies/2", True),
        ],
    ),
    (
        "창업 살롱",
        SALON,
        5,
        [  # overlaps the investment briefing by two people
            ("홍길동", "GILDONG@vc.kr", "", True),
            ("최유나", "yuna@nuri.kr", "companies/2", True),
            ("정민수", "minsu@medivision.kr", "companies/1", True),
        ],
    ),
    ("공동 연구 워크숍", COLLABORATION, 300, [("홍길동", "gildong@vc.kr", "", True)]),
    ("채용 박람회", JOB_MATCHING, 3, [("정민수", "minsu@medivision.kr", "companies/1", True)]),
    ("기술 협력 포럼", COLLABORATION, 2, []),  # no attendance recorded: not held
]
KIND_NAMES = {EDUCATION: "EDUCATION", COLLABORATION: "COLLABORATION", SALON: "SALON", JOB_MATCHING: "JOB_MATCHING"}


@dataclass(frozen=True)
class Held:
    name: str
    title: str
    kind: str
    start: datetime
    people: frozenset[str]  # who attended, one key per person


def person(name: str, email: str, company: str) -> str:
    return email.lower() if email else f"{name}|{company}"


def expected(held: list[Held], *, min_classes: int, kinds: set[str], period: tuple[datetime, datetime] | None):
    """The figures counted here, in plain Python, from the same list."""
    inside = [h for h in held if h.people and (period is None or period[0] <= h.start < period[1])]
    classes: dict[str, list[datetime]] = {}
    for h in sorted(held, key=lambda h: h.start):
        if h.kind == "EDUCATION":
            for p in h.people:
                classes.setdefault(p, []).append(h.start)
    trained = [starts[min_classes - 1] for starts in classes.values() if len(starts) >= min_classes]
    collaboration = [h for h in sorted(inside, key=lambda h: h.start) if h.kind in kinds]
    return {
        "programs_held": len(inside),
        "participants": sum(len(h.people) for h in inside),
        "distinct_participants": len(set().union(*(h.people for h in inside))),
        "people_trained": sum(1 for t in trained if period is None or period[0] <= t < period[1]),
        "collaboration": [(h.name, h.title, len(h.people)) for h in collaboration],
    }


def figures(stats: pb.ConsultingStats) -> dict[str, object]:
    return {
        "programs_held": stats.programs_held,
        "participants": stats.participants,
        "distinct_participants": stats.distinct_participants,
        "people_trained": stats.people_trained,
        "collaboration": [(p.program, p.display_name, p.participants) for p in stats.collaboration_programs],
    }


async def crafted_hub(c: RunningConsulting) -> list[Held]:
    await know_company(c, 1, "메디비전")
    await know_company(c, 2, "누리로봇")
    held = []
    noon = datetime.now(SEOUL).replace(hour=12, minute=0, second=0, microsecond=0).astimezone(UTC)
    for title, kind, days_ago, people in HUB:
        name = await held_program(c, title, kind, people)
        start = noon - timedelta(days=days_ago)
        await starts_at(c, name, start)
        came = frozenset(person(n, e, co) for n, e, co, attended in people if attended)
        held.append(Held(name, title, KIND_NAMES[kind], start, came))
    return held


def day(value: date) -> date_pb2.Date:
    return date_pb2.Date(year=value.year, month=value.month, day=value.day)


async def test_the_targets_figures_count_people_and_kinds_as_computed_independently(
    consulting: RunningConsulting, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = consulting
    held = await crafted_hub(c)

    stats = await c.consulting.GetConsultingStats(pb.GetConsultingStatsRequest(months=2), metadata=SERVICE)
    want = expected(held, min_classes=1, kinds={"COLLABORATION"}, period=None)
    assert figures(stats) == want
    # Spelled out, so that the independent count cannot drift with the code it checks: 김서연 at three classes
    # and twice at one is one person trained; the briefing and the salon share two of their three people.
    assert (stats.people_trained, stats.participants, stats.distinct_participants) == (4, 15, 7)
    assert stats.programs_held == 7 and stats.collaboration_programs_held == 2
    assert list(stats.collaboration_kinds) == [COLLABORATION] and stats.trained_min_classes == 1
    # Each program says its different people too: 김서연, registered twice at the second class, is one there.
    second = await c.consulting.GetProgram(pb.GetProgramRequest(name=held[1].name), metadata=SERVICE)
    assert second.attended_count == len(held[1].people) == 2
    last = stats.by_month[-1]
    assert (last.programs_held, last.participants, last.people_trained, last.collaboration_programs_held) == (
        7, 15, 4, 2,
    )  # fmt: skip

    # Other settings: trained at two classes; salons count as collaboration programs too.
    monkeypatch.setenv("HUB_TRAINED_MIN_CLASSES", "2")
    monkeypatch.setenv("HUB_COLLABORATION_KINDS", "collaboration, SALON")
    stats = await c.consulting.GetConsultingStats(pb.GetConsultingStatsRequest(), metadata=SERVICE)
    assert figures(stats) == expected(held, min_classes=2, kinds={"COLLABORATION", "SALON"}, period=None)
    assert stats.people_trained == 2 and stats.collaboration_programs_held == 3
    assert list(stats.collaboration_kinds) == [COLLABORATION, SALON] and stats.trained_min_classes == 2

    # Within a targets' period of the last 100 days (Seoul): the first class and the workshop fall before it;
    # 이준호 of companies/1 reached two classes inside it, 김서연 too (her first class was before it).
    today = seoul_today()
    first = today - timedelta(days=99)
    request = pb.GetConsultingStatsRequest(period_start=day(first), period_end=day(today))
    stats = await c.consulting.GetConsultingStats(request, metadata=SERVICE)
    after = today + timedelta(days=1)
    period = (
        datetime(first.year, first.month, first.day, tzinfo=SEOUL),
        datetime(after.year, after.month, after.day, tzinfo=SEOUL),
    )
    assert figures(stats) == expected(held, min_classes=2, kinds={"COLLABORATION", "SALON"}, period=period)
    assert (stats.programs_held, stats.people_trained, stats.collaboration_programs_held) == (5, 2, 2)
    # A period that ends before the classes that trained anyone: nobody trained in it.
    early = pb.GetConsultingStatsRequest(period_start=day(today - timedelta(days=500)), period_end=day(first))
    assert (await c.consulting.GetConsultingStats(early, metadata=SERVICE)).people_trained == 0


async def test_a_period_with_one_end_or_backwards_is_refused(consulting: RunningConsulting) -> None:
    today = seoul_today()
    yesterday = today - timedelta(days=1)
    for request, field in [
        (pb.GetConsultingStatsRequest(period_start=day(today)), "period_end"),
        (pb.GetConsultingStatsRequest(period_end=day(today)), "period_start"),
        (pb.GetConsultingStatsRequest(period_start=day(today), period_end=day(yesterday)), "period_end"),
        (pb.GetConsultingStatsRequest(period_start=date_pb2.Date(year=2026, month=2, day=30),
                                      period_end=day(today)), "period_start"),
    ]:  # fmt: skip
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await consulting.consulting.GetConsultingStats(request, metadata=SERVICE)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and field in (refused.value.details() or "")


def test_wrong_counting_settings_stop_the_start(monkeypatch: pytest.MonkeyPatch) -> None:
    from services.consulting.usecases.programs import counting

    assert counting().collaboration_kinds == ("COLLABORATION",)
    wrong = [("HUB_COLLABORATION_KINDS", "WORKSHOP"), ("HUB_TRAINED_MIN_CLASSES", "0"),
             ("HUB_TRAINED_MIN_CLASSES", "two"), ("HUB_COLLABORATION_KINDS", "none")]  # fmt: skip
    for name, value in wrong:
        with monkeypatch.context() as m:
            m.setenv(name, value)
            with pytest.raises(ValueError, match=name):
                counting()


async def test_the_attendees_kept_equal_the_registrations_after_an_erasure_and_revision_0005_fills_them(
    consulting: RunningConsulting,
) -> None:
    """program_attendees, which the figures count, equals the registrations deduplicated here: as recorded, after
    registrations are rewritten as the person.erased handler rewrites them (it then calls refresh_attendees, as
    here; tests/integration/test_privacy.py runs the handler itself), and as revision 0005 fills it on a
    database from before it."""
    import sqlalchemy as sa

    from hubcore import migrate
    from services.consulting import store
    from services.consulting.__main__ import MIGRATIONS

    c = consulting
    await crafted_hub(c)

    async def kept() -> set[tuple[int, str]]:
        async with c.runtime.db.read() as conn:
            return {(row[0], row[1]) for row in await conn.execute(sa.select(store.program_attendees))}

    async def from_registrations() -> set[tuple[int, str]]:
        r = store.registrations.c
        async with c.runtime.db.read() as conn:
            rows = await conn.execute(sa.select(r.program_id, r.participant_name, r.email, r.company_id)
                                      .where(r.state == "ATTENDED"))  # fmt: skip
            company = lambda n: "" if n is None else str(n)  # noqa: E731
            return {(p, person(name, email, company(co))) for p, name, email, co in rows}

    async def attended_counts() -> dict[int, int]:
        async with c.runtime.db.read() as conn:
            p = store.programs.c
            return dict((await conn.execute(sa.select(p.id, p.attended_count).where(p.attended_count > 0))).all())

    def per_program(rows: set[tuple[int, str]]) -> dict[int, int]:
        return dict(Counter(p for p, _ in rows))

    expected = await from_registrations()
    assert await kept() == expected and len(expected) == 15  # the participants counted per program
    # Erasures rewrite 김서연's and 이준호's (of companies/1) registrations, name and email gone: at the first
    # class they are now one "(삭제됨)" of companies/1, so it had three people and has two.
    async with c.runtime.db.write(actor="test") as uow:
        r = store.registrations.c
        erased = sa.or_(sa.func.lower(r.email) == "seoyeon@medivision.kr",
                        sa.and_(r.participant_name == "이준호", r.company_id == 1))  # fmt: skip
        programs = list((await uow.conn.execute(sa.select(r.program_id).where(erased))).scalars())
        await uow.conn.execute(store.registrations.update().where(erased).values(participant_name="(삭제됨)", email=""))
        await store.refresh_attendees(uow.conn, programs)
    assert await kept() == await from_registrations() != expected
    assert await attended_counts() == per_program(await kept())  # each program's count follows its rows
    assert (await attended_counts())[1] == 2

    url = c.runtime.db.engine.url.render_as_string(hide_password=False)
    before = await kept()
    await c.runtime.db.engine.dispose()
    async with c.runtime.db.engine.begin() as conn:  # as main counted it: attended registrations
        await conn.execute(store.programs.update().values(attended_count=99))
    await migrate.downgrade(MIGRATIONS, url, "0004")
    await migrate.upgrade(MIGRATIONS, url)
    assert await kept() == before
    async with c.runtime.db.read() as conn:
        counted = dict((await conn.execute(sa.select(store.programs.c.id, store.programs.c.attended_count))).all())
    assert counted == {n: sum(1 for p, _ in before if p == n) for n in counted}
