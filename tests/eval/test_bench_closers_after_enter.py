"""bench/closers_after_enter.py on fixed answers: which lines become tasks, and how a shown edit that
replaces indentation is applied and judged."""

from __future__ import annotations

import bench_scripts
import pytest
from mercury.denoiser.api import CompletionRequest, CompletionResult

JS = (
    "function f(xs) {\n  for (const x of xs) {\n    g(x);\n  }\n  const y = [\n    1,\n  ];\n  return y;\n}\n"
)


@pytest.fixture(scope="module")
def bench():
    return bench_scripts.load("closers_after_enter")


class FixedEngine:
    def __init__(self, text: str) -> None:
        self.text = text

    def complete(self, request: CompletionRequest) -> CompletionResult:
        return CompletionResult(text=self.text, stop_reason="eom", forward_passes=1, tokens=1)


def test_closer_lines_below_code_that_opens_nothing(bench):
    assert bench.closer_lines(JS) == [3, 6, 8]  # the loop's `}`, the list's `];`, the function's `}`
    assert bench.closer_lines("f(\n)\n") == []  # right below its opener: an empty call, no block to end


def test_a_task_is_the_line_emptied_to_the_indentation_above(bench, monkeypatch):
    monkeypatch.setattr(bench, "programs", lambda name, cfg: [("f.js", JS)])
    first, *_ = bench.tasks("humaneval-x-line-js", None, None, 0)
    assert first["before"].endswith("    g(x);\n    ") and first["after"].startswith("\n  const y")
    assert first["line"] == "  }"


def test_a_closer_shown_past_the_typed_indentation_closes_the_line_exactly(bench, monkeypatch):
    monkeypatch.setattr(bench, "programs", lambda name, cfg: [("f.js", JS)])
    task = bench.tasks("humaneval-x-line-js", None, None, 0)[0]
    counter, config = bench.TokenCounter(), bench.Config()
    got = bench.shown_line(FixedEngine("}"), task, "javascript", config, counter)
    assert (got["text"], got["dedent"]) == ("}", 2)
    assert got["filled"] == JS
    nothing = bench.shown_line(FixedEngine(""), task, "javascript", config, counter)
    assert not nothing["shown"] and nothing["filled"] != JS
