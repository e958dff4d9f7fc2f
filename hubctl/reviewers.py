"""hubctl selection reviewers | assign | assignments | score: the selection's reviewers, for program managers.
Reviewers are added once (`selection reviewers add`), invited to sign in for themselves (`identities invite
--reviewer`), and assigned to applications or a whole round; they then score for themselves. A program manager
records or corrects a reviewer's score only with a reason."""

from __future__ import annotations

from typing import Annotated

import typer
from hub.companies.v1 import program_pb2 as pb

from hubctl import args
from hubctl.client import Client, Commands, as_dict, fail, when
from hubctl.program import ApplicationArgument, selection_app

reviewers_app = Commands(help="심사위원 (selection reviewers): 등록, 목록 (add, list).")
selection_app.add_typer(reviewers_app, name="reviewers")

STATES = {
    pb.REVIEW_STATE_ASSIGNED: "배정 assigned",
    pb.REVIEW_STATE_SCORED: "채점 scored",
    pb.REVIEW_STATE_ABSTAINED: "기권 abstained",
    pb.REVIEW_STATE_CONFLICTED: "이해충돌 conflicted",
}
REVIEWER_COLUMNS = ["id", "이름 name", "영문 English", "이메일 email", "소속 affiliation"]
ASSIGNMENT_COLUMNS = ["지원서 application", "심사위원 reviewer", "상태 state", "배정 assigned", "기권 사유 abstained"]
ReviewerArgument = Annotated[str, typer.Argument(metavar="REVIEWER", help="심사위원 (a reviewer): 2 or reviewers/2")]


def reviewer_row(r: pb.Reviewer) -> list[str]:
    return [r.name.removeprefix("reviewers/"), r.korean_name, r.english_name, r.email, r.affiliation]


def assignment_rows(found: list[pb.ReviewAssignment], tz: str) -> list[list[str]]:
    return [
        [a.application, a.reviewer, STATES.get(a.state, ""), when(a.assign_time, tz), a.abstain_reason] for a in found
    ]


@reviewers_app.command("add")
def reviewers_add(
    hub: Client,
    ko: Annotated[str, typer.Option("--ko", help="한글 이름 (Korean name)")],
    email: Annotated[str, typer.Option(help="이메일: 로그인 코드가 가는 곳 (where sign-in codes go)")],
    en: Annotated[str, typer.Option("--en", help="영문 이름 (English name)")] = "",
    affiliation: Annotated[str, typer.Option(help="소속, 예: KAIST 전산학부 (affiliation)")] = "",
    request_id: Annotated[str, typer.Option(help="재시도해도 한 번만 (a retry-safe id)")] = "",
) -> None:
    """심사위원을 등록합니다 (add a reviewer); 초대는 `hubctl identities invite --reviewer N`."""
    reviewer = pb.Reviewer(korean_name=ko, english_name=en, email=email, affiliation=affiliation)
    request = pb.CreateReviewerRequest(reviewer=reviewer, request_id=args.retry_safe(request_id))
    made = hub.call(hub.program.CreateReviewer, request)
    hub.show(made, f"등록함 (added) {made.name}", REVIEWER_COLUMNS, [reviewer_row(made)])


@reviewers_app.command("list")
def reviewers_list(hub: Client) -> None:
    """심사위원 목록, 등록 순 (the reviewers, in the order they were added)."""
    found = list(hub.pages(hub.program.ListReviewers, pb.ListReviewersRequest(page_size=200), "reviewers"))
    hub.show([as_dict(r) for r in found], f"심사위원 reviewers ({len(found)})", REVIEWER_COLUMNS,
             [reviewer_row(r) for r in found])  # fmt: skip


@selection_app.command("assign")
def selection_assign(
    hub: Client,
    reviewer: ReviewerArgument,
    applications: Annotated[
        list[str] | None, typer.Argument(metavar="[APPLICATION]...", help="지원서 (applications): 3 or applications/3")
    ] = None,
    round_: Annotated[str, typer.Option("--round", help="이 회차의 모든 지원서 (every application of a round)")] = "",
) -> None:
    """심사위원을 지원서(또는 회차 전체)에 배정합니다 (assign a reviewer to applications, or to a whole round).

    이해충돌을 신고한 지원서에는 배정되지 않습니다: 지정한 지원서면 거부, 회차 전체면 제외하고 알려 줍니다."""
    named = [args.name("applications", a) for a in applications or []]
    if bool(named) == bool(round_):
        fail("지원서 번호들 또는 --round 중 하나를 지정하세요 (name applications or --round)", 2)
    request = pb.AssignReviewerRequest(
        reviewer=args.name("reviewers", reviewer), applications=named, round=args.name_if_given("rounds", round_)
    )
    done = hub.call(hub.program.AssignReviewer, request)
    title = f"배정함 (assigned) {request.reviewer}: {len(done.assignments)}"
    if done.conflicted:
        title += f"; 이해충돌로 제외 (left out, conflict of interest): {', '.join(done.conflicted)}"
    hub.show(as_dict(done), title, ASSIGNMENT_COLUMNS, assignment_rows(list(done.assignments), hub.config.tz))


@selection_app.command("assignments")
def selection_assignments(
    hub: Client,
    reviewer: Annotated[str, typer.Option(help="이 심사위원만 (one reviewer): 2 or reviewers/2")] = "",
    round_: Annotated[str, typer.Option("--round", help="이 회차만 (one round): 1 or rounds/1")] = "",
) -> None:
    """누가 무엇을 심사하는지: 배정, 채점, 기권, 이해충돌 (who reviews what, and what became of it)."""
    where = args.where(reviewer=args.name_if_given("reviewers", reviewer), round=args.name_if_given("rounds", round_))
    request = pb.ListReviewAssignmentsRequest(filter=where, page_size=200)
    found = list(hub.pages(hub.program.ListReviewAssignments, request, "assignments"))
    hub.show([as_dict(a) for a in found], f"심사 배정 assignments ({len(found)})", ASSIGNMENT_COLUMNS,
             assignment_rows(found, hub.config.tz))  # fmt: skip


@selection_app.command("score")
def selection_score(
    hub: Client,
    application: ApplicationArgument,
    reviewer: Annotated[str, typer.Option(help="심사위원 reviewers/2 (or, in a round without reviewers, an email)")],
    value: Annotated[list[str], typer.Option(help="criterion=score (0-10), e.g. tech=8 (one per criterion)")],
    comment: str = "",
    reason: Annotated[
        str, typer.Option(help="심사위원 대신 입력·정정하는 이유 (why you record it for a reviewer)")
    ] = "",
) -> None:
    """심사위원의 점수를 대신 기록하거나 정정합니다 (record or correct a reviewer's score; reviewers/N needs
    --reason). Reviewers score for themselves with their own sign-in."""
    values = {}
    for text in value:
        key, _, number = text.partition("=")
        if not number.strip().isdigit():
            fail(f"--value {text!r}: write criterion=score, e.g. tech=8", 3)
        values[key.strip()] = int(number)
    s = pb.Score(application=args.name("applications", application), reviewer=reviewer, values=values, comment=comment)
    scored = hub.call(hub.program.ScoreApplication, pb.ScoreApplicationRequest(score=s, reason=reason))
    rows = [[scored.application, scored.reviewer, f"{scored.weighted:.2f}", scored.comment, scored.reason]]
    hub.show(scored, "scored", ["application", "reviewer", "weighted", "comment", "사유 reason"], rows)


@selection_app.command("conflict")
def selection_conflict(
    hub: Client,
    reviewer: ReviewerArgument,
    applicant: Annotated[str, typer.Option(help="지원 기업이나 개인 (the applicant): companies/7 or people/12")],
    round_: args.RoundOption,
    reason: Annotated[str, typer.Option(help="이해충돌 사유, 예: '공동 창업자와 같은 연구실' (why)")] = "",
) -> None:
    """심사위원의 이해충돌을 신고합니다: 그 지원자에 준 점수는 빠지고, 다시 배정·채점할 수 없습니다 (declare a
    reviewer's conflict of interest with an applicant: their scores of it stop counting, and they can no longer
    be assigned to it or score it)."""
    if "/" not in applicant:
        fail(f"--applicant {applicant!r}: companies/7 또는 people/12 처럼 쓰세요 (write companies/7 or people/12)", 3)
    conflict = pb.Conflict(round=args.name("rounds", round_), reviewer=args.name("reviewers", reviewer),
                           applicant=applicant, reason=reason)  # fmt: skip
    made = hub.call(hub.program.DeclareConflict, pb.DeclareConflictRequest(conflict=conflict))
    hub.say(
        made, f"이해충돌 신고함 (conflict declared) {made.reviewer} ↔ {made.applicant} ({made.round}): {made.reason}"
    )
