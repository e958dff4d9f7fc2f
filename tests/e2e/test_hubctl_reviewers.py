"""hubctl's reviewer commands against the real companies service, in Korean first: a program manager adds
reviewers, invites one to sign in, assigns them (a declared conflict refuses an application named and is left out of
a round), sees who reviews what, records a score for a reviewer only with a reason, and ranks normalized."""

from __future__ import annotations

import json
from datetime import date, timedelta

from hub.companies.v1 import program_pb2 as pb
from hub.companies.v1 import program_pb2_grpc

from tests.conftest import Running
from tests.e2e.test_hubctl import hubctl
from tests.integration.test_reviewers import signed


async def test_reviewers_add_list_invite_assign_and_score_for_them(companies: Running) -> None:
    for name in ("메디비전", "닥터노트"):
        assert (await hubctl(companies, "companies", "add", "--ko", name, "--sector", "medical")).exit_code == 0
    today, later = date.today(), date.today() + timedelta(days=14)
    opened = await hubctl(companies, "selection", "open", "--title", "2026 하반기 입주기업 모집",
                          "--from", today.isoformat(), "--to", later.isoformat(), "--desks", "2",
                          "--criterion", "tech:기술성:60", "--criterion", "team:팀:40")  # fmt: skip
    assert opened.exit_code == 0, opened.output
    for company in ("1", "2"):
        assert (await hubctl(companies, "selection", "apply", "--round", "1", "--company", company)).exit_code == 0

    added = await hubctl(companies, "selection", "reviewers", "add", "--ko", "박지훈", "--en", "Jihoon Park",
                         "--email", "JH.Park@kaist.ac.kr", "--affiliation", "KAIST 전산학부")  # fmt: skip
    assert added.exit_code == 0 and "등록함 (added) reviewers/1" in added.stdout, added.output
    bad = await hubctl(companies, "selection", "reviewers", "add", "--ko", "이수민", "--email", "nope")
    assert bad.exit_code == 3 and "reviewer.email" in bad.output
    listed = await hubctl(companies, "selection", "reviewers", "list")
    assert listed.exit_code == 0 and "박지훈" in listed.stdout and "jh.park@kaist.ac.kr" in listed.stdout
    assert [r["korean_name"] for r in json.loads((await hubctl(companies, "--json", "selection", "reviewers",
                                                                "list")).stdout)] == ["박지훈"]  # fmt: skip

    invited = await hubctl(companies, "identities", "invite", "--reviewer", "1")
    assert invited.exit_code == 0 and "박지훈 <jh.park@kaist.ac.kr>, 심사위원 reviewer of reviewers/1" in invited.stdout
    reviewers_only = await hubctl(companies, "--json", "identities", "list", "--role", "reviewer")
    assert [i["scope"] for i in json.loads(reviewers_only.stdout)] == ["reviewers/1"]

    # The reviewer declares their conflict with 닥터노트 themselves; assigning them to it is refused.
    program = program_pb2_grpc.ProgramServiceStub(companies.channel)
    conflict = pb.Conflict(round="rounds/1", applicant="companies/2", reason="전 직장")
    await program.DeclareConflict(pb.DeclareConflictRequest(conflict=conflict), metadata=signed("reviewers/1"))
    refused = await hubctl(companies, "selection", "assign", "1", "1", "2")
    assert refused.exit_code == 5 and "conflict of interest" in refused.output, refused.output
    neither = await hubctl(companies, "selection", "assign", "1")
    assert neither.exit_code == 2 and "--round" in neither.output
    whole = await hubctl(companies, "selection", "assign", "1", "--round", "1")
    assert whole.exit_code == 0, whole.output
    assert "배정함 (assigned) reviewers/1: 1" in whole.stdout and "이해충돌로 제외" in whole.stdout
    assert "applications/2" in whole.stdout
    shown = await hubctl(companies, "selection", "assignments", "--reviewer", "1")
    assert shown.exit_code == 0 and "applications/1" in shown.stdout and "배정 assigned" in shown.stdout

    # A score for the reviewer: only with a reason, and the record says so.
    score = ("selection", "score", "1", "--reviewer", "reviewers/1", "--value", "tech=9", "--value", "team=7")
    no_reason = await hubctl(companies, *score)
    assert no_reason.exit_code == 3 and "reason" in no_reason.output
    scored = await hubctl(companies, "--json", *score, "--reason", "서면 평가표 대리 입력")
    assert scored.exit_code == 0, scored.output
    recorded = json.loads(scored.stdout)
    assert (recorded["reviewer"], recorded["reason"], recorded["weighted"]) == (
        "reviewers/1", "서면 평가표 대리 입력", 8.2,
    )  # fmt: skip
    assert recorded["recorded_by"].startswith("admin:")
    after = json.loads((await hubctl(companies, "--json", "selection", "assignments", "--round", "1")).stdout)
    assert [a["state"] for a in after] == ["REVIEW_STATE_SCORED"]

    ranked = await hubctl(companies, "selection", "rank", "1", "--normalized")
    assert ranked.exit_code == 0, ranked.output
    assert "normalized score 0.00 (weighted 8.20)" in ranked.stdout
    raw = json.loads((await hubctl(companies, "--json", "selection", "rank", "1")).stdout)
    assert raw["scale"] == "SCORE_SCALE_RAW"
