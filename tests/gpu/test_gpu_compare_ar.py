"""bench/gpu/compare_ar.py at toy size on the CPU: the report the GPU run returns, part by part."""

import dataclasses
import json
import shutil

import _gpu_bench  # noqa: F401 (bench.gpu becomes importable)
import torch
from mercury.denoiser.model import Denoiser, ModelConfig
from mercury.models import resolve_model

from bench.gpu import compare_ar
from mercury.eval_tasks import FimTask

CODE = "def area(width, height):\n    return width * height\n\n\nprint(area(2, 3))\n"


def tiny_model(folder, objective: str) -> None:
    torch.manual_seed(0)
    tokenizer = resolve_model("coder-mini") / "tokenizer.json"
    cfg = ModelConfig(vocab_size=8192, d_model=16, n_layer=1, n_head=2, block_length=4, objective=objective)
    Denoiser(cfg).save(folder)
    shutil.copy(tokenizer, folder / "tokenizer.json")


def write_tasks(path) -> None:
    cut = CODE.index("return")
    tasks = [
        FimTask(name, f"t{i}", "python", CODE[:cut], CODE[cut + 6 :], "return", name.endswith("multi-line"))
        for name in compare_ar.SETS
        for i in range(5)
    ]
    path.write_text(json.dumps([dataclasses.asdict(t) for t in tasks]))


def run(tmp_path, size_config) -> tuple[int, dict]:
    for name, objective in (("diffusion", "diffusion"), ("ar", "ar")):
        tiny_model(tmp_path / name, objective)
    write_tasks(tmp_path / "tasks.json")
    out = tmp_path / "out" / "gpu_speed.json"
    args = ["run", "--tasks", str(tmp_path / "tasks.json"), "--diffusion", str(tmp_path / "diffusion")]
    args += ["--ar", str(tmp_path / "ar"), "--size-config", str(size_config), "--out", str(out)]
    rc = compare_ar.main(args + ["--device", "cpu", "--dtype", "float32", "--seconds", "1"])
    return rc, json.loads(out.read_text())


def test_both_samplers_on_both_sets_and_step_times_at_every_batch_size(tmp_path):
    size = {"vocab_size": 64, "d_model": 16, "n_layer": 1, "n_head": 2}
    (tmp_path / "size.json").write_text(json.dumps(size))
    rc, report = run(tmp_path, tmp_path / "size.json")
    assert rc == 0
    for model in ("diffusion", "ar"):
        for name in compare_ar.SETS:
            row = report["samplers"][model][name]
            assert row["tasks"] == 2  # five tasks, the first three warm up
            assert row["median_ms_per_completion"] > 0
    assert report["samplers"]["ar"]["heldout-single-line"]["forward_passes_per_token"] >= 1
    rows = report["step_times"]["rows"]
    assert [r["batch"] for r in rows] == list(compare_ar.BATCH_SIZES)
    assert all(r["diffusion_ms_per_step"] > 0 and r["ar_ms_per_step"] > 0 for r in rows)


def test_a_failing_part_is_recorded_and_the_others_kept(tmp_path):
    rc, report = run(tmp_path, tmp_path / "missing.json")
    assert rc == 1
    assert "FileNotFoundError" in report["step_times"]["error"]
    assert report["samplers"]["ar"]["heldout-multi-line"]["tasks"] == 2
