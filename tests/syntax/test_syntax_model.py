"""The syntax constraint in the loop of the shipped model: lines whose first draft ends a token early.

The model's first draft of these lines stops one token short (`except ValueError` + newline, where a
`:` belongs). Tree-sitter's error covers the text, not the missing token; the sampler bans the end
it guessed instead of the text (`_line_culprit`), and the right line survives. Exact texts depend on
the shipped weights: retrained weights may need new cases. The engine sets each constraint up on its
worker thread while the first forward pass runs.
"""

from __future__ import annotations

import threading

import pytest
from mercury.denoiser import sampler
from mercury.denoiser.api import CompletionRequest
from mercury.denoiser.engine import Engine
from mercury.syntax import languages
from mercury.syntax.constraint import SyntaxConstraint

CASES = [
    (
        "def parse(arg):\n    try:\n        lineno = int(arg)\n    ",
        "\n        print('Bad lineno: %s' % arg)\n        return\n    return lineno\n",
        "except ValueError:",
    ),
    (
        'def init_builtin(name):\n    """Load and return a built-in module by name."""\n    t',
        "\n        return _builtin_from_name(name)\n    except ImportError:\n        return None\n",
        "ry:",
    ),
]


@pytest.fixture(scope="module")
def engine() -> Engine:
    return Engine.load("coder-mini", threads=1)


@pytest.mark.parametrize(("prefix", "suffix", "line"), CASES)
def test_the_shipped_model_keeps_a_line_its_first_draft_ended_early(
    engine, monkeypatch, prefix, suffix, line
):
    request = CompletionRequest(prefix=prefix, suffix=suffix, language="python", multiline=False)
    assert engine.complete(request).text == line
    monkeypatch.setattr(sampler, "END_BANS", 0)  # without the rule the first token is banned instead
    assert engine.complete(request).text != line


SETTER = (
    "class Response:\n    def __init__(self, status):\n        self._status = status\n\n"
    "    @property\n    def status(self):\n        return self._status\n\n    @status.setter\n"
)


def test_the_shipped_model_writes_a_line_where_the_file_is_broken_at_the_cursor(engine, monkeypatch):
    """A decorator whose function lost its `def` line: the checks would leave the line empty."""
    request = CompletionRequest(
        prefix=SETTER, suffix="\n        self._status = value\n", language="python", multiline=False
    )
    line = engine.complete(request).text
    accepted = SyntaxConstraint("python", request.prefix, request.suffix).accepts(line)
    assert line.startswith("    def ") and accepted
    monkeypatch.setattr(SyntaxConstraint, "broken_at_cursor", lambda self: False)
    assert engine.complete(request).text == ""  # without the rule the empty line stands


@pytest.mark.parametrize(
    ("prefix", "suffix", "multiline", "closing"),
    [
        ("NAMES = [\n    'alpha',\n    'beta',\n", "\n\n\ndef main():\n    print(NAMES)\n", False, "]"),
        (
            "def total(xs):\n    return sum(\n        x * 2 for x in xs\n",
            "\n\n\nprint(total([1, 2]))\n",
            True,
            "    )",
        ),
    ],
    ids=["list-line", "call-block"],
)
def test_the_shipped_model_closes_a_bracket_the_code_below_leaves_open(
    engine, monkeypatch, prefix, suffix, multiline, closing
):
    """The model finds no text the file accepts on the blank line; the closer the code below
    wants is the answer, at its opener's width."""
    request = CompletionRequest(prefix=prefix, suffix=suffix, language="python", multiline=multiline)
    result = engine.complete(request)
    assert (result.text, result.stop_reason) == (closing, "closer")
    monkeypatch.setattr(SyntaxConstraint, "closing_line", lambda self: None)
    assert not engine.complete(request).text.strip()  # without it the line stays empty


def test_the_engine_prepares_the_constraint_on_its_worker_before_the_first_check(engine, monkeypatch):
    events = []

    class Recording(SyntaxConstraint):
        def prepare(self):
            events.append(("prepare", threading.current_thread().name))
            super().prepare()

        def invalid_ranges(self, middle, complete):
            events.append(("check", threading.current_thread().name))
            return super().invalid_ranges(middle, complete)

    prefix, suffix, line = CASES[0]
    monkeypatch.setattr(engine, "constraints", lambda r: Recording(r.language, r.prefix, r.suffix))
    request = CompletionRequest(prefix=prefix, suffix=suffix, language="python", multiline=False)
    assert engine.complete(request).text == line  # the same answer as the constraint built in line
    assert events[0] == ("prepare", events[0][1]) and events[0][1].startswith("mercury-syntax")
    checks = events[1:]
    assert checks and all(e == ("check", threading.current_thread().name) for e in checks)


def test_warm_up_runs_a_first_completion_and_caches_no_document(engine, monkeypatch):
    monkeypatch.setattr(languages, "_cache", {})  # as in a fresh process: no grammar loaded yet
    engine.warm_up()
    assert "python" in languages._cache  # the first syntax check has run
    assert not engine.cache._entries


def test_the_servers_load_their_engine_warm(monkeypatch):
    from mercury.denoiser import service
    from mercury.lsp import engines

    warmed = []
    monkeypatch.setattr(Engine, "warm_up", lambda self: warmed.append(self))
    lsp_engine = engines._load_engine("coder-mini", "cpu", True, 1, None)
    daemon_engine = service._load_real_engine(service.build_parser().parse_args(["--threads", "1"]))
    # Where coder-mini routes languages to another model, the main model is warmed, the other
    # one loads at its language's first request.
    assert warmed == [getattr(lsp_engine, "main", lsp_engine), getattr(daemon_engine, "main", daemon_engine)]
