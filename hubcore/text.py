"""Text as the hub keeps it: NFC-normalized (macOS and some IMEs send decomposed Hangul), trimmed, and the
case-folded form that search and tags compare. Pure functions, for domains and stores alike."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable


def clean(text: str) -> str:
    """A name or a line as stored: NFC, without surrounding spaces."""
    return unicodedata.normalize("NFC", text).strip()


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Tags or labels: cleaned, case-folded, empty ones dropped, each once, in the order first given."""
    seen: dict[str, None] = {}
    for tag in tags:
        value = clean(tag).casefold()
        if value:
            seen.setdefault(value, None)
    return list(seen)


def search_text(*parts: str) -> str:
    """What text search matches against: the parts NFC-normalized and case-folded, on one line."""
    return " ".join(unicodedata.normalize("NFC", p).casefold() for p in parts if p)


def normalize_text(text: str) -> str:
    """What a search query is compared as: NFC (composed and decomposed Hangul match), case-folded, trimmed."""
    return unicodedata.normalize("NFC", text).casefold().strip()


def email_address(text: str) -> str:
    """An email address as stored and compared: trimmed, lower case."""
    return text.strip().lower()


SPREADSHEET_ENCODINGS = ("utf-8-sig", "cp949")  # what Korean spreadsheets save: UTF-8 (with a BOM or not), or CP949


def decode_spreadsheet(raw: bytes, encoding: str | None = None) -> str | None:
    """A CSV file's text: in the encoding given, else UTF-8 (a BOM dropped), else CP949 (Excel's Korean default);
    None when it is none of them."""
    for candidate in [encoding] if encoding else SPREADSHEET_ENCODINGS:
        try:
            return raw.decode(candidate)
        except (UnicodeDecodeError, LookupError):
            continue
    return None
