"""The playbooks API on a real server: the seeded examples (switched off), create/update/switch with their
revision, and bad input refused with INVALID_ARGUMENT naming the field, changing nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.field_mask_pb2 import FieldMask
from hub.playbooks.v1 import playbooks_pb2 as pb

from hubcore.db import now
from tests.conftest import ADMIN, SERVICE, RunningPlaybooks, eventually, row_counts
from tests.integration.consulting_world import ts
from tests.integration.test_investors_api import bad_fields, refused

EXAMPLES = {
    "런웨이 6개월 미만",
    "60일간 세션 없음",
    "소개 14일 무응답",
    "세션 평점 1점 또는 '맞지 않음'",
    "KPI 요청 7일 연체",
}


def notify_rule(**trigger: Any) -> pb.Playbook:
    values: dict[str, Any] = {"kind": pb.TRIGGER_KIND_KPI_THRESHOLD, "metric": "runway_months",
                              "comparison": pb.COMPARISON_BELOW, "threshold": 6} | trigger  # fmt: skip
    return pb.Playbook(
        display_name="런웨이 경고",
        trigger=pb.Trigger(**values),
        actions=[pb.Action(kind=pb.ACTION_KIND_NOTIFY, audience=pb.AUDIENCE_PROGRAM_MANAGERS, message="확인")],
    )


async def seeded(playbooks: RunningPlaybooks) -> list[pb.Playbook]:
    async def all_five() -> list[pb.Playbook]:
        found = await playbooks.api.ListPlaybooks(pb.ListPlaybooksRequest(), metadata=ADMIN)
        return list(found.playbooks) if len(found.playbooks) >= 5 else []

    return list(await eventually(all_five))


async def test_the_examples_are_seeded_off_and_a_rule_is_created_updated_and_switched(
    playbooks: RunningPlaybooks,
) -> None:
    examples = await seeded(playbooks)
    assert {p.display_name for p in examples} == EXAMPLES
    assert not any(p.enabled for p in examples)
    runway = next(p for p in examples if p.trigger.kind == pb.TRIGGER_KIND_KPI_THRESHOLD)
    assert [a.kind for a in runway.actions] == [
        pb.ACTION_KIND_BOOK_CONSULTATION, pb.ACTION_KIND_PROPOSE_INTRODUCTIONS, pb.ACTION_KIND_NOTIFY,
    ]  # fmt: skip
    request = pb.CreatePlaybookRequest(playbook=notify_rule(), request_id="rule-1")
    made = await playbooks.api.CreatePlaybook(request, metadata=ADMIN)
    again = await playbooks.api.CreatePlaybook(request, metadata=ADMIN)
    assert again == made and made.revision == 1 and not made.enabled
    changed = await playbooks.api.UpdatePlaybook(
        pb.UpdatePlaybookRequest(
            playbook=pb.Playbook(name=made.name, etag=made.etag, trigger=notify_rule(threshold=3).trigger),
            update_mask=FieldMask(paths=["trigger"]),
        ),
        metadata=ADMIN,
    )
    assert changed.revision == 2 and changed.trigger.threshold == 3 and changed.display_name == "런웨이 경고"
    on = await playbooks.api.EnablePlaybook(pb.EnablePlaybookRequest(name=made.name), metadata=ADMIN)
    assert on.enabled and on.revision == 2
    stale = playbooks.api.DisablePlaybook(pb.DisablePlaybookRequest(name=made.name, etag=made.etag), metadata=ADMIN)
    await refused(stale, grpc.StatusCode.ABORTED)
    off = await playbooks.api.DisablePlaybook(pb.DisablePlaybookRequest(name=made.name), metadata=ADMIN)
    assert not off.enabled
    # other services read (the console's dashboard) but do not change rules
    await playbooks.api.ListFirings(pb.ListFiringsRequest(), metadata=SERVICE)
    await refused(playbooks.api.EnablePlaybook(pb.EnablePlaybookRequest(name=made.name), metadata=SERVICE),
                  grpc.StatusCode.PERMISSION_DENIED)  # fmt: skip


def bad_rule(change: str) -> pb.Playbook:
    rule = notify_rule()
    if change == "no name":
        rule.display_name = " "
    elif change == "metric":
        rule.trigger.metric = "mood"
    elif change == "no trigger":
        rule.ClearField("trigger")
    elif change == "no actions":
        del rule.actions[:]
    elif change == "booking":
        rule.actions.append(pb.Action(kind=pb.ACTION_KIND_BOOK_CONSULTATION, expertise="growth", within_days=14))
    elif change == "top":
        rule.actions.append(pb.Action(kind=pb.ACTION_KIND_PROPOSE_INTRODUCTIONS, top=50))
    elif change == "chase":
        rule.actions.append(pb.Action(kind=pb.ACTION_KIND_CHASE_PARTNER))
    return rule


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ("no name", "playbook.display_name"),
        ("metric", "playbook.trigger.metric"),
        ("no trigger", "playbook.trigger.kind"),
        ("no actions", "playbook.actions"),
        ("booking", "playbook.actions[1].session_type"),
        ("top", "playbook.actions[1].top"),
        ("chase", "playbook.actions[1].kind"),
    ],
)
async def test_a_rule_that_cannot_work_is_invalid_argument_naming_the_field(
    playbooks: RunningPlaybooks, change: str, field: str
) -> None:
    await seeded(playbooks)
    before = await row_counts(playbooks.runtime.db)
    call = playbooks.api.CreatePlaybook(pb.CreatePlaybookRequest(playbook=bad_rule(change)), metadata=ADMIN)
    assert field in bad_fields(await refused(call, grpc.StatusCode.INVALID_ARGUMENT))
    # the same rule given to a dry run is refused the same way
    start = now()
    dry = pb.DryRunPlaybookRequest(playbook=bad_rule(change), start_time=ts(start), end_time=ts(start + timedelta(1)))
    assert field in bad_fields(await refused(playbooks.api.DryRunPlaybook(dry, metadata=ADMIN),
                                             grpc.StatusCode.INVALID_ARGUMENT))  # fmt: skip
    assert await row_counts(playbooks.runtime.db) == before


async def test_bad_requests_name_their_field_and_change_nothing(playbooks: RunningPlaybooks) -> None:
    examples = await seeded(playbooks)
    before = await row_counts(playbooks.runtime.db)
    start = now()
    cases: list[tuple[Any, str]] = [
        (pb.DryRunPlaybookRequest(name=examples[0].name, start_time=ts(start), end_time=ts(start - timedelta(1))),
         "end_time"),
        (pb.DryRunPlaybookRequest(name=examples[0].name, end_time=ts(start)), "start_time"),
        (pb.DryRunPlaybookRequest(name=examples[0].name, playbook=notify_rule(), start_time=ts(start),
                                  end_time=ts(start + timedelta(1))), "name"),
        (pb.DryRunPlaybookRequest(start_time=ts(start), end_time=ts(start + timedelta(days=400)),
                                  name=examples[0].name), "end_time"),
        (pb.DryRunPlaybookRequest(start_time=ts(start), end_time=ts(start + timedelta(1)), name="x"), "name"),
    ]  # fmt: skip
    for request, field in cases:
        status = await refused(playbooks.api.DryRunPlaybook(request, metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT)
        assert field in bad_fields(status), (request, bad_fields(status))
    update = pb.UpdatePlaybookRequest(playbook=pb.Playbook(name=examples[0].name, enabled=True),
                                      update_mask=FieldMask(paths=["enabled"]))  # fmt: skip
    assert "update_mask" in bad_fields(
        await refused(playbooks.api.UpdatePlaybook(update, metadata=ADMIN), grpc.StatusCode.INVALID_ARGUMENT)
    )
    listing = playbooks.api.ListFirings(pb.ListFiringsRequest(filter="state=LOUD"), metadata=ADMIN)
    assert "filter" in bad_fields(await refused(listing, grpc.StatusCode.INVALID_ARGUMENT))
    await refused(playbooks.api.GetPlaybook(pb.GetPlaybookRequest(name="playbooks/999"), metadata=ADMIN),
                  grpc.StatusCode.NOT_FOUND)  # fmt: skip
    await refused(playbooks.api.GetFiring(pb.GetFiringRequest(name="firings/1"), metadata=ADMIN),
                  grpc.StatusCode.NOT_FOUND)  # fmt: skip
    assert await row_counts(playbooks.runtime.db) == before
