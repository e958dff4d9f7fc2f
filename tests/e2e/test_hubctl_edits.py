"""hubctl's edits of firms and partners (against the real investors service) and the program's spaces and conflicts
of interest (against the real companies service), in Korean first: only the fields given change, a stale etag is
refused, a bad value names its field, and a declared conflict refuses the reviewer's score."""

from __future__ import annotations

import json
from datetime import date, timedelta

from typer.testing import Result

from tests.conftest import Running, RunningInvestors
from tests.e2e.test_hubctl import hubctl


async def test_firms_and_partners_are_edited_with_their_etag(investors: RunningInvestors) -> None:
    env = {"HUB_INVESTORS_ADDRESS": investors.address}

    async def run(*args: str) -> Result:
        return await hubctl(None, *args, env=env)

    assert (await run("investors", "add", "--ko", "한빛벤처스", "--type", "vc")).exit_code == 0
    assert (
        await run("investors", "add-partner", "--firm", "1", "--ko", "정우성", "--email", "woo@hanbit.vc")
    ).exit_code == 0

    firm_etag = json.loads((await run("--json", "investors", "show", "1")).stdout)["firm"]["etag"]
    edited = await run("investors", "edit", "1", "--en", "Hanbit Ventures", "--type", "cvc", "--etag", firm_etag)
    assert edited.exit_code == 0 and "수정함 (updated) firms/1" in edited.stdout, edited.output
    assert "Hanbit Ventures" in edited.stdout and "cvc" in edited.stdout
    stale = await run("investors", "edit", "1", "--website", "https://hanbit.vc", "--etag", firm_etag)
    assert stale.exit_code == 5 and "stale" in stale.output, stale.output
    firm = json.loads((await run("--json", "investors", "show", "1")).stdout)["firm"]
    assert (firm["english_name"], firm.get("website", "")) == ("Hanbit Ventures", "")
    bad_type = await run("investors", "edit", "1", "--type", "bank")
    assert bad_type.exit_code == 3 and "unknown type 'bank'" in bad_type.output
    blank = await run("investors", "edit", "1", "--ko", " ")
    assert blank.exit_code == 3 and "firm.korean_name" in blank.output, blank.output
    assert (await run("investors", "edit", "9", "--en", "Nobody")).exit_code == 4

    partner = json.loads((await run("--json", "investors", "partner", "1")).stdout)
    assert partner["korean_name"] == "정우성"
    changed = await run("investors", "edit-partner", "1", "--title", "파트너", "--focus", "medical ai", "--focus",
                        "robotics", "--etag", partner["etag"])  # fmt: skip
    assert changed.exit_code == 0 and "수정함 (updated) partners/1" in changed.stdout, changed.output
    assert "medical ai, robotics" in changed.stdout
    late = await run("investors", "edit-partner", "1", "--title", "대표", "--etag", partner["etag"])
    assert late.exit_code == 5 and "stale" in late.output
    bad_phone = await run("investors", "edit-partner", "1", "--phone", "010-1234")
    assert bad_phone.exit_code == 3 and "partner.phone" in bad_phone.output, bad_phone.output
    assert (await run("investors", "edit-partner", "9", "--title", "대표")).exit_code == 4
    listed = json.loads((await run("--json", "investors", "partners", "--firm", "1")).stdout)
    assert [(p["title"], p["focus"]) for p in listed] == [("파트너", ["medical ai", "robotics"])]
    table = await run("investors", "partners")
    assert "이름 name" in table.stdout and "정우성" in table.stdout


async def test_spaces_add_and_a_declared_conflict_refuses_scoring(companies: Running) -> None:
    async def run(*args: str) -> Result:
        return await hubctl(companies, *args)

    added = await run("spaces", "add", "--label", "601", "--kind", "private_office", "--floor", "6", "--seats", "4")
    assert added.exit_code == 0 and "등록함 (added) spaces/1" in added.stdout and "독립 사무실" in added.stdout, (
        added.output
    )
    twice = await run("spaces", "add", "--label", "601", "--kind", "open_desk", "--floor", "6")
    assert twice.exit_code == 5, twice.output
    no_seats = await run("spaces", "add", "--label", "D-07", "--kind", "open_desk", "--floor", "6", "--seats", "0")
    assert no_seats.exit_code == 3 and "space.seats" in no_seats.output, no_seats.output
    assert [s["label"] for s in json.loads((await run("--json", "spaces", "list")).stdout)] == ["601"]

    for name in ("메디비전", "닥터노트"):
        assert (await run("companies", "add", "--ko", name, "--sector", "medical")).exit_code == 0
    today = date.today()
    later = (today + timedelta(days=14)).isoformat()
    opened = await run("selection", "open", "--title", "2026 하반기", "--from", today.isoformat(), "--to", later,
                       "--desks", "2", "--criterion", "tech:기술성:100")  # fmt: skip
    assert opened.exit_code == 0, opened.output
    for company in ("1", "2"):
        assert (await run("selection", "apply", "--round", "1", "--company", company)).exit_code == 0
    assert (await run("selection", "reviewers", "add", "--ko", "박지훈", "--email", "jh@kaist.ac.kr")).exit_code == 0
    assert (await run("selection", "assign", "1", "--round", "1")).exit_code == 0

    unnamed = await run("selection", "conflict", "1", "--round", "1", "--applicant", "2")
    assert unnamed.exit_code == 3 and "companies/7" in unnamed.output
    nobody = await run("selection", "conflict", "9", "--round", "1", "--applicant", "companies/2", "--reason", "지인")
    assert nobody.exit_code == 4, nobody.output
    stranger = await run(
        "selection", "conflict", "1", "--round", "1", "--applicant", "companies/99", "--reason", "지인"
    )
    assert stranger.exit_code == 4 and "companies/99" in stranger.output, stranger.output
    declared = await run("selection", "conflict", "1", "--round", "1", "--applicant", "companies/2",
                         "--reason", "전 직장 동료")  # fmt: skip
    assert declared.exit_code == 0, declared.output
    assert "이해충돌 신고함 (conflict declared) reviewers/1 ↔ companies/2 (rounds/1): 전 직장 동료" in declared.stdout
    score = ("selection", "score", "2", "--reviewer", "reviewers/1", "--value", "tech=9", "--reason", "서면 평가표")
    refused = await run(*score)
    assert refused.exit_code == 5 and "conflict" in refused.output, refused.output
    other = await run("selection", "score", "1", "--reviewer", "reviewers/1", "--value", "tech=8", "--reason", "서면")
    assert other.exit_code == 0, other.output
    states = json.loads((await run("--json", "selection", "assignments", "--round", "1")).stdout)
    assert sorted((a["application"], a["state"]) for a in states) == [
        ("applications/1", "REVIEW_STATE_SCORED"), ("applications/2", "REVIEW_STATE_CONFLICTED"),
    ]  # fmt: skip
