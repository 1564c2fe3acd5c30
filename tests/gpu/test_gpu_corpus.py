"""The GPU corpus: installed distributions by license, held-out packages apart, the recipe's filters."""

import json
import os
from pathlib import Path

import _gpu_bench  # noqa: F401 (bench.gpu becomes importable)
import pytest

from bench.gpu import sources as src
from bench.gpu.corpus_build import CorpusLimits, build, plan
from mercury.corpus_sources import Source, SourceFile

REPO_ROOT = Path(__file__).resolve().parents[2]
RECIPE_MANIFEST = Path("/work/data/corpus/manifest.json")
EVAL_DATA = Path(os.environ.get("MERCURY_EVAL_DATA") or REPO_ROOT.parent / "shared" / "eval-data")
CODE = "def f(x):\n    return x + 1\n\n\nclass A:\n    pass\n"


def dist(site: Path, name: str, files: dict[str, str], license_lines: list[str]) -> None:
    info = site / f"{name}-1.0.dist-info"
    info.mkdir(parents=True)
    header = ["Metadata-Version: 2.1", f"Name: {name}", "Version: 1.0", *license_lines]
    (info / "METADATA").write_text("\n".join(header))
    for rel, text in files.items():
        (site / rel).parent.mkdir(parents=True, exist_ok=True)
        (site / rel).write_text(text)
    (info / "RECORD").write_text("".join(f"{rel},,\n" for rel in [*files, f"{info.name}/METADATA"]))


def fake_site(tmp_path: Path) -> Path:
    site = tmp_path / "site-packages"
    mit = ["License-Expression: MIT"]
    dist(site, "good", {"good/__init__.py": CODE, "good/_vendor/certifi.py": CODE, "good/x.pyi": ""}, mit)
    dist(site, "copyleft", {"copyleft/__init__.py": CODE}, ["Classifier: License :: OSI Approved :: GPL v3"])
    dist(site, "zxlive", {"zxlive/__init__.py": CODE}, mit)  # a CrossCodeEval project
    dist(site, "renamed-dist", {"tigrisdb/__init__.py": CODE}, mit)  # matched by its top-level module
    dist(site, "nolicense", {"nolicense/__init__.py": CODE}, [])
    return site


def test_distributions_are_judged_by_license_and_evaluation_projects(tmp_path):
    spec = src.load_heldout_spec()
    found = src.installed_packages([fake_site(tmp_path)], src.eval_project_names(spec))
    packages = {p.name: p for p in found}
    assert packages["good"].decision == "train"
    assert packages["good"].python_files == ["good/__init__.py"] and packages["good"].vendored_skipped == 1
    assert packages["copyleft"].decision == "excluded: license GPL"
    assert packages["zxlive"].decision == "excluded: an evaluation set's project"
    assert packages["renamed-dist"].decision == "excluded: an evaluation set's project"
    assert packages["nolicense"].decision == "excluded: license unknown"


def stdlib_like(tmp_path: Path) -> Source:
    root = tmp_path / "lib"
    files = {"json/__init__.py": CODE, "json/decoder.py": CODE + "#j\n", "test/test_json.py": CODE + "#\n"}
    files |= {"copy_of_json.py": CODE + "#j\n", "broken.py": "def broken(x:\n    return x\n"}
    files["ast.py"] = CODE + "#a\n" * 3
    source = Source("stdlib", root, "python", "PSF-2.0", "")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
        unit = "json" if rel.startswith(("json", "test/")) else rel.removesuffix(".py")
        source.files.append(SourceFile(rel, root / rel, unit, rel.startswith("test/")))
    return source


def test_heldout_first_then_filters_and_dedup(tmp_path):
    stdlib = stdlib_like(tmp_path)
    limits = CorpusLimits(max_train_bytes=10**6, max_heldout_bytes=10**6, workers=1, deadline_s=60)
    planned, dropped = plan(stdlib, {"json"}, [], limits)
    assert [p.split for p in planned[:2]] == ["heldout", "heldout"]
    assert dropped["test-of-heldout-package"] == 1  # tests of a held-out package: neither split
    counts = build(tmp_path / "corpus", planned, limits)
    shard = tmp_path / "corpus/train/python-00000.jsonl"
    train = [json.loads(line) for line in shard.read_text().splitlines()]
    assert {r["path"] for r in train} == {"ast.py"} and train[0]["license"] == "PSF-2.0"
    assert counts["filtered"]["syntax-error"]["files"] == 1
    # held-out files come first: the training copy is the one dropped
    assert counts["filtered"]["exact-duplicate"]["examples"] == ["stdlib:copy_of_json.py"]


def test_byte_budget_keeps_whole_units(tmp_path):
    limits = CorpusLimits(max_train_bytes=60, max_heldout_bytes=10**6, workers=1, deadline_s=60)
    source = stdlib_like(tmp_path)
    planned, dropped = plan(source, {"json"}, [], limits)
    train = [p for p in planned if p.split == "train"]
    assert sum(p.size for p in train) <= 60 and dropped["over-byte-budget"] >= 1
    kept = {p.file.unit for p in train}
    assert {p.file.relpath for p in train} == {sf.relpath for sf in source.files if sf.unit in kept}


@pytest.mark.skipif(not RECIPE_MANIFEST.exists(), reason="the recipe's corpus is not built here")
def test_heldout_units_are_the_recipes():
    recipe = json.loads(RECIPE_MANIFEST.read_text())
    units = {u for s in recipe["sources"] if "stdlib" in s["name"] for u in s["heldout_packages"]}
    assert set(src.load_heldout_spec()["stdlib_heldout_units"]) == units


@pytest.mark.skipif(not (EVAL_DATA / "crosscodeeval-sample").is_dir(), reason="no eval data here")
def test_every_crosscodeeval_python_project_is_listed():
    lines = (EVAL_DATA / "crosscodeeval-sample" / "python.jsonl").read_text().splitlines()
    repos = {json.loads(line)["metadata"]["repository"] for line in lines}
    listed = {p["repository"] for p in src.load_heldout_spec()["eval_projects"]}
    assert repos <= listed
