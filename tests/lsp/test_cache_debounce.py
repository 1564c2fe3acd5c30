"""The latency units on their own: completion cache, debouncer, cancel token (fake clocks, no sleeps)."""

from __future__ import annotations

import asyncio

import pytest
from mercury.lsp.cache import CacheHit, CompletionCache
from mercury.lsp.config import DebounceOptions
from mercury.lsp.debounce import Debouncer
from mercury.lsp.engines import CancelToken


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_exact_hit_and_typing_through():
    cache = CompletionCache()
    cache.store("a", "x = ", "\n", "foo(1)")
    assert cache.lookup("a", "x = ", "\n") == CacheHit("foo(1)", 0)
    assert cache.lookup("a", "x = fo", "\n") == CacheHit("o(1)", 2)
    assert cache.lookup("a", "x = foo(1)", "\n") is None  # typed it all: ask again
    assert cache.lookup("a", "x = fa", "\n") is None  # typed something else
    assert cache.lookup("a", "x = fo", "\ny") is None  # the document changed after the cursor
    assert cache.lookup("b", "x = ", "\n") is None  # another document


def test_an_empty_answer_is_cached_but_not_forwarded():
    cache = CompletionCache()
    cache.store("a", "x = ", "", None)
    assert cache.lookup("a", "x = ", "") == CacheHit(None, 0)
    assert cache.lookup("a", "x = 1", "") is None


def test_a_suggestion_that_replaces_indentation_is_not_forwarded():
    cache = CompletionCache()
    cache.store("a", "[\n    1,\n    ", "\n", "]", dedent=4)
    assert cache.lookup("a", "[\n    1,\n    ", "\n") == CacheHit("]", 0, dedent=4)
    assert cache.lookup("a", "[\n    1,\n    ]", "\n") is None  # typed after the indentation it removes


def test_newest_entry_wins_and_backspace_finds_older_states():
    cache = CompletionCache()
    cache.store("a", "x", "", "yz")
    cache.store("a", "xy", "", "zz")
    assert cache.lookup("a", "xy", "") == CacheHit("zz", 0)
    assert cache.lookup("a", "x", "") == CacheHit("yz", 0)


def test_ttl_and_capacity():
    clock = Clock()
    cache = CompletionCache(capacity=2, ttl=10, clock=clock)
    cache.store("a", "1", "", "one")
    cache.store("a", "2", "", "two")
    cache.store("b", "3", "", "three")
    assert len(cache) == 2 and cache.lookup("a", "1", "") is None  # the oldest went first
    clock.now = 11
    assert cache.lookup("b", "3", "") is None
    cache.forget("a")
    assert len(cache) == 1


def test_fixed_debounce():
    assert Debouncer().delay(DebounceOptions(mode="fixed", ms=80)) == 0.08


def test_adaptive_debounce_follows_typing_pace():
    clock = Clock()
    debouncer = Debouncer(clock)
    options = DebounceOptions(mode="adaptive", ms=120, min_ms=40, max_ms=500)
    assert debouncer.delay(options) == 0.12  # too few samples: the configured delay
    for _ in range(6):
        clock.now += 0.1  # a keystroke every 100 ms
        debouncer.observe()
    mid_word = debouncer.delay(options, "total = pri", "")
    after_dot = debouncer.delay(options, "os.", "")
    assert mid_word == pytest.approx(0.16)  # (2 - 0.4) * 100 ms: end of line
    assert after_dot == pytest.approx(0.11)  # (2 - 0.9) * 100 ms: a word just ended
    clock.now += 30  # a long pause is not typing pace
    debouncer.observe()
    assert debouncer.delay(options, "total = pri", "") == pytest.approx(0.16)


def test_adaptive_debounce_is_clamped():
    clock = Clock()
    debouncer = Debouncer(clock)
    for _ in range(5):
        clock.now += 1.0
        debouncer.observe()
    assert debouncer.delay(DebounceOptions(max_ms=300)) == 0.3


@pytest.mark.asyncio
async def test_cancel_token_wakes_a_sleeper_and_runs_callbacks():
    token = CancelToken()
    seen: list[str] = []
    token.add_callback(lambda: seen.append("cancelled"))
    sleeper = asyncio.ensure_future(token.sleep(60))
    await asyncio.sleep(0)
    token.cancel()
    assert await sleeper is False
    assert seen == ["cancelled"] and token.cancelled()
    token.add_callback(lambda: seen.append("late"))  # added after the fact: runs at once
    assert seen == ["cancelled", "late"]
    assert await CancelToken().sleep(0) is True
