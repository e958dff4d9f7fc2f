"""hubctl tokens: every credential a program manager hands out, in one place. Admin and service tokens are
signed access tokens that every service verifies (the register is in the companies service); partner keys
are the partner API's keys (the investors service). Issue shows the secret once; list never shows it."""

from __future__ import annotations

import re
import time
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import grpc
import typer
from google.protobuf.timestamp_pb2 import Timestamp
from hub.investors.v1 import investors_pb2 as ipb
from hub.ops.v1 import ops_pb2
from hub.ops.v1 import tokens_pb2 as tpb

from hubctl.args import name, name_if_given, where
from hubctl.client import EXIT_CODES, Client, Commands, as_dict, err, explain, fail, when

tokens_app = Commands(
    help=(
        "관리자·서비스 토큰과 파트너 API 키: 발급(한 번만 표시), 목록, 폐기 (admin and service tokens (every "
        "service accepts them) and partner API keys: issue (shown once), list, revoke)."
    )
)

ROLES = ("admin", "service", "partner")
SIGNED_ROLES = {"admin": tpb.ACCESS_TOKEN_ROLE_ADMIN, "service": tpb.ACCESS_TOKEN_ROLE_SERVICE}
COLUMNS = [
    "id",
    "역할 role",
    "받은 이 to",
    "투자사 firm",
    "용도 for",
    "발급자 issued by",
    "만료 expires",
    "폐기 revoked",
]


def parse_expiry(text: str, tz: str) -> Timestamp:
    """30d, 12h, 2w from now, or a date (the end of that day in the display time zone, Asia/Seoul by default)."""
    stamp = Timestamp()
    relative = re.fullmatch(r"(\d{1,4})\s*([hdw])", text.strip().lower())
    if relative:
        amount, unit = int(relative.group(1)), relative.group(2)
        length = {"h": timedelta(hours=amount), "d": timedelta(days=amount), "w": timedelta(weeks=amount)}[unit]
        stamp.FromDatetime(datetime.now(ZoneInfo("UTC")) + length)
        return stamp
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        fail(f"--expires {text!r}: write 30d, 12h, 2w, or a date like 2026-12-31", 3)
    stamp.FromDatetime(datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=ZoneInfo(tz)))
    return stamp


@tokens_app.command("issue")
def tokens_issue(
    hub: Client,
    role: Annotated[
        str, typer.Option(help="admin (a program manager), service (another hub process) or partner (a VC partner)")
    ] = "",
    to: Annotated[str, typer.Option("--to", help="Who an admin or service token is for, e.g. 김민지")] = "",
    partner: Annotated[str, typer.Option(help="A partner key's partner: 7 or partners/7")] = "",
    description: Annotated[str, typer.Option(help="What it is for")] = "",
    expires: Annotated[
        str, typer.Option(help="30d, 12h, 2w or a date YYYY-MM-DD (admin/service: default 30d, at most 90d)")
    ] = "",
) -> None:
    """토큰이나 파트너 키를 발급합니다; 한 번만 보여 줍니다 (issue a token or a partner key. It is shown once:
    hand it over now; the hub never keeps it)."""
    role = (role or ("partner" if partner else "")).strip().lower()
    if role not in ROLES:
        fail("say which kind: --role admin, --role service or --role partner", 2)
    if role == "partner":
        if not partner or to:
            fail("a partner key is for a partner: --partner 7 (not --to)", 2)
        _issue_partner_key(hub, partner, description, expires)
        return
    if not to or partner:
        fail(f"say who the {role} token is for: --to 김민지", 2)
    wanted = tpb.AccessToken(subject=to, role=SIGNED_ROLES[role], description=description)
    if expires:
        wanted.expire_time.CopyFrom(parse_expiry(expires, hub.config.tz))
    made = hub.call(hub.access_tokens.CreateAccessToken, tpb.CreateAccessTokenRequest(access_token=wanted))
    expires_at = when(made.expire_time, hub.config.tz)
    _show_once(hub, made, f"issued {made.name}: {role} token for {made.subject}, expires {expires_at}", "token")


def _issue_partner_key(hub: Client, partner: str, description: str, expires: str) -> None:
    key = ipb.ApiKey(partner=name("partners", partner), description=description)
    if expires:
        key.expire_time.CopyFrom(parse_expiry(expires, hub.config.tz))
    made = hub.call(hub.investors.CreateApiKey, ipb.CreateApiKeyRequest(api_key=key))
    expires_at = when(made.expire_time, hub.config.tz)
    _show_once(hub, made, f"issued {made.name} for {made.partner} ({made.firm}), expires {expires_at}", "key")


def _show_once(hub: Client, made: tpb.AccessToken | ipb.ApiKey, issued: str, kind: str) -> None:
    """A new token or key, with its secret: the one time it is shown (the hub never keeps it)."""
    if not hub.printed_json(made):
        typer.echo(issued)
        typer.echo(f"{kind} (shown once): {made.secret}")


@tokens_app.command("list")
def tokens_list(
    hub: Client,
    role: Annotated[str, typer.Option(help="Only admin, service or partner")] = "",
    partner: Annotated[str, typer.Option(help="Only this partner's keys: 7 or partners/7")] = "",
    revoked: Annotated[bool, typer.Option("--revoked", help="Include revoked ones")] = False,
    expired: Annotated[bool, typer.Option("--expired", help="Include expired admin and service tokens")] = False,
) -> None:
    """관리자·서비스 토큰과 파트너 키 목록 (비밀값은 없음) (list admin and service tokens and partner keys, never
    their secrets).

    A service that does not answer is named, after what the other one answered, and the exit code is its
    error's.
    """
    role = ("partner" if partner and not role else role).strip().lower()
    if role and role not in ROLES:
        fail(f"unknown role {role!r}; one of: {', '.join(ROLES)}", 3)
    found: list[dict[str, Any]] = []
    rows: list[list[str]] = []
    failures: list[tuple[str, grpc.RpcError]] = []
    tz = hub.config.tz
    if role in ("", "admin", "service"):
        request = tpb.ListAccessTokensRequest(
            filter=where(role=role), show_revoked=revoked, show_expired=expired, page_size=200
        )
        try:
            for t in hub.pages(hub.access_tokens.ListAccessTokens, request, "access_tokens", raise_errors=True):
                kind = tpb.AccessTokenRole.Name(t.role).removeprefix("ACCESS_TOKEN_ROLE_").lower()
                found.append(as_dict(t) | {"kind": kind})
                revoked_at = when(t.revoke_time, tz) + (f" ({t.revoke_reason})" if t.revoke_reason else "")
                rows.append(
                    [t.name, kind, t.subject, "", t.description, t.issued_by, when(t.expire_time, tz), revoked_at]
                )
        except grpc.RpcError as error:
            failures.append(("companies (admin and service tokens)", error))
    if role in ("", "partner"):
        keys = ipb.ListApiKeysRequest(
            filter=where(partner=name_if_given("partners", partner)), show_revoked=revoked, page_size=200
        )
        try:
            for k in hub.pages(hub.investors.ListApiKeys, keys, "api_keys", raise_errors=True):
                found.append(as_dict(k) | {"kind": "partner"})
                rows.append(
                    [k.name, "partner", k.partner, k.firm, k.description, "", when(k.expire_time, tz),
                     when(k.revoke_time, tz)]
                )  # fmt: skip
        except grpc.RpcError as error:
            failures.append(("investors (partner keys)", error))
    if len(failures) == 2 or (failures and role):
        explain(failures[0][1])
    hub.show(found, f"tokens ({len(found)})", COLUMNS, rows)
    for service, problem in failures:
        err.print(f"[yellow]not answering:[/yellow] {service}: {problem.code().name}", highlight=False)
    if failures:
        raise SystemExit(EXIT_CODES.get(failures[0][1].code(), 1))


@tokens_app.command("revoke")
def tokens_revoke(
    hub: Client,
    token: Annotated[
        str, typer.Argument(metavar="ID", help="accessTokens/… or its id (admin, service); 2 or apiKeys/2 (partner)")
    ],
    reason: Annotated[str, typer.Option(help="Why (kept with an admin or service token)")] = "",
    wait: Annotated[float, typer.Option(help="Seconds to wait for the revocation to reach the event bus")] = 3.0,
) -> None:
    """토큰이나 파트너 키를 폐기합니다: 다음 호출부터 거절됩니다 (revoke a token or a partner key: its next call
    is refused).

    The issuing service refuses it at once. An admin or service token reaches the other services as an
    event: hubctl waits up to --wait seconds for it to leave the companies service's outbox, then says
    whether it did (every service refuses the token within moments) or not yet (only the companies service
    refuses it; the others will once the event bus is back).
    """
    text = token.strip()
    if text.startswith("apiKeys/") or text.isdigit():
        done = hub.call(hub.investors.RevokeApiKey, ipb.RevokeApiKeyRequest(name=name("apiKeys", text)))
        hub.say(done, f"revoked {done.name} ({done.partner}); the partner API refuses it now")
        return
    request = tpb.RevokeAccessTokenRequest(name=name("accessTokens", text), reason=reason)
    revoked = hub.call(hub.access_tokens.RevokeAccessToken, request)
    delivered, backlog = _outbox_drained(hub, wait)
    if hub.printed_json(as_dict(revoked) | {"delivered": delivered, "unpublished_events": backlog}):
        return
    typer.echo(f"revoked {revoked.name} ({revoked.subject})")
    if delivered:
        typer.echo("모든 서비스에 전달됨 (delivered to every service): each refuses the token within moments")
    elif delivered is None:
        typer.echo(
            "companies 서비스는 지금 거부합니다 (the companies service refuses it now); whether the event has "
            f"reached the others is unknown: its outbox did not answer ({backlog})"
        )
    else:
        typer.echo(
            "지금은 companies 서비스만 거부합니다 (only the companies service refuses it now): the revocation is "
            f"still in its outbox ({backlog} events unpublished; is NATS down?). The other services will refuse "
            "it once the event bus is back; `hubctl ops outbox` shows the backlog."
        )


def _outbox_drained(hub: Client, wait: float) -> tuple[bool | None, Any]:
    """Whether the companies service's outbox has published everything (the revocation with it; the relay
    publishes in order), polled for up to `wait` seconds: (True, 0), (False, unpublished count), or
    (None, the error's code name) when the outbox cannot be asked."""
    deadline = time.monotonic() + wait
    while True:
        try:
            status = hub.send(hub.ops("companies").GetOutboxStatus, ops_pb2.GetOutboxStatusRequest())
        except grpc.RpcError as error:
            return None, error.code().name
        if status.unpublished == 0:
            return True, 0
        if time.monotonic() >= deadline:
            return False, status.unpublished
        time.sleep(0.2)
