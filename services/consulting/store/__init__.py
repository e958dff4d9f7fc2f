"""The consulting service's tables and the queries it needs, one module per area, typed: every query returns
domain objects. This package shows them as one namespace (`store.get_session`, `store.bookings`).

Double booking is closed in the database: see store.tables (the bookings table and its exclusion constraint)
and store.sessions (reserve, release, find_conflict, is_overlap).
"""

from __future__ import annotations

from services.consulting.store.programs import (
    attended_count,
    get_program,
    insert_program,
    insert_registration,
    list_programs,
    list_registrations,
    registrations_by_ids,
    save_program_counts,
    set_registration_state,
    stats,
    take_place,
    to_program,
    to_registration,
)
from services.consulting.store.resources import (
    all_rooms,
    company_names,
    delete_exception,
    exceptions_between,
    get_company,
    get_mentor,
    get_room,
    get_session_type,
    insert_exception,
    insert_mentor,
    insert_room,
    insert_session_type,
    list_exceptions,
    list_mentors,
    list_rooms,
    list_session_types,
    mentors_by_ids,
    mentors_with_tag,
    save_mentor,
    session_types_by_id,
    to_exception,
    to_mentor,
    to_room,
    to_session_type,
    upsert_company,
)
from services.consulting.store.sessions import (
    BookingConflict,
    add_change,
    busy_between,
    changes_of,
    find_conflict,
    get_action_item,
    get_session,
    insert_action_item,
    insert_session,
    is_overlap,
    list_action_items,
    list_sessions,
    newly_overdue,
    release,
    reserve,
    save_action_item,
    save_session,
    session_values,
    sessions_of,
    to_action_item,
    to_session,
)
from services.consulting.store.tables import (
    NO_OVERLAP,
    Row,
    action_items,
    availability_exceptions,
    bookings,
    by_id,
    company_directory,
    mentor_expertise,
    mentors,
    metadata,
    minutes,
    programs,
    registrations,
    rooms,
    session_changes,
    session_types,
    sessions,
    utc,
)

__all__ = [
    "NO_OVERLAP", "BookingConflict", "Row", "action_items", "add_change", "all_rooms", "attended_count",
    "availability_exceptions", "bookings", "busy_between", "by_id", "changes_of", "company_directory",
    "company_names", "delete_exception", "exceptions_between", "find_conflict", "get_action_item", "get_company",
    "get_mentor", "get_program", "get_room", "get_session", "get_session_type", "insert_action_item",
    "insert_exception", "insert_mentor", "insert_program", "insert_registration", "insert_room", "insert_session",
    "insert_session_type", "is_overlap", "list_action_items", "list_exceptions", "list_mentors", "list_programs",
    "list_registrations", "list_rooms", "list_session_types", "list_sessions", "mentor_expertise", "mentors",
    "mentors_by_ids", "mentors_with_tag", "metadata", "minutes", "newly_overdue", "programs", "registrations",
    "registrations_by_ids", "release", "reserve", "rooms", "save_action_item", "save_mentor", "save_program_counts",
    "save_session", "session_changes", "session_types", "session_types_by_id", "session_values", "sessions",
    "sessions_of", "set_registration_state", "stats", "take_place", "to_action_item", "to_exception", "to_mentor",
    "to_program", "to_registration", "to_room", "to_session", "to_session_type", "upsert_company", "utc"
]  # fmt: skip
