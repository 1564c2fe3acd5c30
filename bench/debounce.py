"""Fixed versus adaptive debounce, measured on held-out code typed at a human pace through the server.

Every keystroke sends didChange and an automatic inlineCompletion request without waiting for the
answer, as editors do. Keystrokes come at a randomised pace (lognormal, median 120 ms) with a pause
after each line. For each debounce setting the server's own statistics (`mercury/stats`) tell how
many requests reached the engine (work spent), how many were superseded, and the client measures
how long after the last keystroke before a pause a suggestion arrived (what the user waits for).

    python bench/debounce.py --model coder-mini --lines 12 --out docs/debounce.json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from pathlib import Path

from lsp_latency import open_doc, position, type_char
from lsprotocol import types
from pytest_lsp import client_capabilities, make_test_lsp_client

from mercury.eval_tasks import load_heldout

SETTINGS = {
    "fixed-120ms": {"mode": "fixed", "ms": 120},
    "adaptive": {"mode": "adaptive", "ms": 120, "minMs": 40, "maxMs": 500},
}
PAUSE_S = 0.8  # a pause at each line end: the moment a suggestion is wanted


def typing_script(records: list[dict], lines: int, seed: int) -> tuple[str, str]:
    """(text already in the file, text to type): `lines` consecutive non-blank lines of held-out code."""
    rng = random.Random(seed)
    while True:
        text = rng.choice(records)["text"]
        rows = text.splitlines(keepends=True)
        if len(rows) < lines + 20:
            continue
        start = rng.randrange(10, len(rows) - lines)
        typed = "".join(rows[start : start + lines])
        if typed.strip():
            return "".join(rows[:start]), typed


async def run_setting(model: str, debounce: dict, before: str, typed: str, seed: int) -> dict:
    client = make_test_lsp_client()
    await client.start_io(sys.executable, "-m", "mercury.lsp.cli", "--model", model)
    caps = client_capabilities("neovim")
    caps.text_document.inline_completion = types.InlineCompletionClientCapabilities()
    params = types.InitializeParams(capabilities=caps, initialization_options={"debounce": debounce})
    await client.initialize_session(params)
    try:
        return await _type(client, before, typed, random.Random(seed))
    finally:
        await client.shutdown_session()
        await client.stop()


async def _type(client, before: str, typed: str, rng: random.Random) -> dict:
    uri = "file:///bench/debounce.py"
    open_doc(client, uri, before)
    await _ask(client, uri, before, types.InlineCompletionTriggerKind.Invoked)  # model loaded before timing
    pending, waits = [], []
    for version, ch in enumerate(typed, start=2):
        before = type_char(client, uri, version, before, ch)
        task = asyncio.ensure_future(_ask(client, uri, before, types.InlineCompletionTriggerKind.Automatic))
        pending.append(task)
        if ch == "\n":
            waits.append(await task)  # the user pauses here and waits for the suggestion
            await asyncio.sleep(PAUSE_S)
        else:
            await asyncio.sleep(min(0.4, max(0.04, rng.lognormvariate(-2.1, 0.4))))
    await asyncio.gather(*pending)
    stats = await client.protocol.send_request_async("mercury/stats", {})
    return {"keystrokes": len(typed), "wait_after_line_ms": waits, "server": plain(stats)}


def plain(value):
    """pygls hands unknown responses back as named tuples: turn them into dicts and lists."""
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


async def _ask(client, uri: str, before: str, trigger) -> float:
    params = types.InlineCompletionParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        position=position(before),
        context=types.InlineCompletionContext(trigger_kind=trigger),
    )
    t0 = time.perf_counter()
    await client.text_document_inline_completion_async(params)
    return (time.perf_counter() - t0) * 1000


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="coder-mini")
    p.add_argument("--lines", type=int, default=12)
    p.add_argument("--seed", type=int, default=3)
    p.add_argument("--corpus", default="/work/data/corpus")
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args(argv)
    before, typed = typing_script(load_heldout(Path(args.corpus)), args.lines, args.seed)
    report = {}
    for name, debounce in SETTINGS.items():
        raw = asyncio.run(run_setting(args.model, debounce, before, typed, args.seed))
        counts = raw["server"]["counts"]
        waits = raw["wait_after_line_ms"]
        report[name] = {
            "keystrokes": raw["keystrokes"],
            "engine_calls": counts.get("engine_calls", 0),
            "superseded": counts.get("superseded", 0),
            "cache_hits": counts.get("cache_hits", 0) + counts.get("typed_through", 0),
            "wait_after_line_p50_ms": round(statistics.median(waits), 1) if waits else None,
            "raw": raw,
        }
        r = report[name]
        line = f"{name:<12} keys={r['keystrokes']} engine_calls={r['engine_calls']} "
        line += f"superseded={r['superseded']} cache_hits={r['cache_hits']} "
        print(line + f"wait_after_line_p50={r['wait_after_line_p50_ms']} ms")
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
