"""Protos <-> domain objects for the playbooks service: a rule as the API sends and returns it, its firings
(with their facts and action outcomes) and the dry run's would-be firings. Nothing here reads the database."""

from __future__ import annotations

from typing import Any

from hub.playbooks.v1 import playbooks_pb2 as pb

from hubcore.convert import Writer, timestamp
from hubcore.requests import enum_number, enum_short
from hubcore.text import clean
from services.playbooks import domain
from services.playbooks.domain import Action, Fact, FiringAction, Playbook, Trigger


def trigger_pb(trigger: Trigger) -> pb.Trigger:
    return pb.Trigger(
        kind=enum_number(pb.TriggerKind, "TRIGGER_KIND", trigger.kind), metric=trigger.metric,
        comparison=enum_number(pb.Comparison, "COMPARISON", trigger.comparison), threshold=trigger.threshold,
        days=trigger.days, max_rating=trigger.max_rating, not_a_fit=trigger.not_a_fit,
    )  # fmt: skip


def action_pb(action: Action) -> pb.Action:
    return pb.Action(
        kind=enum_number(pb.ActionKind, "ACTION_KIND", action.kind), session_type=action.session_type,
        expertise=action.expertise, mentors=list(action.mentors), within_days=action.within_days, top=action.top,
        audience=enum_number(pb.Audience, "AUDIENCE", action.audience), message=action.message,
    )  # fmt: skip


playbook_pb = Writer(
    pb.Playbook,
    Playbook,
    compute={"trigger": lambda p: trigger_pb(p.trigger), "actions": lambda p: [action_pb(a) for a in p.actions]},
)


def trigger_of(message: pb.Trigger) -> Trigger:
    return Trigger(
        kind=enum_short(pb.TriggerKind, "TRIGGER_KIND", message.kind), metric=message.metric.strip(),
        comparison=enum_short(pb.Comparison, "COMPARISON", message.comparison), threshold=message.threshold,
        days=message.days, max_rating=message.max_rating, not_a_fit=message.not_a_fit,
    )  # fmt: skip


def action_of(message: pb.Action) -> Action:
    return Action(
        kind=enum_short(pb.ActionKind, "ACTION_KIND", message.kind), session_type=message.session_type.strip(),
        expertise=message.expertise.strip(), mentors=tuple(m.strip() for m in message.mentors),
        within_days=message.within_days, top=message.top,
        audience=enum_short(pb.Audience, "AUDIENCE", message.audience), message=clean(message.message),
    )  # fmt: skip


def playbook_of(message: pb.Playbook) -> Playbook:
    """A rule as sent (create, a dry run's given rule); domain.check_playbook says what is wrong with it."""
    return Playbook(
        id=0, display_name=clean(message.display_name), description=message.description.strip(),
        trigger=trigger_of(message.trigger), actions=tuple(action_of(a) for a in message.actions),
    )  # fmt: skip


def changes_of(message: pb.Playbook, paths: Any) -> dict[str, object]:
    """The fields an update mask names, as the domain holds them."""
    given = playbook_of(message)
    return {path: getattr(given, path) for path in paths}


def fact_pb(fact: Fact) -> pb.Fact:
    values = {k: str(v) for k, v in fact.values.items()}
    return pb.Fact(kind=fact.kind, subject=fact.subject, company=fact.company,
                   occur_time=timestamp(fact.occurred_at), values=values)  # fmt: skip


outcome_pb = Writer(
    pb.ActionOutcome,
    FiringAction,
    rename={"index": "position", "update_time": "updated_at"},
    compute={"results": lambda a: list(a.results)},
)
firing_pb = Writer(
    pb.Firing,
    domain.Firing,
    compute={
        "facts": lambda f: [fact_pb(x) for x in f.facts],
        "actions": lambda f: [outcome_pb(a) for a in f.actions],
        "name": lambda f: f.name if f.id else "",
        "playbook": lambda f: f.playbook if f.playbook_id else "",
        "state": lambda f: enum_number(pb.FiringState, "FIRING_STATE", f.state) if f.actions else 0,
    },
)
