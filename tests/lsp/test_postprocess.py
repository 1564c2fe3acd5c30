"""Golden tests for post-processing: one case per file in tests/lsp/golden/ (Tabby's postprocess/golden).

A case holds a `document` with ║ at the cursor, the raw engine `completion`, optionally `language`
(a languageId, default python), `multiline`, `prefix_tokens` and `suffix_tokens` (the windows'
budgets, at 3 characters a token), and one expectation: `expected` (the inserted text,
with `replace` characters of the line suffix and `dedent` of the indentation before the cursor
covered by the range), `unchanged`, or `discard`.
A known bad case keeps a `fixme` reason and runs as a strict xfail instead of being deleted.
"""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from mercury.lsp.config import Config, TokenBudgets
from mercury.lsp.context import TokenCounter, build_request, read_cursor
from mercury.lsp.postprocess import Edit, clean, fit_line_suffix

GOLDEN = Path(__file__).resolve().parent / "golden"
CURSOR = "║"


def _cases() -> list:
    cases = []
    for path in sorted(GOLDEN.glob("*.toml")):
        case = tomllib.loads(path.read_text(encoding="utf-8"))
        marks = [pytest.mark.xfail(reason=case["fixme"], strict=True)] if "fixme" in case else []
        cases.append(pytest.param(case, id=path.stem, marks=marks))
    return cases


def run_case(case: dict) -> Edit | None:
    document = case["document"]
    offset = document.index(CURSOR)
    source = document.replace(CURSOR, "")
    before = source[:offset]
    line = before.count("\n")
    column = len(before) - (before.rfind("\n") + 1)
    language_id = case.get("language", "python")
    cursor = read_cursor(
        source, line, column, "utf-32", uri=f"file:///golden.{language_id}", language_id=language_id
    )
    assert cursor is not None
    policy = {True: "always", False: "never"}.get(case.get("multiline"), "auto")
    default = TokenBudgets()
    tokens = replace(
        default,
        prefix=case.get("prefix_tokens", default.prefix),
        suffix=case.get("suffix_tokens", default.suffix),
    )
    request, _ = build_request(cursor, Config(multiline=policy, tokens=tokens), TokenCounter())
    text = clean(case["completion"], cursor, request)
    return None if text is None else fit_line_suffix(text, cursor)


@pytest.mark.parametrize("case", _cases())
def test_golden(case: dict):
    edit = run_case(case)
    if case.get("discard"):
        assert edit is None, case["description"]
    elif case.get("unchanged"):
        assert edit == Edit(case["completion"], 0), case["description"]
    else:
        expected = Edit(case["expected"], case.get("replace", 0), case.get("dedent", 0))
        assert edit == expected, case["description"]


def test_every_golden_file_has_one_expectation():
    for path in GOLDEN.glob("*.toml"):
        case = tomllib.loads(path.read_text(encoding="utf-8"))
        assert case.get("description"), path.name
        assert sum(key in case for key in ("expected", "unchanged", "discard")) == 1, path.name
