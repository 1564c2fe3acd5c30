"""Scores for one completion against its reference, and the aggregate over a set.

- exact match: equal after trailing whitespace is removed from every line and blank lines at both
  ends are dropped. Leading indentation still counts: a line at the wrong depth is wrong Python.
- edit similarity: the Indel similarity of the stripped strings in [0, 1], what CrossCodeEval
  reports as `fuzz.ratio` / 100; rapidfuzz when installed, else difflib with autojunk off.
- SAFIM API "syntax match": whitespace-free string equality or, for Python calls, the same callee
  and the same positional and keyword arguments (ast), as the SAFIM paper's scorer describes.
"""

from __future__ import annotations

import ast
import difflib
import statistics

from mercury.eval_stats import wilson_interval

try:  # the maintained implementation of the Indel ratio; difflib gives the same on most inputs
    from rapidfuzz.fuzz import ratio as _rf_ratio
except ImportError:  # pragma: no cover - depends on the environment
    _rf_ratio = None


def normalize_lines(text: str) -> str:
    """Text with trailing whitespace removed per line and blank lines dropped at both ends."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def exact_match(prediction: str, reference: str) -> bool:
    return normalize_lines(prediction) == normalize_lines(reference)


def edit_similarity(prediction: str, reference: str) -> float:
    """Similarity in [0, 1] of the stripped strings (1.0 when both are empty)."""
    a, b = prediction.strip(), reference.strip()
    if not a and not b:
        return 1.0
    if _rf_ratio is not None:
        return _rf_ratio(a, b) / 100.0
    return difflib.SequenceMatcher(None, a, b, autojunk=False).ratio()


def _call_parts(text: str) -> tuple[str, list[str], dict[str, str]] | None:
    """(callee, positional args, keyword args) as ast dumps, or None when `text` is no call."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None
    if not isinstance(node, ast.Call):
        return None
    keywords = {str(k.arg): ast.dump(k.value) for k in node.keywords}
    return ast.dump(node.func), [ast.dump(a) for a in node.args], keywords


def api_syntax_match(prediction: str, reference: str) -> bool:
    """SAFIM's API-split criterion (see the module docstring)."""
    if "".join(prediction.split()) == "".join(reference.split()):
        return True
    ours, theirs = _call_parts(prediction), _call_parts(reference)
    return ours is not None and ours == theirs


def _mean(values: list[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def _interval(successes: int, n: int) -> list[float] | None:
    pair = wilson_interval(successes, n)
    return None if pair is None else [round(pair[0], 4), round(pair[1], 4)]


def aggregate(rows: list[dict]) -> dict:
    """Set-level figures from per-task rows (keys: em, es, passed, syntax_ok, forward_passes,
    tokens, elapsed_ms, empty). Forward passes per token is a ratio of sums, so long completions
    weigh by their length, as they do in wall time."""
    tokens = sum(r["tokens"] for r in rows)
    passes = [r["passed"] for r in rows if r.get("passed") is not None]
    syntax = [r["syntax_ok"] for r in rows if r.get("syntax_ok") is not None]
    times = [r["elapsed_ms"] for r in rows]
    return {
        "n": len(rows),
        "exact_match": _mean([float(r["em"]) for r in rows]),
        "exact_match_interval": _interval(sum(bool(r["em"]) for r in rows), len(rows)),
        "edit_similarity": _mean([r["es"] for r in rows]),
        "pass_at_1": _mean([float(p) for p in passes]),
        "syntax_valid": _mean([float(s) for s in syntax]),
        "empty": _mean([float(r["empty"]) for r in rows]),
        "forward_passes_per_token": round(sum(r["forward_passes"] for r in rows) / tokens, 4)
        if tokens
        else None,
        "median_ms": round(statistics.median(times), 1) if times else None,
        "tokens_per_s": round(1000 * tokens / sum(times), 1) if times and sum(times) > 0 else None,
    }
