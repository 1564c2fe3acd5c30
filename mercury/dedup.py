"""Exact and near-duplicate detection for the training corpus.

Exact duplicates: SHA-256 of the text. Near duplicates: MinHash over 5-token shingles with LSH
banding (Broder 1997; Leskovec, Rajaraman & Ullman, "Mining of Massive Datasets", ch. 3), the
recipe The Stack and CodeParrot used for code. Detection is incremental and order-dependent on
purpose: the caller feeds held-out files first, so a training file that nearly copies a held-out
one is the copy that gets dropped.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from dataclasses import dataclass, field

import numpy as np

_TOKEN = re.compile(r"\w+|[^\w\s]")
_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def text_digest(text: str) -> str:
    """SHA-256 hex digest of the UTF-8 text (the exact-duplicate key)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def shingle_hashes(text: str, k: int = 5) -> np.ndarray:
    """64-bit hashes of every k-token window of `text`, shape (n_shingles,), deduplicated.

    Tokens are words and single punctuation marks, so whitespace and indentation changes do not
    make two copies look different. Token hashes are CRC32 (stable across processes, unlike
    hash()); a window's hash is a polynomial over them, computed with numpy's wrapping uint64.
    """
    tokens = _TOKEN.findall(text)
    if not tokens:
        return np.zeros(0, dtype=np.uint64)
    tok = np.fromiter((zlib.crc32(t.encode()) for t in tokens), dtype=np.uint64, count=len(tokens))
    if len(tok) < k:
        k = len(tok)
    n = len(tok) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    base = np.uint64(1_000_003)
    with np.errstate(over="ignore"):
        for j in range(k):
            acc = acc * base + tok[j : j + n]
    return np.unique(acc)


@dataclass
class MinHasher:
    """MinHash signatures with `num_perm` hash functions of the form ((h ^ b) * a) mod 2^64."""

    num_perm: int = 64
    seed: int = 1234
    a: np.ndarray = field(init=False)
    b: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        self.a = rng.integers(1, 2**63, size=(self.num_perm, 1), dtype=np.uint64) | np.uint64(1)
        self.b = rng.integers(0, 2**63, size=(self.num_perm, 1), dtype=np.uint64)

    def signature(self, hashes: np.ndarray) -> np.ndarray:
        """Signature of a shingle-hash set, shape (num_perm,); all-ones for an empty set."""
        if hashes.size == 0:
            return np.full(self.num_perm, _MASK64, dtype=np.uint64)
        with np.errstate(over="ignore"):
            mixed = (hashes[None, :] ^ self.b) * self.a  # (num_perm, n_shingles)
        return mixed.min(axis=1)


class NearDuplicateIndex:
    """LSH index over MinHash signatures: `add_if_new` keeps a document unless it nearly copies
    one already kept (estimated Jaccard >= threshold).

    16 bands of 4 rows catch pairs at Jaccard 0.8 with probability > 0.999; candidates are then
    confirmed on the full signature so that band collisions alone never drop a file.
    """

    def __init__(self, threshold: float = 0.85, num_perm: int = 64, bands: int = 16, seed: int = 1234):
        if num_perm % bands:
            raise ValueError("num_perm must be a multiple of bands")
        self.threshold = threshold
        self.bands, self.rows = bands, num_perm // bands
        self.hasher = MinHasher(num_perm=num_perm, seed=seed)
        self.buckets: list[dict[bytes, list[int]]] = [{} for _ in range(bands)]
        self.signatures: list[np.ndarray] = []
        self.keys: list[str] = []

    def _band_keys(self, sig: np.ndarray) -> list[bytes]:
        return [sig[i * self.rows : (i + 1) * self.rows].tobytes() for i in range(self.bands)]

    def find(self, text: str, signature: np.ndarray | None = None) -> tuple[str | None, np.ndarray]:
        """(key of a kept near-duplicate or None, this text's signature). A `signature` computed
        elsewhere with this index's hasher (a worker process) saves computing it again."""
        sig = self.hasher.signature(shingle_hashes(text)) if signature is None else signature
        seen: set[int] = set()
        for band, key in zip(self.buckets, self._band_keys(sig), strict=True):
            for idx in band.get(key, ()):
                if idx in seen:
                    continue
                seen.add(idx)
                if float(np.mean(self.signatures[idx] == sig)) >= self.threshold:
                    return self.keys[idx], sig
        return None, sig

    def add_if_new(self, key: str, text: str, signature: np.ndarray | None = None) -> str | None:
        """Index `text` under `key` and return None, or return the key it nearly duplicates."""
        dup, sig = self.find(text, signature)
        if dup is not None:
            return dup
        idx = len(self.signatures)
        self.signatures.append(sig)
        self.keys.append(key)
        for band, bkey in zip(self.buckets, self._band_keys(sig), strict=True):
            band.setdefault(bkey, []).append(idx)
        return None
