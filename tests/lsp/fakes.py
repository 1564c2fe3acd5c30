"""A fake engine with the real Engine's interface, for tests that need no model.

It answers by rule (the longest key the prefix ends with) and records every request. A prefix that
ends with SLOW_MARKER makes it behave like a long denoising loop: it polls `cancelled()` between
"steps" until cancelled, which lets tests see cancellation reach the engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator

from mercury.denoiser.api import CompletionRequest, CompletionResult, never_cancelled
from mercury.denoiser.rpc import Address
from mercury.denoiser.service import serve

SLOW_MARKER = "slow = "
ANSWERS = {
    "def add(a, b):\n    return ": "a + b",
    "def add(a, b):\n    return a + b\n": "print(add(1, 2))",
    "print(": '"hello")',
    "greeting = ": '"hello, world"',
    "total = ": "price * quantity",
    "total = pri": "ce * quantity",
    "total = price": " * quantity",
    "def area(w, h):\n": "    return w * h",
    "café = ": '"crème"',
    "NAMES = [\n    'ada',\n    ": "]",
    "NAMES = [\n    'ada',\n]\n": "print(NAMES)",
}


class FakeEngine:
    """Engine-shaped: complete(), info(), count_tokens(). Thread-safe like the real one."""

    def __init__(self, answers: dict[str, str] | None = None, default: str = "", name: str = "fake"):
        self.answers = dict(ANSWERS if answers is None else answers)
        self.default = default
        self.name = name
        self.requests: list[CompletionRequest] = []
        self.cancelled_jobs = 0
        self.slow_started = threading.Event()
        self._lock = threading.Lock()

    def complete(self, request: CompletionRequest, cancelled=never_cancelled) -> CompletionResult:
        with self._lock:
            self.requests.append(request)
            if request.prefix.endswith(SLOW_MARKER):
                return self._slow(cancelled)
            keys = [key for key in self.answers if request.prefix.endswith(key)]
            text = self.answers[max(keys, key=len)] if keys else self.default
            return CompletionResult(text=text, stop_reason="eom", steps=1, tokens=len(text) // 3 + 1)

    def _slow(self, cancelled) -> CompletionResult:
        self.slow_started.set()
        deadline = time.monotonic() + 60  # a safety net: a test that forgets to cancel still ends
        while time.monotonic() < deadline:
            if cancelled():
                self.cancelled_jobs += 1
                return CompletionResult(text="", stop_reason="cancelled")
            time.sleep(0.005)  # one "denoising step"
        return CompletionResult(text="never cancelled", stop_reason="budget")

    def info(self) -> dict:
        return {"name": self.name, "parameters": 0, "block_length": 16}

    def count_tokens(self, text: str) -> int:
        return -(-len(text) // 3)


@contextlib.asynccontextmanager
async def daemon(engine: FakeEngine, address: Address, token: str | None = None) -> AsyncIterator[None]:
    """The real engine daemon (`serve`) around `engine` at `address`, for the duration of the block."""
    ready = asyncio.Event()
    task = asyncio.ensure_future(serve(engine, address, token=token, on_ready=ready.set))
    done, _ = await asyncio.wait({task, asyncio.ensure_future(ready.wait())}, return_when="FIRST_COMPLETED")
    if task in done:
        task.result()  # serve refused to start: raise its error here
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
