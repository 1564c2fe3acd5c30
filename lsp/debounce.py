"""How long an automatic trigger waits before it asks the engine, fixed or adapted to the typing pace.

Every keystroke in a client with automatic inline completion sends a request; on a CPU model each
one that reaches the engine costs real time (llama.vscode#161: "CPU at 100% while typing"). The wait
ends early when a newer request for the document arrives (the cancel token fires). The adaptive mode
follows Tabby's debouncer.ts: a multiple of the user's recent inter-keystroke interval, shorter where
a suggestion is likely wanted (after punctuation, at the end of a line), clamped to [min_ms, max_ms].
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable

from .config import DebounceOptions

TYPING_GAP = 1.5  # seconds; a longer gap between requests is a pause, not typing pace


class Debouncer:
    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._last: float | None = None
        self._intervals: deque[float] = deque(maxlen=30)

    def observe(self) -> None:
        """Record that a request arrived now (every request, cache hits too: they are keystrokes)."""
        now = self._clock()
        if self._last is not None and 0 < now - self._last < TYPING_GAP:
            self._intervals.append(now - self._last)
        self._last = now

    def delay(self, options: DebounceOptions, line_prefix: str = "", line_suffix: str = "") -> float:
        """Seconds to wait before an automatic request goes to the engine."""
        low, high = options.min_ms, max(options.min_ms, options.max_ms)
        if options.mode == "fixed":
            return options.ms / 1000
        if len(self._intervals) < 3:
            return min(max(options.ms, low), high) / 1000
        pace = statistics.median(self._intervals) * 1000
        rate = 2.0 - _context_score(line_prefix, line_suffix)
        return min(max(rate * pace, low), high) / 1000


def _context_score(line_prefix: str, line_suffix: str) -> float:
    """0..1: how likely the user wants a suggestion right now (Tabby: non-word trigger, line end)."""
    score = 0.0
    if line_prefix and not (line_prefix[-1].isalnum() or line_prefix[-1] == "_"):
        score += 0.5  # after punctuation or a space a word has just ended
    if not line_suffix.strip():
        score += 0.4
    return score
