"""How sure a figure of `mercury eval` is: intervals for one model, paired tests between two.

At 5% exact match on 500 tasks a single run's figure is 25 +- 10 tasks, so "model A beats model B
by one point" means nothing without the spread. Two models run on the same tasks are compared
task by task, which is much sharper than comparing their two intervals:

- exact match and pass@1 (yes/no per task): the tasks only one of the two gets right decide, and
  McNemar's exact test asks whether that split could be a coin's (a two-sided binomial test);
- any per-task figure (edit similarity too): the mean difference with a 95% interval from a paired
  bootstrap over tasks (seeded, so a report is reproducible).

Tasks cut from one document are not independent: 3,000 held-out lines come from 30 files, and a
file the model reads well gives it many lines at once. Where rows name their `source` and some
source has several tasks, the bootstrap resamples whole sources (a cluster bootstrap), and the
test is McNemar's for clustered pairs (Durkalski et al. 2003: the discordant counts summed per
source, a chi-square with one degree of freedom), which widen the interval and raise p as the
clustering warrants. With one task per source both reduce to the plain versions above.

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


def clustered_mcnemar_p(discordant: list[tuple[int, int]]) -> float:
    """p of McNemar's test for clustered pairs (Durkalski et al. 2003) from each source's (tasks only
    the baseline gets right, tasks only the model does): (sum of b - c)^2 / sum of (b - c)^2,
    against a chi-square with one degree of freedom."""
    spread = sum((b - c) ** 2 for b, c in discordant)
    if spread == 0:
        return 1.0
    statistic = sum(b - c for b, c in discordant) ** 2 / spread
    return math.erfc(math.sqrt(statistic / 2))


def bootstrap_interval(
    differences: list[float], sources: list[str] | None = None
) -> tuple[float, float] | None:
    """95% percentile interval of the mean of paired per-task differences, resampling whole
    sources where `sources` (one per difference) groups them (with each source once, the draws
    are those of the plain bootstrap)."""
    if not differences:
        return None
    sums, counts = _by_source(differences, sources)
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    picks = rng.integers(0, len(sums), size=(BOOTSTRAP_SAMPLES, len(sums)))
    means = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)
    low, high = np.percentile(means, [2.5, 97.5])
    return float(low), float(high)


def _by_source(values: list[float], sources: list[str] | None) -> tuple[np.ndarray, np.ndarray]:
    """(sum, count) of `values` per source, in order of first appearance; each value alone without sources."""
    if sources is None:
        return np.asarray(values, dtype=np.float64), np.ones(len(values))
    index: dict[str, int] = {}
    for source in sources:
        index.setdefault(source, len(index))
    keys = np.fromiter((index[s] for s in sources), dtype=np.int64, count=len(sources))
    sums = np.bincount(keys, weights=np.asarray(values, dtype=np.float64), minlength=len(index))
    return sums, np.bincount(keys, minlength=len(index)).astype(np.float64)


def paired_binary(pairs: list[tuple[bool, bool]], sources: list[str] | None = None) -> dict:
    """Paired yes/no outcomes (baseline, model): the difference, its interval and McNemar's test,
    clustered by `sources` (one per pair) where a source has several pairs."""
    only_baseline = sum(a and not b for a, b in pairs)
    only_model = sum(b and not a for a, b in pairs)
    diffs = [float(b) - float(a) for a, b in pairs]
    clustered = sources is not None and len(set(sources)) < len(sources)
    if clustered:
        per_source: dict[str, list[int]] = {}
        for (a, b), source in zip(pairs, sources, strict=True):
            counts = per_source.setdefault(source, [0, 0])
            counts[0] += a and not b
            counts[1] += b and not a
        p_value = clustered_mcnemar_p([(b, c) for b, c in per_source.values()])
    else:
        p_value = mcnemar_p(only_baseline, only_model)
    return {
        "difference": _round(sum(diffs) / len(diffs)),
        "interval": _round_pair(bootstrap_interval(diffs, sources)),
        "only_baseline": only_baseline,
        "only_model": only_model,
        "p_value": round(p_value, 4),
    }


def compare_rows(baseline: list[dict], model: list[dict]) -> dict:
    """Task-by-task comparison of two models' rows (`evaluate.score`) on the same tasks.

    Only tasks both have are compared (matched by task_id); pass@1 only over tasks that both
    executed. Each figure is model minus baseline. Rows with a `source` are clustered by it (rows
    without one, as in older prediction files, count as their own source)."""
    theirs = {row["task_id"]: row for row in baseline}
    pairs = [(theirs[row["task_id"]], row) for row in model if row["task_id"] in theirs]
    if not pairs:
        return {"n": 0}
    sources = [b.get("source") or b["task_id"] for _, b in pairs]
    result = {
        "n": len(pairs),
        "sources": len(set(sources)),
        "exact_match": paired_binary([(bool(a["em"]), bool(b["em"])) for a, b in pairs], sources),
    }
    es = [b["es"] - a["es"] for a, b in pairs]
    result["edit_similarity"] = {
        "difference": _round(sum(es) / len(es)),
        "interval": _round_pair(bootstrap_interval(es, sources)),
    }
    executed = [
        ((a["passed"], b["passed"]), source)
        for (a, b), source in zip(pairs, sources, strict=True)
        if a["passed"] is not None and b["passed"] is not None
    ]
    if executed:
        outcomes, ran = zip(*executed, strict=True)
        result["pass_at_1"] = {"n": len(executed), **paired_binary(list(outcomes), list(ran))}
    return result


def _round(value: float) -> float:
    return round(value, 4)


def _round_pair(pair: tuple[float, float] | None) -> list[float] | None:
    return None if pair is None else [_round(pair[0]), _round(pair[1])]
