"""Who is the same person among a program's registrations: the rule an import applies before registering anyone.

A sheet typed by hand names one person many ways: "김서연" and "김 서연", "010-1234-5678" and "+82 10 1234 5678",
"Kim@Saessak.ai" and "kim@saessak.ai". Two registrations are the same person when
- their emails are equal, letter case aside;
- or their names are equal (spaces, letter case and Unicode composition aside) and so are their phones' digits
  (a Korean +82 number read as the 0… one), unless they give two different emails;
- or their names are equal, they are of the same company (or both of none), and neither gives an email: the way
  the dashboard tells people apart without an email (store.programs._person).
What only looks alike is suspected, not merged, for a program manager to check: the same name and phone under
two different emails, the same name at the same company with an email on one side only.

Pure: no I/O. The consulting service applies it in BatchCreateRegistrations, inside the transaction that reads
the program's registrations, so an import run twice, two imports at once and the dry run all see one answer."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from services.consulting.domain.programs import Registration

SAME, SUSPECT = "same", "suspect"


def name_key(name: str) -> str:
    """A name as compared: NFC (decomposed Hangul from macOS composes), without any space, case-folded."""
    return "".join(unicodedata.normalize("NFC", name).casefold().split())


def phone_key(phone: str) -> str:
    """A phone number as compared: its digits, a Korean country code read as the leading 0 (+82 10… is 010…)."""
    digits = re.sub(r"\D", "", unicodedata.normalize("NFKC", phone))
    if digits.startswith("82") and len(digits) >= 11 and not phone.strip().startswith("0"):
        digits = "0" + digits[2:].removeprefix("0")
    return digits


@dataclass(frozen=True)
class Who:
    """What a registration says of its person; company is companies/N or "" (an individual)."""

    name: str
    email: str = ""
    phone: str = ""
    company: str = ""

    @property
    def keys(self) -> tuple[str, str, str]:
        return name_key(self.name), self.email.strip().casefold(), phone_key(self.phone)


@dataclass(frozen=True)
class Match:
    verdict: str  # SAME or SUSPECT
    reason: str  # in Korean first, English second, as the report shows it


def match(new: Who, known: Who) -> Match | None:
    """Whether new is the person known (SAME), may be (SUSPECT), or not (None)."""
    name, email, phone = new.keys
    known_name, known_email, known_phone = known.keys
    if email and email == known_email:
        return Match(SAME, "같은 이메일 (same email)")
    if not name or name != known_name:
        return None
    emails_differ = bool(email and known_email)  # equal ones returned above
    if phone and phone == known_phone:
        if emails_differ:
            return Match(SUSPECT, "이름·전화 같음, 이메일 다름 (same name and phone, other email)")
        return Match(SAME, "같은 이름·전화 (same name and phone)")
    if new.company != known.company:
        return None
    if not email and not known_email:
        return Match(SAME, "같은 이름·소속, 이메일 없음 (same name and company, no email)")
    if new.company and not emails_differ:
        return Match(SUSPECT, "이름·소속 같음, 한쪽만 이메일 (same name and company, one email)")
    return None


@dataclass(frozen=True)
class Found:
    """The person new is, if any (the index of the known one), why, and those it may be (index, reason)."""

    same: int | None
    reason: str = ""
    suspects: tuple[tuple[int, str], ...] = ()


class People:
    """Everyone known so far (a program's registrations, then the sheet's rows as they are taken), indexed by
    email and by name, so a 2,000-row sheet against a full program compares each row with a few, not all."""

    def __init__(self, known: Iterable[Who] = ()) -> None:
        self.whos: list[Who] = []
        self._by_email: dict[str, int] = {}
        self._by_name: dict[str, list[int]] = {}
        for who in known:
            self.add(who)

    def add(self, who: Who) -> int:
        index = len(self.whos)
        self.whos.append(who)
        name, email, _ = who.keys
        if email:
            self._by_email.setdefault(email, index)
        self._by_name.setdefault(name, []).append(index)
        return index

    def find(self, new: Who) -> Found:
        """The first known person new is the same as (by email first), or those it may be."""
        name, email, _ = new.keys
        if email and email in self._by_email:
            index = self._by_email[email]
            return Found(index, match(new, self.whos[index]).reason)  # type: ignore[union-attr]
        suspects = []
        for index in self._by_name.get(name, []) if name else []:
            found = match(new, self.whos[index])
            if found is not None and found.verdict == SAME:
                return Found(index, found.reason)
            if found is not None:
                suspects.append((index, found.reason))
        return Found(None, "", tuple(suspects))

    def alike(self, new: Who, itself: int) -> tuple[tuple[int, str], ...]:
        """Who else may be the person known at index itself (a request done before, seen again): every one the
        rule matches, the same or suspected, so a re-run still lists what a program manager should check."""
        name, email, _ = new.keys
        near = [*self._by_name.get(name, []), *([self._by_email[email]] if email in self._by_email else [])]
        found = ((i, match(new, self.whos[i])) for i in dict.fromkeys(near) if i != itself)
        return tuple((i, m.reason) for i, m in found if m is not None)


# What became of each request of an import (BatchCreateRegistrations)

CREATED, ALREADY_DONE, SAME_PERSON, REJECTED = "CREATED", "ALREADY_DONE", "SAME_PERSON", "REJECTED"


@dataclass(frozen=True)
class Asked:
    """One request as read: the registration, or the problem (field, reason) that refused it."""

    registration: Registration | None
    request_id: str = ""
    fingerprint: str = ""
    problem: tuple[str, str] | None = None


@dataclass(frozen=True)
class Suspect:
    registration: Registration
    index: int  # the request of the call that made it (1 for the first), 0 when registered before
    reason: str


@dataclass(frozen=True)
class Outcome:
    result: str
    registration: Registration | None = None
    field: str = ""
    reason: str = ""
    suspects: tuple[Suspect, ...] = ()
    same_as: int = 0  # SAME_PERSON: the earlier request of the call that registered them (1 for the first)


def who(registration: Registration) -> Who:
    company = f"companies/{registration.company_id}" if registration.company_id else ""
    return Who(registration.participant_name, registration.email, registration.phone, company)
