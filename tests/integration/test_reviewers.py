"""Selection reviewers act for themselves, end to end: a program manager adds reviewers and assigns them; a reviewer
invited through IdentityService signs in with the code the notifications worker mails through a real SMTP server,
and with that token sees only the applications assigned to them, declares conflicts, abstains and scores as the
reviewer the token names, never another; a conflict refuses an assignment and a score; a program manager records
or corrects a reviewer's score only with a reason, kept with who did it; rankings raw and normalized. On SQLite
and PostgreSQL, over real NATS."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
import pytest
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as pb
from hub.ops.v1 import identities_pb2 as ipb
from hub.ops.v1 import tokens_pb2 as tpb

from hubcore import tokens
from hubcore.db import now
from hublocal.mailsink import MailSink
from services.companies import tables
from tests.conftest import ADMIN, TOKEN_SIGNING_KEY, Running, RunningNotifications, row_counts
from tests.integration.test_program_api import (
    apply,
    bad_fields,
    company,
    new_round,
    precondition,
    refused,
    stub,
)
from tests.integration.test_sign_in import bearer, mailed_code, sign_in
from tests.integration.test_sign_in import stub as identities

VALUES = {"tech": 8, "market": 7, "team": 9}


async def add_reviewer(c: Running, korean: str, email: str, affiliation: str = "KAIST 전산학부") -> pb.Reviewer:
    reviewer = pb.Reviewer(korean_name=korean, english_name="Jihoon Park", email=email, affiliation=affiliation)
    return await stub(c).CreateReviewer(pb.CreateReviewerRequest(reviewer=reviewer), metadata=ADMIN)


def signed(scope: str) -> tuple[tuple[str, str], ...]:
    """A reviewer's token as sign-in issues it, where the sign-in flow is not the point."""
    moment = now().replace(microsecond=0)
    claims = tokens.Claims(tokens.new_token_id(), "이수민", "reviewer", moment, moment + timedelta(hours=8), scope)
    return bearer(tokens.sign(claims, TOKEN_SIGNING_KEY))


def scoring(application: str, reviewer: str = "", reason: str = "", **values: int) -> pb.ScoreApplicationRequest:
    score = pb.Score(application=application, reviewer=reviewer, values=values or VALUES, comment="기술 완성도 높음")
    return pb.ScoreApplicationRequest(score=score, reason=reason)


async def test_a_reviewer_signs_in_and_reviews_only_what_is_assigned_to_them(
    companies: Running, notifications: RunningNotifications, mail_sink: MailSink
) -> None:
    c, api = companies, stub(companies)
    r = await new_round(c, desks=3)
    a, b, d = [await apply(c, r.name, await company(c, n)) for n in ("메디비전", "닥터노트", "에듀마인드")]
    park = await add_reviewer(c, "박지훈", "JH.Park@KAIST.ac.kr")
    lee = await add_reviewer(c, "이수민", "sm.lee@snu.ac.kr", "서울대 경영학과")
    assert (park.name, park.email, park.affiliation) == ("reviewers/1", "jh.park@kaist.ac.kr", "KAIST 전산학부")
    listed = await api.ListReviewers(pb.ListReviewersRequest(), metadata=ADMIN)
    assert [x.korean_name for x in listed.reviewers] == ["박지훈", "이수민"]

    # The invitation: the reviewer's record gives the address and the name; the code comes by mail.
    wanted = ipb.Identity(role=ipb.IDENTITY_ROLE_REVIEWER, scope=park.name)
    identity = await identities(c).CreateIdentity(ipb.CreateIdentityRequest(identity=wanted), metadata=ADMIN)
    assert (identity.email, identity.display_name, identity.scope) == ("jh.park@kaist.ac.kr", "박지훈", park.name)
    code, mail = await mailed_code(mail_sink, "jh.park@kaist.ac.kr")
    assert "선발 심사위원으로 초대되었습니다" in mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [token] = (await sign_in(c, "jh.park@kaist.ac.kr", code)).access_tokens
    assert (token.role, token.scope) == (tpb.ACCESS_TOKEN_ROLE_REVIEWER, park.name)
    reviewer = bearer(token.secret)

    # Their own conflict, under the name their token gives (the request names nobody).
    declared = await api.DeclareConflict(
        pb.DeclareConflictRequest(conflict=pb.Conflict(round=r.name, applicant=b.applicant, reason="전 직장 동료")),
        metadata=reviewer,
    )
    assert declared.reviewer == park.name
    for unknown in ("companies/9999", "people/9999"):  # an applicant the hub does not know: nothing declared
        before = await row_counts(c.runtime.db)
        made = pb.Conflict(round=r.name, applicant=unknown, reason="모르는 지원자")
        await refused(
            api.DeclareConflict(pb.DeclareConflictRequest(conflict=made), metadata=reviewer), grpc.StatusCode.NOT_FOUND
        )
        assert await row_counts(c.runtime.db) == before

    # An application named whose applicant they are in conflict with: refused, and nothing is assigned.
    before = await row_counts(c.runtime.db)
    assign = pb.AssignReviewerRequest(reviewer=park.name, applications=[a.name, b.name])
    status = await refused(api.AssignReviewer(assign, metadata=ADMIN), grpc.StatusCode.FAILED_PRECONDITION)
    assert precondition(status) == "CONFLICT_OF_INTEREST" and b.applicant in status.message
    assert await row_counts(c.runtime.db) == before
    # The whole round: every application but the conflicted one; twice changes nothing.
    for _ in range(2):
        whole = await api.AssignReviewer(pb.AssignReviewerRequest(reviewer=park.name, round=r.name), metadata=ADMIN)
        assert [x.application for x in whole.assignments] == [a.name, d.name] and list(whole.conflicted) == [b.name]
        assert all(
            x.state == pb.REVIEW_STATE_ASSIGNED and x.assigned_by.startswith("admin:") for x in whole.assignments
        )

    # They see what is assigned to them, and nothing else.
    mine = await api.ListApplications(pb.ListApplicationsRequest(), metadata=reviewer)
    assert [x.name for x in mine.applications] == [a.name, d.name]
    # By their applicants' names, which a reviewer may not look up, so they know whom they judge.
    assert [x.applicant_display_name for x in mine.applications] == ["메디비전", "에듀마인드"]
    read = await api.GetApplication(pb.GetApplicationRequest(name=a.name), metadata=reviewer)
    assert (read.name, read.applicant_display_name) == (a.name, "메디비전") and a.applicant_display_name == "메디비전"
    asked = cpb.GetCompanyRequest(name=a.applicant)
    await refused(c.companies.GetCompany(asked, metadata=reviewer), grpc.StatusCode.PERMISSION_DENIED)
    await refused(
        api.GetApplication(pb.GetApplicationRequest(name=b.name), metadata=reviewer), grpc.StatusCode.NOT_FOUND
    )
    others = pb.ListApplicationsRequest(filter=f"reviewer={lee.name}")
    await refused(api.ListApplications(others, metadata=reviewer), grpc.StatusCode.PERMISSION_DENIED)
    assert (await api.GetReviewer(pb.GetReviewerRequest(name=park.name), metadata=reviewer)).korean_name == "박지훈"
    # The round they review in, with the criteria they score; a round they review nothing in does not exist for them.
    shown = await api.GetRound(pb.GetRoundRequest(name=r.name), metadata=reviewer)
    assert [c.key for c in shown.criteria] == list(VALUES)
    elsewhere = await new_round(c)
    await refused(api.GetRound(pb.GetRoundRequest(name=elsewhere.name), metadata=reviewer), grpc.StatusCode.NOT_FOUND)
    for call in (
        api.GetReviewer(pb.GetReviewerRequest(name=lee.name), metadata=reviewer),
        api.ListReviewers(pb.ListReviewersRequest(), metadata=reviewer),
        api.AssignReviewer(pb.AssignReviewerRequest(reviewer=park.name, round=r.name), metadata=reviewer),
        api.RankApplications(pb.RankApplicationsRequest(round=r.name), metadata=reviewer),
        api.DecideApplication(
            pb.DecideApplicationRequest(name=a.name, decision=pb.APPLICATION_STATE_SELECTED, reason="x"),
            metadata=reviewer,
        ),
    ):
        await refused(call, grpc.StatusCode.PERMISSION_DENIED)

    # They score as themselves: once; not for another reviewer; not what is not theirs; not in conflict.
    scored = await api.ScoreApplication(scoring(a.name), metadata=reviewer)
    assert (scored.reviewer, scored.reason, scored.weighted) == (park.name, "", pytest.approx(8.0))
    assert scored.recorded_by.startswith("reviewer:accessTokens/")
    await refused(api.ScoreApplication(scoring(a.name), metadata=reviewer), grpc.StatusCode.ALREADY_EXISTS)
    impersonating = scoring(d.name, reviewer=lee.name)
    await refused(api.ScoreApplication(impersonating, metadata=reviewer), grpc.StatusCode.PERMISSION_DENIED)
    await refused(api.ScoreApplication(scoring(b.name), metadata=reviewer), grpc.StatusCode.NOT_FOUND)

    # Abstaining: with a reason; after it, no score.
    abstain = pb.AbstainFromReviewRequest(application=d.name, reason="해당 분야 전문성 부족")
    abstained = await api.AbstainFromReview(abstain, metadata=reviewer)
    assert (abstained.state, abstained.abstain_reason) == (pb.REVIEW_STATE_ABSTAINED, "해당 분야 전문성 부족")
    late = await refused(api.ScoreApplication(scoring(d.name), metadata=reviewer), grpc.StatusCode.FAILED_PRECONDITION)
    assert precondition(late) == "REVIEW_ABSTAINED"
    states = await api.ListReviewAssignments(pb.ListReviewAssignmentsRequest(), metadata=reviewer)
    assert [(x.application, x.state) for x in states.assignments] == [
        (a.name, pb.REVIEW_STATE_SCORED), (d.name, pb.REVIEW_STATE_ABSTAINED),
    ]  # fmt: skip

    # Another reviewer (a signed token): assigned, then in conflict: they cannot score it any more.
    second = signed(lee.name)
    await api.AssignReviewer(pb.AssignReviewerRequest(reviewer=lee.name, applications=[a.name]), metadata=ADMIN)
    conflict = pb.Conflict(round=r.name, reviewer=lee.name, applicant=a.applicant, reason="투자 관계")
    await api.DeclareConflict(pb.DeclareConflictRequest(conflict=conflict), metadata=second)
    coi = await refused(api.ScoreApplication(scoring(a.name), metadata=second), grpc.StatusCode.FAILED_PRECONDITION)
    assert precondition(coi) == "CONFLICT_OF_INTEREST"
    theirs = await api.ListReviewAssignments(pb.ListReviewAssignmentsRequest(), metadata=second)
    assert [(x.application, x.state) for x in theirs.assignments] == [(a.name, pb.REVIEW_STATE_CONFLICTED)]
    assert [
        x.name for x in (await api.ListApplications(pb.ListApplicationsRequest(), metadata=second)).applications
    ] == [a.name]

    # A program manager records a score for a reviewer only with a reason, for an assigned reviewer.
    no_reason = await refused(
        api.ScoreApplication(scoring(b.name, reviewer=lee.name), metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert bad_fields(no_reason) == ["reason"]
    unassigned = await refused(
        api.ScoreApplication(scoring(b.name, reviewer=lee.name, reason="서면 평가표 대리 입력"), metadata=ADMIN),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert precondition(unassigned) == "NOT_ASSIGNED"
    await api.AssignReviewer(pb.AssignReviewerRequest(reviewer=lee.name, applications=[b.name]), metadata=ADMIN)
    on_behalf = await api.ScoreApplication(
        scoring(b.name, reviewer=lee.name, reason="서면 평가표 대리 입력", tech=4, market=4, team=4), metadata=ADMIN
    )
    assert (on_behalf.reviewer, on_behalf.reason) == (lee.name, "서면 평가표 대리 입력")
    assert on_behalf.recorded_by.startswith("admin:")
    # A correction of the reviewer's own score: replaced, with who and why.
    corrected = await api.ScoreApplication(
        scoring(a.name, reviewer=park.name, reason="심사위원 요청: 시장성 오기 정정", tech=8, market=9, team=9),
        metadata=ADMIN,
    )
    assert corrected.weighted == pytest.approx(8.6) and corrected.recorded_by.startswith("admin:")
    # Free text under any name is over in a round with assigned reviewers.
    typed = await refused(
        api.ScoreApplication(scoring(d.name, reviewer="someone@hub.kr"), metadata=ADMIN),
        grpc.StatusCode.FAILED_PRECONDITION,
    )
    assert precondition(typed) == "REVIEWERS_ASSIGNED"
    async with c.runtime.db.read() as conn:
        rows = (await conn.execute(tables.scores.select().order_by(tables.scores.c.reviewer))).all()
    assert [(x.reviewer, x.reason, x.recorded_by.split(":")[0]) for x in rows] == [
        (park.name, "심사위원 요청: 시장성 오기 정정", "admin"), (lee.name, "서면 평가표 대리 입력", "admin"),
    ]  # fmt: skip

    # Who reviews what, as a program manager pages through it.
    seen, page = [], ""
    while True:
        got = await api.ListReviewAssignments(
            pb.ListReviewAssignmentsRequest(page_size=1, page_token=page), metadata=ADMIN
        )
        seen += [(x.application, x.reviewer) for x in got.assignments]
        if not (page := got.next_page_token):
            break
    assert seen == [(a.name, park.name), (d.name, park.name), (a.name, lee.name), (b.name, lee.name)]
    of_round = pb.ListReviewAssignmentsRequest(filter=f"reviewer={lee.name} AND round={r.name}")
    assert len((await api.ListReviewAssignments(of_round, metadata=ADMIN)).assignments) == 2

    # The ranking shows both scores and says which one ordered it (raw by default).
    raw = await api.RankApplications(pb.RankApplicationsRequest(round=r.name), metadata=ADMIN)
    assert raw.scale == pb.SCORE_SCALE_RAW
    assert [(e.application, e.weighted_score) for e in raw.entries[:2]] == [
        (a.name, pytest.approx(8.6)), (b.name, pytest.approx(4.0)),
    ]  # fmt: skip
    normalized = await api.RankApplications(
        pb.RankApplicationsRequest(round=r.name, scale=pb.SCORE_SCALE_NORMALIZED), metadata=ADMIN
    )
    assert normalized.scale == pb.SCORE_SCALE_NORMALIZED
    # Each reviewer has scored one application: both stand at their reviewer's mean (0), the raw score breaks the tie.
    assert [(e.application, e.normalized_score) for e in normalized.entries[:2]] == [(a.name, 0.0), (b.name, 0.0)]
    assert normalized.entries[1].explanation.startswith(f"tied with {a.name} at normalized score 0.00")


async def test_inviting_a_reviewer_needs_their_record_alone(companies: Running) -> None:
    park = await add_reviewer(companies, "박지훈", "jh.park@kaist.ac.kr")

    async def invite(**fields: Any) -> ipb.Identity:
        wanted = ipb.Identity(role=ipb.IDENTITY_ROLE_REVIEWER, **fields)
        return await identities(companies).CreateIdentity(ipb.CreateIdentityRequest(identity=wanted), metadata=ADMIN)

    typed = await refused(invite(scope=park.name, email="other@hub.kr"), grpc.StatusCode.INVALID_ARGUMENT)
    assert bad_fields(typed) == ["identity.scope"]
    assert bad_fields(await refused(invite(scope="companies/1"), grpc.StatusCode.INVALID_ARGUMENT)) == [
        "identity.scope"
    ]
    await refused(invite(scope="reviewers/99"), grpc.StatusCode.NOT_FOUND)
    assert (await invite(scope=park.name)).email == "jh.park@kaist.ac.kr"
    await refused(invite(scope=park.name), grpc.StatusCode.ALREADY_EXISTS)
    # A reviewer's record asks for a name and an address; the rest is checked field by field.
    api = stub(companies)
    bad = await refused(
        api.CreateReviewer(pb.CreateReviewerRequest(reviewer=pb.Reviewer(email="nope")), metadata=ADMIN),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert sorted(bad_fields(bad)) == ["reviewer.email", "reviewer.korean_name"]
    await refused(
        api.GetReviewer(pb.GetReviewerRequest(name="reviewers/99"), metadata=ADMIN), grpc.StatusCode.NOT_FOUND
    )
    r = await new_round(companies)
    neither = await refused(
        api.AssignReviewer(pb.AssignReviewerRequest(reviewer=park.name), metadata=ADMIN),
        grpc.StatusCode.INVALID_ARGUMENT,
    )
    assert bad_fields(neither) == ["applications"]
    await refused(
        api.AssignReviewer(pb.AssignReviewerRequest(reviewer="reviewers/99", round=r.name), metadata=ADMIN),
        grpc.StatusCode.NOT_FOUND,
    )
