"""Does what the language server shows add a syntax error? Random cursors in held-out files.

    python bench/shown_syntax.py --model coder-mini-multi --corpus /work/data/corpus-multi \
        --language go --cursors 600 --out docs/bench/shown_syntax_go.json

The engine promises that its answer adds no syntax error to the context it was sent; the server then
cuts and re-indents that answer (lsp/postprocess.py) and may replace the auto-closed rest of the line.
This checks the promise where the user sees it. Each cursor: a held-out file (with `--cut-files`, its
first 6,000 characters: a file still being written), a random position, and, two times in three, the
file damaged there first (a chunk after the cursor deleted, or the cursor's line emptied). The request
is built and the answer cleaned exactly as mercury-lsp does. Both the engine's answer (behind the
spaces that finish a half-typed indentation, as the server shows it) and the shown edit are judged
on the whole file: does it have more syntax error nodes than the file as the user has it?
An answer may add errors the engine could not see (past the windows it was sent); a shown edit that
adds errors where the engine's answer did not is the server's own doing. Every such case is kept in
the JSON report.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from mercury.lsp.config import Config
from mercury.lsp.context import TokenCounter, build_request, indent_padding, read_cursor
from mercury.lsp.postprocess import Edit, clean, fit_line_suffix
from tqdm import tqdm

from mercury import evaluate, parsecheck
from mercury.eval_tasks import load_heldout


def damaged(text: str, rng: random.Random, cut_files: bool) -> tuple[str, int]:
    """A file and a cursor offset in it."""
    text = text[:6000] if cut_files else text
    cursor, mode = rng.randrange(len(text) + 1), rng.random()
    if mode < 1 / 3:  # a chunk after the cursor deleted
        text = text[:cursor] + text[min(len(text), cursor + rng.randint(1, 80)) :]
    elif mode < 2 / 3:  # the cursor's line emptied
        start, end = text.rfind("\n", 0, cursor) + 1, text.find("\n", cursor)
        text, cursor = text[:start] + text[len(text) if end < 0 else end :], start
    return text, cursor


def check(engine, text: str, offset: int, index: int, language: str, counter: TokenCounter) -> dict | None:
    before = text[:offset]
    line, column = before.count("\n"), len(before) - (before.rfind("\n") + 1)
    cursor = read_cursor(text, line, column, "utf-32", uri=f"file:///c{index}", language_id=language)
    if cursor is None:
        return None
    request, _ = build_request(cursor, Config(), counter)
    answer = engine.complete(request).text
    padding = indent_padding(cursor)
    shown = clean(padding + answer, cursor, request)
    edit = fit_line_suffix(shown, cursor) if shown else None
    row = {
        "multiline": request.multiline,
        "answer_ok": parsecheck.valid_in_context(cursor.before, padding + answer, cursor.after, language, ""),
        "shown_ok": edit is None or _edit_ok(cursor.before, cursor.after, edit, language),
    }
    if not (row["answer_ok"] and row["shown_ok"]):
        shown_text = shown.text if shown else None
        row.update(answer=answer, shown=shown_text, before=cursor.before[-300:], after=cursor.after[:200])
    return row


def _edit_ok(before: str, after: str, edit: Edit, language: str) -> bool:
    """Whether the file with the edit applied (its text at the cursor, over the characters it
    replaces on either side) has no more errors."""
    kept = len(before) - edit.dedent
    replaced = before[kept:] + after[: edit.replace]
    return parsecheck.valid_in_context(before[:kept], edit.text, after[edit.replace :], language, replaced)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", default="coder-mini", help="model name or directory")
    p.add_argument("--corpus", default=evaluate.DEFAULT_CORPORA[0], help="a corpus folder with heldout/")
    p.add_argument("--language", default="python")
    p.add_argument("--cursors", type=int, default=600)
    p.add_argument("--cut-files", action="store_true", help="only each file's first 6,000 characters")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--threads", type=int, default=1, help="compute threads, torch and ONNX Runtime")
    p.add_argument("--out", type=Path, default=None, help="JSON report")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    engine = evaluate.load_engine(args.model, "cpu", constrained=True, threads=args.threads)
    counter = TokenCounter.from_file(Path(getattr(engine, "folder", ".")) / "tokenizer.json")
    records = load_heldout(Path(args.corpus), args.language)
    rng = random.Random(args.seed)
    rows = []
    for index in tqdm(range(args.cursors), desc=args.language, unit="cursor", file=sys.stderr):
        text, offset = damaged(rng.choice(records)["text"], rng, args.cut_files)
        if (row := check(engine, text, offset, index, args.language, counter)) is not None:
            rows.append(row)
    summary = {
        "cursors": len(rows),
        "answer_adds_errors": sum(not r["answer_ok"] for r in rows),
        "shown_adds_errors": sum(not r["shown_ok"] for r in rows),
        "shown_adds_errors_answer_did_not": sum(r["answer_ok"] and not r["shown_ok"] for r in rows),
    }
    command = "python bench/shown_syntax.py " + " ".join(sys.argv[1:] if argv is None else argv)
    print(f"`{command}`\n{json.dumps(summary)}")
    if args.out:
        report = {
            "created": time.strftime("%Y-%m-%d %H:%M"),
            "machine": evaluate.machine_info(),
            "command": command,
            "summary": summary,
            "failures": [r for r in rows if not (r["answer_ok"] and r["shown_ok"])],
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
