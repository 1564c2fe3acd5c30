"""Task building and the evaluation loop with a fake engine (mercury.eval_tasks, mercury.evaluate)."""

from __future__ import annotations

import json

from fake_engine import EchoEngine

from mercury import evaluate
from mercury.eval_tasks import clip_context, heldout_tasks, humaneval_line_tasks, load_heldout, safim_tasks


def test_heldout_tasks_are_deterministic(fake_corpus):
    records = load_heldout(fake_corpus)
    for kind in ("single-line", "multi-line", "random-span"):
        first = heldout_tasks(records, kind, 10, seed=7)
        assert first == heldout_tasks(records, kind, 10, seed=7)
        assert first != heldout_tasks(records, kind, 10, seed=8)
        assert first[:5] == heldout_tasks(records, kind, 5, seed=7)  # more tasks keep the first ones
        assert len({t.task_id for t in first}) == len(first)


def test_heldout_task_shapes(fake_corpus):
    records = load_heldout(fake_corpus)
    texts = {r["path"]: r["text"] for r in records}
    for task in heldout_tasks(records, "single-line", 20, seed=1):
        assert "\n" not in task.middle and not task.multiline and task.suffix.startswith("\n")
        assert task.prefix + task.middle + task.suffix == texts[task.task_id.split(":")[0]]
    for task in heldout_tasks(records, "multi-line", 20, seed=1):
        assert task.multiline and (task.prefix == "" or task.prefix.endswith("\n"))
        assert task.suffix == "" or task.suffix.startswith("\n")


def test_safim_and_humaneval_tasks(fake_eval_data):
    block = safim_tasks(fake_eval_data, "block")
    assert len(block) == 1 and "\r" not in block[0].prefix + block[0].suffix  # Java record skipped
    assert block[0].multiline and block[0].tests == (("2", ("0\n1",)),)
    lines = humaneval_line_tasks(fake_eval_data)
    assert [t.middle for t in lines] == ["    y = x * 2", "    return y"]
    assert all(not t.multiline and t.scorer == "check" for t in lines)


def test_clip_context_cuts_at_line_boundaries():
    prefix, suffix = clip_context("aaaa\nbbbb\ncc", "dd\neeee\nffff", 8, 8)
    assert prefix == "bbbb\ncc" and suffix == "dd\neeee\n"


def test_report_shape_and_scores(fake_corpus, fake_eval_data):
    cfg = evaluate.EvalConfig(limit=3, corpus=str(fake_corpus), eval_data=str(fake_eval_data))
    answers = {"n):\n    ": "print(i)", '"""Twice x."""\n': "    y = x + x", "x * 2\n\n": "    return y"}
    report = evaluate.evaluate_models(
        {"fake": EchoEngine(answers, fallback="pass"), "dumb": EchoEngine(fallback="pass")}, cfg
    )
    assert set(report) == {"config", "machine", "notes", "results", "comparisons", "created"}
    assert set(report["results"]) == {"fake", "dumb"} and set(report["results"]["fake"]) == set(
        evaluate.DEFAULT_SETS
    )
    fake = report["results"]["fake"]
    assert fake["safim-block"]["pass_at_1"] == 1.0 and fake["safim-block"]["exact_match"] == 1.0
    assert fake["humaneval-x-line"]["pass_at_1"] == 1.0  # x + x is not the reference, but it runs and passes
    assert fake["humaneval-x-line"]["exact_match"] == 0.5
    assert report["results"]["dumb"]["safim-block"]["pass_at_1"] == 0.0
    for metrics in fake.values():
        assert {
            "n",
            "exact_match",
            "edit_similarity",
            "pass_at_1",
            "syntax_valid",
            "forward_passes_per_token",
            "median_ms",
        } <= set(metrics)
        assert metrics["forward_passes_per_token"] == 0.5
    table = evaluate.format_table(report)
    assert "safim-block" in table and "fake" in table and "dumb" in table
    # The second model is compared with the first on the same tasks: dumb fails every SAFIM block
    # task that fake passes.
    assert report["comparisons"]["baseline"] == "fake"
    block = report["comparisons"]["models"]["dumb"]["safim-block"]
    assert block["pass_at_1"]["difference"] == -1.0 and block["pass_at_1"]["only_baseline"] == block["n"]
    assert block["exact_match"]["only_model"] == 0
    paired = evaluate.format_comparisons(report)
    assert paired.startswith("paired against fake") and "-100.0 [-100.0, -100.0]" in paired


def test_requests_follow_the_task_kind(fake_corpus, fake_eval_data):
    cfg = evaluate.EvalConfig(
        limit=2,
        corpus=str(fake_corpus),
        eval_data=str(fake_eval_data),
        sets=("heldout-single-line", "heldout-multi-line"),
    )
    engine = EchoEngine(fallback="pass")
    evaluate.evaluate_models({"e": engine}, cfg)
    assert [r.multiline for r in engine.requests] == [False, False, True, True]


def test_main_writes_report_for_several_taus(fake_corpus, fake_eval_data, tmp_path, monkeypatch):
    engine = EchoEngine(fallback="pass")
    monkeypatch.setattr(evaluate, "load_engine", lambda *args, **kwargs: engine)
    out = tmp_path / "report.json"
    argv = [
        "--model",
        "m",
        "--tau",
        "0.5",
        "1.0",
        "--limit",
        "1",
        "--sets",
        "crosscodeeval-python",
        "--corpus",
        str(fake_corpus),
        "--eval-data",
        str(fake_eval_data),
        "--out",
        str(out),
    ]
    assert evaluate.main(argv) == 0
    report = json.loads(out.read_text())
    assert set(report["results"]) == {"m@tau=0.5", "m@tau=1.0"}
    assert sorted({r.tau for r in engine.requests}) == [0.5, 1.0]


def test_main_builds_as_many_heldout_tasks_as_asked(fake_corpus, fake_eval_data, tmp_path, monkeypatch):
    engine = EchoEngine(fallback="pass")
    monkeypatch.setattr(evaluate, "load_engine", lambda *args, **kwargs: engine)
    common = ["--model", "m", "--sets", "heldout-single-line", "--corpus", str(fake_corpus)]
    common += ["--eval-data", str(fake_eval_data)]
    assert evaluate.main([*common, "--heldout-tasks", "3"]) == 0
    first = [r.prefix for r in engine.requests]
    engine.requests.clear()
    assert evaluate.main([*common, "--heldout-tasks", "6", "--out", str(tmp_path / "r.json")]) == 0
    assert len(first) == 3 and len(engine.requests) == 6
    assert [r.prefix for r in engine.requests[:3]] == first  # more tasks keep the first ones
    assert json.loads((tmp_path / "r.json").read_text())["config"]["heldout_per_kind"] == 6
    assert evaluate.main([*common, "--heldout-tasks", "0"]) == 2
