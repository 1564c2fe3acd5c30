"""The completion service without a protocol: cache, supersede, cancel and failures, with the fake engine."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile

import pytest
from mercury.denoiser.api import never_cancelled
from mercury.denoiser.rpc import Address
from mercury.lsp.completion import CompletionService
from mercury.lsp.context import read_cursor
from mercury.lsp.engines import InProcessEngine
from mercury.lsp.remote import RemoteEngine

from .fakes import SLOW_MARKER, FakeEngine, daemon

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


async def test_calls_are_counted_per_model_when_the_engine_routes_languages():
    from mercury.denoiser.routing import LanguageRouter

    python, go = FakeEngine(name="coder-mini"), FakeEngine(name="coder-mini-multi")
    router = LanguageRouter(python, {"go": "coder-mini-multi"}, lambda name: go)
    completions = await service(router)
    await completions.complete(at_end("total = "), automatic=False)
    source = "total := "
    go_cursor = read_cursor(source, 0, len(source), "utf-32", uri="file:///a.go", language_id="go")
    await completions.complete(go_cursor, automatic=False)
    assert len(python.requests) == len(go.requests) == 1 and go.requests[0].language == "go"
    assert completions.stats.snapshot()["engine_calls_by_model"] == [
        {"model": "coder-mini", "calls": 1},
        {"model": "coder-mini-multi", "calls": 1},
    ]
    assert completions.info["routes"] == {"go": "coder-mini-multi"}
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


async def test_a_python_body_typed_at_its_headers_width_is_indented_below_it():
    engine = FakeEngine({"def f(x):\n    if x:\n        ": "return x"})
    completions = await service(engine)
    shown = await completions.complete(at_end("def f(x):\n    if x:\n    "), automatic=False)
    assert engine.requests[-1].prefix.endswith("if x:\n        ")
    assert shown.edit.text == "    return x"
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


ACCEPTED = {"total = ": "price * quantity", "total = price * quantity\n": "print(total)"}


async def test_after_an_accept_the_line_below_is_answered_from_a_prefetch():
    engine = FakeEngine(ACCEPTED)
    completions = await service(engine)
    shown = await completions.complete(at_end("total = "), automatic=False)
    completions.accepted(shown.item_id)
    # The client asks again at the end of the accepted line: it goes first, the prefetch after it.
    await completions.complete(at_end("total = price * quantity"), automatic=False)
    below = await completions.complete(at_end("total = price * quantity\n"), automatic=False)
    assert below.edit.text == "print(total)"
    assert [r.prefix for r in engine.requests].count("total = price * quantity\n") == 1
    assert completions.stats.counts["prefetches"] == completions.stats.counts["prefetch_hits"] == 1
    await completions.close()


async def test_typing_a_suggestion_to_its_end_prefetches_like_an_accept():
    engine = FakeEngine(ACCEPTED)
    completions = await service(engine)
    await completions.complete(at_end("total = "), automatic=False)
    for typed in ("p", "pr", "price * quantit"):  # answered from the cache, each a shorter rest
        assert (await completions.complete(at_end("total = " + typed), automatic=False)) is not None
    await completions.complete(at_end("total = price * quantity"), automatic=False)  # the last key
    below = await completions.complete(at_end("total = price * quantity\n"), automatic=False)
    assert below.edit.text == "print(total)" and completions.stats.counts["prefetch_hits"] == 1
    assert completions.stats.counts["accepted"] == 0  # typed, not accepted
    await completions.close()


async def test_a_request_elsewhere_cancels_the_prefetch():
    class SlowBelow(FakeEngine):
        def complete(self, request, cancelled=never_cancelled):
            if request.prefix.endswith("quantity\n"):
                return self._slow(cancelled)
            return super().complete(request, cancelled)

    engine = SlowBelow(ACCEPTED | {"greeting = ": "'hi'"})
    completions = await service(engine)
    shown = await completions.complete(at_end("total = "), automatic=False)
    completions.accepted(shown.item_id)
    await asyncio.get_running_loop().run_in_executor(None, engine.slow_started.wait)
    elsewhere = await completions.complete(at_end("total = price * quantity\ngreeting = "), automatic=False)
    assert elsewhere.edit.text == "'hi'"
    assert engine.cancelled_jobs == 1
    assert completions.stats.counts["prefetch_hits"] == 0
    await completions.close()


@pytest.mark.parametrize(("prefetch", "source"), [(False, "total = "), (True, "(total = )")])
async def test_no_prefetch_when_turned_off_or_when_the_line_goes_on(prefetch: bool, source: str):
    engine = FakeEngine(ACCEPTED)
    completions = await service(engine)
    completions.config = type(completions.config)(prefetch=prefetch)
    column = source.index("= ") + 2
    cursor = read_cursor(source, 0, column, "utf-32", uri="file:///a.py", language_id="python")
    shown = await completions.complete(cursor, automatic=False)
    completions.accepted(shown.item_id)
    await asyncio.sleep(0.05)
    assert len(engine.requests) == 1 and completions.stats.counts["prefetches"] == 0
    assert completions.stats.counts["accepted"] == 1
    await completions.close()


async def test_a_prefetch_waits_for_the_request_in_flight_and_never_makes_it_stale():
    """The shared engine drops a document's older request when a newer one for it arrives: a prefetch
    sent while the user's request is in flight would have cancelled that request."""
    engine = FakeEngine(ACCEPTED)
    folder = tempfile.mkdtemp(prefix="mercury-test-", dir="/tmp")  # unix socket paths must stay short
    address = Address(path=os.path.join(folder, "engine.sock"))
    async with daemon(engine, address):
        completions = CompletionService(RemoteEngine(address))
        await completions.start(lambda message: None)
        shown = await completions.complete(at_end("total = "), automatic=False)
        slow = asyncio.ensure_future(completions.complete(at_end(f"x = 1\n{SLOW_MARKER}"), automatic=False))
        await asyncio.get_running_loop().run_in_executor(None, engine.slow_started.wait)
        completions.accepted(shown.item_id)
        await asyncio.sleep(0.2)
        assert not slow.done() and engine.cancelled_jobs == 0
        assert all(not r.prefix.endswith("quantity\n") for r in engine.requests)
        slow.cancel()  # the user's request is over: now the prefetch runs
        with pytest.raises(asyncio.CancelledError):
            await slow
        below = await completions.complete(at_end("total = price * quantity\n"), automatic=False)
        assert below.edit.text == "print(total)" and completions.stats.counts["prefetch_hits"] == 1
        await completions.close()
    shutil.rmtree(folder, ignore_errors=True)
