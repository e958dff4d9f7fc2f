"""Investors: firms and their theses, partners, API keys, the introduction state machine, funding rounds,
and the fit score. Pure Python: no database, no network."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from hubcore.errors import FailedPrecondition, InvalidArgument, PermissionDenied
from hubcore.text import clean, clean_tags, search_text

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
KEY_LIFETIME = timedelta(days=90)
MAX_KEY_LIFETIME = timedelta(days=366)


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
class Firm:
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
    def name(self) -> str:
        return f"firms/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    @property
    def search_text(self) -> str:
        return search_text(self.korean_name, self.english_name)


def check_firm(firm: Firm) -> None:
    problems = []
    if not firm.korean_name:
        problems.append(("firm.korean_name", "is required"))
    if firm.type not in FIRM_TYPES:
        problems.append(("firm.type", "is required"))
    if len(firm.theses) > MAX_THESES:
        problems.append(("firm.theses", f"has more than {MAX_THESES} theses"))
    if problems:
        raise InvalidArgument(problems)


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


def update_firm(firm: Firm, changes: dict[str, object]) -> tuple[Firm, list[str]]:
    normalized = dict(changes)
    for key in ("korean_name", "english_name"):
        if key in normalized:
            normalized[key] = clean(str(normalized[key]))
    if "theses" in normalized:
        theses = normalized["theses"]
        assert isinstance(theses, (list, tuple))
        normalized["theses"] = tuple(theses)
    changed = [k for k, v in normalized.items() if getattr(firm, k) != v]
    if not changed:
        return firm, []
    updated = replace(firm, **normalized, version=firm.version + 1)  # type: ignore[arg-type]
    check_firm(updated)
    return updated, sorted(changed)


# Partners and their API keys


@dataclass(frozen=True)
class Partner:
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

    @property
    def name(self) -> str:
        return f"partners/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)


def check_partner(partner: Partner) -> None:
    problems = []
    if not partner.korean_name:
        problems.append(("partner.korean_name", "is required"))
    if len(partner.focus) > MAX_LABELS:
        problems.append(("partner.focus", f"has more than {MAX_LABELS} labels"))
    if problems:
        raise InvalidArgument(problems)


def new_partner(**fields: object) -> Partner:
    partner = Partner(id=0, **fields)  # type: ignore[arg-type]
    partner = replace(
        partner,
        korean_name=clean(partner.korean_name),
        english_name=clean(partner.english_name),
        email=partner.email.strip().lower(),
        focus=tuple(clean_tags(partner.focus)),
    )
    check_partner(partner)
    return partner


def update_partner(partner: Partner, changes: dict[str, object]) -> tuple[Partner, list[str]]:
    normalized = dict(changes)
    for key in ("korean_name", "english_name"):
        if key in normalized:
            normalized[key] = clean(str(normalized[key]))
    if "email" in normalized:
        normalized["email"] = str(normalized["email"]).strip().lower()
    if "focus" in normalized:
        focus = normalized["focus"]
        assert isinstance(focus, (list, tuple))
        normalized["focus"] = tuple(clean_tags(list(focus)))
    changed = [k for k, v in normalized.items() if getattr(partner, k) != v]
    if not changed:
        return partner, []
    updated = replace(partner, **normalized, version=partner.version + 1)  # type: ignore[arg-type]
    check_partner(updated)
    return updated, sorted(changed)


@dataclass(frozen=True)
class ApiKey:
    id: int
    partner_id: int
    firm_id: int
    prefix: str
    expire_at: datetime
    description: str = ""
    created_at: datetime | None = None
    revoked_at: datetime | None = None

    @property
    def name(self) -> str:
        return f"apiKeys/{self.id}"

    def refusal(self, when: datetime) -> str | None:
        """Why the key may not be used at `when`, or None."""
        if self.revoked_at is not None:
            return "the API key was revoked"
        if when >= self.expire_at:
            return "the API key has expired"
        return None

    def revoke(self, when: datetime) -> ApiKey:
        if self.revoked_at is not None:
            raise FailedPrecondition(f"{self.name} is already revoked", type_="REVOKED", subject=self.name)
        return replace(self, revoked_at=when)


def key_expiry(requested: datetime | None, issued: datetime) -> datetime:
    if requested is None:
        return issued + KEY_LIFETIME
    if requested <= issued:
        raise InvalidArgument([("api_key.expire_time", "must be in the future")])
    if requested > issued + MAX_KEY_LIFETIME:
        raise InvalidArgument([("api_key.expire_time", "must be at most 366 days ahead")])
    return requested


# The company directory (a read model of the companies service's events)


@dataclass(frozen=True)
class DirectoryCompany:
    id: int
    korean_name: str
    sector: str
    english_name: str = ""
    stage: str = ""
    status: str = ""
    tags: tuple[str, ...] = ()
    website: str = ""
    archived: bool = False
    version: int = 0

    @property
    def name(self) -> str:
        return f"companies/{self.id}"


# What a program manager may share with a firm, and what is shared unless they say otherwise. Everything
# else the directory holds (status, archival) stays inside the hub.
SHAREABLE_FIELDS = ("korean_name", "english_name", "sector", "stage", "tags", "website")
DEFAULT_SHARED_FIELDS = ("korean_name", "english_name", "sector", "stage")


def shared_fields(requested: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    if not requested:
        return DEFAULT_SHARED_FIELDS
    unknown = [f for f in requested if f not in SHAREABLE_FIELDS]
    if unknown:
        allowed = ", ".join(SHAREABLE_FIELDS)
        raise InvalidArgument([("introduction.shared_fields", f"{unknown[0]!r} cannot be shared (allowed: {allowed})")])
    return tuple(f for f in SHAREABLE_FIELDS if f in requested)


# Introductions: double opt-in, as a state machine

REQUESTED, COMPANY_CONSENTED, COMPANY_DECLINED = "REQUESTED", "COMPANY_CONSENTED", "COMPANY_DECLINED"
PARTNER_ACCEPTED, PARTNER_DECLINED, MEETING_HELD = "PARTNER_ACCEPTED", "PARTNER_DECLINED", "MEETING_HELD"
INVESTED, PASSED, ON_HOLD, CANCELLED = "INVESTED", "PASSED", "ON_HOLD", "CANCELLED"
STATES = (
    REQUESTED, COMPANY_CONSENTED, COMPANY_DECLINED, PARTNER_ACCEPTED, PARTNER_DECLINED,
    MEETING_HELD, INVESTED, PASSED, ON_HOLD, CANCELLED,
)  # fmt: skip
OUTCOMES = (INVESTED, PASSED, ON_HOLD)

# Who may make a transition: a program manager ("admin", also recording answers given to them by mail or
# phone) and the firm's partner ("partner", through the partner API). The company answers through the hub.
HUB, FIRM = frozenset({"admin"}), frozenset({"admin", "partner"})
TRANSITIONS: dict[str, dict[str, frozenset[str]]] = {
    REQUESTED: {COMPANY_CONSENTED: HUB, COMPANY_DECLINED: HUB, CANCELLED: HUB},
    COMPANY_CONSENTED: {PARTNER_ACCEPTED: FIRM, PARTNER_DECLINED: FIRM, CANCELLED: HUB},
    PARTNER_ACCEPTED: {MEETING_HELD: FIRM, CANCELLED: HUB},
    MEETING_HELD: {INVESTED: FIRM, PASSED: FIRM, ON_HOLD: FIRM},
    ON_HOLD: {INVESTED: FIRM, PASSED: FIRM},
    COMPANY_DECLINED: {},
    PARTNER_DECLINED: {},
    INVESTED: {},
    PASSED: {},
    CANCELLED: {},
}
FINAL_STATES = frozenset(s for s, targets in TRANSITIONS.items() if not targets)


@dataclass(frozen=True)
class Transition:
    from_state: str
    to_state: str
    actor: str
    reason: str
    at: datetime


@dataclass(frozen=True)
class Introduction:
    id: int
    company_id: int
    firm_id: int
    note: str
    partner_id: int | None = None
    state: str = REQUESTED
    shared_fields: tuple[str, ...] = DEFAULT_SHARED_FIELDS
    meeting_at: datetime | None = None
    shared_at: datetime | None = None  # the company's consent: from then on the firm sees it
    closed_at: datetime | None = None  # a final state: from then on another may be requested
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1
    history: tuple[Transition, ...] = field(default=())

    @property
    def name(self) -> str:
        return f"introductions/{self.id}"

    @property
    def company(self) -> str:
        return f"companies/{self.company_id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    @property
    def is_open(self) -> bool:
        return self.state not in FINAL_STATES

    def visible_to_firm(self, firm_id: int) -> bool:
        """A firm sees its own introductions, and only once the company consented (double opt-in)."""
        return self.firm_id == firm_id and self.shared_at is not None

    def transition(
        self, target: str, *, role: str, actor: str, reason: str, at: datetime, meeting_at: datetime | None = None
    ) -> tuple[Introduction, Transition]:
        allowed = TRANSITIONS[self.state]
        if target == self.state:
            raise FailedPrecondition(f"{self.name} is already {target}", type_="STATE", subject=self.name)
        if target not in allowed:
            choices = ", ".join(allowed) or "none (final)"
            raise FailedPrecondition(
                f"{self.name} cannot go from {self.state} to {target}; allowed from {self.state}: {choices}",
                type_="STATE_TRANSITION",
                subject=self.name,
            )
        if role not in allowed[target]:
            raise PermissionDenied(f"a {role} may not move an introduction to {target}")
        if target == MEETING_HELD:
            meeting_at = meeting_at or at
            if meeting_at > at + timedelta(minutes=5):
                raise InvalidArgument([("meeting_time", "is in the future; record a meeting once it took place")])
        step = Transition(self.state, target, actor, reason.strip(), at)
        moved = replace(
            self,
            state=target,
            meeting_at=meeting_at if target == MEETING_HELD else self.meeting_at,
            shared_at=at if target == COMPANY_CONSENTED else self.shared_at,
            closed_at=at if target in FINAL_STATES else None,
            version=self.version + 1,
            history=(*self.history, step),
        )
        return moved, step


def new_introduction(
    *, company_id: int, firm_id: int, note: str, partner_id: int | None, shared: tuple[str, ...], actor: str,
    at: datetime,
) -> Introduction:  # fmt: skip
    if not clean(note):
        raise InvalidArgument([("introduction.note", "is required")])
    return Introduction(
        id=0,
        company_id=company_id,
        firm_id=firm_id,
        note=clean(note),
        partner_id=partner_id,
        shared_fields=shared,
        history=(Transition("", REQUESTED, actor, "", at),),
    )


# Funding rounds

OPEN, CLOSED = "OPEN", "CLOSED"  # and CANCELLED, shared with introductions


@dataclass(frozen=True)
class Round:
    id: int
    company_id: int
    round_type: str
    amount: int  # KRW
    pre_money: int = 0  # KRW; 0: not disclosed
    lead_firm_id: int | None = None
    participants: tuple[tuple[int, int], ...] = ()  # (firm id, KRW), each firm once
    announced_on: date | None = None
    closed_on: date | None = None
    status: str = OPEN
    reporter: str = ""
    created_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 1

    @property
    def name(self) -> str:
        return f"rounds/{self.id}"

    @property
    def company(self) -> str:
        return f"companies/{self.company_id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    @property
    def firm_ids(self) -> set[int]:
        return {f for f, _ in self.participants} | ({self.lead_firm_id} if self.lead_firm_id else set())

    def close(self, on: date) -> Round:
        self._require_open()
        if self.announced_on and on < self.announced_on:
            raise InvalidArgument([("close_date", "is before the round's announce date")])
        return replace(self, status=CLOSED, closed_on=on, version=self.version + 1)

    def cancel(self) -> Round:
        self._require_open()
        return replace(self, status=CANCELLED, version=self.version + 1)

    def _require_open(self) -> None:
        if self.status != OPEN:
            raise FailedPrecondition(
                f"{self.name} is {self.status}; only an OPEN round can be closed or cancelled",
                type_="ROUND_STATUS",
                subject=self.name,
            )


def new_round(
    *, company_id: int, round_type: str, amount: int, pre_money: int = 0, lead_firm_id: int | None = None,
    participants: list[tuple[int, int]] | tuple[tuple[int, int], ...] = (), announced_on: date | None = None,
    closed_on: date | None = None, status: str = OPEN, reporter: str = "", today: date | None = None,
) -> Round:  # fmt: skip
    problems = []
    if round_type not in ROUND_TYPES:
        problems.append(("round.round_type", "is required"))
    if amount <= 0:
        problems.append(("round.amount", "must be more than zero"))
    if pre_money < 0:
        problems.append(("round.pre_money_valuation", "must not be negative"))
    firms = [f for f, _ in participants]
    if len(firms) > MAX_PARTICIPANTS:
        problems.append(("round.participants", f"has more than {MAX_PARTICIPANTS} participants"))
    if len(set(firms)) != len(firms):
        problems.append(("round.participants", "names a firm twice"))
    if any(a < 0 for _, a in participants):
        problems.append(("round.participants", "has a negative amount"))
    elif sum(a for _, a in participants) > amount > 0:
        problems.append(("round.participants", f"add up to more than the round's amount ({won(amount)})"))
    if status not in (OPEN, CLOSED):
        problems.append(("round.status", "must be OPEN or CLOSED when recording a round"))
    if status == CLOSED and closed_on is None:
        closed_on = today
    if status == OPEN and closed_on is not None:
        problems.append(("round.close_date", "is set only on a closed round"))
    if today and announced_on and announced_on > today + timedelta(days=366):
        problems.append(("round.announce_date", "is more than a year ahead"))
    if today and closed_on and closed_on > today:
        problems.append(("round.close_date", "is in the future"))
    if announced_on and closed_on and closed_on < announced_on:
        problems.append(("round.close_date", "is before the announce date"))
    if problems:
        raise InvalidArgument(problems)
    if lead_firm_id and lead_firm_id not in firms:
        participants = (*participants, (lead_firm_id, 0))
    return Round(
        id=0,
        company_id=company_id,
        round_type=round_type,
        amount=amount,
        pre_money=pre_money,
        lead_firm_id=lead_firm_id,
        participants=tuple(participants),
        announced_on=announced_on,
        closed_on=closed_on,
        status=status,
        reporter=reporter,
    )


# Matching: how well a thesis fits a company, explained per component

WEIGHTS = {"sector": 40, "stage": 30, "ticket": 20, "geography": 10}


@dataclass(frozen=True)
class Component:
    component: str
    points: int
    max_points: int
    explanation: str


@dataclass(frozen=True)
class Fit:
    score: int  # 0-100
    thesis: str
    components: tuple[Component, ...]


def _sector(company: DirectoryCompany, thesis: Thesis) -> Component:
    top = WEIGHTS["sector"]
    if not thesis.sectors:
        return Component("sector", top, top, "the thesis takes any sector")
    if company.sector in thesis.sectors:
        return Component("sector", top, top, f"{company.sector} is one of the thesis's sectors")
    wanted = ", ".join(thesis.sectors)
    return Component("sector", 0, top, f"{company.sector or 'an unknown sector'} is not among {wanted}")


def _stage(company: DirectoryCompany, thesis: Thesis) -> Component:
    top = WEIGHTS["stage"]
    if not thesis.stages:
        return Component("stage", top, top, "the thesis takes any stage")
    if not company.stage:
        return Component("stage", top // 2, top, "the company's stage is unknown")
    if company.stage in thesis.stages:
        return Component("stage", top, top, f"{company.stage} is one of the thesis's stages")
    here = STAGES.index(company.stage)
    nearest = min(abs(STAGES.index(s) - here) for s in thesis.stages)
    wanted = ", ".join(thesis.stages)
    if nearest == 1:
        return Component("stage", top // 2, top, f"{company.stage} is one stage from {wanted}")
    return Component("stage", 0, top, f"{company.stage} is {nearest} stages from {wanted}")


def _ticket(thesis: Thesis, round_amount: int | None) -> Component:
    top = WEIGHTS["ticket"]
    low, high = thesis.ticket_min, thesis.ticket_max
    if not low and not high:
        return Component("ticket", top, top, "the thesis names no ticket range")
    span = f"{won(low) if low else 'any'}–{won(high) if high else 'any'}"
    if round_amount is None:
        return Component("ticket", top // 2, top, f"no open round to compare with the ticket range {span}")
    size = won(round_amount)
    if (not low or round_amount >= low) and (not high or round_amount <= high):
        return Component("ticket", top, top, f"the open round of {size} is within the ticket range {span}")
    if (not low or round_amount >= low // 2) and (not high or round_amount <= high * 2):
        return Component("ticket", top // 2, top, f"the open round of {size} is within a factor 2 of {span}")
    return Component("ticket", 0, top, f"the open round of {size} is far outside the ticket range {span}")


def _geography(thesis: Thesis) -> Component:
    top = WEIGHTS["geography"]
    if not thesis.geographies:
        return Component("geography", top, top, "the thesis takes any geography")
    if HOME_GEOGRAPHY in thesis.geographies:
        return Component("geography", top, top, f"the thesis includes {HOME_GEOGRAPHY}")
    return Component("geography", 0, top, f"the thesis covers {', '.join(thesis.geographies)}, not {HOME_GEOGRAPHY}")


def score_fit(company: DirectoryCompany, thesis: Thesis, round_amount: int | None) -> Fit:
    """How well one thesis fits a company, 0-100: sector 40, stage 30, ticket 20 (against the company's
    open round, if any), geography 10; each component full, half or nothing, with the reason."""
    parts = (_sector(company, thesis), _stage(company, thesis), _ticket(thesis, round_amount), _geography(thesis))
    return Fit(sum(p.points for p in parts), thesis.title, parts)


def best_fit(company: DirectoryCompany, firm: Firm, round_amount: int | None) -> Fit | None:
    """The firm's best-fitting thesis (the first, on a tie); None for a firm without theses."""
    fits = [score_fit(company, thesis, round_amount) for thesis in firm.theses]
    return max(fits, key=lambda f: f.score, default=None)
