"""What the consulting calendar is made of, set up by program managers: mentors added (and invited to sign in
with their own address), deactivated with a reason or brought back; rooms and session types added. Each form
is one call of the consulting (or, for the invitation, the companies) service; a refusal comes back in words."""

from __future__ import annotations

import uuid

from google.protobuf import duration_pb2
from hub.consulting.v1 import consulting_pb2 as spb
from hub.ops.v1 import identities_pb2 as idpb
from starlette.requests import Request
from starlette.responses import Response

from hubcore.text import clean_tags
from services.console.backend import Refusal
from services.console.labels import enum_value, short_names
from services.console.pages.auth import invite
from services.console.web import Page, act, refused, whole_number

MENTOR_KINDS = short_names(spb.MentorKind)
CATEGORIES = short_names(spb.SessionCategory)


def _text(page: Page, field: str) -> str:
    assert page.form is not None
    return str(page.form.get(field, "")).strip()


def _number(page: Page, field: str) -> int:
    return whole_number(_text(page, field))


def _minutes(page: Page, field: str) -> duration_pb2.Duration:
    return duration_pb2.Duration(seconds=whole_number(_text(page, field), blank=0) * 60)


async def add_mentor(request: Request) -> Response:
    """A mentor added; invited to sign in at once when the form asks (a mail with how to sign in)."""
    page = Page(request, await request.form())
    mentor = spb.Mentor(
        korean_name=_text(page, "korean_name"), english_name=_text(page, "english_name"),
        kind=spb.MentorKind.ValueType(enum_value(spb.MentorKind, _text(page, "kind"))),
        affiliation=_text(page, "affiliation"), email=_text(page, "email"),
        expertise=clean_tags(_text(page, "expertise").split(",")),
    )  # fmt: skip
    asked = spb.CreateMentorRequest(mentor=mentor, request_id=_text(page, "request_id") or str(uuid.uuid4()))
    try:
        made = await page.hub.consulting.CreateMentor(asked)
    except Refusal as refusal:
        return refused(page, refusal, back="/mentors")
    if _text(page, "invite") and made.email:
        return await _invite(page, made)
    return page.back(f"/{made.name}", "ok", page._("The mentor is added. Set their usual week below."))


async def invite_mentor(request: Request) -> Response:
    page = Page(request, await request.form())
    mentor = await page.hub.consulting.GetMentor(spb.GetMentorRequest(name=_mentor(request)))
    return await _invite(page, mentor)


async def _invite(page: Page, mentor: spb.Mentor) -> Response:
    wanted = idpb.Identity(role=idpb.IDENTITY_ROLE_MENTOR, scope=mentor.name, email=mentor.email,
                           display_name=mentor.korean_name)  # fmt: skip
    said = page._("The mentor is added and invited: a mail tells them how to sign in with a code.")
    return await invite(page, wanted, f"/{mentor.name}", said)


async def deactivate_mentor(request: Request) -> Response:
    page = Page(request, await request.form())
    asked = spb.DeactivateMentorRequest(name=_mentor(request), reason=_text(page, "reason"), etag=_text(page, "etag"))
    said = page._("The mentor is deactivated: nobody can book them, and their sign-in has ended.")
    return await act(page, page.hub.consulting.DeactivateMentor(asked), f"/{asked.name}", said)


async def reactivate_mentor(request: Request) -> Response:
    page = Page(request, await request.form())
    asked = spb.ReactivateMentorRequest(name=_mentor(request), reason=_text(page, "reason"), etag=_text(page, "etag"))
    said = page._("The mentor is active again and can be booked.")
    return await act(page, page.hub.consulting.ReactivateMentor(asked), f"/{asked.name}", said)


async def add_room(request: Request) -> Response:
    page = Page(request, await request.form())
    room = spb.Room(display_name=_text(page, "display_name"), floor=max(_number(page, "floor"), 0),
                    capacity=_number(page, "capacity"))  # fmt: skip
    asked = spb.CreateRoomRequest(room=room, request_id=_text(page, "request_id") or str(uuid.uuid4()))
    return await act(page, page.hub.consulting.CreateRoom(asked), "/rooms", page._("The room is added."))


async def add_session_type(request: Request) -> Response:
    page = Page(request, await request.form())
    kind = spb.SessionType(
        display_name=_text(page, "display_name"),
        category=spb.SessionCategory.ValueType(enum_value(spb.SessionCategory, _text(page, "category"))),
        default_duration=_minutes(page, "minutes"), buffer_before=_minutes(page, "before"),
        buffer_after=_minutes(page, "after"),
    )  # fmt: skip
    asked = spb.CreateSessionTypeRequest(session_type=kind, request_id=_text(page, "request_id") or str(uuid.uuid4()))
    return await act(page, page.hub.consulting.CreateSessionType(asked), "/rooms", page._("The session type is added."))


def _mentor(request: Request) -> str:
    return f"mentors/{request.path_params['mentor']}"
