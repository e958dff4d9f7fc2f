"""The browser's session: who is signed in (their token, role and scope), the CSRF secret its forms carry, the
language and the one-time messages of the next page. Sealed in one cookie (Fernet: encrypted and authenticated),
so the console keeps no state of its own and any replica reads it; signing out revokes the token itself."""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

COOKIE = "hub_console"
LANGUAGES = ("ko", "en")


@dataclass
class Account:
    """One of the tokens a sign-in gave (a founder of two companies gets two)."""

    token: str  # the access token's secret
    name: str  # accessTokens/… ("" for a configured admin token outside the register)
    role: str  # admin, founder, mentor, reviewer
    scope: str  # companies/7, mentors/3, reviewers/2; "" for program managers
    label: str  # how the page names them: 김서연 · 메디비전
    expires: float  # when the token ends (epoch seconds)


@dataclass
class Session:
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    lang: str = "ko"
    accounts: list[Account] = field(default_factory=list)
    current: int = 0  # which account acts
    flash: list[tuple[str, str]] = field(default_factory=list)  # (kind: ok or error, text)
    email: str = ""  # the address a code was asked for, between the two sign-in steps
    changed: bool = False

    @property
    def account(self) -> Account | None:
        if not self.accounts or self.current >= len(self.accounts):
            return None
        account = self.accounts[self.current]
        return account if account.expires > time.time() else None

    def sign_in(self, accounts: list[Account]) -> None:
        self.accounts, self.current, self.email = accounts, 0, ""
        self.csrf = secrets.token_urlsafe(24)  # a new secret at every sign-in (no fixation)
        self.changed = True

    def sign_out(self) -> None:
        self.accounts, self.current = [], 0
        self.csrf = secrets.token_urlsafe(24)
        self.changed = True

    def say(self, kind: str, text: str) -> None:
        self.flash.append((kind, text))
        self.changed = True

    def take_flash(self) -> list[tuple[str, str]]:
        shown, self.flash = self.flash, []
        if shown:
            self.changed = True
        return shown


class Sealer:
    def __init__(self, key: bytes) -> None:
        self.fernet = Fernet(key)

    def seal(self, session: Session) -> str:
        data = asdict(session)
        data.pop("changed")
        return self.fernet.encrypt(json.dumps(data, ensure_ascii=False).encode()).decode()

    def open(self, cookie: str | None, max_age: int, now: float | None = None) -> Session:
        """The session the cookie holds; a new one for none, a forged, altered or expired cookie."""
        if not cookie:
            return Session(changed=True)
        try:
            sealed = cookie.encode()
            opened = self.fernet.decrypt_at_time(sealed, max_age, int(now if now is not None else time.time()))
            data: dict[str, Any] = json.loads(opened)
            accounts = [Account(**a) for a in data.pop("accounts")]
            flash = [(k, t) for k, t in data.pop("flash")]
            session = Session(**data, accounts=accounts, flash=flash)
        except (InvalidToken, ValueError, TypeError, KeyError):
            return Session(changed=True)
        if session.lang not in LANGUAGES:
            session.lang = "ko"
        return session
