"""The load benchmark (bench/load.py) in miniature: two editors, three seconds, the model-free engine.

It proves the script runs end to end and stops by itself, that every request is answered (completed,
empty or cancelled: none left hanging, no error) and no process crashed, and that the report carries
latency percentiles and a memory slope. The full run is `python bench/load.py --model coder-mini`.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "load.py"


def test_short_load_run(tmp_path: Path):
    out = tmp_path / "load.json"
    command = [sys.executable, str(SCRIPT), "--fake", "--editors", "2", "--seconds", "3", "--out", str(out)]
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads(out.read_text())
    summary, samples = report["summary"], report["raw"]["samples"]
    outcomes = summary["outcomes"]
    assert summary["requests"] == len(samples) > 0
    assert outcomes["unanswered"] == outcomes["error"] == 0 and summary["crashes"] == []
    assert outcomes["completed"] > 0  # suggestions came back through both servers and the daemon
    assert outcomes["cancelled"] + summary["superseded_in_server"] > 0  # stale requests were dropped
    assert summary["latency_answered"]["p50_ms"] <= summary["latency_answered"]["p95_ms"]
    assert len(report["raw"]["rss"]) >= 2 and math.isfinite(summary["daemon_rss_mb"]["slope_mb_per_min"])
    assert {s["editor"] for s in samples} == {0, 1}
    assert "p95" in run.stdout and "MB/min" in run.stdout


def test_limits_keep_a_run_finite():
    command = [sys.executable, str(SCRIPT), "--fake", "--editors", "1000"]
    run = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert run.returncode == 2 and "--editors must lie between 1 and 64" in run.stderr
