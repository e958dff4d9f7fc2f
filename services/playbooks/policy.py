"""The playbooks API's policy, declared once: the input rules of each request (enforced by the server's
interceptor before a method runs), the filters each List accepts, and who may call what. What a rule's trigger
and actions may hold is the domain's to say (domain.check_playbook)."""

from __future__ import annotations

from collections.abc import Callable

from hub.playbooks.v1 import playbooks_pb2 as pb

from hubcore.requests import Check, Rules, length, max_items, parse_name, required
from hubcore.server import ADMIN, also_for_services
from services.playbooks import domain

MUTABLE = frozenset({"display_name", "description", "trigger", "actions"})
PLAYBOOK: dict[str, list[Check]] = {
    "playbook.display_name": [required, length(1, 100)],
    "playbook.description": [length(0, 2000)],
    "playbook.trigger": [required],
    "playbook.actions": [required, max_items(domain.MAX_ACTIONS)],
}
RULES: dict[type, Rules] = {
    pb.CreatePlaybookRequest: Rules({**PLAYBOOK, "request_id": [length(0, 64)]}),
    pb.GetPlaybookRequest: Rules({"name": [required]}),
    pb.UpdatePlaybookRequest: Rules({"playbook.name": [required], **PLAYBOOK}, "update_mask", "playbook", MUTABLE),
    pb.EnablePlaybookRequest: Rules({"name": [required]}),
    pb.DisablePlaybookRequest: Rules({"name": [required]}),
    pb.DryRunPlaybookRequest: Rules({"start_time": [required], "end_time": [required]}),
    pb.ListFiringsRequest: Rules({"filter": [length(0, 500)]}),
    pb.GetFiringRequest: Rules({"name": [required]}),
}
# Program managers do everything; other services (the console's dashboard) may read.
ROLES = also_for_services("GetPlaybook", "ListPlaybooks", "ListFirings", "GetFiring")
DEFAULT_ROLES = frozenset({ADMIN})


def _state(value: str) -> str:
    short = value.strip().upper().removeprefix("FIRING_STATE_")
    if short not in (domain.RUNNING, domain.DONE, domain.FAILED):
        raise ValueError("must be RUNNING, DONE or FAILED")
    return short


FIRING_FILTER: dict[str, Callable[[str], object]] = {
    "playbook": lambda v: parse_name(v, "playbooks", "filter"),
    "company": lambda v: f"companies/{parse_name(v, 'companies', 'filter')}",
    "subject": str,
    "state": _state,
}
