"""What every area's use cases look up: the active company a request names."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from hubcore.requests import parse_name
from hubcore.resources import found
from services.companies.registry import store as companies
from services.companies.registry.domain import Company

SUBJECT = "hub.companies"  # the program's events are the companies service's


async def active_company(conn: AsyncConnection, name: str, field: str) -> Company:
    """The company named (companies/3), which must exist and not be archived."""
    company = found(await companies.get_company(conn, parse_name(name, "companies", field)), "Company", name)
    company.require_active()
    return company
