"""What an editor is shown at each evaluation task's cursor, scored like `mercury eval`.

    python bench/server_answers.py --model coder-mini --sets heldout-single-line humaneval-x-line \
        --threads 1 --out docs/bench/server_answers.json

`mercury eval` asks the engine for each task's middle in the task's own mode (single- or
multi-line) with the evaluation's context. The language server decides more itself: it builds the
request from the open file at the cursor (its context windows, single or multi-line from the
cursor's line, a half-typed indentation finished) and post-processes the answer before showing it.
This benchmark opens each task's file (the middle removed), puts the cursor at the task's position,
builds the request and cleans the answer exactly as mercury-lsp does (mercury.lsp.context and
postprocess, without the stdio transport, which adds nothing to the answer; lsp_latency.py times
it), and scores the shown text against the reference with `mercury eval`'s rules and context.

Reported per set: n; multi-line, the share of requests the server sends as multi-line; exact
match, edit similarity, pass@1 where executed, parseable, empty; forward passes; median ms per
completion. A second row per set covers only the tasks whose cursor is on an empty line above
deeper-indented code (`heads_the_lines_below`): inserting a block's header. Every completion is
cold (its own document in the engine's cache).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

# bench/ is on sys.path: this script's folder
from _report import add_run_options, command_line, publish, table_head
from mercury.lsp.config import Config
from mercury.lsp.context import (
    TokenCounter,
    build_request,
    heads_the_lines_below,
    indent_padding,
    read_cursor,
)
from mercury.lsp.postprocess import clean
from tqdm import tqdm

from mercury import evaluate
from mercury.eval_metrics import aggregate
from mercury.eval_tasks import FimTask

DEFAULT_SETS = ("heldout-single-line", "heldout-multi-line", "humaneval-x-line")


def shown(
    engine, task: FimTask, index: int, config: Config, counter: TokenCounter
) -> tuple[dict, bool, bool]:
    """(the engine's result with the shown text, whether the request was multi-line, whether the
    cursor heads deeper code) for one task, as mercury-lsp answers at its cursor."""
    line, column = task.prefix.count("\n"), len(task.prefix) - (task.prefix.rfind("\n") + 1)
    uri = f"file:///task{index}"  # a document per task: every completion is cold
    cursor = read_cursor(
        task.prefix + task.suffix, line, column, "utf-32", uri=uri, language_id=task.language
    )
    request, _ = build_request(cursor, config, counter)
    result = engine.complete(request)
    cleaned = clean(indent_padding(cursor) + result.text, cursor, request)
    # scored as its text even where it replaces indentation before the cursor (`dedent`), which the
    # cursor's own indentation, the reference's, makes rare (a closer indented deeper than its opener)
    text = cleaned.text if cleaned else ""
    return replace(result, text=text), request.multiline, heads_the_lines_below(cursor)


def run_set(engine, name: str, cfg: evaluate.EvalConfig, config: Config, counter: TokenCounter) -> list[dict]:
    rows = []
    for index, task in enumerate(
        tqdm(evaluate.build_set(name, cfg), desc=name, unit="task", file=sys.stderr)
    ):
        start = time.perf_counter()
        result, multiline, heads = shown(engine, task, index, config, counter)
        wall_ms = (time.perf_counter() - start) * 1000
        row = evaluate.score(task, evaluate.make_request(task, cfg), result, wall_ms, cfg.limits)
        rows.append({**row, "multiline": multiline, "heads_block": heads})
    return rows


def summary(rows: list[dict]) -> dict:
    metrics = aggregate(rows)
    return {
        "n": len(rows),
        "multiline": round(statistics.fmean(r["multiline"] for r in rows), 4) if rows else None,
        "exact_match": metrics["exact_match"],
        "edit_similarity": metrics["edit_similarity"],
        "pass_at_1": metrics["pass_at_1"],
        "parseable": metrics["syntax_valid"],
        "empty": metrics["empty"],
        "forward_passes": sum(r["forward_passes"] for r in rows),
        "median_ms": metrics["median_ms"],
    }


def markdown(report: dict, command: str) -> str:
    lines = [
        *table_head(report, command),
        "| set | tasks | n | multi-line requests | EM | ES | pass@1 | parseable | empty | forward passes "
        "| median ms |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, rows in report["summary"].items():
        for part, s in rows.items():
            cells = [
                s["multiline"],
                s["exact_match"],
                s["edit_similarity"],
                s["pass_at_1"],
                s["parseable"],
                s["empty"],
            ]
            shares = [f"{100 * v:.1f}%" if v is not None else "-" for v in cells]
            lines.append(
                f"| {name} | {part} | {s['n']} | "
                + " | ".join(shares)
                + f" | {s['forward_passes']} | {s['median_ms'] or '-'} |"
            )
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_options(p)
    p.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS), choices=evaluate.ALL_SETS, metavar="SET")
    p.add_argument("--limit", type=int, default=0, help="tasks per set (a seeded sample); 0: all")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    engine = evaluate.load_engine(args.model, "cpu", constrained=True, threads=args.threads)
    cfg = evaluate.EvalConfig(
        sets=tuple(args.sets),
        limit=args.limit or None,
        seed=args.seed,
        corpus=tuple(args.corpus),
        eval_data=args.eval_data,
    )
    counter = TokenCounter.from_file(Path(getattr(engine, "folder", ".")) / "tokenizer.json")
    config = Config()
    rows = {name: run_set(engine, name, cfg, config, counter) for name in cfg.sets}
    report = {
        "created": time.strftime("%Y-%m-%d %H:%M"),
        "machine": evaluate.machine_info(),
        "model": args.model,
        "config": {"sets": list(cfg.sets), "limit": cfg.limit, "seed": cfg.seed},
        "summary": {
            name: {"all": summary(r), "heads a block": summary([x for x in r if x["heads_block"]])}
            for name, r in rows.items()
        },
        "rows": rows,
    }
    publish(report, markdown(report, command_line("server_answers.py", argv)), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
