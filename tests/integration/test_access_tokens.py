"""Signed access tokens across the hub: the four services, each with its own database, on one NATS. A token
issued by the companies service works on every service; its revocation reaches every service through
hub.ops.access_token.revoked; expired, forged, altered and malformed tokens are UNAUTHENTICATED everywhere
(never INTERNAL); the register never holds a token."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import grpc
import pytest
import sqlalchemy as sa
from google.protobuf.timestamp_pb2 import Timestamp
from hub.companies.v1 import companies_pb2 as cpb
from hub.consulting.v1 import consulting_pb2 as spb
from hub.investors.v1 import investors_pb2 as ipb
from hub.investors.v1 import partner_pb2 as ppb
from hub.notifications.v1 import notifications_pb2 as npb
from hub.ops.v1 import ops_pb2, ops_pb2_grpc, tokens_pb2_grpc
from hub.ops.v1 import tokens_pb2 as tpb

from hubcore import errors, tokens
from hubcore.db import now, revoked_tokens
from hubcore.server import Runtime
from services.companies import tables
from tests.conftest import (
    ADMIN,
    TOKEN_SIGNING_KEY,
    Running,
    RunningConsulting,
    RunningInvestors,
    RunningNotifications,
    eventually,
)
from tests.integration.test_investors_api import bad_fields, refused

Call = Callable[[tuple[tuple[str, str], ...]], Awaitable[object]]


def outbox_status(stub: ops_pb2_grpc.OperationsServiceStub) -> Call:
    return lambda md: stub.GetOutboxStatus(ops_pb2.GetOutboxStatusRequest(), metadata=md)


class Hub:
    def __init__(
        self,
        companies: Running,
        investors: RunningInvestors,
        consulting: RunningConsulting,
        notifications: RunningNotifications,
    ) -> None:
        self.companies, self.investors, self.consulting, self.notifications = (
            companies, investors, consulting, notifications,
        )  # fmt: skip
        self.tokens = tokens_pb2_grpc.AccessTokenServiceStub(companies.channel)
        self.runtimes: dict[str, Runtime] = {
            "companies": companies.runtime,
            "investors": investors.runtime,
            "consulting": consulting.runtime,
            "notifications": notifications.runtime,
        }
        # One admin method of each service's own API, and the operator service every one of them serves.
        self.calls: dict[str, Call] = {
            "companies": lambda md: companies.companies.ListCompanies(cpb.ListCompaniesRequest(), metadata=md),
            "investors": lambda md: investors.investors.ListFirms(ipb.ListFirmsRequest(), metadata=md),
            "consulting": lambda md: consulting.consulting.ListMentors(spb.ListMentorsRequest(), metadata=md),
            "notifications": lambda md: notifications.api.ListFollowUps(npb.ListFollowUpsRequest(), metadata=md),
        }
        for name, stub in (
            ("companies", companies.ops),
            ("investors", investors.ops),
            ("consulting", consulting.ops),
            ("notifications", notifications.ops),
        ):
            self.calls[f"{name} ops"] = outbox_status(stub)

    async def answers(self, token: str) -> dict[str, tuple[grpc.StatusCode, str]]:
        """Each call's status code and message with this bearer token."""
        metadata = (("authorization", f"Bearer {token}"),)
        result = {}
        for name, call in self.calls.items():
            try:
                await call(metadata)
                result[name] = (grpc.StatusCode.OK, "")
            except grpc.aio.AioRpcError as error:
                result[name] = (error.code(), error.details() or "")
        return result

    async def issue(
        self, subject: str, role: int = tpb.ACCESS_TOKEN_ROLE_ADMIN, metadata: object = ADMIN
    ) -> tpb.AccessToken:
        request = tpb.CreateAccessTokenRequest(access_token=tpb.AccessToken(subject=subject, role=role))  # type: ignore[arg-type]
        made: tpb.AccessToken = await self.tokens.CreateAccessToken(request, metadata=metadata)
        return made


@pytest.fixture
def hub(
    companies: Running,
    investors: RunningInvestors,
    consulting: RunningConsulting,
    notifications: RunningNotifications,
) -> Hub:
    return Hub(companies, investors, consulting, notifications)


def bearer(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


async def test_an_issued_admin_token_works_on_every_service_until_revoked(hub: Hub) -> None:
    minji = await hub.issue("김민지")
    assert minji.secret.startswith("hubat_") and minji.name.startswith("accessTokens/")
    assert minji.issued_by.startswith("admin:") and minji.role == tpb.ACCESS_TOKEN_ROLE_ADMIN
    lifetime = minji.expire_time.ToDatetime() - minji.create_time.ToDatetime()
    assert lifetime == timedelta(days=30)
    assert set((await hub.answers(minji.secret)).values()) == {(grpc.StatusCode.OK, "")}

    # The new admin issues a token of her own: the register says who did.
    jiho = await hub.issue("박지호", metadata=bearer(minji.secret))
    assert jiho.issued_by == f"admin:{minji.name}"
    listed = await hub.tokens.ListAccessTokens(tpb.ListAccessTokensRequest(), metadata=ADMIN)
    assert [t.subject for t in listed.access_tokens] == ["김민지", "박지호"]
    assert all(not t.secret for t in listed.access_tokens)
    async with hub.companies.runtime.db.read() as conn:
        rows = (await conn.execute(sa.select(tables.access_tokens))).all()
    assert len(rows) == 2 and not any(minji.secret in str(value) for row in rows for value in row)

    revoked = await hub.tokens.RevokeAccessToken(
        tpb.RevokeAccessTokenRequest(name=minji.name, reason="퇴사"), metadata=ADMIN
    )
    assert revoked.revoke_time.seconds and revoked.revoke_reason == "퇴사" and revoked.revoked_by.startswith("admin:")
    # The issuer refuses it at once; every other service once the event has reached it.
    code, message = (await hub.answers(minji.secret))["companies"]
    assert code == grpc.StatusCode.UNAUTHENTICATED and "revoked" in message

    async def refused_everywhere() -> bool:
        answers = await hub.answers(minji.secret)
        return all(code == grpc.StatusCode.UNAUTHENTICATED and "revoked" in text for code, text in answers.values())

    await eventually(refused_everywhere)
    for runtime in hub.runtimes.values():
        async with runtime.db.read() as conn:
            ids = (await conn.execute(sa.select(revoked_tokens.c.token_id))).scalars().all()
        assert ids == [minji.name.removeprefix("accessTokens/")]
        # A restarted service knows it from its own database before it answers a call.
        restarted = tokens.TokenVerifier(runtime.db, (TOKEN_SIGNING_KEY,))
        await restarted.load()
        with pytest.raises(errors.Unauthenticated, match="revoked"):
            restarted.check(minji.secret)

    # Revocation is per token: the one she issued still works.
    assert set((await hub.answers(jiho.secret)).values()) == {(grpc.StatusCode.OK, "")}

    again = tpb.RevokeAccessTokenRequest(name=minji.name)
    for name, code in (
        (minji.name, grpc.StatusCode.FAILED_PRECONDITION),
        ("accessTokens/abcdefghijklmnop", grpc.StatusCode.NOT_FOUND),
        ("apiKeys/3", grpc.StatusCode.INVALID_ARGUMENT),
    ):
        again.name = name
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await hub.tokens.RevokeAccessToken(again, metadata=ADMIN)
        assert error.value.code() == code, name

    shown = await hub.tokens.ListAccessTokens(tpb.ListAccessTokensRequest(show_revoked=True), metadata=ADMIN)
    assert [(t.subject, bool(t.revoke_time.seconds)) for t in shown.access_tokens] == [
        ("김민지", True),
        ("박지호", False),
    ]


async def test_tokens_issued_to_subjects_of_every_length_work_on_every_service(hub: Hub) -> None:
    """Issued through the API, for ASCII and Hangul subjects of 1 to 64 characters and both roles: each one is
    accepted by every service (a third of them used to be refused everywhere)."""
    for role in (tpb.ACCESS_TOKEN_ROLE_ADMIN, tpb.ACCESS_TOKEN_ROLE_SERVICE):
        for letter in ("s", "김"):
            for size in range(1, 65):
                made = await hub.issue(letter * size, role=role)
                answers = await hub.answers(made.secret)
                # Authenticated everywhere; a service token is still denied the operator's methods.
                assert grpc.StatusCode.UNAUTHENTICATED not in {code for code, _ in answers.values()}, (size, answers)
                assert answers["companies"][0] == grpc.StatusCode.OK


async def test_replicas_pick_up_a_revocation_another_replica_recorded(hub: Hub) -> None:
    """Replicas share a database and a durable consumer: the one that did not apply the event reads the
    revocation from the database on its next refresh."""
    token = await hub.issue("이서준")
    runtime = hub.consulting.runtime
    async with runtime.db.write(actor="test") as uow:
        await tokens.record_revocation(uow, token.name.removeprefix("accessTokens/"), now() + timedelta(days=1))

    async def refused() -> bool:
        return (await hub.answers(token.secret))["consulting"][0] == grpc.StatusCode.UNAUTHENTICATED

    await eventually(refused)
    assert (await hub.answers(token.secret))["investors"][0] == grpc.StatusCode.OK  # nothing was published


async def test_expired_forged_altered_and_malformed_tokens_are_unauthenticated_everywhere(hub: Hub) -> None:
    moment = now().replace(microsecond=0)
    expired = tokens.sign(
        tokens.Claims(
            tokens.new_token_id(), "김민지", "admin", moment - timedelta(days=31), moment - timedelta(days=1)
        ),
        TOKEN_SIGNING_KEY,
    )
    for code, message in (await hub.answers(expired)).values():
        assert code == grpc.StatusCode.UNAUTHENTICATED and "expired at" in message

    good = (await hub.issue("김민지")).secret
    signed, mac = good.split(".")
    forged = tokens.sign(
        tokens.Claims(tokens.new_token_id(), "mallory", "admin", moment, moment + timedelta(days=1)),
        "a-key-the-hub-never-had-0123456789abcdef",
    )
    altered = f"{signed[:-2]}{'AA' if signed[-2:] != 'AA' else 'BB'}.{mac}"
    for token in (forged, altered, f"{signed}.", signed, "hubat_", "hubat_x.y", "hubat_" + "A" * 3000, good + "."):
        for name, (code, message) in (await hub.answers(token)).items():
            assert code == grpc.StatusCode.UNAUTHENTICATED, (name, token[:20], code)
            assert message == "the token is not valid" and token not in message

    # A service-role token: the methods open to services, not the operator's.
    service = await hub.issue("리포트 작업", role=tpb.ACCESS_TOKEN_ROLE_SERVICE)
    answers = await hub.answers(service.secret)
    assert answers["companies"][0] == grpc.StatusCode.OK
    assert answers["companies ops"][0] == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await hub.issue("몰래", metadata=bearer(service.secret))
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED
    # An admin token opens nothing on the partner API (partners only).
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await hub.investors.partner.ListIntroductions(
            ppb.PartnerServiceListIntroductionsRequest(), metadata=bearer(good)
        )
    assert error.value.code() == grpc.StatusCode.PERMISSION_DENIED


async def test_issuing_checks_its_input_and_lists_by_page(hub: Hub) -> None:
    too_long = Timestamp()
    too_long.FromDatetime(now() + timedelta(days=91))
    for wanted, field in (
        (tpb.AccessToken(subject="김민지", role=tpb.ACCESS_TOKEN_ROLE_ADMIN, expire_time=too_long), "expire_time"),
        (tpb.AccessToken(subject=" ", role=tpb.ACCESS_TOKEN_ROLE_ADMIN), "subject"),
        (tpb.AccessToken(subject="김민지"), "role"),
        (tpb.AccessToken(subject="김" * 101, role=tpb.ACCESS_TOKEN_ROLE_ADMIN), "subject"),
    ):
        status = await refused(
            hub.tokens.CreateAccessToken(tpb.CreateAccessTokenRequest(access_token=wanted), metadata=ADMIN),
            grpc.StatusCode.INVALID_ARGUMENT,
        )
        assert bad_fields(status) == [f"access_token.{field}"]
    async with hub.companies.runtime.db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(tables.access_tokens))).scalar_one() == 0

    for n in range(3):
        await hub.issue(f"관리자{n}")
    await hub.issue("작업", role=tpb.ACCESS_TOKEN_ROLE_SERVICE)
    request = tpb.ListAccessTokensRequest(page_size=2, filter="role=ADMIN")
    seen = []
    while True:
        page = await hub.tokens.ListAccessTokens(request, metadata=ADMIN)
        seen += [t.subject for t in page.access_tokens]
        if not page.next_page_token:
            break
        request.page_token = page.next_page_token
    assert seen == ["관리자0", "관리자1", "관리자2"]
    services = await hub.tokens.ListAccessTokens(tpb.ListAccessTokensRequest(filter="role=service"), metadata=ADMIN)
    assert [t.subject for t in services.access_tokens] == ["작업"]
