"""What an editor is shown on the line Enter opens after a block's last line, where the file needs
that block's closer.

    python bench/closers_after_enter.py --model coder-mini-multi --sets humaneval-x-line-js \
        --limit 200 --threads 1 --out docs/bench/closers_after_enter.json

Editors indent the line Enter opens like the line above (Neovim's autoindent, VS Code's indentation
rules), so where a block ends the cursor sits deeper than the `}` or `)` that belongs there. Each
task is a line of closing brackets alone (`}`, `})`, `]`) in a file of the set, its line above code
that opens nothing: the line is emptied to the indentation of the line above, the cursor put at its
end, and the answer built and post-processed exactly as mercury-lsp does (server_answers.py). The
edit is applied as a client applies it (its range may cover indentation before the cursor), and
the new line is compared with the file's own.

Reported per set: n; closed, the share whose new line is the file's line exactly; parseable, the
share that leave the file parsing as well as with its own line; shown, the share with any answer;
by the grammar, the share of those closed whose answer was the syntax constraint's closing line
(stop reason "closer") rather than the model's own text; median ms per completion. Files: the
HumanEval-X programs of a humaneval-x-line set, or the held-out corpus files of a language
(`heldout-<language>`).
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import sys
import time
from pathlib import Path

# bench/ is on sys.path: this script's folder
from _report import add_run_options, command_line, publish, table_head
from mercury.lsp.config import Config
from mercury.lsp.context import TokenCounter, build_request, indent_padding, read_cursor
from mercury.lsp.postprocess import clean, fit_line_suffix
from tqdm import tqdm

from mercury import evaluate, parsecheck

CLOSER_LINE = re.compile(r"[ \t]*[)\]}]+[;,)]*")
OPENS = re.compile(r"[(\[{][ \t]*$")
HELDOUT_LANGUAGES = ("python", "go", "rust")


def programs(name: str, cfg: evaluate.EvalConfig) -> list[tuple[str, str]]:
    """(file id, text) of the files a set's tasks come from."""
    if name.startswith("heldout-"):
        language = name.removeprefix("heldout-")
        return [(r["path"], r["text"]) for r in evaluate.heldout_records(cfg, language)]
    whole = {}
    for task in evaluate.build_set(name, cfg):
        whole.setdefault(task.task_id.rsplit(":", 1)[0], task.prefix + task.middle + task.suffix)
    return sorted(whole.items())


def language_of(name: str, cfg: evaluate.EvalConfig) -> str:
    if name.startswith("heldout-"):
        return name.removeprefix("heldout-")
    return evaluate.build_set(name, cfg)[0].language


def closer_lines(text: str) -> list[int]:
    """Lines of closing brackets alone, shallower than the line of code above, which opens nothing."""
    lines = text.split("\n")
    found = []
    for index, line in enumerate(lines):
        above = next((lines[j] for j in range(index - 1, -1, -1) if lines[j].strip()), None)
        if above is None or not CLOSER_LINE.fullmatch(line) or OPENS.search(above):
            continue
        if _indent(line) < _indent(above):
            found.append(index)
    return found


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def tasks(name: str, cfg: evaluate.EvalConfig, limit: int | None, seed: int) -> list[dict]:
    """Each closer line of the set's files as an editor state after Enter (seeded sample)."""
    out = []
    for file_id, text in programs(name, cfg):
        lines = text.split("\n")
        for index in closer_lines(text):
            above = next(lines[j] for j in range(index - 1, -1, -1) if lines[j].strip())
            indent = above[: _indent(above)]
            before = "\n".join(lines[:index]) + "\n" + indent
            after = "\n" + "\n".join(lines[index + 1 :])
            out.append(
                {"id": f"{file_id}:{index + 1}", "before": before, "after": after, "line": lines[index]}
            )
    if limit and len(out) > limit:
        out = random.Random(seed).sample(out, limit)
    return out


def shown_line(engine, task: dict, language: str, config: Config, counter: TokenCounter) -> dict:
    """The edit mercury-lsp would show on the task's line, the file once it is applied, and the time."""
    before, after = task["before"], task["after"]
    line, column = before.count("\n"), len(before) - (before.rfind("\n") + 1)
    uri = f"file:///{task['id']}"
    cursor = read_cursor(before + after, line, column, "utf-32", uri=uri, language_id=language)
    request, _ = build_request(cursor, config, counter)
    started = time.perf_counter()
    result = engine.complete(request)
    cleaned = clean(indent_padding(cursor) + result.text, cursor, request)
    ms = (time.perf_counter() - started) * 1000
    row = {"stop_reason": result.stop_reason, "ms": ms}
    if cleaned is None:
        return {**row, "shown": False, "text": "", "dedent": 0, "filled": before + after}
    edit = fit_line_suffix(cleaned, cursor)
    filled = before[: len(before) - edit.dedent] + edit.text + after[edit.replace :]
    return {**row, "shown": True, "text": edit.text, "dedent": edit.dedent, "filled": filled}


def run_set(engine, name: str, cfg, args, config: Config, counter: TokenCounter) -> list[dict]:
    language = language_of(name, cfg)
    rows = []
    for task in tqdm(tasks(name, cfg, args.limit, args.seed), desc=name, unit="task", file=sys.stderr):
        got = shown_line(engine, task, language, config, counter)
        filled = got.pop("filled")
        head = task["before"][: task["before"].rfind("\n") + 1]
        own = head + task["line"] + task["after"]
        closed = filled == own
        parseable = closed or parsecheck.error_count(filled, language) <= parsecheck.error_count(
            own, language
        )
        rows.append({"id": task["id"], "line": task["line"], **got, "closed": closed, "parseable": parseable})
    return rows


def summary(rows: list[dict]) -> dict:
    def share(key: str) -> float | None:
        return round(statistics.fmean(bool(r[key]) for r in rows), 4) if rows else None

    closed = [r for r in rows if r["closed"]]
    return {
        "n": len(rows),
        "closed": share("closed"),
        "by_the_grammar": round(statistics.fmean(r["stop_reason"] == "closer" for r in closed), 4)
        if closed
        else None,
        "parseable": share("parseable"),
        "shown": share("shown"),
        "median_ms": round(statistics.median(r["ms"] for r in rows), 1) if rows else None,
    }


def markdown(report: dict, command: str) -> str:
    lines = [
        *table_head(report, command),
        "| set | n | closed exactly | parseable | shown | by the grammar | median ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, s in report["summary"].items():
        keys = ("closed", "parseable", "shown", "by_the_grammar")
        shares = [f"{100 * s[k]:.1f}%" if s[k] is not None else "-" for k in keys]
        lines.append(f"| {name} | {s['n']} | " + " | ".join(shares) + f" | {s['median_ms']} |")
    return "\n".join(lines) + "\n"


def _parser() -> argparse.ArgumentParser:
    sets = [*(f"heldout-{language}" for language in HELDOUT_LANGUAGES), *evaluate.ALL_SETS]
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_run_options(p)
    p.add_argument("--sets", nargs="+", default=["heldout-python"], choices=sets, metavar="SET")
    p.add_argument("--limit", type=int, default=200, help="tasks per set (a seeded sample); 0: all")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    engine = evaluate.load_engine(args.model, "cpu", constrained=True, threads=args.threads)
    cfg = evaluate.EvalConfig(corpus=tuple(args.corpus), eval_data=args.eval_data, seed=args.seed)
    counter = TokenCounter.from_file(Path(getattr(engine, "folder", ".")) / "tokenizer.json")
    config = Config()
    rows = {name: run_set(engine, name, cfg, args, config, counter) for name in args.sets}
    report = {
        "created": time.strftime("%Y-%m-%d %H:%M"),
        "machine": evaluate.machine_info(),
        "model": args.model,
        "config": {"sets": args.sets, "limit": args.limit, "seed": args.seed},
        "summary": {name: summary(r) for name, r in rows.items()},
        "rows": rows,
    }
    publish(report, markdown(report, command_line("closers_after_enter.py", argv)), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
