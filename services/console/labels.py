"""The words for the services' enum values, marked for the catalogs (N_ marks a message without translating
it; the page translates it when shown)."""

from __future__ import annotations

from typing import Any


def N_(message: str) -> str:  # gettext's name for it
    return message


LABELS = {
    "APPLICANT": N_("Applicant"), "SELECTED": N_("Selected"), "RESIDENT": N_("Resident"),
    "GRADUATED": N_("Graduated"),
    "REQUESTED": N_("Requested"), "COMPANY_CONSENTED": N_("Company consented"),
    "COMPANY_DECLINED": N_("Company declined"), "PARTNER_ACCEPTED": N_("Partner accepted"),
    "PARTNER_DECLINED": N_("Partner declined"), "MEETING_HELD": N_("Meeting held"), "INVESTED": N_("Invested"),
    "PASSED": N_("Passed"), "ON_HOLD": N_("On hold"), "WITHDRAWN": N_("Withdrawn"),
    "SCHEDULED": N_("Scheduled"), "COMPLETED": N_("Completed"), "CANCELLED": N_("Cancelled"),
    "NO_SHOW": N_("No-show"),
    "MEDICAL": N_("Medical"), "EDUCATION": N_("Education"), "MANUFACTURING": N_("Manufacturing"),
    "MOBILITY": N_("Mobility"), "FINANCE": N_("Finance"), "RETAIL": N_("Retail"), "MEDIA": N_("Media"),
    "SECURITY": N_("Security"), "ROBOTICS": N_("Robotics"), "AGRICULTURE": N_("Agriculture"),
    "ENERGY": N_("Energy"), "OTHER": N_("Other"),
    "PRODUCT_LAUNCH": N_("Product launched"), "FIRST_CUSTOMER": N_("First customer"), "FUNDING": N_("Funding"),
    "OVERSEAS_ENTRY": N_("Entered an overseas market"),
    "RELOCATED": N_("Moved to another space"),
    "PENDING": N_("Waiting"), "SENDING": N_("Sending"), "SENT": N_("Sent"), "FAILED": N_("Failed"),
    "SKIPPED": N_("Skipped"),
    "COLLABORATION": N_("Collaboration program"), "JOB_MATCHING": N_("Job matching"), "SALON": N_("Salon"),
    "REGISTERED": N_("Registered"), "ATTENDED": N_("Came"), "ABSENT": N_("Absent"),
    # investors: firm types, company stages (theses), funding rounds
    "VC": N_("Venture capital"), "CVC": N_("Corporate venture capital"), "ANGEL_NETWORK": N_("Angel network"),
    "PUBLIC_FUND": N_("Public fund"), "ACCELERATOR": N_("Accelerator"),
    "IDEA": N_("Idea"), "PRE_SEED": N_("Pre-seed"), "SEED": N_("Seed"), "PRE_A": N_("Pre-A"),
    "SERIES_A": N_("Series A"), "SERIES_B": N_("Series B"), "SERIES_C": N_("Series C"),
    "SERIES_C_PLUS": N_("Series C and later"), "SERIES_D_PLUS": N_("Series D and later"), "BRIDGE": N_("Bridge"),
    "OPEN": N_("Open"), "CLOSED": N_("Closed"),
    # selection: applications, seats, reviews
    "SUBMITTED": N_("Submitted"), "WAITLISTED": N_("Waitlisted"), "REJECTED": N_("Rejected"),
    "PRIVATE_OFFICE": N_("Private office"), "OPEN_DESK": N_("Open desk"), "INDIVIDUAL": N_("Individual seat"),
    "ASSIGNED": N_("Assigned"), "SCORED": N_("Scored"), "ABSTAINED": N_("Abstained"),
    "CONFLICTED": N_("Conflict of interest"),
    "GROWTH_STRATEGY": N_("Growth strategy"), "TECHNICAL": N_("Technical advice"), "VC_ADVISORY": N_("VC advisory"),
    "OVERSEAS_EXPANSION": N_("Overseas expansion"),
    "FACULTY": N_("Faculty"), "EXPERT": N_("Expert"),
    "ACTIVE": N_("Active"), "INACTIVE": N_("Inactive"),
    "UNAVAILABLE": N_("Not available"), "AVAILABLE": N_("Extra hours"),
    "DONE": N_("Done"),
    "GOOD_FIT": N_("Good fit"), "STILL_DECIDING": N_("Still deciding"), "NOT_A_FIT": N_("Not a fit"),
    # what a company shares with a firm (FieldGroup): the proto says which fields each group holds
    "NAMES": N_("Names (Korean and English)"), "PROFILE": N_("Profile (sector, stage, tags)"),
    "WEBSITE": N_("Website"), "DEAL_FLOW": N_("Deal flow (shown to the firm, with its fit)"),
    "KPI_TEAM": N_("KPI: team (headcount, hires)"), "KPI_TRACTION": N_("KPI: traction (revenue, customers, exports)"),
    "KPI_FINANCE": N_("KPI: finance (funding, cash, burn, runway)"), "KPI_IP": N_("KPI: patents and IP"),
    # support granted (SupportKind), with the unit its amounts count
    "GPU_HOURS": N_("GPU cluster (hours)"), "EDUCATION_SEAT": N_("AI education (seats)"),
    "OVERSEAS_PROGRAM": N_("Overseas expansion program"), "LEGAL_IP_CLINIC": N_("Legal and IP clinic"),
    "INVESTMENT_SUPPORT": N_("Investment support"), "TECHNICAL_CONSULTATION": N_("Technical consultations"),
    # notifications: channels and the kinds of recipient
    "EMAIL": N_("Email"), "WEBHOOK": N_("Webhook"), "PERSON": N_("Company person"), "MENTOR": N_("Mentor"),
    "PARTNER": N_("Investor partner"), "PROGRAM_MANAGER": N_("Program manager"), "IDENTITY": N_("Sign-in identity"),
}  # fmt: skip


def short_names(enum: Any) -> list[str]:
    """An enum's values as short names, without UNSPECIFIED: [APPLICANT, SELECTED, …]."""
    prefix = _prefix(enum.DESCRIPTOR.name)
    return [name.removeprefix(prefix) for name, number in enum.items() if number]


def enum_value(enum: Any, short: str) -> int:
    """The number of a short name a form sent (GPU_HOURS → SUPPORT_KIND_GPU_HOURS's); 0 (unset, which the
    service refuses naming the field) for anything else."""
    full = _prefix(enum.DESCRIPTOR.name) + short
    return int(enum.Value(full)) if short and full in enum.DESCRIPTOR.values_by_name else 0


def _prefix(enum_type: str) -> str:
    return "".join("_" + c if c.isupper() else c for c in enum_type).lstrip("_").upper() + "_"


def enum_name(message: Any, field: str) -> str:
    """A message's enum field as its short name: RESIDENT for COMPANY_STATUS_RESIDENT."""
    descriptor = message.DESCRIPTOR.fields_by_name[field].enum_type
    value = descriptor.values_by_number.get(getattr(message, field))
    if value is None or value.number == 0:
        return ""
    return value.name.removeprefix(_prefix(descriptor.name))
