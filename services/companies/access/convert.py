"""Access tokens, identities and sign-in codes: proto <-> domain."""

from __future__ import annotations

from datetime import datetime

from hub.events.v1 import ops_pb2 as ev
from hub.ops.v1 import identities_pb2 as ipb
from hub.ops.v1 import tokens_pb2 as pb

from hubcore import errors, tokens
from hubcore.convert import Writer, timestamp
from hubcore.requests import enum_short, parse_name
from hubcore.text import email_address
from services.companies.access.domain import (
    ADMIN,
    FOUNDER,
    LANGUAGES,
    MENTOR,
    REVIEWER,
    Identity,
    IssuedToken,
    SignInEvent,
)

CODE_ISSUED_SUBJECT = "hub.ops.sign_in.code_issued"


def _role(token: IssuedToken | Identity) -> str:
    return token.role.upper()  # the token carries admin, the messages ADMIN


token_pb = Writer(
    pb.AccessToken,
    IssuedToken,
    rename={"create_time": "issued_at"},
    skip=("secret",),  # IssueAccessToken's answer sets it
    compute={"role": lambda t: pb.AccessTokenRole.Value(f"ACCESS_TOKEN_ROLE_{_role(t)}")},
)
issued_event = Writer(ev.AccessTokenIssued, IssuedToken, compute={"role": _role})
revoked_event = Writer(ev.AccessTokenRevoked, IssuedToken, rename={"reason": "revoke_reason"}, compute={"role": _role})

identity_pb = Writer(
    ipb.Identity,
    Identity,
    refs={"person": "people"},
    rename={"create_time": "created_at", "last_sign_in_time": "last_sign_in_at"},
    compute={"role": lambda i: ipb.IdentityRole.Value(f"IDENTITY_ROLE_{_role(i)}")},
)

sign_in_event_pb = Writer(ipb.SignInEvent, SignInEvent, refs={"identity": "identities"}, rename={"time": "at"})


def code_issued_event(
    identity: Identity, code: str, link: str, expire_at: datetime, *, invitation: bool, scope_name: str
) -> ev.SignInCodeIssued:
    return ev.SignInCodeIssued(
        identity=identity.name, email=identity.email, display_name=identity.display_name,
        language=identity.language, code=code, link=link, expire_time=timestamp(expire_at),
        invitation=invitation, role=_role(identity), scope_name=scope_name,
    )  # fmt: skip


def identity_from_pb(sent: ipb.Identity) -> Identity:
    """The identity a program manager asks for: a founder by their person, a mentor by their mentor and email, a
    reviewer by their reviewer record, another program manager by email and name. What the service sets (a
    founder's scope, a founder's or reviewer's email and name; state, stamps) is filled in by the use case."""
    role = enum_short(ipb.IdentityRole, "IDENTITY_ROLE", sent.role).lower()
    language = sent.language.strip().lower() or "ko"
    problems: list[tuple[str, str]] = [] if language in LANGUAGES else [("identity.language", "must be ko or en")]
    person_id: int | None = None
    scope, email = "", email_address(sent.email)
    if role == FOUNDER:
        person_id = parse_name(sent.person, "people", "identity.person")
        if sent.scope or sent.email:
            problems.append(("identity.person", "alone names a founder (the scope and email are their person's)"))
    elif role in (MENTOR, ADMIN):
        who = "a mentor" if role == MENTOR else "a program manager"
        if role == MENTOR:
            scope = f"mentors/{parse_name(sent.scope, 'mentors', 'identity.scope')}"
        elif sent.scope:
            problems.append(("identity.scope", "must be empty for a program manager (their tokens have no scope)"))
        if sent.person:
            problems.append(("identity.person", f"must be empty for {who}"))
        if not email:
            problems.append(("identity.email", f"is required for {who}"))
        if not sent.display_name.strip():
            problems.append(("identity.display_name", f"is required for {who}"))
    elif role == REVIEWER:
        scope = f"reviewers/{parse_name(sent.scope, 'reviewers', 'identity.scope')}"
        if sent.person or sent.email:
            problems.append(("identity.scope", "alone names a reviewer (the email and name are their record's)"))
    if problems:
        raise errors.InvalidArgument(problems)
    return Identity(
        id=0, role=role, scope=scope, email=email, display_name=sent.display_name.strip(), language=language,
        state="", created_at=datetime.min, invited_by="", person_id=person_id,
    )  # fmt: skip


def parse_token_name(name: str) -> str:
    token_id = name.removeprefix("accessTokens/")
    if not name.startswith("accessTokens/") or not tokens.valid_id(token_id):
        raise errors.invalid("name", "must look like accessTokens/<16 letters and digits>")
    return token_id
