"""Which column of a program manager's spreadsheet is which field: the headers and synonyms are
hubcore.sheets' (the console reads sheets the same way); here, the mappings given with --map, saved in
hubctl's config folder for the next import."""

from __future__ import annotations

import json
from pathlib import Path

from hubcore.sheets import IGNORE, SYNONYMS, normalize
from hubctl.client import config_dir, fail


def maps_file() -> Path:
    return config_dir() / "import-columns.json"


def saved_map(kind: str) -> dict[str, str]:
    path = maps_file()
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    except ValueError:
        fail(f"{path} is not JSON; fix or delete it", 1)
    return dict(data.get(kind, {}))


def parse_map(text: str, kind: str) -> dict[str, str]:
    """`기업명=korean_name,대표=founder,비고=-` -> {normalized header: field}."""
    fields = SYNONYMS[kind]
    mapping = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        header, sep, field = part.partition("=")
        field = field.strip()
        if not sep or not header.strip() or (field not in fields and field != IGNORE):
            fail(f"--map {part!r}: write header=field, field one of {', '.join(fields)} (or - to ignore)", 2)
        mapping[normalize(header)] = field
    return mapping


def save_map(kind: str, mapping: dict[str, str]) -> Path:
    path = maps_file()
    data = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    data[kind] = data.get(kind, {}) | mapping
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path
