"""hubctl playbook: 플레이북(조건과 순서 있는 행동으로 된 규칙)을 보고, 파일로 만들고 고치고, 켜고 끄고, 과거 기록으로
시험하고(dry-run), 실행 기록(firings)을 봅니다. A rule's file is JSON, as services/playbooks/examples/ hold them."""

from __future__ import annotations

import json
from datetime import datetime, time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from google.protobuf import json_format, timestamp_pb2
from google.protobuf.field_mask_pb2 import FieldMask
from hub.playbooks.v1 import playbooks_pb2 as pb

from hubctl.args import CompanyOption, NewestLimitOption, name, name_if_given, page_size, where
from hubctl.client import AllOption, Client, Commands, fail, print_table, short, when

playbook_app = Commands(help="플레이북: 목록, 보기, 파일로 만들기·고치기, 켜기·끄기, 시험 실행(dry-run), 실행 기록. "
                        "Playbooks: rules over KPI figures and events, and what they did.")  # fmt: skip
PlaybookArgument = Annotated[str, typer.Argument(help="3 또는 playbooks/3")]
FileOption = Annotated[Path, typer.Option("--file", "-f", help="규칙 JSON 파일 (services/playbooks/examples/ 참고)")]
PLAYBOOK_COLUMNS = ["id", "이름", "조건", "행동", "켜짐", "rev"]
FIRING_COLUMNS = ["id", "플레이북", "대상", "회차", "시각", "상태", "행동 결과"]


def trigger_text(t: pb.Trigger) -> str:
    kind = short(pb.TriggerKind, t.kind, "TRIGGER_KIND").lower()
    if t.kind == pb.TRIGGER_KIND_KPI_THRESHOLD:
        sign = "<" if t.comparison == pb.COMPARISON_BELOW else ">"
        return f"{t.metric} {sign} {t.threshold:g}"
    if t.kind == pb.TRIGGER_KIND_SESSION_RATED_LOW:
        return f"{kind} (≤{t.max_rating}{', not a fit' if t.not_a_fit else ''})"
    return f"{kind} ({t.days}일)"


def playbook_row(p: pb.Playbook) -> list[str]:
    actions = " → ".join(short(pb.ActionKind, a.kind, "ACTION_KIND").lower() for a in p.actions)
    return [p.name.removeprefix("playbooks/"), p.display_name, trigger_text(p.trigger), actions,
            "켜짐" if p.enabled else "꺼짐", str(p.revision)]  # fmt: skip


def firing_row(f: pb.Firing, tz: str) -> list[str]:
    state = short(pb.FiringState, f.state, "FIRING_STATE").lower() or "(시험)"
    outcomes = "; ".join(a.outcome for a in f.actions)[:80]
    return [f.name.removeprefix("firings/"), f.playbook_display_name, f.subject, str(f.episode),
            when(f.fire_time, tz), state, outcomes]  # fmt: skip


def read_rule(path: Path) -> pb.Playbook:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        fail(f"{path}: 읽을 수 없는 JSON입니다 (cannot read: {exc})", 3)
    trigger = dict(data.get("trigger", {}))
    if trigger.get("kind") and not str(trigger["kind"]).startswith("TRIGGER_KIND_"):
        trigger["kind"] = f"TRIGGER_KIND_{trigger['kind']}"
    if trigger.get("comparison") and not str(trigger["comparison"]).startswith("COMPARISON_"):
        trigger["comparison"] = f"COMPARISON_{trigger['comparison']}"
    actions = []
    for action in data.get("actions", []):
        action = dict(action)
        if action.get("kind") and not str(action["kind"]).startswith("ACTION_KIND_"):
            action["kind"] = f"ACTION_KIND_{action['kind']}"
        if action.get("audience") and not str(action["audience"]).startswith("AUDIENCE_"):
            action["audience"] = f"AUDIENCE_{action['audience']}"
        actions.append(action)
    message = {"display_name": data.get("display_name", ""), "description": data.get("description", ""),
               "trigger": trigger, "actions": actions}  # fmt: skip
    try:
        return json_format.ParseDict(message, pb.Playbook(), ignore_unknown_fields=False)
    except json_format.ParseError as exc:
        fail(f"{path}: 규칙 형식이 맞지 않습니다 ({exc})", 3)


def moment(text: str, what: str, tz: str) -> timestamp_pb2.Timestamp:
    """A day (its midnight) or a date and time, in the time zone shown."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        fail(f"{what}: 2026-09-01 또는 2026-09-01T09:00 같은 날짜여야 합니다 (not {text!r})", 3)
    if value.tzinfo is None:
        value = datetime.combine(value.date(), value.time() or time(), ZoneInfo(tz))
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def show_playbook(hub: Client, found: pb.Playbook, title: str) -> None:
    if hub.printed_json(found):
        return
    print_table(title, PLAYBOOK_COLUMNS, [playbook_row(found)])
    if found.description:
        print(found.description)
    rows = [[str(i), short(pb.ActionKind, a.kind, "ACTION_KIND").lower(),
             json_format.MessageToJson(a, indent=None, preserving_proto_field_name=True)]
            for i, a in enumerate(found.actions)]  # fmt: skip
    print_table("행동 (actions)", ["#", "kind", "parameters"], rows)


@playbook_app.command("list")
def playbook_list(hub: Client) -> None:
    """플레이북 목록 (every playbook, in the order made)."""
    found = list(hub.pages(hub.playbooks.ListPlaybooks, pb.ListPlaybooksRequest(page_size=200), "playbooks"))
    hub.show(found, f"플레이북 ({len(found)})", PLAYBOOK_COLUMNS, (playbook_row(p) for p in found))


@playbook_app.command("show")
def playbook_show(hub: Client, playbook: PlaybookArgument) -> None:
    """플레이북 하나: 조건, 행동과 그 매개변수 (one playbook, its trigger and actions)."""
    found = hub.call(hub.playbooks.GetPlaybook, pb.GetPlaybookRequest(name=name("playbooks", playbook)))
    show_playbook(hub, found, found.name)


@playbook_app.command("create")
def playbook_create(hub: Client, file: FileOption) -> None:
    """파일의 규칙으로 플레이북을 만듭니다 (꺼진 상태). Create a playbook from a file, switched off."""
    made = hub.call(hub.playbooks.CreatePlaybook, pb.CreatePlaybookRequest(playbook=read_rule(file)))
    show_playbook(hub, made, f"{made.name} 만듦 (꺼짐: dry-run 후 `hubctl playbook on {made.name}`)")


@playbook_app.command("update")
def playbook_update(hub: Client, playbook: PlaybookArgument, file: FileOption) -> None:
    """파일의 규칙으로 플레이북을 고칩니다 (rev가 하나 오릅니다). Replace a playbook's rule from a file."""
    rule = read_rule(file)
    rule.name = name("playbooks", playbook)
    mask = FieldMask(paths=["display_name", "description", "trigger", "actions"])
    changed = hub.call(hub.playbooks.UpdatePlaybook, pb.UpdatePlaybookRequest(playbook=rule, update_mask=mask))
    show_playbook(hub, changed, f"{changed.name} 고침 (rev {changed.revision})")


@playbook_app.command("on")
def playbook_on(hub: Client, playbook: PlaybookArgument) -> None:
    """플레이북을 켭니다: 지금 조건이 맞는 대상은 바로 실행됩니다. Switch a playbook on."""
    done = hub.call(hub.playbooks.EnablePlaybook, pb.EnablePlaybookRequest(name=name("playbooks", playbook)))
    hub.say(done, f"{done.name} 켜짐 ({done.display_name})")


@playbook_app.command("off")
def playbook_off(hub: Client, playbook: PlaybookArgument) -> None:
    """플레이북을 끕니다. Switch a playbook off (actions already under way still finish)."""
    done = hub.call(hub.playbooks.DisablePlaybook, pb.DisablePlaybookRequest(name=name("playbooks", playbook)))
    hub.say(done, f"{done.name} 꺼짐 ({done.display_name})")


@playbook_app.command("dry-run")
def playbook_dry_run(
    hub: Client,
    since: Annotated[str, typer.Option("--from", help="시작 (2026-09-01)")],
    until: Annotated[str, typer.Option("--to", help="끝 (2026-12-01)")],
    playbook: Annotated[str, typer.Argument(help="3 또는 playbooks/3 (또는 --file)")] = "",
    file: Annotated[Path | None, typer.Option("--file", "-f", help="저장하지 않은 규칙 JSON")] = None,
) -> None:
    """과거 기록으로 시험: 그 기간에 켜져 있었다면 실행했을 것들 (아무것도 하지 않습니다). A dry run over history."""
    if bool(playbook) == bool(file):
        fail("플레이북 번호나 --file 중 하나만 주세요 (give a playbook or --file)", 3)
    tz = hub.config.tz
    request = pb.DryRunPlaybookRequest(start_time=moment(since, "--from", tz), end_time=moment(until, "--to", tz))
    if file:
        request.playbook.CopyFrom(read_rule(file))
    else:
        request.name = name("playbooks", playbook)
    found = hub.call(hub.playbooks.DryRunPlaybook, request)
    if hub.printed_json(found):
        return
    print_table(f"실행했을 것 ({len(found.firings)}건, 사실 {found.facts_read}개 검토)", FIRING_COLUMNS,
                (firing_row(f, tz) for f in found.firings))  # fmt: skip


@playbook_app.command("firings")
def playbook_firings(
    hub: Client,
    playbook: Annotated[str, typer.Option(help="3 또는 playbooks/3")] = "",
    company: CompanyOption = "",
    state: Annotated[str, typer.Option(help="running, done, failed")] = "",
    limit: NewestLimitOption = 50,
    all_: AllOption = False,
) -> None:
    """실행 기록: 어떤 규칙이 어떤 대상에 실행되었고 각 행동이 어떻게 되었는지 (firings, newest first)."""
    terms = where(playbook=name_if_given("playbooks", playbook), company=name_if_given("companies", company),
                  state=state.upper())  # fmt: skip
    request = pb.ListFiringsRequest(filter=terms, page_size=page_size(limit))
    found = list(hub.pages(hub.playbooks.ListFirings, request, "firings", 0 if all_ else limit))
    hub.show(found, f"실행 기록 ({len(found)})", FIRING_COLUMNS, (firing_row(f, hub.config.tz) for f in found))
