"""What AccessTokenService's and IdentityService's methods do: issue a token (the register keeps what it says, the
caller gets the signed token once), list the register, revoke; invite founders, mentors and reviewers, mail them
one-time codes, exchange a code for tokens of their role and scope, renew, and end an identity with its tokens. A
revocation commits with its event (hub.ops.access_token.revoked), which every service, this one included,
applies to its own revoked_tokens."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from urllib.parse import urlencode

from hubcore import errors, tokens
from hubcore.db import Database, UnitOfWork, cursor_value, now
from hubcore.requests import PageTokens, next_page
from hubcore.rows import paged
from hubcore.text import email_address
from services.companies.access import store
from services.companies.access.convert import CODE_ISSUED_SUBJECT, code_issued_event, issued_event, revoked_event
from services.companies.access.domain import (
    ACTIVE,
    CODE_LIFETIME,
    CODE_NOT_SENT,
    CODE_SENT,
    CODES_PER_HOUR,
    FOUNDER,
    IDENTITY_REVOKED,
    RENEWED,
    REVIEWER,
    SIGNED_IN,
    SIGNED_OUT,
    WRONG_CODE,
    Identity,
    IssuedToken,
    SignInCode,
    SignInEvent,
    code_hash,
    new_code,
)
from services.companies.program import store as program_store
from services.companies.registry import store as registry_store
from services.companies.registry.domain import Person


def _signing_key(keys: tuple[str, ...]) -> str:
    if not keys:
        raise errors.FailedPrecondition(
            "no token signing key is configured (HUB_TOKEN_SIGNING_KEY)", type_="CONFIGURATION", subject="tokens"
        )
    return keys[0]


async def issue_token(
    uow: UnitOfWork, *, subject: str, role: str, description: str, expire_at: datetime | None, keys: tuple[str, ...]
) -> tuple[IssuedToken, str]:
    """The token registered and its signed secret (shown once). expire_at: the one asked for, if any (capped)."""
    _signing_key(keys)
    issued = now()  # the token carries whole seconds; the register orders by the exact time
    token = IssuedToken(
        id=tokens.new_token_id(),
        subject=subject,
        role=role,
        issued_at=issued,
        expire_at=tokens.expiry(expire_at, issued),
        issued_by=uow.actor,
        description=description,
    )
    return await _register(uow, token, keys)


async def _register(uow: UnitOfWork, token: IssuedToken, keys: tuple[str, ...]) -> tuple[IssuedToken, str]:
    """Keeps what the token says, tells every service it was issued, and signs it."""
    claims = tokens.Claims(token.id, token.subject, token.role, token.issued_at, token.expire_at, token.scope)
    await store.insert_token(uow.conn, token)
    await uow.emit(tokens.ISSUED_SUBJECT, token.name, 1, issued_event(token))
    return token, tokens.sign(claims, _signing_key(keys))


async def list_tokens(
    db: Database,
    *,
    terms: Mapping[str, Sequence[object]],
    show_revoked: bool,
    show_expired: bool,
    size: int,
    page_token: str,
) -> tuple[Sequence[IssuedToken], str]:
    """One page of the register (oldest first) and the next page's token. terms: the filter's (role)."""
    query_key = f"{sorted(terms.items())}|{show_revoked}|{show_expired}"
    after = PageTokens.decode(page_token, query_key, (datetime, str))  # the id is base32 text
    roles = [str(r).lower() for r in terms["role"]] if "role" in terms else None
    async with db.read() as conn:
        found = await store.list_tokens(
            conn, roles=roles, show_revoked=show_revoked,
            expired_before=None if show_expired else now(), after=after, limit=size + 1,
        )  # fmt: skip
    return next_page(found, size, query_key, lambda t: [cursor_value(t.issued_at), t.id])


async def revoke_token(uow: UnitOfWork, token_id: str, name: str, reason: str, issuer: Issuer) -> IssuedToken:
    found = await store.get_token(uow.conn, token_id)
    if found is None:
        raise errors.NotFound("AccessToken", name)
    return await _revoke_token(uow, found, reason, issuer)


async def _revoke_token(uow: UnitOfWork, token: IssuedToken, reason: str, issuer: Issuer) -> IssuedToken:
    revoked = token.revoke(now(), uow.actor, reason)
    uow.after_commit(lambda: issuer.remember(token.id, revoked.expire_at))
    await store.save_revocation(uow.conn, revoked)
    # Refused here at once; the event brings it to every other service (and to this one's consumer, which finds
    # it recorded).
    await tokens.record_revocation(uow, token.id, revoked.expire_at)
    await uow.emit(tokens.REVOKED_SUBJECT, revoked.name, 2, revoked_event(revoked))
    return revoked


# Identities: invitations, sign-in codes, sign-in, renewal and ending


def _forget(token_id: str, expire_at: datetime) -> None:
    """No process-local verifier to tell (an event handler's revocation reaches it through the event)."""


@dataclass(frozen=True)
class Issuer:
    """What issuing and revoking need beyond the register: the signing keys (which also key the codes' hashes),
    the sign-in page the mails link to, and this process's verifier to refuse a revoked token at once."""

    keys: tuple[str, ...]
    sign_in_url: str = ""
    remember: Callable[[str, datetime], None] = _forget

    @property
    def key(self) -> str:
        return _signing_key(self.keys)

    def link(self, email: str) -> str:
        return f"{self.sign_in_url}?{urlencode({'email': email})}" if self.sign_in_url else ""


async def invite(uow: UnitOfWork, wanted: Identity, issuer: Issuer) -> Identity:
    """A new identity (a founder's from their person: email, company and name; a reviewer's from their record:
    email and name), and its first code mailed."""
    issuer.key  # noqa: B018  (refuses before anything is written when no key is configured)
    if wanted.role == FOUNDER:
        wanted = await _founder(uow, wanted)
    elif wanted.role == REVIEWER:
        wanted = await _reviewer(uow, wanted)
    if await store.active_identity(uow.conn, wanted.email, wanted.role, wanted.scope) is not None:
        raise errors.AlreadyExists(
            "Identity", wanted.email, f"{wanted.email} is already an active {wanted.role} of {wanted.scope}"
        )
    identity = await store.insert_identity(uow.conn, replace(wanted, state=ACTIVE, invited_by=uow.actor))
    await _mail_code(uow, identity, issuer, invitation=True, peer="")
    return identity


async def _founder(uow: UnitOfWork, wanted: Identity) -> Identity:
    """A founder's identity is their person's: the person must belong to a company and have an email."""
    assert wanted.person_id is not None
    person = await registry_store.get_person(uow.conn, wanted.person_id)
    if person is None or person.erased_at is not None:
        raise errors.NotFound("Person", f"people/{wanted.person_id}")
    if person.company_id is None:
        raise errors.FailedPrecondition(
            f"{person.name} belongs to no company: only a company's person is invited as its founder",
            type_="NO_COMPANY", subject=person.name,
        )  # fmt: skip
    if not person.email:
        raise errors.FailedPrecondition(
            f"{person.name} has no email address to mail the sign-in code to", type_="NO_EMAIL", subject=person.name
        )
    company = await registry_store.get_company(uow.conn, person.company_id)
    if company is None or company.deleted_at is not None:
        raise errors.FailedPrecondition(
            f"companies/{person.company_id} is archived", type_="ARCHIVED", subject=person.name
        )
    return replace(wanted, scope=company.name, email=email_address(person.email), display_name=person.korean_name)


async def _reviewer(uow: UnitOfWork, wanted: Identity) -> Identity:
    """A reviewer's identity is their record's: its email and Korean name."""
    reviewer = await program_store.get_reviewer(uow.conn, int(wanted.scope.removeprefix("reviewers/")))
    if reviewer is None:
        raise errors.NotFound("Reviewer", wanted.scope)
    return replace(wanted, email=email_address(reviewer.email), display_name=reviewer.korean_name)


async def request_code(uow: UnitOfWork, email: str, issuer: Issuer, peer: str) -> datetime:
    """Mails a code if the address belongs to an active identity and has not had too many this hour; logs
    either way. Answers the same expiry whatever happened, so the call tells nobody who is invited."""
    when = now()
    found = await store.active_identities_of(uow.conn, email)
    if not found:
        await store.log_event(uow.conn, SignInEvent(0, when, email, CODE_NOT_SENT, peer, note="no active identity"))
    elif await store.codes_since(uow.conn, email, when - timedelta(hours=1)) >= CODES_PER_HOUR:
        await store.log_event(uow.conn, SignInEvent(0, when, email, CODE_NOT_SENT, peer, note="hourly limit"))
    else:
        await _mail_code(uow, found[0], issuer, invitation=False, peer=peer)
    return when + CODE_LIFETIME


async def _mail_code(uow: UnitOfWork, identity: Identity, issuer: Issuer, *, invitation: bool, peer: str) -> None:
    """A new code for the identity's address (voiding the ones before), its hash kept, the code itself sent
    to the notifications worker in the event (it works once, for 15 minutes)."""
    code, when = new_code(), now()
    held = await store.insert_code(
        uow.conn,
        SignInCode(0, identity.email, code_hash(issuer.key, identity.email, code), when, when + CODE_LIFETIME),
    )
    await store.log_event(uow.conn, SignInEvent(0, when, identity.email, CODE_SENT, peer, identity.id, uow.actor))
    link, scope_name = issuer.link(identity.email), await _scope_name(uow, identity)
    await uow.emit(
        CODE_ISSUED_SUBJECT, identity.name, held.id,
        code_issued_event(identity, code, link, held.expire_at, invitation=invitation, scope_name=scope_name),
    )  # fmt: skip


async def _scope_name(uow: UnitOfWork, identity: Identity) -> str:
    """How the mail names what the identity acts for: a founder's company by its Korean name."""
    if identity.role != FOUNDER:
        return identity.display_name
    company = await registry_store.get_company(uow.conn, int(identity.scope.removeprefix("companies/")))
    return company.korean_name if company else identity.scope


async def sign_in(
    uow: UnitOfWork, email: str, code: str, issuer: Issuer, peer: str
) -> list[tuple[IssuedToken, str]] | None:
    """One token per active identity of the address, for a right code; None for a wrong, used, expired or
    voided one (the failure is counted and logged: commit before refusing)."""
    when = now()
    held = await store.latest_code(uow.conn, email)
    found = await store.active_identities_of(uow.conn, email)
    good = held is not None and held.usable(when) and held.matches(code, issuer.key) and bool(found)
    if not good or held is None or not await store.use_code(uow.conn, held, when):
        if held is not None and held.used_at is None:
            await store.count_failure(uow.conn, held)
        await store.log_event(uow.conn, SignInEvent(0, when, email, WRONG_CODE, peer, actor=uow.actor))
        return None
    issued = []
    for identity in found:
        issued.append(await _issue_for(uow, identity, when, issuer))
        await store.save_identity(uow.conn, replace(identity, last_sign_in_at=when), "last_sign_in_at")
        await store.log_event(uow.conn, SignInEvent(0, when, email, SIGNED_IN, peer, identity.id, uow.actor))
    return issued


async def _issue_for(uow: UnitOfWork, identity: Identity, when: datetime, issuer: Issuer) -> tuple[IssuedToken, str]:
    token = IssuedToken(
        id=tokens.new_token_id(), subject=identity.display_name, role=identity.role, issued_at=when,
        expire_at=when + tokens.SIGNED_IN_LIFETIME, issued_by=uow.actor, description=f"sign-in of {identity.name}",
        scope=identity.scope, identity_id=identity.id,
    )  # fmt: skip
    return await _register(uow, token, issuer.keys)


async def renew(uow: UnitOfWork, token_id: str, issuer: Issuer, peer: str) -> tuple[IssuedToken, str]:
    """A fresh token for the identity of the token presented, which is revoked."""
    current = await store.get_token(uow.conn, token_id)
    if current is None or current.identity_id is None:
        raise errors.FailedPrecondition(
            "only a token got by signing in can be renewed", type_="NOT_SIGNED_IN", subject=f"accessTokens/{token_id}"
        )
    identity = await store.get_identity(uow.conn, current.identity_id)
    if identity is None or identity.state != ACTIVE:
        raise errors.PermissionDenied("the identity of this token has ended; ask a program manager for an invitation")
    when = now()
    renewed = await _issue_for(uow, identity, when, issuer)
    await _revoke_token(uow, current, "renewed", issuer)
    await store.log_event(uow.conn, SignInEvent(0, when, identity.email, RENEWED, peer, identity.id, uow.actor))
    return renewed


async def sign_out(uow: UnitOfWork, caller_id: str, issuer: Issuer, peer: str) -> IssuedToken:
    """Revokes the token presented (a signed-in person's, or a registered admin token), and logs it for its
    identity, if it has one."""
    token_id = caller_id.removeprefix("accessTokens/")
    current = await store.get_token(uow.conn, token_id) if caller_id.startswith("accessTokens/") else None
    if current is None:
        raise errors.FailedPrecondition(
            "this token is not in the register (it is the machine's configured admin token): there is nothing to "
            "revoke", type_="NOT_REGISTERED", subject="accessTokens",
        )  # fmt: skip
    revoked = await _revoke_token(uow, current, "signed out", issuer)
    if current.identity_id is not None:
        identity = await store.get_identity(uow.conn, current.identity_id)
        email = identity.email if identity else ""
        await store.log_event(uow.conn, SignInEvent(0, revoked.revoked_at or now(), email, SIGNED_OUT, peer,
                                                    current.identity_id, uow.actor))  # fmt: skip
    return revoked


async def end_identity(uow: UnitOfWork, identity: Identity, reason: str, issuer: Issuer) -> Identity:
    """Ends an identity and revokes every live token it holds (each through the revocation event)."""
    when = now()
    ended = identity.revoke(when, uow.actor, reason)
    await store.save_identity(uow.conn, ended, "state", "revoked_at", "revoked_by", "revoke_reason")
    for token in await store.live_tokens_of(uow.conn, identity.id, when):
        await _revoke_token(uow, token, reason, issuer)
    ended_event = SignInEvent(0, when, identity.email, IDENTITY_REVOKED, "", identity.id, uow.actor, reason[:200])
    await store.log_event(uow.conn, ended_event)
    return ended


async def revoke_identity(uow: UnitOfWork, identity_id: int, name: str, reason: str, issuer: Issuer) -> Identity:
    found = await store.get_identity(uow.conn, identity_id)
    if found is None:
        raise errors.NotFound("Identity", name)
    return await end_identity(uow, found, reason, issuer)


# What the registry's changes do to identities, in the same transaction: leaving the company (or being deleted,
# erased or archived with it) ends a founder's identity and revokes its tokens at once.
GONE = Issuer(())  # the registry's writes hold no verifier: the revocation events reach every one, this one's too


async def person_changed(uow: UnitOfWork, person: Person) -> None:
    """A person's founder identities follow their email, and end when they move to another company or none."""
    company = f"companies/{person.company_id}" if person.company_id is not None else ""
    for identity in await store.active_identities_of_person(uow.conn, person.id):
        if company != identity.scope:
            await end_identity(uow, identity, f"{person.name} left {identity.scope}", GONE)
        elif email_address(person.email) != identity.email:
            if not person.email:
                await end_identity(uow, identity, f"{person.name} has no email address any more", GONE)
            else:
                moved = replace(identity, email=email_address(person.email))
                await store.save_identity(uow.conn, moved, "email")


async def person_gone(uow: UnitOfWork, person_id: int, reason: str) -> None:
    """A person deleted or erased: their identities end (an erased one's address leaves the register too)."""
    for identity in await store.active_identities_of_person(uow.conn, person_id):
        await end_identity(uow, identity, reason, GONE)


async def company_gone(uow: UnitOfWork, company: str, reason: str) -> None:
    for identity in await store.active_identities_of_scope(uow.conn, company):
        await end_identity(uow, identity, reason, GONE)


async def mentor_gone(uow: UnitOfWork, mentor: str, reason: str) -> None:
    """A mentor deactivated in consulting (hub.consulting.mentor.deactivated): every identity bound to mentors/N
    ends and its tokens are revoked everywhere, as for an archived company's founders."""
    await company_gone(uow, mentor, reason)


async def list_identities(
    db: Database, *, terms: Mapping[str, Sequence[object]], size: int, page_token: str
) -> tuple[Sequence[Identity], str]:
    roles = [str(r).lower() for r in terms["role"]] if "role" in terms else None
    scopes = [str(s) for s in terms["scope"]] if "scope" in terms else None
    states = [str(s) for s in terms["state"]] if "state" in terms else None
    fetch = lambda conn, after, limit: store.list_identities(  # noqa: E731
        conn, roles=roles, scopes=scopes, states=states, after=after, limit=limit
    )
    return await paged(db, str(sorted(terms.items())), page_token, size, fetch)


async def list_sign_in_events(
    db: Database, *, terms: Mapping[str, Sequence[object]], size: int, page_token: str
) -> tuple[Sequence[SignInEvent], str]:
    email = email_address(str(terms["email"][0])) if "email" in terms else None
    fetch = lambda conn, after, limit: store.list_events(conn, email=email, after=after, limit=limit)  # noqa: E731
    return await paged(db, str(sorted(terms.items())), page_token, size, fetch)
