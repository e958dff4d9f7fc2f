"""Which column of a program manager's spreadsheet is which field: their own headers (often Korean), known
synonyms, and mappings they gave with --map, saved in hubctl's config folder for the next import."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

from hubctl.client import config_dir, fail

# Field -> headers seen in the hub's spreadsheets, besides the field's own name. Compared normalized
# (see normalize), so "기업명 (국문)", "기업명(국문)" and "기업 명" are one header.
COMPANY_SYNONYMS: dict[str, list[str]] = {
    "korean_name": ["기업명", "기업명(국문)", "국문기업명", "회사명", "국문회사명", "업체명", "상호", "상호명",
                    "기업이름", "회사이름", "한글명", "국문명", "company", "company name", "korean name"],
    "english_name": ["영문명", "영문기업명", "기업명(영문)", "영문회사명", "회사명(영문)", "영문상호", "english name",
                     "english"],
    "sector": ["업종", "분야", "산업", "산업분야", "사업분야", "industry"],
    "stage": ["단계", "성장단계", "투자단계", "기업단계"],
    "tags": ["태그", "키워드", "keywords", "tag"],
    "website": ["홈페이지", "웹사이트", "홈페이지주소", "url", "homepage", "web", "site"],
    "founded_on": ["설립일", "설립일자", "설립연월일", "창업일", "창립일", "founded", "founding date", "date founded",
                   "established"],
    "description": ["설명", "소개", "기업소개", "회사소개", "사업내용", "주요사업", "about"],
    # The company's person: created with role founder, keyed by email (see `hubctl import companies`).
    "founder": ["대표자", "대표자명", "대표", "대표이사", "대표자성명", "창업자", "ceo", "representative"],
    "email": ["이메일", "메일", "전자우편", "이메일주소", "대표이메일", "대표자이메일", "e-mail", "mail",
              "email address"],
}  # fmt: skip
PERSON_SYNONYMS: dict[str, list[str]] = {
    "korean_name": ["이름", "성명", "성함", "한글이름", "국문이름", "이름(국문)", "korean name"],
    "english_name": ["영문이름", "영문명", "영문성명", "이름(영문)", "english name"],
    "company": ["기업명", "회사명", "소속", "소속기업", "기업", "회사", "company name"],
    "role": ["구분", "역할", "유형"],
    "title": ["직책", "직위", "직함", "position"],
    "email": ["이메일", "메일", "전자우편", "이메일주소", "e-mail", "mail", "email address"],
    "phone": ["전화번호", "휴대폰", "휴대전화", "핸드폰", "연락처", "mobile", "phone number", "tel"],
}  # fmt: skip
SYNONYMS = {"companies": COMPANY_SYNONYMS, "people": PERSON_SYNONYMS}
IGNORE = "-"  # --map 비고=- : ignore that column without being told


def normalize(header: str) -> str:
    """NFC, case-folded, without spaces, underscores, dashes, dots or brackets: `Korean Name`, `korean_name`
    and `기업명 (국문)` compare as `koreanname` and `기업명국문`."""
    return re.sub(r"[\s_\-.·()\[\]{}<>（）]", "", unicodedata.normalize("NFC", header).casefold())


def _without_brackets(header: str) -> str:
    """`설립일(YYYY-MM-DD)`: the bracketed part is a hint for whoever types, not the name."""
    return re.sub(r"[(（\[].*?[)）\]]", "", header)


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


def resolve(headers: list[str], kind: str, mapping: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """{header as in the file: field} and the headers ignored. A mapping (given or saved) wins over the
    synonyms; two columns for one field is an error, since either could be meant."""
    known = {normalize(s): field for field, names in SYNONYMS[kind].items() for s in [field, *names]}
    columns: dict[str, str] = {}
    ignored = []
    for header in headers:
        field = mapping.get(normalize(header)) or known.get(normalize(header))
        field = field or known.get(normalize(_without_brackets(header)))
        if not field or field == IGNORE:
            ignored.append(header)
            continue
        twin = next((h for h, f in columns.items() if f == field), None)
        if twin is not None:
            fail(f"columns {twin!r} and {header!r} are both {field}; say which with --map {header}=-", 3)
        columns[header] = field
    return columns, ignored
