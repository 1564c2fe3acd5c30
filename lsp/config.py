"""Typed settings of the language server, from initializationOptions or workspace/didChangeConfiguration.

Defaults live in the dataclasses below and nowhere else. `parse_config` checks every value where it
enters: a bad one yields a clear message and keeps its default, so a typo never stops completions
(the pattern of jedi-language-server's initialization_options.py, without its all-or-nothing fallback).
Keys are camelCase on the wire (`prefixTokens`), snake_case here.
"""

from __future__ import annotations

import typing
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

MULTILINE_POLICIES = ("auto", "always", "never")
DEBOUNCE_MODES = ("adaptive", "fixed")


@dataclass(frozen=True, kw_only=True)
class TokenBudgets:
    """Token budgets of the request windows and of the generated span."""

    # The context sent: the model reads the part its window holds, the syntax check reads more. A
    # window that ends inside a function or a long literal makes the check refuse right answers, so
    # the defaults reach further than any model here reads (BENCHMARKS.md, section 4).
    prefix: int = field(default=1536, metadata={"range": (16, 16384)})
    suffix: int = field(default=1024, metadata={"range": (0, 16384)})
    single: int = field(default=48, metadata={"range": (1, 1024)})  # span budget, single-line mode
    multi: int = field(default=128, metadata={"range": (1, 2048)})  # span budget, multi-line mode


@dataclass(frozen=True, kw_only=True)
class DebounceOptions:
    """How long automatic triggers wait for typing to pause (Tabby's debouncer.ts has both modes)."""

    mode: str = field(default="adaptive", metadata={"choices": DEBOUNCE_MODES})
    ms: int = field(default=120, metadata={"range": (0, 5000)})  # the fixed delay
    min_ms: int = field(default=40, metadata={"range": (0, 5000)})  # adaptive bounds
    max_ms: int = field(default=500, metadata={"range": (0, 10000)})


@dataclass(frozen=True, kw_only=True)
class Config:
    enable: bool = True
    languages: tuple[str, ...] = ("*",)  # languageIds or tree-sitter names; "*" means every language
    multiline: str = field(default="auto", metadata={"choices": MULTILINE_POLICIES})
    tau: float = field(default=0.9, metadata={"range": (0.05, 1.0)})  # Fast-dLLM commit threshold
    constrained: bool = True  # let tree-sitter veto proposals that break the file's syntax
    # A multi-line suggestion still growing after this many ms ends at its last finished line
    # (llama.cpp's t_max_predict_ms); 0, the default, lets it run to its token budget. Off by
    # default: it halves cold multi-line latency but leaves less to type through (BENCHMARKS.md, 4).
    line_budget_ms: int = field(default=0, metadata={"range": (0, 10000)})
    # After a suggestion is accepted, complete the line below it while the user reads, so that Enter
    # is answered from the cache (llama.vim's speculative FIM, llama.vscode's cacheFutureSuggestion).
    prefetch: bool = True
    tokens: TokenBudgets = field(default_factory=TokenBudgets)
    debounce: DebounceOptions = field(default_factory=DebounceOptions)

    def enabled_for(self, language_id: str, language: str | None) -> bool:
        wanted = {name.lower() for name in self.languages}
        return self.enable and ("*" in wanted or language_id.lower() in wanted or (language or "") in wanted)


def parse_config(data: Any) -> tuple[Config, list[str]]:
    """Settings from client JSON (optionally wrapped in {"mercury": ...}), with one message per problem."""
    problems: list[str] = []
    if isinstance(data, dict) and isinstance(data.get("mercury"), dict):
        data = data["mercury"]
    if data is None:
        return Config(), problems
    return _build(Config, data, "", problems), problems


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _build(cls: type, data: Any, path: str, problems: list[str]) -> Any:
    if not isinstance(data, dict):
        name = path.rstrip(".") or "mercury"
        problems.append(f"setting `{name}` must be an object, got {data!r:.40}; using defaults")
        return cls()
    hints = typing.get_type_hints(cls)
    by_key = {_camel(f.name): f for f in fields(cls)} | {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, raw in data.items():
        spec = by_key.get(key)
        if spec is None:
            problems.append(f"unknown setting `{path}{key}` ignored")
            continue
        kind = hints[spec.name]
        if is_dataclass(kind):
            values[spec.name] = _build(kind, raw, f"{path}{key}.", problems)
            continue
        value, problem = _convert(raw, kind, spec.metadata)
        if problem is None:
            values[spec.name] = value
        else:
            default = spec.default if not callable(spec.default_factory) else spec.default_factory()
            problems.append(f"setting `{path}{key}` {problem}; using the default {default!r}")
    return cls(**values)


def _convert(raw: Any, kind: Any, meta: typing.Mapping[str, Any]) -> tuple[Any, str | None]:
    """The value as `kind`, or a message saying why it cannot be."""
    if kind is bool:
        return (raw, None) if isinstance(raw, bool) else (None, f"must be true or false, got {raw!r:.40}")
    if kind in (int, float):
        return _number(raw, kind, meta.get("range"))
    if kind is str:
        choices = meta.get("choices")
        if not isinstance(raw, str) or (choices and raw not in choices):
            return None, f"must be one of {', '.join(choices or ())}, got {raw!r:.40}"
        return raw, None
    if typing.get_origin(kind) is tuple:
        if isinstance(raw, str):
            raw = [raw]
        if not isinstance(raw, list) or not all(isinstance(item, str) for item in raw):
            return None, f"must be a list of strings, got {raw!r:.40}"
        return tuple(raw), None
    return None, f"has an unsupported type {kind!r}"


def _number(raw: Any, kind: type, bounds: tuple[float, float] | None) -> tuple[Any, str | None]:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None, f"must be a number, got {raw!r:.40}"
    if kind is int:
        if raw != int(raw):
            return None, f"must be a whole number, got {raw!r}"
        raw = int(raw)
    if bounds is not None and not bounds[0] <= raw <= bounds[1]:
        return None, f"must lie between {bounds[0]} and {bounds[1]}, got {raw!r}"
    return kind(raw), None
