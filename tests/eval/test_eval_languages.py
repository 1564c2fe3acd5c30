"""Held-out Go/Rust tasks, HumanEval-X single-line tasks in five more languages, and how
`mercury eval` runs them (mercury.eval_tasks, mercury.evaluate, mercury.parsecheck)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from fake_engine import EchoEngine
from mercury.syntax import language_for

from mercury import eval_tasks, evaluate, parsecheck, sandbox
from mercury.eval_tasks import HUMANEVAL_X, heldout_tasks, humaneval_line_tasks, load_heldout

REAL_EVAL_DATA = Path(evaluate.default_eval_data())
OTHER_TAGS = [tag for tag in HUMANEVAL_X if tag != "python"]


# --- held-out Go and Rust ----------------------------------------------------------------------


@pytest.mark.parametrize("language", ["go", "rust"])
def test_heldout_other_languages_are_deterministic_and_reinsert(fake_corpus_multi, language):
    records = load_heldout(fake_corpus_multi, language)
    texts = {r["path"]: r["text"] for r in records}
    assert len(records) == 3
    for kind in eval_tasks.HELDOUT_KINDS:
        tasks = heldout_tasks(records, kind, 8, seed=3)
        assert tasks == heldout_tasks(records, kind, 8, seed=3)
        assert tasks[:4] == heldout_tasks(records, kind, 4, seed=3)
        assert len({t.task_id for t in tasks}) == len(tasks) > 0
        for t in tasks:
            assert t.set_name == f"heldout-{language}-{kind}" and t.language == language
            assert t.prefix + t.middle + t.suffix == texts[t.task_id.split(":")[0]]


@pytest.mark.parametrize("language", ["go", "rust"])
def test_heldout_brace_languages_cut_lines_and_block_bodies(fake_corpus_multi, language):
    records = load_heldout(fake_corpus_multi, language)
    for t in heldout_tasks(records, "single-line", 10, seed=1):
        assert "\n" not in t.middle and not t.multiline and t.suffix.startswith("\n")
    multi = heldout_tasks(records, "multi-line", 10, seed=1)
    for t in multi:
        assert t.multiline and t.prefix.endswith("\n") and t.suffix.startswith("\n")
    # most multi-line middles are the body of a block opened by '{' on the line before
    bodies = [t for t in multi if t.prefix.rstrip("\n").rsplit("\n", 1)[-1].endswith("{")]
    assert len(bodies) >= len(multi) // 2
    assert all(t.suffix.lstrip().startswith("}") for t in bodies)


def test_python_heldout_names_are_unchanged(fake_corpus_multi):
    tasks = heldout_tasks(load_heldout(fake_corpus_multi), "single-line", 3, seed=1)
    assert {t.set_name for t in tasks} == {"heldout-single-line"}


# --- HumanEval-X -------------------------------------------------------------------------------


@pytest.mark.parametrize("tag", OTHER_TAGS)
def test_humaneval_x_tasks_reinsert_to_the_file(fake_eval_data_multi, humaneval_x_fake, tag):
    tasks = humaneval_line_tasks(fake_eval_data_multi, tag)
    assert tasks == humaneval_line_tasks(fake_eval_data_multi, tag)
    rec = humaneval_x_fake[tag]
    solution_lines = [line for line in rec["canonical_solution"].split("\n") if line.strip()]
    first = [t for t in tasks if t.task_id.startswith(rec["task_id"] + "/")]
    assert [t.middle for t in first] == solution_lines
    files = {t.prefix + t.middle + t.suffix for t in first}
    assert len(files) == 1  # every task of a problem is a hole in the same file
    assert files.pop().endswith(rec["canonical_solution"])
    for t in tasks:
        assert t.set_name == f"humaneval-x-line-{tag}" and t.language == HUMANEVAL_X[tag]
        assert not t.multiline and "\n" not in t.middle and t.suffix[:1] in ("", "\n")
        assert parsecheck.valid_in_context(t.prefix, t.middle, t.suffix, t.language)


def test_humaneval_x_scorers_and_programs(fake_eval_data_multi):
    scorers = {
        tag: {t.task_id: t.scorer for t in humaneval_line_tasks(fake_eval_data_multi, tag)}
        for tag in OTHER_TAGS
    }
    assert set(scorers["go"].values()) == {"match"}  # no go toolchain and no testify offline
    assert {s for i, s in scorers["rust"].items() if i.startswith("Rust/0/")} == {"check"}
    assert {s for i, s in scorers["rust"].items() if i.startswith("Rust/1/")} == {"match"}  # uses rand
    for tag in ("js", "cpp", "java"):
        assert set(scorers[tag].values()) == {"check"}
    rust = humaneval_line_tasks(fake_eval_data_multi, "rust")[0]
    assert rust.program_head.startswith("fn main() {}\n") and "use rand" not in rust.program_head
    assert "use std::{slice::Iter" in rust.program_head and "use rand::Rng;" in rust.prefix
    cpp = humaneval_line_tasks(fake_eval_data_multi, "cpp")[0]
    assert cpp.program_head.startswith("#include<") and cpp.program_head.endswith(cpp.prefix)
    assert cpp.program_tail.startswith(cpp.suffix) and "int main()" in cpp.program_tail
    go = humaneval_line_tasks(fake_eval_data_multi, "go")[0]
    assert go.prefix.startswith("package main\n\nimport (") and go.program_head == ""


def test_python_humaneval_is_unchanged(fake_eval_data_multi):
    tasks = humaneval_line_tasks(fake_eval_data_multi)
    assert [t.set_name for t in tasks] == ["humaneval-x-line"] * 2
    assert tasks[0].program_head == tasks[0].prefix and tasks[0].program_tail.endswith("check(double)\n")


@pytest.mark.skipif(not REAL_EVAL_DATA.is_dir(), reason="../shared/eval-data is not here")
@pytest.mark.parametrize("tag", list(HUMANEVAL_X))
def test_real_humaneval_x_tasks_are_well_formed(tag):
    with gzip.open(REAL_EVAL_DATA / "humaneval-x" / f"humaneval_{tag}.jsonl.gz", "rt") as f:
        records = {r["task_id"]: r for r in map(json.loads, f)}
    tasks = humaneval_line_tasks(REAL_EVAL_DATA, tag)
    assert len({t.task_id for t in tasks}) == len(tasks) > len(records)
    for t in tasks:
        rec = records[t.task_id.rsplit("/", 1)[0]]
        assert (t.prefix + t.middle + t.suffix).endswith(rec["canonical_solution"])
        assert t.middle.strip() and t.language == HUMANEVAL_X[tag]
    executed = sum(t.scorer == "check" for t in tasks)
    assert executed == 0 if tag == "go" else executed >= 0.9 * len(tasks)


# --- mercury eval ------------------------------------------------------------------------------


def test_every_request_carries_a_syntax_language(fake_corpus_multi, fake_eval_data_multi, monkeypatch):
    monkeypatch.setattr(evaluate, "can_run", lambda language: language == "python")  # no compilers: fast
    cfg = evaluate.EvalConfig(
        sets=evaluate.ALL_SETS, limit=1, corpus=str(fake_corpus_multi), eval_data=str(fake_eval_data_multi)
    )
    engine = EchoEngine()
    report = evaluate.evaluate_models({"e": engine}, cfg)
    assert set(report["results"]["e"]) == set(evaluate.ALL_SETS)
    languages = {r.language for r in engine.requests}
    assert languages == {"python", "go", "rust", "javascript", "cpp", "java"}
    assert all(language_for(r.language) == r.language for r in engine.requests)


def test_missing_language_in_the_corpus_says_where_to_look(fake_corpus, fake_eval_data):
    cfg = evaluate.EvalConfig(sets=("heldout-go-single-line",), corpus=str(fake_corpus))
    with pytest.raises(ValueError, match="corpus-multi"):
        evaluate.build_set("heldout-go-single-line", cfg)


def test_corpus_dirs_are_searched_in_order(fake_corpus, fake_corpus_multi, tmp_path):
    empty = tmp_path / "empty"
    (empty / "heldout").mkdir(parents=True)
    cfg = evaluate.EvalConfig(corpus=(str(empty), str(fake_corpus_multi)), limit=2)
    assert len(evaluate.build_set("heldout-rust-multi-line", cfg)) == 2
    assert evaluate.config_dict(cfg)["corpus"] == [str(empty), str(fake_corpus_multi)]


def test_notes_explain_missing_pass_at_1(fake_eval_data_multi, monkeypatch):
    cfg = evaluate.EvalConfig(eval_data=str(fake_eval_data_multi))
    sets = {name: evaluate.build_set(name, cfg) for name in ("humaneval-x-line-go", "humaneval-x-line-rust")}
    notes = evaluate.execution_notes(sets)
    assert any(n.startswith("humaneval-x-line-go: pass@1 not run") for n in notes)
    if sandbox.can_run("rust"):  # Rust/1's tests use the rand crate: exact match only
        assert "humaneval-x-line-rust: pass@1 over 3 of 6 tasks" in " ".join(notes)
    monkeypatch.setattr(evaluate, "can_run", lambda language: language == "python")
    notes = evaluate.execution_notes(sets)
    assert "humaneval-x-line-rust: pass@1 skipped: no rust toolchain on this machine" in notes
    task = sets["humaneval-x-line-rust"][0]
    assert evaluate.execution_passed(task, "wrong", cfg.limits) is None


@pytest.mark.skipif(not sandbox.can_run("javascript"), reason="node is not installed")
def test_javascript_pass_at_1_runs_the_program(fake_corpus, fake_eval_data_multi):
    cfg = evaluate.EvalConfig(
        sets=("humaneval-x-line-js",), corpus=str(fake_corpus), eval_data=str(fake_eval_data_multi)
    )
    rest = {"x * 2\n\n": "  return y", "return y\n": "}"}  # the references of lines 2 and 3
    right = EchoEngine({"=> {\n": "  const y = x + x", **rest})
    wrong = EchoEngine({"=> {\n": "  const y = x + 1", **rest})
    report = evaluate.evaluate_models({"right": right, "wrong": wrong}, cfg)
    metrics = {label: r["humaneval-x-line-js"] for label, r in report["results"].items()}
    assert metrics["right"]["exact_match"] == round(2 / 3, 4) and metrics["right"]["pass_at_1"] == 1.0
    assert metrics["wrong"]["pass_at_1"] == round(2 / 3, 4)  # references pass without running
    assert metrics["right"]["n_executed"] == 3 and metrics["right"]["syntax_valid"] == 1.0


def test_cli_accepts_several_corpora_and_new_sets(
    fake_corpus_multi, fake_eval_data_multi, tmp_path, monkeypatch
):
    engine = EchoEngine()
    monkeypatch.setattr(evaluate, "load_engine", lambda *args, **kwargs: engine)
    out = tmp_path / "report.json"
    argv = ["--model", "m", "--limit", "1", "--sets", "heldout-go-multi-line", "humaneval-x-line-go"]
    argv += ["--corpus", str(tmp_path), str(fake_corpus_multi), "--eval-data", str(fake_eval_data_multi)]
    assert evaluate.main([*argv, "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert set(report["results"]["m"]) == {"heldout-go-multi-line", "humaneval-x-line-go"}
    assert [r.language for r in engine.requests] == ["go", "go"]


def test_parsecheck_uses_the_syntax_grammars():
    assert parsecheck.supported("rust") and parsecheck.supported("tsx") and not parsecheck.supported("cobol")
    assert parsecheck.error_count("fn f() { let x = ; }", "rust") > 0
    assert parsecheck.error_count("x = 1\n", "cobol") == -1
    # the grader's rule: no more errors than the file with the reference in place
    assert parsecheck.valid_in_context("func f() {\n", "\treturn", "\n}\n", "go", "\treturn")
    assert not parsecheck.valid_in_context("func f() {\n", "\treturn (", "\n}\n", "go", "\treturn")
