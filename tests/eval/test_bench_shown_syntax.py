"""bench/shown_syntax.py on fake engines: how answers and shown edits are judged and counted."""

from __future__ import annotations

import json
from pathlib import Path

import bench_scripts
import pytest
from mercury.denoiser.api import CompletionRequest, CompletionResult

from mercury import evaluate


@pytest.fixture(scope="module")
def bench():
    return bench_scripts.load("shown_syntax")


class FixedEngine:
    """Answers every request with the same text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def complete(self, request: CompletionRequest) -> CompletionResult:
        return CompletionResult(text=self.text, stop_reason="eom", forward_passes=1, tokens=1)


def run(bench, monkeypatch, corpus: Path, tmp_path: Path, answer: str) -> dict:
    monkeypatch.setattr(evaluate, "load_engine", lambda *args, **kwargs: FixedEngine(answer))
    out = tmp_path / "report.json"
    bench.main(["--corpus", str(corpus), "--cursors", "12", "--out", str(out)])
    return json.loads(out.read_text())


def test_a_breaking_answer_is_counted_both_ways(bench, monkeypatch, fake_corpus, tmp_path):
    report = run(bench, monkeypatch, fake_corpus, tmp_path, "def (:")
    summary = report["summary"]
    assert summary["cursors"] == 12
    assert summary["answer_adds_errors"] == summary["shown_adds_errors"] > 0  # not in strings
    assert summary["shown_adds_errors_answer_did_not"] == 0
    assert {failure["answer"] for failure in report["failures"]} == {"def (:"}


def test_an_edit_over_the_auto_closed_rest_is_judged_with_it_replaced(bench):
    counter, text, cursor = bench.TokenCounter(), "x = f()\ny = 2\n", len("x = f(")
    row = bench.check(FixedEngine("2)"), text, cursor, 0, "python", counter)
    assert not row["answer_ok"] and row["shown_ok"]  # f(2)) as answered; f(2) as shown, over the ")"
    row = bench.check(FixedEngine("2"), text, cursor, 0, "python", counter)
    assert row["answer_ok"] and row["shown_ok"]


def test_an_edit_that_replaces_indentation_is_judged_with_it_removed(bench):
    before, after = "if x:\n    y = 1\n    ", "\n    y = 2\n"
    assert bench._edit_ok(before, after, bench.Edit("else:", dedent=4), "python")
    assert not bench._edit_ok(before, after, bench.Edit("else:"), "python")  # inside the if's body


def test_an_empty_answer_adds_nothing(bench, monkeypatch, fake_corpus, tmp_path):
    summary = run(bench, monkeypatch, fake_corpus, tmp_path, "")["summary"]
    assert summary["answer_adds_errors"] == summary["shown_adds_errors"] == 0


def test_damage_keeps_the_cursor_in_the_file(bench):
    import random

    rng = random.Random(3)
    for _ in range(200):
        text, offset = bench.damaged("def f():\n    return 1\n", rng, cut_files=False)
        assert 0 <= offset <= len(text)
