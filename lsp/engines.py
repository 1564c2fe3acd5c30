"""The engine interface the language server talks to, and its in-process implementation.

`EngineClient` is what completion.py needs: start (load or connect), complete with a cancel token,
close. `InProcessEngine` runs `mercury.denoiser.engine.Engine.complete` on one worker thread; the
import is lazy so that lsp/ never imports torch at module import. remote.py has the daemon client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from mercury.denoiser.api import CompletionRequest, CompletionResult


class EngineUnavailable(RuntimeError):
    """The engine could not be loaded or reached; the message says why."""


class CancelToken:
    """Set once when a request goes stale. The engine polls `cancelled` between denoising steps.

    `cancel` runs on the event loop; callbacks let a remote client forward it to the daemon, and `sleep`
    lets the debouncer wake up early.
    """

    def __init__(self) -> None:
        self._cancelled = False
        self._callbacks: list[Callable[[], None]] = []

    def cancelled(self) -> bool:
        return self._cancelled

    def cancel(self) -> None:
        if self._cancelled:
            return
        self._cancelled = True
        callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            callback()

    def add_callback(self, callback: Callable[[], None]) -> None:
        if self._cancelled:
            callback()
        else:
            self._callbacks.append(callback)

    async def sleep(self, seconds: float) -> bool:
        """Wait `seconds` unless cancelled first; True when the full wait passed."""
        if self._cancelled:
            return False
        if seconds <= 0:
            return True
        woken = asyncio.get_running_loop().create_future()
        self.add_callback(lambda: woken.done() or woken.set_result(None))
        try:
            await asyncio.wait_for(woken, seconds)
        except TimeoutError:
            return True
        return False


class EngineClient(Protocol):
    """What the language server needs from an engine, wherever it runs."""

    async def start(self, report: Callable[[str], None]) -> dict:
        """Load or connect; returns the engine's info() ({"name", "path", "context_prefix", ...})."""
        ...

    async def complete(self, request: CompletionRequest, token: CancelToken) -> CompletionResult:
        """The filled span; stop_reason "cancelled" when `token` fired first."""
        ...

    async def close(self) -> None: ...


def _load_engine(
    model: str, device: str, constrained: bool, threads: int | None, routes: dict[str, str] | None
) -> Any:
    from mercury.denoiser.routing import load_serving_engine  # torch comes in here, on the worker thread

    extra = {"threads": threads} if threads else {}
    engine = load_serving_engine(model, routes, device=device, constrained=constrained, **extra)
    engine.warm_up()
    return engine


class InProcessEngine:
    """The model inside the language server process, on one worker thread."""

    def __init__(
        self,
        model: str,
        *,
        device: str = "cpu",
        constrained: bool = True,
        threads: int | None = None,
        routes: dict[str, str] | None = None,
        loader: Callable[[], Any] | None = None,
    ):
        """routes: language -> model (None: those of the model's config.json)."""
        self.model = model
        self._loader = loader or (lambda: _load_engine(model, device, constrained, threads, routes))
        # One worker: the engine serialises calls anyway, and a queued job whose request was cancelled
        # is dropped by the executor before it starts.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mercury-engine")
        self._engine: Any = None

    async def start(self, report: Callable[[str], None]) -> dict:
        report(f"loading model {self.model}")
        loop = asyncio.get_running_loop()
        try:
            self._engine = await loop.run_in_executor(self._executor, self._loader)
        except LookupError as exc:  # mercury.models.ModelNotFound lists the available models
            raise EngineUnavailable(str(exc)) from exc
        return self._engine.info()

    async def complete(self, request: CompletionRequest, token: CancelToken) -> CompletionResult:
        engine = self._engine
        if engine is None:
            raise EngineUnavailable("the model is not loaded")

        def job() -> CompletionResult:
            if token.cancelled():
                return CompletionResult(text="", stop_reason="cancelled")
            return engine.complete(request, token.cancelled)

        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, job)
        except asyncio.CancelledError:
            token.cancel()  # $/cancelRequest: the running job stops at its next denoising step
            raise

    async def close(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
