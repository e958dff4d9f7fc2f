"""Saved views of the companies list (CompanyService.CreateSavedView, ListSavedViews, DeleteSavedView): the query
stored normalized and named by whom its creator's token was issued to, a retry returning the first, a title used
twice in a list ALREADY_EXISTS, bad input naming the field, deletion by any program manager, an event for every
write, and nobody but program managers. On SQLite and PostgreSQL, over real NATS."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from hub.companies.v1 import companies_pb2 as pb
from hub.events.v1 import companies_pb2 as ev
from hub.ops.v1 import tokens_pb2 as tpb
from hub.ops.v1 import tokens_pb2_grpc

from services.companies import tables
from tests.conftest import ADMIN, SERVICE, Running
from tests.integration.test_founders_sharing import founder
from tests.integration.test_program_api import bad_fields, count, events, refused
from tests.integration.test_sign_in import bearer

HEALTHCARE = "q=%EB%A9%94%EB%94%94&status=RESIDENT&sector=MEDICAL&tag=ai"  # q=메디, as the list's URL has it


def creating(title: str, query: str = "", request_id: str = "", list_name: str = "companies") -> Any:
    view = pb.SavedView(list=list_name, title=title, query=query)
    return pb.CreateSavedViewRequest(saved_view=view, request_id=request_id)


async def manager(c: Running, subject: str) -> tuple[tuple[str, str], ...]:
    """A program manager's own token from the register, so that the view names them."""
    asked = tpb.CreateAccessTokenRequest(
        access_token=tpb.AccessToken(subject=subject, role=tpb.ACCESS_TOKEN_ROLE_ADMIN)
    )
    made = await tokens_pb2_grpc.AccessTokenServiceStub(c.channel).CreateAccessToken(asked, metadata=ADMIN)
    return bearer(made.secret)


async def test_saved_views_are_created_once_listed_and_deleted_by_the_team(companies: Running) -> None:
    c, api = companies, companies.companies
    minji, jisu = await manager(c, "김민지"), await manager(c, "박지수")
    sent = creating(" 입주 AI 헬스케어 ", "?tag=AI&sector=sector_medical&q=+메디+&status=resident&stage=", "v-1")
    made = await api.CreateSavedView(sent, metadata=minji)
    assert (made.name, made.list, made.title, made.query) == (
        "savedViews/1",
        "companies",
        "입주 AI 헬스케어",
        HEALTHCARE,
    )
    assert made.creator.startswith("admin:accessTokens/") and made.creator_display_name == "김민지"
    assert made.create_time.seconds > 0
    assert await api.CreateSavedView(sent, metadata=minji) == made  # a retry returns the first
    other = await api.CreateSavedView(creating("시드 단계", "stage=SEED"), metadata=ADMIN)
    assert other.creator_display_name == ""  # the configured token is not in the register

    listed = await api.ListSavedViews(pb.ListSavedViewsRequest(filter="list=companies"), metadata=jisu)
    assert [(v.name, v.title) for v in listed.saved_views] == [
        ("savedViews/1", "입주 AI 헬스케어"),
        ("savedViews/2", "시드 단계"),
    ]
    first = await api.ListSavedViews(pb.ListSavedViewsRequest(page_size=1), metadata=jisu)
    rest = await api.ListSavedViews(
        pb.ListSavedViewsRequest(page_size=1, page_token=first.next_page_token), metadata=jisu
    )
    assert [v.name for v in [*first.saved_views, *rest.saved_views]] == ["savedViews/1", "savedViews/2"]

    # The team shares them: another program manager deletes one; the title is free again.
    await api.DeleteSavedView(pb.DeleteSavedViewRequest(name="savedViews/1"), metadata=jisu)
    gone = await refused(
        api.DeleteSavedView(pb.DeleteSavedViewRequest(name="savedViews/1"), metadata=jisu), grpc.StatusCode.NOT_FOUND
    )
    assert "savedViews/1" in gone.message
    again = await api.CreateSavedView(creating("입주 AI 헬스케어", HEALTHCARE), metadata=jisu)
    assert (again.name, again.creator_display_name) == ("savedViews/3", "박지수")

    created = await events(c, "hub.companies.saved_view.created")
    assert [(e.subject_id, e.version) for e, _ in created] == [(f"savedViews/{n}", 1) for n in (1, 2, 3)]
    payload = ev.SavedViewChanged()
    created[0][1].Unpack(payload)
    assert (payload.name, payload.list, payload.title) == ("savedViews/1", "companies", "입주 AI 헬스케어")
    [(deleted, _)] = await events(c, "hub.companies.saved_view.deleted")
    assert (deleted.subject_id, deleted.version) == ("savedViews/1", 2)


async def test_a_title_is_unique_in_its_list_even_at_the_same_moment(companies: Running) -> None:
    api = companies.companies
    await api.CreateSavedView(creating("입주 AI 헬스케어", "status=RESIDENT"), metadata=ADMIN)
    status = await refused(
        api.CreateSavedView(creating("입주 AI 헬스케어", "stage=SEED"), metadata=ADMIN), grpc.StatusCode.ALREADY_EXISTS
    )
    assert "입주 AI 헬스케어" in status.message
    calls = [api.CreateSavedView(creating("동시에", f"tag=t{n}"), metadata=ADMIN) for n in range(6)]
    answers = await asyncio.gather(*calls, return_exceptions=True)
    made = [a for a in answers if isinstance(a, pb.SavedView)]
    codes = {a.code() for a in answers if isinstance(a, grpc.aio.AioRpcError)}
    assert len(made) == 1 and codes == {grpc.StatusCode.ALREADY_EXISTS}
    assert await count(companies, tables.saved_views) == 2


async def test_bad_views_name_the_field_and_write_nothing(companies: Running) -> None:
    api = companies.companies
    cases = [
        (creating(""), ["saved_view.title"]),
        (creating("   "), ["saved_view.title"]),
        (creating("가" * 101), ["saved_view.title"]),
        (creating("목록", list_name="investors"), ["saved_view.list"]),
        (creating("목록", list_name=""), ["saved_view.list"]),
        (creating("쪽", "status=RESIDENT&page=2"), ["saved_view.query"]),
        (creating("상태", "status=ASLEEP"), ["saved_view.query"]),
        (creating("두 번", "status=RESIDENT&status=SELECTED"), ["saved_view.query"]),
        (creating("길게", "q=" + "가" * 101), ["saved_view.query"]),
        (creating("너무 길게", "tag=" + "a" * 1000), ["saved_view.query"]),
        (creating("키", "request_id=x", request_id="x" * 101), ["request_id"]),
    ]
    for request, fields in cases:
        status = await refused(api.CreateSavedView(request, metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT)
        assert bad_fields(status) == fields, request
    status = await refused(
        api.CreateSavedView(creating("상태", "status=ASLEEP"), metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert "ASLEEP" in str(status.details) or "ASLEEP" in status.message
    await api.CreateSavedView(creating("재시도", "stage=SEED", "k-1"), metadata=ADMIN)
    reused = await refused(
        api.CreateSavedView(creating("재시도 2", "stage=SEED", "k-1"), metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert bad_fields(reused) == ["request_id"]
    for name in ("", "companies/1", "savedViews/x"):
        status = await refused(
            api.DeleteSavedView(pb.DeleteSavedViewRequest(name=name), metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT
        )
        assert bad_fields(status) == ["name"]
    status = await refused(
        api.ListSavedViews(pb.ListSavedViewsRequest(filter="title=x"), metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT
    )
    assert bad_fields(status) == ["filter"]
    assert await count(companies, tables.saved_views) == 1
    assert await events(companies, "hub.companies.saved_view.created") != []


async def test_only_program_managers_see_or_touch_saved_views(companies: Running) -> None:
    api = companies.companies
    await api.CreateSavedView(creating("입주", "status=RESIDENT"), metadata=ADMIN)
    for who in (SERVICE, founder("companies/1")):
        for call in (
            api.CreateSavedView(creating("남의 것"), metadata=who),
            api.ListSavedViews(pb.ListSavedViewsRequest(), metadata=who),
            api.DeleteSavedView(pb.DeleteSavedViewRequest(name="savedViews/1"), metadata=who),
        ):
            await refused(call, grpc.StatusCode.PERMISSION_DENIED)
    assert await count(companies, tables.saved_views) == 1
