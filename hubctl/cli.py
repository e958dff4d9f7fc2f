"""hubctl commands, grouped by resource. `hubctl --help` lists them; every command takes --json."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import grpc
import typer
from google.protobuf import field_mask_pb2
from google.type import date_pb2
from hub.companies.v1 import companies_pb2 as cpb
from hub.ops.v1 import ops_pb2
from typer.core import TyperGroup

from hubctl import (
    args,
    backup,
    consulting,
    dashboard,
    followups,
    gpu,
    identities,
    investors,
    keys,
    kpi_requests,
    mentors,
    playbooks,
    privacy,
    program,
    recipients,
    report,
    reviewers,  # noqa: F401  (adds `selection reviewers`, `assign`, `assignments` and `score` to `selection`)
    rooms,
    sharing,
    tokens,
    transfer,
    webhooks,
)
from hubctl.client import (
    EXIT_HELP,
    AllOption,
    Client,
    Commands,
    Config,
    as_dict,
    enum_number,
    note_cut_short,
    print_table,
    short,
    when,
)


class GlobalSwitchesAnywhere(TyperGroup):
    """`hubctl companies list --json` as well as `hubctl --json companies list`: the switch is the whole
    program's, so it may follow the command too (moved to the front before parsing; not after `--`)."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        end = args.index("--") if "--" in args else len(args)
        if "--json" in args[:end]:
            args = ["--json", *(a for i, a in enumerate(args) if not (i < end and a == "--json"))]
        return super().parse_args(ctx, args)

    def invoke(self, ctx: Any) -> Any:
        result = super().invoke(ctx)
        if isinstance(ctx.obj, Client):  # after any command: a list cut at its limit says so
            note_cut_short(ctx.obj)
        return result


app = Commands(
    cls=GlobalSwitchesAnywhere,
    help="허브 CRM 프로그램 매니저용 관리 도구 (Hub CRM admin client for program managers). " + EXIT_HELP,
    no_args_is_help=True,
    rich_markup_mode="rich",
)
companies_app = Commands(
    help=(
        "입주·지원 기업: 목록, 조회, 등록, 수정, 단계 이동, 보관 (startups: list, show, add, edit, move along "
        "their lifecycle, archive)."
    )
)
people_app = Commands(help="창업자, 직원, 개인 입주자 (founders, staff and individual residents).")
ops_app = Commands(help="이벤트 기반: dead letter, 발행 대기 (the event backbone: dead letters, outbox backlog).")
app.add_typer(companies_app, name="companies")
app.add_typer(people_app, name="people")
app.add_typer(ops_app, name="ops")
app.add_typer(investors.investors_app, name="investors")
app.add_typer(investors.intros_app, name="intros")
app.add_typer(investors.rounds_app, name="rounds")
investors.investors_app.add_typer(keys.keys_app, name="keys")
app.add_typer(tokens.tokens_app, name="tokens")
app.add_typer(identities.identities_app, name="identities")
app.add_typer(investors.audit_app, name="audit")
app.add_typer(sharing.sharing_app, name="sharing")
app.add_typer(mentors.mentors_app, name="mentors")
app.add_typer(consulting.sessions_app, name="sessions")
app.add_typer(consulting.actions_app, name="actions")
app.add_typer(consulting.programs_app, name="programs")
app.add_typer(rooms.rooms_app, name="rooms")
app.add_typer(rooms.session_types_app, name="session-types")
app.add_typer(gpu.gpu_app, name="gpu")
app.add_typer(program.selection_app, name="selection")
app.add_typer(program.spaces_app, name="spaces")
app.add_typer(program.kpi_app, name="kpi")  # with kpi_requests' schedule, schedules and requests
assert kpi_requests.kpi_app is program.kpi_app
app.add_typer(program.support_app, name="support")
app.add_typer(program.milestones_app, name="milestones")
app.add_typer(followups.followups_app, name="followups")
app.add_typer(recipients.recipients_app, name="recipients")
app.add_typer(recipients.preferences_app, name="preferences")
app.add_typer(playbooks.playbook_app, name="playbook")
app.add_typer(transfer.import_app, name="import")
app.add_typer(transfer.export_app, name="export")
app.add_typer(backup.backup_app, name="backup")
app.add_typer(privacy.privacy_app, name="privacy")
app.add_typer(webhooks.webhooks_app, name="webhooks")


@app.callback()
def main(
    ctx: typer.Context,
    token: Annotated[
        str | None, typer.Option(help="Bearer token (default: HUB_TOKEN, config file, dev token)", show_default=False)
    ] = None,
    tz: Annotated[str | None, typer.Option(help="Time zone for times shown (default Asia/Seoul)")] = None,
    json: Annotated[bool, typer.Option("--json", help="JSON output for scripts")] = False,
    config: Annotated[Path | None, typer.Option(help="Config file (default ~/.config/hubctl/config.toml)")] = None,
) -> None:
    ctx.obj = Client(Config.load(token=token, tz=tz, as_json=json, config_file=config))


PersonArgument = Annotated[str, typer.Argument(help="7 or people/7")]


def company_name(text: str) -> str:
    return args.name("companies", text)


def person_name(text: str) -> str:
    return args.name("people", text)


def founding_day(text: str) -> date_pb2.Date:
    return args.day(text, "--founded", example="2024-03-01")


def company_row(c: cpb.Company, tz: str) -> list[str]:
    return [
        c.name.removeprefix("companies/"),
        c.korean_name,
        c.english_name,
        short(cpb.Sector, c.sector, "SECTOR").lower(),
        short(cpb.Stage, c.stage, "STAGE").lower(),
        short(cpb.CompanyStatus, c.status, "COMPANY_STATUS").lower() + (" (archived)" if c.delete_time.seconds else ""),
        ", ".join(c.tags),
        when(c.create_time, tz),
    ]


COMPANY_COLUMNS = [
    "id",
    "이름 name",
    "영문 English",
    "분야 sector",
    "단계 stage",
    "상태 status",
    "태그 tags",
    "등록 registered",
]


def show_companies(hub: Client, title: str, companies: list[cpb.Company]) -> None:
    hub.show(companies, title, COMPANY_COLUMNS, (company_row(c, hub.config.tz) for c in companies))


# companies


@companies_app.command("list")
def companies_list(
    hub: Client,
    status: Annotated[
        list[str] | None, typer.Option(help="applicant, selected, resident, graduated, withdrawn")
    ] = None,
    sector: Annotated[list[str] | None, typer.Option(help="medical, education, manufacturing, …")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Companies with this tag (repeat for all of several)")] = None,
    query: Annotated[str, typer.Option("--query", "-q", help="Text in the Korean or English name or tags")] = "",
    order_by: Annotated[str, typer.Option(help="create_time, update_time, korean_name, english_name [desc]")] = "",
    limit: Annotated[int, typer.Option(help="At most this many (0: all)")] = 100,
    archived: Annotated[bool, typer.Option("--archived", help="Include archived companies")] = False,
    all_: AllOption = False,
) -> None:
    """기업 목록, 등록 순 (list companies, newest registrations last)."""
    terms = args.where(status=status, sector=sector, tag=[args.quoted(t) for t in tag or []])
    request = cpb.ListCompaniesRequest(
        filter=terms, query=query, order_by=order_by, show_deleted=archived, page_size=200
    )
    found = list(hub.pages(hub.companies.ListCompanies, request, "companies", 0 if all_ else limit))
    show_companies(hub, f"companies ({len(found)})", found)


@companies_app.command("show")
def companies_show(hub: Client, name: args.CompanyArgument) -> None:
    """기업 하나와 그 사람들 (one company, with its people)."""
    company = hub.call(hub.companies.GetCompany, cpb.GetCompanyRequest(name=company_name(name)))
    people = list(
        hub.pages(hub.companies.ListPeople, cpb.ListPeopleRequest(filter=f"company={company.name}"), "people")
    )
    if hub.printed_json({"company": as_dict(company), "people": [as_dict(p) for p in people]}):
        return
    fields = dict(zip(COMPANY_COLUMNS, company_row(company, hub.config.tz), strict=True))
    fields |= {"website": company.website, "founded": args.iso(company.founded_on), "etag": company.etag}
    fields["description"] = company.description
    print_table(company.name, ["항목 field", "값 value"], fields.items())
    if people:
        print_table("people", PERSON_COLUMNS, (person_row(p) for p in people))


@companies_app.command("add")
def companies_add(
    hub: Client,
    korean_name: args.KoreanNameOption,
    sector: Annotated[str, typer.Option(help="medical, education, manufacturing, …")],
    english_name: Annotated[str, typer.Option("--en", help="Latin name")] = "",
    stage: Annotated[str, typer.Option(help="idea, pre_seed, seed, pre_a, series_a, …")] = "",
    tag: Annotated[list[str] | None, typer.Option(help="A tag (repeatable)")] = None,
    website: str = "",
    founded: Annotated[str, typer.Option(help="Founding date, YYYY-MM-DD")] = "",
    description: str = "",
    request_id: Annotated[str, typer.Option(help="Retry-safe id: the same id never creates twice")] = "",
) -> None:
    """기업을 지원 기업으로 등록합니다 (register a company (as an applicant))."""
    company = cpb.Company(
        korean_name=korean_name,
        english_name=english_name,
        sector=enum_number(cpb.Sector, "SECTOR", sector, "sector"),  # type: ignore[arg-type]
        stage=enum_number(cpb.Stage, "STAGE", stage, "stage") if stage else 0,  # type: ignore[arg-type]
        tags=tag or [],
        website=website,
        description=description,
    )
    if founded:
        company.founded_on.CopyFrom(founding_day(founded))
    made = hub.call(
        hub.companies.CreateCompany, cpb.CreateCompanyRequest(company=company, request_id=args.retry_safe(request_id))
    )
    show_companies(hub, f"registered {made.name}", [made])


@companies_app.command("edit")
def companies_edit(
    hub: Client,
    name: args.CompanyArgument,
    korean_name: args.KoreanNameEdit = None,
    english_name: args.EnglishNameEdit = None,
    sector: str | None = None,
    stage: str | None = None,
    tag: Annotated[list[str] | None, typer.Option(help="Replaces all tags (repeatable)")] = None,
    website: str | None = None,
    founded: str | None = None,
    description: str | None = None,
    etag: args.EtagOption = "",
) -> None:
    """주어진 항목만 바꿉니다; 그 사이 누가 바꿨으면 거절됩니다 (change the fields given, and nothing else;
    refuses if someone changed the company meanwhile)."""
    updated = args.saved_edit(
        hub, hub.companies.GetCompany, cpb.GetCompanyRequest(name=company_name(name)), hub.companies.UpdateCompany,
        cpb.UpdateCompanyRequest, "--en 'MediVision'", etag,
        korean_name=korean_name, english_name=english_name, website=website, description=description,
        sector=None if sector is None else enum_number(cpb.Sector, "SECTOR", sector, "sector"),
        stage=None if stage is None else enum_number(cpb.Stage, "STAGE", stage, "stage"),
        tags=tag, founded_on=None if founded is None else founding_day(founded),
    )  # fmt: skip
    show_companies(hub, f"updated {updated.name}", [updated])


@companies_app.command("transition")
def companies_transition(
    hub: Client,
    name: args.CompanyArgument,
    status: Annotated[str, typer.Argument(help="selected, resident, graduated or withdrawn")],
    reason: args.ReasonOption = "",
) -> None:
    """기업의 단계를 옮깁니다: 지원 → 선발 → 입주 → 졸업 (또는 철회) (move a company along applicant → selected →
    resident → graduated (or withdrawn))."""
    number = enum_number(cpb.CompanyStatus, "COMPANY_STATUS", status, "status")
    moved = hub.call(
        hub.companies.ChangeCompanyStatus,
        cpb.ChangeCompanyStatusRequest(name=company_name(name), status=number, reason=reason),  # type: ignore[arg-type]
    )
    show_companies(hub, f"{moved.name} is now {status.lower()}", [moved])


@companies_app.command("close")
def companies_close(
    hub: Client,
    name: args.CompanyArgument,
    on: Annotated[str, typer.Option(help="폐업일 YYYY-MM-DD (the day it ceased business)")],
    reason: Annotated[str, typer.Option(help="이미 기록된 폐업일을 고칠 때 필수 (why, when correcting it)")] = "",
) -> None:
    """기업의 폐업일을 기록합니다; 이후 KPI 요청이 나가지 않고 생존율에 반영됩니다 (record that a company closed)."""
    request = cpb.CloseCompanyRequest(name=company_name(name), close_date=args.day(on, "--on"), reason=reason)
    closed = hub.call(hub.companies.CloseCompany, request)
    hub.say(closed, f"{closed.korean_name} ({closed.name}) 폐업일 기록 (closed on) {args.iso(closed.close_date)}")


@companies_app.command("consent")
def companies_consent(
    hub: Client,
    name: args.CompanyArgument,
    withdraw: Annotated[bool, typer.Option("--withdraw", help="동의 철회 (the company no longer agrees)")] = False,
) -> None:
    """졸업 후(또는 미선정 후)에도 KPI를 보고하기로 한 동의를 기록합니다 (record the company's consent to keep
    reporting: graduates and the control group get a yearly request while it holds)."""
    company = cpb.Company(name=company_name(name), reporting_consent=not withdraw)
    request = cpb.UpdateCompanyRequest(
        company=company, update_mask=field_mask_pb2.FieldMask(paths=["reporting_consent"])
    )
    updated = hub.call(hub.companies.UpdateCompany, request)
    said = "보고 동의함 (consents to report)" if updated.reporting_consent else "보고 동의 없음 (no consent)"
    hub.say(updated, f"{updated.korean_name} ({updated.name}): {said}")


@companies_app.command("archive")
def companies_archive(
    hub: Client,
    name: args.CompanyArgument,
    yes: args.YesOption = False,
) -> None:
    """기업을 보관합니다: 읽을 수 있지만 목록과 집계에서 빠집니다 (archive a company (it stays readable, and
    leaves lists and figures))."""
    if not yes and not typer.confirm(f"Archive {company_name(name)}?"):
        raise typer.Exit(1)
    archived = hub.call(hub.companies.DeleteCompany, cpb.DeleteCompanyRequest(name=company_name(name)))
    show_companies(hub, f"archived {archived.name}", [archived])


# people

PERSON_COLUMNS = [
    "id",
    "이름 name",
    "영문 English",
    "기업 company",
    "역할 role",
    "직함 title",
    "이메일 email",
    "전화 phone",
]


def person_row(p: cpb.Person) -> list[str]:
    return [
        p.name.removeprefix("people/"),
        p.korean_name,
        p.english_name,
        p.company.removeprefix("companies/"),
        short(cpb.PersonRole, p.role, "PERSON_ROLE").lower(),
        p.title,
        p.email,
        p.phone,
    ]


def show_people(hub: Client, title: str, people: list[cpb.Person]) -> None:
    hub.show(people, title, PERSON_COLUMNS, (person_row(p) for p in people))


@people_app.command("list")
def people_list(
    hub: Client,
    company: Annotated[str, typer.Option(help="Only this company's people (42 or companies/42)")] = "",
    role: Annotated[str, typer.Option(help="founder, staff or individual")] = "",
    query: Annotated[str, typer.Option("--query", "-q", help="Text in names or email")] = "",
    limit: Annotated[int, typer.Option(help="At most this many (0: all)")] = 100,
    all_: AllOption = False,
) -> None:
    """사람 목록 (list people)."""
    terms = args.where(company=args.name_if_given("companies", company), role=role)
    request = cpb.ListPeopleRequest(filter=terms, query=query, page_size=200)
    found = list(hub.pages(hub.companies.ListPeople, request, "people", 0 if all_ else limit))
    show_people(hub, f"people ({len(found)})", found)


@people_app.command("show")
def people_show(hub: Client, name: PersonArgument) -> None:
    """사람 한 명 (one person)."""
    show_people(
        hub, person_name(name), [hub.call(hub.companies.GetPerson, cpb.GetPersonRequest(name=person_name(name)))]
    )


@people_app.command("add")
def people_add(
    hub: Client,
    korean_name: args.KoreanNameOption,
    role: Annotated[str, typer.Option(help="founder, staff or individual")],
    company: Annotated[str, typer.Option(help="42 or companies/42 (not for individuals)")] = "",
    english_name: args.EnglishNameOption = "",
    title: str = "",
    email: str = "",
    phone: Annotated[str, typer.Option(help="E.164, e.g. +821012345678")] = "",
    request_id: args.RequestIdOption = "",
) -> None:
    """사람을 등록합니다 (add a person)."""
    person = cpb.Person(
        korean_name=korean_name,
        english_name=english_name,
        company=args.name_if_given("companies", company),
        role=enum_number(cpb.PersonRole, "PERSON_ROLE", role, "role"),  # type: ignore[arg-type]
        title=title,
        email=email,
        phone=phone,
    )
    made = hub.call(
        hub.companies.CreatePerson, cpb.CreatePersonRequest(person=person, request_id=args.retry_safe(request_id))
    )
    show_people(hub, f"added {made.name}", [made])


@people_app.command("edit")
def people_edit(
    hub: Client,
    name: PersonArgument,
    korean_name: args.KoreanNameEdit = None,
    english_name: args.EnglishNameEdit = None,
    company: str | None = None,
    role: str | None = None,
    title: str | None = None,
    email: args.EmailEdit = None,
    phone: str | None = None,
    etag: args.EtagOption = "",
) -> None:
    """주어진 항목만 바꿉니다; 그 사이 누가 바꿨으면 거절됩니다 (change the fields given, and nothing else; refused
    if someone changed the person meanwhile)."""
    updated = args.saved_edit(
        hub, hub.companies.GetPerson, cpb.GetPersonRequest(name=person_name(name)), hub.companies.UpdatePerson,
        cpb.UpdatePersonRequest, "--title CTO", etag,
        korean_name=korean_name, english_name=english_name, title=title, email=email, phone=phone,
        company=None if company is None else args.name_if_given("companies", company),
        role=None if role is None else enum_number(cpb.PersonRole, "PERSON_ROLE", role, "role"),
    )  # fmt: skip
    show_people(hub, f"updated {updated.name}", [updated])


@people_app.command("remove")
def people_remove(
    hub: Client,
    name: PersonArgument,
    yes: args.YesOption = False,
) -> None:
    """사람과 그 개인정보를 지웁니다 (remove a person and their personal data)."""
    if not yes and not typer.confirm(f"Remove {person_name(name)} and their personal data?"):
        raise typer.Exit(1)
    hub.call(hub.companies.DeletePerson, cpb.DeletePersonRequest(name=person_name(name)))
    hub.say({"removed": person_name(name)}, f"removed {person_name(name)}")


# operations


ServiceOption = Annotated[str, typer.Option(help="어느 서비스의 소비자 (which service's consumers)")]
DeadLetterArgument = Annotated[str, typer.Argument(metavar="DEAD_LETTER", help="deadLetters/3")]


@ops_app.command("dead-letters")
def ops_dead_letters(
    hub: Client,
    service: ServiceOption = "companies",
    resolved: Annotated[bool, typer.Option("--resolved", help="다시 적용한 것도 (include replayed ones)")] = False,
) -> None:
    """소비자가 처리를 포기한 이벤트 (dead letters) (events a consumer gave up on)."""
    stub = hub.ops(service)
    found = list(
        hub.pages(stub.ListDeadLetters, ops_pb2.ListDeadLettersRequest(show_resolved=resolved), "dead_letters")
    )
    if hub.printed_json(found):
        return
    rows = [
        (d.name, d.consumer, d.event_type, d.deliveries, when(d.create_time, hub.config.tz), d.error[:60])
        for d in found
    ]
    print_table(
        f"{service}: dead letters ({len(found)})",
        ["이름 name", "소비자 consumer", "이벤트 event", "시도 tries", "시각 at", "오류 error"],
        rows,
    )


@ops_app.command("replay")
def ops_replay(hub: Client, name: DeadLetterArgument, service: ServiceOption = "companies") -> None:
    """원인을 고친 뒤 dead letter의 이벤트를 다시 적용합니다 (apply a dead letter's event again, once its cause is
    fixed)."""
    done = hub.call(hub.ops(service).ReplayDeadLetter, ops_pb2.ReplayDeadLetterRequest(name=name))
    hub.say(done, f"replayed {done.name} ({done.event_type})")


@ops_app.command("outbox")
def ops_outbox(hub: Client) -> None:
    """서비스별 발행 대기 이벤트 (events waiting to be published, per service)."""
    rows = []
    for service in hub.config.addresses:
        try:
            status = hub.send(hub.ops(service).GetOutboxStatus, ops_pb2.GetOutboxStatusRequest())
        except grpc.RpcError as error:
            rows.append((service, "", "", f"not answering ({error.code().name})"))
            continue
        rows.append(
            (service, status.unpublished, status.published, when(status.oldest_unpublished_time, hub.config.tz))
        )
    hub.show(
        [dict(zip(["service", "unpublished", "published", "oldest"], r, strict=True)) for r in rows],
        "outbox",
        ["서비스 service", "대기 unpublished", "발행 published", "가장 오래된 대기 oldest"],
        rows,
    )


app.command("dashboard")(dashboard.command)
app.command("report")(report.command)
app.command("growth")(program.growth_command)
