"""Completion cache keyed by document state, so typing through a shown suggestion needs no model call.

A state is (document, text before the cursor, text after it). A lookup hits exactly, or "forwards":
when the text before the cursor extends a cached state by characters that start its suggestion, the
rest of that suggestion is the answer (Tabby's cache.ts pre-computes such forwarding entries;
llama.vim looks back over the typed characters; here one scan over a small LRU does both). A
suggestion that replaces indentation before the cursor (`dedent`) is not forwarded: what is typed
goes after the indentation it would remove.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class CacheHit:
    text: str | None  # the suggestion still to show (None: the engine had nothing here)
    typed: int  # characters of the cached suggestion already typed (0 for an exact hit)
    prefetched: bool = False  # completed ahead of the request (after an accept)
    dedent: int = 0  # characters of indentation before the cursor that the suggestion replaces


@dataclass(frozen=True)
class _Entry:
    before: str
    text: str | None
    created: float
    prefetched: bool
    dedent: int


class CompletionCache:
    """An LRU of suggestions per (document, text after the cursor), with a time-to-live."""

    def __init__(self, capacity: int = 128, ttl: float = 300.0, clock: Callable[[], float] = time.monotonic):
        self.capacity, self.ttl, self._clock = capacity, ttl, clock
        # (uri, after) -> entries by `before`; `after` is unchanged while the user types at the cursor
        self._states: OrderedDict[tuple[str, str], OrderedDict[str, _Entry]] = OrderedDict()
        self._size = 0

    def lookup(self, uri: str, before: str, after: str) -> CacheHit | None:
        entries = self._states.get((uri, after))
        if not entries:
            return None
        now = self._clock()
        for key, entry in reversed(entries.items()):  # newest first
            if now - entry.created > self.ttl or not before.startswith(entry.before):
                continue
            typed = before[len(entry.before) :]
            if not typed:
                hit = CacheHit(entry.text, 0, entry.prefetched, entry.dedent)
            elif _forwards(entry, typed):
                hit = CacheHit(entry.text[len(typed) :], len(typed), entry.prefetched)
            else:
                continue
            entries.move_to_end(key)
            self._states.move_to_end((uri, after))
            return hit
        return None

    def store(
        self, uri: str, before: str, after: str, text: str | None, prefetched: bool = False, dedent: int = 0
    ) -> None:
        entries = self._states.setdefault((uri, after), OrderedDict())
        self._size += before not in entries
        entries[before] = _Entry(before, text, self._clock(), prefetched, dedent)
        entries.move_to_end(before)
        self._states.move_to_end((uri, after))
        while self._size > self.capacity:
            self._evict_oldest()

    def forget(self, uri: str) -> None:
        for key in [key for key in self._states if key[0] == uri]:
            self._size -= len(self._states.pop(key))

    def __len__(self) -> int:
        return self._size

    def _evict_oldest(self) -> None:
        key, entries = next(iter(self._states.items()))
        entries.popitem(last=False)
        self._size -= 1
        if not entries:
            del self._states[key]


def _forwards(entry: _Entry, typed: str) -> bool:
    """Whether `typed` starts the entry's suggestion and leaves some of it to show."""
    text = entry.text
    return bool(text) and not entry.dedent and len(typed) < len(text) and text.startswith(typed)
