"""Training data: read a corpus, cut fill-in-the-middle examples at realistic character positions.

Spans are cut on characters, then prefix, middle and suffix are tokenized apart, so the model sees a
cursor after indentation or inside a word (Bavarian et al. 2022 recommend character-level spans).
Context windows vary in length so that no position learns to mean "the middle ends here".
"""

from __future__ import annotations

import bisect
import glob
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .objective import FimExample
from .tokenizer import CodeTokenizer

CODE_SUFFIXES = (".py", ".js", ".ts", ".tsx", ".go", ".rs", ".java", ".c", ".h", ".cc", ".cpp", ".hpp")
SPAN_KINDS = {"line_rest": 0.3, "inline": 0.15, "lines": 0.25, "block": 0.15, "random": 0.15}


def read_texts(sources: list[str]) -> list[str]:
    """Texts from corpus .jsonl files (records with "text"), code files, directories or globs."""
    texts: list[str] = []
    for source in sources:
        for path in _expand(source):
            if path.suffix == ".jsonl":
                with path.open(encoding="utf-8") as f:
                    texts.extend(json.loads(line)["text"] for line in f if line.strip())
            else:
                try:
                    texts.append(path.read_text(encoding="utf-8"))
                except (UnicodeDecodeError, OSError):
                    continue  # not UTF-8 or unreadable: not training data
    return [t for t in texts if t.strip()]


def _expand(source: str) -> Iterator[Path]:
    path = Path(source)
    if path.is_dir():
        for p in sorted(path.rglob("*")):
            if p.is_file() and (p.suffix in CODE_SUFFIXES or p.suffix == ".jsonl"):
                yield p
    elif path.is_file():
        yield path
    else:
        for match in sorted(glob.glob(source, recursive=True)):
            if Path(match).is_file():
                yield Path(match)


@dataclass(kw_only=True)
class SpanPolicy:
    fim_rate: float = 0.9
    max_prefix: int = 320  # tokens of prefix context, at most
    max_suffix: int = 128
    max_middle: int = 96  # a longer middle gives its tail to the suffix


class FimSampler:
    """Draws FIM examples from texts, each text weighted by its length."""

    def __init__(self, texts: list[str], tok: CodeTokenizer, rng: random.Random, policy: SpanPolicy):
        if not texts:
            raise ValueError("no training text found in the given corpus paths")
        self.texts, self.tok, self.rng, self.policy = texts, tok, rng, policy
        self._cum = []
        total = 0
        for t in texts:
            total += len(t)
            self._cum.append(total)

    def sample(self) -> FimExample:
        while True:
            doc = self.texts[bisect.bisect_right(self._cum, self.rng.randrange(self._cum[-1]))]
            example = self._from_doc(doc)
            if example is not None:
                return example

    def _from_doc(self, doc: str) -> FimExample | None:
        if self.rng.random() < self.policy.fim_rate:
            kind = self.rng.choices(list(SPAN_KINDS), weights=list(SPAN_KINDS.values()))[0]
            span = cut_span(doc, kind, self.rng)
            if span is None:
                return None
            a, b = span
            return self._encode(doc[:a], doc[a:b], doc[b:])
        return self._left_to_right(doc)

    def _encode(self, prefix: str, middle: str, suffix: str) -> FimExample | None:
        p = self.policy
        prefix = prefix[-8 * p.max_prefix :]
        suffix = suffix[: 8 * p.max_suffix]
        mid_ids = self.tok.encode(middle)
        if not mid_ids:
            return None
        if len(mid_ids) > p.max_middle:  # keep the span's end consistent: its tail moves to the suffix
            head = self.tok.decode(mid_ids[: p.max_middle])
            if not middle.startswith(head):
                return None  # the cut split a multi-byte character
            suffix = middle[len(head) :] + suffix
            mid_ids = mid_ids[: p.max_middle]
        pre_ids = self.tok.encode(prefix)[-self.rng.randint(16, p.max_prefix) :] if prefix else []
        n_suf = self.rng.randint(0, p.max_suffix)
        suf_ids = self.tok.encode(suffix)[:n_suf] if suffix and n_suf else []
        return FimExample(pre_ids, suf_ids, mid_ids)

    def _left_to_right(self, doc: str) -> FimExample | None:
        """Plain code with no suffix: the middle is what follows a line start (the end-of-file case)."""
        a = doc.rfind("\n", 0, self.rng.randrange(len(doc))) + 1
        end = doc.find("\n", a + 1)
        for _ in range(self.rng.randint(0, 8)):
            nxt = doc.find("\n", end + 1) if end != -1 else -1
            end = nxt if nxt != -1 else end
        b = len(doc) if end == -1 else end + 1
        prefix = doc[:a] if self.rng.random() < 0.7 else ""
        return self._encode(prefix, doc[a:b], "")


class MixedSampler:
    """Given examples (a teacher's, from `mercury distill`) at rate `share`, examples cut from texts
    otherwise."""

    def __init__(self, cut: FimSampler, given: list[FimExample], share: float, rng: random.Random):
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"the share of distilled examples must be in [0, 1], not {share}")
        self.cut, self.given, self.share, self.rng = cut, given, share, rng

    def sample(self) -> FimExample:
        if self.rng.random() < self.share:
            return self.rng.choice(self.given)
        return self.cut.sample()


def cut_span(doc: str, kind: str, rng: random.Random) -> tuple[int, int] | None:
    """Character span [a, b) of one kind, or None when this document has no such span here."""
    lines = doc.splitlines(keepends=True)
    if not lines:
        return None
    i = rng.randrange(len(lines))
    start = sum(len(line) for line in lines[:i])
    line = lines[i]
    body = line.rstrip("\r\n")
    indent = len(body) - len(body.lstrip())
    if kind in ("line_rest", "inline"):
        if len(body.strip()) < 2:
            return None
        a = start + rng.randint(indent, len(body) - 1)
        b = start + len(body) if kind == "line_rest" else rng.randint(a + 1, start + len(body))
        return a, b
    if kind in ("lines", "block"):
        n = rng.randint(1, 3) if kind == "lines" else rng.randint(3, 12)
        end = start + sum(len(x) for x in lines[i : i + n])
        a = start + indent if rng.random() < 0.5 else start  # cursor after indentation, or at column 0
        return (a, end) if end > a else None
    a = rng.randrange(len(doc))
    return a, min(len(doc), a + rng.randint(1, 300))
