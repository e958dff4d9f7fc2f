"""Firms and their theses, partners, the partner API's audit log: the register of who invests. Pure Python."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from hubcore.errors import InvalidArgument
from hubcore.resources import NAME_NORMALIZERS, Named, Normalizers, Versioned, created, revise
from hubcore.text import clean, clean_tags, email_address, search_text

FIRM_TYPES = ("VC", "CVC", "ANGEL_NETWORK", "PUBLIC_FUND", "ACCELERATOR")
# The companies service's vocabulary, as its events carry it (hub.events.v1.CompanySnapshot).
SECTORS = (
    "MEDICAL", "EDUCATION", "MANUFACTURING", "MOBILITY", "FINANCE", "RETAIL",
    "MEDIA", "SECURITY", "ROBOTICS", "AGRICULTURE", "ENERGY", "OTHER",
)  # fmt: skip
STAGES = ("IDEA", "PRE_SEED", "SEED", "PRE_A", "SERIES_A", "SERIES_B", "SERIES_C_PLUS")
ROUND_TYPES = ("PRE_SEED", "SEED", "PRE_A", "SERIES_A", "SERIES_B", "SERIES_C", "SERIES_D_PLUS", "BRIDGE")
# The hub's companies are in Korea: the geography every company is matched with.
HOME_GEOGRAPHY = "KR"
CURRENCY = "KRW"
MAX_THESES = 10
MAX_LABELS = 20
MAX_PARTICIPANTS = 50


def won(amount: int) -> str:
    return f"₩{amount:,}"


# Firms and theses


@dataclass(frozen=True)
class Thesis:
    title: str = ""
    sectors: tuple[str, ...] = ()
    stages: tuple[str, ...] = ()
    ticket_min: int = 0  # KRW; 0: no lower bound
    ticket_max: int = 0  # KRW; 0: no upper bound
    geographies: tuple[str, ...] = ()


def new_thesis(
    *, title: str = "", sectors: list[str] | tuple[str, ...] = (), stages: list[str] | tuple[str, ...] = (),
    ticket_min: int = 0, ticket_max: int = 0, geographies: list[str] | tuple[str, ...] = (), field: str = "thesis",
) -> Thesis:  # fmt: skip
    """A thesis with its values checked; problems name the field they are in (firm.theses[0].sectors)."""
    thesis = Thesis(
        title=clean(title),
        sectors=tuple(dict.fromkeys(s.strip().upper() for s in sectors)),
        stages=tuple(dict.fromkeys(s.strip().upper() for s in stages)),
        ticket_min=ticket_min,
        ticket_max=ticket_max,
        geographies=tuple(dict.fromkeys(g.strip().upper() for g in geographies)),
    )
    problems = []
    if len(thesis.title) > 100:
        problems.append((f"{field}.title", "must be at most 100 characters long"))
    if unknown := [s for s in thesis.sectors if s not in SECTORS]:
        problems.append((f"{field}.sectors", f"unknown sector {unknown[0]!r} (known: {', '.join(SECTORS)})"))
    if unknown := [s for s in thesis.stages if s not in STAGES]:
        problems.append((f"{field}.stages", f"unknown stage {unknown[0]!r} (known: {', '.join(STAGES)})"))
    if bad := [g for g in thesis.geographies if len(g) != 2 or not g.isascii() or not g.isalpha()]:
        problems.append((f"{field}.geographies", f"{bad[0]!r} is not a two-letter country code like KR"))
    if thesis.ticket_min and thesis.ticket_max and thesis.ticket_min > thesis.ticket_max:
        problems.append((f"{field}.ticket_max", "must not be below ticket_min"))
    if problems:
        raise InvalidArgument(problems)
    return thesis


@dataclass(frozen=True)
class Firm(Versioned):
    collection = "firms"

    id: int
    korean_name: str
    type: str
    english_name: str = ""
    website: str = ""
    description: str = ""
    theses: tuple[Thesis, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1

    @property
    def search_text(self) -> str:
        return search_text(self.korean_name, self.english_name)


def check_firm(firm: Firm) -> None:
    """The firm's vocabulary. A name's presence and length, and how many theses, are input rules
    (policy.RULES), checked once at the door."""
    if firm.type not in FIRM_TYPES:
        raise InvalidArgument([("firm.type", "is required")])


def new_firm(
    *, korean_name: str, type: str, english_name: str = "", website: str = "", description: str = "",
    theses: tuple[Thesis, ...] = (),
) -> Firm:  # fmt: skip
    firm = Firm(
        id=0,
        korean_name=clean(korean_name),
        english_name=clean(english_name),
        type=type,
        website=website.strip(),
        description=description.strip(),
        theses=tuple(theses),
    )
    check_firm(firm)
    return firm


# How a masked update's values are stored: names NFC and trimmed, emails lower case, labels case-folded.
FIRM_NORMALIZERS: Normalizers = {**NAME_NORMALIZERS, "theses": tuple}
PARTNER_NORMALIZERS: Normalizers = {
    **NAME_NORMALIZERS,
    "email": email_address,
    "focus": lambda focus: tuple(clean_tags(focus)),
}


def update_firm(firm: Firm, changes: dict[str, object]) -> tuple[Firm, list[str]]:
    return revise(firm, changes, FIRM_NORMALIZERS, check_firm)


# Partners (their API keys: keys.py)


@dataclass(frozen=True)
class Partner(Versioned):
    collection = "partners"

    id: int
    firm_id: int
    korean_name: str
    english_name: str = ""
    title: str = ""
    email: str = ""
    phone: str = ""
    focus: tuple[str, ...] = ()
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1


def new_partner(**fields: object) -> Partner:
    """A partner as stored: names NFC, email lowercased, focus labels cleaned. Presence and lengths are input
    rules (policy.RULES)."""
    return created(Partner, fields, PARTNER_NORMALIZERS)


def update_partner(partner: Partner, changes: dict[str, object]) -> tuple[Partner, list[str]]:
    return revise(partner, changes, PARTNER_NORMALIZERS)


@dataclass(frozen=True)
class PartnerCall(Named):
    """A row of the partner API's audit log: one call that reached the API, whatever its outcome."""

    collection = "partnerCalls"

    id: int
    api_key_id: int | None
    partner_id: int | None
    firm_id: int | None
    method: str
    resource: str
    code: str
    called_at: datetime
    request_id: str = ""
    peer: str = ""
