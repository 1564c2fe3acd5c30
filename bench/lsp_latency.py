"""End-to-end latency through the language server, diffusion model beside the AR baseline.

Starts the real `mercury-lsp` over stdio for each model and measures, from the client's side:
  cold  - a freshly opened document per held-out task, one inline completion at the task's cursor;
  warm  - real held-out code typed character by character into an open document, one inline
          completion per keystroke (answers from the typed-through cache count: that is the product).
Requests use triggerKind Invoked, so the debounce delay (a deliberate wait) is not in the figures.
Raw samples go to a JSON file; the table shows medians and p95 (Tabby's latencyTracker keeps raw
samples and computes statistics apart, so do we).

    python bench/lsp_latency.py --model coder-mini --model models/coder-mini-ar --out docs/lsp_latency.json
    python bench/lsp_latency.py --model coder-mini --language rust --corpus /work/data/corpus-multi
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

from lsprotocol import types
from pytest_lsp import client_capabilities, make_test_lsp_client

from mercury.eval_tasks import heldout_tasks, load_heldout

OPTIONS = {"debounce": {"mode": "fixed", "ms": 0}}
EXTENSIONS = {"python": ".py", "go": ".go", "rust": ".rs"}  # the languages of the held-out corpora
WORK_COUNTS = ("engine_calls", "forward_passes", "vetoed")


def position(text: str) -> types.Position:
    """The LSP position (UTF-16 columns) at the end of `text`."""
    line = text.count("\n")
    column = text[text.rfind("\n") + 1 :]
    return types.Position(line=line, character=len(column.encode("utf-16-le")) // 2)


async def start(model: str, threads: int, options: dict):
    client = make_test_lsp_client()
    # --threads, not OMP_NUM_THREADS: only the server's flag reaches ONNX Runtime.
    await client.start_io(
        sys.executable, "-m", "mercury.lsp.cli", "--model", model, "--threads", str(threads)
    )
    caps = client_capabilities("neovim")
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    await client.initialize_session(types.InitializeParams(capabilities=caps, initialization_options=options))
    return client


async def ask(client, uri: str, text_before: str) -> tuple[float, types.InlineCompletionItem | None]:
    """An inline completion at the end of `text_before`: (ms, the first item or None)."""
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=position(text_before),
        context=types.InlineCompletionContext(trigger_kind=types.InlineCompletionTriggerKind.Invoked),
    )
    t0 = time.perf_counter()
    result = await client.text_document_inline_completion_async(params)
    elapsed = (time.perf_counter() - t0) * 1000
    items = result.items if isinstance(result, types.InlineCompletionList) else (result or [])
    return elapsed, (items[0] if items else None)


async def request(client, uri: str, text_before: str) -> tuple[float, str]:
    elapsed, item = await ask(client, uri, text_before)
    return elapsed, (item.insert_text if item is not None else "")


def open_doc(client, uri: str, text: str) -> None:
    language = next(name for name, ext in EXTENSIONS.items() if uri.endswith(ext))
    item = types.TextDocumentItem(uri=uri, language_id=language, version=1, text=text)
    client.text_document_did_open(types.DidOpenTextDocumentParams(text_document=item))


def type_char(client, uri: str, version: int, before: str, ch: str) -> str:
    """Send the edit that types `ch` at the end of `before`; returns the new text before the cursor."""
    at = position(before)
    change = types.TextDocumentContentChangePartial(range=types.Range(start=at, end=at), text=ch)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[change],
        )
    )
    return before + ch


async def cold(client, tasks) -> list[dict]:
    samples = []
    for i, task in enumerate(tasks):
        uri = f"file:///bench/cold_{i}{EXTENSIONS[task.language]}"
        open_doc(client, uri, task.prefix + task.suffix)
        ms, text = await request(client, uri, task.prefix)
        samples.append({"kind": "multi" if task.multiline else "single", "ms": ms, "empty": not text})
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
    return samples


async def warm(client, tasks, keystrokes: int) -> list[dict]:
    """Type each task's middle (up to `keystrokes` characters) into the document, asking after each key."""
    samples = []
    for i, task in enumerate(tasks):
        uri = f"file:///bench/warm_{i}{EXTENSIONS[task.language]}"
        open_doc(client, uri, task.prefix + task.suffix)
        await request(client, uri, task.prefix)  # the first request of a document is cold: not counted
        before = task.prefix
        for version, ch in enumerate(task.middle[:keystrokes], start=2):
            before = type_char(client, uri, version, before, ch)
            ms, text = await request(client, uri, before)
            line = before[before.rfind("\n") + 1 :]
            samples.append({"kind": "typing", "ms": ms, "empty": not text, "line": line})
    return samples


def summary(samples: list[dict]) -> dict:
    ms = sorted(s["ms"] for s in samples)
    if not ms:
        return {"n": 0}
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    empty = sum(s["empty"] for s in samples) / len(samples)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 1),
        "p95_ms": round(p95, 1),
        "empty": round(empty, 2),
    }


async def bench_model(
    model: str, tasks_single, tasks_multi, tasks_typed, keystrokes: int, threads: int, options
) -> dict:
    client = await start(model, threads, options)
    try:
        # A request in an open document waits for the model to load (one in an unknown document is
        # answered at once, and the first cold task would pay the load).
        open_doc(client, "file:///bench/warmup.py", "x = 1\n")
        await request(client, "file:///bench/warmup.py", "x = 1\n")
        results, work = {}, {}
        phases = (
            ("cold_single", lambda: cold(client, tasks_single)),
            ("cold_multi", lambda: cold(client, tasks_multi)),
            ("warm_typing", lambda: warm(client, tasks_typed, keystrokes)),
        )
        for phase, run in phases:
            before = await server_counts(client)
            results[phase] = await run()
            after = await server_counts(client)
            # every request of the phase, each typed document's uncounted first one included
            work[phase] = {key: after.get(key, 0) - before.get(key, 0) for key in WORK_COUNTS}
    finally:
        await client.shutdown_session()
        await client.stop()
    return results, work


async def server_counts(client) -> dict:
    """The server's own counters (`mercury/stats`): the work done, which the machine's load does not move."""
    result = await client.protocol.send_request_async("mercury/stats", {})
    return result.counts._asdict()  # pygls hands custom results back as namedtuples


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", action="append", required=True)
    p.add_argument("--tasks", type=int, default=40, help="cold tasks per kind")
    p.add_argument("--keystrokes", type=int, default=30, help="characters typed per warm task")
    p.add_argument("--warm-tasks", type=int, default=None, help="tasks typed (default: a quarter of --tasks)")
    p.add_argument("--threads", type=int, default=2, help="the server's compute threads")
    p.add_argument("--corpus", default="/work/data/corpus")
    p.add_argument("--language", choices=sorted(EXTENSIONS), default="python", help="the tasks' language")
    p.add_argument(
        "--unconstrained", action="store_true", help="turn the syntax constraint off in the server"
    )
    p.add_argument("--line-budget-ms", type=int, default=None, help="the server's lineBudgetMs")
    p.add_argument("--single-tokens", type=int, default=None, help="the server's tokens.single")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    options = {**OPTIONS, "constrained": not args.unconstrained}
    if args.line_budget_ms is not None:
        options["lineBudgetMs"] = args.line_budget_ms
    if args.single_tokens is not None:
        options["tokens"] = {"single": args.single_tokens}
    records = load_heldout(Path(args.corpus), args.language)
    single = heldout_tasks(records, "single-line", args.tasks, seed=7)
    multi = heldout_tasks(records, "multi-line", args.tasks, seed=7)
    typed_count = args.warm_tasks or max(1, args.tasks // 4)
    typed = heldout_tasks(records, "single-line", max(args.tasks, typed_count), seed=7)[:typed_count]
    report = {}
    for model in args.model:
        raw, work = asyncio.run(
            bench_model(model, single, multi, typed, args.keystrokes, args.threads, options)
        )
        report[model] = {"raw": raw, "summary": {k: {**summary(v), **work[k]} for k, v in raw.items()}}
    for model, data in report.items():
        for kind, s in data["summary"].items():
            print(
                f"{model:<28} {kind:<12} n={s['n']:<4} p50={s.get('p50_ms')} ms  p95={s.get('p95_ms')} ms  "
                f"empty={s.get('empty')}  engine calls={s.get('engine_calls')}  "
                f"forward passes={s.get('forward_passes')}  vetoed={s.get('vetoed')}"
            )
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
