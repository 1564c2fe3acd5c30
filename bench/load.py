"""Load: simulated editors typing into their own `mercury-lsp`, all sharing one engine daemon.

Each editor runs a real language server (`mercury-lsp --engine unix:...`) over stdio, opens a source
file of this repository with a gap in it and types the gap back at `--rate` keys per second: after each
key a didChange, a $/cancelRequest for its previous inline request if still unanswered (as VS Code
does), and a new automatic inline request. The run stops by itself: typing ends after `--seconds`,
answers get `--drain` seconds more, then every process is shut down. The daemon listens on a unix
socket in a private temporary folder, so nothing is reachable from outside this user.

Reported: latency p50/p95 (answered requests, and those with a suggestion), requests completed,
empty, cancelled by the editor, superseded in the server, errors, unanswered; the daemon's resident
memory sampled over time and its least-squares slope in MB/min (after a warm-up fifth of the run).
Raw samples go to --out as JSON; statistics are computed from them (as in bench/lsp_latency.py).

    python bench/load.py --model coder-mini                 # 8 editors, 10 keys/s, 60 s
    python bench/load.py --fake --editors 2 --seconds 3     # no model: protocol, servers and daemon
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from _lsp_pipe import LspPipe  # bench/ is on sys.path: this script's folder, or `mercury bench` puts it

REPO = Path(__file__).resolve().parent.parent
SOURCES = sorted((REPO / "lsp").glob("*.py")) + sorted((REPO / "denoiser").glob("*.py"))
LIMITS = {"editors": (1, 64), "rate": (0.5, 50.0), "seconds": (1.0, 3600.0)}
START_TIMEOUT = 300.0  # seconds for the daemon to load its model and listen


@dataclass
class Sample:
    """One inline completion request as the editor saw it."""

    editor: int
    sent: float
    answered: float | None = None
    outcome: str = "unanswered"  # completed | empty | cancelled | error | unanswered

    @property
    def ms(self) -> float:
        return (self.answered - self.sent) * 1000 if self.answered is not None else float("nan")


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    rss: list[tuple[float, float]] = field(default_factory=list)  # (seconds since start, MB)
    server_stats: list[dict] = field(default_factory=list)
    crashes: list[str] = field(default_factory=list)


class Editor(LspPipe):
    """One simulated editor: its language server and the run its samples go to."""

    def __init__(self, index: int, process: asyncio.subprocess.Process, run: Run):
        super().__init__(process)
        self.index, self.run = index, run


# ---------------------------------------------------------------- typing


def document_for(index: int, length: int = 400) -> tuple[str, str, str]:
    """(text before the gap, the gap to type, text after it) from a source file of this repository."""
    text = SOURCES[index % len(SOURCES)].read_text()
    start = text.find("\n", len(text) // 3) + 1
    return text[:start], text[start : start + length], text[start + length :]


def position_after(text: str) -> dict:
    """The LSP position (UTF-16 columns) at the end of `text`."""
    line = text.count("\n")
    column = text[text.rfind("\n") + 1 :]
    return {"line": line, "character": len(column.encode("utf-16-le")) // 2}


async def type_into(editor: Editor, seconds: float, rate: float, rng: random.Random) -> None:
    """Type the document's gap at `rate` keys/s on average until `seconds` have passed."""
    before, gap, after = document_for(editor.index)
    uri = f"file:///load/editor{editor.index}.py"
    editor.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": before + after}},
    )
    loop, previous = asyncio.get_running_loop(), None
    deadline, version = loop.time() + seconds, 1
    keys = int(3 * seconds * rate) + 1  # more than the deadline lets through: the deadline ends typing
    for char in (gap * (1 + keys // max(1, len(gap))))[:keys]:
        if loop.time() >= deadline:
            break
        at, version = position_after(before), version + 1
        change = {"range": {"start": at, "end": at}, "text": char}
        editor.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]},
        )
        before += char
        if previous is not None and previous[1].answered is None:
            editor.notify("$/cancelRequest", {"id": previous[0]})
        previous = ask(editor, uri, position_after(before))
        # Exponential gaps (mean 1/rate): bursts and pauses, so some requests outlast the debounce.
        await asyncio.sleep(max(0.01, rng.expovariate(rate)))


def ask(editor: Editor, uri: str, at: dict) -> tuple[int, Sample]:
    """Send an automatic inline completion request; its sample fills in when the answer comes."""
    params = {"textDocument": {"uri": uri}, "position": at, "context": {"triggerKind": 2}}
    sample = Sample(editor.index, time.perf_counter())
    editor.run.samples.append(sample)
    msg_id, future = editor.request("textDocument/inlineCompletion", params)
    future.add_done_callback(lambda done: record(sample, done))
    return msg_id, sample


def record(sample: Sample, done: asyncio.Future) -> None:
    if done.cancelled() or done.exception() is not None:
        return  # the server went away: stays "unanswered"
    message = done.result()
    sample.answered = time.perf_counter()
    if "error" in message:
        sample.outcome = "cancelled" if message["error"].get("code") == -32800 else "error"
    else:
        items = (message.get("result") or {}).get("items") or []
        sample.outcome = "completed" if items else "empty"


# ---------------------------------------------------------------- processes


def rss_mb(pid: int) -> float | None:
    """Resident memory of a process from /proc (Linux), None once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def daemon_command(args: argparse.Namespace, address: str) -> list[str]:
    if args.fake:
        return [sys.executable, str(Path(__file__).resolve().parent / "_fake_engine.py"), address]
    options = ["--listen", address, "--log-level", "WARNING"]
    options += ["--threads", str(args.threads)] if args.threads else []
    return [sys.executable, "-m", "mercury.denoiser.service", "--model", args.model, *options]


async def wait_listening(path: str, daemon: subprocess.Popen) -> None:
    """Until the daemon's socket accepts a connection (it binds only once the model is loaded)."""
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if daemon.poll() is not None:
            raise RuntimeError(f"the engine daemon exited with code {daemon.returncode}")
        with contextlib.suppress(OSError):
            _, writer = await asyncio.open_unix_connection(path)
            writer.close()
            return
        await asyncio.sleep(0.1)  # polling a socket that appears once the model has loaded
    raise RuntimeError(f"the engine daemon did not listen within {START_TIMEOUT:.0f} s")


async def start_editor(index: int, args: argparse.Namespace, address: str, run: Run) -> Editor:
    command = [sys.executable, "-m", "mercury.lsp.cli", "--engine", address, "--model", args.model]
    process = await asyncio.create_subprocess_exec(
        *command,
        "--log-level",
        "warning",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    editor = Editor(index, process, run)
    capabilities = {
        "general": {"positionEncodings": ["utf-16"]},
        "textDocument": {"inlineCompletion": {}, "synchronization": {}},
    }
    params = {"processId": os.getpid(), "rootUri": None, "capabilities": capabilities}
    await editor.call("initialize", params, START_TIMEOUT)
    editor.notify("initialized", {})
    return editor


async def stop_editor(editor: Editor) -> None:
    """shutdown + exit, then kill what does not go within a few seconds."""
    with contextlib.suppress(Exception):
        stats = await editor.call("mercury/stats", {}, 10)
        editor.run.server_stats.append(stats.get("result") or {})
        await editor.call("shutdown", {}, 10)
        editor.notify("exit", {})
    try:
        await asyncio.wait_for(editor.process.wait(), 10)
    except TimeoutError:
        editor.process.kill()
        await editor.process.wait()


def stop_daemons(daemon: subprocess.Popen, lock: Path) -> None:
    """Our daemon, and any daemon a language server started on our private socket after a crash."""
    pids = {daemon.pid}
    with contextlib.suppress(OSError, ValueError, IndexError):
        pids.add(int(lock.read_text().split()[0]))
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    try:
        daemon.wait(timeout=15)
    except subprocess.TimeoutExpired:
        daemon.kill()
        daemon.wait()


# ---------------------------------------------------------------- the run


async def sample_memory(pid: int, run: Run, every: float, started: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        if (mb := rss_mb(pid)) is not None:
            run.rss.append((time.perf_counter() - started, mb))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def drive(args: argparse.Namespace, folder: Path) -> Run:
    run, address = Run(), f"unix:{folder / 'engine.sock'}"
    daemon = subprocess.Popen(
        daemon_command(args, address), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL
    )
    editors: list[Editor] = []
    try:
        await wait_listening(str(folder / "engine.sock"), daemon)
        editors = list(
            await asyncio.gather(*(start_editor(i, args, address, run) for i in range(args.editors)))
        )
        started, stop = time.perf_counter(), asyncio.Event()
        sampler = asyncio.ensure_future(sample_memory(daemon.pid, run, args.sample, started, stop))
        rngs = [random.Random(args.seed + i) for i in range(args.editors)]
        await asyncio.gather(
            *(type_into(e, args.seconds, args.rate, r) for e, r in zip(editors, rngs, strict=True))
        )
        await drain(run, args.drain)
        stop.set()
        await sampler
        run.crashes += [
            f"editor {e.index} exited ({e.process.returncode})"
            for e in editors
            if e.process.returncode is not None
        ]
        if daemon.poll() is not None:
            run.crashes.append(f"engine daemon exited ({daemon.returncode})")
    finally:
        await asyncio.gather(*(stop_editor(e) for e in editors), return_exceptions=True)
        stop_daemons(daemon, folder / "engine.sock.lock")
    return run


async def drain(run: Run, seconds: float) -> None:
    """Wait up to `seconds` for the answers still on their way."""
    deadline = time.monotonic() + seconds
    while any(s.answered is None for s in run.samples) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------- statistics


def percentiles(values: list[float]) -> dict:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0, "p50_ms": None, "p95_ms": None}
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 1), "p95_ms": round(p95, 1)}


def slope_mb_per_min(rss: list[tuple[float, float]]) -> float | None:
    """Least-squares slope of resident memory after the first fifth of the run (warm-up)."""
    if len(rss) < 3:
        return None
    kept = [point for point in rss if point[0] >= rss[-1][0] / 5] or rss
    if len(kept) < 2:
        return None
    xs, ys = [t / 60 for t, _ in kept], [mb for _, mb in kept]
    return round(statistics.linear_regression(xs, ys).slope, 2) if len(set(xs)) > 1 else None


def summarise(run: Run, args: argparse.Namespace) -> dict:
    outcomes = {
        name: sum(s.outcome == name for s in run.samples)
        for name in ("completed", "empty", "cancelled", "error", "unanswered")
    }
    answered = [s.ms for s in run.samples if s.outcome in ("completed", "empty")]
    superseded = sum(stats.get("counts", {}).get("superseded", 0) for stats in run.server_stats)
    return {
        "config": {k: getattr(args, k) for k in ("editors", "rate", "seconds", "model", "fake", "threads")},
        "requests": len(run.samples),
        "outcomes": outcomes,
        "superseded_in_server": superseded,
        "latency_answered": percentiles(answered),
        "latency_completed": percentiles([s.ms for s in run.samples if s.outcome == "completed"]),
        "daemon_rss_mb": {
            "first": round(run.rss[0][1], 1) if run.rss else None,
            "last": round(run.rss[-1][1], 1) if run.rss else None,
            "max": round(max(mb for _, mb in run.rss), 1) if run.rss else None,
            "slope_mb_per_min": slope_mb_per_min(run.rss),
        },
        "crashes": run.crashes,
    }


def print_table(summary: dict) -> None:
    c, o = summary["config"], summary["outcomes"]
    model = "fake" if c["fake"] else c["model"]
    print(f"load: {c['editors']} editors x {c['rate']} keys/s x {c['seconds']} s, model {model}")
    print(
        f"  requests   {summary['requests']}  completed {o['completed']}  empty {o['empty']}  "
        f"cancelled {o['cancelled']}  superseded-in-server {summary['superseded_in_server']}  "
        f"errors {o['error']}  unanswered {o['unanswered']}"
    )
    for name in ("latency_answered", "latency_completed"):
        s = summary[name]
        print(f"  {name:<18} n={s['n']:<5} p50={s['p50_ms']} ms  p95={s['p95_ms']} ms")
    r = summary["daemon_rss_mb"]
    print(f"  daemon RSS MB  first={r['first']} last={r['last']} max={r['max']}")
    print(f"  daemon RSS slope {r['slope_mb_per_min']} MB/min (after the first fifth of the run)")
    print(f"  crashes    {summary['crashes'] or 'none'}")


# ---------------------------------------------------------------- command line


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--editors", type=int, default=8)
    p.add_argument("--rate", type=float, default=10.0, help="keys per second per editor")
    p.add_argument("--seconds", type=float, default=60.0, help="how long the editors type")
    p.add_argument("--model", default="coder-mini")
    p.add_argument("--fake", action="store_true", help="a model-free engine (about 30 ms a request)")
    p.add_argument("--threads", type=int, default=1, help="compute threads of the daemon")
    p.add_argument("--drain", type=float, default=10.0, help="seconds to wait for answers after typing")
    p.add_argument("--sample", type=float, default=0.5, help="seconds between memory samples")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, help="write the summary and raw samples here (JSON)")
    return p


def check_limits(args: argparse.Namespace) -> str | None:
    """A message when a setting leaves the bounds that keep a run finite and the machine usable."""
    for name, (low, high) in LIMITS.items():
        if not low <= getattr(args, name) <= high:
            return f"--{name} must lie between {low} and {high}"
    return None


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if (problem := check_limits(args)) is not None:
        print(f"load: {problem}", file=sys.stderr)
        return 2
    folder = Path(tempfile.mkdtemp(prefix="mercury-load-"))  # mode 0700: the socket is ours alone
    try:
        run = asyncio.run(drive(args, folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    summary = summarise(run, args)
    print_table(summary)
    if args.out:
        raw = {"samples": [asdict(s) for s in run.samples], "rss": run.rss, "server_stats": run.server_stats}
        args.out.write_text(json.dumps({"summary": summary, "raw": raw}, indent=1) + "\n")
    return 1 if run.crashes else 0


if __name__ == "__main__":
    sys.exit(main())
