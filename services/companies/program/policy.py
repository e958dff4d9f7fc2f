"""ProgramService's policy, declared once: the input rules every request meets before its method runs (enforced by
the server's interceptor; the business rules are the domain's) and the roles that may call each method. Also the
growth rules the service is configured with."""

from __future__ import annotations

from hub.companies.v1 import kpi_requests_pb2 as kpb
from hub.companies.v1 import program_pb2 as pb

from hubcore.requests import Rules, email, length, max_items, required, url
from hubcore.resources import name_fields
from hubcore.server import ADMIN, FOUNDER, REVIEWER, Bound, also_for_services
from hubcore.settings import GrowthSettings
from services.companies.program import domain

RULES: dict[type, Rules] = {
    pb.CreateRoundRequest: Rules(
        {
            "round.title": [required, length(1, 200)],
            "round.seats": [max_items(3)],
            "round.criteria": [max_items(20)],
            "round.questions": [max_items(30, length(1, 500))],
            "request_id": [length(1, 100)],
        }
    ),
    pb.GetRoundRequest: Rules({"name": [required]}),
    pb.CreateApplicationRequest: Rules(
        {
            "application.round": [required],
            "application.applicant": [required],
            "application.seat_kind": [required],
            "application.answers": [max_items(30)],
            "application.attachment_urls": [max_items(10, url)],
            "request_id": [length(1, 100)],
        }
    ),
    pb.GetApplicationRequest: Rules({"name": [required]}),
    pb.ListApplicationsRequest: Rules({"filter": [length(0, 500)]}),
    pb.DeclareConflictRequest: Rules(
        {
            "conflict.round": [required],
            "conflict.reviewer": [length(0, 100)],  # required of program managers (convert.acting)
            "conflict.applicant": [required],
            "conflict.reason": [length(0, 500)],
        }
    ),
    pb.ScoreApplicationRequest: Rules(
        {
            "score.application": [required],
            "score.reviewer": [length(0, 100)],  # required of program managers (convert.acting)
            "score.comment": [length(0, 2000)],
            "reason": [length(0, 500)],
        }
    ),
    pb.RankApplicationsRequest: Rules({"round": [required]}),
    pb.CreateReviewerRequest: Rules(
        {
            **name_fields("reviewer."),
            "reviewer.email": [required, length(3, 200), email],
            "reviewer.affiliation": [length(0, 200)],
            "request_id": [length(1, 100)],
        }
    ),
    pb.GetReviewerRequest: Rules({"name": [required]}),
    pb.AssignReviewerRequest: Rules({"reviewer": [required], "applications": [max_items(200)]}),
    pb.ListReviewAssignmentsRequest: Rules({"filter": [length(0, 200)]}),
    pb.AbstainFromReviewRequest: Rules(
        {"application": [required], "reviewer": [length(0, 100)], "reason": [required, length(1, 500)]}
    ),
    pb.DecideApplicationRequest: Rules(
        {"name": [required], "decision": [required], "reason": [required, length(1, 500)]}
    ),
    pb.CreateSpaceRequest: Rules(
        {"space.kind": [required], "space.label": [required, length(1, 20)], "request_id": [length(1, 100)]}
    ),
    pb.AssignSpaceRequest: Rules({"assignment.space": [required], "request_id": [length(1, 100)]}),
    pb.EndAssignmentRequest: Rules({"name": [required], "reason": [required]}),
    pb.ReportKpiRequest: Rules(
        {
            "report.company": [required],
            "report.period": [required],
            "report.note": [length(0, 2000)],
            "request_id": [length(1, 100)],
            "reason": [length(0, 500)],
        }
    ),
    pb.ListKpiReportsRequest: Rules({"company": [required]}),
    kpb.CreateKpiScheduleRequest: Rules(
        {
            "schedule.cadence": [required],
            "schedule.companies": [max_items(500)],
            "schedule.figures": [max_items(10)],  # as many as KpiFigure has
            "request_id": [length(1, 100)],
        }
    ),
    kpb.ListKpiRequestsRequest: Rules({"filter": [length(0, 200)]}),
    pb.SetSupportQuotaRequest: Rules({"quota.company": [required], "quota.kind": [required]}),
    pb.RecordSupportRequest: Rules(
        {
            "grant.company": [required],
            "grant.kind": [required],
            "grant.note": [length(0, 500)],
            "grant.override_reason": [length(0, 500)],
            "request_id": [length(1, 100)],
        }
    ),
    pb.ListSupportRequest: Rules({"company": [required]}),
    pb.GetKpiTrendsRequest: Rules({"filter": [length(0, 200)]}),
    pb.GetCohortComparisonRequest: Rules({"round": [required], "period": [length(0, 10)]}),
    pb.CreateMilestoneRequest: Rules(
        {
            "milestone.company": [required],
            "milestone.kind": [required],
            "milestone.evidence_url": [url],
            "milestone.evidence": [length(0, 1000)],
            "request_id": [length(1, 100)],
        }
    ),
    pb.ListMilestonesRequest: Rules({"filter": [length(0, 200)]}),
    pb.DeleteMilestoneRequest: Rules({"name": [required]}),
    pb.GetOutcomeReportRequest: Rules({"start_month": [length(0, 7)], "end_month": [length(0, 7)]}),
}
ROLES = also_for_services(
    "GetRound", "ListRounds", "GetApplication", "ListApplications", "RankApplications", "ListSpaces",
    "GetOccupancy", "GetOccupancyHistory", "ListKpiReports",
    "ListSupport", "GetProgramStats", "GetKpiTrends", "GetCohortComparison", "ListMilestones", "GetGrowth",
    "ListKpiSchedules", "ListKpiRequests", "GetKpiRequestStats",
)  # fmt: skip
# Founders read their own company's KPI history and support ledger, and report its KPIs (their token's company).
ROLES["ListKpiReports"] |= {Bound(FOUNDER, "company")}
ROLES["ListSupport"] |= {Bound(FOUNDER, "company")}
ROLES["ReportKpi"] = frozenset({ADMIN, Bound(FOUNDER, "report.company")})  # an admin, only with a reason
# Founders list their own company's KPI requests (open and answered); program managers schedule them.
ROLES["ListKpiRequests"] |= {Bound(FOUNDER, "parent")}
# Reviewers act for themselves (their token's reviewers/N, never a request's): they see the applications assigned
# to them and the rounds of those (its criteria are what they score; the use cases answer NOT_FOUND for the others),
# declare conflicts, abstain and score; their own record.
for method in ("GetApplication", "ListApplications", "ListReviewAssignments", "GetRound"):
    ROLES[method] = ROLES.get(method, frozenset({ADMIN})) | {REVIEWER}
for method in ("DeclareConflict", "ScoreApplication", "AbstainFromReview"):
    ROLES[method] = frozenset({ADMIN, REVIEWER})
ROLES["GetReviewer"] = frozenset({ADMIN, Bound(REVIEWER, "name")})
# The yearly outcome report is program managers' (DEFAULT_ROLES) and the console's, with their token.
DEFAULT_ROLES = frozenset({ADMIN})


def growth_rules_from_env() -> domain.GrowthRules:
    """The growth rules from the settings (HUB_GROWTH_*), the rules' defaults where unset."""
    settings, default = GrowthSettings.from_env(), domain.GrowthRules()
    return domain.GrowthRules(
        funding_krw=default.funding_krw if settings.funding_krw is None else settings.funding_krw,
        revenue_growth_pct=default.revenue_growth_pct
        if settings.revenue_growth_pct is None
        else settings.revenue_growth_pct,
        milestone_kinds=default.milestone_kinds if settings.milestone_kinds is None else settings.milestone_kinds,
    )
