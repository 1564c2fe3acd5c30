"""Enter after an accepted suggestion: the next suggestion with the prefetch on and off (issue 7).

For each held-out single-line task a client opens the document at the task's cursor and asks for a
suggestion; when it ends the line, it does what an editor and its user do next:
  accept  - apply the item, run its command (`mercury.accept`), and ask again at the end of the line,
            as an editor does after an edit that leaves the cursor there;
  think   - wait --think-ms (the user reads the suggestion and reaches for Enter);
  enter   - type a line break and ask for the suggestion on the new, empty line: the latency measured.
The same tasks run through two servers, one with `prefetch` on (the default) and one with it off, one
after the other, --runs times. Requests use triggerKind Invoked, so no debounce delay is in the
figures. Reported per mode: p50/p95 of both requests, the share of Enter answered from a prefetch, and
the server's work; with several runs, the medians over the runs.

    python bench/prefetch.py --model coder-mini --tasks 40 --runs 4 --out docs/bench/prefetch.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
from pathlib import Path

from lsp_latency import OPTIONS, ask, open_doc, position, server_counts, start, summary, type_char
from lsprotocol import types

from mercury.eval_tasks import heldout_tasks, load_heldout

COUNTS = ("engine_calls", "prefetches", "prefetch_hits", "forward_passes")


def still_to_insert(before: str, item: types.InlineCompletionItem) -> str | None:
    """What accepting `item` inserts at the cursor (its text past the typed word), or None where it
    also replaces text after the cursor or is not plain ASCII (columns are then not characters)."""
    here = position(before)
    if item.range.end != here or not item.insert_text.isascii():
        return None
    return item.insert_text[here.character - item.range.start.character :]


async def accept_and_enter(client, tasks, think_s: float) -> list[dict]:
    samples = []
    for i, task in enumerate(tasks):
        uri = f"file:///bench/accept_{i}.py"
        open_doc(client, uri, task.prefix + task.suffix)
        _, item = await ask(client, uri, task.prefix)
        rest = still_to_insert(task.prefix, item) if item is not None else None
        if rest and task.suffix.startswith("\n") and "\n" not in rest:
            before = type_char(client, uri, 2, task.prefix, rest)
            counts = await server_counts(client)
            await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command=item.command.command, arguments=item.command.arguments)
            )
            same_line_ms, _ = await ask(client, uri, before)
            await asyncio.sleep(think_s)
            before = type_char(client, uri, 3, before, "\n")
            enter_ms, below = await ask(client, uri, before)
            hits = (await server_counts(client)).get("prefetch_hits", 0) - counts.get("prefetch_hits", 0)
            samples.append(
                {"same_line_ms": same_line_ms, "ms": enter_ms, "empty": below is None, "prefetched": hits}
            )
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(text_document=types.TextDocumentIdentifier(uri=uri))
        )
    return samples


async def bench_mode(model: str, tasks, threads: int, prefetch: bool, think_s: float) -> dict:
    client = await start(model, threads, {**OPTIONS, "prefetch": prefetch})
    try:
        open_doc(client, "file:///bench/warmup.py", "x = 1\n")
        await ask(client, "file:///bench/warmup.py", "x = 1\n")  # waits for the model to load
        before = await server_counts(client)
        samples = await accept_and_enter(client, tasks, think_s)
        after = await server_counts(client)
    finally:
        await client.shutdown_session()
        await client.stop()
    same_line = [{"ms": s["same_line_ms"], "empty": False} for s in samples]
    return {
        "raw": samples,
        "enter": summary(samples),
        "same_line": {k: v for k, v in summary(same_line).items() if k != "empty"},
        "prefetched": round(sum(s["prefetched"] for s in samples) / max(1, len(samples)), 2),
        "work": {key: after.get(key, 0) - before.get(key, 0) for key in COUNTS},
    }


def medians(runs: list[dict]) -> dict:
    """Per mode, the median over runs of each figure the table shows."""
    figures = {}
    for mode in ("prefetch", "no_prefetch"):
        rows = [run[mode] for run in runs]
        latency = {
            f"{part}_{k}": statistics.median(r[part][k] for r in rows)
            for part in ("enter", "same_line")
            for k in ("p50_ms", "p95_ms")
        }
        figures[mode] = {
            **latency,
            "prefetched": statistics.median(r["prefetched"] for r in rows),
            "empty": statistics.median(r["enter"]["empty"] for r in rows),
            "n": rows[0]["enter"]["n"],
            **{key: statistics.median(r["work"][key] for r in rows) for key in COUNTS},
        }
    return figures


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="coder-mini")
    p.add_argument("--tasks", type=int, default=40, help="held-out single-line tasks tried")
    p.add_argument("--runs", type=int, default=1, help="runs of both modes, reported as medians")
    p.add_argument("--think-ms", type=int, default=300, help="pause between the accept and Enter")
    p.add_argument("--threads", type=int, default=2, help="the server's compute threads")
    p.add_argument("--corpus", default="/work/data/corpus")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    tasks = heldout_tasks(load_heldout(Path(args.corpus)), "single-line", args.tasks, seed=7)
    runs = []
    for _ in range(args.runs):
        run = {}
        for prefetch in (True, False):
            mode = "prefetch" if prefetch else "no_prefetch"
            think = args.think_ms / 1000
            run[mode] = asyncio.run(bench_mode(args.model, tasks, args.threads, prefetch, think))
        runs.append(run)
    report = {"command": " ".join(sys.argv), "think_ms": args.think_ms, "runs": runs, "median": medians(runs)}
    for mode, r in report["median"].items():
        print(
            f"{mode:<12} n={r['n']:<3} Enter p50={r['enter_p50_ms']:.1f} ms p95={r['enter_p95_ms']:.1f} ms  "
            f"empty={r['empty']}  from a prefetch={r['prefetched']}  "
            f"same line p50={r['same_line_p50_ms']:.1f} ms p95={r['same_line_p95_ms']:.1f} ms  "
            f"engine calls={r['engine_calls']} forward passes={r['forward_passes']}"
        )
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
