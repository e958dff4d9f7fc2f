"""The program's use cases: plain async functions that take a unit of work (a Database for reads) and plain
values or domain objects, call the domain and the store, emit the events and return domain objects. The servicer
and event handlers both call them. One module per area, named here as one namespace (usecases.create_round)."""

from __future__ import annotations

from services.companies.program.usecases.kpi import (
    cohort_comparison,
    kpi_trends,
    list_kpi_reports,
    report_kpi,
)
from services.companies.program.usecases.kpi_requests import (
    answer_request,
    create_schedule,
    list_requests,
    list_schedules,
    open_due_requests,
    open_requests,
    request_loop,
    request_stats,
)
from services.companies.program.usecases.milestones import (
    create_milestone,
    delete_milestone,
    grown,
    growth,
    list_milestones,
)
from services.companies.program.usecases.outcomes import (
    outcome_report,
)
from services.companies.program.usecases.reviewers import (
    abstain,
    assign_reviewer,
    create_reviewer,
    get_reviewer,
    list_assignments,
    list_reviewers,
    score_application,
)
from services.companies.program.usecases.selection import (
    create_application,
    create_round,
    decide_application,
    declare_conflict,
    find_application,
    find_round,
    get_application,
    get_round,
    list_applications,
    list_rounds,
    rank_applications,
)
from services.companies.program.usecases.spaces import (
    assign_space,
    create_space,
    end_assignment,
    list_spaces,
    move_in_due,
    move_in_loop,
    occupancy,
    occupancy_history,
)
from services.companies.program.usecases.stats import (
    program_stats,
)
from services.companies.program.usecases.support import (
    record_support,
    set_support_quota,
    support_ledger,
)

__all__ = [
    "abstain",
    "answer_request",
    "assign_reviewer",
    "assign_space",
    "cohort_comparison",
    "create_application",
    "create_milestone",
    "create_reviewer",
    "create_round",
    "create_schedule",
    "create_space",
    "decide_application",
    "declare_conflict",
    "delete_milestone",
    "end_assignment",
    "find_application",
    "find_round",
    "get_application",
    "get_reviewer",
    "get_round",
    "grown",
    "growth",
    "kpi_trends",
    "list_applications",
    "list_assignments",
    "list_kpi_reports",
    "list_milestones",
    "list_requests",
    "list_reviewers",
    "list_rounds",
    "list_schedules",
    "list_spaces",
    "move_in_due",
    "move_in_loop",
    "occupancy",
    "occupancy_history",
    "open_due_requests",
    "open_requests",
    "outcome_report",
    "program_stats",
    "rank_applications",
    "record_support",
    "report_kpi",
    "request_loop",
    "request_stats",
    "score_application",
    "set_support_quota",
    "support_ledger",
]
