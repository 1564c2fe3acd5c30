"""bench/tau_curve.py: `mercury eval --tau` columns become one curve, a column without tau a baseline."""

from __future__ import annotations

import json

import bench_scripts


def _row(em: float, passes: float, tokens_per_s: float) -> dict:
    return {
        "exact_match": em,
        "edit_similarity": em + 0.2,
        "forward_passes_per_token": passes,
        "tokens_per_s": tokens_per_s,
    }


def test_tau_columns_make_one_sorted_curve_and_the_baseline_stands_apart(tmp_path):
    bench = bench_scripts.load("tau_curve")
    sweep = {"results": {f"mini@tau={t}": {"lines": _row(t / 10, t, 100 * t)} for t in (0.9, 0.1, 0.5)}}
    baseline = {"results": {"ar": {"lines": _row(0.05, 1.2, 300.0)}}}
    paths = [tmp_path / "sweep.json", tmp_path / "ar.json"]
    for path, report in zip(paths, (sweep, baseline), strict=True):
        path.write_text(json.dumps(report))
    series = bench.curves([json.loads(p.read_text()) for p in paths])
    assert [tau for tau, _ in series["lines"]["mini"]] == [0.1, 0.5, 0.9]
    assert [tau for tau, _ in series["lines"]["ar"]] == [None]
    out = tmp_path / "tau.png"
    assert bench.main([*map(str, paths), "--out", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
