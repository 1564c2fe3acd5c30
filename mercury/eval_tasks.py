"""Fill-in-the-middle evaluation tasks: built from the held-out corpus and from ../shared/eval-data.

Every builder is deterministic: the same inputs and seed give the same tasks in the same order, so
reports from different models and days compare task for task. Formats and official scoring of the
public sets are described in ../shared/eval-data/DATA.md.

Every task's `language` is a tree-sitter language name of mercury.syntax (python, go, rust,
javascript, cpp, java), so a request built from it is constrained by that language's grammar.
"""

from __future__ import annotations

import gzip
import json
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

SAFIM_SPLITS = {"block": True, "control": False, "api": False}  # split -> multiline request
MAX_TOKENS = {True: 128, False: 48}  # budget per request, by multiline
HELDOUT_KINDS = ("single-line", "multi-line", "random-span")
HELDOUT_LANGUAGES = ("python", "go", "rust")  # the languages of /work/data/corpus-multi


@dataclass(frozen=True)
class FimTask:
    """One hole to fill. `scorer`: "match" (EM/ES only), "stdio" (run `program_head + completion +
    program_tail` on `tests`), "check" (run the program, exit 0 passes), "api" (SAFIM syntax match)."""

    set_name: str
    task_id: str
    language: str
    prefix: str
    suffix: str
    middle: str
    multiline: bool
    scorer: str = "match"
    program_head: str = ""
    program_tail: str = ""
    tests: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())
    source: str = ""  # the document it was cut from ("": its own); eval_stats clusters tasks by it

    @property
    def max_tokens(self) -> int:
        return MAX_TOKENS[self.multiline]


def clip_context(prefix: str, suffix: str, prefix_chars: int, suffix_chars: int) -> tuple[str, str]:
    """Keep the last `prefix_chars` of the prefix and the first `suffix_chars` of the suffix, cut at
    line boundaries so no line is half-shown (an editor client sends a similar window)."""
    if len(prefix) > prefix_chars:
        cut = prefix.find("\n", len(prefix) - prefix_chars)
        prefix = prefix[cut + 1 :] if cut != -1 else prefix[-prefix_chars:]
    if len(suffix) > suffix_chars:
        cut = suffix.rfind("\n", 0, suffix_chars)
        suffix = suffix[: cut + 1] if cut > 0 else suffix[:suffix_chars]
    return prefix, suffix


def subsample(tasks: list[FimTask], limit: int | None, seed: int) -> list[FimTask]:
    """A seeded sample of `limit` tasks in their original order (all of them when limit is None)."""
    if limit is None or limit >= len(tasks):
        return tasks
    keep = sorted(random.Random(seed).sample(range(len(tasks)), limit))
    return [tasks[i] for i in keep]


# --- held-out corpus -------------------------------------------------------------------------


def load_heldout(corpus_dir: Path, language: str = "python") -> list[dict]:
    """Held-out records of one language, sorted by (source, path) so shard order cannot matter.
    /work/data/corpus has Python only; /work/data/corpus-multi has Python, Go and Rust."""
    records = []
    for shard in sorted(Path(corpus_dir, "heldout").glob("*.jsonl")):
        with open(shard, encoding="utf-8") as f:
            records += [r for r in map(json.loads, f) if r["language"] == language]
    return sorted(records, key=lambda r: (r["source"], r["path"]))


def _line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) offsets of each line's content, the newline excluded."""
    spans, start = [], 0
    for line in text.split("\n"):
        spans.append((start, start + len(line)))
        start += len(line) + 1
    return spans


def heldout_set_name(language: str, kind: str) -> str:
    """The set's name: heldout-single-line for Python (the name reports have always used), else
    heldout-go-single-line and the like."""
    return f"heldout-{kind}" if language == "python" else f"heldout-{language}-{kind}"


def _single_line_cut(text: str, rng: random.Random, language: str) -> tuple[int, int] | None:
    """A middle that is the rest of a line from a random cut inside it, or (half the time) the
    whole line with its indentation; lines without code are skipped."""
    spans = [(a, b) for a, b in _line_spans(text) if len(text[a:b].strip()) >= 4]
    if not spans:
        return None
    a, b = rng.choice(spans)
    indent = len(text[a:b]) - len(text[a:b].lstrip())
    if rng.random() < 0.5:
        return a, b
    return rng.randint(a + indent, b - 1), b


def _multi_line_cut(text: str, rng: random.Random, language: str) -> tuple[int, int] | None:
    """A whole block body of 2-8 lines (the lines after a block opener that are indented deeper:
    one ending in ':' in Python, in '{' elsewhere), or else 2-6 consecutive lines. The middle
    spans whole lines, indentation included. Brace languages here are gofmt/rustfmt-formatted,
    so indentation marks their blocks as well as it does Python's."""
    lines, spans = text.split("\n"), _line_spans(text)
    opener = ":" if language == "python" else "{"
    openers = [
        i for i, line in enumerate(lines[:-1]) if line.rstrip().endswith(opener) and lines[i + 1].strip()
    ]
    rng.shuffle(openers)
    for i in openers[:20]:
        end = _block_end(lines, i)
        if 2 <= end - (i + 1) <= 8:
            return spans[i + 1][0], spans[end - 1][1]
    start = rng.randrange(len(lines))
    end = min(len(lines), start + rng.randint(2, 6))
    if not "".join(lines[start:end]).strip():
        return None
    return spans[start][0], spans[end - 1][1]


def _block_end(lines: list[str], opener: int) -> int:
    """Index one past the last non-blank line indented deeper than lines[opener]."""
    depth, last = _depth(lines[opener]), opener
    for j in range(opener + 1, len(lines)):
        if lines[j].strip():
            if _depth(lines[j]) <= depth:
                break
            last = j
    return last + 1


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip())


def _random_span_cut(text: str, rng: random.Random, language: str) -> tuple[int, int] | None:
    """A character span of 4-120 characters anywhere with some non-space content."""
    if len(text) < 200:
        return None
    start = rng.randrange(len(text) - 130)
    end = start + rng.randint(4, 120)
    return (start, end) if text[start:end].strip() else None


_CUTTERS = {
    "single-line": (_single_line_cut, False),
    "multi-line": (_multi_line_cut, True),
    "random-span": (_random_span_cut, True),
}


def heldout_tasks(records: list[dict], kind: str, n: int, seed: int) -> list[FimTask]:
    """`n` tasks of `kind` from held-out files (all of one language): file uniform, position per
    the kind's cutter. Each (kind, index) draws from its own seeded stream, so raising n keeps
    the first tasks."""
    cutter, multiline = _CUTTERS[kind]
    tasks, seen = [], set()
    for i in range(n * 4):  # cutters may decline a file or repeat a cut; stop after n new tasks
        if len(tasks) == n or not records:
            break
        rng = random.Random(_stream(seed, kind, i, records[0]["language"]))
        rec = rng.choice(records)
        span = cutter(rec["text"], rng, rec["language"])
        if span is None:
            continue
        a, b = span
        text, task_id = rec["text"], f"{rec['path']}:{a}-{b}"
        if task_id in seen:
            continue
        seen.add(task_id)
        tasks.append(
            FimTask(
                heldout_set_name(rec["language"], kind),
                f"{rec['path']}:{a}-{b}",
                rec["language"],
                text[:a],
                text[b:],
                text[a:b],
                multiline,
                source=rec["path"],
            )
        )
    return tasks


def _stream(seed: int, kind: str, i: int, language: str) -> str:
    """Seed of task i's random stream. Python keeps the stream it always had (and with it the
    tasks of earlier reports); other languages get their own."""
    return f"{seed}/{kind}/{i}" if language == "python" else f"{seed}/{language}/{kind}/{i}"


# --- ../shared/eval-data ---------------------------------------------------------------------


def _read_jsonl(path: Path) -> list[dict]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def safim_tasks(root: Path, split: str, language: str = "python") -> list[FimTask]:
    """SAFIM tasks of one split. The model sees `eval_prompt` (code only) around the hole, not the
    English problem statement of `prompt`: the model is a code model. Python's \\r\\n line endings
    are turned into \\n (the training corpus has none; Python runs either)."""
    tasks = []
    for rec in _read_jsonl(Path(root) / "safim" / f"{split}_completion.jsonl.gz"):
        if rec["lang"] != language:
            continue
        code, truth = rec["eval_prompt"], rec["ground_truth"]
        if language == "python":
            code, truth = code.replace("\r\n", "\n"), truth.replace("\r\n", "\n")
        head, tail = code.split("{{completion}}")
        tests = tuple((t["input"], tuple(t["output"])) for t in rec["unit_tests"])
        scorer = "api" if split == "api" else "stdio"
        tasks.append(
            FimTask(
                f"safim-{split}",
                f"{split}/{rec['task_id']}",
                language,
                head,
                tail,
                truth,
                SAFIM_SPLITS[split],
                scorer,
                head,
                tail,
                tests,
            )
        )
    return tasks


# HumanEval-X file tag -> tree-sitter language name (the name requests and parsecheck use).
HUMANEVAL_X = {
    "python": "python",
    "js": "javascript",
    "go": "go",
    "rust": "rust",
    "cpp": "cpp",
    "java": "java",
}

# Headers the C++ programs may use beyond what their prompt includes (CodeGeeX adds the same kind
# of list before it runs them); an include twice is harmless.
_CPP_HEADERS = "".join(
    f"#include<{h}>\n"
    for h in ("stdlib.h", "algorithm", "math.h", "stdio.h", "vector", "string", "climits", "cstring")
    + ("iostream", "cassert", "map", "set", "numeric")
)
# Problems that need a library outside the standard one cannot be built here: by text, so the
# task list does not depend on the machine. Rust's declaration names rand, regex and md5 for
# every problem; only these use them.
_NEEDS_LIBRARY = {"rust": ("md5::", "Regex", "rand::"), "cpp": ("boost/", "openssl/"), "js": ("require(",)}
# References that fail their own tests (run here 2026-11-27 with node 20, g++ 12, rustc 1.95 and
# Java 17, all others pass): their tests compare arrays with == or expect another answer.
_REFERENCE_FAILS = frozenset({"JavaScript/112", "JavaScript/155"})
_RUST_CRATE_USES = re.compile(r"^use (rand|regex|md5)\b[^;]*;\n", re.MULTILINE)

# Why a language's HumanEval-X tasks are scored by exact match only.
NOT_EXECUTED = {
    "go": "Go tests need the testify module and a go toolchain; neither is available offline here",
}


@dataclass(frozen=True)
class _HumanEvalX:
    """How one HumanEval-X language becomes a file the model sees and a program that runs.

    `head`: the text before the canonical solution in the model's file. The program that runs is
    `preamble + fix_prefix(prefix) + completion + suffix + test`; `executed` False: never run."""

    head: Callable[[dict], str]
    preamble: str = ""
    fix_prefix: Callable[[str], str] = str
    executed: bool = True


_HX_SPECS = {
    # Python, JS and Java run as prompt + code + test (DATA.md section 2).
    "python": _HumanEvalX(lambda r: r["prompt"]),
    "js": _HumanEvalX(lambda r: r["prompt"]),
    "java": _HumanEvalX(lambda r: r["prompt"]),
    "cpp": _HumanEvalX(lambda r: r["prompt"], preamble=_CPP_HEADERS),
    # Rust keeps the signature in `declaration`; the doc comment goes first, as in a real file.
    # The harness is a #[cfg(test)] module, so the binary's main is a stub.
    "rust": _HumanEvalX(
        lambda r: r["prompt"] + r["declaration"],
        preamble="fn main() {}\n",
        fix_prefix=lambda text: _RUST_CRATE_USES.sub("", text),
    ),
    # A Go file starts with its package clause; the prompt begins at the imports.
    "go": _HumanEvalX(lambda r: "package main\n\n" + r["prompt"], executed=False),
}


def humaneval_set_name(tag: str) -> str:
    """The set's name: humaneval-x-line for Python (the name reports have always used), else
    humaneval-x-line-js and the like (tags as in the HumanEval-X file names)."""
    return "humaneval-x-line" if tag == "python" else f"humaneval-x-line-{tag}"


def humaneval_line_tasks(root: Path, tag: str = "python") -> list[FimTask]:
    """SantaCoder-style single-line tasks from HumanEval-X (DATA.md section 2): for every
    non-blank line i of the canonical solution, prefix = head + lines[:i], middle = line i
    (indentation included), suffix = the rest; the filled program runs with the problem's tests
    where the language is executed (`scorer` "check"), else only exact match counts."""
    spec = _HX_SPECS[tag]
    tasks = []
    for rec in _read_jsonl(Path(root) / "humaneval-x" / f"humaneval_{tag}.jsonl.gz"):
        head = spec.head(rec)
        runs = spec.executed and not _needs_library(tag, rec) and rec["task_id"] not in _REFERENCE_FAILS
        lines = rec["canonical_solution"].split("\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            prefix = head + "".join(x + "\n" for x in lines[:i])
            suffix = "".join("\n" + x for x in lines[i + 1 :])  # "" after a last line with no newline
            tasks.append(
                FimTask(
                    humaneval_set_name(tag),
                    f"{rec['task_id']}/L{i}",
                    HUMANEVAL_X[tag],
                    prefix,
                    suffix,
                    line,
                    False,
                    "check" if runs else "match",
                    spec.preamble + spec.fix_prefix(prefix) if runs else "",
                    suffix + "\n" + rec["test"] + "\n" if runs else "",
                    source=rec["task_id"],
                )
            )
    return tasks


def _needs_library(tag: str, rec: dict) -> bool:
    """True when the problem uses a library that is not part of the language's standard one.
    (Rust's `declaration`, which names the crates for every problem, is not searched.)"""
    text = rec["prompt"] + rec["canonical_solution"] + rec["test"]
    return any(marker in text for marker in _NEEDS_LIBRARY.get(tag, ()))


def crosscodeeval_tasks(root: Path, language: str = "python") -> list[FimTask]:
    """The CrossCodeEval sample: prefix = prompt, suffix = right_context, middle = groundtruth (the
    rest of the cursor's line); the cross-file context is not given to the model."""
    tasks = []
    for rec in _read_jsonl(Path(root) / "crosscodeeval-sample" / f"{language}.jsonl"):
        tasks.append(
            FimTask(
                f"crosscodeeval-{language}",
                rec["metadata"]["task_id"],
                language,
                rec["prompt"],
                rec["right_context"],
                rec["groundtruth"],
                False,
            )
        )
    return tasks
