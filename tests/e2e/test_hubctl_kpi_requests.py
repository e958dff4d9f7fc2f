"""hubctl kpi schedule | schedules | requests against the real companies service: a program manager schedules
monthly KPI requests for the residents, reads who answered and the on-time completion rate, in Korean first."""

from __future__ import annotations

import json

from hub.companies.v1 import program_pb2 as pb
from hub.companies.v1 import program_pb2_grpc

from hubcore.convert import seoul_today
from hubcore.server import FOUNDER
from tests.conftest import Running
from tests.e2e.test_hubctl import hubctl
from tests.integration.test_authorization import scoped


async def test_schedule_requests_and_the_completion_rate(companies: Running) -> None:
    for korean in ("메디비전", "누리로보틱스"):
        made = await hubctl(companies, "companies", "add", "--ko", korean, "--sector", "medical")
        assert made.exit_code == 0, made.output
    for number in ("1", "2"):
        for status in ("selected", "resident"):
            moved = await hubctl(companies, "companies", "transition", number, status)
            assert moved.exit_code == 0, moved.output
    month = seoul_today().strftime("%Y-%m")

    scheduled = await hubctl(companies, "kpi", "schedule", "--cadence", "monthly", "--figure", "headcount")
    assert scheduled.exit_code == 0 and "일정 만듦 (scheduled) kpiSchedules/1" in scheduled.stdout, scheduled.output
    assert (await hubctl(companies, "kpi", "schedule", "--cadence", "weekly")).exit_code == 3
    listed = await hubctl(companies, "kpi", "schedules")
    assert listed.exit_code == 0 and "매월" in listed.stdout and "입주 기업 전체" in listed.stdout, listed.output

    waiting = await hubctl(companies, "kpi", "requests")
    assert waiting.exit_code == 0 and "대기 open" in waiting.stdout and "완료율" in waiting.stdout, waiting.output
    assert "메디비전 (1)" in waiting.stdout and "0%" in waiting.stdout

    # Company 1's founder answers with their own token; the rate follows.
    program = program_pb2_grpc.ProgramServiceStub(companies.channel)
    report = pb.KpiReport(company="companies/1", period=month, headcount=6)
    await program.ReportKpi(pb.ReportKpiRequest(report=report), metadata=scoped(FOUNDER, "companies/1"))
    answered = await hubctl(companies, "kpi", "requests", "--company", "1")
    assert answered.exit_code == 0 and "답변함 answered" in answered.stdout and "founder:" in answered.stdout
    data = json.loads((await hubctl(companies, "--json", "kpi", "requests")).stdout)
    assert {r["company"]: r["state"] for r in data["requests"]} == {
        "companies/1": "KPI_REQUEST_STATE_ANSWERED", "companies/2": "KPI_REQUEST_STATE_OPEN",
    }  # fmt: skip
    overall = data["stats"]["overall"]
    assert (overall["requested"], overall["answered_on_time"], overall["on_time_rate"]) == ("2", "1", 0.5)
    opened = json.loads((await hubctl(companies, "--json", "kpi", "requests", "--state", "open")).stdout)
    assert [r["company"] for r in opened["requests"]] == ["companies/2"]
    assert (await hubctl(companies, "kpi", "requests", "--state", "lost")).exit_code == 3
