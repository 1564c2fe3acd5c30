"""Fill-in-the-middle evaluation tasks: built from the held-out corpus and from ../shared/eval-data.

Every builder is deterministic: the same inputs and seed give the same tasks in the same order, so
reports from different models and days compare task for task. Formats and official scoring of the
public sets are described in ../shared/eval-data/DATA.md.
"""

from __future__ import annotations

import gzip
import json
import random
from dataclasses import dataclass, field
from pathlib import Path

SAFIM_SPLITS = {"block": True, "control": False, "api": False}  # split -> multiline request
MAX_TOKENS = {True: 128, False: 48}  # budget per request, by multiline


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
    """Held-out records of one language, sorted by (source, path) so shard order cannot matter."""
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


def _single_line_cut(text: str, rng: random.Random) -> tuple[int, int] | None:
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


def _multi_line_cut(text: str, rng: random.Random) -> tuple[int, int] | None:
    """A whole block body of 2-8 lines (the lines after one ending in ':' that are indented
    deeper), or else 2-6 consecutive lines. The middle spans whole lines, indentation included."""
    lines, spans = text.split("\n"), _line_spans(text)
    openers = [i for i, line in enumerate(lines[:-1]) if line.rstrip().endswith(":") and lines[i + 1].strip()]
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


def _random_span_cut(text: str, rng: random.Random) -> tuple[int, int] | None:
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
    """`n` tasks of `kind` from held-out files: file uniform, position per the kind's cutter.
    Each (kind, index) draws from its own seeded stream, so raising n keeps the first tasks."""
    cutter, multiline = _CUTTERS[kind]
    tasks, seen = [], set()
    for i in range(n * 4):  # cutters may decline a file or repeat a cut; stop after n new tasks
        if len(tasks) == n or not records:
            break
        rng = random.Random(f"{seed}/{kind}/{i}")
        rec = rng.choice(records)
        span = cutter(rec["text"], rng)
        if span is None:
            continue
        a, b = span
        text, task_id = rec["text"], f"{rec['path']}:{a}-{b}"
        if task_id in seen:
            continue
        seen.add(task_id)
        tasks.append(
            FimTask(
                f"heldout-{kind}",
                f"{rec['path']}:{a}-{b}",
                rec["language"],
                text[:a],
                text[b:],
                text[a:b],
                multiline,
            )
        )
    return tasks


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


def humaneval_line_tasks(root: Path) -> list[FimTask]:
    """SantaCoder-style single-line tasks from HumanEval-X Python (DATA.md section 2): for every
    non-blank line i of the canonical solution, prefix = prompt + lines[:i], middle = line i
    (indentation included), suffix = the rest; the filled program runs with the problem's tests."""
    tasks = []
    for rec in _read_jsonl(Path(root) / "humaneval-x" / "humaneval_python.jsonl.gz"):
        lines = rec["canonical_solution"].split("\n")
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            prefix = rec["prompt"] + "".join(x + "\n" for x in lines[:i])
            suffix = "\n" + "\n".join(lines[i + 1 :])
            tail = suffix + "\n" + rec["test"] + "\n"
            tasks.append(
                FimTask(
                    "humaneval-x-line",
                    f"{rec['task_id']}/L{i}",
                    "python",
                    prefix,
                    suffix,
                    line,
                    False,
                    "check",
                    prefix,
                    tail,
                )
            )
    return tasks


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
