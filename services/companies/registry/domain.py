"""Companies and people: values, rules and the status lifecycle. Pure Python: no database, no network.

Each field's rules are declared once, in hubcore.directory (COMPANY_FIELDS, PERSON_FIELDS), where an import's
preview finds them too: the request interceptor applies them to the request (registry/policy.py), check_company
and check_person to the entity, with what only the domain knows on top (the sectors and roles, today, a tag that
case folding lengthened, a person's company)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from urllib.parse import parse_qsl, urlencode

from hubcore.directory import COMPANY_FIELDS, PERSON_FIELDS
from hubcore.errors import FailedPrecondition, InvalidArgument
from hubcore.requests import Check
from hubcore.resources import NAME_NORMALIZERS, Named, Normalizers, Versioned, created, revise
from hubcore.text import clean, clean_tags, email_address, search_text

SECTORS = (
    "MEDICAL", "EDUCATION", "MANUFACTURING", "MOBILITY", "FINANCE", "RETAIL",
    "MEDIA", "SECURITY", "ROBOTICS", "AGRICULTURE", "ENERGY", "OTHER",
)  # fmt: skip
STAGES = ("", "IDEA", "PRE_SEED", "SEED", "PRE_A", "SERIES_A", "SERIES_B", "SERIES_C_PLUS")
ROLES = ("FOUNDER", "STAFF", "INDIVIDUAL")

APPLICANT, SELECTED, RESIDENT, GRADUATED, WITHDRAWN = (
    "APPLICANT",
    "SELECTED",
    "RESIDENT",
    "GRADUATED",
    "WITHDRAWN",
)
# The hub's lifecycle: admitted competitively, housed, then graduated; one may withdraw before graduating.
TRANSITIONS: dict[str, frozenset[str]] = {
    APPLICANT: frozenset({SELECTED, WITHDRAWN}),
    SELECTED: frozenset({RESIDENT, WITHDRAWN}),
    RESIDENT: frozenset({GRADUATED, WITHDRAWN}),
    GRADUATED: frozenset(),
    WITHDRAWN: frozenset(),
}
# How a masked update's values are stored (names NFC and trimmed, tags case-folded, email lower case).
COMPANY_NORMALIZERS: Normalizers = {**NAME_NORMALIZERS, "tags": clean_tags}
PERSON_NORMALIZERS: Normalizers = {**NAME_NORMALIZERS, "email": email_address}


def field_problems(entity: object, resource: str, fields: Mapping[str, list[Check]]) -> list[tuple[str, str]]:
    """The first problem of each field, as the request interceptor reports them ("company.sector", "is required")."""
    problems = []
    for name, checks in fields.items():
        value = getattr(entity, name)
        problem = next(filter(None, (check(value) for check in checks)), None)
        if problem:
            problems.append((f"{resource}.{name}", problem))
    return problems


@dataclass(frozen=True)
class Company(Versioned):
    collection = "companies"

    id: int
    korean_name: str
    sector: str
    english_name: str = ""
    stage: str = ""
    status: str = APPLICANT
    website: str = ""
    tags: list[str] = field(default_factory=list)
    founded_on: date | None = None
    description: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    version: int = 1
    funding_raised: int = 0  # KRW, from the closed rounds the investors service reports
    last_round: str = ""
    erased_at: datetime | None = None  # personal data erased on request (a tombstone)
    closed_on: date | None = None  # ceased business (CloseCompany); KPI requests stop after it
    reporting_consent: bool = False  # keeps reporting KPIs after graduating, or after not being selected

    @property
    def search_text(self) -> str:
        return search_text(self.korean_name, self.english_name, " ".join(self.tags))

    def require_active(self) -> None:
        if self.deleted_at is not None:
            raise FailedPrecondition(f"{self.name} is archived", type_="ARCHIVED", subject=self.name)

    def archive(self, when: datetime) -> Company:
        self.require_active()
        return replace(self, deleted_at=when, version=self.version + 1)

    def transition(self, target: str) -> Company:
        self.require_active()
        check_transition(self.name, self.status, target)
        return replace(self, status=target, version=self.version + 1)


def check_transition(name: str, status: str, target: str) -> None:
    """The hub's lifecycle (TRANSITIONS), the same for a company and an individual resident."""
    if target == status:
        raise FailedPrecondition(f"{name} is already {target}", type_="STATUS", subject=name)
    if target not in TRANSITIONS[status]:
        allowed = ", ".join(sorted(TRANSITIONS[status])) or "none (final)"
        raise FailedPrecondition(
            f"{name} cannot go from {status} to {target}; allowed from {status}: {allowed}",
            type_="STATUS_TRANSITION",
            subject=name,
        )


def new_company(
    *, korean_name: str, sector: str, today: date, english_name: str = "", stage: str = "", website: str = "",
    tags: list[str] | None = None, founded_on: date | None = None, description: str = "",
    reporting_consent: bool = False,
) -> Company:  # fmt: skip
    """today: the hub's date (Asia/Seoul), which a founding date may not be after."""
    company = Company(
        id=0,
        korean_name=clean(korean_name),
        english_name=clean(english_name),
        sector=sector,
        stage=stage,
        website=website.strip(),
        tags=clean_tags(tags or []),
        founded_on=founded_on,
        description=description.strip(),
        reporting_consent=reporting_consent,
    )
    check_company(company, today)
    return company


def check_company(company: Company, today: date) -> None:
    problems = field_problems(company, "company", COMPANY_FIELDS)
    if company.sector and company.sector not in SECTORS:
        problems.append(("company.sector", f"must be one of {', '.join(SECTORS)}"))
    if company.founded_on and company.founded_on > today:
        problems.append(("company.founded_on", "is in the future"))
    if problems:
        raise InvalidArgument(problems)


def update_company(company: Company, changes: dict[str, object], *, today: date) -> tuple[Company, list[str]]:
    """Applies the masked fields; returns the new company and the fields whose value changed."""
    company.require_active()
    return revise(company, changes, COMPANY_NORMALIZERS, lambda updated: check_company(updated, today))


def close(company: Company, closed_on: date, reason: str, *, today: date) -> Company:
    """The company closed on that day (not after today, Asia/Seoul); the same day again is the company itself;
    another day is a correction, which needs a reason."""
    if closed_on > today:
        raise InvalidArgument([("close_date", "is in the future")])
    if company.closed_on == closed_on:
        return company
    if company.closed_on is not None and not reason.strip():
        raise FailedPrecondition(
            f"{company.name} closed on {company.closed_on.isoformat()}: another close date corrects it and needs a"
            " reason",
            type_="CLOSE_DATE",
            subject=company.name,
        )
    return replace(company, closed_on=closed_on, version=company.version + 1)


@dataclass(frozen=True)
class Person(Versioned):
    collection = "people"

    id: int
    korean_name: str
    role: str
    english_name: str = ""
    company_id: int | None = None
    title: str = ""
    email: str = ""
    phone: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1
    erased_at: datetime | None = None  # personal data erased on request (a tombstone)
    status: str = ""  # an individual resident's lifecycle ("" is APPLICANT); always "" for founders and staff

    @property
    def search_text(self) -> str:
        return search_text(self.korean_name, self.english_name, self.email)

    @property
    def residency(self) -> str:
        """The lifecycle status of an individual resident (APPLICANT until selected); "" for the others."""
        return (self.status or APPLICANT) if self.role == "INDIVIDUAL" else ""

    def require_individual(self) -> None:
        """Only an individual resident (role INDIVIDUAL, not erased) has a residency of its own."""
        if self.role != "INDIVIDUAL":
            raise FailedPrecondition(
                f"{self.name} is a {self.role.lower()} of companies/{self.company_id}: the company holds the space",
                type_="NOT_INDIVIDUAL",
                subject=self.name,
            )
        if self.erased_at is not None:
            raise FailedPrecondition(f"{self.name} was erased", type_="ERASED", subject=self.name)

    def transition(self, target: str) -> Person:
        """The company's lifecycle (TRANSITIONS), for an individual resident."""
        self.require_individual()
        check_transition(self.name, self.residency, target)
        return replace(self, status=target, version=self.version + 1)


def check_person(person: Person) -> None:
    problems = field_problems(person, "person", PERSON_FIELDS)
    if person.role and person.role not in ROLES:
        problems.append(("person.role", f"must be one of {', '.join(ROLES)}"))
    elif person.role == "INDIVIDUAL" and person.company_id is not None:
        problems.append(("person.company", "must be empty for an individual resident"))
    elif person.role and person.role != "INDIVIDUAL" and person.company_id is None:
        problems.append(("person.company", f"is required for a {person.role.lower()}"))
    if problems:
        raise InvalidArgument(problems)


def new_person(**fields: object) -> Person:
    return created(Person, fields, PERSON_NORMALIZERS, check_person)


def update_person(person: Person, changes: dict[str, object]) -> tuple[Person, list[str]]:
    """The masked fields; an individual resident who has a lifecycle (selected or further) stays an individual."""
    updated, changed = revise(person, changes, PERSON_NORMALIZERS, check_person)
    if person.status and updated.role != person.role:
        raise FailedPrecondition(
            f"{person.name} is an individual resident ({person.status}): the role cannot change",
            type_="INDIVIDUAL_RESIDENT",
            subject=person.name,
        )
    return updated, changed


# Saved views: a list's search and filters under a title, shared by the program managers.

VIEW_LISTS = ("companies",)
# The companies list's URL query: the text searched, then ListCompanies' filter fields, in the order stored.
VIEW_KEYS = ("q", "status", "sector", "stage", "cohort", "tag")
VIEW_VALUES = {"status": tuple(TRANSITIONS), "sector": SECTORS, "stage": STAGES[1:]}
VIEW_PREFIXES = {"status": "COMPANY_STATUS_", "sector": "SECTOR_", "stage": "STAGE_"}
MAX_VIEW_TAGS = 20


@dataclass(frozen=True)
class SavedView(Named):
    collection = "savedViews"

    id: int
    list: str
    title: str
    query: str
    creator: str  # the caller's actor
    creator_display_name: str = ""  # whom the creator's token was issued to
    created_at: datetime | None = None


def new_saved_view(*, list: str, title: str, query: str, creator: str, creator_display_name: str) -> SavedView:
    problems = []
    if list not in VIEW_LISTS:
        problems.append(("saved_view.list", f"must be one of {', '.join(VIEW_LISTS)}"))
    if not clean(title):
        problems.append(("saved_view.title", "is required"))
    try:
        query = view_query(query)
    except ValueError as exc:
        problems.append(("saved_view.query", str(exc)))
    if problems:
        raise InvalidArgument(problems)
    return SavedView(0, list, clean(title), query, creator, creator_display_name)


def view_query(text: str) -> str:
    """The companies list's URL query normalized (keys in VIEW_KEYS' order, short enum names, tags case-folded,
    empty values dropped), or ValueError saying what is wrong."""
    try:
        pairs = parse_qsl(text.strip().removeprefix("?"), max_num_fields=50)
    except ValueError:
        raise ValueError("cannot be read as a URL query (key=value joined by &)") from None
    found: dict[str, list[str]] = {}
    for key, raw in pairs:
        if key not in VIEW_KEYS:
            raise ValueError(f"unknown key {key!r} (known: {', '.join(VIEW_KEYS)})")
        value = _view_value(key, raw)
        if value and value not in found.setdefault(key, []):
            found[key].append(value)
        if key != "tag" and len(found[key]) > 1:
            raise ValueError(f"{key} is given more than once")
    if len(found.get("tag", [])) > MAX_VIEW_TAGS:
        raise ValueError(f"at most {MAX_VIEW_TAGS} tags")
    return urlencode([(key, value) for key in VIEW_KEYS for value in found.get(key, [])])


def _view_value(key: str, raw: str) -> str:
    value = clean(raw)
    if key == "q":
        if len(value) > 100:
            raise ValueError("q: at most 100 characters")
        return value
    if key == "cohort":
        if value and not re.fullmatch(r"rounds/[1-9][0-9]{0,17}", value):
            raise ValueError(f"cohort: {raw!r} is not a round's name (rounds/3)")
        return value
    if key == "tag":
        if len(value.casefold()) > 30:
            raise ValueError("tag: at most 30 characters each")
        return value.casefold()
    short = value.upper().removeprefix(VIEW_PREFIXES[key])
    if value and short not in VIEW_VALUES[key]:
        raise ValueError(f"{key}: unknown value {raw!r} (known: {', '.join(VIEW_VALUES[key])})")
    return short
