"""One keystroke's path from cursor to edit: cache, debounce, supersede, engine, post-process.

The handlers in server.py build a Cursor and call `CompletionService.complete`; everything with
latency in it happens here. A newer request for a document cancels the older one through its
CancelToken, which reaches the denoising loop (in process or in the daemon) between steps.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import logging
import time
from collections.abc import Callable
from pathlib import Path

from mercury.denoiser.api import CompletionRequest, CompletionResult

from .cache import CompletionCache
from .config import Config
from .context import Cursor, TokenCounter, build_request, indent_padding
from .debounce import Debouncer
from .engines import CancelToken, EngineClient
from .postprocess import Edit, clean, fit_line_suffix
from .stats import Stats

log = logging.getLogger(__name__)
CACHE_QUANTUM = 4096  # characters


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """A post-processed edit with the id its accept command reports back."""

    edit: Edit
    item_id: str


class CompletionService:
    def __init__(self, engine: EngineClient, stats: Stats | None = None):
        self.engine = engine
        self.stats = stats or Stats()
        self.config = Config()
        self.cache = CompletionCache()
        self.debouncer = Debouncer()
        self.counter = TokenCounter()
        self.info: dict = {}
        self._ready: asyncio.Future | None = None
        self._inflight: dict[str, CancelToken] = {}
        self._anchors: dict[str, int] = {}
        self._ids = itertools.count(1)

    # ------------------------------------------------------------ engine lifecycle

    async def start(self, report: Callable[[str], None]) -> dict:
        """Load or connect the engine once; concurrent callers wait for the same start."""
        if self._ready is None:
            self._ready = asyncio.ensure_future(self._start(report))
        return await asyncio.shield(self._ready)

    async def _start(self, report: Callable[[str], None]) -> dict:
        self.info = await self.engine.start(report)
        path = self.info.get("path")
        try:
            self.counter = TokenCounter.from_file(Path(path) / "tokenizer.json" if path else None)
        except Exception as exc:  # counting is an optimisation: estimate rather than stop completing
            log.warning("cannot read the tokenizer for token counts (%s); estimating them", exc)
        return self.info

    @property
    def state(self) -> str:
        if self._ready is None or not self._ready.done():
            return "loading"
        return "failed" if self._ready.cancelled() or self._ready.exception() else "ready"

    @property
    def inflight(self) -> int:
        """Requests waiting for the engine (debouncing or denoising)."""
        return len(self._inflight)

    async def close(self) -> None:
        for token in self._inflight.values():
            token.cancel()
        await self.engine.close()

    def forget(self, uri: str) -> None:
        self.cache.forget(uri)
        self._anchors.pop(uri, None)
        if (token := self._inflight.pop(uri, None)) is not None:
            token.cancel()

    # ------------------------------------------------------------ completing

    async def complete(self, cursor: Cursor, automatic: bool) -> Suggestion | None:
        """The suggestion at `cursor`, or None. Raises CancelledError on $/cancelRequest."""
        started = time.perf_counter()
        self.stats.count("requests")
        self.debouncer.observe()
        if not self.config.enabled_for(cursor.language_id, cursor.language):
            return None
        before, after = self._cache_window(cursor)
        hit = self.cache.lookup(cursor.uri, before, after)
        if hit is not None:
            self.stats.count("cache_hits" if hit.typed == 0 else "typed_through")
            return self._answer(hit.text, cursor, started, continued=hit.typed > 0)
        result = await self._run_engine(cursor, automatic)
        if result is None:
            return None
        request, outcome = result
        text = clean(indent_padding(cursor) + outcome.text, cursor, request)
        self.cache.store(cursor.uri, before, after, text)
        return self._answer(text, cursor, started)

    async def _run_engine(
        self, cursor: Cursor, automatic: bool
    ) -> tuple[CompletionRequest, CompletionResult] | None:
        token = self._supersede(cursor.uri)
        try:
            if automatic:
                delay = self.debouncer.delay(self.config.debounce, cursor.line_prefix, cursor.line_suffix)
                if not await token.sleep(delay):
                    self.stats.count("superseded")
                    return None
            await self.start(lambda _message: None)
            request = self._request(cursor)
            outcome = await self.engine.complete(request, token)
        except asyncio.CancelledError:
            token.cancel()
            self.stats.count("cancelled")
            raise
        except Exception as exc:  # an engine failure must never break the editor: answer nothing
            log.warning("engine failed: %s: %s", type(exc).__name__, exc)
            self.stats.count("errors")
            return None
        finally:
            if self._inflight.get(cursor.uri) is token:
                del self._inflight[cursor.uri]
        self.stats.count("engine_calls")
        self.stats.count("forward_passes", outcome.forward_passes)  # the work, beside its noisy time
        self.stats.count("vetoed", outcome.vetoed)
        self.stats.engine_ms.append(outcome.elapsed_ms)
        if outcome.stop_reason == "cancelled":
            self.stats.count("superseded")
            return None
        return request, outcome

    def _cache_window(self, cursor: Cursor) -> tuple[str, str]:
        """The text around the cursor that the cache keys on: all a request can contain, so the cache
        holds kilobytes per entry even in a 10 MB file (it held the whole document twice per entry).

        A request reads at most 16 characters a token of its budgets (context.py's bound). The start of
        the `before` window moves in steps of CACHE_QUANTUM, so typing extends the window instead of
        sliding it, and a suggestion can still be typed through.
        """
        reach = 16 * self.config.tokens.prefix
        start = max(0, (len(cursor.before) - reach) // CACHE_QUANTUM * CACHE_QUANTUM)
        return cursor.before[start:], cursor.after[: 16 * self.config.tokens.suffix]

    def _supersede(self, uri: str) -> CancelToken:
        """A token for a new request on `uri`; the older request still in flight is cancelled."""
        if (older := self._inflight.get(uri)) is not None:
            older.cancel()
        token = self._inflight[uri] = CancelToken()
        return token

    def _request(self, cursor: Cursor) -> CompletionRequest:
        # The windows are not cut to the model's context: the engine cuts what the model reads, and the
        # syntax constraint needs the lines beyond it (a docstring's opening quotes, a block's header).
        request, self._anchors[cursor.uri] = build_request(
            cursor, self.config, self.counter, self._anchors.get(cursor.uri)
        )
        return request

    def _answer(
        self, text: str | None, cursor: Cursor, started: float, continued: bool = False
    ) -> Suggestion | None:
        latency = (time.perf_counter() - started) * 1000
        if not text:
            self.stats.count("empty")
            self.stats.record_answer(latency, None, 0)
            return None
        suggestion = Suggestion(fit_line_suffix(text, cursor), f"m{next(self._ids)}")
        self.stats.record_answer(latency, suggestion.item_id, len(suggestion.edit.text), continued)
        return suggestion
