"""hubctl for mentors and session feedback against the real consulting service, in Korean first: a program
manager deactivates and reactivates a mentor and records a founder's feedback on their behalf, with a reason."""

from __future__ import annotations

import json

from typer.testing import Result

from tests.conftest import RunningConsulting
from tests.e2e.test_hubctl import hubctl
from tests.integration.consulting_world import earlier_today, future_monday, know_company, make_mentor, make_type


async def test_deactivate_reactivate_and_feedback_on_behalf(consulting: RunningConsulting) -> None:
    mentor = await make_mentor(consulting, "김도현")
    kind = await make_type(consulting)
    company = await know_company(consulting, 7, "메디비전")
    env = {"HUB_CONSULTING_ADDRESS": consulting.address}

    async def run(*args: str) -> Result:
        return await hubctl(None, *args, env=env)

    unexplained = await run("mentors", "deactivate", "1")
    assert unexplained.exit_code == 3 and "reason" in unexplained.output, unexplained.output
    away = await run("mentors", "deactivate", "1", "--reason", "임기 종료")
    assert away.exit_code == 0, away.output
    assert "비활성화함 (deactivated) mentors/1: 김도현" in away.stdout
    listed = await run("mentors", "list")
    assert "비활성" in listed.stdout
    at = future_monday().strftime("%Y-%m-%d %H:%M")
    booking = ["sessions", "schedule", "--company", company, "--mentor", "1", "--type", kind.name, "--at", at]
    refused = await run("--tz", "UTC", *booking)
    assert refused.exit_code == 5 and "inactive" in refused.output, refused.output
    twice = await run("mentors", "deactivate", "1", "--reason", "임기 종료")
    assert twice.exit_code == 5
    back = await run("mentors", "reactivate", "mentors/1", "--reason", "재위촉")
    assert back.exit_code == 0 and "다시 활성화함 (reactivated) mentors/1" in back.stdout, back.output
    state = json.loads((await run("--json", "mentors", "list")).stdout)
    assert [m["state"] for m in state] == ["MENTOR_STATE_ACTIVE"] and mentor.name == state[0]["name"]

    # A session held earlier today, completed; the founder's feedback recorded on their behalf.
    held_at = earlier_today().strftime("%Y-%m-%d %H:%M")
    booked = await run("--json", "--tz", "UTC", *booking[:-1], held_at)
    assert booked.exit_code == 0, booked.output
    assert (await run("sessions", "complete", "1", "--notes", "시장 검증")).exit_code == 0
    feedback = ["sessions", "feedback", "1", "--rating", "1", "--fit", "not-a-fit", "--comment", "조언이 맞지 않음"]
    no_reason = await run(*feedback)
    assert no_reason.exit_code == 3 and "reason" in no_reason.output, no_reason.output
    unknown = await run("sessions", "feedback", "1", "--rating", "2", "--fit", "maybe", "--reason", "전화")
    assert unknown.exit_code == 3 and "good-fit" in unknown.output
    given = await run(*feedback, "--reason", "대표가 전화로 전함")
    assert given.exit_code == 0, given.output
    said = given.stdout
    assert "피드백 기록함 (feedback recorded) sessions/1: 1점, 맞지 않음" in said and "대표가 전화로 전함" in said
    assert "admin:" in said
    again = await run(*feedback, "--reason", "다시")
    assert again.exit_code == 5 and "already" in again.output
    shown = json.loads((await run("--json", "sessions", "list")).stdout)
    assert shown[0]["feedback"]["reason"] == "대표가 전화로 전함" and shown[0]["feedback"]["rating"] == 1
