"""The syntax constraint on and off: one model, the same held-out tasks (issue 5, item 4).

    python bench/constraints.py --model coder-mini --limit 200 --threads 1 --out docs/constraints.json

Every task is completed twice by one loaded engine: with `constrained=False` on the request and
with `constrained=True` (the engine is loaded with the constraint available; the request decides),
so weights, sampler and context are identical and only the constraint differs. The two runs of a
task go in alternating order, so drift in machine load falls on both alike.

Reported per set (language and kind), and pooled per kind over all sets:
  parseable  share of completions after which the file has no more syntax errors than the
             original file, the reference in place (`mercury eval`'s syntax column). Nearly all
             original files parse cleanly, so this is "the completed file parses"; an empty
             completion in a half-written line fails it;
  no new errors   share with no more errors than the file without the completion (prefix +
             suffix), what the constraint promises. Laxer: the file without the completion is
             often broken at the cursor, and an error count cannot tell one error from another.
             Both count ERROR and MISSING nodes with mercury.parsecheck, which is independent of
             the constraint's own rules, so the constraint is not graded by itself;
  EM         exact match; pass@1 where the tests are executed (see `mercury eval`'s notes);
  EM lost / gained (p)   tasks only the unconstrained run matched / only the constrained one,
             and McNemar's exact p of that split (mercury.eval_stats): whether the constraint
             lowers exact match beyond chance;
  empty      share of empty completions (the constraint returns nothing rather than a break);
  reference refused   share of tasks whose reference middle the constraint's final check refuses:
             the constraint can never return the right answer there (a window cut inside a
             function or a literal leaves errors that the reference is blamed for);
  time       median wall ms per completion in each mode; added ms per completion (constrained
             minus unconstrained, paired per task): median and mean; added % = mean constrained /
             mean unconstrained - 1 (issue 5's target: at most 15%).

Sets (mercury eval names): held-out single-line and multi-line for Python, Go and Rust (corpus
dirs as `mercury eval --corpus`), and HumanEval-X single-line Python and JS (executed with node).
The JSON report (--out) holds the config, the machine, the summaries and every completion; the
markdown table goes to the same path with .md and to stdout.
"""

from __future__ import annotations

import argparse
import datetime
import statistics
import sys
import time
from dataclasses import replace
from functools import partial

# bench/ is on sys.path: this script's folder
from _report import add_run_options, command_line, machine_line, publish
from mercury.syntax.window import MULTILINE_QUOTES
from tqdm import tqdm

from mercury import evaluate, parsecheck
from mercury.eval_metrics import aggregate
from mercury.eval_stats import paired_binary
from mercury.eval_tasks import FimTask

MODES = ("unconstrained", "constrained")
DEFAULT_SETS = (
    "heldout-single-line",
    "heldout-multi-line",
    "heldout-go-single-line",
    "heldout-go-multi-line",
    "heldout-rust-single-line",
    "heldout-rust-multi-line",
    "humaneval-x-line",
    "humaneval-x-line-js",
)


# --- running ----------------------------------------------------------------------------------


def complete_once(engine, task: FimTask, cfg: evaluate.EvalConfig, constrained: bool) -> dict:
    """One completion of `task` in one mode, scored like `mercury eval` scores it."""
    request = replace(evaluate.make_request(task, cfg), constrained=constrained)
    start = time.perf_counter()
    result = engine.complete(request)
    wall_ms = (time.perf_counter() - start) * 1000
    row = evaluate.score(task, request, result, wall_ms, cfg.limits)
    row["vetoed"] = result.vetoed
    row["no_new_errors"] = no_new_errors(task, request, result.text)
    return row


def no_new_errors(task: FimTask, request, text: str) -> bool | None:
    """True when prefix + text + suffix has no more syntax errors than prefix + suffix, or than the
    original file (None when no grammar is installed): parsecheck's rule with the empty middle, then
    the reference, as the file to compare with. A count of error nodes is not telling where the
    right line itself adds some: `if __name__ == '__m` cut there leaves a string open whose one
    ERROR hides two that the whole file has, so every answer that closes the string, the reference
    included, counted as adding errors."""
    if not parsecheck.supported(task.language):
        return None
    prefix, suffix, language = request.prefix, request.suffix, task.language
    return parsecheck.valid_in_context(prefix, text, suffix, language, "") or parsecheck.valid_in_context(
        prefix, text, suffix, language, task.middle
    )


def complete_pair(engine, task: FimTask, cfg: evaluate.EvalConfig, constrained_first: bool) -> dict:
    """Both modes for one task: {"unconstrained": row, "constrained": row, "reference_refused": ...}."""
    order = (True, False) if constrained_first else (False, True)
    rows = {flag: complete_once(engine, task, cfg, flag) for flag in order}
    refused = reference_refused(engine, evaluate.make_request(task, cfg), task.middle)
    return {"unconstrained": rows[False], "constrained": rows[True], "reference_refused": refused}


def reference_refused(engine, request, reference: str) -> bool | None:
    """True when the constraint's final check refuses the reference middle itself: the constraint
    can then never return the right answer (None when the language has no constraint)."""
    constraint = engine.constraints(request) if engine.constraints else None
    return None if constraint is None else not constraint.accepts(reference)


def run_set(engine, name: str, tasks: list[FimTask], cfg: evaluate.EvalConfig) -> list[dict]:
    """Pairs for every task of a set, with a progress bar; the order alternates per task."""
    pairs = []
    for i, task in enumerate(tqdm(tasks, desc=name, unit="task", file=sys.stderr, dynamic_ncols=True)):
        pairs.append(complete_pair(engine, task, cfg, constrained_first=i % 2 == 1))
    return pairs


def warm_up(engine, tasks: list[FimTask], cfg: evaluate.EvalConfig) -> None:
    """One untimed completion per mode, so first-call costs (allocations, grammar loading) are
    not charged to whichever mode happens to run first."""
    for task in tasks[:1]:
        complete_pair(engine, task, cfg, constrained_first=False)


# --- aggregation ------------------------------------------------------------------------------


def _kind(task: FimTask) -> str:
    return "multi-line" if task.multiline else "single-line"


def mode_summary(rows: list[dict]) -> dict:
    """The figures of one mode over a list of rows."""
    metrics = aggregate(rows)
    times = [r["elapsed_ms"] for r in rows]
    kept = [float(r["no_new_errors"]) for r in rows if r.get("no_new_errors") is not None]
    return {
        "parseable": metrics["syntax_valid"],
        "no_new_errors": round(statistics.fmean(kept), 4) if kept else None,
        "exact_match": metrics["exact_match"],
        "edit_similarity": metrics["edit_similarity"],
        "pass_at_1": metrics["pass_at_1"],
        "n_executed": sum(r["passed"] is not None for r in rows),
        "empty": metrics["empty"],
        "median_ms": metrics["median_ms"],
        "mean_ms": round(statistics.fmean(times), 1) if times else None,
        "vetoed_per_completion": round(statistics.fmean(r.get("vetoed", 0) for r in rows), 2)
        if rows
        else None,
    }


def summarize(name: str, language: str, kind: str, pairs: list[dict]) -> dict:
    """One table row: both modes' figures and the paired added time."""
    off, on = ([p[mode] for p in pairs] for mode in MODES)
    added = [c["elapsed_ms"] - u["elapsed_ms"] for u, c in zip(off, on, strict=True)]
    mean_off = statistics.fmean(r["elapsed_ms"] for r in off) if off else 0.0
    mean_on = statistics.fmean(r["elapsed_ms"] for r in on) if on else 0.0
    refused = [p["reference_refused"] for p in pairs if p.get("reference_refused") is not None]
    return {
        "set": name,
        "language": language,
        "kind": kind,
        "n": len(pairs),
        "reference_refused": round(statistics.fmean(refused), 4) if refused else None,
        "unconstrained": mode_summary(off),
        "constrained": mode_summary(on),
        # Exact matches the constraint lost and gained, task by task, and McNemar's p of that split
        # (clustered by the document each task was cut from, as in `mercury eval`).
        "exact_match_paired": paired_binary(
            [(bool(u["em"]), bool(c["em"])) for u, c in zip(off, on, strict=True)],
            [c["source"] for c in on] if all("source" in c for c in on) else None,
        )
        if pairs
        else None,
        "added_ms_median": round(statistics.median(added), 1) if added else None,
        "added_ms_mean": round(statistics.fmean(added), 1) if added else None,
        "added_pct": round(100 * (mean_on / mean_off - 1), 1) if mean_off > 0 else None,
    }


def summaries(task_sets: dict[str, list[FimTask]], pairs: dict[str, list[dict]]) -> list[dict]:
    """Per set, then pooled per kind over all sets ("all" rows; pooling weighs sets by size)."""
    rows, pooled = [], {}
    for name, tasks in task_sets.items():
        if not tasks:
            continue
        kind = _kind(tasks[0])
        rows.append(summarize(name, tasks[0].language, kind, pairs[name]))
        pooled.setdefault(kind, []).extend(pairs[name])
    rows += [summarize("all", "all", kind, kind_pairs) for kind, kind_pairs in sorted(pooled.items())]
    return rows


def run_bench(engine, cfg: evaluate.EvalConfig) -> dict:
    """Build the sets, run every task in both modes, and return the report (JSON-ready)."""
    task_sets = {name: evaluate.build_set(name, cfg) for name in cfg.sets}
    warm_up(engine, next((t for t in task_sets.values() if t), []), cfg)
    pairs = {name: run_set(engine, name, tasks, cfg) for name, tasks in task_sets.items()}
    return {
        "config": evaluate.config_dict(cfg),
        "machine": evaluate.machine_info(),
        "notes": evaluate.execution_notes(task_sets),
        "summary": summaries(task_sets, pairs),
        "pairs": pairs,
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


# --- the table --------------------------------------------------------------------------------


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _pair(row: dict, key: str, fmt) -> str:
    return f"{fmt(row['unconstrained'][key])} → {fmt(row['constrained'][key])}"


def _em_split(paired: dict | None) -> str:
    if not paired:
        return "-"
    return f"{paired['only_baseline']} / {paired['only_model']} ({paired['p_value']:.2f})"


_COLUMNS = (
    ("language", lambda r: r["language"]),
    ("kind", lambda r: r["kind"]),
    ("set", lambda r: r["set"]),
    ("n", lambda r: str(r["n"])),
    ("parseable off → on", lambda r: _pair(r, "parseable", _pct)),
    ("no new errors off → on", lambda r: _pair(r, "no_new_errors", _pct)),
    ("EM off → on", lambda r: _pair(r, "exact_match", _pct)),
    ("EM lost / gained (p)", lambda r: _em_split(r.get("exact_match_paired"))),
    ("edit similarity off → on", lambda r: _pair(r, "edit_similarity", _ratio)),
    ("pass@1 off → on", lambda r: _pair(r, "pass_at_1", _pct)),
    ("empty off → on", lambda r: _pair(r, "empty", _pct)),
    ("reference refused", lambda r: _pct(r.get("reference_refused"))),
    ("ms p50 off → on", lambda r: _pair(r, "median_ms", _ms)),
    ("added ms p50 / mean", lambda r: f"{_ms(r['added_ms_median'])} / {_ms(r['added_ms_mean'])}"),
    ("added time", lambda r: "-" if r["added_pct"] is None else f"{r['added_pct']:+.1f}%"),
)


def markdown(report: dict, model: str, command: str) -> str:
    """The table for BENCHMARKS.md, with the command, model and machine above it."""
    cfg = report["config"]
    per_set = cfg["limit"] or "all"
    lines = [
        f"Syntax constraint off → on, model `{model}`, {per_set} tasks per set, seed {cfg['seed']}.",
        f"Command: `{command}`",
        machine_line(report),
        "",
        "| " + " | ".join(name for name, _ in _COLUMNS) + " |",
        "|" + "|".join("---" for _ in _COLUMNS) + "|",
    ]
    lines += ["| " + " | ".join(cell(row) for _, cell in _COLUMNS) + " |" for row in report["summary"]]
    lines += [""] + [f"- {note}" for note in report["notes"]]
    return "\n".join(lines).rstrip() + "\n"


def references_table(engine, cfg: evaluate.EvalConfig, server_tokens: tuple[int, int] | None = None) -> str:
    """Per set: how many reference middles the constraint's final check refuses, and which.

    server_tokens (prefix, suffix): build each request as mercury-lsp does with those context budgets,
    the whole file open in the editor, instead of with the evaluation's clipped context.
    """
    make = evaluate.make_request
    if server_tokens is not None:
        make = partial(server_request, counter=_counter(engine), budgets=server_tokens)
    lines = ["| set | n | reference refused | first refused tasks |", "|---|---|---|---|"]
    for name in cfg.sets:
        tasks = evaluate.build_set(name, cfg)
        refused = [t.task_id for t in tasks if reference_refused(engine, make(t, cfg), t.middle)]
        share = _pct(len(refused) / len(tasks)) if tasks else "-"
        lines.append(f"| {name} | {len(tasks)} | {len(refused)} ({share}) | {', '.join(refused[:3])} |")
    return "\n".join(lines) + "\n"


def quote_probes(task: FimTask) -> list[str]:
    """Middles with a stray multi-line string delimiter (Python's triple quotes, Go's backtick),
    built from the reference: a string that swallows what follows unless something closes it."""
    quotes = MULTILINE_QUOTES.get(task.language, ())
    if not quotes:
        return []
    first, last = quotes[0], quotes[-1]
    body = task.middle.lstrip()
    indent = task.middle[: len(task.middle) - len(body)]
    return [
        indent + first + body,
        task.middle + " " + first,
        indent + first,
        task.middle + "\n" + indent + last + "x",
    ]


def quote_probe_table(engine, cfg: evaluate.EvalConfig) -> str:
    """Per set: how many stray-quote middles the constraint's final check accepts, and how many of
    those add a syntax error to the whole file (a broken promise)."""
    lines = ["| set | probes | accepted | accepted but break the file | first broken |", "|---" * 5 + "|"]
    for name in cfg.sets:
        probes = accepted = 0
        broken: list[str] = []
        for task in evaluate.build_set(name, cfg):
            constraint = engine.constraints(evaluate.make_request(task, cfg)) if engine.constraints else None
            for middle in quote_probes(task) if constraint is not None else []:
                probes += 1
                if constraint.accepts(middle):
                    accepted += 1
                    if not parsecheck.valid_in_context(task.prefix, middle, task.suffix, task.language, ""):
                        broken.append(task.task_id)
        lines.append(f"| {name} | {probes} | {accepted} | {len(broken)} | {', '.join(broken[:3])} |")
    return "\n".join(lines) + "\n"


def server_request(task: FimTask, cfg: evaluate.EvalConfig, counter, budgets: tuple[int, int]):
    """The request mercury-lsp sends at the task's cursor, the file (without the middle) open."""
    from mercury.lsp.config import Config, TokenBudgets
    from mercury.lsp.context import build_request, read_cursor

    line, column = task.prefix.count("\n"), len(task.prefix) - (task.prefix.rfind("\n") + 1)
    text = task.prefix + task.suffix  # the languageId names the language, as a client sends it
    cursor = read_cursor(text, line, column, "utf-32", uri="file:///task", language_id=task.language)
    config = Config(tokens=TokenBudgets(prefix=budgets[0], suffix=budgets[1]))
    return build_request(cursor, config, counter)[0]


def _counter(engine):
    from mercury.lsp.context import TokenCounter

    folder = getattr(engine, "folder", None)
    return TokenCounter.from_file(folder / "tokenizer.json" if folder is not None else None)


# --- command line -----------------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_options(p)
    p.add_argument("--limit", type=int, default=50, help="tasks per set (a seeded sample)")
    p.add_argument("--sets", nargs="+", default=list(DEFAULT_SETS), choices=evaluate.ALL_SETS, metavar="SET")
    p.add_argument(
        "--references-only",
        action="store_true",
        help="only count, per set, the tasks whose reference the constraint refuses (no completions)",
    )
    p.add_argument(
        "--server-tokens",
        type=int,
        nargs=2,
        metavar=("PREFIX", "SUFFIX"),
        help="with --references-only: build the requests as mercury-lsp does with these context budgets",
    )
    p.add_argument(
        "--quote-probes",
        action="store_true",
        help="only count, per set, stray-quote middles the constraint accepts though they break the file",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    engine = evaluate.load_engine(args.model, "cpu", constrained=True, threads=args.threads)
    if getattr(engine, "constraints", True) is None:
        print("the syntax constraint is not available (mercury.syntax failed to import)", file=sys.stderr)
        return 2
    cfg = evaluate.EvalConfig(
        sets=tuple(args.sets),
        limit=args.limit if args.limit and args.limit > 0 else None,
        seed=args.seed,
        corpus=tuple(args.corpus),
        eval_data=args.eval_data,
    )
    if args.quote_probes:
        print(quote_probe_table(engine, cfg))
        return 0
    if args.references_only:
        server_tokens = tuple(args.server_tokens) if args.server_tokens else None
        print(references_table(engine, cfg, server_tokens))
        return 0
    report = run_bench(engine, cfg)
    report["model"] = args.model
    publish(report, markdown(report, args.model, command_line("constraints.py", argv)), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
