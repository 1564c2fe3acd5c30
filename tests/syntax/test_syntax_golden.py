"""Golden cases for the syntax constraint: one TOML file per case under tests/syntax/golden/<language>/.

Each file holds a `description`, the `language`, the `prefix`, `middle` and `suffix`, whether
the draft is `complete` (default true), the expected `invalid` character ranges of the middle,
the same ranges as text (`invalid_text`, for the reader) and, for complete drafts, whether the
final check `accepts` it. A known bad case keeps a `fixme` note and runs as a strict xfail
rather than being deleted (the tabby golden-file habit, STYLE.md "tests/").
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from mercury.syntax import SyntaxConstraint

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(GOLDEN.glob("*/*.toml"))


def _load(path: Path) -> dict:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _params() -> list:
    params = []
    for path in CASES:
        case = _load(path)
        marks = [pytest.mark.xfail(reason=case["fixme"], strict=True)] if "fixme" in case else []
        params.append(pytest.param(case, id=f"{path.parent.name}/{path.stem}", marks=marks))
    return params


def test_every_required_language_has_cases() -> None:
    assert {p.parent.name for p in CASES} >= {"python", "javascript", "rust", "go"}


@pytest.mark.parametrize("case", _params())
def test_golden_case(case: dict) -> None:
    constraint = SyntaxConstraint(case["language"], case["prefix"], case["suffix"])
    complete = case.get("complete", True)
    middle = case["middle"]
    ranges = constraint.invalid_ranges(middle, complete)
    assert [middle[a:b] for a, b in ranges] == case["invalid_text"]
    assert ranges == [tuple(r) for r in case["invalid"]]
    if complete:
        assert constraint.accepts(middle) is case["accepts"]


@pytest.mark.parametrize("case", _params())
def test_golden_case_after_other_drafts(case: dict) -> None:
    """The same answer when the tree was edited from earlier drafts, as during sampling."""
    constraint = SyntaxConstraint(case["language"], case["prefix"], case["suffix"])
    complete = case.get("complete", True)
    middle = case["middle"]
    for draft in (middle[: len(middle) // 2], middle + "\n}) x", "", middle[1:]):
        constraint.invalid_ranges(draft, complete)
        constraint.accepts(draft)
    assert constraint.invalid_ranges(middle, complete) == [tuple(r) for r in case["invalid"]]
    if complete:
        assert constraint.accepts(middle) is case["accepts"]
