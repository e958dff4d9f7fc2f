"""An import's rows as its page says them: each row's outcome (new, changes and what they change, unchanged,
refused and why), in the reader's language. The reasons come as parts (hubcore.sheets.Rejected, the service's
field violations); the service's English problems are worded here where we know them and otherwise shown as
they are, marked English."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import grpc
from hub.companies.v1 import companies_pb2 as cpb

from hubcore import sheets
from hubcore.sheets import Rejected, Step
from services.console.backend import Refusal
from services.console.imports import CREATED, NOT_DONE, STALE, UPDATED, Outcome
from services.console.labels import LABELS, N_, short_names

Words = Callable[[str], str]  # a page's gettext

FIELDS = {
    "korean_name": N_("Korean name"), "english_name": N_("English name"), "sector": N_("Sector"),
    "stage": N_("Stage"), "tags": N_("Tags"), "website": N_("Website"), "founded_on": N_("Founding date"),
    "description": N_("Description"), "founder": N_("Founder"), "email": N_("Email"), "company": N_("Company"),
    "role": N_("Role"), "title": N_("Title"), "phone": N_("Phone"), "participant_name": N_("Name"),
}  # fmt: skip
ROLES = {"FOUNDER": N_("Founder"), "STAFF": N_("Staff"), "INDIVIDUAL": N_("Individual resident")}
OUTCOMES = {
    sheets.CREATE: N_("New"), CREATED: N_("Created"), sheets.UPDATE: N_("Changes"), UPDATED: N_("Updated"),
    sheets.UNCHANGED: N_("Unchanged"), sheets.REJECTED: N_("Refused"), STALE: N_("Not applied"),
    NOT_DONE: N_("Not done"),
}  # fmt: skip
WRITTEN = (sheets.CREATE, CREATED, sheets.UPDATE, UPDATED)  # the outcomes whose row shows what it sets
LONGEST = 80  # a value longer than this (a description) is shown cut
# The problems hubcore.requests and the companies domain name, as they say them, and in our words.
PROBLEMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"is required"), N_("is required")),
    (re.compile(r"must be (?P<low>\d+) to (?P<high>\d+) characters long"),
     N_("must be %(low)s to %(high)s characters long")),
    (re.compile(r"has more than (?P<limit>\d+) items"), N_("has more than %(limit)s items")),
    (re.compile(r"must be an http\(s\) URL"), N_("must be a web address starting with http:// or https://")),
    (re.compile(r"must be an email address"), N_("must be an email address")),
    (re.compile(r"must be a phone number in E\.164 form.*"),
     N_("must be a phone number with its country code, like +821012345678")),
    (re.compile(r"must be a single line"), N_("must be a single line")),
    (re.compile(r"must not contain (control|invisible) characters \((?P<char>.*)\)"),
     N_("contains a character that cannot be seen (%(char)s)")),
    (re.compile(r"must be a date from (?P<first>\S+) to (?P<last>\S+)"),
     N_("must be a date from %(first)s to %(last)s")),
    (re.compile(r"is in the future"), N_("is in the future")),
    (re.compile(r"must be empty for an individual resident"), N_("must be empty for an individual resident")),
    (re.compile(r"is required for an? \w+"), N_("is required for this role")),
]  # fmt: skip
# hubcore.sheets.Rejected's reasons (what), in words.
REASONS = {
    "empty": N_("is empty"),
    "unknown": N_("%(value)s is not one we know; write one of: %(known)s"),
    "not_a_date": N_("%(value)s is not a date like 2024-03-01"),
    "twice": N_("appears twice in the file"),
    "no_founder_name": N_("there is an email (%(value)s) but no founder's name beside it"),
    "unknown_company": N_("%(value)s is not a registered company"),
}
ITEM = re.compile(r"item (?P<item>'.*?'|\".*?\") (?P<problem>.*)")


@dataclass
class Note:
    """One reason: the field it is about (in words, "" for the row), what is wrong, its language."""

    field: str
    text: str
    lang: str = ""  # "en" where the service's English is shown as it is


@dataclass
class Row:
    line: int
    key: str
    outcome: str  # create, update, unchanged, rejected; created, updated, stale, not_done after applying
    word: str
    changes: list[tuple[str, str, str]] = field(default_factory=list)  # field, now, then
    founder: str = ""
    notes: list[Note] = field(default_factory=list)


def field_word(_: Words, path: str) -> str:
    name = path.rsplit(".", 1)[-1]
    return _(FIELDS[name]) if name in FIELDS else path


def value_word(_: Words, name: str, value: str) -> str:
    if name == "role":
        return _(ROLES[value]) if value in ROLES else value
    if name in ("sector", "stage") and value in LABELS:
        return _(LABELS[value])
    return value


def problem(_: Words, text: str) -> tuple[str, str]:
    """A problem the service names, in our words (and "" for its language), or as it is (and "en")."""
    if item := ITEM.fullmatch(text):
        worded, lang = problem(_, item["problem"])
        return f"{item['item']}: {worded}", lang
    for pattern, words in PROBLEMS:
        if found := pattern.fullmatch(text):
            return _(words) % found.groupdict(), ""
    return text, "en"


def violations(_: Words, pairs: list[tuple[str, str]]) -> list[Note]:
    return [Note(field_word(_, path), *problem(_, text)) for path, text in pairs]


def known_values(_: Words, name: str) -> str:
    if name == "role":
        return ", ".join(_(w) for w in ROLES.values())
    enum = cpb.Sector if name == "sector" else cpb.Stage
    return ", ".join(value_word(_, name, v) for v in short_names(enum))


def rejected(_: Words, why: Rejected) -> list[Note]:
    """A row the plan refused, said in parts."""
    if why.what == "invalid":
        return violations(_, why.violations)
    said = REASONS.get(why.what)
    if said is None:
        return [Note("", str(why), "en")]
    known = known_values(_, why.field) if why.what == "unknown" else ""
    return [Note(field_word(_, why.field), _(said) % {"value": why.value, "known": known})]


def refusal_notes(_: Words, refusal: Refusal, headline: str) -> list[Note]:
    """A write the service refused: the fields it named, else its headline."""
    if refusal.fields:
        return violations(_, refusal.fields)
    if refusal.code == grpc.StatusCode.ABORTED:
        return [Note("", _("changed since the preview: upload the file again to see it as it is now"))]
    return [Note("", headline)]


def row_of(_: Words, step: Step, outcome: str, notes: list[Note]) -> Row:
    shown = step.changes if outcome in WRITTEN else []
    changes = [(field_word(_, f), cut(value_word(_, f, now)), cut(value_word(_, f, then))) for f, now, then in shown]
    founder = " ".join(filter(None, [step.founder.korean_name, step.founder.email])) if step.founder else ""
    return Row(step.line, step.key, outcome, _(OUTCOMES[outcome]), changes, founder, notes)


def cut(text: str) -> str:
    return text if len(text) <= LONGEST else text[: LONGEST - 1] + "…"


def previewed(_: Words, steps: list[Step]) -> list[Row]:
    return [row_of(_, s, s.action, rejected(_, s.reason) if s.reason else []) for s in steps]


def applied(_: Words, outcomes: list[Outcome], headline: Callable[[Refusal], str]) -> list[Row]:
    rows = []
    for o in outcomes:
        notes = rejected(_, o.step.reason) if o.step.reason else []
        if o.done == STALE:
            notes = [Note("", _("no longer what the preview showed: upload the file again to see it as it is now"))]
        elif o.done == NOT_DONE and o.refusal is not None:
            notes = [Note("", _("not written: the import stopped before this row (%(why)s); applying the same file "
                                "again is safe") % {"why": headline(o.refusal)})]  # fmt: skip
        elif o.refusal is not None:
            notes = refusal_notes(_, o.refusal, headline(o.refusal))
        rows.append(row_of(_, o.step, o.done, notes))
    return rows


def counts(_: Words, rows: list[Row]) -> list[tuple[str, str, int]]:
    """(outcome, its word, how many) for the outcomes the rows have, in the order OUTCOMES names them."""
    found = Counter(r.outcome for r in rows)
    return [(o, _(word), found[o]) for o, word in OUTCOMES.items() if found[o]]
