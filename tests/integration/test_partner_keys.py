"""Partner keys: scopes enforced for every PartnerService method (the cases come from policy.PARTNER_SCOPES, the
one place a method declares its scope), expiry and rotation with an overlap (the service's clock moved, not
slept), GetMyApiKey, and the RateLimit headers on every answer, OK or refused."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf.duration_pb2 import Duration
from hub.investors.v1 import investors_pb2 as pb
from hub.investors.v1 import partner_keys_pb2 as kpb
from hub.investors.v1 import partner_pb2 as ppb

from hublocal.natsserver import NatsServer
from services.investors import domain, policy, store
from tests.conftest import ADMIN, Clock, RunningInvestors, investors_settings, start_investors
from tests.integration.test_partner_api import REQUESTS, World, bearer, build_world, call, state_of_everything

Code = grpc.StatusCode
SERVICE = ppb.DESCRIPTOR.services_by_name["PartnerService"]


@pytest.fixture
async def clocked(
    new_database: Callable[[str], Awaitable[str]], nats_server: NatsServer, tmp_path: Path
) -> AsyncIterator[tuple[RunningInvestors, Clock]]:
    """The investors service with a clock the test moves, and a limit of 5 calls a minute per key."""
    clock = Clock()
    url = await new_database("investors")
    settings = investors_settings(url, nats_server.url, tmp_path, partner_key_limit=5, partner_key_window_seconds=60)
    running = await start_investors(settings, clock)
    yield running, clock
    await running.close()


async def key_of(investors: RunningInvestors, partner: str = "partners/1", *scopes: str, **fields: Any) -> pb.ApiKey:
    made: pb.ApiKey = await investors.investors.CreateApiKey(
        pb.CreateApiKeyRequest(api_key=pb.ApiKey(partner=partner, scopes=scopes, **fields)), metadata=ADMIN
    )
    return made


def test_every_partner_method_declares_its_scope() -> None:
    """A new PartnerService method without a scope fails here (and the server would not start)."""
    assert set(policy.PARTNER_SCOPES) == set(SERVICE.methods_by_name)
    assert set(REQUESTS) == set(SERVICE.methods_by_name)  # and the scope cases below have a request for it
    for method, scope in policy.PARTNER_SCOPES.items():
        known = scope.group in domain.KEY_GROUPS and scope.access in ("read", "write")
        assert scope == domain.ANY_KEY or known, method


def without(needed: domain.Scope) -> tuple[str, ...]:
    """Every scope but what the method needs: the other groups' write, and read where it needs write."""
    others = [f"{group}:write" for group in domain.KEY_GROUPS if group != needed.group]
    return (*others, f"{needed.group}:read") if needed.access == "write" else tuple(others)


@pytest.mark.parametrize("method", sorted(policy.PARTNER_SCOPES))
async def test_a_key_calls_only_what_its_scopes_allow(investors: RunningInvestors, method: str) -> None:
    world = await build_world(investors)
    needed = policy.PARTNER_SCOPES[method]
    request = REQUESTS[method](world)
    if needed != domain.ANY_KEY:
        lacking = await key_of(investors, "partners/1", *without(needed))
        before = await state_of_everything(investors)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await getattr(investors.partner, method)(request, metadata=bearer(lacking.secret))
        assert caught.value.code() == Code.PERMISSION_DENIED, method
        assert f"lacks the scope {needed}" in (caught.value.details() or ""), caught.value.details()
        assert dict(caught.value.initial_metadata() or ())["ratelimit-limit"]  # refused, still told its limit
        assert await state_of_everything(investors) == before, f"{method} refused but changed something"
    # Exactly the scope it needs (any one scope, for a method every key may call) is enough.
    only = (str(needed),) if needed != domain.ANY_KEY else ("webhooks:read",)
    enough = await key_of(investors, "partners/1", *only)
    code, _ = await call(investors, method, request, bearer(enough.secret))
    assert code == Code.OK, (method, only)


async def test_scopes_are_stored_normalized_and_bad_ones_refused(investors: RunningInvestors) -> None:
    await build_world(investors)
    made = await key_of(investors, "partners/1", "rounds:read", "Introductions:READ", "rounds:write")
    assert list(made.scopes) == ["introductions:read", "rounds:write"]
    assert list((await key_of(investors, "partners/1", "all:read")).scopes) == [f"{g}:read" for g in domain.KEY_GROUPS]
    assert list((await key_of(investors, "partners/1")).scopes) == [f"{g}:write" for g in domain.KEY_GROUPS]
    listed = await investors.investors.ListApiKeys(pb.ListApiKeysRequest(filter="partner=partners/1"), metadata=ADMIN)
    assert [list(k.scopes) for k in listed.api_keys if k.name == made.name] == [["introductions:read", "rounds:write"]]
    before = await state_of_everything(investors)
    for bad in ("deals:read", "rounds:admin", "rounds"):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await key_of(investors, "partners/1", "rounds:read", bad)
        assert caught.value.code() == Code.INVALID_ARGUMENT and "api_key.scopes[1]" in (caught.value.details() or "")
    assert await state_of_everything(investors) == before


async def test_a_read_only_key_reads_but_cannot_write(investors: RunningInvestors) -> None:
    world = await build_world(investors)
    reader = await key_of(investors, "partners/1", "all:read")
    listed = await investors.partner.ListIntroductions(
        ppb.PartnerServiceListIntroductionsRequest(), metadata=bearer(reader.secret)
    )
    assert len(listed.introductions) == 3
    for method in ("RespondToIntroduction", "ReportRound"):
        code, _ = await call(investors, method, REQUESTS[method](world), bearer(reader.secret))
        assert code == Code.PERMISSION_DENIED, method


async def test_an_expired_key_is_unauthenticated_when_its_time_comes(
    clocked: tuple[RunningInvestors, Clock],
) -> None:
    investors, clock = clocked
    world = await build_world(investors)
    soon = await key_of(investors, "partners/1", "introductions:read", expire_time=stamp(hours=1))
    request = REQUESTS["ListIntroductions"](world)
    assert (await call(investors, "ListIntroductions", request, bearer(soon.secret)))[0] == Code.OK
    clock.move_to(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1, seconds=1))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await investors.partner.ListIntroductions(request, metadata=bearer(soon.secret))
    assert caught.value.code() == Code.UNAUTHENTICATED and "expired" in (caught.value.details() or "")
    assert (await call(investors, "ListIntroductions", request, bearer(world.right)))[0] == Code.OK  # 90 days


def stamp(**delta: float) -> Any:
    from google.protobuf.timestamp_pb2 import Timestamp

    value = Timestamp()
    value.FromDatetime(dt.datetime.now(dt.UTC) + dt.timedelta(**delta))
    return value


async def test_a_rotated_key_works_with_both_secrets_until_the_overlap_ends(
    clocked: tuple[RunningInvestors, Clock],
) -> None:
    investors, clock = clocked
    world = await build_world(investors)
    old = await key_of(investors, "partners/1", "introductions:write")
    request = REQUESTS["GetMyApiKey"](world)
    rotated = await investors.investors.RotateApiKey(
        kpb.RotateApiKeyRequest(name=old.name, overlap=Duration(seconds=600)), metadata=ADMIN
    )
    assert rotated.name == old.name and rotated.secret != old.secret and rotated.secret.startswith("hubpk_")
    assert list(rotated.scopes) == ["introductions:write"] and rotated.expire_time == old.expire_time
    assert rotated.prefix == rotated.secret[:12] and rotated.HasField("rotate_time")
    overlap_end = rotated.previous_secret_expire_time.ToDatetime(dt.UTC)
    assert abs((overlap_end - rotated.rotate_time.ToDatetime(dt.UTC)) - dt.timedelta(minutes=10)) < dt.timedelta(
        seconds=1
    )
    # Both secrets are the same key: one name, one rate limit (5 a minute) between them.
    for secret in (old.secret, rotated.secret):
        mine = await investors.partner.GetMyApiKey(request, metadata=bearer(secret))
        assert mine.name == old.name and mine.previous_secret_expire_time == rotated.previous_secret_expire_time
    assert mine.rate_limit.used == 2
    # A second rotation during the overlap would cut the first secret off: refused, nothing changed.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await investors.investors.RotateApiKey(kpb.RotateApiKeyRequest(name=old.name), metadata=ADMIN)
    assert caught.value.code() == Code.FAILED_PRECONDITION and "previous secret works until" in str(
        caught.value.details()
    )
    clock.move_to(overlap_end + dt.timedelta(seconds=1))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await investors.partner.GetMyApiKey(request, metadata=bearer(old.secret))
    assert caught.value.code() == Code.UNAUTHENTICATED and "rotated out" in (caught.value.details() or "")
    assert (await investors.partner.GetMyApiKey(request, metadata=bearer(rotated.secret))).name == old.name
    events = await outbox_subjects(investors)
    assert events.count("hub.investors.api_key.rotated") == 1


async def test_a_rotation_without_overlap_ends_the_old_secret_at_once(investors: RunningInvestors) -> None:
    world = await build_world(investors)
    old = await key_of(investors, "partners/1", "introductions:read")
    rotated = await investors.investors.RotateApiKey(
        kpb.RotateApiKeyRequest(name=old.name, overlap=Duration(seconds=0)), metadata=ADMIN
    )
    request = REQUESTS["ListIntroductions"](world)
    assert (await call(investors, "ListIntroductions", request, bearer(old.secret)))[0] == Code.UNAUTHENTICATED
    assert (await call(investors, "ListIntroductions", request, bearer(rotated.secret)))[0] == Code.OK
    # Refused: a month and a day of overlap, a negative one, an unknown key, a revoked key. Nothing changes.
    before = await state_of_everything(investors)
    refusals = [
        (kpb.RotateApiKeyRequest(name=old.name, overlap=Duration(seconds=31 * 86400)), Code.INVALID_ARGUMENT),
        (kpb.RotateApiKeyRequest(name=old.name, overlap=Duration(seconds=-1)), Code.INVALID_ARGUMENT),
        (kpb.RotateApiKeyRequest(name="apiKeys/999"), Code.NOT_FOUND),
        (kpb.RotateApiKeyRequest(name="keys/1"), Code.INVALID_ARGUMENT),
        (kpb.RotateApiKeyRequest(), Code.INVALID_ARGUMENT),
    ]
    for wrong, expected in refusals:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await investors.investors.RotateApiKey(wrong, metadata=ADMIN)
        assert caught.value.code() == expected, wrong
    assert await state_of_everything(investors) == before
    await investors.investors.RevokeApiKey(pb.RevokeApiKeyRequest(name=old.name), metadata=ADMIN)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await investors.investors.RotateApiKey(kpb.RotateApiKeyRequest(name=old.name), metadata=ADMIN)
    assert caught.value.code() == Code.FAILED_PRECONDITION


async def outbox_subjects(investors: RunningInvestors) -> list[str]:
    outbox = store.metadata.tables["outbox"]
    async with investors.runtime.db.read() as conn:
        return [r[0] for r in await conn.execute(sa.select(outbox.c.subject).order_by(outbox.c.seq))]


def limits_of(metadata: Any) -> dict[str, str]:
    found = dict(metadata or ())
    return {k: v for k, v in found.items() if k.startswith("ratelimit-") or k == "retry-after"}


async def test_every_answer_carries_the_limit_and_a_refusal_says_when_to_retry(
    clocked: tuple[RunningInvestors, Clock],
) -> None:
    investors, clock = clocked
    world = await build_world(investors)
    # 00:00:10 of a minute, so the window does not turn while the test runs.
    start = dt.datetime.now(dt.UTC).replace(second=10, microsecond=0) + dt.timedelta(minutes=1)
    clock.move_to(start)
    me = bearer(world.right)
    seen = []
    for _ in range(3):  # OK answers
        answer = investors.partner.ListIntroductions(ppb.PartnerServiceListIntroductionsRequest(), metadata=me)
        await answer
        seen.append(limits_of(await answer.initial_metadata()))
    assert [s["ratelimit-remaining"] for s in seen] == ["4", "3", "2"]
    assert {(s["ratelimit-limit"], s["ratelimit-policy"]) for s in seen} == {("5", "5;w=60")}
    assert 49 <= int(seen[0]["ratelimit-reset"]) <= 51 and "retry-after" not in seen[0]
    # A refusal of the call itself (NOT_FOUND, INVALID_ARGUMENT) carries them too, and counts.
    code, _ = await call(investors, "GetIntroduction", ppb.PartnerServiceGetIntroductionRequest(), me)
    assert code == Code.INVALID_ARGUMENT
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await investors.partner.GetIntroduction(
            ppb.PartnerServiceGetIntroductionRequest(name="introductions/99"), metadata=me
        )
    assert limits_of(caught.value.initial_metadata())["ratelimit-remaining"] == "0"
    mine_before = await state_of_everything(investors)
    with pytest.raises(grpc.aio.AioRpcError) as caught:  # the sixth call this minute
        await investors.partner.GetMyApiKey(kpb.GetMyApiKeyRequest(), metadata=me)
    refused = limits_of(caught.value.initial_metadata())
    assert caught.value.code() == Code.RESOURCE_EXHAUSTED
    assert refused["ratelimit-remaining"] == "0" and refused["retry-after"] == refused["ratelimit-reset"]
    assert 49 <= int(refused["retry-after"]) <= 51 and f"retry in {refused['retry-after']} s" in str(
        caught.value.details()
    )
    assert limits_of(caught.value.trailing_metadata())["retry-after"] == refused["retry-after"]
    assert await state_of_everything(investors) == mine_before
    # The other firm's key has its own limit; the next window starts again.
    assert (await call(investors, "ListIntroductions", REQUESTS["ListIntroductions"](world), bearer(world.other)))[
        0
    ] == Code.OK
    clock.move_to(start + dt.timedelta(seconds=51))
    mine = investors.partner.GetMyApiKey(kpb.GetMyApiKeyRequest(), metadata=me)
    answer = await mine
    assert limits_of(await mine.initial_metadata())["ratelimit-remaining"] == "4"
    usage = answer.rate_limit
    assert (usage.limit, usage.used, usage.remaining, usage.window.seconds) == (5, 1, 4, 60)
    assert answer.firm == "firms/1" and answer.partner == "partners/1" and list(answer.scopes)
    reset = usage.reset_time.ToDatetime(dt.UTC)
    assert reset == start.replace(second=0) + dt.timedelta(minutes=2), reset


async def test_calls_without_a_valid_key_carry_no_key_limit(investors: RunningInvestors) -> None:
    world: World = await build_world(investors)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await investors.partner.ListIntroductions(
            ppb.PartnerServiceListIntroductionsRequest(), metadata=bearer(world.expired)
        )
    assert caught.value.code() == Code.UNAUTHENTICATED and limits_of(caught.value.initial_metadata()) == {}
