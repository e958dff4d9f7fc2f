"""The yearly outcome report as its message (GetOutcomeReport): a module of its own beside convert.py, which
holds every other proto <-> domain conversion of the program and is at the size a file may have."""

from __future__ import annotations

from hub.companies.v1 import program_pb2 as pb

from hubcore.convert import date_message
from services.companies.program import domain


def outcome_report_pb(report: domain.OutcomeReport) -> pb.OutcomeReport:
    return pb.OutcomeReport(
        start_month=domain.month_label(report.period.first),
        end_month=domain.month_label(report.period.last),
        firms=[
            pb.OutcomeReport.Firm(
                company=f.company.name,
                korean_name=f.company.korean_name,
                english_name=f.company.english_name,
                status=f.company.status,
                graduation_date=date_message(f.graduation_date),
                close_date=date_message(f.close_date),
            )
            for f in report.firms
        ],
        figures=[
            pb.OutcomeFigure(figure=f.figure, subject=f.subject, value=f.value, sources=f.sources)
            for f in report.figures
        ],
    )
