"""Import from CSV (dry run, per-row report, idempotent re-runs) and export to CSV or JSON (all pages).

Korean Excel writes CSV as UTF-8 with a BOM or as CP949: both are read; exports are UTF-8 with a BOM so
Excel opens them with Hangul intact. Every text cell goes through spreadsheet_cell, so a name like
`=HYPERLINK(…)` is text in Excel, not a formula; import takes the added quote off again."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sys
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated, Any, TypeVar

import grpc
import typer
from google.protobuf.field_mask_pb2 import FieldMask
from google.protobuf.message import Message
from hub.companies.v1 import companies_pb2 as cpb
from rich.progress import Progress

from hubcore.errors import InvalidArgument
from hubcore.requests import validate
from hubcore.text import decode_spreadsheet
from hubctl import columns
from hubctl.args import iso
from hubctl.client import Client, Commands, as_dict, err, explain, fail, print_json, print_table, short

M = TypeVar("M", bound=Message)
import_app = Commands(help="Create or update records from a CSV file; --dry-run shows what would happen.")
export_app = Commands(help="Write every record, through all pages, as CSV or JSON.")

COMPANY_HEADERS = ["korean_name", "english_name", "sector", "stage", "tags", "website", "founded_on", "description"]
PERSON_HEADERS = ["korean_name", "english_name", "company", "role", "title", "email", "phone"]


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


def read_csv(path: Path, encoding: str | None) -> tuple[list[str], list[dict[str, str]]]:
    """The header row as written, and each row by header."""
    text = decode_spreadsheet(path.read_bytes(), encoding)
    if text is None:
        fail(f"{path}: neither UTF-8 nor CP949; give --encoding", 3)
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


def read_sheet(path: Path, encoding: str | None, kind: str, mapping: str, hub: Client) -> Sheet:
    """The file's own headers, matched to fields by --map (saved for next time), the saved maps and the
    synonyms; the columns matched to nothing are named, not silently dropped."""
    headers, raw = read_csv(path, encoding)
    given = columns.parse_map(mapping, kind) if mapping else {}
    found, ignored = columns.resolve(headers, kind, columns.saved_map(kind) | given)
    if "korean_name" not in found.values():
        example = "기업명" if kind == "companies" else "성명"
        fail(
            f"no column for korean_name among: {', '.join(headers) or '(no header row)'}; "
            f"name it with --map '{example}=korean_name'",
            3,
        )
    if given:
        saved = columns.save_map(kind, given)
        if not hub.config.json:
            err.print(f"열 매핑 저장 (column map saved for the next import): {saved}", highlight=False)
    if ignored and not hub.config.json:
        err.print(f"[yellow]무시하는 열 (ignored columns):[/yellow] {', '.join(ignored)}", highlight=False)
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
    """The input rules the server applies to this request, applied here first: a dry run then refuses
    exactly the rows the real run would (what only the database knows, e.g. a duplicate, still waits)."""
    from services.companies.registry.policy import RULES  # here: it loads the service's store, needed by import only

    try:
        validate(request, RULES.get(type(request)))
    except InvalidArgument as exc:
        raise ValueError(exc.message) from None
    return request


def enum_or_zero(enum: Any, prefix: str, text: str) -> int:
    if not text:
        return 0
    name = text.strip().upper().replace("-", "_").replace(" ", "_")
    full = name if name.startswith(prefix + "_") else f"{prefix}_{name}"
    if full not in enum.keys() or full.endswith("UNSPECIFIED"):  # noqa: SIM118 (a protobuf enum wrapper)
        raise ValueError(f"unknown {prefix.lower().replace('_', ' ')} {text!r}")
    return int(enum.Value(full))


@dataclass
class Report:
    rows: list[tuple[int, str, str, str]] = field(default_factory=list)  # line, key, action, detail

    def add(self, line: int, natural_key: str, action: str, detail: str = "") -> None:
        self.rows.append((line, natural_key, action, detail))

    def counts(self) -> Counter[str]:
        return Counter(action for _, _, action, _ in self.rows)


Plan = tuple[str, str, Callable[[], Any] | None, str]  # natural key, action, write (None: nothing), detail


def run_import(
    hub: Client,
    rows: list[dict[str, str]],
    plan: Callable[[int, dict[str, str]], Plan],
    dry_run: bool,
    label: Callable[[dict[str, str]], str] = lambda row: row.get("korean_name", ""),
) -> Report:
    """plan(line, row) -> (natural key, action, write, detail); write() performs it (not in a dry run).
    label(row) names a row plan refused."""
    report = Report()
    with Progress(console=err, transient=True, disable=hub.config.json or len(rows) < 200) as progress:
        task = progress.add_task("importing", total=len(rows))
        for line, row in enumerate(rows, start=2):  # line 1 is the header
            progress.advance(task)
            try:
                natural_key, action, write, detail = plan(line, row)
            except ValueError as exc:
                report.add(line, label(row), "rejected", str(exc))
                continue
            if write is None or dry_run:
                report.add(line, natural_key, action, " ".join(filter(None, [detail, "(dry run)" if write else ""])))
                continue
            try:
                write()
                report.add(line, natural_key, action, detail)
            except grpc.RpcError as error:
                code = error.code()
                if code in (
                    grpc.StatusCode.UNAVAILABLE,
                    grpc.StatusCode.UNAUTHENTICATED,
                    grpc.StatusCode.PERMISSION_DENIED,
                ):
                    explain(error)  # nothing more will work: stop here, re-running is safe
                report.add(line, natural_key, "rejected", error.details() or code.name)
    return report


def show_report(hub: Client, report: Report, dry_run: bool, sheet: Sheet) -> None:
    counts = report.counts()
    if hub.config.json:
        print_json(
            {
                "dry_run": dry_run,
                "counts": dict(counts),
                "columns": sheet.columns,
                "ignored_columns": sheet.ignored,
                "rows": [{"line": ln, "key": k, "action": a, "detail": d} for ln, k, a, d in report.rows],
            }
        )
    else:
        interesting = [r for r in report.rows if r[2] != "unchanged"]
        if interesting:
            print_table(
                "import" + (" (dry run: nothing written)" if dry_run else ""),
                ["line", "key", "action", "detail"],
                interesting,
            )
        summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "no rows"
        typer.echo(("would be: " if dry_run else "") + summary)
    if counts.get("rejected"):
        raise SystemExit(3)


def company_from_row(row: dict[str, str]) -> cpb.Company:
    company = cpb.Company(
        korean_name=row.get("korean_name", ""),
        english_name=row.get("english_name", ""),
        sector=enum_or_zero(cpb.Sector, "SECTOR", row.get("sector", "")),  # type: ignore[arg-type]
        stage=enum_or_zero(cpb.Stage, "STAGE", row.get("stage", "")),  # type: ignore[arg-type]
        tags=[t.strip() for t in row.get("tags", "").replace(";", ",").split(",") if t.strip()],
        website=row.get("website", ""),
        description=row.get("description", ""),
    )
    if not company.korean_name:
        raise ValueError("korean_name is empty")
    if not company.sector:
        raise ValueError("sector is empty")
    if row.get("founded_on"):
        try:
            d = date.fromisoformat(row["founded_on"])
        except ValueError:
            raise ValueError(f"founded_on {row['founded_on']!r} is not a date like 2024-03-01") from None
        company.founded_on.year, company.founded_on.month, company.founded_on.day = d.year, d.month, d.day
    return company


def all_companies(hub: Client) -> Iterator[cpb.Company]:
    yield from hub.pages(hub.companies.ListCompanies, cpb.ListCompaniesRequest(page_size=500), "companies")


def all_people(hub: Client) -> list[cpb.Person]:
    return list(hub.pages(hub.companies.ListPeople, cpb.ListPeopleRequest(page_size=500), "people"))


MAP_HELP = "Your headers: 기업명=korean_name,대표=founder,비고=- (- ignores); saved for the next import"


@import_app.command("companies")
def import_companies(
    hub: Client,
    file: Annotated[
        Path,
        typer.Argument(
            exists=True, dir_okay=False, help=f"CSV with columns {', '.join(COMPANY_HEADERS)}, founder, email"
        ),
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would happen; write nothing")] = False,
    encoding: Annotated[str | None, typer.Option(help="utf-8, cp949, … (default: detected)")] = None,
    mapping: Annotated[str, typer.Option("--map", help=MAP_HELP)] = "",
) -> None:
    """Companies keyed by Korean name: new ones are registered, known ones updated where they differ.

    A founder (대표자) and email column become the company's person (role founder), keyed by email."""
    sheet = read_sheet(file, encoding, "companies", mapping, hub)
    existing = {key(c.korean_name): c for c in all_companies(hub)}
    with_people = {"founder", "email"} & set(sheet.columns.values())
    people = {person_key(p.email, p.korean_name, p.company) for p in all_people(hub)} if with_people else set()
    seen: set[str] = set()
    fields = ["english_name", "sector", "stage", "tags", "website", "founded_on", "description"]

    def founder(row: dict[str, str], company: str) -> cpb.Person | None:
        """The row's founder if the hub does not know them yet; checked now, so a bad email rejects the row."""
        person = cpb.Person(
            korean_name=row.get("founder", ""),
            email=row.get("email", "").lower(),
            role=cpb.PERSON_ROLE_FOUNDER,
            company=company,
        )
        natural = person_key(person.email, person.korean_name, company)
        if not (person.korean_name or person.email) or natural in people:
            return None
        if not person.korean_name:
            raise ValueError(f"email {person.email} has no founder name beside it")
        checked(cpb.CreatePersonRequest(person=person, request_id="import-person-check"))
        people.add(natural)  # once, even if the file names them again
        return person

    def add_founder(person: cpb.Person, company: str) -> None:
        person.company = company
        natural = person_key(person.email, person.korean_name, company)
        request_id = import_request_id("person", natural)
        hub.send(hub.companies.CreatePerson, cpb.CreatePersonRequest(person=person, request_id=request_id))

    def plan(line: int, row: dict[str, str]) -> Plan:
        wanted = company_from_row(row)
        natural = key(wanted.korean_name)
        if natural in seen:
            raise ValueError(f"{wanted.korean_name} appears twice in the file")
        seen.add(natural)
        current = existing.get(natural)
        if current is None:
            request_id = import_request_id("company", natural)
            request = checked(cpb.CreateCompanyRequest(company=wanted, request_id=request_id))
            person = founder(row, "")
            note = f"+ founder {person.korean_name} {person.email}".strip() if person else ""

            def create() -> None:
                made = hub.send(hub.companies.CreateCompany, request)
                if person:
                    add_founder(person, made.name)

            return wanted.korean_name, "create", create, note
        changed = [f for f in fields if f in row and row[f] != "" and getattr(wanted, f) != getattr(current, f)]
        wanted.name, wanted.etag = current.name, current.etag
        update = cpb.UpdateCompanyRequest(company=wanted, update_mask=FieldMask(paths=changed))
        if changed:
            checked(update)
        person = founder(row, current.name)
        if not changed and not person:
            return wanted.korean_name, "unchanged", None, ""
        note = f"+ founder {person.korean_name} {person.email}".strip() if person else ""

        def apply() -> None:
            if changed:
                hub.send(hub.companies.UpdateCompany, update)
            if person:
                add_founder(person, current.name)

        return wanted.korean_name, "update", apply, note

    show_report(hub, run_import(hub, sheet.rows, plan, dry_run), dry_run, sheet)


@import_app.command("people")
def import_people(
    hub: Client,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help=f"CSV with columns {', '.join(PERSON_HEADERS)}")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would happen; write nothing")] = False,
    encoding: Annotated[str | None, typer.Option(help="utf-8, cp949, … (default: detected)")] = None,
    mapping: Annotated[str, typer.Option("--map", help="Your headers: 성명=korean_name,소속=company,비고=-")] = "",
) -> None:
    """People keyed by email (or Korean name and company); `company` is the company's Korean name or id."""
    sheet = read_sheet(file, encoding, "people", mapping, hub)
    companies = {key(c.korean_name): c.name for c in all_companies(hub)}
    existing = {person_key(p.email, p.korean_name, p.company): p for p in all_people(hub)}
    fields = ["english_name", "role", "title", "phone"]

    def plan(line: int, row: dict[str, str]) -> Plan:
        company = row.get("company", "")
        if company and not company.startswith("companies/"):
            company = f"companies/{company}" if company.isdigit() else companies.get(key(company), "")
            if not company:
                raise ValueError(f"company {row['company']!r} is not registered")
        wanted = cpb.Person(
            korean_name=row.get("korean_name", ""),
            english_name=row.get("english_name", ""),
            company=company,
            role=enum_or_zero(cpb.PersonRole, "PERSON_ROLE", row.get("role", "")),  # type: ignore[arg-type]
            title=row.get("title", ""),
            email=row.get("email", "").lower(),
            phone=row.get("phone", ""),
        )
        if not wanted.korean_name:
            raise ValueError("korean_name is empty")
        natural = person_key(wanted.email, wanted.korean_name, wanted.company)
        current = existing.get(natural)
        label = wanted.email or wanted.korean_name
        if current is None:
            request_id = import_request_id("person", natural)
            request = checked(cpb.CreatePersonRequest(person=wanted, request_id=request_id))
            return label, "create", lambda: hub.send(hub.companies.CreatePerson, request), ""
        changed = [f for f in fields if row.get(f) and getattr(wanted, f) != getattr(current, f)]
        if not changed:
            return label, "unchanged", None, ""
        wanted.name, wanted.etag = current.name, current.etag
        update = checked(cpb.UpdatePersonRequest(person=wanted, update_mask=FieldMask(paths=changed)))
        return label, "update", lambda: hub.send(hub.companies.UpdatePerson, update), ""

    def label(row: dict[str, str]) -> str:
        return row.get("email", "").lower() or row.get("korean_name", "")

    show_report(hub, run_import(hub, sheet.rows, plan, dry_run, label), dry_run, sheet)


FormatOption = Annotated[str, typer.Option("--format", help="csv or json")]
OutputOption = Annotated[Path | None, typer.Option("--output", "-o", help="File (default: standard output)")]


def export(what: str, fmt: str, output: Path | None, headers: list[str], rows: Iterator[dict[str, Any]]) -> None:
    """Writes rows as they arrive (never the whole set in memory); to a file, then says how many (on stderr,
    so standard output stays the export)."""
    if fmt not in ("csv", "json"):
        fail(f"--format must be csv or json, not {fmt!r}", 2)
    target = open(output, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") if output else sys.stdout  # noqa: SIM115
    count = 0
    try:
        if fmt == "csv":
            writer = csv.DictWriter(target, fieldnames=headers, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: spreadsheet_cell(v) for k, v in row.items()})
                count += 1
        else:
            target.write("[")
            for row in rows:
                target.write(("," if count else "") + "\n  " + json.dumps(row, ensure_ascii=False))
                count += 1
            target.write("\n]\n")
    finally:
        if output:
            target.close()
    if output:
        err.print(f"wrote {count} {what} to {output}")


@export_app.command("companies")
def export_companies(hub: Client, fmt: FormatOption = "csv", output: OutputOption = None) -> None:
    """Every company (CSV columns match `hubctl import companies`)."""

    def rows() -> Iterator[dict[str, Any]]:
        for c in all_companies(hub):
            yield {
                "name": c.name,
                "korean_name": c.korean_name,
                "english_name": c.english_name,
                "sector": short(cpb.Sector, c.sector, "SECTOR").lower(),
                "stage": short(cpb.Stage, c.stage, "STAGE").lower(),
                "status": short(cpb.CompanyStatus, c.status, "COMPANY_STATUS").lower(),
                "tags": ";".join(c.tags) if fmt == "csv" else list(c.tags),
                "website": c.website,
                "founded_on": iso(c.founded_on),
                "description": c.description,
            }

    export("companies", fmt, output, ["name", "status", *COMPANY_HEADERS], rows())


@export_app.command("people")
def export_people(hub: Client, fmt: FormatOption = "csv", output: OutputOption = None) -> None:
    """Every person (CSV columns match `hubctl import people`)."""

    def rows() -> Iterator[dict[str, Any]]:
        for p in hub.pages(hub.companies.ListPeople, cpb.ListPeopleRequest(page_size=500), "people"):
            row = as_dict(p)
            row["role"] = short(cpb.PersonRole, p.role, "PERSON_ROLE").lower()
            yield row

    export("people", fmt, output, ["name", *PERSON_HEADERS], rows())
