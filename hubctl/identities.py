"""hubctl identities: the founders, mentors and reviewers who sign in for themselves. A program manager invites a
person (a company's person with an email, a mentor, or a selection reviewer); the hub mails them a one-time code
at once, and again whenever they ask. Ending an identity revokes every token it holds."""

from __future__ import annotations

from typing import Annotated

import typer
from hub.ops.v1 import identities_pb2 as ipb

from hubctl.args import NewestLimitOption, ReasonOption, name, name_if_given, where
from hubctl.client import Client, Commands, as_dict, fail, when

identities_app = Commands(
    help="로그인 신원 (sign-in identities): 창업자·멘토·심사위원 초대, 목록, 종료, 로그인 기록 "
    "(invite founders, mentors and reviewers, "
    "list, end, the sign-in log)."
)

ROLES = {
    "founder": ipb.IDENTITY_ROLE_FOUNDER,
    "mentor": ipb.IDENTITY_ROLE_MENTOR,
    "reviewer": ipb.IDENTITY_ROLE_REVIEWER,
    "admin": ipb.IDENTITY_ROLE_ADMIN,
}
ROLE_NAMES = {
    ipb.IDENTITY_ROLE_FOUNDER: "창업자 founder",
    ipb.IDENTITY_ROLE_MENTOR: "멘토 mentor",
    ipb.IDENTITY_ROLE_REVIEWER: "심사위원 reviewer",
    ipb.IDENTITY_ROLE_ADMIN: "프로그램 매니저 program manager",
}
STATES = {ipb.IDENTITY_STATE_ACTIVE: "사용 중 active", ipb.IDENTITY_STATE_REVOKED: "종료 ended"}
COLUMNS = ["id", "역할 role", "이름 name", "이메일 email", "범위 scope", "상태 state", "최근 로그인 last sign-in"]
OUTCOMES = {
    "CODE_SENT": "코드 발송 code sent",
    "CODE_NOT_SENT": "발송 안 함 not sent",
    "SIGNED_IN": "로그인 signed in",
    "WRONG_CODE": "잘못된 코드 wrong code",
    "RENEWED": "갱신 renewed",
    "SIGNED_OUT": "로그아웃 signed out",
    "IDENTITY_REVOKED": "신원 종료 ended",
}


@identities_app.command("invite")
def identities_invite(
    hub: Client,
    person: Annotated[str, typer.Option(help="창업자로 초대할 사람 (a company's person): 7 or people/7")] = "",
    mentor: Annotated[str, typer.Option(help="초대할 멘토 (a mentor): 3 or mentors/3")] = "",
    reviewer: Annotated[str, typer.Option(help="초대할 심사위원 (a selection reviewer): 2 or reviewers/2")] = "",
    manager: Annotated[bool, typer.Option("--manager", help="프로그램 매니저로 초대 (a program manager)")] = False,
    email: Annotated[str, typer.Option(help="멘토·매니저의 이메일 (a mentor's or manager's email)")] = "",
    display_name: Annotated[str, typer.Option("--name", help="메일에서 부를 이름 (how mails greet them)")] = "",
    language: Annotated[str, typer.Option(help="메일 언어 ko 또는 en (the mails' language)")] = "ko",
) -> None:
    """초대하고 로그인 코드를 메일로 보냅니다 (invite; a sign-in code is mailed at once).

    A founder is invited as a person of a company: their email and company make the identity. A mentor is
    invited by their mentor record with an email and a name. A reviewer by their reviewer record (its email
    and name). A program manager (--manager) by an email and a name; they sign in to admin tokens."""
    if sum(map(bool, (person, mentor, reviewer, manager))) != 1:
        fail("창업자는 --person, 멘토는 --mentor, 심사위원은 --reviewer, 매니저는 --manager 중 하나를 지정하세요 "
             "(say --person 7, --mentor 3, --reviewer 2 or --manager)", 2)  # fmt: skip
    if manager:
        if not email or not display_name:
            fail("매니저는 --email 과 --name 이 필요합니다 (a program manager needs --email and --name)", 2)
        wanted = ipb.Identity(role=ipb.IDENTITY_ROLE_ADMIN, email=email, display_name=display_name, language=language)
    elif person:
        wanted = ipb.Identity(role=ipb.IDENTITY_ROLE_FOUNDER, person=name("people", person), language=language)
    elif reviewer:
        wanted = ipb.Identity(role=ipb.IDENTITY_ROLE_REVIEWER, scope=name("reviewers", reviewer), language=language)
    else:
        if not email or not display_name:
            fail("멘토는 --email 과 --name 이 필요합니다 (a mentor needs --email and --name)", 2)
        wanted = ipb.Identity(
            role=ipb.IDENTITY_ROLE_MENTOR, scope=name("mentors", mentor), email=email, display_name=display_name,
            language=language,
        )  # fmt: skip
    made = hub.call(hub.identities.CreateIdentity, ipb.CreateIdentityRequest(identity=wanted))
    hub.say(
        made,
        f"초대함 (invited) {made.name}: {made.display_name} <{made.email}>, {ROLE_NAMES[made.role]}"
        f"{' of ' + made.scope if made.scope else ''}; "
        "로그인 코드를 메일로 보냈습니다 (a sign-in code is on its way)",
    )


@identities_app.command("list")
def identities_list(
    hub: Client,
    role: Annotated[str, typer.Option(help="founder, mentor, reviewer 중 하나만 (only one role)")] = "",
    company: Annotated[str, typer.Option(help="이 기업의 창업자만 (one company's founders): 7 or companies/7")] = "",
    ended: Annotated[bool, typer.Option("--ended", help="종료된 신원 포함 (include ended identities)")] = False,
) -> None:
    """초대된 창업자, 멘토, 심사위원 (the identities, active ones unless --ended)."""
    role = role.strip().lower()
    if role and role not in ROLES:
        fail(f"알 수 없는 역할 (unknown role) {role!r}: founder, mentor, reviewer", 3)
    scope = name_if_given("companies", company)
    request = ipb.ListIdentitiesRequest(
        filter=where(role=role.upper(), scope=scope, state="" if ended else "ACTIVE"), page_size=200
    )
    found = list(hub.pages(hub.identities.ListIdentities, request, "identities"))
    tz = hub.config.tz
    rows = [
        [i.name, ROLE_NAMES[i.role], i.display_name, i.email, i.scope, STATES[i.state], when(i.last_sign_in_time, tz)]
        for i in found
    ]
    hub.show([as_dict(i) for i in found], f"신원 identities ({len(found)})", COLUMNS, rows)


@identities_app.command("end")
def identities_end(
    hub: Client,
    identity: Annotated[str, typer.Argument(metavar="ID", help="identities/4 or 4")],
    reason: ReasonOption = "",
) -> None:
    """신원을 종료하고 그 토큰을 모두 폐기합니다 (end an identity and revoke every token it holds)."""
    request = ipb.RevokeIdentityRequest(name=name("identities", identity), reason=reason)
    ended = hub.call(hub.identities.RevokeIdentity, request)
    hub.say(ended, f"종료함 (ended) {ended.name}: {ended.display_name} <{ended.email}>; 토큰 폐기 (tokens revoked)")


@identities_app.command("log")
def identities_log(
    hub: Client,
    email: Annotated[str, typer.Option(help="이 주소만 (one address)")] = "",
    limit: NewestLimitOption = 50,
) -> None:
    """로그인 기록: 코드 발송, 로그인, 잘못된 코드, 갱신, 종료 (the sign-in log, newest first)."""
    request = ipb.ListSignInEventsRequest(filter=where(email=email.strip().lower()), page_size=min(limit, 200))
    found = list(hub.pages(hub.identities.ListSignInEvents, request, "sign_in_events", limit=limit))
    tz = hub.config.tz
    rows = [
        [when(e.time, tz), OUTCOMES.get(e.outcome, e.outcome), e.email, e.identity, e.peer, e.actor, e.note]
        for e in found
    ]
    columns = ["시각 when", "결과 outcome", "이메일 email", "신원 identity", "주소 peer", "행위자 actor", "메모 note"]
    hub.show([as_dict(e) for e in found], f"로그인 기록 sign-in log ({len(found)})", columns, rows)
