"""Plain-data types at the denoiser's boundary: what a caller asks for and what it gets back.

Nothing here imports torch, so the language server, the engine daemon and the syntax layer can
share these types without touching tensors.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Protocol


@dataclass(frozen=True, kw_only=True)
class CompletionRequest:
    """One fill-in-the-middle request: fill the span between `prefix` and `suffix`."""

    prefix: str
    suffix: str = ""
    prefix_cut: bool = False  # the prefix starts after the file's start (a client's bounded context)
    suffix_cut: bool = False  # the suffix stops before the file's end
    language: str | None = None  # tree-sitter language name ("python", "rust", ...) or None
    multiline: bool = False  # False: stop at the first newline (single-line mode)
    max_tokens: int = 64  # token budget for the span
    tau: float = 0.9  # commit every proposal with probability >= tau (Fast-dLLM threshold)
    constrained: bool = True  # let the syntax constraint veto proposals, when one exists
    cache_key: str | None = None  # a document id: context K/V is reused across its requests
    line_budget_ms: float | None = None  # multi-line: past this, the span ends at its last finished line

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CompletionRequest:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(kw_only=True)
class CompletionResult:
    """The filled span and how it was made."""

    text: str
    # "eom" | "newline" | "budget" | "cancelled" | "constraint" | "repetition" | "scope" | "time" |
    # "unchecked" | "comments" (a multi-line span the vetoes left with comments only, dropped) |
    # "closer" (the constraint's `closing_line`, where no text was found, or before any decoding
    # below a statement that leaves its block, `after_exit`)
    stop_reason: str
    steps: int = 0  # denoising steps (each one forward pass of the canvas)
    forward_passes: int = 0  # all forward passes, context encoding included
    tokens: int = 0  # tokens in `text`
    context_tokens: int = 0  # tokens of prefix + suffix given to the model
    reused_tokens: int = 0  # of those, how many came from the K/V cache
    vetoed: int = 0  # proposals rejected by the constraint
    elapsed_ms: float = 0.0
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CompletionResult:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


class SpanConstraint(Protocol):
    """A check the sampler calls while it fills one span (syntax/ implements it for tree-sitter).

    Offsets are character offsets into `middle`, the text of the span drafted so far.
    """

    def invalid_ranges(self, middle: str, complete: bool) -> list[tuple[int, int]] | None:
        """Character ranges of `middle` that lie inside syntax errors that inserting it introduces.

        `complete` is False while more of the span is still to come (the draft may end mid-construct,
        so errors that only say "this is unfinished" at its end must not count). None once the
        constraint has stopped checking drafts of this span (its budget is spent): nothing is
        vetoed from then on, and only the final check judges the rest.
        """
        ...

    def valid_start(self, middle: str) -> bool:
        """True when `middle` may begin a valid span (`invalid_ranges(middle, False)` finds nothing).
        The sampler probes a broken line's starts with it; probes have their own budget, past which
        the answer is True."""
        ...

    def accepts(self, middle: str) -> bool:
        """True when prefix + middle + suffix adds no syntax error to the file (the final check)."""
        ...

    def broken_at_cursor(self) -> bool:
        """True when the file without a middle is broken at the cursor: a syntax error on the lines
        around it, or a block the file never closes after it. An empty span would leave it so."""
        ...

    def comments_only(self, middle: str) -> bool:
        """True when every line of `middle` with text lies in a comment of the file with it in place."""
        ...

    def after_exit(self) -> bool:
        """True when the cursor's line is blank below a statement that leaves its block (`return`,
        `break`, `throw`...): nothing after it in the block runs, so where the code below shows the
        block ending, the line needs the block's closer (`closing_line`) and nothing a model would
        write. A look at the text, safe to call while the constraint's setup runs aside."""
        ...

    def closing_line(self) -> str | None:
        """The closers the cursor's blank line needs where a block or bracket opened above is left
        open by the code below, and the file parses better with them; else None. They come after
        the rest of the opener line's indentation where the typed indentation is a start of it,
        alone where the line is indented deeper. The sampler answers it where it found no text."""
        ...

    def prepare(self) -> None:
        """The fixed work of the checks (parsing the file around the span), done before the first
        check. The engine calls it on a worker thread while the first forward pass runs, and the
        first check waits for it. Idempotent; never raises."""
        ...


ConstraintFactory = Callable[[CompletionRequest], "SpanConstraint | None"]


def never_cancelled() -> bool:
    return False
