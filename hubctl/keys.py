"""hubctl investors keys: partner API keys with their scopes, expiry and rotation (the investors service). A key's
secret is shown once, when it is made or rotated; the hub keeps only its hash."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

import typer
from google.protobuf.duration_pb2 import Duration
from hub.investors.v1 import investors_pb2 as ipb
from hub.investors.v1 import partner_keys_pb2 as kpb

from hubctl.args import name, name_if_given, where
from hubctl.client import Client, Commands, fail, when
from hubctl.tokens import parse_expiry

keys_app = Commands(
    help="파트너 API 키: 권한, 만료, 교체; 비밀 값은 한 번만 보입니다 (partner API keys: scopes, expiry, rotation)."
)

COLUMNS = [
    "id", "파트너 partner", "회사 firm", "권한 scopes", "만료 expires", "교체 rotated", "이전 키 종료 old secret ends",
    "폐기 revoked", "설명 for",
]  # fmt: skip
GROUPS_HELP = "introductions, rounds, dealflow, updates, webhooks, all"


def key_row(k: ipb.ApiKey, tz: str) -> list[str]:
    return [
        k.name.removeprefix("apiKeys/"), k.partner, k.firm, " ".join(k.scopes), when(k.expire_time, tz),
        when(k.rotate_time, tz), when(k.previous_secret_expire_time, tz), when(k.revoke_time, tz), k.description,
    ]  # fmt: skip


def parse_overlap(text: str) -> Duration:
    """24h, 30m, 7d, or 0 (the old secret stops at once)."""
    found = re.fullmatch(r"(\d{1,5})\s*([mhd]?)", text.strip().lower())
    if not found or (found.group(2) == "" and found.group(1) != "0"):
        fail(f"--overlap {text!r}: 24h, 30m, 7d 처럼 쓰세요, 또는 0 (write 24h, 30m, 7d, or 0)", 3)
    amount, unit = int(found.group(1)), found.group(2) or "m"
    span = Duration()
    span.FromTimedelta(
        {"m": timedelta(minutes=amount), "h": timedelta(hours=amount), "d": timedelta(days=amount)}[unit]
    )
    return span


def show_secret(hub: Client, made: ipb.ApiKey, said: str) -> None:
    if not hub.printed_json(made):
        typer.echo(said)
        typer.echo(f"키 (한 번만 표시, shown once): {made.secret}")


@keys_app.command("create")
def keys_create(
    hub: Client,
    partner: Annotated[str, typer.Option(help="파트너: 7 또는 partners/7 (whose key)")],
    scope: Annotated[
        list[str],
        typer.Option(
            help=f"권한, 반복 가능: <그룹>:read 또는 <그룹>:write; 그룹 {GROUPS_HELP} "
            "(scopes, repeatable: introductions:write, rounds:read, all:read)"
        ),
    ],
    expires: Annotated[
        str, typer.Option(help="만료: 30d, 12h, 2w 또는 YYYY-MM-DD (default 90d, at most 366 days)")
    ] = "",
    description: Annotated[str, typer.Option(help="용도 (what it is for)")] = "",
) -> None:
    """파트너 API 키를 만듭니다: 권한 범위를 반드시 지정 (make a key with the scopes named; its secret is shown
    once)."""
    key = ipb.ApiKey(partner=name("partners", partner), description=description, scopes=scope)
    if expires:
        key.expire_time.CopyFrom(parse_expiry(expires, hub.config.tz))
    made = hub.call(hub.investors.CreateApiKey, ipb.CreateApiKeyRequest(api_key=key))
    tz = hub.config.tz
    show_secret(
        hub, made, f"만듦 (created) {made.name}: {made.partner} ({made.firm}), 권한 {' '.join(made.scopes)}, "
                   f"만료 {when(made.expire_time, tz)}"
    )  # fmt: skip


@keys_app.command("list")
def keys_list(
    hub: Client,
    partner: Annotated[str, typer.Option(help="이 파트너의 키만: 7 또는 partners/7 (only this partner's)")] = "",
    firm: Annotated[str, typer.Option(help="이 회사의 키만: 3 또는 firms/3 (only this firm's)")] = "",
    revoked: Annotated[bool, typer.Option("--revoked", help="폐기된 키 포함 (include revoked keys)")] = False,
) -> None:
    """파트너 API 키 목록: 권한, 만료, 교체 (list keys with scopes, expiry, rotation; never a secret)."""
    request = ipb.ListApiKeysRequest(
        filter=where(partner=name_if_given("partners", partner), firm=name_if_given("firms", firm)),
        show_revoked=revoked,
        page_size=200,
    )
    found = list(hub.pages(hub.investors.ListApiKeys, request, "api_keys"))
    hub.show(found, f"파트너 API 키 (partner keys) ({len(found)})", COLUMNS, (key_row(k, hub.config.tz) for k in found))


@keys_app.command("rotate")
def keys_rotate(
    hub: Client,
    key: Annotated[str, typer.Argument(metavar="KEY", help="2 또는 apiKeys/2")],
    overlap: Annotated[
        str, typer.Option(help="이전 키가 계속 작동하는 기간: 24h, 30m, 7d, 0 (how long the old secret keeps working)")
    ] = "24h",
) -> None:
    """새 비밀 값으로 교체합니다; 이전 값은 겹침 기간 동안만 작동 (rotate: a new secret, shown once; the old
    one works until the overlap ends, then is refused)."""
    request = kpb.RotateApiKeyRequest(name=name("apiKeys", key), overlap=parse_overlap(overlap))
    made = hub.call(hub.investors.RotateApiKey, request)
    ends = when(made.previous_secret_expire_time, hub.config.tz)
    show_secret(
        hub, made, f"교체함 (rotated) {made.name}: 이전 키는 {ends}까지 작동 (the old secret works until {ends})"
    )


@keys_app.command("revoke")
def keys_revoke(hub: Client, key: Annotated[str, typer.Argument(metavar="KEY", help="2 또는 apiKeys/2")]) -> None:
    """키를 폐기합니다: 다음 호출부터 거부 (revoke: its next call is refused)."""
    done = hub.call(hub.investors.RevokeApiKey, ipb.RevokeApiKeyRequest(name=name("apiKeys", key)))
    hub.say(done, f"폐기함 (revoked) {done.name} ({done.partner}): 파트너 API가 이제 거부합니다")
