"""`hubctl dashboard`: the hub's progress against its targets, composed from each service's own figures.

Each service answers one Get…Stats call; they are asked at once, and a service that doesn't answer is
named on the dashboard instead of failing it whole."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
from hub.companies.v1 import companies_pb2 as cpb
from hub.companies.v1 import program_pb2 as ppb
from hub.consulting.v1 import consulting_pb2 as spb
from hub.investors.v1 import investors_pb2 as ipb
from hub.notifications.v1 import notifications_pb2 as npb

from hubcore.targets import DISCOVERED, TARGETS
from hubctl.client import Client, print_json, print_table


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
    stats = hub.send(hub.consulting.GetConsultingStats, spb.GetConsultingStatsRequest())
    return {
        "experts": stats.people_trained,
        "programs": stats.programs_held,
        "participants": stats.participants,
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


def command(hub: Client) -> None:
    """Progress against the hub's targets, occupancy, companies, funding, sessions, introductions."""
    targets = TARGETS | {k: int(v) for k, v in hub.config.targets.items()}
    figures, missing = gather(hub)
    if hub.config.json:
        print_json({"figures": figures, "targets": targets, "not_answering": missing})
        return
    rows = []
    for key, label in [
        ("firms", "firms discovered and grown"), ("experts", "experts trained"),
        ("programs", "collaboration programs"), ("participants", "participants"),
    ]:  # fmt: skip
        value = figures.get(key)
        share = f"{value / targets[key]:.0%}" if value is not None and targets[key] else ""
        rows.append((label, "—" if value is None else f"{value:,}", f"{targets[key]:,}", share))
    print_table("progress against the hub's targets", ["target", "now", "goal", "%"], rows)
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
