"""Local statistics behind the `mercury/stats` request. Nothing leaves the machine.

Raw latency samples are kept (a bounded window) and summarised on request, as Tabby's
latencyTracker.ts does; counts cover what was asked, answered from cache, shown, accepted.
"""

from __future__ import annotations

import statistics
from collections import Counter, OrderedDict, deque
from dataclasses import dataclass, field

BUCKETS_MS = (25, 50, 100, 200, 400, 800, 1600, 3200)


@dataclass
class Stats:
    counts: Counter[str] = field(default_factory=Counter)
    latency_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1000))  # request -> answer
    engine_ms: deque[float] = field(default_factory=lambda: deque(maxlen=1000))  # inside the engine
    offered: OrderedDict[str, int] = field(default_factory=OrderedDict)  # item id -> characters offered
    model_calls: Counter[str] = field(default_factory=Counter)  # engine calls per model, where it routes

    def count(self, name: str, n: int = 1) -> None:
        self.counts[name] += n

    def record_answer(
        self, latency_ms: float, item_id: str | None, chars: int, continued: bool = False
    ) -> None:
        """Count an answer; `continued`: the rest of a suggestion typed through, not a new offer."""
        self.latency_ms.append(latency_ms)
        if item_id is not None:
            self.counts["offered"] += not continued
            self.offered[item_id] = chars
            while len(self.offered) > 500:
                self.offered.popitem(last=False)

    def record_accept(self, item_id: str) -> bool:
        """Count an accept event (the item's command); False for an unknown or repeated id."""
        chars = self.offered.pop(item_id, None)
        if chars is None:
            return False
        self.counts["accepted"] += 1
        self.counts["accepted_chars"] += chars
        return True

    def snapshot(self) -> dict:
        offered = self.counts["offered"]
        return {
            "counts": dict(sorted(self.counts.items())),
            "acceptance_rate": self.counts["accepted"] / offered if offered else None,
            "latency_ms": _summary(self.latency_ms),
            "engine_ms": _summary(self.engine_ms),
            "latency_histogram": _histogram(self.latency_ms),
            # A list, not a dict keyed by name: clients that map JSON objects to records lose such keys.
            "engine_calls_by_model": [{"model": m, "calls": n} for m, n in sorted(self.model_calls.items())],
        }


def _summary(samples: deque[float]) -> dict:
    if not samples:
        return {"n": 0}
    ordered = sorted(samples)
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered), 2),
        "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
        "max": round(ordered[-1], 2),
    }


def _histogram(samples: deque[float]) -> dict[str, int]:
    bins = Counter()
    for value in samples:
        bound = next((b for b in BUCKETS_MS if value <= b), None)
        bins[f"<={bound}" if bound is not None else f">{BUCKETS_MS[-1]}"] += 1
    labels = [f"<={b}" for b in BUCKETS_MS] + [f">{BUCKETS_MS[-1]}"]
    return {label: bins[label] for label in labels}
