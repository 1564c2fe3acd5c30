"""bench/server_answers.py on a fake engine: the server's requests, the shown text, the report."""

from __future__ import annotations

import json
from pathlib import Path

import bench_scripts
import pytest
from mercury.denoiser.api import CompletionRequest, CompletionResult

from mercury import evaluate
from mercury.eval_tasks import FimTask

SETS = ("heldout-single-line", "humaneval-x-line")


@pytest.fixture(scope="module")
def bench():
    return bench_scripts.load("server_answers")


class ReferenceEngine:
    """Answers each task's reference, less the spaces the server put at the end of the request's
    prefix to finish a half-typed indentation (they are shown in front of the answer)."""

    def __init__(self, tasks) -> None:
        self.tasks = tasks
        self.requests: list[CompletionRequest] = []

    def complete(self, request: CompletionRequest) -> CompletionResult:
        self.requests.append(request)
        return CompletionResult(text=self._reference(request), stop_reason="eom", forward_passes=2, tokens=3)

    def _reference(self, request: CompletionRequest) -> str:
        prefix = request.prefix
        for padding in range(len(prefix) - len(prefix.rstrip(" ")) + 1):
            if not prefix.endswith(" " * padding):
                continue
            for task in self.tasks:
                before = prefix[: len(prefix) - padding]
                if _fits(task.prefix, before, request.prefix_cut, str.endswith) and _fits(
                    task.suffix, request.suffix, request.suffix_cut, str.startswith
                ):
                    return task.middle[padding:]
        raise AssertionError(f"no task ends with {prefix[-40:]!r}")


def _fits(text: str, window: str, cut: bool, edge) -> bool:
    """Is `window` the request's view of `text` (all of it, or its edge where the request is cut)?"""
    return edge(text, window) if cut else text == window


def _setup(monkeypatch, corpus: Path, eval_data: Path) -> tuple[evaluate.EvalConfig, ReferenceEngine]:
    monkeypatch.setattr(evaluate, "can_run", lambda language: language == "python")
    cfg = evaluate.EvalConfig(sets=SETS, corpus=str(corpus), eval_data=str(eval_data))
    engine = ReferenceEngine([t for name in SETS for t in evaluate.build_set(name, cfg)])
    monkeypatch.setattr(evaluate, "load_engine", lambda *args, **kwargs: engine)
    return cfg, engine


def test_the_server_asks_for_one_line_where_the_cursor_heads_a_block(
    bench, fake_corpus_multi, fake_eval_data_multi, tmp_path, monkeypatch
):
    cfg, engine = _setup(monkeypatch, fake_corpus_multi, fake_eval_data_multi)
    out = tmp_path / "answers.json"
    argv = ["--sets", *SETS, "--corpus", str(fake_corpus_multi), "--eval-data", str(fake_eval_data_multi)]
    assert bench.main([*argv, "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    rows = report["rows"]["heldout-single-line"]
    heads = [r for r in rows if r["heads_block"]]
    assert heads and not any(r["multiline"] for r in heads)  # `    if n < 2:` above its body: one line
    assert any(r["multiline"] for r in rows)  # other empty lines still ask for a block
    misses = [(r["prediction"], r["reference"]) for name in SETS for r in report["rows"][name] if not r["em"]]
    assert misses == []  # the shown text is the reference
    summary = report["summary"]["heldout-single-line"]
    assert summary["all"]["n"] == len(rows) and summary["heads a block"]["n"] == len(heads)
    assert summary["all"]["forward_passes"] == 2 * len(rows)
    assert summary["heads a block"]["multiline"] == 0.0
    table = out.with_suffix(".md").read_text()
    assert table.count("\n| ") == 1 + 2 * len(SETS)  # header and two rows a set
    assert len(engine.requests) == sum(len(report["rows"][name]) for name in SETS)
    assert len({r.cache_key for r in engine.requests}) == len(rows)  # a document per task: cold


def test_a_half_typed_indentation_is_shown_in_front_of_the_answer(bench):
    task = FimTask(
        set_name="s",
        task_id="t",
        language="python",
        prefix="def f(x):\n  ",
        suffix="\n",
        middle="  return x",
        multiline=False,
    )
    engine = ReferenceEngine([task])
    result, multiline, heads = bench.shown(engine, task, 0, bench.Config(), bench.TokenCounter())
    assert engine.requests[0].prefix.endswith("def f(x):\n    ")
    assert (result.text, multiline, heads) == ("  return x", True, False)
