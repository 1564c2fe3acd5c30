"""One keystroke's path from cursor to edit: cache, debounce, supersede, engine, post-process.

The handlers in server.py build a Cursor and call `CompletionService.complete`; everything with
latency in it happens here. A newer request for a document cancels the older one through its
CancelToken, which reaches the denoising loop (in process or in the daemon) between steps.

When a suggestion is accepted, or typed to its end, the line below it is completed ahead of time
(a prefetch) and cached, so that Enter finds its suggestion waiting. A prefetch yields to real
requests: it waits for those in flight; a request for its own state waits for it; one on the way
there (the client asks again at the end of the accepted line) goes first and the prefetch starts
over after it; any other cancels it.
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
from .context import Cursor, TokenCounter, build_request, indent_padding, next_line
from .debounce import Debouncer
from .engines import CancelToken, EngineClient
from .postprocess import Edit, clean, fit_line_suffix
from .stats import Stats

log = logging.getLogger(__name__)
CACHE_QUANTUM = 4096  # characters
# A prefetch waits this long before it starts: after an accept, for the client's request at the end of
# the accepted line, which would otherwise wait for the prefetch's first step; after that request, for
# its answer to go out before the prefetch's steps take the CPU (BENCHMARKS.md, section 4).
PREFETCH_DELAY_S = 0.02


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """A post-processed edit with the id its accept command reports back."""

    edit: Edit
    item_id: str


@dataclasses.dataclass
class _Prefetch:
    """A completion of the state after an accept and Enter, running ahead of the request for it."""

    cursor: Cursor
    token: CancelToken = dataclasses.field(default_factory=CancelToken)
    task: asyncio.Future | None = None
    at_engine: bool = False  # past its wait for the requests in flight


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
        self._offers: dict[str, tuple[str, Cursor, Edit]] = {}  # uri -> the last suggestion shown
        self._prefetches: dict[str, _Prefetch] = {}

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
        for prefetch in self._prefetches.values():
            prefetch.token.cancel()
        await self.engine.close()

    def forget(self, uri: str) -> None:
        self.cache.forget(uri)
        self._anchors.pop(uri, None)
        self._offers.pop(uri, None)
        if (token := self._inflight.pop(uri, None)) is not None:
            token.cancel()
        if (prefetch := self._prefetches.pop(uri, None)) is not None:
            prefetch.token.cancel()

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
        if hit is None:
            self._typed_to_the_end(cursor)
        if hit is None and await self._prefetched(cursor):
            hit = self.cache.lookup(cursor.uri, before, after)
        if hit is not None:
            self.stats.count("cache_hits" if hit.typed == 0 else "typed_through")
            if hit.prefetched:
                self.stats.count("prefetch_hits")
            cleaned = Edit(hit.text, dedent=hit.dedent) if hit.text else None
            return self._answer(cleaned, cursor, started, continued=hit.typed > 0)
        ahead = self._prefetch_ahead(cursor)
        result = await self._run_engine(cursor, automatic)
        if ahead is not None and cursor.uri not in self._inflight:
            self._start_prefetch(ahead, PREFETCH_DELAY_S)
        if result is None:
            return None
        request, outcome = result
        cleaned = clean(indent_padding(cursor) + outcome.text, cursor, request)
        self._store(cursor, cleaned)
        return self._answer(cleaned, cursor, started)

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
            for prefetch in self._prefetches.values():
                if prefetch.at_engine:
                    prefetch.token.cancel()  # what the user waits for goes first
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
        self._count_work(outcome)
        self.stats.engine_ms.append(outcome.elapsed_ms)
        if outcome.stop_reason == "cancelled":
            self.stats.count("superseded")
            return None
        return request, outcome

    def _count_work(self, outcome: CompletionResult) -> None:
        self.stats.count("forward_passes", outcome.forward_passes)  # the work, beside its noisy time
        self.stats.count("vetoed", outcome.vetoed)
        if model := outcome.extra.get("model"):  # an engine that routes languages names who answered
            self.stats.model_calls[model] += 1

    # ------------------------------------------------------------ prefetching after an accept

    def accepted(self, item_id: str) -> None:
        """Count an accept, and complete the line below the accepted suggestion ahead of time."""
        if not self.stats.record_accept(item_id) or not self.config.prefetch:
            return
        uri = next((uri for uri, offer in self._offers.items() if offer[0] == item_id), None)
        if uri is None:
            return  # a newer suggestion was shown since: the accepted one is not where the cursor is
        _, cursor, edit = self._offers.pop(uri)
        if (target := next_line(cursor, edit.text, edit.replace, edit.dedent)) is not None:
            self._start_prefetch(target, PREFETCH_DELAY_S)

    def _typed_to_the_end(self, cursor: Cursor) -> None:
        """A suggestion typed through to its last character was as good as accepted: prefetch below it."""
        offer = self._offers.get(cursor.uri)
        if offer is None or not self.config.prefetch:
            return
        _, shown, edit = offer
        typed = cursor.before[len(shown.before) :]  # the tail only: no copy of a large document
        same_place = cursor.before.startswith(shown.before) and cursor.after == shown.after
        if edit.replace or edit.dedent or typed != edit.text or not same_place:
            return
        del self._offers[cursor.uri]
        if (target := next_line(shown, edit.text)) is not None:
            self._start_prefetch(target, PREFETCH_DELAY_S)

    def _start_prefetch(self, target: Cursor, delay: float = 0.0) -> None:
        older = self._prefetches.get(target.uri)
        if older is not None and older.cursor is target and not older.token.cancelled():
            return  # still waiting for its turn
        if self.cache.lookup(target.uri, *self._cache_window(target)) is not None:
            return
        if older is not None:
            older.token.cancel()
        prefetch = self._prefetches[target.uri] = _Prefetch(target)
        prefetch.task = asyncio.ensure_future(self._prefetch(prefetch, delay))

    async def _prefetch(self, prefetch: _Prefetch, delay: float) -> None:
        cursor, token = prefetch.cursor, prefetch.token
        try:
            if not await token.sleep(delay):
                return
            # Requests in flight go first; the shared engine would also drop one for this document as
            # stale the moment the prefetch, a newer state of it, arrived.
            while self._inflight:
                if not await token.sleep(PREFETCH_DELAY_S):
                    return
            prefetch.at_engine = True
            request = self._request(cursor)
            outcome = await self.engine.complete(request, token)
        except Exception as exc:  # a guess that failed costs nothing: the request will ask again
            log.debug("prefetch failed: %s: %s", type(exc).__name__, exc)
            return
        finally:
            if (mine := self._prefetches.get(cursor.uri)) is not None and mine.token is token:
                del self._prefetches[cursor.uri]
        self._count_work(outcome)
        if outcome.stop_reason != "cancelled" and not token.cancelled():
            self.stats.count("prefetches")
            cleaned = clean(indent_padding(cursor) + outcome.text, cursor, request)
            self._store(cursor, cleaned, prefetched=True)

    async def _prefetched(self, cursor: Cursor) -> bool:
        """Wait for a prefetch of exactly this state, if one is running (True)."""
        prefetch = self._prefetches.get(cursor.uri)
        target = prefetch.cursor if prefetch is not None else None
        if target is None or (target.before, target.after) != (cursor.before, cursor.after):
            return False
        await asyncio.shield(prefetch.task)
        return True

    def _prefetch_ahead(self, cursor: Cursor) -> Cursor | None:
        """The state this document's prefetch completes when `cursor` is on the way to it (to start
        over once the engine has answered `cursor`); a prefetch the user has turned away from is
        cancelled."""
        prefetch = self._prefetches.get(cursor.uri)
        if prefetch is None:
            return None
        target = prefetch.cursor
        if target.after == cursor.after and target.before.startswith(cursor.before):
            return target
        prefetch.token.cancel()
        return None

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

    def _store(self, cursor: Cursor, cleaned: Edit | None, prefetched: bool = False) -> None:
        text, dedent = (cleaned.text, cleaned.dedent) if cleaned else (None, 0)
        self.cache.store(cursor.uri, *self._cache_window(cursor), text, prefetched=prefetched, dedent=dedent)

    def _answer(
        self, cleaned: Edit | None, cursor: Cursor, started: float, continued: bool = False
    ) -> Suggestion | None:
        latency = (time.perf_counter() - started) * 1000
        if cleaned is None:
            self.stats.count("empty")
            self.stats.record_answer(latency, None, 0)
            return None
        suggestion = Suggestion(fit_line_suffix(cleaned, cursor), f"m{next(self._ids)}")
        self._offers[cursor.uri] = (suggestion.item_id, cursor, suggestion.edit)
        self.stats.record_answer(latency, suggestion.item_id, len(suggestion.edit.text), continued)
        return suggestion
