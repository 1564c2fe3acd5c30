"""Metrics on hand-made cases (mercury.eval_metrics)."""

from __future__ import annotations

import pytest

from mercury.eval_metrics import aggregate, api_syntax_match, edit_similarity, exact_match


def test_exact_match_ignores_trailing_whitespace_but_not_indentation():
    assert exact_match("    return x  \n", "    return x")
    assert exact_match("a\r\nb\n\n", "a\nb")
    assert not exact_match("return x", "    return x")
    assert not exact_match("", "x")


def test_edit_similarity():
    assert edit_similarity("abc", "abc") == 1.0
    assert edit_similarity("", "") == 1.0
    assert edit_similarity("", "abc") == 0.0
    assert edit_similarity("abcd", "abce") == pytest.approx(0.75)  # Indel: 2 * 3 / 8


def test_api_syntax_match():
    assert api_syntax_match("np.sum(a,axis=0)", "np.sum(a, axis=0)")
    assert api_syntax_match("f(x, b=2, a=1)", "f(x, a=1, b=2)")  # keyword order does not matter
    assert not api_syntax_match("f(1, x)", "f(x, 1)")
    assert not api_syntax_match("g(x)", "f(x)")
    assert not api_syntax_match("f(x", "f(x)")


def test_aggregate_shape():
    rows = [
        {
            "em": True,
            "es": 1.0,
            "passed": True,
            "syntax_ok": True,
            "empty": False,
            "forward_passes": 2,
            "tokens": 8,
            "elapsed_ms": 10.0,
        },
        {
            "em": False,
            "es": 0.5,
            "passed": None,
            "syntax_ok": False,
            "empty": True,
            "forward_passes": 2,
            "tokens": 0,
            "elapsed_ms": 30.0,
        },
    ]
    agg = aggregate(rows)
    assert agg["n"] == 2 and agg["exact_match"] == 0.5 and agg["edit_similarity"] == 0.75
    assert agg["pass_at_1"] == 1.0  # only rows with tests count
    assert agg["forward_passes_per_token"] == 0.5 and agg["median_ms"] == 20.0
    assert aggregate([])["exact_match"] is None
