"""The GPU script end to end on this CPU at toy size (MERCURY_GPU_DRY_RUN=1), then the install step."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import _gpu_bench  # noqa: F401 (bench.gpu becomes importable)
import pytest
from mercury.denoiser.api import CompletionRequest
from mercury.denoiser.engine import Engine
from mercury.denoiser.model import Denoiser

from bench.gpu import coder_small
from bench.gpu import sources as src
from bench.gpu.install_coder_small import install

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPT = REPO_ROOT / "bench" / "gpu" / "train_coder_small.sh"
LIMIT = 16 * 1024 * 1024


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("gpu-dry-run")
    env = {**os.environ, "OUT": str(root / "out"), "MERCURY_GPU_WORK": str(root / "work")}
    env |= {"MERCURY_GPU_DRY_RUN": "1", "PYTHON": sys.executable}
    done = subprocess.run(["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root / "out", root / "work"


@pytest.mark.slow
def test_returns_at_most_8_files_under_16_mib_two_levels_deep(dry_run):
    out, _ = dry_run
    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) <= 8 and all(p.stat().st_size < LIMIT for p in files)
    assert all(len(p.relative_to(out).parts) <= 3 for p in files)
    names = {str(p.relative_to(out)) for p in files}
    model = {"config.json", "tokenizer.json", "model-00001-of-00004.safetensors"}
    assert {"measurements.json", "logs.tar.gz", *(f"coder-small/{name}" for name in model)} <= names


@pytest.mark.slow
def test_every_phase_reports(dry_run):
    out, _ = dry_run
    report = json.loads((out / "measurements.json").read_text())
    assert report["status"] == "ok" and report["driver_exit_code"] == 0
    phases = ["preflight", "corpus", "setup", "fit", "train", "export", "heldout", "speed"]
    assert list(report["phases_s"]) == phases and report["preflight"]["steps"] == 3
    assert report["train"]["steps"] == 8 and report["heldout"]["loss"] > 0
    assert report["speed"]["batch1_sampler"]["tasks"] > 0 and report["speed"]["batched_forward"]


@pytest.mark.slow
def test_the_corpus_keeps_out_heldout_packages_and_excluded_licenses(dry_run):
    _, work = dry_run
    manifest = json.loads((work / "corpus" / "manifest.json").read_text())
    allowed = {f"{p['name']}-{p['version']}" for p in manifest["packages"] if p["decision"] == "train"}
    heldout = set(src.load_heldout_spec()["stdlib_heldout_units"])
    for shard in (work / "corpus" / "train").glob("*.jsonl"):
        for record in map(json.loads, shard.read_text().splitlines()):
            stdlib = record["source"] == manifest["stdlib"]["name"]
            assert (record["package"] not in heldout) if stdlib else (record["source"] in allowed)
    assert all(p["permissive"] for p in manifest["packages"] if p["decision"] == "train")


@pytest.mark.slow
def test_install_merges_the_shards_into_a_registry_folder(dry_run, tmp_path):
    out, _ = dry_run
    dest = tmp_path / "coder-small"
    card = install(out, dest)
    assert (dest / "model.safetensors").is_file() and "## Dev-set scores" in card.read_text()
    shipped, returned = Denoiser.load(dest), Denoiser.load(out / "coder-small")
    assert all((a == b).all() for a, b in zip(shipped.parameters(), returned.parameters(), strict=True))
    result = Engine.load(str(dest), constrained=False).complete(CompletionRequest(prefix="x = "))
    assert result.stop_reason in ("eom", "newline", "budget")


@pytest.mark.slow
def test_export_fallback_returns_the_last_checkpoint_after_a_stop(dry_run, tmp_path):
    _, work = dry_run
    shutil.copytree(work / "model", tmp_path / "work" / "model")
    (tmp_path / "out").mkdir()
    report = {"status": "running", "current_phase": "train"}
    (tmp_path / "out" / "measurements.json").write_text(json.dumps(report))
    args = ["export", "--dry-run", "--work", str(tmp_path / "work"), "--out", str(tmp_path / "out")]
    assert coder_small.main([*args, "--exit-code", "124"]) == 0
    report = json.loads((tmp_path / "out" / "measurements.json").read_text())
    assert report["status"] == "stopped in train (exit 124); exported the last checkpoint"
    assert Denoiser.load(tmp_path / "out" / "coder-small").num_parameters() == report["export"]["parameters"]
