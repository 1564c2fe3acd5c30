"""How sure a figure of `mercury eval` is: intervals for one model, paired tests between two.

At 5% exact match on 500 tasks a single run's figure is 25 +- 10 tasks, so "model A beats model B
by one point" means nothing without the spread. Two models run on the same tasks are compared
task by task, which is much sharper than comparing their two intervals:

- exact match and pass@1 (yes/no per task): the tasks only one of the two gets right decide, and
  McNemar's exact test asks whether that split could be a coin's (a two-sided binomial test);
- any per-task figure (edit similarity too): the mean difference with a 95% interval from a paired
  bootstrap over tasks (seeded, so a report is reproducible).

A single model's exact match gets a Wilson score interval, which stays inside [0, 1] and behaves
at the few-successes end where these models live.
"""

from __future__ import annotations

import math

import numpy as np

Z_95 = 1.959964
BOOTSTRAP_SAMPLES = 2000
BOOTSTRAP_SEED = 20261207


def wilson_interval(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """95% score interval of a proportion (None when there are no trials)."""
    if n <= 0:
        return None
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def mcnemar_p(only_first: int, only_second: int) -> float:
    """Two-sided exact McNemar p-value: the chance of a split of the discordant tasks at least this
    uneven if each of them were equally likely to go either way."""
    n = only_first + only_second
    if n == 0:
        return 1.0
    k = min(only_first, only_second)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2 * tail)


def bootstrap_interval(differences: list[float]) -> tuple[float, float] | None:
    """95% percentile interval of the mean of paired per-task differences."""
    if not differences:
        return None
    values = np.asarray(differences, dtype=np.float64)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    picks = rng.integers(0, len(values), size=(BOOTSTRAP_SAMPLES, len(values)))
    means = values[picks].mean(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def paired_binary(pairs: list[tuple[bool, bool]]) -> dict:
    """Paired yes/no outcomes (baseline, model): the difference, its interval and McNemar's test."""
    only_baseline = sum(a and not b for a, b in pairs)
    only_model = sum(b and not a for a, b in pairs)
    diffs = [float(b) - float(a) for a, b in pairs]
    return {
        "difference": _round(sum(diffs) / len(diffs)),
        "interval": _round_pair(bootstrap_interval(diffs)),
        "only_baseline": only_baseline,
        "only_model": only_model,
        "p_value": round(mcnemar_p(only_baseline, only_model), 4),
    }


def compare_rows(baseline: list[dict], model: list[dict]) -> dict:
    """Task-by-task comparison of two models' rows (`evaluate.score`) on the same tasks.

    Only tasks both have are compared (matched by task_id); pass@1 only over tasks that both
    executed. Each figure is model minus baseline."""
    theirs = {row["task_id"]: row for row in baseline}
    pairs = [(theirs[row["task_id"]], row) for row in model if row["task_id"] in theirs]
    if not pairs:
        return {"n": 0}
    result = {
        "n": len(pairs),
        "exact_match": paired_binary([(bool(a["em"]), bool(b["em"])) for a, b in pairs]),
    }
    es = [b["es"] - a["es"] for a, b in pairs]
    result["edit_similarity"] = {
        "difference": _round(sum(es) / len(es)),
        "interval": _round_pair(bootstrap_interval(es)),
    }
    executed = [
        (a["passed"], b["passed"]) for a, b in pairs if a["passed"] is not None and b["passed"] is not None
    ]
    if executed:
        result["pass_at_1"] = {"n": len(executed), **paired_binary(executed)}
    return result


def _round(value: float) -> float:
    return round(value, 4)


def _round_pair(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [_round(pair[0]), _round(pair[1])]
