"""Held-out loss against training time for coder-mini and its AR baseline, from their training logs.

    python bench/training_curve.py docs/train/coder-mini-scratch.log.jsonl \
        docs/train/coder-mini.log.jsonl docs/train/coder-mini-ar.log.jsonl --out docs/training_curve.png

The logs are the `log.jsonl` that `mercury train` writes beside the weights (a continued run's log
appended with its step and time offsets). The two models' losses are not comparable with each other
(diffusion + weight x next-token against next-token alone), and a diffusion run's total changes
meaning when its next-token weight does; its diffusion part, logged since the weight study, is drawn
on its own. Each curve shows whether more time still helps its own model.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def heldout_curve(log: Path, key: str = "heldout_loss") -> tuple[list[float], list[float]]:
    """(minutes of training steps, held-out loss) from one training log; `key` picks the loss part."""
    rows = [json.loads(line) for line in log.read_text().splitlines() if line.strip()]
    points = sorted((r["elapsed_s"] / 60, r[key]) for r in rows if key in r)
    return [m for m, _ in points], [loss for _, loss in points]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("logs", nargs="+", type=Path)
    p.add_argument("--out", type=Path, default=Path("docs/training_curve.png"))
    args = p.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(args.logs), figsize=(5 * len(args.logs), 3.5), squeeze=False)
    for ax, log in zip(axes[0], args.logs, strict=True):
        for key, label in (("heldout_loss", "total"), ("heldout_diff_loss", "diffusion part")):
            minutes, loss = heldout_curve(log, key)
            if minutes:
                ax.plot(minutes, loss, marker=".", label=label)
        ax.legend()
        ax.set_title(log.name.removesuffix(".log.jsonl"))
        ax.set_xlabel("minutes of training steps (one CPU core)")
        ax.set_ylabel("held-out loss")
        ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(args.out, dpi=110)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
