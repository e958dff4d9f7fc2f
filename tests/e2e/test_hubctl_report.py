"""hubctl report through its command line, against the real companies and consulting services: a program
period's tables as CSV files with a BOM, the tables on screen in Korean, --json with each figure's sources, and
bad periods refused naming the field (exit 3) or the missing option (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Running, RunningConsulting
from tests.e2e.test_hubctl import hubctl
from tests.integration.test_outcome_report import seed


async def test_report_for_a_program_period_on_screen_as_json_and_as_csv(
    companies: Running, consulting: RunningConsulting, tmp_path: Path
) -> None:
    firms = await seed(companies)
    env = {"HUB_CONSULTING_ADDRESS": consulting.address}
    shown = await hubctl(companies, "report", "--from", "2026-01", "--to", "2026-12", env=env)
    assert shown.exit_code == 0, shown.output
    assert "기업별 성과" in shown.stdout and "보육 평가 (월별)" in shown.stdout and "메디비전" in shown.stdout

    data = json.loads((await hubctl(companies, "--json", "report", "--year", "2026", env=env)).stdout)
    [medivision] = [row for row in data["outcomes"]["rows"] if row["기업"] == firms["a"]]
    assert medivision["매출액(원)"] == 440_000_000
    assert len(medivision["출처"]["매출액(원)"]) == 2 and all(" v" in s for s in medivision["출처"]["매출액(원)"])

    folder = tmp_path / "out"
    written = await hubctl(companies, "report", "--from", "2026-03", "--to", "2027-02", "--csv", "-o", str(folder),
                           env=env)  # fmt: skip
    assert written.exit_code == 0, written.output
    files = {p.name: p.read_bytes() for p in folder.iterdir()}
    assert set(files) == {f"성과보고서_2026-03_2027-02_{k}.csv" for k in
                          ("outcomes", "incubator", "summary", "support", "targets", "sources")}  # fmt: skip
    assert all(body.startswith(b"\xef\xbb\xbf") for body in files.values())
    months = files["성과보고서_2026-03_2027-02_incubator.csv"].decode("utf-8-sig").splitlines()
    assert months[0].startswith("월,보육실 입주율(%)") and months[1].startswith("2026-03,") and len(months) == 13


async def test_bad_periods_are_refused_naming_the_field(companies: Running) -> None:
    env = {"HUB_CONSULTING_ADDRESS": "127.0.0.1:1"}
    early = await hubctl(companies, "report", "--year", "1999", env=env)
    assert early.exit_code == 3 and "year" in early.output, early.output
    backwards = await hubctl(companies, "report", "--from", "2027-03", "--to", "2027-02", env=env)
    assert backwards.exit_code == 3 and "end_month" in backwards.output, backwards.output
    assert (await hubctl(companies, "report", env=env)).exit_code == 2
