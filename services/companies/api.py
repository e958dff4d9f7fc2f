"""Moved: CompanyService is in registry/ (servicer, use cases, conversion, policy). What the flat program.py and
hubctl/transfer.py still import from here is re-exported until they import registry/; then this file goes."""

from __future__ import annotations

from hubcore.convert import seoul_today as today
from hubcore.db import UnitOfWork
from services.companies.registry import usecases
from services.companies.registry.convert import residency_event
from services.companies.registry.domain import Company
from services.companies.registry.policy import RULES

__all__ = ["RULES", "change_status", "residency_event", "today"]


async def change_status(uow: UnitOfWork, company: Company, target: str, reason: str) -> Company:
    """usecases.change_status on the hub's today (Asia/Seoul), as the program's code calls it."""
    return await usecases.change_status(uow, company, target, reason, today=today())
