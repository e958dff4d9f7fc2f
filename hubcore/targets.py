"""The hub's targets as its funders set them, shared by hubctl's dashboard and the console's home page (hubctl
lets a config file's [targets] table override them)."""

from __future__ import annotations

TARGETS = {"firms": 50, "experts": 500, "programs": 24, "participants": 8000, "offices": 16, "desks": 30}
DISCOVERED = ("SELECTED", "RESIDENT", "GRADUATED")  # firms the hub has discovered (the grown are among them)
