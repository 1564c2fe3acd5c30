"""End to end on real (tiny) weights: save, load, fill memorised middles, reuse the context cache."""

import pytest
from mercury.denoiser.api import CompletionRequest
from mercury.denoiser.engine import Engine
from tiny_model import CUTS, split


@pytest.mark.parametrize("before,middle", CUTS)
@pytest.mark.parametrize("tau", [0.9, 1.0])
def test_fills_a_memorised_middle_exactly(tiny_model_dir, before, middle, tau):
    engine = Engine.load(str(tiny_model_dir), constrained=False)
    prefix, middle, suffix = split(before, middle)
    multiline = "\n" in middle
    result = engine.complete(CompletionRequest(prefix=prefix, suffix=suffix, multiline=multiline, tau=tau))
    assert result.text == middle
    assert result.stop_reason == "eom"
    if tau >= 1.0:
        assert result.steps >= result.tokens  # one token per step


def test_the_ar_baseline_fills_the_same_middles(tiny_ar_model_dir):
    engine = Engine.load(str(tiny_ar_model_dir), constrained=False)
    for before, middle in CUTS:
        prefix, middle, suffix = split(before, middle)
        result = engine.complete(CompletionRequest(prefix=prefix, suffix=suffix, multiline="\n" in middle))
        assert result.text == middle
        assert result.forward_passes == result.tokens + 1  # one pass per token, plus the one that says <eom>


def test_single_line_mode_stops_at_the_newline(tiny_model_dir):
    engine = Engine.load(str(tiny_model_dir), constrained=False)
    prefix, middle, suffix = split(*CUTS[2])
    result = engine.complete(CompletionRequest(prefix=prefix, suffix=suffix, multiline=False))
    assert result.text == middle.split("\n")[0]
    assert result.stop_reason == "newline"


def test_cached_context_gives_the_same_completion(tiny_model_dir):
    engine = Engine.load(str(tiny_model_dir), constrained=False)
    prefix, middle, suffix = split(*CUTS[0])
    first = engine.complete(CompletionRequest(prefix=prefix, suffix=suffix, cache_key="doc"))
    typed = engine.complete(CompletionRequest(prefix=prefix + "he", suffix=suffix, cache_key="doc"))
    uncached = Engine.load(str(tiny_model_dir), constrained=False).complete(
        CompletionRequest(prefix=prefix + "he", suffix=suffix)
    )
    assert first.text == middle
    assert first.reused_tokens == 0 and typed.reused_tokens > 0
    assert typed.text == uncached.text


def test_prefix_window_is_stable_while_typing(tiny_model_dir):
    """Typing at the end of a long prefix keeps the window's start, so the cached stream still matches."""
    engine = Engine.load(str(tiny_model_dir), constrained=False)
    engine.model.cfg.context_prefix = 160
    body = "".join(f"x{i} = {i}\n" for i in range(200))
    windows = [engine.context(body + typed, "") for typed in ["y", "y =", "y = 1", "y = 12", "y = 123"]]
    assert all(w[:40] == windows[0][:40] for w in windows)
    assert all(len(w) <= 160 + 3 for w in windows)
    assert len(windows[0]) > 160 // 2  # the quantised cut still keeps most of the budget


def test_remembered_line_counts_give_the_windows_of_fresh_counts(tiny_model_dir):
    engine = Engine.load(str(tiny_model_dir), constrained=False)
    engine.model.cfg.context_prefix, engine.model.cfg.context_suffix = 160, 40
    body, after = "".join(f"x{i} = {i}\n" for i in range(200)), "".join(f"z{i} = 0\n" for i in range(60))
    for typed in ["y", "y =", "y = 1", "y = 12\nw", "y = 12\nw = ("]:
        remembered = engine.context(body + typed, after)
        engine._line_tokens.cache_clear()
        assert remembered == engine.context(body + typed, after)


@pytest.mark.parametrize("multiline", [True, False])
def test_every_span_is_held_to_the_cursor_scope(tiny_model_dir, monkeypatch, multiline):
    """A single line at a line's start is indented too (the tab rule reads the scope's line above)."""
    engine = Engine.load(str(tiny_model_dir), constrained=False)
    seen = []
    fill = engine.sampler.fill
    monkeypatch.setattr(
        engine.sampler,
        "fill",
        lambda ids, cache, settings, *rest: seen.append(settings) or fill(ids, cache, settings, *rest),
    )
    engine.complete(
        CompletionRequest(prefix="func f() {\n\tif x {\n", suffix="\t}\n}\n", multiline=multiline)
    )
    assert seen[0].scope is not None and seen[0].scope.tabs_above == 1
