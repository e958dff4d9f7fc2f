"""ProgramService over gRPC, thin: each method parses its request (convert), calls one use case and converts the
result. The rules and roles are in policy.py; __main__ wires ProgramApi with them."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import replace
from functools import partial
from typing import TypeAlias

import grpc
from google.protobuf import empty_pb2
from hub.companies.v1 import kpi_requests_pb2 as kpb
from hub.companies.v1 import program_pb2 as pb
from hub.companies.v1 import program_pb2_grpc

from hubcore.convert import calendar_date, seoul_today
from hubcore.db import Database, UnitOfWork
from hubcore.requests import enum_short, names, page_size, parse_filter, parse_name, short_value
from hubcore.server import caller
from hubcore.servicing import Api, listed
from services.companies.program import convert, convert_report, domain, usecases
from services.companies.program.convert import MILESTONE, STATE, SUPPORT
from services.companies.program.policy import DEFAULT_ROLES, ROLES, RULES, growth_rules_from_env

__all__ = ["DEFAULT_ROLES", "ROLES", "RULES", "ProgramApi", "growth_rules_from_env"]

Context: TypeAlias = grpc.aio.ServicerContext


class ProgramApi(Api, program_pb2_grpc.ProgramServiceServicer):
    def __init__(self, db: Database, growth: domain.GrowthRules | None = None) -> None:
        super().__init__(db)
        self.growth = growth or domain.GrowthRules()

    # Selection

    async def CreateRound(self, request: pb.CreateRoundRequest, context: Context) -> pb.Round:
        r = convert.round_from_pb(request.round)
        return await self._once(
            "CreateRound", request, pb.Round, lambda uow: usecases.create_round(uow, r), convert.round_pb
        )

    async def GetRound(self, request: pb.GetRoundRequest, context: Context) -> pb.Round:
        return convert.round_pb(await usecases.get_round(self.db, request.name, reviewer=convert.own_reviewer()))

    async def ListRounds(self, request: pb.ListRoundsRequest, context: Context) -> pb.ListRoundsResponse:
        found, token = await usecases.list_rounds(self.db, size=page_size(request.page_size), token=request.page_token)
        return pb.ListRoundsResponse(rounds=[convert.round_pb(r) for r in found], next_page_token=token)

    async def ListApplications(
        self, request: pb.ListApplicationsRequest, context: Context
    ) -> pb.ListApplicationsResponse:
        allowed = {
            "round": names("rounds"),
            "state": short_value(pb.ApplicationState, STATE),
            "applicant": lambda v: convert.applicant(v, "filter"),
            "reviewer": names("reviewers"),
        }
        fetch = partial(usecases.list_applications, self.db, reviewer=convert.own_reviewer())
        found, token = await listed(request, allowed, fetch)
        return pb.ListApplicationsResponse(
            applications=[convert.application_pb(a) for a in found], next_page_token=token
        )

    async def CreateApplication(self, request: pb.CreateApplicationRequest, context: Context) -> pb.Application:
        application = convert.application_from_pb(request.application)

        def make(uow: UnitOfWork) -> Awaitable[domain.Application]:
            return usecases.create_application(uow, request.application.round, application, today=seoul_today())

        return await self._once("CreateApplication", request, pb.Application, make, convert.application_pb)

    async def GetApplication(self, request: pb.GetApplicationRequest, context: Context) -> pb.Application:
        found = await usecases.get_application(self.db, request.name, reviewer=convert.own_reviewer())
        return convert.application_pb(found)

    async def DeclareConflict(self, request: pb.DeclareConflictRequest, context: Context) -> pb.Conflict:
        c = request.conflict
        reviewer = convert.acting(c.reviewer, "conflict.reviewer").reviewer
        conflict = domain.Conflict(0, reviewer, convert.applicant(c.applicant, "conflict.applicant"), c.reason.strip())
        declared = await usecases.declare_conflict(self.db, conflict, round_name=c.round, actor=caller().actor)
        return convert.conflict_pb(declared)

    async def ScoreApplication(self, request: pb.ScoreApplicationRequest, context: Context) -> pb.Score:
        s = request.score
        acting = convert.acting(s.reviewer, "score.reviewer", request.reason)
        score = lambda uow: usecases.score_application(uow, s.application, acting, dict(s.values), s.comment.strip())  # noqa: E731
        return convert.score_pb(await self._in_write(score))

    async def RankApplications(
        self, request: pb.RankApplicationsRequest, context: Context
    ) -> pb.RankApplicationsResponse:
        scale = convert.scale(request.scale)
        return convert.ranking_pb(await usecases.rank_applications(self.db, request.round, scale), scale)

    # Reviewers

    async def CreateReviewer(self, request: pb.CreateReviewerRequest, context: Context) -> pb.Reviewer:
        reviewer = domain.new_reviewer(**convert.reviewer_fields(request.reviewer))
        make = lambda uow: usecases.create_reviewer(uow, reviewer)  # noqa: E731
        return await self._once("CreateReviewer", request, pb.Reviewer, make, convert.reviewer_pb)

    async def GetReviewer(self, request: pb.GetReviewerRequest, context: Context) -> pb.Reviewer:
        return await self._get(request.name, "reviewers", usecases.get_reviewer, convert.reviewer_pb)

    async def ListReviewers(self, request: pb.ListReviewersRequest, context: Context) -> pb.ListReviewersResponse:
        found, token = await usecases.list_reviewers(
            self.db, size=page_size(request.page_size), token=request.page_token
        )
        return pb.ListReviewersResponse(reviewers=[convert.reviewer_pb(r) for r in found], next_page_token=token)

    async def AssignReviewer(self, request: pb.AssignReviewerRequest, context: Context) -> pb.AssignReviewerResponse:
        wanted = [name.strip() for name in request.applications]
        assign = lambda uow: usecases.assign_reviewer(uow, request.reviewer, wanted, request.round.strip())  # noqa: E731
        assigned, conflicted = await self._in_write(assign)
        return pb.AssignReviewerResponse(
            assignments=[convert.review_assignment_pb(a) for a in assigned], conflicted=conflicted
        )

    async def ListReviewAssignments(
        self, request: pb.ListReviewAssignmentsRequest, context: Context
    ) -> pb.ListReviewAssignmentsResponse:
        allowed = {"reviewer": names("reviewers"), "application": names("applications"), "round": names("rounds")}
        fetch = partial(usecases.list_assignments, self.db, reviewer=convert.own_reviewer())
        found, token = await listed(request, allowed, fetch)
        return pb.ListReviewAssignmentsResponse(
            assignments=[convert.review_assignment_pb(a) for a in found], next_page_token=token
        )

    async def AbstainFromReview(self, request: pb.AbstainFromReviewRequest, context: Context) -> pb.ReviewAssignment:
        acting = convert.acting(request.reviewer, "reviewer", request.reason)
        abstain = lambda uow: usecases.abstain(uow, request.application, acting, request.reason.strip())  # noqa: E731
        return convert.review_assignment_pb(await self._in_write(abstain))

    async def DecideApplication(self, request: pb.DecideApplicationRequest, context: Context) -> pb.Application:
        decision = enum_short(pb.ApplicationState, STATE, request.decision)
        domain.check_decision(decision)
        async with self._write() as uow:
            decided = await usecases.decide_application(
                uow, request.name, decision, request.reason.strip(), etag=request.etag
            )
        return convert.application_pb(decided)

    # Spaces

    async def CreateSpace(self, request: pb.CreateSpaceRequest, context: Context) -> pb.Space:
        space = convert.space_from_pb(request.space)
        return await self._once(
            "CreateSpace", request, pb.Space, lambda uow: usecases.create_space(uow, space), convert.space_pb
        )

    async def ListSpaces(self, request: pb.ListSpacesRequest, context: Context) -> pb.ListSpacesResponse:
        return pb.ListSpacesResponse(spaces=[convert.space_pb(s) for s in await usecases.list_spaces(self.db)])

    async def AssignSpace(self, request: pb.AssignSpaceRequest, context: Context) -> pb.Assignment:
        message = request.assignment
        stay = convert.stay_from_pb(message)

        def make(uow: UnitOfWork) -> Awaitable[domain.Assignment]:
            holder, field = convert.stay_holder(message)
            return usecases.assign_space(uow, stay, space_name=message.space, holder_name=holder, holder_field=field)

        return await self._once("AssignSpace", request, pb.Assignment, make, convert.assignment_pb)

    async def EndAssignment(self, request: pb.EndAssignmentRequest, context: Context) -> pb.Assignment:
        assignment_id, move_out, reason = convert.ending_from_pb(request)
        async with self._write() as uow:
            ended = await usecases.end_assignment(
                uow, assignment_id, name=request.name, move_out=move_out, reason=reason
            )
        return convert.assignment_pb(ended)

    async def GetOccupancy(self, request: pb.GetOccupancyRequest, context: Context) -> pb.Occupancy:
        day = calendar_date(request.date, "date") or seoul_today()
        return convert.occupancy_pb(await usecases.occupancy(self.db, day))

    async def GetOccupancyHistory(
        self, request: pb.GetOccupancyHistoryRequest, context: Context
    ) -> pb.GetOccupancyHistoryResponse:
        months = domain.history_months(request.months)
        start = calendar_date(request.start_date, "start_date")
        points = await usecases.occupancy_history(self.db, start, months, today=seoul_today())
        return pb.GetOccupancyHistoryResponse(points=[convert.occupancy_pb(p) for p in points])

    # KPI reports and trends

    async def ReportKpi(self, request: pb.ReportKpiRequest, context: Context) -> pb.KpiReport:
        report = convert.kpi_from_pb(request.report, today=seoul_today())
        report = replace(report, reason=domain.on_behalf(caller().role, request.reason))
        make = lambda uow: usecases.report_kpi(uow, request.report.company, report)  # noqa: E731
        return await self._once("ReportKpi", request, pb.KpiReport, make, convert.kpi_pb)

    async def ListKpiReports(self, request: pb.ListKpiReportsRequest, context: Context) -> pb.ListKpiReportsResponse:
        reports = await usecases.list_kpi_reports(self.db, request.company, all_versions=request.all_versions)
        return pb.ListKpiReportsResponse(reports=[convert.kpi_pb(r) for r in reports])

    # KPI requests

    async def CreateKpiSchedule(self, request: kpb.CreateKpiScheduleRequest, context: Context) -> kpb.KpiSchedule:
        schedule, companies = convert.schedule_from_pb(request.schedule)
        make = lambda uow: usecases.create_schedule(uow, schedule, companies, today=seoul_today())  # noqa: E731
        return await self._once("CreateKpiSchedule", request, kpb.KpiSchedule, make, convert.schedule_pb)

    async def ListKpiSchedules(
        self, request: kpb.ListKpiSchedulesRequest, context: Context
    ) -> kpb.ListKpiSchedulesResponse:
        schedules = await usecases.list_schedules(self.db)
        return kpb.ListKpiSchedulesResponse(schedules=[convert.schedule_pb(s) for s in schedules])

    async def ListKpiRequests(
        self, request: kpb.ListKpiRequestsRequest, context: Context
    ) -> kpb.ListKpiRequestsResponse:
        allowed = {"state": convert.request_state, "period": lambda v: domain.check_period(v, "filter")}
        found, token = await listed(request, allowed, partial(usecases.list_requests, self.db, request.parent))
        today = seoul_today()
        requests = [convert.kpi_request_pb(r, overdue=r.overdue(today)) for r in found]
        return kpb.ListKpiRequestsResponse(requests=requests, next_page_token=token)

    async def GetKpiRequestStats(self, request: kpb.GetKpiRequestStatsRequest, context: Context) -> kpb.KpiRequestStats:
        return convert.kpi_request_stats_pb(*await usecases.request_stats(self.db, seoul_today()))

    async def GetKpiTrends(self, request: pb.GetKpiTrendsRequest, context: Context) -> pb.KpiTrends:
        terms = parse_filter(request.filter, {"round": names("rounds"), "move_in_year": convert.year})
        first, last = domain.trend_range(request.start_period, request.end_period)
        series = await usecases.kpi_trends(
            self.db, terms, cohort_by=convert.cohort_kind(request.cohort_by), first=first, last=last
        )
        return convert.trends_pb(series)

    async def GetCohortComparison(
        self, request: pb.GetCohortComparisonRequest, context: Context
    ) -> pb.CohortComparison:
        today = seoul_today()
        year = convert.comparison_year(request.period, today=today)
        r, cohort, control = await usecases.cohort_comparison(self.db, request.round, year, today=today)
        return convert.comparison_pb(r, year, cohort, control)

    # Support

    async def SetSupportQuota(self, request: pb.SetSupportQuotaRequest, context: Context) -> pb.SupportQuota:
        q = request.quota
        kind = enum_short(pb.SupportKind, SUPPORT, q.kind)
        domain.check_quota_value(q.quota)
        set_quota = lambda uow: usecases.set_support_quota(uow, q.company, kind, q.quota)  # noqa: E731
        return convert.quota_pb(await self._in_write(set_quota))

    async def RecordSupport(self, request: pb.RecordSupportRequest, context: Context) -> pb.SupportGrant:
        grant = convert.grant_from_pb(request.grant)
        make = lambda uow: usecases.record_support(uow, request.grant.company, grant)  # noqa: E731
        return await self._once("RecordSupport", request, pb.SupportGrant, make, convert.grant_pb)

    async def ListSupport(self, request: pb.ListSupportRequest, context: Context) -> pb.ListSupportResponse:
        return convert.ledger_pb(await usecases.support_ledger(self.db, request.company))

    # Milestones, growth and the dashboard

    async def CreateMilestone(self, request: pb.CreateMilestoneRequest, context: Context) -> pb.Milestone:
        milestone = convert.milestone_from_pb(request.milestone, today=seoul_today())
        make = lambda uow: usecases.create_milestone(uow, request.milestone.company, milestone)  # noqa: E731
        return await self._once("CreateMilestone", request, pb.Milestone, make, convert.milestone_pb)

    async def ListMilestones(self, request: pb.ListMilestonesRequest, context: Context) -> pb.ListMilestonesResponse:
        allowed = {
            "company": names("companies"),
            "kind": short_value(pb.MilestoneKind, MILESTONE),
        }
        found, token = await listed(request, allowed, partial(usecases.list_milestones, self.db))
        return pb.ListMilestonesResponse(milestones=[convert.milestone_pb(m) for m in found], next_page_token=token)

    async def DeleteMilestone(self, request: pb.DeleteMilestoneRequest, context: Context) -> empty_pb2.Empty:
        milestone_id = parse_name(request.name, "milestones")
        async with self._write() as uow:
            await usecases.delete_milestone(uow, milestone_id, name=request.name)
        return empty_pb2.Empty()

    async def GetGrowth(self, request: pb.GetGrowthRequest, context: Context) -> pb.Growth:
        return convert.growth_pb(self.growth, await usecases.growth(self.db, self.growth))

    async def GetProgramStats(self, request: pb.GetProgramStatsRequest, context: Context) -> pb.ProgramStats:
        return convert.stats_pb(await usecases.program_stats(self.db, self.growth, today=seoul_today()))

    async def GetOutcomeReport(self, request: pb.GetOutcomeReportRequest, context: Context) -> pb.OutcomeReport:
        period = domain.report_period(request.year, request.start_month, request.end_month)
        return convert_report.outcome_report_pb(await usecases.outcome_report(self.db, period, self.growth))
