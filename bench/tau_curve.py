"""Speed against quality across the commit threshold tau, with the AR baseline beside it.

    mercury eval --model coder-mini --unconstrained --threads 1 \
        --tau 0.1 0.2 0.3 0.5 0.7 0.8 0.9 1.0 --sets heldout-single-line --out tau_single.json
    mercury eval --model coder-mini-ar --unconstrained --threads 1 --sets heldout-single-line --out ar.json
    python bench/tau_curve.py tau_single.json ar.json --out docs/tau_curve.png

Reads `mercury eval --out` reports: a column `model@tau=x` is a point of the diffusion model's
curve, a column without a tau is a baseline. One row of plots per set: exact match and edit
similarity against forward passes per generated token (each point labelled with its tau), and
tokens/s against tau. A baseline is a star on the first plot and a dashed line on the second.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def curves(reports: list[dict]) -> dict[str, dict[str, list[tuple[float | None, dict]]]]:
    """{set: {model: [(tau, result row), ...] sorted by tau}}; a baseline's only tau is None."""
    series: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for report in reports:
        for column, sets in report["results"].items():
            model, _, tau = column.partition("@tau=")
            for set_name, row in sets.items():
                series[set_name][model].append((float(tau) if tau else None, row))
    for models in series.values():
        for points in models.values():
            points.sort(key=lambda point: -1.0 if point[0] is None else point[0])
    return series


def plot(series: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(series), 2, figsize=(11, 4 * len(series)), squeeze=False)
    for (quality, speed), (set_name, models) in zip(axes, sorted(series.items()), strict=True):
        for model, points in models.items():
            rows = [row for _, row in points]
            passes = [row["forward_passes_per_token"] for row in rows]
            if points[0][0] is None:  # a baseline: one point, one level
                for key, marker in (("exact_match", "*"), ("edit_similarity", "P")):
                    quality.scatter(
                        passes[:1],
                        [100 * rows[0][key]],
                        marker=marker,
                        s=120,
                        color="black",
                        label=f"{model} {key}",
                    )
                speed.axhline(rows[0]["tokens_per_s"], linestyle="--", color="gray", label=model)
                continue
            for key in ("exact_match", "edit_similarity"):
                quality.plot(passes, [100 * row[key] for row in rows], marker="o", label=f"{model} {key}")
            for (tau, row), x in zip(points, passes, strict=True):
                quality.annotate(
                    f"{tau:g}",
                    (x, 100 * row["exact_match"]),
                    fontsize=7,
                    xytext=(3, 3),
                    textcoords="offset points",
                )
            speed.plot(
                [tau for tau, _ in points], [row["tokens_per_s"] for row in rows], marker="o", label=model
            )
        quality.set(xlabel="forward passes per generated token", ylabel="%", title=f"{set_name}: quality")
        speed.set(xlabel="tau", ylabel="tokens/s", title=f"{set_name}: speed", ylim=(0, None))
        for ax in (quality, speed):
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("reports", nargs="+", type=Path, help="`mercury eval --out` JSON reports")
    p.add_argument("--out", type=Path, default=Path("docs/tau_curve.png"))
    args = p.parse_args(argv)
    plot(curves([json.loads(path.read_text()) for path in args.reports]), args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
