"""The input rules of the hub's directory (a company, a person), declared once for whoever needs them: the
companies service enforces them (its interceptor on every request, its domain on every entity), and an
import's preview (hubcore.sheets, in hubctl and the console) applies them to each row first, so that a preview
refuses exactly the rows the real run would. What only the service knows (the sectors it accepts, today, a
person's company) stays in its domain."""

from __future__ import annotations

from hub.companies.v1 import companies_pb2 as pb

from hubcore.requests import Check, Rules, e164, email, length, max_items, required, url
from hubcore.resources import name_fields

MAX_TAGS = 20
MAX_TAG_LENGTH = 30  # the company_tags column

# The writable fields' rules, checked on the request (before any work) and on the entity (after cleaning).
COMPANY_FIELDS: dict[str, list[Check]] = {
    **name_fields(),
    "sector": [required],
    "website": [url],
    "tags": [max_items(MAX_TAGS, length(1, MAX_TAG_LENGTH))],
    "description": [length(0, 2000)],
}
PERSON_FIELDS: dict[str, list[Check]] = {
    **name_fields(),
    "role": [required],
    "title": [length(0, 100)],
    "email": [email, length(3, 200)],
    "phone": [e164],
}
COMPANY_MUTABLE = frozenset(
    {
        "korean_name",
        "english_name",
        "sector",
        "stage",
        "website",
        "tags",
        "founded_on",
        "description",
        "reporting_consent",
    }
)
PERSON_MUTABLE = frozenset({"korean_name", "english_name", "company", "role", "title", "email", "phone"})
REQUEST_ID = [length(1, 100)]


def _under(resource: str, fields: dict[str, list[Check]]) -> dict[str, list[Check]]:
    return {f"{resource}.{name}": checks for name, checks in fields.items()}


COMPANY = _under("company", COMPANY_FIELDS)
PERSON = _under("person", PERSON_FIELDS)
# The writes an import makes, with their rules.
WRITES: dict[type, Rules] = {
    pb.CreateCompanyRequest: Rules({**COMPANY, "request_id": REQUEST_ID}),
    pb.UpdateCompanyRequest: Rules({"company.name": [required], **COMPANY}, "update_mask", "company", COMPANY_MUTABLE),
    pb.CreatePersonRequest: Rules({**PERSON, "request_id": REQUEST_ID}),
    pb.UpdatePersonRequest: Rules({"person.name": [required], **PERSON}, "update_mask", "person", PERSON_MUTABLE),
}
