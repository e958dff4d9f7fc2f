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
    "GROWTH_STRATEGY": N_("Growth strategy"), "TECHNICAL": N_("Technical advice"), "VC_ADVISORY": N_("VC advisory"),
    "OVERSEAS_EXPANSION": N_("Overseas expansion"),
    "FACULTY": N_("Faculty"), "EXPERT": N_("Expert"), "VC": N_("Venture capitalist"),
    "ACTIVE": N_("Active"), "INACTIVE": N_("Inactive"),
    "UNAVAILABLE": N_("Not available"), "AVAILABLE": N_("Extra hours"),
    "OPEN": N_("Open"), "DONE": N_("Done"),
    "GOOD_FIT": N_("Good fit"), "STILL_DECIDING": N_("Still deciding"), "NOT_A_FIT": N_("Not a fit"),
}  # fmt: skip


def short_names(enum: Any) -> list[str]:
    """An enum's values as short names, without UNSPECIFIED: [APPLICANT, SELECTED, …]."""
    prefix = _prefix(enum.DESCRIPTOR.name)
    return [name.removeprefix(prefix) for name, number in enum.items() if number]


def _prefix(enum_type: str) -> str:
    return "".join("_" + c if c.isupper() else c for c in enum_type).lstrip("_").upper() + "_"


def enum_name(message: Any, field: str) -> str:
    """A message's enum field as its short name: RESIDENT for COMPANY_STATUS_RESIDENT."""
    descriptor = message.DESCRIPTOR.fields_by_name[field].enum_type
    value = descriptor.values_by_number.get(getattr(message, field))
    if value is None or value.number == 0:
        return ""
    return value.name.removeprefix(_prefix(descriptor.name))
