"""The console's Korean catalog kept in step with its pages: `make catalog` adds every new message of the pages
and templates (empty, to be written), drops the ones no page says any more, and writes the file sorted and
without line numbers, so two changes that each add words merge without a conflict. Optionally it takes the
Korean of new messages from a JSON file ({"English": "한국어"}): `make catalog WORDS=new.json`."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from services.console.i18n import HERE

CHURN = tuple(
    f'"{k}: '.encode()
    for k in ("Report-Msgid-Bugs-To", "POT-Creation-Date", "PO-Revision-Date", "Last-Translator", "Language-Team")
)
PO = HERE / "locale" / "ko" / "LC_MESSAGES" / "console.po"
HEADER = """The console's Korean. After changing a page's words: make catalog (services/console/README.md)."""


def said_by_the_pages() -> set[str]:
    """Every message the console's Python and templates pass to gettext."""
    method_map = [("templates/**.html", "jinja2"), ("**.py", "python")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "N_": None, "gettext": None}
    found = extract_from_dir(HERE, method_map=method_map, options_map=options, keywords=keywords)
    return {m[2] for m in found if isinstance(m[2], str)}  # the console says no plurals


def read() -> Catalog:
    with PO.open("rb") as f:
        return read_po(f)


def update(words: dict[str, str]) -> list[str]:
    """Rewrites the catalog; answers the messages still without Korean."""
    old = read()
    korean = {m.id: m.string for m in old if m.id}
    fresh = Catalog(locale="ko", project="Hub CRM console", version="1", header_comment=f"# {HEADER}", fuzzy=False)
    for message in sorted(said_by_the_pages()):
        flags = ["python-format"] if "%(" in message else []
        fresh.add(message, words.get(message) or korean.get(message, ""), flags=flags)
    written = io.BytesIO()
    write_po(written, fresh, width=120, no_location=True, sort_output=True)
    # Dates and placeholders change on every run and would make every two changes conflict.
    PO.write_bytes(
        b"".join(line for line in written.getvalue().splitlines(keepends=True) if not line.startswith(CHURN))
    )
    return sorted(str(m.id) for m in fresh if m.id and not m.string)


if __name__ == "__main__":
    given = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8")) if len(sys.argv) > 1 else {}
    missing = update(given)
    print(f"{PO}: {len(missing)} messages without Korean")
    for message in missing:
        print(f"  {message}")
