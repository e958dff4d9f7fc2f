"""`make bench` runs end to end at a tiny scale: every case measured, each service case beside its baseline
from the same run, the seed counted, the results written as JSON. Its figures are not looked at here (a
timed unit test would be a defect); that the suite keeps working is."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from hubcore.settings import PROJECT_DIR


def test_the_bench_runs_every_case_and_writes_its_ratios(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench.grpc_bench", "--scale", "smoke", "--seconds", "0.3", "--warmup", "0.1",
         "--event-rate", "50", "--event-seconds", "1", "--import-rows", "20", "--json", str(results)],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    report = json.loads(results.read_text())
    cases = report["results"] if isinstance(report, dict) else report
    names = {c["method"] for c in cases}
    for wanted in (
        "echo",
        "GetCompany",
        "CreateCompany",
        "FindSlots",
        "ScheduleSession",
        "dashboard",
        "console /",
        "home/gRPC",
        "console company",
        "company/gRPC",
    ):
        assert wanted in names, sorted(names)
    compared = [c for c in cases if c.get("baseline") and c["method"] != c["baseline"]]
    assert compared and all(c["vs_baseline"] is not None for c in compared)
