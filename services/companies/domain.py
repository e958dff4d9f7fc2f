"""Companies and people: values, rules and the status lifecycle. Pure Python: no database, no network."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime

from hubcore.errors import FailedPrecondition, InvalidArgument
from hubcore.text import clean, clean_tags, search_text

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
MAX_TAGS = 20
MAX_TAG_LENGTH = 30  # the company_tags column


@dataclass(frozen=True)
class Company:
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

    @property
    def name(self) -> str:
        return f"companies/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)

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
        if target == self.status:
            raise FailedPrecondition(f"{self.name} is already {target}", type_="STATUS", subject=self.name)
        if target not in TRANSITIONS[self.status]:
            allowed = ", ".join(sorted(TRANSITIONS[self.status])) or "none (final)"
            raise FailedPrecondition(
                f"{self.name} cannot go from {self.status} to {target}; allowed from {self.status}: {allowed}",
                type_="STATUS_TRANSITION",
                subject=self.name,
            )
        return replace(self, status=target, version=self.version + 1)


def new_company(
    *, korean_name: str, sector: str, english_name: str = "", stage: str = "", website: str = "",
    tags: list[str] | None = None, founded_on: date | None = None, description: str = "",
) -> Company:  # fmt: skip
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
    )
    check_company(company)
    return company


def check_company(company: Company) -> None:
    problems = []
    if not company.korean_name:
        problems.append(("company.korean_name", "is required"))
    if company.sector not in SECTORS:
        problems.append(("company.sector", "is required"))
    if company.founded_on and company.founded_on > date.today():
        problems.append(("company.founded_on", "is in the future"))
    if len(company.tags) > MAX_TAGS:
        problems.append(("company.tags", f"has more than {MAX_TAGS} tags"))
    if any(len(tag) > MAX_TAG_LENGTH for tag in company.tags):
        # Case folding can lengthen a tag that passed the request's check: "ß" becomes "ss".
        problems.append(("company.tags", f"has a tag longer than {MAX_TAG_LENGTH} characters once lower-cased"))
    if problems:
        raise InvalidArgument(problems)


def update_company(company: Company, changes: dict[str, object]) -> tuple[Company, list[str]]:
    """Applies the masked fields; returns the new company and the fields whose value changed."""
    company.require_active()
    normalized = dict(changes)
    for key in ("korean_name", "english_name"):
        if key in normalized:
            normalized[key] = clean(str(normalized[key]))
    if "tags" in normalized:
        normalized["tags"] = clean_tags(list(normalized["tags"]))  # type: ignore[call-overload]
    changed = [k for k, v in normalized.items() if getattr(company, k) != v]
    if not changed:
        return company, []
    updated = replace(company, **normalized, version=company.version + 1)  # type: ignore[arg-type]
    check_company(updated)
    return updated, sorted(changed)


@dataclass(frozen=True)
class Person:
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

    @property
    def name(self) -> str:
        return f"people/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    @property
    def search_text(self) -> str:
        return search_text(self.korean_name, self.english_name, self.email)


def check_person(person: Person) -> None:
    problems = []
    if not person.korean_name:
        problems.append(("person.korean_name", "is required"))
    if person.role not in ROLES:
        problems.append(("person.role", "is required"))
    elif person.role == "INDIVIDUAL" and person.company_id is not None:
        problems.append(("person.company", "must be empty for an individual resident"))
    elif person.role != "INDIVIDUAL" and person.company_id is None:
        problems.append(("person.company", f"is required for a {person.role.lower()}"))
    if problems:
        raise InvalidArgument(problems)


def new_person(**fields: object) -> Person:
    person = Person(id=0, **fields)  # type: ignore[arg-type]
    person = replace(
        person,
        korean_name=clean(person.korean_name),
        english_name=clean(person.english_name),
        email=person.email.strip().lower(),
    )
    check_person(person)
    return person


def update_person(person: Person, changes: dict[str, object]) -> tuple[Person, list[str]]:
    normalized = dict(changes)
    for key in ("korean_name", "english_name"):
        if key in normalized:
            normalized[key] = clean(str(normalized[key]))
    if "email" in normalized:
        normalized["email"] = str(normalized["email"]).strip().lower()
    changed = [k for k, v in normalized.items() if getattr(person, k) != v]
    if not changed:
        return person, []
    updated = replace(person, **normalized, version=person.version + 1)  # type: ignore[arg-type]
    check_person(updated)
    return updated, sorted(changed)


# The hub program: selection rounds, applications, scores and decisions; spaces; KPI reports; support.

# Consulting session categories (hub.consulting.session.completed's session.category) that are 1:1 technical
# consultations; other sessions (growth strategy, VC advisory, overseas) are not counted as this support.
TECHNICAL_CATEGORIES = frozenset({"TECHNICAL"})
