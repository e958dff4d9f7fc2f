"""The hub program's values and rules (selection rounds, applications, scores and decisions; spaces; KPI reports;
support; milestones and growth). Pure Python: no database, no network. Companies and people live in
registry/domain.py; their names are re-exported here for the program's code until it moves to program/."""

from __future__ import annotations

from hubcore.text import clean  # noqa: F401 (re-exported: the program's code calls domain.clean)
from services.companies.registry.domain import (  # noqa: F401 (re-exported for the program's code)
    APPLICANT,
    GRADUATED,
    MAX_TAG_LENGTH,
    MAX_TAGS,
    RESIDENT,
    ROLES,
    SECTORS,
    SELECTED,
    STAGES,
    TRANSITIONS,
    WITHDRAWN,
    Company,
    Person,
    check_company,
    check_person,
    new_company,
    new_person,
    update_company,
    update_person,
)

# The hub program: selection rounds, applications, scores and decisions; spaces; KPI reports; support.

# Consulting session categories (hub.consulting.session.completed's session.category) that are 1:1 technical
# consultations; other sessions (growth strategy, VC advisory, overseas) are not counted as this support.
TECHNICAL_CATEGORIES = frozenset({"TECHNICAL"})
