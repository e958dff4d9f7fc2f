"""Consulting: mentors, availability, rooms, session types, sessions, action items, programs.

Pure Python: no database, no network. Instants are timezone-aware UTC datetimes; weekly availability is
wall-clock minutes in the mentor's IANA zone, turned into instants day by day (so DST moves them).
One module per area; this package shows them as one namespace (`domain.Session`, `domain.find_slots`).
"""

from __future__ import annotations

from services.consulting.domain.availability import (
    Busy,
    Slot,
    SlotSearch,
    available_periods,
    clip,
    find_slots,
    local_instant,
    merge,
    overlaps,
    search_window,
    subtract,
    weekly_periods,
)
from services.consulting.domain.common import (
    CATEGORIES,
    DAY_MINUTES,
    HUB_ZONE,
    ICAL_DOMAIN,
    MAX_BUFFER,
    MAX_SEARCH_DAYS,
    MAX_SESSION,
    MAX_TAGS,
    MENTOR_KINDS,
    MIN_SESSION,
    PROGRAM_KINDS,
    Period,
    Ref,
    check_interval,
    zone,
)
from services.consulting.domain.gpu import (
    GPU_BOOKING_STATES,
    QUOTA_PERIODS,
    GpuBooking,
    GpuNode,
    GpuQuota,
    check_within_quota,
    new_gpu_booking,
    new_gpu_node,
    new_gpu_quota,
)
from services.consulting.domain.ical import CalendarEntry, session_uid, to_ical
from services.consulting.domain.programs import (
    ABSENT,
    ATTENDED,
    REGISTERED,
    MonthTotals,
    Program,
    Registration,
    Stats,
    TypeCount,
    check_attendance,
    check_capacity,
    new_program,
)
from services.consulting.domain.resources import (
    ACTIVE,
    INACTIVE,
    SELF_MUTABLE,
    AvailabilityException,
    DirectoryCompany,
    Mentor,
    Room,
    SessionType,
    Window,
    check_mentor,
    check_windows,
    new_mentor,
    new_room,
    new_session_type,
    update_mentor,
)
from services.consulting.domain.sessions import (
    CANCELLED,
    COMPLETED,
    DONE,
    FEEDBACK_TARGET_PERCENT,
    FEEDBACK_WINDOW,
    FITS,
    HOLDS_TIME,
    NO_SHOW,
    NOTES_DUE,
    OPEN,
    SCHEDULED,
    SESSION_TRANSITIONS,
    ActionItem,
    ActionItemFilter,
    Feedback,
    Session,
    SessionChange,
    SessionFilter,
    conflict_message,
    new_action_item,
    new_feedback,
    new_session,
)

__all__ = [
    "ABSENT", "ACTIVE", "ATTENDED", "CANCELLED", "CATEGORIES", "COMPLETED", "DAY_MINUTES", "DONE",
    "FEEDBACK_TARGET_PERCENT", "FEEDBACK_WINDOW", "FITS", "HOLDS_TIME", "HUB_ZONE", "ICAL_DOMAIN", "INACTIVE",
    "MAX_BUFFER", "MAX_SEARCH_DAYS", "MAX_SESSION", "MAX_TAGS", "MENTOR_KINDS", "MIN_SESSION", "NOTES_DUE", "NO_SHOW",
    "OPEN", "PROGRAM_KINDS", "REGISTERED", "SCHEDULED", "SELF_MUTABLE", "SESSION_TRANSITIONS", "ActionItem",
    "ActionItemFilter", "AvailabilityException", "Busy", "CalendarEntry", "DirectoryCompany", "Feedback", "Mentor",
    "MonthTotals", "Period", "Program", "Ref", "Registration", "Room", "Session", "SessionChange", "SessionFilter",
    "SessionType", "Slot", "SlotSearch", "Stats", "TypeCount", "Window", "available_periods", "check_attendance",
    "check_capacity", "check_interval", "check_mentor", "check_windows", "clip", "conflict_message", "find_slots",
    "local_instant", "merge", "new_action_item", "new_feedback", "new_mentor", "new_program", "new_room", "new_session",
    "new_session_type", "overlaps", "search_window", "session_uid", "subtract", "to_ical", "update_mentor",
    "weekly_periods", "zone"
]  # fmt: skip
