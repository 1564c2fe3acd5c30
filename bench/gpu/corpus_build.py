"""Build the coder-small corpus in parallel: the recipe's filters and deduplication, many cores.

mercury.corpus filters and deduplicates one file at a time, about 1 MB/s per core; the GPU machine
holds hundreds of MB of Python and has a minute for this. Workers run the recipe's own checks
(`reject_reason`: size, UTF-8, minified, generated, syntax) and compute each MinHash signature; the
main process then deduplicates in the recipe's order (held-out files first, so a training file that
copies a held-out one is the copy dropped) and writes the recipe's record format and shard layout.
Past the deadline, the files examined so far make the corpus: the order is held-out first, then
units in a stable hash order, so a cut drops whole packages, never the held-out set.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from mercury.corpus import FilterConfig, ShardWriter, assign_split, reject_reason, unit_rank
from mercury.corpus_sources import Source, SourceFile
from mercury.dedup import NearDuplicateIndex, shingle_hashes, text_digest

from . import sources as src

SALT = "coder-small-gpu-v1"


@dataclass(frozen=True)
class CorpusLimits:
    max_train_bytes: int  # input bytes planned for training (before filters), whole units only
    max_heldout_bytes: int
    workers: int
    deadline_s: float  # seconds for filtering and deduplication


@dataclass(frozen=True)
class Planned:
    split: str
    source: Source
    file: SourceFile
    size: int


def plan(stdlib: Source, heldout_units: set[str], packages: list[src.Package], limits: CorpusLimits):
    """(files to examine in dedup order, stats of what the plan left out)."""
    dropped: Counter = Counter()
    heldout, train = [], []
    for source in [stdlib, *(src.package_source(p) for p in packages if p.decision == "train")]:
        for sf in source.files:
            split = assign_split(sf, heldout_units) if source is stdlib else "train"
            size = sf.abspath.stat().st_size
            if split is None:
                dropped["test-of-heldout-package"] += 1
            else:
                (heldout if split == "heldout" else train).append(Planned(split, source, sf, size))
    heldout.sort(key=lambda p: p.file.relpath)
    train.sort(key=lambda p: (unit_rank(p.source.name, p.file.unit, SALT), p.source.name, p.file.relpath))
    heldout = _cap(heldout, limits.max_heldout_bytes, dropped)
    return heldout + _cap(train, limits.max_train_bytes, dropped), dropped


def _cap(files: list[Planned], budget: int, dropped: Counter) -> list[Planned]:
    """The files of whole units, in order, while their bytes fit the budget."""
    unit_bytes: dict[tuple[str, str], int] = defaultdict(int)
    for p in files:
        unit_bytes[(p.source.name, p.file.unit)] += p.size
    taken, kept_units, out = 0, set(), []
    for p in files:
        key = (p.source.name, p.file.unit)
        if key not in kept_units and taken + unit_bytes[key] <= budget:
            kept_units.add(key)
            taken += unit_bytes[key]
        if key in kept_units:
            out.append(p)
        else:
            dropped["over-byte-budget"] += 1
    return out


_HASHER = None  # the index's MinHasher, inherited by forked workers


def _examine(args: tuple[str, str]):
    """Worker: (reason or None, text, digest, signature) for one file."""
    path, language = args
    raw = Path(path).read_bytes()
    reason, text = reject_reason(raw, language, FilterConfig())
    if reason is not None:
        return reason, "", "", None, len(raw)
    return None, text, text_digest(text), _HASHER.signature(shingle_hashes(text)), len(raw)


def build(out_dir: Path, planned: list[Planned], limits: CorpusLimits) -> dict:
    """Filter, deduplicate and write `planned`; returns the counts for the manifest."""
    global _HASHER
    near = NearDuplicateIndex(threshold=FilterConfig().near_dup_threshold)
    _HASHER = near.hasher
    writers = {s: ShardWriter(out_dir / s, "python") for s in ("train", "heldout")}
    stats = _Tally()
    start, exact = time.monotonic(), {}
    jobs = [(str(p.file.abspath), p.source.language) for p in planned]
    with multiprocessing.get_context("fork").Pool(limits.workers) as pool:
        for i, result in enumerate(pool.imap(_examine, jobs, chunksize=8)):
            if time.monotonic() - start > limits.deadline_s:
                stats.truncated_at = i
                print(f"corpus: deadline reached after {i} of {len(jobs)} files", file=sys.stderr)
                break
            _keep_or_drop(planned[i], result, exact, near, writers, stats)
    for writer in writers.values():
        writer.publish()
    stats.seconds = round(time.monotonic() - start, 1)
    return stats.as_dict(len(jobs))


def _keep_or_drop(p: Planned, result, exact: dict, near: NearDuplicateIndex, writers, stats) -> None:
    reason, text, digest, sig, size = result
    key = f"{p.source.name}:{p.file.relpath}"
    if reason is None and exact.setdefault(digest, key) != key:
        reason = "exact-duplicate"
    if reason is None and near.add_if_new(key, text, sig) is not None:
        reason = "near-duplicate"
    if reason is not None:
        stats.drop(reason, key, size)
        return
    record = {
        "path": p.file.relpath,
        "source": p.source.name,
        "license": p.source.license,
        "language": p.source.language,
        "package": p.file.unit,
        "text": text,
    }
    writers[p.split].write(record)
    stats.keep(p.source.name, p.split, len(text.encode("utf-8")))


class _Tally:
    def __init__(self) -> None:
        self.filtered: dict[str, Counter] = defaultdict(Counter)
        self.examples: dict[str, list[str]] = defaultdict(list)
        self.kept: dict[str, Counter] = defaultdict(Counter)
        self.truncated_at: int | None = None
        self.seconds = 0.0

    def drop(self, reason: str, key: str, size: int) -> None:
        self.filtered[reason].update(files=1, bytes=size)
        if len(self.examples[reason]) < 5:
            self.examples[reason].append(key)

    def keep(self, source: str, split: str, size: int) -> None:
        self.kept[source].update({f"{split}_files": 1, f"{split}_bytes": size})

    def as_dict(self, planned: int) -> dict:
        totals = Counter()
        for counts in self.kept.values():
            totals.update(counts)
        return {
            "planned_files": planned,
            "truncated_at": self.truncated_at,
            "seconds": self.seconds,
            "totals": dict(totals),
            "kept_by_source": {k: dict(v) for k, v in sorted(self.kept.items())},
            "filtered": {r: {**c, "examples": self.examples[r]} for r, c in sorted(self.filtered.items())},
        }


def build_corpus(out_dir: Path, limits: CorpusLimits, spec: dict | None = None) -> dict:
    """The whole corpus step: sources, licenses, plan, build; writes and returns manifest.json."""
    spec = spec or src.load_heldout_spec()
    heldout_units = set(spec["stdlib_heldout_units"])
    stdlib = src.stdlib_source()
    packages = src.installed_packages(src.site_dirs(), src.eval_project_names(spec))
    planned, dropped = plan(stdlib, heldout_units, packages, limits)
    counts = build(out_dir, planned, limits)
    manifest = {
        "recipe": "bench/gpu/coder_small.py (mercury.corpus filters and dedup, run in parallel)",
        "python": sys.version.split()[0],
        "split": {"heldout": "stdlib packages of heldout.json", "units": sorted(heldout_units), "salt": SALT},
        "stdlib": {"name": stdlib.name, "license": stdlib.license, "root": str(stdlib.root)},
        "packages": [p.summary() for p in packages],
        "eval_projects": spec["eval_projects"],
        "planned_out": dict(dropped),
        "limits": limits.__dict__,
        **counts,
    }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def default_workers() -> int:
    return max(1, (os.cpu_count() or 2) - 1)
