"""The completion service without a protocol: cache, supersede, cancel and failures, with the fake engine."""

from __future__ import annotations

import asyncio

import pytest
from mercury.lsp.completion import CompletionService
from mercury.lsp.context import read_cursor
from mercury.lsp.engines import InProcessEngine

from .fakes import SLOW_MARKER, FakeEngine

pytestmark = pytest.mark.asyncio


def at_end(source: str, uri: str = "file:///a.py"):
    lines = source.split("\n")
    return read_cursor(source, len(lines) - 1, len(lines[-1]), "utf-32", uri=uri, language_id="python")


async def service(engine: FakeEngine) -> CompletionService:
    result = CompletionService(InProcessEngine("fake", loader=lambda: engine))
    await result.start(lambda message: None)
    return result


async def test_same_state_twice_calls_the_engine_once():
    engine = FakeEngine()
    completions = await service(engine)
    first = await completions.complete(at_end("total = "), automatic=False)
    second = await completions.complete(at_end("total = "), automatic=False)
    assert first.edit == second.edit and first.edit.text == "price * quantity"
    assert len(engine.requests) == 1
    assert completions.stats.counts["cache_hits"] == 1
    await completions.close()


async def test_cancelling_the_request_task_stops_the_engine_job():
    engine = FakeEngine()
    completions = await service(engine)
    task = asyncio.ensure_future(completions.complete(at_end(SLOW_MARKER), automatic=False))
    await asyncio.get_running_loop().run_in_executor(None, engine.slow_started.wait)
    task.cancel()  # what pygls does on $/cancelRequest
    with pytest.raises(asyncio.CancelledError):
        await task
    assert (await completions.complete(at_end("total = "), automatic=False)).edit.text == "price * quantity"
    assert engine.cancelled_jobs == 1
    assert completions.stats.counts["cancelled"] == 1
    await completions.close()


async def test_a_failing_engine_gives_no_suggestion():
    class Broken(FakeEngine):
        def complete(self, request, cancelled=None):
            raise ValueError("weights are corrupt")

    completions = await service(Broken())
    assert await completions.complete(at_end("total = "), automatic=False) is None
    assert completions.stats.counts["errors"] == 1
    await completions.close()


async def test_a_failed_load_is_reported_and_requests_answer_nothing():
    def missing():
        raise LookupError("unknown model 'nope': available models are coder-mini")

    completions = CompletionService(InProcessEngine("nope", loader=missing))
    with pytest.raises(Exception, match="available models"):
        await completions.start(lambda message: None)
    assert completions.state == "failed"
    assert await completions.complete(at_end("total = "), automatic=False) is None
    await completions.close()


async def test_disabled_language_is_not_completed():
    engine = FakeEngine()
    completions = await service(engine)
    completions.config = type(completions.config)(languages=("rust",))
    assert await completions.complete(at_end("total = "), automatic=False) is None
    assert engine.requests == []
    await completions.close()


async def test_a_half_typed_indentation_is_completed_and_typed_through():
    engine = FakeEngine({"def area(w, h):\n    ": "return w * h"})
    completions = await service(engine)
    source = "def area(w, h):\n  "  # two of the four spaces typed
    first = await completions.complete(at_end(source), automatic=False)
    assert engine.requests[-1].prefix.endswith("def area(w, h):\n    ")
    assert first.edit.text == "  return w * h"
    third_space = await completions.complete(at_end(source + " "), automatic=False)
    assert third_space.edit.text == " return w * h" and len(engine.requests) == 1  # from the cache
    await completions.close()


async def test_the_request_holds_the_configured_context_beyond_the_models_window():
    """The model reads only its own context window (the engine cuts it), but the syntax check needs
    the lines beyond it: here the docstring's opening quotes, 40 lines above the cursor."""

    class SmallContext(FakeEngine):
        def info(self) -> dict:
            return {**super().info(), "context_prefix": 16, "context_suffix": 8}

    engine = SmallContext()
    completions = await service(engine)
    prose = "".join(f"    Line {i} of the explanation.\n" for i in range(40))
    await completions.complete(at_end(f'def f():\n    """Summary.\n\n{prose}    '), automatic=False)
    assert engine.requests[-1].prefix.startswith('def f():\n    """Summary.')
    await completions.close()
