"""What every case of `make bench` records, and how it is summarized."""

from __future__ import annotations

from dataclasses import dataclass, field


class Failed(Exception):
    """A call that answered but not as it must (the dashboard naming a service that did not answer)."""


@dataclass
class Result:
    method: str
    in_flight: int
    calls: int
    errors: int
    seconds: float
    calls_per_s: float
    p50_ms: float | None
    p99_ms: float | None
    baseline: str = "echo"  # the case of the same run this one is compared with, at the same in-flight
    vs_baseline: float | None = None  # calls/s as a fraction of the baseline's
    # Further baselines of the same run (the database read for a read RPC, NATS for an event's latency):
    # what is compared is named in `compare` ("calls/s" or "p50 latency") and the ratios land in `vs`.
    also: list[str] = field(default_factory=list)
    compare: str = "calls/s"
    vs: dict[str, float] = field(default_factory=dict)
    offered_per_s: float | None = None  # open-loop cases: the rate offered (calls_per_s is what was achieved)
    note: str = ""


def percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(fraction * len(sorted_values)))]


def summarize(
    name: str, in_flight: int, latencies: list[float], errors: int, elapsed: float, baseline: str = "echo"
) -> Result:
    latencies = sorted(latencies)
    return Result(
        method=name,
        in_flight=in_flight,
        calls=len(latencies),
        errors=errors,
        seconds=round(elapsed, 3),
        calls_per_s=round(len(latencies) / elapsed, 1),
        p50_ms=round(percentile(latencies, 0.50) * 1000, 3),
        p99_ms=round(percentile(latencies, 0.99) * 1000, 3),
        baseline=baseline,
    )
