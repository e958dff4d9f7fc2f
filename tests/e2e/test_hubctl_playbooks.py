"""hubctl playbook against the real playbooks service: a program manager lists the seeded examples (off), creates
a rule from a file, runs it dry over the history, switches it on and off and reads its firings, in Korean first;
a file that is not a rule, or a rule that cannot work, is refused with the field named."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from hubcore.db import now
from tests.conftest import RunningPlaybooks
from tests.e2e.test_hubctl import hubctl
from tests.integration.test_playbooks_api import seeded


async def test_a_program_manager_works_playbooks_from_hubctl(playbooks: RunningPlaybooks, tmp_path: Path) -> None:
    await seeded(playbooks)
    env = {"HUB_PLAYBOOKS_ADDRESS": playbooks_address(playbooks)}
    listed = await hubctl(None, "playbook", "list", env=env)
    assert listed.exit_code == 0 and "런웨이 6개월 미만" in listed.stdout and "꺼짐" in listed.stdout, listed.output
    assert "runway_months < 6" in listed.stdout

    rule = {
        "display_name": "런웨이 3개월 미만",
        "trigger": {"kind": "KPI_THRESHOLD", "metric": "runway_months", "comparison": "BELOW", "threshold": 3},
        "actions": [{"kind": "NOTIFY", "audience": "PROGRAM_MANAGERS", "message": "긴급"}],
    }
    path = tmp_path / "rule.json"
    path.write_text(json.dumps(rule, ensure_ascii=False), encoding="utf-8")
    made = await hubctl(None, "playbook", "create", "--file", str(path), env=env)
    assert made.exit_code == 0 and "playbooks/6 만듦" in made.stdout, made.output
    shown = await hubctl(None, "--json", "playbook", "show", "6", env=env)
    assert json.loads(shown.stdout)["trigger"]["threshold"] == 3

    day = (now() - timedelta(days=30)).date().isoformat()
    tomorrow = (now() + timedelta(days=1)).date().isoformat()
    dry = await hubctl(None, "playbook", "dry-run", "6", "--from", day, "--to", tomorrow, env=env)
    assert dry.exit_code == 0 and "실행했을 것 (0건" in dry.stdout, dry.output
    dry_file = await hubctl(None, "playbook", "dry-run", "--file", str(path), "--from", day, "--to", tomorrow, env=env)
    assert dry_file.exit_code == 0, dry_file.output

    on = await hubctl(None, "playbook", "on", "6", env=env)
    assert on.exit_code == 0 and "playbooks/6 켜짐" in on.stdout, on.output
    off = await hubctl(None, "playbook", "off", "playbooks/6", env=env)
    assert off.exit_code == 0 and "꺼짐" in off.stdout
    firings = await hubctl(None, "playbook", "firings", "--playbook", "6", env=env)
    assert firings.exit_code == 0 and "실행 기록 (0)" in firings.stdout, firings.output

    rule["trigger"]["metric"] = "mood"  # type: ignore[index]
    path.write_text(json.dumps(rule), encoding="utf-8")
    refused = await hubctl(None, "playbook", "update", "6", "--file", str(path), env=env)
    assert refused.exit_code != 0 and "playbook.trigger.metric" in refused.output, refused.output
    path.write_text("{not json", encoding="utf-8")
    assert (await hubctl(None, "playbook", "create", "--file", str(path), env=env)).exit_code == 3


def playbooks_address(playbooks: RunningPlaybooks) -> str:
    return f"127.0.0.1:{playbooks.runtime.port}"
