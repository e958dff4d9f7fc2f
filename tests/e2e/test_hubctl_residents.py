"""hubctl spaces with individual residents (issue 18): an individual moves into a desk with --person and is shown
by name, beside the companies, with the residents counted by kind; exactly one holder is required."""

from __future__ import annotations

from datetime import timedelta

from hubcore.convert import seoul_today as today
from tests.conftest import Running
from tests.e2e.test_hubctl import hubctl
from tests.integration.test_individual_residents import individual
from tests.integration.test_program_api import DESK, company, space


async def test_spaces_assign_shows_individual_residents_beside_companies(companies: Running) -> None:
    desk, office = await space(companies, "D-01", DESK, 8), await space(companies, "601")
    person = await individual(companies, "김서연")
    firm = await company(companies, "메디비전", "SELECTED")

    async def run(*args: str) -> str:
        result = await hubctl(companies, *args)
        assert result.exit_code == 0, result.output
        return result.output

    moved = await run("spaces", "assign", "--space", desk.name, "--person", person.split("/")[1], "--from",
                      today().isoformat())  # fmt: skip
    assert "김서연 (" in moved and "개인" in moved, moved
    await run("spaces", "assign", "--space", office.name, "--company", firm, "--from", today().isoformat())
    shown = await run("spaces", "occupancy")
    assert "김서연" in shown and "메디비전" in shown and "개인 입주자" in shown, shown
    assert "1/1" in shown  # one office of one, one desk of one
    later = (today() + timedelta(days=5)).isoformat()
    taken = await hubctl(companies, "spaces", "assign", "--space", desk.name, "--company", firm, "--from", later)
    assert taken.exit_code == 5 and person in taken.output, taken.output
    both = await hubctl(companies, "spaces", "assign", "--space", desk.name, "--from", later)
    assert both.exit_code == 2 and "--person" in both.output
