"""Engine-level speed and memory: latency against context length, per backend and precision.

  context  - one single-line completion at contexts of 256 to 8k tokens (the model's budgets raised to
             fit), cold (nothing cached) and warm (the same document one keystroke later, its clean
             stream reused from the cache); median of --repeats runs, diffusion beside the AR baseline.
  span     - multi-line completions with a token budget of 8 to 128 (no end-of-span or scope stop
             before the budget but the model's own <eom>), cold, on held-out tasks: median ms and
             tokens per completion, diffusion beside the AR baseline;
  memory   - each backend in its own process: resident memory after loading and after completions,
             and exact match on held-out single-line tasks, so int8's saving is weighed against its cost.
  routed   - what a language routed to a second model costs (`"routes"` in the model's config.json),
             in a fresh process per run, as a server loads it: the first request in that language
             (it loads the routed model) against the next ones, and the resident memory it adds.
Raw samples go to JSON; --plot writes PNGs (matplotlib, the `bench` extra) under docs/.

    python bench/engine_speed.py context --model coder-mini --model coder-mini-ar --plot docs/context.png
    python bench/engine_speed.py span --model coder-mini --model coder-mini-ar --tasks 20
    python bench/engine_speed.py memory --model coder-mini --tasks 100
    python bench/engine_speed.py routed --model coder-mini --language go --repeats 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

CONTEXTS = (256, 512, 1024, 2048, 4096, 8192)
SPANS = (8, 16, 32, 64, 128)
BACKENDS = ("torch", "onnx", "onnx-int8")  # "auto" (the default choice) is accepted too


def long_text(corpus: Path, chars: int) -> str:
    """Held-out code, concatenated until it is `chars` long."""
    from mercury.eval_tasks import load_heldout

    out = ""
    for record in load_heldout(corpus):
        out += record["text"]
        if len(out) >= chars:
            break
    return out[-chars:]


def time_context(engine, text: str, n_tokens: int, repeats: int) -> dict:
    from mercury.denoiser.api import CompletionRequest

    engine.model.cfg.context_prefix = n_tokens
    engine.model.cfg.context_suffix = 0
    prefix = text[-12 * n_tokens :]
    prefix = prefix[: prefix.rfind("\n") + 1] + "    result = "
    cold, warm, steps = [], [], []
    for i in range(repeats):
        engine.cache.clear()
        key = f"doc{i}"
        first = engine.complete(CompletionRequest(prefix=prefix, max_tokens=16, cache_key=key))
        typed = engine.complete(CompletionRequest(prefix=prefix + "s", max_tokens=16, cache_key=key))
        cold.append(first.elapsed_ms)
        warm.append(typed.elapsed_ms)
        steps.append(first.steps)
    return {
        "context_tokens": first.context_tokens,
        "cold_ms": statistics.median(cold),
        "warm_ms": statistics.median(warm),
        "steps": statistics.median(steps),
        "raw": {"cold": cold, "warm": warm},
    }


def context_sweep(args) -> dict:
    from mercury.denoiser.engine import Engine

    text = long_text(Path(args.corpus), 12 * max(CONTEXTS))
    report = {}
    for model in args.model:
        for backend in args.backend:
            engine = Engine.load(model, constrained=False, threads=args.threads, backend=backend)
            time_context(engine, text, 64, 1)  # the first call pays one-time costs: not measured
            rows = [time_context(engine, text, n, args.repeats) for n in CONTEXTS]
            report[f"{model} [{backend}]"] = rows
            for n, r in zip(CONTEXTS, rows, strict=True):
                print(
                    f"{model:<16} {backend:<10} ctx={n:<5} ({r['context_tokens']:>5} tok) "
                    f"cold={r['cold_ms']:8.1f} ms  warm={r['warm_ms']:7.1f} ms  steps={r['steps']}"
                )
    return report


def span_sweep(args) -> dict:
    """Latency against the span's token budget: the sampler called directly, so the engine's scope
    rule does not shorten spans and only the budget or the model's <eom> ends them."""
    from mercury.denoiser.engine import Engine
    from mercury.denoiser.sampler import SpanSettings

    from mercury.eval_tasks import heldout_tasks, load_heldout

    tasks = heldout_tasks(load_heldout(Path(args.corpus)), "multi-line", args.tasks, seed=11)
    report = {}
    for model in args.model:
        engine = Engine.load(model, constrained=False, threads=args.threads, backend=args.backend[0])
        contexts = [engine.context(t.prefix, t.suffix) for t in tasks]
        engine.sampler.fill(contexts[0], None, SpanSettings(multiline=True, max_tokens=8))  # warm-up
        rows = []
        for budget in SPANS:
            ms, tokens, steps = [], [], []
            for ids in contexts:
                t0 = time.perf_counter()
                out = engine.sampler.fill(ids, None, SpanSettings(multiline=True, max_tokens=budget))
                ms.append((time.perf_counter() - t0) * 1000)
                tokens.append(len(out.ids))
                steps.append(out.steps)
            rows.append(
                {
                    "budget": budget,
                    "ms": statistics.median(ms),
                    "tokens": statistics.median(tokens),
                    "steps": statistics.median(steps),
                    "tokens_per_s": sum(tokens) / (sum(ms) / 1000),
                    "raw": {"ms": ms, "tokens": tokens, "steps": steps},
                }
            )
            r = rows[-1]
            print(
                f"{model:<16} budget={budget:<4} ms={r['ms']:7.1f}  tokens={r['tokens']:5.1f}  "
                f"steps={r['steps']:5.1f}  tokens/s={r['tokens_per_s']:6.1f}"
            )
        report[model] = rows
    return report


def step_times(args) -> dict:
    """Median ms of one cached denoising step (or AR token step) and of encoding the context, per backend."""
    from mercury.denoiser.engine import Engine

    text = long_text(Path(args.corpus), 4000)
    report = {}
    for model in args.model:
        for backend in args.backend:
            engine = Engine.load(model, constrained=False, threads=args.threads, backend=backend)
            ids = engine.context(text, "")
            canvas = (
                None
                if engine.model.cfg.objective == "ar"
                else [engine.tok.mask_id] * engine.model.cfg.block_length
            )
            step = [1] if canvas is None else []
            prefill, per_step = [], []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                _, cache = engine.model.step_logits(None, ids, canvas)
                prefill.append((time.perf_counter() - t0) * 1000)
                for _ in range(10):
                    t0 = time.perf_counter()
                    engine.model.step_logits(cache, step, canvas)
                    per_step.append((time.perf_counter() - t0) * 1000)
            row = {
                "context_tokens": len(ids),
                "prefill_ms": statistics.median(prefill),
                "step_ms": statistics.median(per_step),
            }
            report[f"{model} [{backend}]"] = row
            head = f"{model:<16} {backend:<10} context={len(ids)}"
            print(f"{head} prefill={row['prefill_ms']:.2f} ms  step={row['step_ms']:.2f} ms")
    return report


# The probes run in fresh interpreters, so that each measures one model's memory alone.
RSS_MB = r"""
def rss_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) / 1024
"""

MEMORY_PROBE = (
    RSS_MB
    + r"""
import json, resource, sys
from mercury.denoiser.api import CompletionRequest
from mercury.denoiser.engine import Engine
from mercury.eval_tasks import heldout_tasks, load_heldout
from pathlib import Path
model, backend, corpus, n, threads = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
tasks = heldout_tasks(load_heldout(Path(corpus)), "single-line", n, seed=11)
base = rss_mb()
engine = Engine.load(model, constrained=False, backend=backend, threads=threads)
loaded = rss_mb()
from difflib import SequenceMatcher
hits, sims, texts = 0, 0.0, []
for t in tasks:
    out = engine.complete(CompletionRequest(prefix=t.prefix, suffix=t.suffix, max_tokens=48))
    hits += out.text.rstrip() == t.middle.rstrip()
    sims += SequenceMatcher(None, out.text.strip(), t.middle.strip()).ratio()
    texts.append(out.text)
print(json.dumps({"rss_before_mb": base, "rss_loaded_mb": loaded, "rss_after_mb": rss_mb(),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "exact_match": hits / max(1, len(tasks)), "edit_similarity": sims / max(1, len(tasks)),
                  "tasks": len(tasks), "texts": texts}))
"""
)


ROUTED_PROBE = (
    RSS_MB
    + r"""
import json, sys, time
from pathlib import Path
from mercury.denoiser.api import CompletionRequest
from mercury.denoiser.routing import load_serving_engine
from mercury.eval_tasks import heldout_tasks, load_heldout
def ms(engine, task):
    request = CompletionRequest(prefix=task.prefix, suffix=task.suffix, language=task.language, max_tokens=48)
    t0 = time.perf_counter()
    result = engine.complete(request)
    return (time.perf_counter() - t0) * 1000, result.extra.get("model")
model, language, corpus, routed_corpus, n, threads = sys.argv[1:7]
n = int(n)
python = heldout_tasks(load_heldout(Path(corpus)), "single-line", n, seed=11)
other = heldout_tasks(load_heldout(Path(routed_corpus), language), "single-line", n + 1, seed=11)
base = rss_mb()
t0 = time.perf_counter()
engine = load_serving_engine(model, threads=int(threads))
engine.warm_up()
load_s = time.perf_counter() - t0
loaded = rss_mb()
python_runs = [ms(engine, t) for t in python]
before = rss_mb()
first_ms, first_model = ms(engine, other[0])
routed = rss_mb()
later = [ms(engine, t) for t in other[1:]]
print(json.dumps({"load_s": load_s, "main_mb": loaded - base, "python_ms": [m for m, _ in python_runs],
                  "python_models": sorted({name for _, name in python_runs} - {None}),
                  "first_routed_ms": first_ms, "routed_ms": [m for m, _ in later],
                  "routed_mb": routed - before, "rss_after_mb": rss_mb(),
                  "models": sorted({first_model, *(name for _, name in later)} - {None})}))
"""
)


def routed(args) -> dict:
    """--repeats fresh processes per model: medians of what the routed language's first request and
    the later ones take, and of the memory its model adds."""
    report = {}
    for model in args.model:
        runs = []
        for _ in range(args.repeats):
            cmd = [sys.executable, "-c", ROUTED_PROBE, model, args.language, args.corpus]
            cmd += [args.routed_corpus, str(args.tasks), str(args.threads)]
            run = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if run.returncode:
                report[model] = {"error": run.stderr.strip().splitlines()[-1:]}
                break
            runs.append(json.loads(run.stdout.strip().splitlines()[-1]))
        if not runs:
            continue
        row = {
            "runs": runs,
            "load_s": statistics.median(r["load_s"] for r in runs),
            "main_mb": statistics.median(r["main_mb"] for r in runs),
            "python_ms": statistics.median(statistics.median(r["python_ms"]) for r in runs),
            "first_routed_ms": statistics.median(r["first_routed_ms"] for r in runs),
            "routed_ms": statistics.median(statistics.median(r["routed_ms"]) for r in runs),
            "routed_mb": statistics.median(r["routed_mb"] for r in runs),
            "models": runs[0]["models"],
        }
        report[model] = row
        print(
            f"{model}: load {row['load_s']:.2f} s, {row['main_mb']:.1f} MB; "
            f"Python {row['python_ms']:.1f} ms; first {args.language} request "
            f"{row['first_routed_ms']:.1f} ms, later ones {row['routed_ms']:.1f} ms "
            f"(answered by {', '.join(row['models'])}); the routed model adds {row['routed_mb']:.1f} MB"
        )
    return report


def memory(args) -> dict:
    report = {}
    for model in args.model:
        for backend in args.backend:
            cmd = [
                sys.executable,
                "-c",
                MEMORY_PROBE,
                model,
                backend,
                args.corpus,
                str(args.tasks),
                str(args.threads),
            ]
            run = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if run.returncode:
                report[f"{model} [{backend}]"] = {"error": run.stderr.strip().splitlines()[-1:]}
                continue
            r = json.loads(run.stdout.strip().splitlines()[-1])
            r["model_mb"] = r["rss_loaded_mb"] - r["rss_before_mb"]
            reference = report.get(f"{model} [torch]", {}).get("texts")
            if reference:  # how often this backend says exactly what PyTorch fp32 says
                r["same_as_torch"] = sum(a == b for a, b in zip(r["texts"], reference, strict=True)) / len(
                    reference
                )
            report[f"{model} [{backend}]"] = r
            line = f"{model:<16} {backend:<10} model={r['model_mb']:6.1f} MB"
            print(
                f"{line}  after={r['rss_after_mb']:6.1f} MB  EM={r['exact_match']:.3f} ({r['tasks']} tasks)"
            )
    return report


def plot(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors = plt.get_cmap("tab10").colors
    for i, (label, rows) in enumerate(report.items()):
        x, color = [r["context_tokens"] for r in rows], colors[i % len(colors)]  # one color a series
        ax.plot(x, [r["cold_ms"] for r in rows], marker="o", color=color, label=f"{label} cold")
        warm = [r["warm_ms"] for r in rows]
        ax.plot(x, warm, marker="x", linestyle="--", color=color, label=f"{label} warm")
    ax.set(xscale="log", yscale="log", xlabel="context tokens", ylabel="ms per single-line completion")
    ax.set_title("Completion latency against context length")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def plot_spans(report: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for model, rows in report.items():
        ax.plot([r["tokens"] for r in rows], [r["ms"] for r in rows], marker="o", label=model)
        for r in rows:
            where = (r["tokens"], r["ms"])
            ax.annotate(str(r["budget"]), where, fontsize=7, xytext=(3, -9), textcoords="offset points")
    ax.set(xscale="log", yscale="log", ylabel="ms per completion")
    ax.set_xlabel("tokens generated (median; the budget beside each point)")
    ax.set_title("Cold multi-line completion latency against span length")
    ax.legend(fontsize=8)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("what", choices=("context", "span", "memory", "step", "routed"))
    p.add_argument("--model", action="append", default=None)
    p.add_argument("--backend", nargs="+", default=None, choices=("auto", *BACKENDS))
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--tasks", type=int, default=100)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--corpus", default="/work/data/corpus")
    p.add_argument("--language", default="go", help="routed: the language whose first request is timed")
    p.add_argument("--routed-corpus", default="/work/data/corpus-multi", help="routed: its held-out files")
    p.add_argument("--out", type=Path, default=None)
    p.add_argument("--plot", type=Path, default=None)
    args = p.parse_args(argv)
    args.model = args.model or ["coder-mini"]
    default_backends = {"context": ["torch", "onnx-int8"], "span": ["auto"]}
    args.backend = args.backend or default_backends.get(args.what, list(BACKENDS))
    args.repeats = args.repeats if args.what != "step" else max(args.repeats, 10)
    t0 = time.perf_counter()
    sweeps = {
        "context": context_sweep,
        "span": span_sweep,
        "memory": memory,
        "step": step_times,
        "routed": routed,
    }
    report = sweeps[args.what](args)
    print(f"({time.perf_counter() - t0:.0f} s)")
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    if args.plot and args.what == "context":
        plot(report, args.plot)
    if args.plot and args.what == "span":
        plot_spans(report, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
