"""hubctl recipients and preferences against the real notifications worker, in Korean first: the people it writes
to (kept from the other services' events; put in directly here), one shown, and preferences set field by field
with their etag (a stale one refused, a bad value naming its field)."""

from __future__ import annotations

import json

from typer.testing import Result

from tests.conftest import RunningNotifications
from tests.e2e.test_hubctl import hubctl
from tests.integration.test_notifications import add_person


async def test_recipients_list_show_and_preferences_set(notifications: RunningNotifications) -> None:
    port = notifications.runtime.port
    env = {"HUB_NOTIFICATIONS_ADDRESS": f"127.0.0.1:{port}"}

    async def run(*args: str) -> Result:
        return await hubctl(None, *args, env=env)

    person = await add_person(notifications, "people/7", "kim@medi.kr", company="companies/7")
    await add_person(notifications, "people/8", "lee@edu.kr", company="companies/8")
    number = person.name.removeprefix("recipients/")

    listed = await run("recipients", "list", "--company", "companies/7")
    assert listed.exit_code == 0 and "kim@medi.kr" in listed.stdout and "lee@edu.kr" not in listed.stdout, listed.output
    assert "이메일 email" in listed.stdout
    people = json.loads((await run("--json", "recipients", "list", "--kind", "person")).stdout)
    assert sorted(r["email"] for r in people) == ["kim@medi.kr", "lee@edu.kr"]
    assert (await run("recipients", "list", "--kind", "robot")).exit_code == 3
    shown = await run("recipients", "show", number)
    assert shown.exit_code == 0 and "people/7" in shown.stdout and "김서연" in shown.stdout, shown.output
    assert (await run("recipients", "show", "999")).exit_code == 4

    before = json.loads((await run("--json", "preferences", "show", number)).stdout)
    assert before["language"] == "ko"
    changed = await run("preferences", "set", number, "--language", "en", "--quiet", "22:00-08:00",
                        "--mute", "session.recap", "--etag", before["etag"])  # fmt: skip
    assert changed.exit_code == 0 and "수정함 (updated)" in changed.stdout, changed.output
    assert "22:00–08:00" in changed.stdout and "session.recap" in changed.stdout
    stale = await run("preferences", "set", number, "--zone", "America/New_York", "--etag", before["etag"])
    assert stale.exit_code == 5 and "stale" in stale.output, stale.output
    bad_zone = await run("preferences", "set", number, "--zone", "Mars/Olympus")
    assert bad_zone.exit_code == 3 and "time_zone" in bad_zone.output, bad_zone.output
    bad_quiet = await run("preferences", "set", number, "--quiet", "밤")
    assert bad_quiet.exit_code == 3 and "22:00-08:00" in bad_quiet.output
    assert (await run("preferences", "set", "999", "--language", "en")).exit_code == 4
    after = json.loads((await run("--json", "preferences", "show", number)).stdout)
    assert (after["language"], after["time_zone"], after["muted_rules"]) == ("en", "Asia/Seoul", ["session.recap"])
    assert (after["quiet_start"]["hours"], after["quiet_end"]["hours"]) == (22, 8)
