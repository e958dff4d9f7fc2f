"""hubctl sharing: what each firm may see of a company on the partner API (its founders decide: sharing grants)
and what the firms read (the access log), and a company's answer to an introduction, recorded by a program
manager on its behalf (a reason is required, and the history shows who recorded it for whom)."""

from __future__ import annotations

from typing import Annotated

import typer
from hub.investors.v1 import investors_pb2 as ipb

from hubctl import args
from hubctl.client import Client, Commands, as_dict, short, when

sharing_app = Commands(
    help="투자사 공개 범위 (what firms see): 기업의 공개 허용 목록, 열람 기록, 대리 동의·거절 (a company's sharing "
    "grants, the access log, consent or decline on its behalf)."
)
GROUPS = {
    ipb.FIELD_GROUP_NAMES: "이름 names",
    ipb.FIELD_GROUP_PROFILE: "프로필 profile",
    ipb.FIELD_GROUP_WEBSITE: "웹사이트 website",
    ipb.FIELD_GROUP_DEAL_FLOW: "딜플로 deal flow",
    ipb.FIELD_GROUP_KPI_TEAM: "KPI 인력 team",
    ipb.FIELD_GROUP_KPI_TRACTION: "KPI 성과 traction",
    ipb.FIELD_GROUP_KPI_FINANCE: "KPI 재무 finance",
    ipb.FIELD_GROUP_KPI_IP: "KPI 지식재산 IP",
}
CompanyArgument = Annotated[str, typer.Argument(metavar="COMPANY", help="기업 (company): 7 or companies/7")]
ReasonOption = Annotated[str, typer.Option(help="이유 (why; required: you act for the company)")]


def groups(values: object) -> str:
    return ", ".join(GROUPS.get(g, str(g)) for g in values) or "-"  # type: ignore[attr-defined]


@sharing_app.command("grants")
def sharing_grants(
    hub: Client,
    company: CompanyArgument,
    revoked: Annotated[bool, typer.Option("--revoked", help="철회된 것 포함 (include revoked grants)")] = False,
) -> None:
    """투자사별 공개 허용 (what each firm may see of the company)."""
    request = ipb.ListSharingGrantsRequest(parent=args.name("companies", company), show_revoked=revoked, page_size=200)
    found = list(hub.pages(hub.investors.ListSharingGrants, request, "sharing_grants"))
    tz = hub.config.tz
    rows = [
        [g.name.rsplit("/", 1)[1], g.firm, groups(g.field_groups), g.actor, g.on_behalf_of, g.reason,
         when(g.update_time, tz), when(g.revoke_time, tz)]
        for g in found
    ]  # fmt: skip
    columns = [
        "투자사 firm",
        "name",
        "공개 항목 groups",
        "행위자 by",
        "대리 for",
        "이유 why",
        "변경 changed",
        "철회 revoked",
    ]
    hub.show([as_dict(g) for g in found], f"공개 허용 sharing grants ({len(found)})", columns, rows)


@sharing_app.command("log")
def sharing_log(
    hub: Client,
    company: CompanyArgument,
    firm: args.FirmOption = "",
    limit: args.NewestLimitOption = 50,
) -> None:
    """열람 기록: 어느 투자사의 누가 언제 무엇을 보았는지 (every partner read of the company, newest first)."""
    request = ipb.ListCompanyReadsRequest(
        parent=args.name("companies", company), filter=args.where(firm=args.name_if_given("firms", firm)),
        page_size=args.page_size(limit),
    )  # fmt: skip
    found = list(hub.pages(hub.investors.ListCompanyReads, request, "company_reads", limit))
    tz = hub.config.tz
    rows = [
        [when(r.read_time, tz), r.firm, r.partner, r.method.rsplit("/", 1)[-1], ", ".join(r.introductions),
         groups(r.field_groups)]
        for r in found
    ]  # fmt: skip
    columns = ["시각 when", "투자사 firm", "파트너 partner", "호출 call", "소개 introductions", "본 항목 groups"]
    hub.show([as_dict(r) for r in found], f"열람 기록 access log ({len(found)})", columns, rows)


def _answer(hub: Client, intro: str, consent: bool, reason: str) -> None:
    request = ipb.AnswerIntroductionRequest(name=args.name("introductions", intro), consent=consent, reason=reason)
    answered = hub.call(hub.investors.AnswerIntroduction, request)
    state = short(ipb.IntroductionState, answered.state, "INTRODUCTION_STATE").lower()
    done = "동의 기록함 (consent recorded)" if consent else "거절 기록함 (decline recorded)"
    hub.say(
        answered,
        f"{done} {answered.name}: {answered.company} → {answered.firm}, {state}; 대리 (for) {answered.company}",
    )


@sharing_app.command("consent")
def sharing_consent(
    hub: Client, intro: Annotated[str, typer.Argument(help="5 or introductions/5")], reason: ReasonOption
) -> None:
    """기업을 대신해 소개 동의를 기록합니다 (record the company's consent, given offline; the firm is granted
    what the introduction shares)."""
    _answer(hub, intro, True, reason)


@sharing_app.command("decline")
def sharing_decline(
    hub: Client, intro: Annotated[str, typer.Argument(help="5 or introductions/5")], reason: ReasonOption
) -> None:
    """기업을 대신해 소개 거절을 기록합니다 (record the company's decline, given offline)."""
    _answer(hub, intro, False, reason)
