"""The completion engine: a loaded model plus its context cache, behind `complete(request)`.

This is the only object the language server and the engine daemon use. Requests and results are plain
dataclasses (api.py); tensors never leave this module.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from mercury.models import ModelFileError, ModelNotFound, reading_model_file, resolve_model
from safetensors import safe_open

from .api import CompletionRequest, CompletionResult, ConstraintFactory, SpanConstraint, never_cancelled
from .model import WEIGHTS_FILE, Denoiser, KVCache, ModelConfig, Stepper, weight_files
from .objective import context_ids
from .onnx_backend import ONNX_FILES
from .sampler import BlockDiffusionSampler, GreedySampler, SpanSettings
from .scope import IndentScope
from .tokenizer import CodeTokenizer

BACKENDS = ("auto", "torch", "onnx", "onnx-int8")


class ContextCache:
    """Clean-stream K/V per document, reused by longest common token prefix (typing appends to SPM)."""

    def __init__(self, capacity: int = 8):
        self.capacity = capacity
        self._entries: OrderedDict[str, tuple[list[int], KVCache]] = OrderedDict()

    def lookup(self, key: str | None, ids: list[int]) -> tuple[KVCache | None, int]:
        """The cache of the longest stored prefix of `ids` and its length (0 when nothing matches)."""
        if key is None or key not in self._entries:
            return None, 0
        self._entries.move_to_end(key)
        stored_ids, cache = self._entries[key]
        n = _common_prefix(stored_ids, ids)
        n = min(n, len(ids) - 1)  # keep one token to encode so the step always has a clean row
        return (cache.truncated(n), n) if n > 0 else (None, 0)

    def store(self, key: str | None, ids: list[int], cache: KVCache | None) -> None:
        if key is None or cache is None:
            return
        self._entries[key] = (ids, cache)
        self._entries.move_to_end(key)
        while len(self._entries) > self.capacity:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()


def _common_prefix(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


class Engine:
    """A model ready to fill spans. Thread-safe: one lock serialises the CPU-bound work."""

    def __init__(
        self,
        folder: Path,
        model: Stepper,
        tok: CodeTokenizer,
        constraints: ConstraintFactory | None,
        backend: str,
    ):
        self.folder, self.model, self.tok, self.backend = folder, model, tok, backend
        self.constraints = constraints
        self.cache = ContextCache()
        sampler_cls = BlockDiffusionSampler if model.cfg.objective == "diffusion" else GreedySampler
        self.sampler = sampler_cls(model, tok)
        self._lock = threading.Lock()
        self._syntax_worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="mercury-syntax")
        # Tokens per line, for fitting the window: typing changes one line, so the rest repeat.
        self._line_tokens = functools.lru_cache(maxsize=8192)(lambda line: len(tok.encode(line)))

    @classmethod
    def load(
        cls,
        model: str,
        *,
        device: str = "cpu",
        constrained: bool = True,
        threads: int | None = None,
        backend: str = "auto",
    ) -> Engine:
        """Load a registry name or a model directory (raises mercury.models.ModelNotFound).

        backend: "torch", "onnx" (fp32 graph), "onnx-int8", or "auto", chosen by measurement (see
        BENCHMARKS.md): ONNX Runtime fp32 where model.onnx and onnxruntime are present (about 2x faster
        per step than PyTorch eager here), else int8, else PyTorch. int8 saves memory against ONNX fp32
        but is not faster at batch 1 on this CPU.
        """
        folder = resolve_model(model)
        backend = _choose_backend(folder, backend, device)
        # Under ONNX Runtime torch runs only the sampler's small per-step ops, and its thread pool
        # would spin beside ONNX Runtime's on the same cores: with both at two threads on this 2-core
        # machine warm typing p95 was 138-211 ms against 68-101 (BENCHMARKS section 4). One torch thread.
        torch_threads = threads if backend == "torch" else 1
        if torch_threads:
            torch.set_num_threads(torch_threads)
        # Each file is read under reading_model_file so that a bad one is named, with what to do.
        with reading_model_file(folder / "tokenizer.json"):
            tok = CodeTokenizer.load(folder / "tokenizer.json")
        with reading_model_file(folder / "config.json"):
            cfg = ModelConfig.load(folder / "config.json")
        if backend == "torch":
            with reading_model_file(folder / WEIGHTS_FILE):
                net = Denoiser.load(folder).to(device)
        else:
            from .onnx_backend import OnnxStepper

            precision = "int8" if backend == "onnx-int8" else "fp32"
            with reading_model_file(folder / ONNX_FILES[precision]):
                net = OnnxStepper(folder, cfg, precision, threads)
        if tok.vocab_size > cfg.vocab_size:
            raise ModelFileError(
                f"{folder / 'tokenizer.json'} has {tok.vocab_size} tokens but config.json allows "
                f"{cfg.vocab_size}: the two files come from different models; export the folder again"
            )
        factory = _syntax_constraints() if constrained else None
        return cls(folder, net, tok, factory, backend)

    def info(self) -> dict:
        cfg = self.model.cfg
        return {
            "name": self.folder.name,
            "path": str(self.folder),
            "backend": self.backend,
            "parameters": parameter_count(self.folder),
            "block_length": cfg.block_length,
            "objective": cfg.objective,
            "vocab_size": cfg.vocab_size,
            "context_prefix": cfg.context_prefix,
            "context_suffix": cfg.context_suffix,
        }

    def warm_up(self) -> None:
        """One small completion, so that a user's first request does not pay for first runs: ONNX
        Runtime's first run sets up its buffers, and the first syntax check loads the Python
        grammar (5-10 ms of the first completion on the benchmark CPUs). Nothing is cached."""
        self.complete(CompletionRequest(prefix="def f(x):\n    return ", suffix="\n", language="python"))

    def count_tokens(self, text: str) -> int:
        return len(self.tok.encode(text))

    def complete(
        self, request: CompletionRequest, cancelled: Callable[[], bool] = never_cancelled
    ) -> CompletionResult:
        start = time.perf_counter()
        with self._lock:
            if cancelled():
                return CompletionResult(text="", stop_reason="cancelled")
            result = self._complete_locked(request, cancelled)
        result.elapsed_ms = (time.perf_counter() - start) * 1000
        return result

    def _complete_locked(self, request: CompletionRequest, cancelled: Callable[[], bool]) -> CompletionResult:
        budget = request.line_budget_ms
        deadline = time.perf_counter() + budget / 1000 if budget is not None and request.multiline else None
        ids = self.context(request.prefix, request.suffix)
        cache, reused = self.cache.lookup(request.cache_key, ids)
        settings = SpanSettings(
            tau=request.tau,
            max_tokens=max(1, request.max_tokens),
            multiline=request.multiline,
            scope=IndentScope.at(request.prefix),
            deadline=deadline,
        )
        constraint = self.constraints(request) if self.constraints and request.constrained else None
        if constraint is not None:
            constraint = _PreparedAside(constraint, self._syntax_worker)
        out = self.sampler.fill(ids[reused:], cache, settings, constraint, cancelled)
        if out.stop_reason != "cancelled":
            self.cache.store(request.cache_key, ids, out.cache)
        return CompletionResult(
            text=out.text,
            stop_reason=out.stop_reason,
            steps=out.steps,
            forward_passes=out.steps,
            tokens=len(out.ids),
            context_tokens=len(ids),
            reused_tokens=reused,
            vetoed=out.vetoed,
        )

    def context(self, prefix: str, suffix: str) -> list[int]:
        """<suf> S <pre> P <mid> within the model's token budgets, cut at stable line boundaries.

        The prefix window starts at a line whose index is a multiple of LINE_QUANTUM, so it moves
        only every few lines of typing: the cached clean stream stays a prefix of the next request's
        (llama.vim keeps its context chunks stable for the same reason).
        """
        cfg = self.model.cfg
        pre = self._window(prefix, cfg.context_prefix, keep_end=True)
        suf = self._window(suffix, cfg.context_suffix, keep_end=False)
        return context_ids(self.tok, pre, suf)

    def _window(self, text: str, budget: int, keep_end: bool) -> list[int]:
        """Token ids of the lines of `text` nearest the cursor that fit `budget`."""
        if not text:
            return []
        # Only the ~8 chars/token nearest the cursor can fit; count lines before them so that the
        # quantised cut is anchored to the document's line numbers, not to this window.
        reach = 8 * budget
        if keep_end and len(text) > reach:
            cut = text.find("\n", len(text) - reach) + 1 or len(text) - reach
            first_line, text = text.count("\n", 0, cut), text[cut:]
        else:
            first_line, text = 0, text[:reach] if not keep_end else text
        lines = text.splitlines(keepends=True)
        counts = [self._line_tokens(line) for line in lines]
        if sum(counts) > budget:
            lines = _fit_lines(lines, counts, budget, keep_end, first_line)
        ids = self.tok.encode("".join(lines))
        return ids[-budget:] if keep_end else ids[:budget]


LINE_QUANTUM = 8


def _fit_lines(
    lines: list[str], counts: list[int], budget: int, keep_end: bool, first_line: int
) -> list[str]:
    """The lines nearest the cursor that fit `budget`, cut at a multiple of LINE_QUANTUM lines."""
    if not keep_end:
        total, n = 0, 0
        while n < len(lines) and total + counts[n] <= budget:
            total, n = total + counts[n], n + 1
        return lines[: max(1, n - n % LINE_QUANTUM)]
    total, start = 0, len(lines)
    while start > 0 and total + counts[start - 1] <= budget:
        start, total = start - 1, total + counts[start - 1]
    absolute = first_line + start
    start += -absolute % LINE_QUANTUM  # move the cut down to a document line index divisible by the quantum
    return lines[min(start, len(lines) - 1) :]


def _choose_backend(folder: Path, backend: str, device: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if backend != "auto":
        if backend.startswith("onnx") and not (folder / ONNX_FILES[backend_precision(backend)]).is_file():
            raise ModelNotFound(
                f"{folder} has no {ONNX_FILES[backend_precision(backend)]}: run `mercury export {folder}`"
            )
        return backend
    if device != "cpu" or importlib.util.find_spec("onnxruntime") is None:
        return "torch"
    for name in ("onnx", "onnx-int8"):
        if (folder / ONNX_FILES[backend_precision(name)]).is_file():
            return name
    return "torch"


def backend_precision(backend: str) -> str:
    return "int8" if backend == "onnx-int8" else "fp32"


def parameter_count(folder: Path) -> int:
    """Parameters stored in the weight files, read from their headers (no weights loaded)."""
    total = 0
    for path in weight_files(folder):
        with safe_open(str(path), framework="pt") as f:
            for name in f.keys():
                total += math.prod(f.get_slice(name).get_shape())
    return total


class _PreparedAside:
    """A span constraint whose `prepare` runs on the engine's worker thread while the first forward
    pass runs: ONNX Runtime and torch release the GIL while they compute, so where they leave a
    core free the parses of the file cost the completion nothing (BENCHMARKS section 6). Each
    check waits for the setup first."""

    def __init__(self, constraint: SpanConstraint, worker: ThreadPoolExecutor):
        self._constraint = constraint
        self._setup = worker.submit(constraint.prepare)

    def _ready(self) -> SpanConstraint:
        self._setup.exception()  # waits; `prepare` never raises, and the checks fail open
        return self._constraint

    def invalid_ranges(self, middle: str, complete: bool) -> list[tuple[int, int]] | None:
        return self._ready().invalid_ranges(middle, complete)

    def valid_start(self, middle: str) -> bool:
        return self._ready().valid_start(middle)

    def accepts(self, middle: str) -> bool:
        return self._ready().accepts(middle)

    def broken_at_cursor(self) -> bool:
        return self._ready().broken_at_cursor()

    def comments_only(self, middle: str) -> bool:
        return self._ready().comments_only(middle)

    def after_exit(self) -> bool:
        return self._constraint.after_exit()  # a look at the text: no need to wait for the setup

    def closing_line(self) -> str | None:
        return self._ready().closing_line()

    def prepare(self) -> None:
        self._ready()


def _syntax_constraints() -> ConstraintFactory | None:
    """tree-sitter constraints when syntax/ is importable; unconstrained otherwise."""
    try:
        from mercury.syntax import constraint_for
    except ImportError:
        return None
    return constraint_for
