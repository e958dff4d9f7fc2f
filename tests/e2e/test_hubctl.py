"""hubctl against the real companies service over a real channel: output, --json, errors, exit codes,
import and export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from typer.testing import CliRunner, Result

from hubctl.cli import app
from hublocal.natsserver import NatsServer
from services.companies import tables
from tests.conftest import ADMIN_TOKEN, Running, RunningConsulting, RunningInvestors

runner = CliRunner()


async def hubctl(
    running: Running | None, *args: str, token: str = ADMIN_TOKEN, address: str = "", env: dict[str, str] | None = None
) -> Result:
    env = {
        "HUB_COMPANIES_ADDRESS": address or (running.address if running else "127.0.0.1:1"),
        "HUB_NOTIFICATIONS_ADDRESS": "127.0.0.1:1",
        "HUB_TOKEN": token,
        "HUB_DATA_DIR": "/nonexistent",
        "XDG_CONFIG_HOME": "/nonexistent",  # never the developer's own saved column maps
    } | (env or {})
    argv = ["--config", "/nonexistent/config.toml", *args]
    return await asyncio.to_thread(runner.invoke, app, argv, env=env)


async def count_companies(running: Running) -> int:
    async with running.runtime.db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(tables.companies))).scalar_one())


async def test_add_list_show_edit_transition_in_korean(companies: Running) -> None:
    added = await hubctl(
        companies,
        "companies",
        "add",
        "--ko",
        "메디비전",
        "--en",
        "MediVision",
        "--sector",
        "medical",
        "--tag",
        "vision",
    )
    assert added.exit_code == 0, added.output
    assert "메디비전" in added.output and "registered companies/1" in added.output
    listed = await hubctl(companies, "companies", "list")
    assert listed.exit_code == 0 and "메디비전" in listed.output and "applicant" in listed.output
    as_json = json.loads((await hubctl(companies, "--json", "companies", "list")).stdout)
    assert [c["korean_name"] for c in as_json] == ["메디비전"]
    edited = await hubctl(companies, "companies", "edit", "1", "--en", "Medi Vision")
    assert edited.exit_code == 0 and "Medi Vision" in edited.output
    for status in ("selected", "resident"):
        moved = await hubctl(companies, "companies", "transition", "1", status, "--reason", "심사 통과")
        assert moved.exit_code == 0, moved.output
    person = await hubctl(
        companies, "people", "add", "--ko", "김서연", "--role", "founder", "--company", "1", "--email", "kim@medi.kr"
    )
    assert person.exit_code == 0, person.output
    shown = json.loads((await hubctl(companies, "--json", "companies", "show", "1")).stdout)
    assert shown["company"]["status"] == "COMPANY_STATUS_RESIDENT"
    assert [p["korean_name"] for p in shown["people"]] == ["김서연"]
    filtered = json.loads((await hubctl(companies, "--json", "companies", "list", "--status", "applicant")).stdout)
    assert filtered == []


async def test_json_after_the_command_and_lists_that_stop_at_a_page_say_so(companies: Running) -> None:
    for name in ("메디비전", "에듀마인드", "로보팩토리"):
        assert (await hubctl(companies, "companies", "add", "--ko", name, "--sector", "medical")).exit_code == 0
    after = await hubctl(companies, "companies", "list", "--json")
    assert after.exit_code == 0 and len(json.loads(after.stdout)) == 3, after.output
    assert json.loads((await hubctl(companies, "companies", "show", "1", "--json")).stdout)["company"]
    cut = await hubctl(companies, "companies", "list", "--limit", "2", "--json")
    assert len(json.loads(cut.stdout)) == 2  # stdout stays the list; the note goes to stderr
    assert "처음 2개만 표시" in cut.stderr and "--all" in cut.stderr
    table = await hubctl(companies, "companies", "list", "--limit", "2")
    assert "로보팩토리" not in table.stdout and "--all" in table.stderr
    every = await hubctl(companies, "companies", "list", "--limit", "2", "--all")
    assert "로보팩토리" in every.stdout and every.stderr == ""
    exact = await hubctl(companies, "people", "list", "--limit", "3", "--json")
    assert json.loads(exact.stdout) == [] and exact.stderr == ""


def test_table_headers_stay_on_one_line_at_80_columns(monkeypatch: object) -> None:
    from rich.console import Console

    from hubctl import client

    console = Console(width=80, file=io.StringIO(), force_terminal=False)
    monkeypatch.setattr(client, "out", console)  # type: ignore[attr-defined]
    columns = ["id", "기업 이름 (국문)", "English name", "sector", "stage", "oldest unpublished", "registered on"]
    row = ["1", "메디비전 주식회사 연구소", "Medi Vision Incorporated Limited", "medical", "series_a", "", "2026-01-01"]
    client.print_table("companies", columns, [row, row])
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    header = next(i for i, line in enumerate(lines) if "┃" in line)
    assert "┡" in lines[header + 1], "\n".join(lines)  # one header line, then the rule under it
    assert all(len(line) <= 80 for line in lines)


async def test_errors_are_explained_with_exit_codes(companies: Running) -> None:
    missing = await hubctl(companies, "companies", "show", "999")
    assert (missing.exit_code, "not found" in missing.output) == (4, True)
    bad = await hubctl(companies, "companies", "add", "--ko", " ", "--sector", "medical")
    assert bad.exit_code == 3 and "company.korean_name: is required" in bad.output
    unknown_sector = await hubctl(companies, "companies", "add", "--ko", "회사", "--sector", "space")
    assert unknown_sector.exit_code == 3 and "unknown sector 'space'" in unknown_sector.output
    await hubctl(companies, "companies", "add", "--ko", "닥터노트", "--sector", "medical")
    refused = await hubctl(companies, "companies", "transition", "1", "graduated")
    assert refused.exit_code == 5 and "cannot go from APPLICANT to GRADUATED" in refused.output
    founder = await hubctl(companies, "people", "add", "--ko", "이준호", "--role", "founder")
    assert founder.exit_code == 3 and "person.company" in founder.output
    no_token = await hubctl(companies, "companies", "list", token="wrong")
    assert no_token.exit_code == 6 and "HUB_TOKEN" in no_token.output
    replay = await hubctl(companies, "ops", "replay", "deadLetters/99")
    assert replay.exit_code == 4
    down = await hubctl(None, "companies", "list")
    assert down.exit_code == 7 and "make run" in down.output
    assert await count_companies(companies) == 1


async def test_dashboard_composes_figures_and_names_a_silent_service(companies: Running) -> None:
    for name in ("메디비전", "에듀마인드"):
        await hubctl(companies, "companies", "add", "--ko", name, "--sector", "medical")
    await hubctl(companies, "companies", "transition", "1", "selected")

    async def discovered() -> dict[str, object]:
        answer = json.loads((await hubctl(companies, "--json", "dashboard")).stdout)
        return answer if answer["figures"].get("firms_discovered") == 1 else {}

    from tests.conftest import eventually

    answer = await eventually(discovered)
    assert answer["targets"]["firms"] == 50 and answer["figures"]["companies_total"] == 2
    assert answer["figures"]["firms"] == 0  # discovered, not grown yet: the target counts firms grown
    added = await hubctl(companies, "milestones", "add", "--company", "1", "--kind", "first_customer",
                         "--on", "2026-01-05", "--evidence", "서울대병원 공급 계약")  # fmt: skip
    assert added.exit_code == 0, added.output
    figures = json.loads((await hubctl(companies, "--json", "dashboard")).stdout)["figures"]
    assert figures["firms"] == 1
    assert figures["firms_grown"] == [
        {"company": "companies/1", "korean_name": "메디비전", "reasons": ["milestone FIRST_CUSTOMER on 2026-01-05"]}
    ]
    shown = await hubctl(companies, "dashboard")
    assert "firms grown, and why" in shown.output and "FIRST_CUSTOMER" in shown.output, shown.output
    assert (answer["figures"]["offices"], answer["figures"]["offices_total"], answer["targets"]["offices"]) == (
        0,
        0,
        16,
    )
    silent = await hubctl(None, "dashboard")
    assert silent.exit_code == 0 and "not answering" in silent.output and "companies" in silent.output


def write_csv(path: Path, rows: list[list[str]], encoding: str) -> None:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))


async def test_import_thousands_with_bad_rows_dry_run_and_idempotent_rerun(companies: Running, tmp_path: Path) -> None:
    header = ["korean_name", "english_name", "sector", "stage", "tags", "website", "founded_on", "description"]
    rows = [header] + [
        [f"스타트업{n:04d}", f"Startup {n}", "education", "seed", "ai;edu", "", "", ""] for n in range(2000)
    ]
    rows[101] = ["", "No Name", "medical", "", "", "", "", ""]  # line 102: no Korean name
    rows[202] = ["잘못된분야", "", "space", "", "", "", "", ""]  # line 203: unknown sector
    rows[303] = ["날짜오류", "", "medical", "", "", "", "2024-13-01", ""]  # line 304: no such date
    rows[404] = ["웹사이트오류", "", "medical", "", "", "ftp://x", "", ""]  # line 405: refused by the service
    path = tmp_path / "companies.csv"
    write_csv(path, rows, "utf-8-sig")  # as Excel in Korea writes it

    dry = await hubctl(companies, "--json", "import", "companies", str(path), "--dry-run")
    report = json.loads(dry.stdout)
    assert dry.exit_code == 3 and report["dry_run"] is True
    assert report["counts"] == {"create": 1996, "rejected": 4}  # the service's own rules, checked in advance
    assert await count_companies(companies) == 0

    done = await hubctl(companies, "--json", "import", "companies", str(path))
    report = json.loads(done.stdout)
    assert report["counts"] == {"create": 1996, "rejected": 4}
    rejected = {r["line"]: r["detail"] for r in report["rows"] if r["action"] == "rejected"}
    assert set(rejected) == {102, 203, 304, 405}
    assert "korean_name" in rejected[102] and "space" in rejected[203] and "website" in rejected[405]
    assert await count_companies(companies) == 1996

    rows[1][1] = "Startup One Renamed"  # one real change
    write_csv(path, rows, "cp949")  # the same file from an older Excel
    again = json.loads((await hubctl(companies, "--json", "import", "companies", str(path))).stdout)
    assert again["counts"] == {"unchanged": 1995, "update": 1, "rejected": 4}
    assert await count_companies(companies) == 1996

    exported = await hubctl(companies, "export", "companies", "--format", "csv")
    parsed = list(csv.DictReader(io.StringIO(exported.stdout.lstrip("\ufeff"))))
    assert len(parsed) == 1996 and parsed[0]["english_name"] == "Startup One Renamed"
    as_json = json.loads((await hubctl(companies, "export", "companies", "--format", "json")).stdout)
    assert len(as_json) == 1996 and as_json[0]["tags"] == ["ai", "edu"]


async def test_import_people_links_companies_by_korean_name(companies: Running, tmp_path: Path) -> None:
    await hubctl(companies, "companies", "add", "--ko", "메디비전", "--sector", "medical")
    path = tmp_path / "people.csv"
    write_csv(
        path,
        [
            ["korean_name", "english_name", "company", "role", "title", "email", "phone"],
            ["김서연", "Seoyeon Kim", "메디비전", "founder", "대표", "kim@medi.kr", "+821012345678"],
            ["박지민", "", "없는회사", "staff", "", "park@x.kr", ""],
            ["최하랑", "", "", "individual", "", "choi@x.kr", "010-1234"],
        ],
        "utf-8",
    )
    result = json.loads((await hubctl(companies, "--json", "import", "people", str(path))).stdout)
    actions = {r["key"]: (r["action"], r["detail"]) for r in result["rows"]}
    assert actions["kim@medi.kr"] == ("create", "")
    assert actions["park@x.kr"][0] == "rejected" and "없는회사" in actions["park@x.kr"][1]
    assert actions["choi@x.kr"][0] == "rejected" and "phone" in actions["choi@x.kr"][1]
    rerun = json.loads((await hubctl(companies, "--json", "import", "people", str(path))).stdout)
    assert rerun["counts"] == {"unchanged": 1, "rejected": 2}


async def test_dry_run_applies_the_services_length_limits(companies: Running, tmp_path: Path) -> None:
    """The dry run refuses what the real run refuses: the service's input rules, checked before sending."""
    header = ["korean_name", "english_name", "sector", "tags", "description"]
    rows = [header] + [[f"기업{n:03d}", f"Firm {n}", "medical", "ai", ""] for n in range(300)]
    rows[10][0] = "가" * 101  # korean_name: 1 to 100 characters
    rows[20][1] = "E" * 101  # english_name: 1 to 100
    rows[30][3] = "t" * 31  # a tag: 1 to 30
    rows[40][4] = "설명" * 1001  # description: at most 2000
    path = tmp_path / "long.csv"
    write_csv(path, rows, "utf-8")
    dry = json.loads((await hubctl(companies, "--json", "import", "companies", str(path), "--dry-run")).stdout)
    real = json.loads((await hubctl(companies, "--json", "import", "companies", str(path))).stdout)
    assert dry["counts"] == real["counts"] == {"create": 296, "rejected": 4}
    details = {r["line"]: r["detail"] for r in dry["rows"] if r["action"] == "rejected"}
    assert details == {r["line"]: r["detail"] for r in real["rows"] if r["action"] == "rejected"}
    assert "company.english_name" in details[21] and "company.tags" in details[31]


async def test_import_reads_korean_headers_maps_and_founders(companies: Running, tmp_path: Path) -> None:
    """A program manager's own spreadsheet: Korean headers, a column we don't keep (named, not dropped
    silently), founders and emails as the company's people (once, keyed by email), a bad email rejecting its row."""
    path = tmp_path / "입주기업.csv"
    write_csv(
        path,
        [
            ["기업명 (국문)", "영문명", "업종", "설립일", "홈페이지", "대표자", "이메일", "비고"],
            ["메디비전", "MediVision", "medical", "2021-03-02", "https://medi.kr", "김서연", "Kim@Medi.kr", "1층"],
            ["에듀마인드", "", "education", "", "", "이준호", "lee@edu.kr", ""],
            ["새싹AI", "", "education", "", "", "박지민", "not-an-email", ""],
            ["로보팩토리", "", "manufacturing", "", "", "", "", ""],
        ],
        "cp949",
    )
    dry = json.loads((await hubctl(companies, "--json", "import", "companies", str(path), "--dry-run")).stdout)
    assert dry["ignored_columns"] == ["비고"]
    assert dry["columns"]["대표자"] == "founder" and dry["columns"]["기업명 (국문)"] == "korean_name"
    done = await hubctl(companies, "--json", "import", "companies", str(path))
    report = json.loads(done.stdout)
    assert done.exit_code == 3 and report["counts"] == dry["counts"] == {"create": 3, "rejected": 1}
    rejected = [r for r in report["rows"] if r["action"] == "rejected"]
    assert [r["line"] for r in rejected] == [4] and "person.email" in rejected[0]["detail"]
    people = json.loads((await hubctl(companies, "--json", "people", "list")).stdout)
    assert sorted((p["korean_name"], p["email"], p["role"]) for p in people) == [
        ("김서연", "kim@medi.kr", "PERSON_ROLE_FOUNDER"), ("이준호", "lee@edu.kr", "PERSON_ROLE_FOUNDER"),
    ]  # fmt: skip
    shown = json.loads((await hubctl(companies, "--json", "companies", "show", "1")).stdout)
    assert [p["korean_name"] for p in shown["people"]] == ["김서연"]
    table = await hubctl(companies, "import", "companies", str(path))
    assert "무시하는 열" in table.output and "비고" in table.output
    again = json.loads((await hubctl(companies, "--json", "import", "companies", str(path))).stdout)
    assert again["counts"] == {"unchanged": 3, "rejected": 1}
    assert len(json.loads((await hubctl(companies, "--json", "people", "list")).stdout)) == 2

    # Headers nobody foresaw: --map names them once, and the next import remembers.
    other = tmp_path / "other.csv"
    write_csv(other, [["스타트업", "분류", "Contact"], ["비전랩", "medical", "x"]], "utf-8")
    config = {"XDG_CONFIG_HOME": str(tmp_path / "config")}
    refused = await hubctl(companies, "import", "companies", str(other), env=config)
    assert refused.exit_code == 3 and "--map" in refused.output and "스타트업" in refused.output
    mapped = await hubctl(
        companies, "--json", "import", "companies", str(other), "--map", "스타트업=korean_name, 분류=sector",
        "--dry-run", env=config,
    )  # fmt: skip
    assert json.loads(mapped.stdout)["counts"] == {"create": 1}, mapped.output
    assert (tmp_path / "config" / "hubctl" / "import-columns.json").exists()
    remembered = json.loads((await hubctl(companies, "--json", "import", "companies", str(other), env=config)).stdout)
    assert remembered["counts"] == {"create": 1} and remembered["ignored_columns"] == ["Contact"]
    bad_map = await hubctl(companies, "import", "companies", str(other), "--map", "스타트업=nonsense", env=config)
    assert bad_map.exit_code == 2


async def test_exports_neutralize_formulas_and_import_back_the_same(companies: Running, tmp_path: Path) -> None:
    """A name that a spreadsheet would run as a formula is exported with a leading quote (text in Excel);
    importing the exported file gives back the same names, so nothing is created twice."""
    hostile = ['=HYPERLINK("http://evil.example","클릭")', "+1234", "-마이너스", "@SUM(A1)"]
    for n, name in enumerate(hostile):
        added = await hubctl(companies, "companies", "add", "--ko", name, "--en", f"Firm {n}", "--sector", "medical")
        assert added.exit_code == 0, added.output
    await hubctl(companies, "people", "add", "--ko", "김서연", "--role", "founder", "--company", "1",
                 "--email", "kim@medi.kr", "--phone", "+821012345678")  # fmt: skip
    path = tmp_path / "companies.csv"
    assert (await hubctl(companies, "export", "companies", "-o", str(path))).exit_code == 0
    cells = [row["korean_name"] for row in csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig")))]
    assert cells == ["'" + name for name in hostile]
    again = json.loads((await hubctl(companies, "--json", "import", "companies", str(path))).stdout)
    assert again["counts"] == {"unchanged": 4}, again
    people = tmp_path / "people.csv"
    assert (await hubctl(companies, "export", "people", "-o", str(people))).exit_code == 0
    [person] = csv.DictReader(io.StringIO(people.read_text(encoding="utf-8-sig")))
    assert person["phone"] == "'+821012345678"
    back = json.loads((await hubctl(companies, "--json", "import", "people", str(people))).stdout)
    assert back["counts"] == {"unchanged": 1}, back
    as_json = json.loads((await hubctl(companies, "export", "companies", "--format", "json")).stdout)
    assert [c["korean_name"] for c in as_json] == hostile  # JSON is for programs: values as they are


def test_spreadsheet_cells() -> None:
    from hubctl.transfer import from_spreadsheet_cell, spreadsheet_cell

    for text in ["=1+1", "+82", "-3", "@x", "\tcmd", "\rcmd"]:
        assert spreadsheet_cell(text) == "'" + text and from_spreadsheet_cell(spreadsheet_cell(text)) == text
    assert [spreadsheet_cell(v) for v in (-5, 2.5, "메디비전", "a=b", "")] == [-5, 2.5, "메디비전", "a=b", ""]
    assert from_spreadsheet_cell("'quoted") == "'quoted"  # a quote we did not add stays


async def test_investor_commands_and_the_dashboard_with_investors(investors: RunningInvestors) -> None:
    """Firms, introductions through their states, rounds in Korean amounts, partner keys and the audit log."""
    from services.investors import domain as idomain
    from services.investors import store as istore

    async with investors.runtime.db.write(actor="test") as uow:
        await istore.upsert_directory_company(
            uow.conn, idomain.DirectoryCompany(id=7, korean_name="메디비전", sector="MEDICAL", stage="SEED", version=1)
        )

    async def run(*args: str) -> Result:
        env = {"HUB_INVESTORS_ADDRESS": investors.address, "HUB_TOKEN": ADMIN_TOKEN, "HUB_DATA_DIR": "/nonexistent"}
        return await asyncio.to_thread(runner.invoke, app, ["--config", "/nonexistent/c.toml", *args], env=env)

    firm = await run("investors", "add", "--ko", "한빛벤처스", "--type", "vc")
    assert firm.exit_code == 0 and "한빛벤처스" in firm.output, firm.output
    partner = await run("investors", "add-partner", "--firm", "1", "--ko", "정우성", "--email", "woo@hanbit.vc")
    assert partner.exit_code == 0 and "partners/1" in partner.output
    intro = await run("intros", "request", "--company", "7", "--firm", "1", "--note", "의료 AI 시드")
    assert intro.exit_code == 0 and "requested" in intro.output
    again = await run("intros", "request", "--company", "7", "--firm", "1", "--note", "두 번째")
    assert again.exit_code == 5, again.output  # one open introduction per pair
    skip = await run("intros", "advance", "1", "meeting_held")
    assert skip.exit_code == 5, skip.output  # the state machine refuses a jump
    consented = await run("intros", "advance", "1", "company_consented", "--reason", "대표 동의")
    assert consented.exit_code == 0, consented.output
    history = json.loads((await run("--json", "intros", "show", "1")).stdout)
    assert [h.get("reason", "") for h in history["history"]][-1] == "대표 동의"

    recorded = await run("rounds", "record", "--company", "7", "--type", "seed", "--amount", "15억", "--lead", "1")
    assert recorded.exit_code == 0 and "15억 원" in recorded.output, recorded.output
    bad_amount = await run("rounds", "record", "--company", "7", "--type", "seed", "--amount", "lots")
    assert bad_amount.exit_code == 3 and "15억" in bad_amount.output
    closed = await run("rounds", "close", "1")
    assert closed.exit_code == 0 and "closed" in closed.output

    issued = await run("tokens", "issue", "--partner", "1", "--description", "demo")
    assert issued.exit_code == 0 and "shown once" in issued.output
    keys = json.loads((await run("--json", "tokens", "list")).stdout)
    assert len(keys) == 1 and "secret" not in keys[0]
    assert (await run("tokens", "revoke", keys[0]["name"])).exit_code == 0
    assert (await run("audit", "list")).exit_code == 0

    dashboard = json.loads((await run("--json", "dashboard")).stdout)
    figures = dashboard["figures"]
    assert figures["funding_raised_krw"] == 1_500_000_000 and figures["rounds_closed"] == 1
    assert figures["introductions_by_state"] == {"COMPANY_CONSENTED": 1}
    assert "companies" in dashboard["not_answering"]  # pointed nowhere in this test: named, not fatal


def test_korean_amounts_read_and_written() -> None:
    from hubctl.args import krw, parse_krw

    assert [parse_krw(t).units for t in ("1500000000", "1,500,000,000", "15억", "15억 5,000만", "5000만원")] == [
        1_500_000_000, 1_500_000_000, 1_500_000_000, 1_550_000_000, 50_000_000,
    ]  # fmt: skip
    assert [krw(n) for n in (9_999, 50_000_000, 1_500_000_000, 2_350_000_000)] == [
        "9,999원", "5,000만 원", "15억 원", "23억 5,000만 원",
    ]  # fmt: skip


async def test_consulting_commands_in_seoul_time(consulting: RunningConsulting) -> None:
    """Slots, scheduling in Asia/Seoul wall time, a double booking refused, completion with action items."""
    from datetime import UTC, datetime, timedelta

    from tests.integration.consulting_world import future_monday, know_company, make_mentor, make_room, make_type

    mentor = await make_mentor(consulting, "김도현")
    kind = await make_type(consulting)
    room = await make_room(consulting)
    company = await know_company(consulting, 7, "메디비전")
    monday = future_monday()  # 10:00 in Seoul
    seoul_day = (monday + timedelta(hours=9)).date().isoformat()

    async def run(*args: str) -> Result:
        env = {"HUB_CONSULTING_ADDRESS": consulting.address, "HUB_TOKEN": ADMIN_TOKEN, "HUB_DATA_DIR": "/nonexistent"}
        return await asyncio.to_thread(runner.invoke, app, ["--config", "/nonexistent/c.toml", *args], env=env)

    listed = await run("mentors", "list", "--expertise", "vision")
    assert listed.exit_code == 0 and "김도현" in listed.output, listed.output
    slots = json.loads((await run("--json", "sessions", "find-slots", "--start", seoul_day, "--end", seoul_day,
                                  "--mentor", mentor.name, "--minutes", "60")).stdout)  # fmt: skip
    assert slots["slots"] and slots["slots"][0]["mentor"] == mentor.name
    at = f"{seoul_day} 14:00"
    args = ["sessions", "schedule", "--company", company, "--mentor", mentor.name, "--type", kind.name, "--at", at]
    booked = await run(*args, "--room", room.name)
    assert booked.exit_code == 0 and f"{seoul_day} 14:00–15:00" in booked.output, booked.output
    twice = await run(*args)
    assert twice.exit_code == 5 and "sessions/1" in twice.output, twice.output  # names the holder
    utc = await run("--tz", "UTC", "sessions", "list")
    assert f"{seoul_day} 05:00" in utc.output, utc.output  # 14:00 KST is 05:00 UTC
    early = await run("sessions", "complete", "1", "--notes", "미리")
    assert early.exit_code == 5 and "before it has started" in early.output, early.output
    yesterday = (datetime.now(UTC) + timedelta(hours=9) - timedelta(days=1)).date().isoformat()  # already held
    held = await run("--json", "sessions", "schedule", "--company", company, "--mentor", mentor.name, "--type",
                     kind.name, "--at", f"{yesterday} 10:00")  # fmt: skip
    assert held.exit_code == 0, held.output
    shown = json.loads(held.stdout)
    # Its number: PostgreSQL's sequence also spent one on the refused booking above.
    number = (shown[0] if isinstance(shown, list) else shown)["name"].removeprefix("sessions/")
    done = await run(
        "sessions", "complete", number, "--notes", "투자 유치 전략", "--action", "김서연|2030-01-15|IR 자료 보완"
    )
    assert done.exit_code == 0 and "IR 자료 보완" in done.output, done.output
    bad = await run("sessions", "complete", number, "--action", "no due date")
    assert bad.exit_code == 3
    open_items = json.loads((await run("--json", "actions", "list")).stdout)
    assert [a["owner"] for a in open_items] == ["김서연"]
    assert (await run("actions", "complete", "1")).exit_code == 0
    assert json.loads((await run("--json", "actions", "list")).stdout) == []
    figures = json.loads((await run("--json", "dashboard")).stdout)["figures"]
    assert sum(figures["sessions_by_type"].values()) == 1


async def test_dashboard_shows_follow_ups(notifications: object) -> None:
    from tests.conftest import RunningNotifications

    assert isinstance(notifications, RunningNotifications)
    env = {"HUB_NOTIFICATIONS_ADDRESS": f"127.0.0.1:{notifications.runtime.port}"}
    answer = await hubctl(None, "--json", "dashboard", env=env)
    assert json.loads(answer.stdout)["figures"]["follow_ups"]["deliveries failed"] == 0
    shown = await hubctl(None, "dashboard", env=env)
    assert shown.exit_code == 0 and "follow-ups" in shown.output and "sent in the last 24 h" in shown.output


async def test_followups_stuck_retry_and_cancel(notifications: object, mail_sink: object) -> None:
    from hublocal.mailsink import MailSink
    from services.notifications import domain, rules
    from tests.conftest import RunningNotifications, eventually
    from tests.integration.test_notifications import add_person, plan, settled

    assert isinstance(notifications, RunningNotifications) and isinstance(mail_sink, MailSink)
    env = {"HUB_NOTIFICATIONS_ADDRESS": f"127.0.0.1:{notifications.runtime.port}"}
    await add_person(notifications, "people/1", "seoyeon@medivision.kr")
    mail_sink.handler.refuse_with, mail_sink.handler.refuse_times = "550 5.1.1 mailbox unavailable", 1
    await plan(notifications, domain.recipient("people/1"))
    [failed] = await settled(notifications, "FAILED")

    stuck = await hubctl(None, "followups", "stuck", env=env)
    assert stuck.exit_code == 0 and "seoyeon@medivision.kr" in stuck.output and "550" in stuck.output, stuck.output
    assert "hubctl followups retry" in stuck.output
    retried = await hubctl(None, "followups", "retry", failed.name.removeprefix("deliveries/"), env=env)
    assert retried.exit_code == 0, retried.output
    await settled(notifications, "SENT")
    sent = json.loads((await hubctl(None, "--json", "followups", "deliveries", "--state", "sent", env=env)).stdout)
    assert [d["address"] for d in sent] == ["seoyeon@medivision.kr"]
    again = await hubctl(None, "followups", "retry", failed.name, env=env)
    assert again.exit_code == 5, again.output  # already sent: a conflict, not a second message

    later = notifications.clock() + timedelta(days=2)
    await plan(notifications, domain.recipient("people/1"), rule=rules.COMPANY_WELCOME, due=later)
    [pending] = json.loads((await hubctl(None, "--json", "followups", "list", "--state", "pending", env=env)).stdout)
    cancelled = await hubctl(None, "followups", "cancel", pending["name"], "--reason", "회사 요청", env=env)
    assert cancelled.exit_code == 0 and "cancelled" in cancelled.output
    bad = await hubctl(None, "followups", "list", "--state", "lost", env=env)
    assert bad.exit_code == 3 and "filter" in bad.output
    assert await eventually(lambda: _one(mail_sink))


async def _one(sink: object) -> bool:
    return len(sink.messages) == 1  # type: ignore[attr-defined]


async def test_program_commands_selection_spaces_kpi_support_milestones(companies: Running) -> None:
    """The program's command groups against the real service: Korean names in tables, --json, errors and their
    exit codes, nothing written by a refused command."""
    from datetime import date

    for name in ("메디비전", "닥터노트"):
        assert (await hubctl(companies, "companies", "add", "--ko", name, "--sector", "medical")).exit_code == 0
    today, later = date.today(), date.today() + timedelta(days=14)

    async def run(*args: str) -> Result:
        return await hubctl(companies, *args)

    opened = await run("selection", "open", "--title", "2026 하반기 입주기업 모집", "--from", today.isoformat(),
                       "--to", later.isoformat(), "--desks", "1", "--criterion", "tech:기술성:60",
                       "--criterion", "team:팀:40")  # fmt: skip
    assert opened.exit_code == 0 and "2026 하반기 입주기업 모집" in opened.output, opened.output
    bad = await run("selection", "open", "--title", "x", "--from", "2026-01-01", "--to", "2026-02-01",
                    "--criterion", "tech")  # fmt: skip
    assert bad.exit_code == 3 and "key:title:weight" in bad.output
    for company in ("1", "2"):
        applied = await run("selection", "apply", "--round", "1", "--company", company)
        assert applied.exit_code == 0, applied.output
    listed = await run("selection", "applications", "--round", "1")
    assert listed.exit_code == 0 and "메디비전 (1)" in listed.output and "닥터노트 (2)" in listed.output
    assert (
        await run("selection", "score", "1", "--reviewer", "kim@hub.kr", "--value", "tech=9", "--value", "team=7")
    ).exit_code == 0
    missing = await run("selection", "score", "2", "--reviewer", "kim@hub.kr", "--value", "tech=9")
    assert missing.exit_code == 3 and "score.values" in missing.output
    ranked = await run("selection", "rank", "1")
    assert ranked.exit_code == 0 and "8.20" in ranked.output and "no counted reviews yet" in ranked.output
    assert (await run("selection", "decide", "1", "selected", "--reason", "1위")).exit_code == 0
    full = await run("selection", "decide", "2", "selected", "--reason", "2위")
    assert full.exit_code == 5 and "seat" in full.output
    rounds = json.loads((await run("--json", "selection", "rounds")).stdout)
    assert [(r["name"], r["application_count"], r["competition_ratio"]) for r in rounds] == [("rounds/1", "2", 2.0)]

    space = await stub_space(companies)
    assigned = await run("spaces", "assign", "--space", space, "--company", "1", "--from", today.isoformat())
    assert assigned.exit_code == 0 and "메디비전 (1)" in assigned.output, assigned.output
    taken = await run("spaces", "assign", "--space", space, "--company", "2", "--from", later.isoformat())
    assert taken.exit_code == 5 and "assignments/1" in taken.output
    occupancy = await run("spaces", "occupancy")
    assert occupancy.exit_code == 0 and "1/1" in occupancy.output and "메디비전" in occupancy.output
    assert (await run("spaces", "list")).exit_code == 0
    assert (await run("spaces", "occupancy", "--months", "3")).exit_code == 0

    unexplained = await run("kpi", "report", "--company", "1", "--period", "2026-Q1", "--headcount", "8")
    assert unexplained.exit_code == 3 and "reason" in unexplained.output, unexplained.output
    reported = await run("kpi", "report", "--company", "1", "--period", "2026-Q1", "--headcount", "8",
                         "--revenue", "1억 2000만", "--reason", "창업자 대신 입력")  # fmt: skip
    assert reported.exit_code == 0 and "1억 2,000만 원" in reported.output, reported.output
    bad_period = await run("kpi", "report", "--company", "1", "--period", "2026-13")
    assert bad_period.exit_code == 3 and "report.period" in bad_period.output
    history = json.loads((await run("--json", "kpi", "list", "1")).stdout)
    assert [(r["period"], r["headcount"]) for r in history] == [("2026-Q1", 8)]
    trends = await run("kpi", "trends", "--by", "round")
    assert trends.exit_code == 0 and "rounds/1: 1 companies" in trends.output and "1억 2,000만 원" in trends.output
    as_json = json.loads((await run("--json", "kpi", "trends")).stdout)
    assert as_json["series"][0]["points"][0]["revenue_sum"] == "120000000"
    assert (await run("kpi", "trends", "--by", "colour")).exit_code == 3

    assert (await run("support", "quota", "--company", "1", "--quota", "10")).exit_code == 0
    assert (await run("support", "record", "--company", "1", "--kind", "gpu_hours", "--amount", "8")).exit_code == 0
    over = await run("support", "record", "--company", "1", "--kind", "gpu_hours", "--amount", "5")
    assert over.exit_code == 5 and "quota" in over.output
    by_hand = await run("support", "record", "--company", "1", "--kind", "technical_consultation", "--amount", "1")
    assert by_hand.exit_code == 3 and "grant.kind" in by_hand.output
    ledger = json.loads((await run("--json", "support", "list", "1")).stdout)
    assert ledger["totals"] == [{"kind": "SUPPORT_KIND_GPU_HOURS", "used": "8", "quota": "10"}]

    future = await run("milestones", "add", "--company", "2", "--kind", "funding", "--on", later.isoformat(),
                       "--evidence", "시드 투자")  # fmt: skip
    assert future.exit_code == 3 and "milestone.achieve_date" in future.output
    added = await run("milestones", "add", "--company", "2", "--kind", "overseas_entry", "--on", "2026-02-01",
                      "--url", "https://news.example.kr/2")  # fmt: skip
    assert added.exit_code == 0 and "닥터노트 (2)" in added.output, added.output
    assert [m["name"] for m in json.loads((await run("--json", "milestones", "list", "--company", "2")).stdout)] == [
        "milestones/1"
    ]
    grown = await run("growth")
    assert grown.exit_code == 0 and "firms grown (0)" in grown.output  # 닥터노트 was not selected: not the hub's
    assert (await run("milestones", "remove", "1")).exit_code == 0
    assert (await run("milestones", "remove", "1")).exit_code == 4
    assert json.loads((await run("--json", "milestones", "list")).stdout) == []


async def stub_space(companies: Running) -> str:
    from hub.companies.v1 import program_pb2 as pb

    from tests.conftest import ADMIN
    from tests.integration.test_program_api import stub

    made = await stub(companies).CreateSpace(
        pb.CreateSpaceRequest(space=pb.Space(kind=pb.SPACE_KIND_PRIVATE_OFFICE, label="601", floor=6, seats=4)),
        metadata=ADMIN,
    )
    return made.name


async def test_tokens_issue_list_revoke_admin_service_and_partner(
    companies: Running, investors: RunningInvestors
) -> None:
    """One `hubctl tokens` for every credential: an admin token issued to a program manager works on every
    service until revoked; partner keys as before; secrets shown once and never listed."""
    import re

    from tests.conftest import eventually

    async def run(*args: str, token: str = ADMIN_TOKEN, companies_address: str = "") -> Result:
        env = {
            "HUB_COMPANIES_ADDRESS": companies_address or companies.address,
            "HUB_INVESTORS_ADDRESS": investors.address,
            "HUB_TOKEN": token,
            "HUB_DATA_DIR": "/nonexistent",
        }
        return await asyncio.to_thread(runner.invoke, app, ["--config", "/nonexistent/c.toml", *args], env=env)

    issued = await run(
        "tokens", "issue", "--role", "admin", "--to", "김민지", "--expires", "30d", "--description", "프로그램 매니저"
    )
    assert issued.exit_code == 0 and "admin token for 김민지" in issued.stdout, issued.output
    [minji] = re.findall(r"shown once\): (hubat_\S+)", issued.stdout)
    service = json.loads(
        (await run("--json", "tokens", "issue", "--role", "service", "--to", "리포트", "--expires", "2w")).stdout
    )
    assert service["secret"].startswith("hubat_") and service["role"] == "ACCESS_TOKEN_ROLE_SERVICE"
    assert (await run("investors", "add", "--ko", "한빛벤처스", "--type", "vc")).exit_code == 0
    assert (await run("investors", "add-partner", "--firm", "1", "--ko", "정우성")).exit_code == 0
    in_two_months = (datetime.now(UTC) + timedelta(days=60)).date().isoformat()
    key = await run("tokens", "issue", "--partner", "1", "--description", "demo", "--expires", in_two_months)
    assert key.exit_code == 0 and "key (shown once): hubpk_" in key.stdout, key.output

    # Her token works on both services, for everything an admin may do, issuing tokens included.
    assert (await run("companies", "list", token=minji)).exit_code == 0
    assert (await run("investors", "list", token=minji)).exit_code == 0

    listed = await run("--json", "tokens", "list")
    assert listed.exit_code == 0, listed.output
    found = json.loads(listed.stdout)
    assert [(t["kind"], t.get("subject", t.get("partner"))) for t in found] == [
        ("admin", "김민지"), ("service", "리포트"), ("partner", "partners/1"),
    ]  # fmt: skip
    [partner_key] = re.findall(r"shown once\): (hubpk_\S+)", key.stdout)
    assert all("secret" not in t for t in found)
    assert not any(secret in listed.stdout for secret in (minji, service["secret"], partner_key))
    table = await run("tokens", "list", "--role", "admin")
    assert table.exit_code == 0 and "김민지" in table.stdout and "리포트" not in table.stdout
    assert "hubat_" not in table.stdout  # admin tokens have no visible prefix at all

    revoked = await run("tokens", "revoke", found[0]["name"].removeprefix("accessTokens/"), "--reason", "퇴사")
    assert revoked.exit_code == 0 and "revoked accessTokens/" in revoked.stdout, revoked.output
    refused = await run("companies", "list", token=minji)
    assert refused.exit_code == 6 and "revoked" in refused.output

    async def refused_by_investors() -> bool:
        return (await run("investors", "list", token=minji)).exit_code == 6

    await eventually(refused_by_investors)
    assert len(json.loads((await run("--json", "tokens", "list")).stdout)) == 2
    everything = await run("tokens", "list", "--revoked")
    assert "퇴사" in everything.stdout and "tokens (3)" in everything.stdout

    # Mistakes, each with its exit code; partner keys are revoked by number as before.
    assert (await run("tokens", "issue", "--role", "admin")).exit_code == 2
    assert (await run("tokens", "issue", "--role", "robot", "--to", "x")).exit_code == 2
    too_long = await run("tokens", "issue", "--role", "admin", "--to", "김민지", "--expires", "100d")
    assert too_long.exit_code == 3 and "expire_time" in too_long.output and "90 days" in too_long.output
    assert (await run("tokens", "issue", "--role", "admin", "--to", "김민지", "--expires", "soon")).exit_code == 3
    assert (await run("tokens", "revoke", "abcdefghijklmnop")).exit_code == 4
    assert (await run("tokens", "revoke", found[0]["name"])).exit_code == 5  # already revoked
    assert (await run("tokens", "revoke", "1")).exit_code == 0  # apiKeys/1
    assert (await run("tokens", "issue", "--role", "admin", "--to", "x", token=minji)).exit_code == 6

    # The companies service down: the partner keys still listed, the silent service named, exit 7.
    partial = await run("--json", "tokens", "list", "--revoked", companies_address="127.0.0.1:1")
    assert partial.exit_code == 7 and [t["kind"] for t in json.loads(partial.stdout)] == ["partner"]
    assert "not answering" in partial.output and "companies" in partial.output


async def test_tokens_revoke_says_whether_the_revocation_left_while_nats_is_down(
    companies: Running, investors: RunningInvestors, nats_server: NatsServer
) -> None:
    """With NATS down the other services keep accepting a revoked token until the event bus is back: the CLI
    says so, instead of promising every service refuses it within moments."""
    import re

    from tests.conftest import eventually

    async def run(*args: str, token: str = ADMIN_TOKEN) -> Result:
        env = {"HUB_INVESTORS_ADDRESS": investors.address}
        return await hubctl(companies, *args, token=token, env=env)

    secrets = []
    for person in ("김민지", "이서준"):
        issued = await run("tokens", "issue", "--role", "admin", "--to", person)
        secrets += re.findall(r"shown once\): (hubat_\S+)", issued.stdout)
    found = json.loads((await run("--json", "tokens", "list")).stdout)
    minji, seojun = secrets
    nats_server.stop(kill=True)

    revoked = await run("tokens", "revoke", found[0]["name"], "--reason", "퇴사", "--wait", "1")
    assert revoked.exit_code == 0, revoked.output
    assert "only the companies service refuses it now" in revoked.stdout and "모든 서비스" not in revoked.stdout
    assert (await run("companies", "list", token=minji)).exit_code == 6
    assert (await run("investors", "list", token=minji)).exit_code == 0  # what the CLI said: not yet
    as_json = json.loads((await run("--json", "tokens", "revoke", found[1]["name"], "--wait", "0")).stdout)
    assert as_json["delivered"] is False and as_json["unpublished_events"] >= 2

    nats_server.start()  # the outbox leaves; every service refuses both

    async def refused_by_investors(token: str = seojun) -> bool:
        return (await run("investors", "list", token=token)).exit_code == 6

    await eventually(refused_by_investors)
    third = await run("tokens", "issue", "--role", "admin", "--to", "박하늘")
    [haneul] = re.findall(r"shown once\): (hubat_\S+)", third.stdout)
    name = json.loads((await run("--json", "tokens", "list")).stdout)[0]["name"]
    delivered = await run("tokens", "revoke", name, "--wait", "10")
    assert "모든 서비스에 전달됨 (delivered to every service)" in delivered.stdout, delivered.output
    await eventually(lambda: refused_by_investors(haneul))


async def test_dashboard_counts_people_and_kinds_within_the_targets_period(consulting: RunningConsulting) -> None:
    """The crafted hub of tests/integration/test_target_counts.py, seen through `hubctl dashboard` with a period
    of the last 100 days: the figures within it, the programs behind the collaboration figure, and the pace."""
    from datetime import timedelta

    from hubcore.convert import seoul_today
    from hubcore.targets import TargetPeriod, pace
    from tests.integration.test_target_counts import crafted_hub

    await crafted_hub(consulting)
    today = seoul_today()
    period = TargetPeriod(today - timedelta(days=99), today + timedelta(days=100))
    env = {
        "HUB_CONSULTING_ADDRESS": consulting.address, "HUB_TOKEN": ADMIN_TOKEN, "HUB_DATA_DIR": "/nonexistent",
        "HUB_TARGETS_START": period.start.isoformat(), "HUB_TARGETS_END": period.end.isoformat(),
    }  # fmt: skip

    async def run(*args: str) -> Result:
        return await asyncio.to_thread(runner.invoke, app, ["--config", "/nonexistent/c.toml", *args], env=env)

    answer = json.loads((await run("--json", "dashboard")).stdout)
    figures, progress = answer["figures"], answer["progress"]
    # Inside the period: classes 2 and 3, the briefing, the salon and the job fair (the first class and the
    # workshop fell before it). A person counts as trained in the period when the class that made them trained
    # started in it: only 이준호 of companies/2 (김서연, three classes, was trained at her first, before it).
    assert (figures["experts"], figures["participants"], figures["distinct_participants"]) == (1, 11, 6)
    assert figures["programs"] == 1 and figures["programs_held_all_kinds"] == 5
    assert [p["display_name"] for p in figures["collaboration_programs"]] == ["투자 설명회"]
    assert figures["collaboration_programs"][0]["participants"] == 3
    assert progress["period"] == {"start": period.start.isoformat(), "end": period.end.isoformat()}
    expected = pace(1, 500, period, today)  # 499 people in the 101 days left of 200 (3.32 months): 151 a month
    assert progress["experts"]["per_month_needed"] == expected.per_month == 151
    assert progress["experts"]["pace"] == "월 151명 필요 (계획보다 늦음)"
    shown = await run("dashboard")
    assert shown.exit_code == 0, shown.output
    for text in ("월 151명 필요", "투자 설명회", "서로 다른 사람", f"{period.start} ~ {period.end}"):
        assert text in shown.output, shown.output
