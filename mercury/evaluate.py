"""`mercury eval`: fill-in-the-middle evaluation of one or more models, side by side.

    mercury eval --model coder-mini --model models/ar-baseline --limit 100 --out report.json
    mercury eval --model coder-mini --tau 0.5 0.7 0.9 1.0 --sets heldout-single-line
    mercury eval --model coder-mini --sets heldout-go-single-line humaneval-x-line-js

Sets (see mercury.eval_tasks): held-out corpus tasks (single-line, multi-line, random-span) in
Python, and in Go and Rust from /work/data/corpus-multi (heldout-go-single-line, ...); SAFIM
Python block/control/api; single-line tasks from HumanEval-X in Python (humaneval-x-line) and in
JS, Go, Rust, C++ and Java (humaneval-x-line-js, ...); the CrossCodeEval sample. The default is
the Python sets (DEFAULT_SETS); --sets picks any of ALL_SETS.
Metrics per set (mercury.eval_metrics): n, exact match, edit similarity, pass@1 where tests run
(execution in mercury.sandbox, for other languages only where their toolchain is installed;
SAFIM api: the official syntax match), syntax validity in context, forward passes per generated
token, median wall milliseconds per completion; exact match with its 95% interval. Sets that
could not be executed, or only in part, get a line in the report's "notes".

With several models (or taus), each after the first is compared with the first task by task
(mercury.eval_stats, the report's "comparisons" and a second table): the difference in exact
match, edit similarity and pass@1 with 95% intervals, the tasks only one of the two gets right,
and McNemar's exact p. Put the baseline first: `--model coder-mini-ar --model coder-mini`.

Every request carries the task's tree-sitter language name, so a constrained engine applies the
grammar of that language.

Syntax validity uses mercury.parsecheck: prefix + completion + suffix must parse, or have no more
errors than the file with the reference filled in. It is deliberately not the sampler's constraint
(mercury.syntax), which would otherwise grade its own work.

Models are reached only through `Engine.load(model).complete(CompletionRequest(...))`, so any
object with a `complete(request)` method can be evaluated (the tests use a fake one).
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from tqdm import tqdm

from mercury import eval_tasks, parsecheck
from mercury.denoiser.api import CompletionRequest, CompletionResult
from mercury.eval_metrics import aggregate, api_syntax_match, edit_similarity, exact_match
from mercury.eval_stats import compare_rows
from mercury.eval_tasks import HELDOUT_KINDS, HELDOUT_LANGUAGES, HUMANEVAL_X, FimTask
from mercury.sandbox import Limits, can_run, outputs_match, run_program, run_python

REPO_ROOT = Path(__file__).resolve().parent.parent
# The Python sets, as `mercury eval` has always run them by default.
DEFAULT_SETS = (
    *(f"heldout-{k}" for k in HELDOUT_KINDS),
    "safim-block",
    "safim-control",
    "safim-api",
    "humaneval-x-line",
    "crosscodeeval-python",
)
OTHER_LANGUAGE_SETS = (
    *(eval_tasks.heldout_set_name(lang, k) for lang in HELDOUT_LANGUAGES[1:] for k in HELDOUT_KINDS),
    *(eval_tasks.humaneval_set_name(tag) for tag in HUMANEVAL_X if tag != "python"),
)
ALL_SETS = (*DEFAULT_SETS, *OTHER_LANGUAGE_SETS)
# Python first: /work/data/corpus is the one the model card's numbers come from (its held-out
# Python files are the same as corpus-multi's); Go and Rust are found in corpus-multi.
DEFAULT_CORPORA = ("/work/data/corpus", "/work/data/corpus-multi")


class CompletionEngine(Protocol):
    def complete(self, request: CompletionRequest) -> CompletionResult: ...


@dataclass
class EvalConfig:
    """Everything that decides which tasks run and how; it is stored in the report."""

    sets: tuple[str, ...] = DEFAULT_SETS
    limit: int | None = None
    seed: int = 1234
    heldout_per_kind: int = 500  # tasks built per held-out kind before --limit samples them
    prefix_chars: int = 4096  # context window sent to the model, cut at line boundaries
    suffix_chars: int = 2048
    corpus: str | tuple[str, ...] = DEFAULT_CORPORA  # held-out files of a language: first dir with any
    eval_data: str = ""
    limits: Limits = field(default_factory=Limits)


def default_eval_data() -> str:
    """--eval-data, else $MERCURY_EVAL_DATA, else ../shared/eval-data next to the repository."""
    return os.environ.get("MERCURY_EVAL_DATA") or str((REPO_ROOT / ".." / "shared" / "eval-data").resolve())


def corpus_dirs(cfg: EvalConfig) -> tuple[str, ...]:
    """cfg.corpus as a tuple of directories (one path is allowed too)."""
    return (cfg.corpus,) if isinstance(cfg.corpus, str) else tuple(cfg.corpus)


def heldout_records(cfg: EvalConfig, language: str) -> list[dict]:
    """Held-out files of `language` from the first corpus directory that has any."""
    for folder in corpus_dirs(cfg):
        records = eval_tasks.load_heldout(Path(folder), language)
        if records:
            return records
    raise ValueError(
        f"no held-out {language} files under {', '.join(corpus_dirs(cfg))}: "
        "pass --corpus /work/data/corpus-multi (Python, Go and Rust)"
    )


def _heldout_set(name: str) -> tuple[str, str] | None:
    """(language, kind) of a held-out set name, None for other sets."""
    for language in HELDOUT_LANGUAGES:
        for kind in HELDOUT_KINDS:
            if name == eval_tasks.heldout_set_name(language, kind):
                return language, kind
    return None


def _humaneval_tag(name: str) -> str | None:
    """The HumanEval-X file tag of a humaneval-x-line set, None for other sets."""
    return next((tag for tag in HUMANEVAL_X if name == eval_tasks.humaneval_set_name(tag)), None)


def build_set(name: str, cfg: EvalConfig) -> list[FimTask]:
    """The tasks of one set, already subsampled to cfg.limit (deterministic for a given seed)."""
    root = Path(cfg.eval_data or default_eval_data())
    heldout, tag = _heldout_set(name), _humaneval_tag(name)
    if heldout:
        records = heldout_records(cfg, heldout[0])
        tasks = eval_tasks.heldout_tasks(records, heldout[1], cfg.heldout_per_kind, cfg.seed)
    elif name.startswith("safim-"):
        tasks = eval_tasks.safim_tasks(root, name.removeprefix("safim-"))
    elif tag:
        tasks = eval_tasks.humaneval_line_tasks(root, tag)
    elif name.startswith("crosscodeeval-"):
        tasks = eval_tasks.crosscodeeval_tasks(root, name.removeprefix("crosscodeeval-"))
    else:
        raise ValueError(f"unknown set {name!r}; known: {', '.join(ALL_SETS)}")
    return eval_tasks.subsample(tasks, cfg.limit, cfg.seed)


def make_request(task: FimTask, cfg: EvalConfig) -> CompletionRequest:
    prefix, suffix = eval_tasks.clip_context(task.prefix, task.suffix, cfg.prefix_chars, cfg.suffix_chars)
    return CompletionRequest(
        prefix=prefix,
        suffix=suffix,
        prefix_cut=len(prefix) < len(task.prefix),
        suffix_cut=len(suffix) < len(task.suffix),
        language=task.language,
        multiline=task.multiline,
        max_tokens=task.max_tokens,
    )


def execution_passed(task: FimTask, prediction: str, limits: Limits) -> bool | None:
    """pass@1 for one greedy completion; None for sets without tests. A completion identical to
    the reference passes without running (SAFIM's rule; it also saves sandbox time)."""
    if task.scorer == "api":
        return api_syntax_match(prediction, task.middle)
    if task.scorer not in ("stdio", "check") or not can_run(task.language):
        return None
    if exact_match(prediction, task.middle):
        return True
    program = task.program_head + prediction + task.program_tail
    if task.scorer == "check":
        return run_program(task.language, program, limits).status == "ok"
    for stdin, expected in task.tests:
        result = run_python(program, stdin, limits)
        if result.status != "ok" or not any(outputs_match(result.stdout, e) for e in expected):
            return False
    return bool(task.tests)


def score(
    task: FimTask, request: CompletionRequest, result: CompletionResult, wall_ms: float, limits: Limits
) -> dict:
    """One task's row: its metrics and the engine's counters."""
    text = result.text
    syntax_ok = None
    if parsecheck.supported(task.language):
        syntax_ok = parsecheck.valid_in_context(
            request.prefix, text, request.suffix, task.language, task.middle
        )
    return {
        "task_id": task.task_id,
        "source": task.source or task.task_id,
        "prediction": text,
        "reference": task.middle,
        "em": exact_match(text, task.middle),
        "es": round(edit_similarity(text, task.middle), 4),
        "passed": execution_passed(task, text, limits),
        "syntax_ok": syntax_ok,
        "empty": not text.strip(),
        "forward_passes": result.forward_passes,
        "tokens": result.tokens,
        "steps": result.steps,
        "elapsed_ms": wall_ms,
        "engine_ms": result.elapsed_ms,
        "stop_reason": result.stop_reason,
    }


def evaluate_set(engine: CompletionEngine, tasks: list[FimTask], cfg: EvalConfig, desc: str) -> list[dict]:
    """Run every task through the engine (with a progress bar) and score it."""
    rows = []
    for task in tqdm(tasks, desc=desc, unit="task", file=sys.stderr, dynamic_ncols=True):
        request = make_request(task, cfg)
        start = time.perf_counter()
        result = engine.complete(request)
        wall_ms = (time.perf_counter() - start) * 1000
        rows.append(score(task, request, result, wall_ms, cfg.limits))
    return rows


def evaluate_models(
    engines: dict[str, CompletionEngine], cfg: EvalConfig, predictions: Path | None = None
) -> dict:
    """The full report: config, machine, and per model per set the aggregate metrics."""
    task_sets = {name: build_set(name, cfg) for name in cfg.sets}
    results: dict[str, dict] = {}
    rows_of: dict[str, dict[str, list[dict]]] = {}
    pred_file = open(predictions, "w", encoding="utf-8") if predictions else None
    try:
        for label, engine in engines.items():
            results[label], rows_of[label] = {}, {}
            for name, tasks in task_sets.items():
                rows = rows_of[label][name] = evaluate_set(engine, tasks, cfg, f"{label} {name}")
                results[label][name] = aggregate(rows)
                results[label][name]["n_executed"] = sum(r["passed"] is not None for r in rows)
                for row in rows if pred_file else ():
                    pred_file.write(json.dumps({"model": label, "set": name, **row}) + "\n")
    finally:
        if pred_file:
            pred_file.close()
    return {
        "config": config_dict(cfg),
        "machine": machine_info(),
        "notes": execution_notes(task_sets),
        "results": results,
        "comparisons": compare_models(rows_of),
        "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }


def compare_models(rows_of: dict[str, dict[str, list[dict]]]) -> dict:
    """Each model after the first, task by task against the first on every set (eval_stats)."""
    labels = list(rows_of)
    if len(labels) < 2:
        return {}
    baseline = rows_of[labels[0]]
    return {
        "baseline": labels[0],
        "models": {
            label: {name: compare_rows(baseline[name], rows) for name, rows in rows_of[label].items()}
            for label in labels[1:]
        },
    }


def execution_notes(task_sets: dict[str, list[FimTask]]) -> list[str]:
    """One line per set whose pass@1 is missing or covers only part of its tasks, and why."""
    notes = []
    for name, tasks in task_sets.items():
        tag = _humaneval_tag(name)
        runnable = [t for t in tasks if t.scorer == "check"]
        if not tasks or not (tag or runnable):
            continue
        language = tasks[0].language
        if tag in eval_tasks.NOT_EXECUTED:
            notes.append(f"{name}: pass@1 not run: {eval_tasks.NOT_EXECUTED[tag]}")
        elif runnable and not can_run(language):
            notes.append(f"{name}: pass@1 skipped: no {language} toolchain on this machine")
        elif len(runnable) < len(tasks):
            notes.append(
                f"{name}: pass@1 over {len(runnable)} of {len(tasks)} tasks "
                "(the others need a library outside the standard one, or their reference fails its tests)"
            )
    return notes


def config_dict(cfg: EvalConfig) -> dict:
    data = asdict(cfg)
    data["eval_data"] = cfg.eval_data or default_eval_data()
    data["corpus"] = list(corpus_dirs(cfg))
    return data


def machine_info() -> dict:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
    }


def _percent_range(pair: list[float]) -> str:
    return f"{pair[0]:.1%}-{pair[1]:.1%}"


_COLUMNS = (
    ("n", "n", "{:d}".format),
    ("EM", "exact_match", "{:.1%}".format),
    ("EM 95% CI", "exact_match_interval", _percent_range),
    ("ES", "edit_similarity", "{:.1%}".format),
    ("pass@1", "pass_at_1", "{:.1%}".format),
    ("syntax", "syntax_valid", "{:.1%}".format),
    ("empty", "empty", "{:.0%}".format),
    ("fp/tok", "forward_passes_per_token", "{:.2f}".format),
    ("ms p50", "median_ms", "{:.0f}".format),
)


def format_table(report: dict) -> str:
    """A plain-text table: one row per (set, model), so models sit next to each other per set."""
    header = ["set", "model", *(c[0] for c in _COLUMNS)]
    rows = []
    results = report["results"]
    sets = dict.fromkeys(s for per_model in results.values() for s in per_model)
    for set_name in sets:
        for label, per_model in results.items():
            metrics = per_model.get(set_name, {})
            cells = [fmt(metrics[key]) if metrics.get(key) is not None else "-" for _, key, fmt in _COLUMNS]
            rows.append([set_name, label, *cells])
    return _aligned(header, rows)


def format_comparisons(report: dict) -> str:
    """Each later model against the first, task by task ("" with one model): differences in points
    with their 95% intervals, the tasks only one of the two gets right, and McNemar's p."""
    comparisons = report.get("comparisons") or {}
    if not comparisons:
        return ""
    header = [
        "set",
        "model",
        "n",
        "EM diff [95% CI]",
        "EM only model/baseline",
        "p",
        "ES diff [95% CI]",
        "pass@1 diff",
        "p",
    ]
    rows = []
    for label, per_set in comparisons["models"].items():
        for set_name, c in per_set.items():
            if not c["n"]:
                continue
            em, es, passed = c["exact_match"], c["edit_similarity"], c.get("pass_at_1")
            rows.append(
                [
                    set_name,
                    label,
                    f"{c['n']} in {c['sources']}" if c.get("sources", c["n"]) < c["n"] else str(c["n"]),
                    _points(em),
                    f"{em['only_model']}/{em['only_baseline']}",
                    f"{em['p_value']:.2f}",
                    _points(es),
                    _points(passed) if passed else "-",
                    f"{passed['p_value']:.2f}" if passed else "-",
                ]
            )
    title = (
        f"paired against {comparisons['baseline']} (same tasks; differences in points, model minus baseline;"
        " n in S: tasks cut from S documents, resampled and tested by document):"
    )
    return title + "\n" + _aligned(header, rows)


def _points(figure: dict) -> str:
    low, high = figure["interval"]
    return f"{100 * figure['difference']:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"


def _aligned(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)) for r in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def load_engine(model: str, device: str, constrained: bool, threads: int | None = None) -> CompletionEngine:
    """The real engine, imported late so that building tasks and the tests need no torch."""
    from mercury.denoiser.engine import Engine

    extra = {"threads": threads} if threads else {}
    return Engine.load(model, device=device, constrained=constrained, **extra)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mercury eval", description=__doc__.split("\n")[0])
    p.add_argument("--model", action="append", required=True, help="model name or dir; repeat to compare")
    p.add_argument(
        "--sets",
        nargs="+",
        default=list(DEFAULT_SETS),
        choices=ALL_SETS,
        metavar="SET",
        help=f"default: the Python sets {' '.join(DEFAULT_SETS)}; also {' '.join(OTHER_LANGUAGE_SETS)}",
    )
    p.add_argument("--limit", type=int, default=None, help="tasks per set (a seeded sample)")
    p.add_argument(
        "--heldout-tasks",
        type=int,
        default=EvalConfig.heldout_per_kind,
        metavar="N",
        help="tasks built per held-out set (default %(default)s; more narrow the intervals, and the "
        "first tasks stay the same)",
    )
    p.add_argument("--tau", type=float, nargs="+", default=None, help="one or more; each is its own column")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument(
        "--corpus",
        nargs="+",
        default=list(DEFAULT_CORPORA),
        help="corpus dirs with heldout/*.jsonl; each language comes from the first that has it "
        "(/work/data/corpus-multi has Python, Go and Rust)",
    )
    p.add_argument("--eval-data", default="", help="default $MERCURY_EVAL_DATA or ../shared/eval-data")
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--threads",
        type=int,
        default=None,
        help="compute threads, torch and ONNX Runtime (leave cores to training)",
    )
    p.add_argument("--unconstrained", action="store_true", help="load engines without the syntax constraint")
    p.add_argument("--out", type=Path, default=None, help="write the JSON report here")
    p.add_argument("--predictions", type=Path, default=None, help="write every completion here (JSONL)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.limit is not None and args.limit < 1:
        print("--limit must be positive; using all tasks", file=sys.stderr)
        args.limit = None
    if args.heldout_tasks < 1:
        print("mercury eval: --heldout-tasks must be positive", file=sys.stderr)
        return 2
    engines: dict[str, CompletionEngine] = {}
    for model in args.model:
        try:
            engine = load_engine(model, args.device, not args.unconstrained, args.threads)
        except (FileNotFoundError, LookupError, ValueError) as err:  # ModelNotFound and kin
            print(f"mercury eval: cannot load {model!r}: {err}", file=sys.stderr)
            return 2
        for tau in args.tau or [None]:
            label = model if tau is None else f"{model}@tau={tau}"
            while label in engines:  # the same model twice still gets two columns
                label += "'"
            engines[label] = _WithTau(engine, tau)
    cfg = EvalConfig(
        sets=tuple(args.sets),
        limit=args.limit,
        seed=args.seed,
        heldout_per_kind=args.heldout_tasks,
        corpus=tuple(args.corpus),
        eval_data=args.eval_data,
    )
    try:
        report = evaluate_models(engines, cfg, args.predictions)
    except (ValueError, OSError) as err:  # missing corpus or eval data: say what to build or pass
        print(f"mercury eval: {err}", file=sys.stderr)
        return 2
    print(format_table(report))
    if comparisons := format_comparisons(report):
        print(comparisons)
    for note in report["notes"]:
        print(f"note: {note}")
    if args.out:
        args.out.write_text(json.dumps(report, indent=2) + "\n")
        print(f"wrote {args.out}")
    return 0


class _WithTau:
    """Sets tau on every request, so one loaded engine serves several points of a tau sweep."""

    def __init__(self, engine: CompletionEngine, tau: float | None) -> None:
        self.engine, self.tau = engine, tau

    def complete(self, request: CompletionRequest) -> CompletionResult:
        if self.tau is not None:
            request = CompletionRequest.from_dict({**request.to_dict(), "tau": self.tau})
        return self.engine.complete(request)


if __name__ == "__main__":
    sys.exit(main())
