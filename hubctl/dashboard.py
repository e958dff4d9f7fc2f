"""`hubctl dashboard`: the hub's progress against its targets, composed from each service's own figures.

Each service answers one Get…Stats call; they are asked at once, and a service that doesn't answer is
named on the dashboard instead of failing it whole."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date
from typing import Any

import grpc
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as ppb
from hub.consulting.v1 import consulting_pb2 as spb
from hub.investors.v1 import investors_pb2 as ipb
from hub.notifications.v1 import notifications_pb2 as npb

from hubcore.convert import SEOUL, date_message, seoul_today
from hubcore.targets import DISCOVERED, TARGETS, TargetPeriod, pace, pace_ko
from hubctl.client import Client, print_json, print_table, short

KIND = "PROGRAM_KIND"


def companies_figures(hub: Client) -> dict[str, Any]:
    stats = hub.send(hub.companies.GetCompanyStats, cpb.GetCompanyStatsRequest())
    by_status = {c.key: c.count for c in stats.by_status}
    return {
        "firms_discovered": sum(by_status.get(s, 0) for s in DISCOVERED),
        "companies_by_status": by_status,
        "companies_by_sector": {c.key: c.count for c in stats.by_sector},
        "companies_total": stats.total,
    }


def program_figures(hub: Client) -> dict[str, Any]:
    """The program's figures; "firms" (the target of 50) is the firms grown by the service's growth rules."""
    stats = hub.send(hub.program.GetProgramStats, ppb.GetProgramStatsRequest())
    growth = hub.send(hub.program.GetGrowth, ppb.GetGrowthRequest())
    return {
        "firms": growth.firms_grown,
        "firms_grown": [
            {"company": f.company, "korean_name": f.korean_name, "reasons": list(f.reasons)} for f in growth.firms
        ],
        "growth_rules": list(growth.rules),
        "technical_consultations": stats.technical_consultations,
        "offices": stats.offices_taken,
        "offices_total": stats.offices_total,
        "desks": stats.desks_taken,
        "desks_total": stats.desks_total,
        "latest_round": stats.latest_round,
        "round_applications": stats.applications,
        "round_seats": stats.seats,
        "competition_ratio": stats.competition_ratio,
        "kpi_reporters": stats.kpi_reporters,
        "gpu_hours_used": stats.gpu_hours_used,
    }


def investors_figures(hub: Client) -> dict[str, Any]:
    stats = hub.send(hub.investors.GetInvestorStats, ipb.GetInvestorStatsRequest())
    return {
        "funding_year": stats.year,
        "funding_raised_krw": stats.funding_raised.units,
        "rounds_closed": stats.rounds_closed,
        "introductions_by_state": {c.key: c.count for c in stats.introductions_by_state},
        "firms_in_network": stats.firms,
    }


def consulting_figures(hub: Client) -> dict[str, Any]:
    """The program figures within the targets' period (hubcore.targets): experts trained, collaboration programs
    (with the programs behind the figure), participants per program and different people in all."""
    period = TargetPeriod.from_env()
    request = spb.GetConsultingStatsRequest(
        period_start=date_message(period.start), period_end=date_message(period.end)
    )
    stats = hub.send(hub.consulting.GetConsultingStats, request)
    return {
        "experts": stats.people_trained,
        "trained_min_classes": stats.trained_min_classes,
        "programs": stats.collaboration_programs_held,
        "collaboration_kinds": [
            spb.ProgramKind.Name(k).removeprefix("PROGRAM_KIND_") for k in stats.collaboration_kinds
        ],
        "collaboration_programs": [
            {
                "program": p.program,
                "display_name": p.display_name,
                "kind": short(spb.ProgramKind, p.kind, KIND),
                "start": p.start_time.ToDatetime(tzinfo=UTC).astimezone(SEOUL).date().isoformat(),
                "participants": p.participants,
            }
            for p in stats.collaboration_programs
        ],
        "programs_held_all_kinds": stats.programs_held,
        "participants": stats.participants,
        "distinct_participants": stats.distinct_participants,
        "sessions_by_type": {t.display_name: t.completed for t in stats.sessions_by_type},
        "action_items_open": stats.open_action_items,
        "action_items_overdue": stats.overdue_action_items,
        # Share of completed sessions the founder rated within 48 hours (target 80 %).
        "session_feedback": {
            "due": stats.feedback_due,
            "rated on time": stats.feedback_on_time,
            "percent": stats.feedback_completion_percent,
        },
    }


def notifications_figures(hub: Client) -> dict[str, Any]:
    stats = hub.send(hub.notifications.GetNotificationStats, npb.GetNotificationStatsRequest())
    return {
        "follow_ups": {
            "pending": stats.pending_follow_ups,
            "overdue": stats.overdue_follow_ups,
            "deliveries retrying": stats.retrying_deliveries,
            "deliveries failed": stats.failed_deliveries,
            "sent in the last 24 h": stats.sent_last_24h,
        }
    }


# service -> what it contributes; each service adds its own as it lands.
SOURCES: dict[str, Callable[[Client], dict[str, Any]]] = {
    "companies": companies_figures,
    "program": program_figures,
    "investors": investors_figures,
    "consulting": consulting_figures,
    "notifications": notifications_figures,
}


def gather(
    hub: Client, sources: dict[str, Callable[[Client], dict[str, Any]]] | None = None
) -> tuple[dict[str, Any], dict[str, str]]:
    """Asks every source at once (make bench passes echo calls in their place for its baseline)."""
    sources = SOURCES if sources is None else sources
    figures: dict[str, Any] = {}
    missing: dict[str, str] = {}
    with ThreadPoolExecutor(max_workers=len(sources)) as pool:
        futures = {name: pool.submit(source, hub) for name, source in sources.items()}
        for name, future in futures.items():
            try:
                figures |= future.result()
            except grpc.RpcError as error:
                missing[name] = f"{error.code().name}: {error.details()}"
    return figures, missing


TARGET_ROWS = [
    ("firms", "성장 기업 (firms grown)"), ("experts", "전문가 양성 (experts trained)"),
    ("programs", "협업 프로그램 (collaboration programs)"), ("participants", "참여자 (participants, per program)"),
]  # fmt: skip


def progress(figures: dict[str, Any], targets: dict[str, int], period: TargetPeriod, today: date) -> dict[str, Any]:
    """Each target's figure, goal, share and pace within the period on `today`."""
    shown: dict[str, Any] = {"period": {"start": period.start.isoformat(), "end": period.end.isoformat()}}
    for key, _ in TARGET_ROWS:
        value = figures.get(key)
        if value is not None:
            p = pace(value, targets[key], period, today)
            shown[key] = {
                "now": value, "goal": targets[key], "state": p.state, "per_month_needed": p.per_month,
                "expected_by_now": p.expected, "period_elapsed_percent": p.elapsed_percent, "pace": pace_ko(key, p),
            }  # fmt: skip
    return shown


def command(hub: Client) -> None:
    """목표 대비 진척, 입주율, 기업, 투자 유치, 상담, 투자 연결 (progress against the hub's targets, occupancy,
    companies, funding, sessions, introductions)."""
    targets = TARGETS | {k: int(v) for k, v in hub.config.targets.items()}
    period = TargetPeriod.from_env()
    figures, missing = gather(hub)
    paced = progress(figures, targets, period, seoul_today())
    if hub.config.json:
        print_json({"figures": figures, "targets": targets, "progress": paced, "not_answering": missing})
        return
    rows = []
    for key, label in TARGET_ROWS:
        value, at = figures.get(key), paced.get(key)
        share = f"{value / targets[key]:.0%}" if value is not None and targets[key] else ""
        rows.append((label, "—" if value is None else f"{value:,}", f"{targets[key]:,}", share,
                     "" if at is None else f"{at['expected_by_now']:,}", "" if at is None else at["pace"]))  # fmt: skip
    elapsed = round(100 * min(max((seoul_today() - period.start).days, 0), period.days) / period.days)
    print_table(
        f"목표 대비 실적 — 기간 {period.start} ~ {period.end} ({elapsed}% 경과; HUB_TARGETS_START/END)",
        ["목표", "실적", "목표치", "%", "계획상 지금", "필요 속도"],
        rows,
    )
    if "distinct_participants" in figures:
        print_table(
            "참여자 (기간 중)",
            ["프로그램별 참여자 합", "서로 다른 사람", "교육 수료 기준 (HUB_TRAINED_MIN_CLASSES)"],
            [(f"{figures['participants']:,}", f"{figures['distinct_participants']:,}",
              f"교육 프로그램 {figures['trained_min_classes']}회 이상 출석")],
        )  # fmt: skip
        kinds, every = ", ".join(figures["collaboration_kinds"]), figures["programs_held_all_kinds"]
        print_table(
            f"협업 프로그램 (종류: {kinds}; HUB_COLLABORATION_KINDS) — 기간 중 열린 프로그램 {every:,}개 중",
            ["프로그램", "이름", "종류", "시작", "참여자"],
            [(p["program"], p["display_name"], p["kind"], p["start"], p["participants"])
             for p in figures["collaboration_programs"]],
        )  # fmt: skip
    if "firms_grown" in figures:
        why = [(f["korean_name"], f["company"], "; ".join(f["reasons"])) for f in figures["firms_grown"]]
        rules = " | ".join(figures["growth_rules"]) or "no rule is on (HUB_GROWTH_*)"
        print_table(f"firms grown, and why (rules: {rules})", ["firm", "", "why"], why)
    if "firms_discovered" in figures:
        print_table("firms discovered (selected, resident or graduated)", ["count"], [(figures["firms_discovered"],)])
    if "companies_by_status" in figures:
        print_table("companies by status", ["status", "count"], sorted(figures["companies_by_status"].items()))
        print_table("companies by sector", ["sector", "count"], sorted(figures["companies_by_sector"].items()))
    if "offices" in figures:
        print_table(
            "occupancy today",
            ["space", "taken", "of", "goal"],
            [
                ("private offices", figures["offices"], figures["offices_total"], targets["offices"]),
                ("open desks", figures["desks"], figures["desks_total"], targets["desks"]),
            ],
        )
        if figures["latest_round"]:
            print_table(
                f"selection ({figures['latest_round']})",
                ["applications", "seats", "applicants per seat", "KPI reporters", "GPU hours used",
                 "1:1 technical consultations"],
                [
                    (
                        figures["round_applications"], figures["round_seats"], f"{figures['competition_ratio']:.2f}",
                        figures["kpi_reporters"], figures["gpu_hours_used"], figures["technical_consultations"],
                    )
                ],
            )  # fmt: skip
    if "funding_raised_krw" in figures:
        from hubctl.args import krw

        print_table(
            f"funding ({figures['funding_year']})",
            ["rounds closed", "raised", "firms in the network"],
            [(figures["rounds_closed"], krw(figures["funding_raised_krw"]), figures["firms_in_network"])],
        )
        print_table("introductions by stage", ["stage", "count"], sorted(figures["introductions_by_state"].items()))
    if "sessions_by_type" in figures:
        print_table("sessions held by type", ["type", "completed"], sorted(figures["sessions_by_type"].items()))
        overdue = (figures["action_items_open"], figures["action_items_overdue"])
        print_table("action items", ["open", "overdue"], [overdue])
        rated = figures["session_feedback"]
        print_table("session feedback within 48 h (target 80 %)", ["due", "rated on time", "%"],
                    [(rated["due"], rated["rated on time"], f"{rated['percent']:.0f}")])  # fmt: skip
    if "follow_ups" in figures:
        print_table("follow-ups", ["", "count"], list(figures["follow_ups"].items()))
    if missing:
        print_table("not answering", ["service", "error"], sorted(missing.items()))
