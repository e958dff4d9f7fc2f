"""Import from CSV (dry run, per-row report, idempotent re-runs) and export to CSV or JSON (all pages).

Korean Excel writes CSV as UTF-8 with a BOM or as CP949: both are read; exports are UTF-8 with a BOM so
Excel opens them with Hangul intact."""

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
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import grpc
import typer
from google.protobuf.field_mask_pb2 import FieldMask
from hub.companies.v1 import companies_pb2 as cpb
from rich.progress import Progress

from hubctl.client import as_dict, err, explain, fail, print_json, print_table, short

if TYPE_CHECKING:
    from hubctl.cli import Client

import_app = typer.Typer(help="Create or update records from a CSV file; --dry-run shows what would happen.")
export_app = typer.Typer(help="Write every record, through all pages, as CSV or JSON.")

COMPANY_HEADERS = ["korean_name", "english_name", "sector", "stage", "tags", "website", "founded_on", "description"]
PERSON_HEADERS = ["korean_name", "english_name", "company", "role", "title", "email", "phone"]


def read_csv(path: Path, encoding: str | None) -> list[dict[str, str]]:
    raw = path.read_bytes()
    for candidate in [encoding] if encoding else ["utf-8-sig", "cp949"]:
        try:
            text = raw.decode(candidate)
            break
        except (UnicodeDecodeError, LookupError):
            continue
    else:
        fail(f"{path}: neither UTF-8 nor CP949; give --encoding", 3)
    rows = list(csv.DictReader(io.StringIO(text)))
    return [{(k or "").strip().lower(): (v or "").strip() for k, v in row.items()} for row in rows]


def key(text: str) -> str:
    return unicodedata.normalize("NFC", text).strip().casefold()


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


def run_import(
    hub: Client,
    rows: list[dict[str, str]],
    headers: list[str],
    plan: Callable[[int, dict[str, str]], tuple[str, str, Callable[[], Any] | None]],
    dry_run: bool,
) -> Report:
    """plan(line, row) -> (natural key, action, write); write() performs it (not called in a dry run)."""
    missing = [h for h in headers[:1] if rows and h not in rows[0]]
    if missing:
        fail(f"the file has no column {missing[0]!r}; columns: {', '.join(headers)}", 3)
    report = Report()
    with Progress(console=err, transient=True, disable=hub.config.json or len(rows) < 200) as progress:
        task = progress.add_task("importing", total=len(rows))
        for line, row in enumerate(rows, start=2):  # line 1 is the header
            progress.advance(task)
            try:
                natural_key, action, write = plan(line, row)
            except ValueError as exc:
                report.add(line, row.get(headers[0], ""), "rejected", str(exc))
                continue
            if write is None or dry_run:
                report.add(line, natural_key, action, "(dry run)" if dry_run and write else "")
                continue
            try:
                write()
                report.add(line, natural_key, action)
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


def show_report(hub: Client, report: Report, dry_run: bool) -> None:
    counts = report.counts()
    if hub.config.json:
        print_json(
            {
                "dry_run": dry_run,
                "counts": dict(counts),
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
        from datetime import date

        try:
            d = date.fromisoformat(row["founded_on"])
        except ValueError:
            raise ValueError(f"founded_on {row['founded_on']!r} is not a date like 2024-03-01") from None
        company.founded_on.year, company.founded_on.month, company.founded_on.day = d.year, d.month, d.day
    return company


def all_companies(hub: Client) -> Iterator[cpb.Company]:
    yield from hub.pages(hub.companies.ListCompanies, cpb.ListCompaniesRequest(page_size=500), "companies")


@import_app.command("companies")
def import_companies(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help=f"CSV with columns {', '.join(COMPANY_HEADERS)}")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would happen; write nothing")] = False,
    encoding: Annotated[str | None, typer.Option(help="utf-8, cp949, … (default: detected)")] = None,
) -> None:
    """Companies keyed by Korean name: new ones are registered, known ones updated where they differ."""
    hub: Client = ctx.obj
    rows = read_csv(file, encoding)
    existing = {key(c.korean_name): c for c in all_companies(hub)}
    seen: set[str] = set()
    fields = ["english_name", "sector", "stage", "tags", "website", "founded_on", "description"]

    def plan(line: int, row: dict[str, str]) -> tuple[str, str, Callable[[], Any] | None]:
        wanted = company_from_row(row)
        natural = key(wanted.korean_name)
        if natural in seen:
            raise ValueError(f"{wanted.korean_name} appears twice in the file")
        seen.add(natural)
        current = existing.get(natural)
        if current is None:
            request_id = "import-company-" + hashlib.sha256(natural.encode()).hexdigest()[:32]
            request = cpb.CreateCompanyRequest(company=wanted, request_id=request_id)
            return wanted.korean_name, "create", lambda: hub.send(hub.companies.CreateCompany, request)
        changed = [f for f in fields if f in row and row[f] != "" and getattr(wanted, f) != getattr(current, f)]
        if not changed:
            return wanted.korean_name, "unchanged", None
        wanted.name, wanted.etag = current.name, current.etag
        update = cpb.UpdateCompanyRequest(company=wanted, update_mask=FieldMask(paths=changed))
        return wanted.korean_name, "update", lambda: hub.send(hub.companies.UpdateCompany, update)

    show_report(hub, run_import(hub, rows, COMPANY_HEADERS, plan, dry_run), dry_run)


@import_app.command("people")
def import_people(
    ctx: typer.Context,
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help=f"CSV with columns {', '.join(PERSON_HEADERS)}")
    ],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would happen; write nothing")] = False,
    encoding: Annotated[str | None, typer.Option(help="utf-8, cp949, … (default: detected)")] = None,
) -> None:
    """People keyed by email (or Korean name and company); `company` is the company's Korean name or id."""
    hub: Client = ctx.obj
    rows = read_csv(file, encoding)
    companies = {key(c.korean_name): c.name for c in all_companies(hub)}
    people = list(hub.pages(hub.companies.ListPeople, cpb.ListPeopleRequest(page_size=500), "people"))
    existing = {(p.email or f"{key(p.korean_name)}|{p.company}"): p for p in people}
    fields = ["english_name", "role", "title", "phone"]

    def plan(line: int, row: dict[str, str]) -> tuple[str, str, Callable[[], Any] | None]:
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
        natural = wanted.email or f"{key(wanted.korean_name)}|{wanted.company}"
        current = existing.get(natural)
        label = wanted.email or wanted.korean_name
        if current is None:
            request_id = "import-person-" + hashlib.sha256(natural.encode()).hexdigest()[:32]
            request = cpb.CreatePersonRequest(person=wanted, request_id=request_id)
            return label, "create", lambda: hub.send(hub.companies.CreatePerson, request)
        changed = [f for f in fields if row.get(f) and getattr(wanted, f) != getattr(current, f)]
        if not changed:
            return label, "unchanged", None
        wanted.name, wanted.etag = current.name, current.etag
        update = cpb.UpdatePersonRequest(person=wanted, update_mask=FieldMask(paths=changed))
        return label, "update", lambda: hub.send(hub.companies.UpdatePerson, update)

    show_report(hub, run_import(hub, rows, PERSON_HEADERS, plan, dry_run), dry_run)


def export_rows(fmt: str, output: Path | None, headers: list[str], rows: Iterator[dict[str, Any]]) -> int:
    """Writes rows as they arrive (never the whole set in memory); returns how many."""
    if fmt not in ("csv", "json"):
        fail(f"--format must be csv or json, not {fmt!r}", 2)
    target = open(output, "w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="") if output else sys.stdout  # noqa: SIM115
    count = 0
    try:
        if fmt == "csv":
            writer = csv.DictWriter(target, fieldnames=headers, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow(row)
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
    return count


@export_app.command("companies")
def export_companies(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File (default: standard output)")] = None,
) -> None:
    """Every company (CSV columns match `hubctl import companies`)."""
    hub: Client = ctx.obj

    def rows() -> Iterator[dict[str, Any]]:
        for c in all_companies(hub):
            d = c.founded_on
            yield {
                "name": c.name,
                "korean_name": c.korean_name,
                "english_name": c.english_name,
                "sector": short(cpb.Sector, c.sector, "SECTOR").lower(),
                "stage": short(cpb.Stage, c.stage, "STAGE").lower(),
                "status": short(cpb.CompanyStatus, c.status, "COMPANY_STATUS").lower(),
                "tags": ";".join(c.tags) if fmt == "csv" else list(c.tags),
                "website": c.website,
                "founded_on": f"{d.year:04d}-{d.month:02d}-{d.day:02d}" if d.year else "",
                "description": c.description,
            }

    count = export_rows(fmt, output, ["name", "status", *COMPANY_HEADERS], rows())
    if output:
        err.print(f"wrote {count} companies to {output}")


@export_app.command("people")
def export_people(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="File (default: standard output)")] = None,
) -> None:
    """Every person (CSV columns match `hubctl import people`)."""
    hub: Client = ctx.obj

    def rows() -> Iterator[dict[str, Any]]:
        for p in hub.pages(hub.companies.ListPeople, cpb.ListPeopleRequest(page_size=500), "people"):
            row = as_dict(p)
            row["role"] = short(cpb.PersonRole, p.role, "PERSON_ROLE").lower()
            yield row

    count = export_rows(fmt, output, ["name", *PERSON_HEADERS], rows())
    if output:
        err.print(f"wrote {count} people to {output}")
