"""bench/engine_speed.py's `routed` sweep, on real tiny models in fresh processes."""

from __future__ import annotations

import json
import shutil
from argparse import Namespace

import bench_scripts


def test_routed_sweep_times_the_routed_languages_first_request(
    tmp_path, tiny_model_dir, tiny_ar_model_dir, fake_corpus_multi
):
    folder = tmp_path / "routed"
    shutil.copytree(tiny_model_dir, folder)
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "routes": {"go": str(tiny_ar_model_dir)}}))
    bench = bench_scripts.load("engine_speed")
    args = Namespace(
        model=[str(folder)],
        language="go",
        corpus=str(fake_corpus_multi),
        routed_corpus=str(fake_corpus_multi),
        tasks=2,
        threads=1,
        repeats=2,
    )
    row = bench.routed(args)[str(folder)]
    assert "error" not in row and len(row["runs"]) == 2
    run = row["runs"][0]
    assert run["python_models"] == ["routed"] and row["models"] == [tiny_ar_model_dir.name]
    assert len(run["python_ms"]) == 2 and len(run["routed_ms"]) == 2 and row["first_routed_ms"] > 0
