"""Spreadsheets in and out of the hub's directory, for hubctl and the console alike: which column of a program
manager's sheet is which field (their own headers, often Korean, matched through known synonyms), each row as
the request that would create or update a company or a person, checked with the service's own rules
(hubcore.directory) so that a preview refuses exactly the rows the real run would, records keyed naturally with
request ids from the key so that a file imported twice changes nothing, and cells a spreadsheet will not run as
formulas. Pure: the callers read the hub, show the plan and send its writes.

Korean Excel writes CSV as UTF-8 with a BOM or as CP949 (hubcore.text.decode_spreadsheet reads both); exports
are UTF-8 with a BOM, so that Excel opens them with Hangul intact."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from hub.companies.v1 import companies_pb2 as cpb

from hubcore.directory import WRITES
from hubcore.errors import InvalidArgument
from hubcore.requests import validate
from hubcore.text import clean, clean_tags

M = TypeVar("M", bound=Message)
COMPANY_HEADERS = ["korean_name", "english_name", "sector", "stage", "tags", "website", "founded_on", "description"]
PERSON_HEADERS = ["korean_name", "english_name", "company", "role", "title", "email", "phone"]
COMPANY_FIELDS = ["english_name", "sector", "stage", "tags", "website", "founded_on", "description"]  # updated
PERSON_FIELDS = ["english_name", "role", "title", "phone"]  # updated
CREATE, UPDATE, UNCHANGED, REJECTED = "create", "update", "unchanged", "rejected"

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
    # The company's person: created with role founder, keyed by email (see plan_companies).
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
# A program's registrations or attendance sheet (hubctl import registrations|attendance): korean_name is the
# participant's name in whatever script it is written; company is a company of the hub (Korean or English name).
REGISTRATION_SYNONYMS: dict[str, list[str]] = {
    "korean_name": ["이름", "성명", "성함", "참가자", "참가자명", "참석자", "참석자명", "신청자", "신청자명", "name",
                    "participant", "participant name", "full name"],
    "email": PERSON_SYNONYMS["email"],
    "phone": ["전화", "전화번호", "휴대폰번호", "휴대전화번호", *PERSON_SYNONYMS["phone"], "phone"],
    "company": ["소속", "회사", "기업", "기업명", "회사명", "소속기업", "소속회사", "소속기관", "기관", "company",
                "company name", "organization", "affiliation"],
    "attended": ["참석", "출석", "참석여부", "출석여부", "참석확인", "출석확인", "attendance", "present"],
}  # fmt: skip
SYNONYMS = {"companies": COMPANY_SYNONYMS, "people": PERSON_SYNONYMS, "registrations": REGISTRATION_SYNONYMS}
IGNORE = "-"  # a mapping's 비고=- : ignore that column without being told
# Enum values as program managers write them in Korean (the console's own words among them), besides the
# English names (medical, pre-seed); compared normalized, so "시리즈 A" is "시리즈A".
WORDS: dict[str, dict[str, str]] = {
    "SECTOR": {"의료": "MEDICAL", "교육": "EDUCATION", "제조": "MANUFACTURING", "모빌리티": "MOBILITY",
               "금융": "FINANCE", "유통": "RETAIL", "미디어": "MEDIA", "보안": "SECURITY", "로보틱스": "ROBOTICS",
               "로봇": "ROBOTICS", "농업": "AGRICULTURE", "에너지": "ENERGY", "기타": "OTHER"},
    "STAGE": {"아이디어": "IDEA", "프리시드": "PRE_SEED", "시드": "SEED", "프리a": "PRE_A", "시리즈a": "SERIES_A",
              "시리즈b": "SERIES_B", "시리즈c": "SERIES_C_PLUS", "시리즈c이후": "SERIES_C_PLUS",
              "시리즈c이상": "SERIES_C_PLUS"},
    "PERSON_ROLE": {"창업자": "FOUNDER", "대표": "FOUNDER", "대표자": "FOUNDER", "직원": "STAFF",
                    "개인": "INDIVIDUAL", "개인입주자": "INDIVIDUAL"},
}  # fmt: skip


class SheetError(ValueError):
    """A file that cannot be read as a sheet of its kind at all (not one row: the whole of it). what: "twins"
    (two columns for one field: headers, field) or "no_name" (no column for korean_name: headers)."""

    def __init__(self, what: str, headers: list[str], field: str = "") -> None:
        super().__init__(what)
        self.what, self.headers, self.field = what, headers, field


class Rejected(ValueError):
    """Why a row is not imported: in English (str(), as hubctl prints it), and in parts a page words in its own
    language. what: empty, unknown (an enum value), not_a_date, twice, no_founder_name, unknown_company, or
    invalid (the service's rules: violations, (field path, problem) each)."""

    def __init__(
        self, text: str, what: str, field: str = "", value: str = "", violations: Iterable[tuple[str, str]] = ()
    ) -> None:
        super().__init__(text)
        self.what, self.field, self.value, self.violations = what, field, value, list(violations)


def normalize(header: str) -> str:
    """NFC, case-folded, without spaces, underscores, dashes, dots or brackets: `Korean Name`, `korean_name`
    and `기업명 (국문)` compare as `koreanname` and `기업명국문`."""
    return re.sub(r"[\s_\-.·()\[\]{}<>（）]", "", unicodedata.normalize("NFC", header).casefold())


def _without_brackets(header: str) -> str:
    """`설립일(YYYY-MM-DD)`: the bracketed part is a hint for whoever types, not the name."""
    return re.sub(r"[(（\[].*?[)）\]]", "", header)


def resolve(headers: list[str], kind: str, mapping: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """{header as in the file: field} and the headers ignored. A mapping ({normalized header: field}, given or
    saved) wins over the synonyms; two columns for one field is a SheetError, since either could be meant."""
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
            raise SheetError("twins", [twin, header], field)
        columns[header] = field
    return columns, ignored


# Excel, LibreOffice and Google Sheets run a cell that starts with one of these as a formula (OWASP "CSV
# injection"); a leading single quote makes it text, and spreadsheets hide the quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: Any) -> Any:
    """A cell for a file opened in a spreadsheet: text that would start a formula gets a leading quote.
    Only text: a number written as a number (-5) stays a number."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def from_spreadsheet_cell(text: str) -> str:
    """The inverse on import: exactly the quote spreadsheet_cell adds (a quote before a formula start) comes
    off, so an exported file imports as the same names; any other quote is the cell's own text."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


def read_csv(text: str) -> tuple[list[str], list[dict[str, str]]]:
    """The header row as written, and each row by header."""
    reader = csv.DictReader(io.StringIO(text))
    rows = [
        {k: from_spreadsheet_cell(v.strip()) for k, v in row.items() if k is not None and isinstance(v, str)}
        for row in reader
    ]
    return [h for h in reader.fieldnames or [] if h is not None], rows


@dataclass
class Sheet:
    """A file's rows by field, and which of its columns were read as what."""

    rows: list[dict[str, str]]
    columns: dict[str, str]  # header as written -> field
    ignored: list[str]

    @property
    def with_founders(self) -> bool:
        """A companies sheet that names founders (or their emails): the hub's people are needed to plan it."""
        return bool({"founder", "email"} & set(self.columns.values()))


def read_sheet(text: str, kind: str, mapping: dict[str, str] | None = None) -> Sheet:
    """A file's text as rows by field (companies or people); a SheetError if it has no column for korean_name."""
    headers, raw = read_csv(text)
    found, ignored = resolve(headers, kind, mapping or {})
    if "korean_name" not in found.values():
        raise SheetError("no_name", headers, "korean_name")
    rows = [{found[h]: v for h, v in row.items() if h in found} for row in raw]
    return Sheet(rows, found, ignored)


def key(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


def person_key(email: str, korean_name: str, company: str) -> str:
    """A person is keyed by email, or without one by name within their company."""
    return email or f"{key(korean_name)}|{company}"


def import_request_id(kind: str, natural: str) -> str:
    """The create's request id, from the record's natural key: a re-run of the file never creates it twice."""
    return f"import-{kind}-" + hashlib.sha256(natural.encode()).hexdigest()[:32]


def checked(request: M) -> M:
    """The input rules the server applies to this request, applied here first: a preview then refuses exactly
    the rows the real run would (what only the database knows, e.g. a duplicate, still waits)."""
    try:
        validate(request, WRITES.get(type(request)))
    except InvalidArgument as exc:
        raise Rejected(exc.message, "invalid", violations=exc.violations) from None
    return request


def enum_or_zero(enum: Any, prefix: str, text: str, field: str = "") -> int:
    if not text:
        return 0
    name = WORDS.get(prefix, {}).get(normalize(text)) or text.strip().upper().replace("-", "_").replace(" ", "_")
    full = name if name.startswith(prefix + "_") else f"{prefix}_{name}"
    if full not in enum.keys() or full.endswith("UNSPECIFIED"):  # noqa: SIM118 (a protobuf enum wrapper)
        what = prefix.lower().replace("_", " ")
        raise Rejected(f"unknown {what} {text!r}", "unknown", field or what, text)
    return int(enum.Value(full))


def _empty(field: str) -> Rejected:
    return Rejected(f"{field} is empty", "empty", field)


def company_from_row(row: dict[str, str]) -> cpb.Company:
    company = cpb.Company(
        korean_name=clean(row.get("korean_name", "")),
        english_name=clean(row.get("english_name", "")),
        sector=enum_or_zero(cpb.Sector, "SECTOR", row.get("sector", ""), "sector"),  # type: ignore[arg-type]
        stage=enum_or_zero(cpb.Stage, "STAGE", row.get("stage", ""), "stage"),  # type: ignore[arg-type]
        tags=clean_tags(row.get("tags", "").replace(";", ",").split(",")),  # as the service keeps them
        website=row.get("website", ""),
        description=row.get("description", ""),
    )
    if not company.korean_name:
        raise _empty("korean_name")
    if not company.sector:
        raise _empty("sector")
    if row.get("founded_on"):
        try:
            d = date.fromisoformat(row["founded_on"])
        except ValueError:
            text = f"founded_on {row['founded_on']!r} is not a date like 2024-03-01"
            raise Rejected(text, "not_a_date", "founded_on", row["founded_on"]) from None
        company.founded_on.year, company.founded_on.month, company.founded_on.day = d.year, d.month, d.day
    return company


def shown(message: Message, name: str) -> str:
    """A field's value as a cell shows it: an enum by its short name (MEDICAL), tags joined, a date ISO."""
    if message.DESCRIPTOR.fields_by_name[name].enum_type is not None:
        return _enum_short(message, name)
    value = getattr(message, name)
    if name == "tags":
        return ", ".join(value)
    if name == "founded_on":
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}" if value.year else ""
    return str(value)


def _enum_short(message: Message, name: str) -> str:
    enum: Any = message.DESCRIPTOR.fields_by_name[name].enum_type
    number = getattr(message, name)
    prefix = re.sub(r"(?<!^)([A-Z])", r"_\1", enum.name).upper() + "_"  # PersonRole: PERSON_ROLE_
    return str(enum.values_by_number[number].name).removeprefix(prefix) if number else ""


@dataclass
class Step:
    """What importing one row does: its action, the write (None: nothing to write), a company's founder to
    create after it (their company filled in from the write's answer), the fields an update changes as
    (field, now, then) text (a create's as (field, "", value)), and why a rejected row is (reason)."""

    line: int
    key: str
    action: str
    detail: str = ""
    request: Message | None = None
    founder: cpb.Person | None = None
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    reason: Rejected | None = None

    @property
    def writes(self) -> bool:
        return self.request is not None or self.founder is not None


def founder_request(person: cpb.Person, company: str) -> cpb.CreatePersonRequest:
    """A company's founder, created once: the request id comes from their key within the company."""
    person.company = company
    natural = person_key(person.email, person.korean_name, company)
    return cpb.CreatePersonRequest(person=person, request_id=import_request_id("person", natural))


def _changes(wanted: Message, current: Message, fields: list[str]) -> list[tuple[str, str, str]]:
    return [(f, shown(current, f), shown(wanted, f)) for f in fields]


def _values(made: Message, fields: list[str]) -> list[tuple[str, str, str]]:
    """What a create sets, as (field, "", value) for the fields it fills."""
    return [(f, "", value) for f in fields if (value := shown(made, f))]


def plan_companies(
    rows: list[dict[str, str]], companies: Iterable[cpb.Company], people: Iterable[cpb.Person] = ()
) -> list[Step]:
    """Companies keyed by Korean name: new ones created, known ones updated where the row differs (a blank cell
    changes nothing). A founder (대표자) and email column become the company's person (role founder), keyed by
    email, created once; people: the hub's, needed only when the sheet names founders."""
    existing = {key(c.korean_name): c for c in companies}
    known = {person_key(p.email, p.korean_name, p.company) for p in people}
    seen: set[str] = set()

    def founder(row: dict[str, str], company: str) -> cpb.Person | None:
        """The row's founder if the hub does not know them yet; checked now, so a bad email rejects the row."""
        person = cpb.Person(
            korean_name=row.get("founder", ""),
            email=row.get("email", "").lower(),
            role=cpb.PERSON_ROLE_FOUNDER,
            company=company,
        )
        natural = person_key(person.email, person.korean_name, company)
        if not (person.korean_name or person.email) or natural in known:
            return None
        if not person.korean_name:
            text = f"email {person.email} has no founder name beside it"
            raise Rejected(text, "no_founder_name", "founder", person.email)
        checked(cpb.CreatePersonRequest(person=person, request_id="import-person-check"))
        known.add(natural)  # once, even if the file names them again
        return person

    def plan(line: int, row: dict[str, str]) -> Step:
        wanted = company_from_row(row)
        natural = key(wanted.korean_name)
        if natural in seen:
            twice = f"{wanted.korean_name} appears twice in the file"
            raise Rejected(twice, "twice", "korean_name", wanted.korean_name)
        seen.add(natural)
        current = existing.get(natural)
        if current is None:
            once = import_request_id("company", natural)
            request = checked(cpb.CreateCompanyRequest(company=wanted, request_id=once))
            person = founder(row, "")
            note = f"+ founder {person.korean_name} {person.email}".strip() if person else ""
            return Step(line, wanted.korean_name, CREATE, note, request, person, _values(wanted, COMPANY_FIELDS))
        changed = [f for f in COMPANY_FIELDS if f in row and row[f] != "" and getattr(wanted, f) != getattr(current, f)]
        wanted.name, wanted.etag = current.name, current.etag
        update = cpb.UpdateCompanyRequest(company=wanted, update_mask=FieldMask(paths=changed))
        if changed:
            checked(update)
        person = founder(row, current.name)
        if not changed and not person:
            return Step(line, wanted.korean_name, UNCHANGED)
        note = f"+ founder {person.korean_name} {person.email}".strip() if person else ""
        return Step(line, wanted.korean_name, UPDATE, note, update if changed else None, person,
                    _changes(wanted, current, changed))  # fmt: skip

    return _planned(rows, plan, lambda row: row.get("korean_name", ""))


def plan_people(
    rows: list[dict[str, str]], companies: Iterable[cpb.Company], people: Iterable[cpb.Person]
) -> list[Step]:
    """People keyed by email (or Korean name and company); `company` is the company's Korean name or id."""
    by_name = {key(c.korean_name): c.name for c in companies}
    existing = {person_key(p.email, p.korean_name, p.company): p for p in people}

    def plan(line: int, row: dict[str, str]) -> Step:
        company = row.get("company", "")
        if company and not company.startswith("companies/"):
            company = f"companies/{company}" if company.isdigit() else by_name.get(key(company), "")
            if not company:
                text = f"company {row['company']!r} is not registered"
                raise Rejected(text, "unknown_company", "company", row["company"])
        wanted = cpb.Person(
            korean_name=row.get("korean_name", ""),
            english_name=row.get("english_name", ""),
            company=company,
            role=enum_or_zero(cpb.PersonRole, "PERSON_ROLE", row.get("role", ""), "role"),  # type: ignore[arg-type]
            title=row.get("title", ""),
            email=row.get("email", "").lower(),
            phone=row.get("phone", ""),
        )
        if not wanted.korean_name:
            raise _empty("korean_name")
        natural = person_key(wanted.email, wanted.korean_name, wanted.company)
        current = existing.get(natural)
        label = wanted.email or wanted.korean_name
        if current is None:
            request = checked(cpb.CreatePersonRequest(person=wanted, request_id=import_request_id("person", natural)))
            values = [("company", "", row["company"])] if company else []
            values += _values(wanted, ["english_name", "role", "title", "email", "phone"])
            return Step(line, label, CREATE, request=request, changes=values)
        changed = [f for f in PERSON_FIELDS if row.get(f) and getattr(wanted, f) != getattr(current, f)]
        if not changed:
            return Step(line, label, UNCHANGED)
        wanted.name, wanted.etag = current.name, current.etag
        update = checked(cpb.UpdatePersonRequest(person=wanted, update_mask=FieldMask(paths=changed)))
        return Step(line, label, UPDATE, request=update, changes=_changes(wanted, current, changed))

    return _planned(rows, plan, lambda row: row.get("email", "").lower() or row.get("korean_name", ""))


def _planned(
    rows: list[dict[str, str]], plan: Callable[[int, dict[str, str]], Step], label: Callable[[dict[str, str]], str]
) -> list[Step]:
    """Each row's step; a row the plan refused (Rejected) is a rejected step, named by label(row)."""
    steps = []
    for line, row in enumerate(rows, start=2):  # line 1 is the header
        try:
            steps.append(plan(line, row))
        except Rejected as why:
            steps.append(Step(line, label(row), REJECTED, str(why), reason=why))
    return steps


def company_row(c: cpb.Company, listed_tags: bool = False) -> dict[str, Any]:
    """A company as an export's row (the columns an import reads, with its name and status); tags joined with
    ";" for a sheet, or as a list (JSON)."""
    return {
        "name": c.name,
        "korean_name": c.korean_name,
        "english_name": c.english_name,
        "sector": _enum_short(c, "sector").lower(),
        "stage": _enum_short(c, "stage").lower(),
        "status": _enum_short(c, "status").lower(),
        "tags": list(c.tags) if listed_tags else ";".join(c.tags),
        "website": c.website,
        "founded_on": shown(c, "founded_on"),
        "description": c.description,
    }


def person_row(p: cpb.Person) -> dict[str, Any]:
    """A person as an export's row (the columns an import reads, with their name)."""
    return {h: _enum_short(p, h).lower() if h == "role" else getattr(p, h) for h in PERSON_EXPORT}


COMPANY_EXPORT = ["name", "status", *COMPANY_HEADERS]
PERSON_EXPORT = ["name", *PERSON_HEADERS]


def csv_line(headers: list[str], row: dict[str, Any]) -> str:
    """One line of an export, its text cells safe from formulas (a header row: csv_line(h, dict(zip(h, h))))."""
    buffer = io.StringIO()
    csv.DictWriter(buffer, fieldnames=headers, extrasaction="ignore").writerow(
        {k: spreadsheet_cell(v) for k, v in row.items()}
    )
    return buffer.getvalue()
