"""Per-call cost of the syntax constraint on a 2,000-line Python file (not a test: run by hand).

    .venv/bin/python tests/syntax/bench_constraint.py [--lines 2000] [--steps 200]

The file is the first N lines of the standard library's argparse.py (repeated if N is larger),
the cursor sits at a statement inside a method half-way down, and a 48-character middle is
revealed the way a diffusion sampler commits tokens: a few characters change per step, in
random order. Timings are raw per-call samples; the summary prints median and p95.

Measured 2026-12-07 on the project's 2-core machine of that day (an Intel Xeon with AVX-512),
alone, python 3.11, tree-sitter 0.26.1, default window, STEP_CHECKS lifted (below):
                                       2,000 lines          10,000 lines
    prepare (cut, baseline parses)     0.82 ms              4.3 ms
    first calls                        0.20 ms              0.46 ms
    invalid_ranges, complete=True      0.18 ms (p95 0.42)   0.32 ms (p95 3.3)
    invalid_ranges, complete=False     0.12 ms (p95 0.20)   0.20 ms (p95 0.31)
    accepts (final check, fresh parse) 0.30 ms              1.3 ms
At 10,000 lines the cursor falls deep in a long class: the window's prefix stops at 30 lines (no
top-level line within reach above), and its suffix runs 326 lines down to the next top-level line
(13 KB). The window bounds the cost by the code around the cursor, not by the file's length;
drafts that send tree-sitter's error recovery through such a suffix are what the step checks'
clock budget is for.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from mercury.syntax import SyntaxConstraint
from mercury.syntax import constraint as constraint_module

# Per-call cost is the point here: lift the per-completion budget of parsed drafts, past which
# `invalid_ranges` answers at once without parsing.
constraint_module.STEP_CHECKS = 10**9

MIDDLE = "parser.add_argument('--limit', type=int, default=10)"


def _source(lines: int) -> str:
    import argparse as stdlib_argparse

    with open(stdlib_argparse.__file__, encoding="utf-8") as handle:
        text = handle.read().splitlines(keepends=True)
    while len(text) < lines:
        text += text
    return "".join(text[:lines])


def _cursor(source: str) -> int:
    """Start of an indented line near the middle of the file (a statement inside a method), not a
    clause that continues the statement above (a statement put before `elif` breaks the file)."""
    at = len(source) // 2
    while True:
        at = source.index("\n        ", at) + 1
        line = source[at + 8 : source.index("\n", at)]
        if line[:1].isalpha() and not line.startswith(("elif", "else", "except", "finally")):
            return at + 8


def _ms(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(0.95 * (len(ordered) - 1))]
    return f"median {statistics.median(ordered) * 1e3:.3f} ms  p95 {p95 * 1e3:.3f} ms  (n={len(ordered)})"


def run(lines: int, steps: int, seed: int = 0) -> None:
    source = _source(lines)
    cursor = _cursor(source)
    # The middle is a new statement before the cursor's line, so the file stays valid.
    prefix, suffix = source[:cursor], "\n        " + source[cursor:]
    rng = random.Random(seed)
    build, first, full, draft, final = [], [], [], [], []
    for _ in range(max(1, steps // len(MIDDLE))):
        t0 = time.perf_counter()
        constraint = SyntaxConstraint("python", prefix, suffix)
        constraint.prepare()  # the engine runs this beside the first forward pass
        build.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        constraint.invalid_ranges(" " * len(MIDDLE), True)
        constraint.invalid_ranges("", False)
        first.append(time.perf_counter() - t0)
        shown = [" "] * len(MIDDLE)  # not-yet-committed positions drafted as spaces
        for position in rng.sample(range(len(MIDDLE)), len(MIDDLE)):
            shown[position] = MIDDLE[position]
            middle = "".join(shown)
            t0 = time.perf_counter()
            constraint.invalid_ranges(middle, True)
            full.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            constraint.invalid_ranges(middle.rstrip(), False)
            draft.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        constraint.accepts(MIDDLE)
        final.append(time.perf_counter() - t0)
    print(f"{lines} lines, cursor at char {cursor}")
    print("prepare (window, baselines)     ", _ms(build))
    print("first calls                     ", _ms(first))
    print("invalid_ranges complete=True    ", _ms(full))
    print("invalid_ranges complete=False   ", _ms(draft))
    print("accepts                         ", _ms(final))


if __name__ == "__main__":
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--lines", type=int, default=2000)
    cli.add_argument("--steps", type=int, default=400)
    args = cli.parse_args()
    run(args.lines, args.steps)
