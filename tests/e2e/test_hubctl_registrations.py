"""hubctl import registrations|attendance against the real companies and consulting services (each on its own
database, SQLite or PostgreSQL, over real NATS): a CP949 sheet as Korean Excel saves it, with the same people
written several ways and bad rows; a dry run writes nothing; the dashboard's figures then equal those computed
here from the people the sheets name; importing both sheets again changes nothing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hub.consulting.v1 import consulting_pb2 as pb
from typer.testing import Result

from hubcore.convert import interval_message, seoul_today
from services.consulting import store
from tests.conftest import ADMIN, Running, RunningConsulting, eventually, row_counts
from tests.e2e.test_hubctl import hubctl, write_csv

REGISTRATIONS = [
    ["이름", "이메일", "전화", "소속"],
    ["김서연", "seoyeon@medivision.kr", "010-1234-5678", "메디비전"],  # 2
    ["김 서연", "SeoYeon@MediVision.kr", "", "메디비전"],  # 3: line 2 (the email)
    ["이준호", "", "010 2222 3333", "누리로봇"],  # 4
    ["이준호", "", "+82 10-2222-3333", "누리로봇"],  # 5: line 4 (name and phone)
    ["박지민", "jimin@nuri.kr", "", "누리로봇"],  # 6
    ["박지민", "", "", "누리로봇"],  # 7: registered, but may be line 6 (a suspect)
    ["홍길동", "gildong@@vc", "", ""],  # 8: a bad email
    ["최유나", "yuna@nuri.kr", "010-5555-6666", "KAIST"],  # 9: not a hub company: an individual
    ["", "nobody@x.kr", "", ""],  # 10: no name
]
ATTENDANCE = [
    ["성명", "메일", "휴대폰", "소속", "참석"],
    ["김서연", "", "01012345678", "메디비전", "O"],  # 2: 김서연 (name and phone)
    ["이준호", "", "010-2222-3333", "누리로봇", "○"],  # 3: 이준호
    ["박지민", "jimin@nuri.kr", "", "누리로봇", "X"],  # 4: absent
    ["박지민", "", "", "누리로봇", "참석"],  # 5: the registration of line 7 above (the same request)
    ["정민수", "minsu@medivision.kr", "", "메디비전", "O"],  # 6: came without registering
    ["최유나", "YUNA@nuri.kr", "", "", "늦음"],  # 7: not a mark
    ["김서연", "seoyeon@medivision.kr", "", "메디비전", "O"],  # 8: line 2 again
]


def dashboard_person(name: str, email: str, company: str) -> str:
    """A person as the dashboard tells them apart (services/consulting/README.md): the email, letter case aside,
    or the name and company without one."""
    return email.lower() if email else f"{name}|{company}"


def expected_people() -> set[str]:
    """Who came, from the sheets as a program manager reads them (the rows that are one person merged by hand
    above): 김서연, 이준호 and 박지민 without an email of the registrations, and 정민수 who walked in."""
    came = [("김서연", "seoyeon@medivision.kr", "1"), ("이준호", "", "2"), ("박지민", "", "2"),
            ("정민수", "minsu@medivision.kr", "1")]  # fmt: skip
    return {dashboard_person(n, e, c) for n, e, c in came}


async def started_program(consulting: RunningConsulting, title: str) -> str:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    made = await consulting.consulting.CreateProgram(
        pb.CreateProgramRequest(program=pb.Program(display_name=title, kind=pb.PROGRAM_KIND_EDUCATION,
                                                   interval=interval_message(start, start + timedelta(hours=2)))),
        metadata=ADMIN,
    )  # fmt: skip
    return made.name


async def registrations_of(consulting: RunningConsulting, program: str) -> list[pb.Registration]:
    asked, found = pb.ListRegistrationsRequest(program=program, page_size=500), []
    while True:
        page = await consulting.consulting.ListRegistrations(asked, metadata=ADMIN)
        found += page.registrations
        if not page.next_page_token:
            return found
        asked.page_token = page.next_page_token


async def two_companies(companies: Running, consulting: RunningConsulting) -> None:
    for ko, en in (("메디비전", "MediVision"), ("누리로봇", "Nuri Robotics")):
        added = await hubctl(companies, "companies", "add", "--ko", ko, "--en", en, "--sector", "medical")
        assert added.exit_code == 0, added.output

    async def known() -> bool:  # consulting learns them from the companies' events
        async with consulting.runtime.db.read() as conn:
            return all([await store.get_company(conn, f"companies/{n}") for n in (1, 2)])

    await eventually(known)


async def test_cp949_sheets_with_duplicates_and_bad_rows_then_the_dashboard(
    companies: Running, consulting: RunningConsulting, tmp_path: Path
) -> None:
    await two_companies(companies, consulting)
    program = await started_program(consulting, "AI 실무 교육 1강")
    today = seoul_today()
    env = {"HUB_CONSULTING_ADDRESS": consulting.address, "HUB_TARGETS_START": (today - timedelta(days=30)).isoformat(),
           "HUB_TARGETS_END": (today + timedelta(days=30)).isoformat()}  # fmt: skip

    async def run(*args: str) -> Result:
        return await hubctl(companies, *args, env=env)

    sheet, roll = tmp_path / "신청자.csv", tmp_path / "출석부.csv"
    write_csv(sheet, REGISTRATIONS, "cp949")
    write_csv(roll, ATTENDANCE, "cp949")

    dry = await run("--json", "import", "registrations", program, str(sheet), "--dry-run")
    report = json.loads(dry.stdout)
    assert dry.exit_code == 3 and report["dry_run"] is True, dry.output
    assert report["counts"] == {"created": 5, "same person": 2, "rejected": 2}
    assert await registrations_of(consulting, program) == []  # nothing written

    done = await run("--json", "import", "registrations", program.removeprefix("programs/"), str(sheet))
    report = json.loads(done.stdout)
    assert report["counts"] == {"created": 5, "same person": 2, "rejected": 2}, done.output
    rows = {r["line"]: r for r in report["rows"]}
    assert rows[3]["detail"].startswith("= line 2 김서연") and "email" in rows[3]["detail"]
    assert rows[5]["detail"].startswith("= line 4 이준호") and "phone" in rows[5]["detail"]
    assert "registration.email" in rows[8]["detail"] and "participant_name" in rows[10]["detail"]
    assert "KAIST" in rows[9]["detail"]
    assert [(s["line"], s["may_be"]) for s in report["suspected_duplicates"]] == [(7, "line 6 박지민")]
    made = await registrations_of(consulting, program)
    assert [(r.participant_name, r.email, r.phone, r.company) for r in made] == [
        ("김서연", "seoyeon@medivision.kr", "010-1234-5678", "companies/1"),
        ("이준호", "", "010 2222 3333", "companies/2"),
        ("박지민", "jimin@nuri.kr", "", "companies/2"),
        ("박지민", "", "", "companies/2"),
        ("최유나", "yuna@nuri.kr", "010-5555-6666", ""),
    ]
    shown = await run("import", "registrations", program, str(sheet))  # the table, in Korean first
    assert shown.exit_code == 3 and "중복 의심" in shown.output and "5 unchanged" in shown.output, shown.output

    roll_dry = json.loads((await run("--json", "import", "attendance", program, str(roll), "--dry-run")).stdout)
    assert roll_dry["counts"] == {"attended": 4, "absent": 1, "same person": 1, "rejected": 1}, roll_dry
    assert all(r.state == pb.REGISTRATION_STATE_REGISTERED for r in await registrations_of(consulting, program))

    marked = await run("--json", "import", "attendance", program, str(roll))
    report = json.loads(marked.stdout)
    assert report["counts"] == {"attended": 4, "absent": 1, "same person": 1, "rejected": 1}, marked.output
    rows = {r["line"]: r for r in report["rows"]}
    assert "현장 등록" in rows[6]["detail"] and "attended" in rows[7]["detail"]
    after = await registrations_of(consulting, program)
    came = {dashboard_person(r.participant_name, r.email, r.company.removeprefix("companies/"))
            for r in after if r.state == pb.REGISTRATION_STATE_ATTENDED}  # fmt: skip
    assert came == expected_people() and len(after) == 6

    async def figures() -> dict[str, int]:
        shown = await run("--json", "dashboard")
        return dict(json.loads(shown.stdout)["figures"])

    first = await figures()
    people = len(expected_people())
    assert (first["experts"], first["participants"], first["distinct_participants"]) == (people, people, people)

    # Both sheets again: nothing changes (no registration, no mark, no event, no request id kept).
    before = await row_counts(consulting.runtime.db)
    again = json.loads((await run("--json", "import", "registrations", program, str(sheet))).stdout)
    assert again["counts"] == {"unchanged": 5, "same person": 2, "rejected": 2}
    # Still listed, each with the other.
    assert [(s["line"], s["may_be"]) for s in again["suspected_duplicates"]] == [
        (6, f"{made[3].name} 박지민"),
        (7, f"{made[2].name} 박지민"),
    ]
    roll_again = json.loads((await run("--json", "import", "attendance", program, str(roll))).stdout)
    assert roll_again["counts"] == {"unchanged": 5, "same person": 1, "rejected": 1}, roll_again
    assert [(r.name, r.state) for r in await registrations_of(consulting, program)] == [
        (r.name, r.state) for r in after
    ]
    assert await figures() == first
    assert await row_counts(consulting.runtime.db) == before
    answer = await consulting.consulting.GetProgram(pb.GetProgramRequest(name=program), metadata=ADMIN)
    assert (answer.registered_count, answer.attended_count) == (6, people)

    single = await run("programs", "register", program, "--name", "김서연", "--phone", "+82 10 1234 5678")
    assert single.exit_code == 0 and "same person" in single.output and f"{made[0].name} " in single.output
    listed = await run("programs", "registrations", program)
    assert listed.exit_code == 0 and "정민수" in listed.output and "attended" in listed.output


async def test_attendance_waits_for_the_program_and_a_large_sheet_is_a_few_calls(
    companies: Running, consulting: RunningConsulting, tmp_path: Path
) -> None:
    future = await consulting.consulting.CreateProgram(
        pb.CreateProgramRequest(program=pb.Program(
            display_name="취업 박람회", kind=pb.PROGRAM_KIND_JOB_MATCHING,
            interval=interval_message(datetime.now(UTC) + timedelta(days=3), datetime.now(UTC) + timedelta(days=3,
                                                                                                           hours=2)),
        )),
        metadata=ADMIN,
    )  # fmt: skip
    env = {"HUB_CONSULTING_ADDRESS": consulting.address}
    roll = tmp_path / "roll.csv"
    write_csv(roll, ATTENDANCE, "utf-8-sig")
    early = await hubctl(companies, "import", "attendance", future.name, str(roll), env=env)
    assert early.exit_code == 5 and "has not begun" in early.output
    assert await registrations_of(consulting, future.name) == []

    # 2,000 rows: 1,990 people, and 10 of them again with their email in capitals (no company column).
    rows = [["Name", "E-mail", "Mobile"]] + [[f"참가자{n:04d}", f"p{n}@hub.kr", f"010-7{n:03d}-{n:04d}"]
                                              for n in range(1990)]  # fmt: skip
    rows += [[f"참가자{n:04d}", f"P{n}@HUB.KR", ""] for n in range(0, 1990, 199)]
    big = tmp_path / "big.csv"
    write_csv(big, rows, "cp949")
    started = time.perf_counter()
    done = await hubctl(companies, "--json", "import", "registrations", future.name, str(big), env=env)
    took = time.perf_counter() - started
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["counts"] == {"created": 1990, "same person": 10}
    assert len(await registrations_of(consulting, future.name)) == 1990
    print(f"2,000 rows registered in {took:.2f} s")
    started = time.perf_counter()
    again = await hubctl(companies, "--json", "import", "registrations", future.name, str(big), env=env)
    print(f"the same 2,000 rows again in {time.perf_counter() - started:.2f} s")
    assert json.loads(again.stdout)["counts"] == {"unchanged": 1990, "same person": 10}
