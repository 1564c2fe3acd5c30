"""The syntax constraint in the loop of the shipped model: lines whose first draft ends a token early.

The model's first draft of these lines stops one token short (`except ValueError` + newline, where a
`:` belongs). Tree-sitter's error covers the text, not the missing token; the sampler bans the end
it guessed instead of the text (`_line_culprit`), and the right line survives. Exact texts depend on
the shipped weights: retrained weights may need new cases.
"""

from __future__ import annotations

import pytest
from mercury.denoiser import sampler
from mercury.denoiser.api import CompletionRequest
from mercury.denoiser.engine import Engine

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
