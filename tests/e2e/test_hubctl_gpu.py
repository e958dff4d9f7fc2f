"""hubctl gpu against the real consulting service, in Korean first: a program manager adds a node and sets a
company's monthly quota; a booking over the quota and one over another's slot are refused naming why; cancelling
returns the hours."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from typer.testing import Result

from tests.conftest import RunningConsulting
from tests.e2e.test_hubctl import hubctl
from tests.integration.consulting_world import know_company
from tests.integration.test_gpu_bookings import month_start


async def test_nodes_quota_book_cancel_and_list(consulting: RunningConsulting) -> None:
    await know_company(consulting, 7, "메디비전")
    await know_company(consulting, 8, "딥랩")
    env = {"HUB_CONSULTING_ADDRESS": consulting.address}

    async def run(*args: str) -> Result:
        return await hubctl(None, *args, env=env)

    added = await run("gpu", "add-node", "--name", "A100 node 1", "--kind", "a100", "--gpus", "8")
    assert added.exit_code == 0 and "노드 추가함 (added) gpuNodes/1: A100 node 1 (A100 × 8)" in added.stdout, (
        added.output
    )
    assert "A100 node 1" in (await run("gpu", "nodes")).stdout
    for company in ("7", "8"):
        quota = await run("gpu", "set-quota", "--company", company, "--hours", "3")
        assert quota.exit_code == 0 and "매월 monthly" in quota.stdout, quota.output
    at = month_start().astimezone(ZoneInfo("Asia/Seoul")).strftime("%Y-%m-%d 22:00")
    booked = await run("gpu", "book", "--node", "1", "--company", "7", "--at", at, "--hours", "3", "--purpose", "학습")
    assert booked.exit_code == 0 and "예약함 (booked) gpuBookings/1" in booked.stdout, booked.output
    taken = await run("gpu", "book", "--node", "1", "--company", "8", "--at", at)
    assert taken.exit_code == 5 and "gpuBookings/1" in taken.output, taken.output
    over = await run("gpu", "book", "--node", "1", "--company", "7", "--at", at.replace("22:00", "10:00"))
    assert over.exit_code == 5 and "exceed the quota" in over.output, over.output
    used = await run("gpu", "quota", "--company", "7", "--at", at)
    assert used.exit_code == 0 and "companies/7" in used.stdout, used.output
    shown = json.loads((await run("--json", "gpu", "quota", "--company", "7", "--at", at)).stdout)
    assert (shown["used_hours"], shown["hours"]) == (3, 3)
    unexplained = await run("gpu", "cancel", "1")
    assert unexplained.exit_code == 3 and "reason" in unexplained.output, unexplained.output
    cancelled = await run("gpu", "cancel", "1", "--reason", "일정 변경")
    assert cancelled.exit_code == 0 and "취소함 (cancelled) gpuBookings/1" in cancelled.stdout, cancelled.output
    again = await run("gpu", "book", "--node", "1", "--company", "8", "--at", at)
    assert again.exit_code == 0, again.output
    listed = json.loads((await run("--json", "gpu", "list", "--company", "8")).stdout)
    # The booking just made, whatever id it took (a refused insert spends a PostgreSQL sequence value).
    assert [b["hours"] for b in listed] == [1] and listed[0]["name"] in again.stdout, again.stdout
    term = await run("gpu", "set-quota", "--company", "8", "--hours", "100", "--period", "term",
                     "--term-start", "2027-03-01", "--term-end", "2027-08-31")  # fmt: skip
    assert term.exit_code == 0 and "기수 term" in term.stdout and "2027-03-01 00:00 – 2027-09-01 00:00" in term.stdout
    bad = await run("gpu", "set-quota", "--company", "8", "--hours", "1", "--period", "yearly")
    assert bad.exit_code == 3 and "monthly, term" in bad.output, bad.output
    month = at[:7]
    usage = await run("gpu", "usage", "--month", month)
    assert usage.exit_code == 0 and f"GPU 사용률 (utilization) {month}" in usage.stdout, usage.output
    assert "A100 node 1" in usage.stdout
    wrong = await run("gpu", "usage", "--month", "12월")
    assert wrong.exit_code == 3 and "month" in wrong.output, wrong.output
    waits = await run("gpu", "wait", "--node", "1", "--company", "7", "--at", at)
    assert waits.exit_code == 0 and "대기 등록함 (waiting) gpuWaitlist/1" in waits.stdout, waits.output
