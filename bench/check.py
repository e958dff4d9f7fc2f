"""`make bench-check`: has a case fallen since the committed baseline?

A run's figures are compared as ratios to the baselines of the same run (calls/s against the echo, or p50
latency against NATS publish→deliver), never as absolute times, so another machine or another load shifts
both sides alike. The baseline file (bench/baseline-<db>.json) holds, for each case and in-flight, the mean
ratio of two runs of one commit and the noise between them (|a − b| / mean). A case has fallen when its ratio
is worse than the baseline's by more than that noise, or by more than FLOOR when two runs happened to agree
closely (two samples understate the spread). Not part of `make test`: timings are never unit tests.

    python -m bench.check                         # var/bench/results.json against bench/baseline-<its db>.json
    python -m bench.check --make-baseline A.json B.json --out bench/baseline-sqlite.json
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hubcore.settings import PROJECT_DIR

FLOOR = 0.10  # the least fall named, whatever two runs measured
LATENCY = "p50 latency"  # cases compared by latency: a larger ratio is worse


def cases(run: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """A run's ratios: "GetCompany@16" -> (ratio, what is compared)."""
    found = {}
    for result in run["results"]:
        if result.get("vs_baseline") is not None:
            found[f"{result['method']}@{result['in_flight']}"] = (result["vs_baseline"], result["compare"])
    return found


def make_baseline(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """The mean of two runs' ratios per case and the noise between them; only cases both measured."""
    a, b = cases(first), cases(second)
    if first.get("db") != second.get("db") or first.get("scale") != second.get("scale"):
        raise SystemExit("the two runs differ in --db or --scale; a baseline needs two runs of the same setup")
    table = {}
    for key in sorted(a.keys() & b.keys()):
        (x, compare), (y, _) = a[key], b[key]
        mean = (x + y) / 2
        table[key] = {"ratio": round(mean, 4), "noise": round(abs(x - y) / mean, 4) if mean else 0.0,
                      "compare": compare}  # fmt: skip
    return {
        "db": first.get("db", "sqlite"),
        "scale": first.get("scale"),
        "commands": [first.get("command"), second.get("command")],
        "load_average_during": [first.get("load_average_during"), second.get("load_average_during")],
        "cases": table,
    }


@dataclass(frozen=True)
class Verdict:
    case: str
    baseline: float
    now: float
    change: float  # signed fraction, positive = better
    allowed: float  # how far it may fall

    @property
    def fell(self) -> bool:
        return self.change < -self.allowed


def compare(baseline: dict[str, Any], run: dict[str, Any]) -> tuple[list[Verdict], list[str]]:
    """Each baseline case the run measured, judged; and the baseline cases it did not measure."""
    now = cases(run)
    verdicts, missing = [], []
    for key, known in baseline["cases"].items():
        if key not in now:
            missing.append(key)
            continue
        ratio = now[key][0]
        change = (ratio - known["ratio"]) / known["ratio"] if known["ratio"] else 0.0
        if known["compare"] == LATENCY:
            change = -change
        verdicts.append(Verdict(key, known["ratio"], ratio, change, max(known["noise"], FLOOR)))
    return verdicts, missing


def report(verdicts: list[Verdict], missing: list[str]) -> str:
    lines = [f"{'case':<36} {'baseline':>9} {'now':>9} {'change':>8} {'allowed':>8}  verdict"]
    for v in verdicts:
        lines.append(
            f"{v.case:<36} {v.baseline:>9.4f} {v.now:>9.4f} {v.change:>+8.1%} {-v.allowed:>+8.1%}  "
            + ("FELL" if v.fell else "ok")
        )
    if missing:
        lines.append(f"not measured in this run: {', '.join(missing)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", nargs="?", type=Path, default=PROJECT_DIR / "var" / "bench" / "results.json")
    parser.add_argument("--baseline", type=Path, help="default: bench/baseline-<the run's db>.json")
    parser.add_argument("--make-baseline", nargs=2, type=Path, metavar=("FIRST", "SECOND"))
    parser.add_argument("--out", type=Path, help="with --make-baseline: where to write it (default: stdout)")
    args = parser.parse_args(argv)
    if args.make_baseline:
        first, second = (json.loads(path.read_text()) for path in args.make_baseline)
        text = json.dumps(make_baseline(first, second), indent=2, ensure_ascii=False) + "\n"
        if args.out:
            args.out.write_text(text)
        else:
            sys.stdout.write(text)
        return 0
    if not args.run.exists():
        parser.error(f"{args.run} does not exist: run `make bench` first")
    run = json.loads(args.run.read_text())
    path = args.baseline or PROJECT_DIR / "bench" / f"baseline-{run.get('db', 'sqlite')}.json"
    baseline = json.loads(path.read_text())
    if run.get("scale") != baseline.get("scale"):
        print(f"note: this run's scale is {run.get('scale')}, the baseline's {baseline.get('scale')}")
    verdicts, missing = compare(baseline, run)
    print(f"{args.run} against {path}")
    print(report(verdicts, missing))
    fallen = [v.case for v in verdicts if v.fell]
    if fallen:
        print(f"fell by more than the noise: {', '.join(fallen)}")
        return 1
    print("no case fell by more than the noise")
    return 0


if __name__ == "__main__":
    sys.exit(main())
