"""Import from CSV (dry run, per-row report, idempotent re-runs) and export to CSV or JSON (all pages).

Korean Excel writes CSV as UTF-8 with a BOM or as CP949: both are read; exports are UTF-8 with a BOM so
Excel opens them with Hangul intact. Every text cell goes through spreadsheet_cell, so a name like
`=HYPERLINK(…)` is text in Excel, not a formula; import takes the added quote off again. What a sheet's rows
mean (columns, keys, the plan of each row, safe cells) is hubcore.sheets', shared with the console; here, the
terminal's side: files, saved column maps, the progress bar, the report and exit codes."""

from __future__ import annotations

import csv
import json
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import grpc
import typer
from hub.companies.v1 import companies_pb2 as cpb
from rich.progress import Progress

from hubcore import sheets
from hubcore.sheets import (  # noqa: F401 (spreadsheet_cell and from_spreadsheet_cell: hubctl's names for them too)
    COMPANY_HEADERS,
    PERSON_HEADERS,
    Sheet,
    Step,
    from_spreadsheet_cell,
    spreadsheet_cell,
)
from hubcore.text import decode_spreadsheet
from hubctl import columns, registrations
from hubctl.client import Client, Commands, as_dict, err, explain, fail, print_json, print_table, short

import_app = Commands(help="파일에서 가져오기 (create or update records from a CSV file; --dry-run: a preview).")
export_app = Commands(help="모든 기록 내보내기 (write every record, through all pages, as CSV or JSON).")


def read_sheet(path: Path, encoding: str | None, kind: str, mapping: str, hub: Client) -> Sheet:
    """The file's own headers, matched to fields by --map (saved for next time), the saved maps and the
    synonyms; the columns matched to nothing are named, not silently dropped."""
    text = decode_spreadsheet(path.read_bytes(), encoding)
    if text is None:
        fail(f"{path}: neither UTF-8 nor CP949; give --encoding", 3)
    given = columns.parse_map(mapping, kind) if mapping else {}
    try:
        sheet = sheets.read_sheet(text, kind, columns.saved_map(kind) | given)
    except sheets.SheetError as error:
        if error.what == "twins":
            twin, header = error.headers
            fail(f"columns {twin!r} and {header!r} are both {error.field}; say which with --map {header}=-", 3)
        example = "기업명" if kind == "companies" else "성명"
        fail(
            f"no column for korean_name among: {', '.join(error.headers) or '(no header row)'}; "
            f"name it with --map '{example}=korean_name'",
            3,
        )
    if given:
        saved = columns.save_map(kind, given)
        if not hub.config.json:
            err.print(f"열 매핑 저장 (column map saved for the next import): {saved}", highlight=False)
    if sheet.ignored and not hub.config.json:
        err.print(f"[yellow]무시하는 열 (ignored columns):[/yellow] {', '.join(sheet.ignored)}", highlight=False)
    return sheet


@dataclass
class Report:
    rows: list[tuple[int, str, str, str]] = field(default_factory=list)  # line, key, action, detail
    suspects: list[tuple[int, str, str, str]] = field(default_factory=list)  # line, name, who it may be, why

    def add(self, line: int, natural_key: str, action: str, detail: str = "") -> None:
        self.rows.append((line, natural_key, action, detail))

    def counts(self) -> Counter[str]:
        return Counter(action for _, _, action, _ in self.rows)


def write(hub: Client, step: Step) -> None:
    """A step's write (CreateCompany for a CreateCompanyRequest, …), then a company's founder."""
    made = hub.send(getattr(hub.companies, type(step.request).__name__.removesuffix("Request")), step.request)
    if step.founder:
        company = step.founder.company or made.name
        hub.send(hub.companies.CreatePerson, sheets.founder_request(step.founder, company))


def run_import(hub: Client, steps: list[Step], dry_run: bool) -> Report:
    """Each row's step, written in order (not in a dry run); a refused write is that row's rejection."""
    report = Report()
    with Progress(console=err, transient=True, disable=hub.config.json or len(steps) < 200) as progress:
        task = progress.add_task("importing", total=len(steps))
        for step in steps:
            progress.advance(task)
            if not step.writes or dry_run:
                dry = "(dry run)" if step.writes else ""
                report.add(step.line, step.key, step.action, " ".join(filter(None, [step.detail, dry])))
                continue
            try:
                write(hub, step)
                report.add(step.line, step.key, step.action, step.detail)
            except grpc.RpcError as error:
                code = error.code()
                if code in (
                    grpc.StatusCode.UNAVAILABLE,
                    grpc.StatusCode.UNAUTHENTICATED,
                    grpc.StatusCode.PERMISSION_DENIED,
                ):
                    explain(error)  # nothing more will work: stop here, re-running is safe
                report.add(step.line, step.key, "rejected", error.details() or code.name)
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
                "suspected_duplicates": [
                    {"line": ln, "name": n, "may_be": m, "reason": r} for ln, n, m, r in report.suspects
                ],
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
        if report.suspects:
            print_table("중복 의심: 확인해 주세요 (suspected duplicates, for you to check)",
                        ["line", "name", "may be", "why"], report.suspects)  # fmt: skip
        summary = ", ".join(f"{n} {a}" for a, n in sorted(counts.items())) or "no rows"
        typer.echo(("would be: " if dry_run else "") + summary)
    if counts.get("rejected"):
        raise SystemExit(3)


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
    """기업 가져오기 (import companies): keyed by Korean name; new ones are registered, known ones updated
    where they differ.

    A founder (대표자) and email column become the company's person (role founder), keyed by email."""
    sheet = read_sheet(file, encoding, "companies", mapping, hub)
    people = all_people(hub) if sheet.with_founders else []
    steps = sheets.plan_companies(sheet.rows, all_companies(hub), people)
    show_report(hub, run_import(hub, steps, dry_run), dry_run, sheet)


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
    """사람 가져오기 (import people): keyed by email (or Korean name and company); `company` is the company's
    Korean name or id."""
    sheet = read_sheet(file, encoding, "people", mapping, hub)
    steps = sheets.plan_people(sheet.rows, all_companies(hub), all_people(hub))
    show_report(hub, run_import(hub, steps, dry_run), dry_run, sheet)


SHEET_HELP = "CSV (UTF-8 or CP949) with columns 이름/name and any of 이메일, 전화, 소속 (a hub company)"
ENCODING_HELP = "utf-8, cp949, euc-kr, … (default: detected)"


@import_app.command("registrations")
def import_registrations(
    hub: Client,
    program: registrations.ProgramArgument,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=SHEET_HELP)],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would happen; write nothing")] = False,
    encoding: Annotated[str | None, typer.Option(help=ENCODING_HELP)] = None,
    mapping: Annotated[str, typer.Option("--map", help="Your headers: 성명=korean_name,소속=company,비고=-")] = "",
) -> None:
    """신청자 명단 가져오기 (register a sheet's people for a program), each once: a row of someone registered already
    (same email; same name and phone; same name and company without an email) is not registered again, and
    rows that may be the same person are listed for you to check. Re-running the file changes nothing."""
    target = registrations.program_name(program)
    sheet = read_sheet(file, encoding, "registrations", mapping, hub)
    rows = registrations.sheet_rows(hub, target, sheet, attendance=False)
    report = Report()
    for d in _registered(hub, target, rows, dry_run, report):
        action, detail = registrations.registration_action(d)
        report.add(d.row.line, d.row.name, action, " ".join(filter(None, [detail, d.row.note])))
    show_report(hub, report, dry_run, sheet)


@import_app.command("attendance")
def import_attendance(
    hub: Client,
    program: registrations.ProgramArgument,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=SHEET_HELP + ", 참석 (O/X)")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Report what would happen; write nothing")] = False,
    encoding: Annotated[str | None, typer.Option(help=ENCODING_HELP)] = None,
    mapping: Annotated[str, typer.Option("--map", help="Your headers: 성명=korean_name,출석체크=attended,비고=-")] = "",
) -> None:
    """출석부 가져오기 (record who came to a program that has begun): each row's person is found among its registrations
    by the same rules as `import registrations` (one who did not register is registered first), then marked
    attended or absent by the 참석 column (O/X, Y/N, 참석/불참; a blank cell marks nothing; without the column,
    everyone listed came). Only marks that change something are sent: a re-run changes nothing."""
    target = registrations.program_name(program)
    registrations.begun(hub, target)
    sheet = read_sheet(file, encoding, "registrations", mapping, hub)
    rows = registrations.sheet_rows(hub, target, sheet, attendance=True)
    report = Report()
    done = _registered(hub, target, rows, dry_run, report)
    marks = registrations.changed_marks(done)
    if marks and not dry_run:
        registrations.record_marks(hub, target, marks)
    for d, (action, detail) in zip(done, registrations.attendance_actions(done, marks), strict=True):
        report.add(d.row.line, d.row.name, action, " ".join(filter(None, [detail, d.row.note])))
    show_report(hub, report, dry_run, sheet)


def _registered(
    hub: Client, program: str, rows: list[registrations.Row], dry_run: bool, report: Report
) -> list[registrations.Done]:
    """The rows registered (or found registered), those refused before sending reported as rejected, and the
    suspected duplicates noted."""
    for row in rows:
        if row.request is None:
            report.add(row.line, row.name, "rejected", row.problem)
    done = registrations.register_rows(hub, program, rows, dry_run)
    for d in done:
        report.suspects += [(d.row.line, d.row.name, who, why) for who, why in d.suspects]
    return done


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
    """모든 기업 내보내기 (every company; CSV columns match `hubctl import companies`)."""
    rows = (sheets.company_row(c, listed_tags=fmt != "csv") for c in all_companies(hub))
    export("companies", fmt, output, sheets.COMPANY_EXPORT, rows)


@export_app.command("people")
def export_people(hub: Client, fmt: FormatOption = "csv", output: OutputOption = None) -> None:
    """모든 사람 내보내기 (every person; CSV columns match `hubctl import people`)."""

    def rows() -> Iterator[dict[str, Any]]:
        for p in hub.pages(hub.companies.ListPeople, cpb.ListPeopleRequest(page_size=500), "people"):
            row = as_dict(p)
            row["role"] = short(cpb.PersonRole, p.role, "PERSON_ROLE").lower()
            yield row

    export("people", fmt, output, sheets.PERSON_EXPORT, rows())
