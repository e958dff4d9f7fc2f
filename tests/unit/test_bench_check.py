"""`make bench-check`'s judgement, on made-up runs (no timing here: the bench measures, this checks the sums)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import check

LATENCY = check.LATENCY


def run(ratios: dict[tuple[str, int], float], *, db: str = "sqlite", scale: str = "full") -> dict:
    results = [
        {"method": m, "in_flight": n, "vs_baseline": r, "compare": LATENCY if m.startswith("event") else "calls/s"}
        for (m, n), r in ratios.items()
    ]
    results.append({"method": "echo", "in_flight": 1, "vs_baseline": None, "compare": "calls/s"})
    return {"db": db, "scale": scale, "command": "python -m bench.grpc_bench", "results": results}


def test_baseline_is_the_mean_and_the_noise_between_two_runs() -> None:
    made = check.make_baseline(run({("GetCompany", 1): 0.40}), run({("GetCompany", 1): 0.50, ("FindSlots", 1): 0.1}))
    assert made["cases"] == {"GetCompany@1": {"ratio": 0.45, "noise": 0.2222, "compare": "calls/s"}}
    with pytest.raises(SystemExit):
        check.make_baseline(run({}, db="sqlite"), run({}, db="postgres"))


def test_a_fall_beyond_the_noise_is_named_and_one_within_is_not() -> None:
    baseline = check.make_baseline(
        run({("GetCompany", 1): 0.40, ("CreateCompany", 16): 0.04, ("event → consulting directory", 1): 10.0}),
        run({("GetCompany", 1): 0.50, ("CreateCompany", 16): 0.04, ("event → consulting directory", 1): 10.0}),
    )
    verdicts, missing = check.compare(
        baseline, run({("GetCompany", 1): 0.37, ("CreateCompany", 16): 0.035, ("event → consulting directory", 1): 12})
    )
    fell = {v.case: v.fell for v in verdicts}
    # GetCompany: -17.8% against noise 22%: within. CreateCompany: -12.5% against the 10% floor: fell.
    # The event's latency ratio rose 20% (worse, as latency): fell.
    assert fell == {"GetCompany@1": False, "CreateCompany@16": True, "event → consulting directory@1": True}
    assert missing == []
    verdicts, missing = check.compare(baseline, run({("GetCompany", 1): 0.9}))
    assert [v.fell for v in verdicts] == [False]
    assert set(missing) == {"CreateCompany@16", "event → consulting directory@1"}


def test_the_command_exits_1_naming_what_fell(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first, second, now = (tmp_path / f"{n}.json" for n in ("a", "b", "now"))
    first.write_text(json.dumps(run({("GetCompany", 16): 0.35})))
    second.write_text(json.dumps(run({("GetCompany", 16): 0.35})))
    baseline = tmp_path / "baseline.json"
    assert check.main(["--make-baseline", str(first), str(second), "--out", str(baseline)]) == 0
    now.write_text(json.dumps(run({("GetCompany", 16): 0.30})))
    assert check.main([str(now), "--baseline", str(baseline)]) == 1
    assert "fell by more than the noise: GetCompany@16" in capsys.readouterr().out
    now.write_text(json.dumps(run({("GetCompany", 16): 0.33})))
    assert check.main([str(now), "--baseline", str(baseline)]) == 0
