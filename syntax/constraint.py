"""The syntax constraint the sampler consults while it fills one span (DESIGN.md, "Syntax constraints").

`SyntaxConstraint` implements `mercury.denoiser.api.SpanConstraint` for one (language, prefix,
suffix). Every denoising step renders prefix + draft (+ suffix), reparses incrementally (the
previous step's tree is edited where the draft changed), and reports the parts of the draft that
sit in syntax errors the file did not already have.

"Did not already have" is decided against a baseline parse of the same window without the
middle. Each error is reduced to culprits (errors.py): the tokens tree-sitter could not place,
MISSING tokens, empty Python blocks. A culprit made of middle bytes is always new: no baseline
can contain it. A culprit outside the middle is mapped to baseline coordinates (positions after
the span shift back by its length; zero-width ones on its edges map to the cursor) and counts as
old when the baseline has the same kind of culprit at the same place. Matching exact culprits
rather than error counts or ERROR ranges stays right when an old error changes size because of
the middle, and does not excuse a new error in the middle because an old one sits nearby (the
user is often mid-statement, so the baseline nearly always has an error at the cursor). The
check of the finished span (`accepts`) also refuses one more ERROR or MISSING node than the
baseline: an old error can swallow a bad middle without leaving a culprit of its own. Where the
window's end is cut inside blocks the file closes further on, a finished middle that opens one
more (`if err != nil {`) is judged again with what the window leaves open closed after it
(`_clean_when_closed`). `broken_at_cursor` tells the sampler where the file without a middle is
broken around the cursor, so that an empty answer, which would leave it so, is not its first choice;
where the sampler still finds no text, `closing_line` gives the closers that a block the code below
has left open needs on the cursor's blank line (a function's `}` at its opener's width), and
`comments_only` tells it when a finished span is nothing but comments.

Cost: only a window of lines around the cursor is parsed (window.py), so a 10,000-line file
costs what a 100-line one does; a window that a client's bounded context cuts inside a long block
narrows to the block around the cursor (`_clean_block`), since errors at its edges slow every
parse. On a 2,000-line Python file an incremental call takes 0.1-0.2
ms (median; tests/syntax/bench_constraint.py has the numbers and how they were measured), and
the fixed work (`prepare`: the window's parses and the baselines) about 0.8 ms, which the engine
overlaps with the first forward pass. Step checks of one completion stop
after STEP_CHECKS parsed drafts, or after STEP_CHECK_BUDGET_S, which only drafts that send
tree-sitter's error recovery through the whole window reach; from then on `invalid_ranges`
answers None (the sampler ends a multi-line span at its last finished line), and `accepts`, the
check of the finished span, always runs. Probes of a line's starts (`valid_start`) are counted apart
(START_CHECKS).

Unfinished drafts (`complete=False`) are rendered without the suffix, and only their settled
part is checked: a trailing partial word, or a string or block comment the draft opened and
has not closed, waits until the draft moves past it. Drafts typed inside a string or comment
are only checked for closing it early. A constraint serves one request from one thread.
"""

from __future__ import annotations

import itertools
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from mercury.denoiser.api import CompletionRequest, SpanConstraint
from tree_sitter import Node, Point, Tree

from . import brackets
from .calls import CallChecker
from .errors import (
    Culprit,
    empty_blocks,
    ends_in_open_string,
    error_culprits,
    error_extent,
    error_node_count,
    last_code_end,
)
from .languages import language_for, parse
from .window import (
    BLOCK_COMMENTS,
    MULTILINE_QUOTES,
    CharMap,
    Window,
    WindowConfig,
    blocks_around,
    cut_window,
    decode,
    docstring_place,
    encode,
    indent_width,
    prose_line,
)

log = logging.getLogger(__name__)

# Bytes that can continue an identifier or keyword (with UTF-8 bytes of non-ASCII letters).
_WORD_BYTES = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_$" + bytes(range(0x80, 0x100))
_HEADER_REACH = 512  # bytes before the middle searched for block headers it may leave empty
# Bytes of a cut window inside ERROR nodes beyond which its brackets are looked at (_outer_brackets):
# a half-typed line makes an error of a few dozen bytes, a window cut inside a table one of thousands.
_SPREAD_ERROR_BYTES = 512
# Errors of a cut window this far from the cursor are the cut's, not the line's (`_clean_block`).
_NEAR_CURSOR_BYTES = 200
# Blocks around the cursor tried for a cut window, a parse each: the block kept is the first, second
# or third in nearly every case (Go and Rust held-out lines), and deeply nested text must not cost
# a parse per level.
_BLOCKS_TRIED = 4
# Statements after which nothing in their block runs (`after_exit`). Python has no closers; Go's
# `fallthrough` is followed by a case label.
_C_EXITS = re.compile(r"(?:return|break|continue|throw|goto)\b")
_EXITS = {
    "go": re.compile(r"(?:return|break|continue|goto)\b|panic\("),
    "rust": re.compile(r"(?:return|break|continue)\b|(?:panic|unreachable|todo|unimplemented)!"),
    **dict.fromkeys(("javascript", "typescript", "tsx", "java", "c", "cpp"), _C_EXITS),
}
_GOES_ON = tuple("+-*/%&|^=<>,.?:([{\\")  # a line ending so continues its statement below
# Drafts one completion may parse for its step checks; past the budget drafts go unchecked and the
# finished span is still checked. A count, not a clock, so that an answer does not depend on the
# machine's load. A typical check takes 0.1-0.5 ms; half of the completions of warm typing parse at
# most 5 drafts, 1 in 40 more than 32.
STEP_CHECKS = 32
# The clock still stops step checks where drafts send tree-sitter's error recovery through a long
# window (5-10 ms a parse, every step), a safety net that ordinary completions stay far from.
STEP_CHECK_BUDGET_S = 0.05
# Probes of a single line's starts (`valid_start`) one completion may parse, counted apart from the
# drafts: the sampler bisects a broken line's starts to find the token that broke it, about five
# parses a broken step, and spending the drafts' budget on them left 1 in 5 HumanEval-X lines
# unchecked after a few steps. Past it every start counts as valid (the sampler's older rule).
START_CHECKS = 32


@dataclass
class _View:
    """One way of rendering the draft: with the window's suffix (complete) or without it."""

    suffix: bytes
    base_tree: Tree
    base_keys: frozenset[tuple[str, int, int]]  # baseline culprits: (kind, start byte, end byte)
    base_errors: int  # ERROR and MISSING nodes of the baseline parse
    prefix_open: list[brackets.Bracket]
    suffix_close: list[brackets.Bracket] | None  # None: no suffix, the draft is unfinished
    prefix_whole: bool  # the window starts where no bracket can be open (see brackets.py)
    suffix_whole: bool  # the window ends where no bracket can be open
    indent: Callable[[brackets.Bracket], int | None]  # a prefix or suffix bracket's line's (`_line_indent`)
    draft: bytes = b""  # middle of the last parse, and its tree (None: not parsed yet)
    draft_tree: Tree | None = None
    draft_fresh: bool = False  # the tree was parsed from scratch, not edited from the previous one
    memo: dict[str, list[tuple[int, int]]] = field(default_factory=dict)
    closed: tuple[frozenset[tuple[str, int, int]], int] | None = None  # `_closed_baseline`
    closed_verdict: tuple[bytes, bool] | None = None  # `_clean_when_closed`'s latest answer


class SyntaxConstraint:
    """Vetoes drafts of one span that add syntax errors to the file around it."""

    def __init__(
        self,
        language: str,
        prefix: str,
        suffix: str,
        window: WindowConfig | None = None,
        clock: Callable[[], float] = time.perf_counter,
        *,
        prefix_cut: bool = False,
        suffix_cut: bool = False,
    ) -> None:
        self.language = language
        self._request = (prefix, suffix, window, prefix_cut, suffix_cut)
        self._set_up: bool | None = None  # None: not yet; False: the setup failed (checks fail open)
        self._views: dict[bool | str, _View] = {}  # unfinished, complete, complete and closed by a quote
        self._prose_line: int | None = None  # byte where a string's prose goes on (-1: none)
        self._in_literal: bool | None = None
        self._clock, self._spent, self._checks, self._probes = clock, 0.0, 0, 0
        self._starts: dict[str, bool] = {}  # valid_start's answers (at most START_CHECKS parsed)
        self._broken_here: bool | None = None  # broken_at_cursor's answer

    def prepare(self) -> None:
        """Do the fixed work of a completion's checks: cut and parse the window, and parse the
        baselines the drafts are compared with. The engine runs it on a worker thread while the
        first forward pass runs; a check that finds it not done does it first (views lazily).
        Idempotent; never raises (a failed setup leaves every check failing open)."""
        if not self._ready():
            return
        try:
            self._view(True)
            self._view(False)
            self._cursor_in_literal()
        except Exception:  # the checks build what is missing themselves, and fail open
            log.exception("cannot parse the syntax constraint's baselines (%s)", self.language)

    def _ready(self) -> bool:
        """True once the window is cut (cutting it now if not yet); False where that failed."""
        if self._set_up is None:
            try:
                self._cut(*self._request)
                self._set_up = True
            except Exception:
                log.exception("cannot set up the syntax constraint (%s); not checked", self.language)
                self._set_up = False
        return self._set_up

    def _cut(
        self, prefix: str, suffix: str, window: WindowConfig | None, prefix_cut: bool, suffix_cut: bool
    ) -> None:
        language = self.language
        cut = self._window = cut_window(prefix, suffix, window, language, prefix_cut, suffix_cut)
        self._prefix, self._suffix = encode(cut.prefix), encode(cut.suffix + cut.closer)
        self._parsed: dict[bytes, Tree] = {}  # a tree parsed here, for the view that renders its text
        if not (cut.whole_start and cut.whole_end):
            text = self._prefix + self._suffix
            tree = self._parsed[text] = parse(language, text)
            spread = error_extent(tree.root_node)[1] > _SPREAD_ERROR_BYTES
            before, after = self._outer_brackets() if language == "python" and spread else ("", "")
            if before or after:
                self._parsed.clear()
                self._prefix = encode(before + cut.prefix)
                self._suffix = encode(cut.suffix + cut.closer + after)
            elif (block := self._clean_block(tree, text)) is not None:
                cut = self._narrow(text, *block)
        self._prefix_rows = self._prefix.count(b"\n")
        self._prefix_column = len(self._prefix) - (self._prefix.rfind(b"\n") + 1)  # bytes
        # The window stops short of the file's end: a string the middle opens may close past it.
        self._suffix_goes_on = suffix_cut or len(cut.suffix) < len(suffix)
        self._file_start = not prefix_cut and len(cut.prefix) == len(prefix)  # the window starts the file
        self._calls = CallChecker(prefix, suffix) if language == "python" else None

    def _clean_block(self, tree: Tree, text: bytes) -> tuple[int, int, Tree] | None:
        """The nearest block around the cursor (`blocks_around`) that parses with no error the
        window lacks, where the window's parse has errors far from the cursor; else None.

        A client's bounded context cut inside a long impl, class or function parses as errors
        from its edges (Python windows without a bracket to add, `_outer_brackets`, too), and
        tree-sitter's recovery makes every draft's parse slower there (a Rust window of 4-6 KB
        takes 3-4 times as long as the method around the cursor). A block is kept only where
        each error of its own parse is one the window has at the same place: a block that does
        not parse alone (a match arm, a method of a JavaScript class), or one whose braces the
        missing line unbalances, is passed over for the next one out."""
        cursor = len(self._prefix)
        lo, hi = cursor - _NEAR_CURSOR_BYTES, cursor + _NEAR_CURSOR_BYTES
        culprits = error_culprits(tree.root_node, text, 0, len(text), None)
        if not any(c.end < lo or c.start > hi for c in culprits):
            return None
        known = {(c.kind, c.start, c.end) for c in culprits}
        for start, end in itertools.islice(blocks_around(text, cursor), _BLOCKS_TRIED):
            block = text[start:end]
            block_tree = parse(self.language, block)
            own = error_culprits(block_tree.root_node, block, 0, len(block), None)
            if all((c.kind, c.start + start, c.end + start) in known for c in own):
                return start, end, block_tree
        return None

    def _narrow(self, text: bytes, start: int, end: int, tree: Tree) -> Window:
        """Make bytes [start, end) of the window's text, whole lines around the cursor, the window
        (`tree`: their parse, which the complete view's baseline reuses)."""
        cursor = len(self._prefix)
        self._parsed.clear()
        self._prefix, self._suffix = text[start:cursor], text[cursor:end]
        self._parsed[text[start:end]] = tree
        self._window = Window(decode(self._prefix), decode(self._suffix))
        return self._window

    # --- SpanConstraint -------------------------------------------------------------------

    def invalid_ranges(self, middle: str, complete: bool) -> list[tuple[int, int]] | None:
        """Character ranges of `middle` inside syntax errors it introduces (see the protocol)."""
        if self._checks >= STEP_CHECKS or self._spent > STEP_CHECK_BUDGET_S:
            return None
        ranges, parsed = self._timed_ranges(middle, complete)
        self._checks += parsed
        return ranges

    def valid_start(self, middle: str) -> bool:
        """True when `middle` may begin a valid span: the unfinished check finds no error in it.
        Past START_CHECKS probes, or the clock's budget, every start counts as valid."""
        if middle in self._starts:
            return self._starts[middle]
        if self._probes >= START_CHECKS or self._spent > STEP_CHECK_BUDGET_S:
            return True
        ranges, parsed = self._timed_ranges(middle, False)
        self._probes += parsed
        self._starts[middle] = not ranges  # a line's starts recur from step to step as it settles
        return not ranges

    def accepts(self, middle: str) -> bool:
        """True when prefix + middle + suffix adds no syntax error, empty block or stray bracket.

        A middle the edited tree accepts is judged again on a fresh parse: after a broken draft,
        tree-sitter's incremental reparse can give another tree than a fresh parse (a Go window
        accepted `* A.g.` that way after `* (".`), and the promise rests on this check. Refusals
        need no second parse, and a completion's final check ends at its first acceptance.
        """
        if not self._ready():
            return True
        try:
            view = self._complete_view(middle)
            return self._adds_nothing(view, middle, fresh=False) and self._adds_nothing(
                view, middle, fresh=True
            )
        except Exception:
            log.exception("syntax constraint failed (%s); completion not checked", self.language)
            return True

    def broken_at_cursor(self) -> bool:
        """True when the baseline has a culprit on the cursor's line or a line beside it (a `}` or a
        loop header the middle was cut from, an empty Python block), or a MISSING token after the
        cursor (a block the file never closes may close here). Other errors are not the span's to
        mend: the user is editing elsewhere. False where setup failed."""
        if self._broken_here is None:
            self._broken_here = False
            if self._ready():
                try:
                    self._broken_here = self._baseline_broken_at_cursor()
                except Exception:
                    log.exception("syntax constraint failed (%s); no error at the cursor", self.language)
        return self._broken_here

    def _baseline_broken_at_cursor(self) -> bool:
        cursor = len(self._prefix)
        line_start = self._prefix.rfind(b"\n") + 1
        lo = self._prefix.rfind(b"\n", 0, max(line_start - 1, 0)) + 1  # the line before the cursor's
        first = self._suffix.find(b"\n")
        second = -1 if first < 0 else self._suffix.find(b"\n", first + 1)
        hi = cursor + (len(self._suffix) if second < 0 else second)  # the end of the line after it
        return any(
            lo <= start <= hi or (kind.startswith("MISSING") and start >= cursor)
            for kind, start, _ in self._view(True).base_keys
        )

    def after_exit(self) -> bool:
        """True when the cursor's line is blank below a whole statement that leaves its block
        (`return err`, `break`, `throw e;`, `panic!(...)`): nothing after it in the block runs.
        A look at the request's text, with no setup: safe beside `prepare`."""
        exits = _EXITS.get(self.language)
        return exits is not None and _ends_with_exit(self._request[0], exits)

    def closing_line(self) -> str | None:
        """The closers a blank cursor line needs: where the code below has left a block (or a
        bracket) opened above without closing it, that block's closers at its opener's
        indentation, provided the file then parses with fewer errors (`_closers_due`). Where the
        closers alone do not, the same with the `;` that ends a statement (Rust's `let x = match
        y {` ... `};`, a call's `);`) or the `,` that ends a list item. None elsewhere, inside a
        string or comment, or where setup failed. The sampler answers it where it found no text."""
        if not self._ready():
            return None
        try:
            if self._cursor_in_literal():  # a `}` in a help text's prose adds no error, nor is due
                return None
            view = self._view(True)
            # The request's suffix: a window narrowed to the block around the cursor ends there.
            _, suffix, _, _, suffix_cut = self._request
            due = _closers_due(self._prefix, encode(suffix), view.prefix_open, suffix_cut)
            if due is None:
                return None
            ends = ("", ";", ",") if self.language != "python" else ("", ",")
            return next((due + end for end in ends if self._closes_better(view, due + end)), None)
        except Exception:
            log.exception("syntax constraint failed (%s); no closing line", self.language)
            return None

    def _closes_better(self, view: _View, line: str) -> bool:
        """True when the constraint accepts `line` and the file parses with fewer errors with it,
        or as many in a window cut inside the code below: tree-sitter's recovery closes the
        window's open blocks at its end, with an error there either way, which hides the one the
        line mends (the indentation below says the line is due, `_closers_due`)."""
        if not self.accepts(line):
            return False
        tree, _ = self._reparse(view, encode(line), fresh=True)
        errors = error_node_count(tree.root_node)
        return errors < view.base_errors or (errors == view.base_errors and not self._window.whole_end)

    def comments_only(self, middle: str) -> bool:
        """True when every line of `middle` that has text lies in a comment of the file with it in
        place. False for an empty middle, or where setup failed."""
        if not middle.strip() or not self._ready():
            return False
        try:
            raw = encode(middle)
            tree, _ = self._reparse(self._complete_view(middle), raw, fresh=True)
            start = len(self._prefix)
            for line in raw.split(b"\n"):
                if line.strip() and not _in_comment(
                    tree, start + indent_width(line), start + len(line.rstrip())
                ):
                    return False
                start += len(line) + 1
            return True
        except Exception:
            log.exception("syntax constraint failed (%s); not read as comments", self.language)
            return False

    def _adds_nothing(self, view: _View, middle: str, fresh: bool) -> bool:
        raw = encode(middle)
        tree, text = self._reparse(view, raw, fresh)
        start, end = len(self._prefix), len(self._prefix) + len(raw)
        broken = self._adds_errors(view, tree, text, start, end)
        if broken and not self._clean_when_closed(view, raw, tree, text):
            return False
        spans = self._bracket_ranges(view, tree, text, start, end)
        spans += self._call_ranges(tree.root_node, text, start, end)
        return not any(min(b, end - start) > max(a, 0) for a, b in spans)

    def _adds_errors(self, view: _View, tree: Tree, text: bytes, start: int, end: int) -> bool:
        """True when the rendered text has a culprit, anywhere in the window, or an ERROR or MISSING
        node more than the view's baseline. An old error can swallow a bad middle whole (`type T
        struct =` beside a broken struct body): no new culprit, but one more ERROR node."""
        if error_node_count(tree.root_node) > view.base_errors:
            return True
        return bool(
            self._new_culprits(view.base_keys, self._all_culprits(tree, text, start, end), start, end)
        )

    def _clean_when_closed(self, view: _View, middle: bytes, tree: Tree, text: bytes) -> bool:
        """True when a finished middle that leaves brackets open adds no error once the brackets still
        open at the window's end are closed after it, and the baseline's are closed after its own.

        A window the client's bounded context cuts inside a long function ends with its blocks
        open. A line that opens one more (`if err != nil {`, `fn f<T>(`, whose closer lies past the
        window) changes how tree-sitter's recovery wraps the unclosed tail, and the enclosing
        header's tokens became new culprits: right lines were refused. So does a block's `}`,
        after which the unclosed tail is the next function's instead of this one's. The file is
        assumed to close what the window leaves open, for the middle as for the baseline. A parse
        each, only for such middles in such windows, counted with the step checks.
        """
        if self._window.whole_end or not (view.suffix and _changes_depth(middle)):
            return False
        if view.closed_verdict is not None and view.closed_verdict[0] == middle:
            return view.closed_verdict[1]
        self._checks += 1
        keys, errors = self._closed_baseline(view)
        closed = text + self._closers(tree, text)
        tree = parse(self.language, closed)
        start, end = len(self._prefix), len(self._prefix) + len(middle)
        clean = error_node_count(tree.root_node) <= errors
        if clean:
            clean = not self._new_culprits(keys, self._all_culprits(tree, closed, start, end), start, end)
        view.closed_verdict = (middle, clean)
        return clean

    def _closed_baseline(self, view: _View) -> tuple[frozenset[tuple[str, int, int]], int]:
        """The view's baseline culprits and error count with its open brackets closed at the end."""
        if view.closed is None:
            text = self._prefix + view.suffix
            closed = text + self._closers(view.base_tree, text)
            tree = parse(self.language, closed)
            cut = len(self._prefix)
            keys = frozenset((c.kind, c.start, c.end) for c in self._all_culprits(tree, closed, cut, cut))
            view.closed = keys, error_node_count(tree.root_node)
        return view.closed

    def _all_culprits(self, tree: Tree, text: bytes, start: int, end: int) -> list[Culprit]:
        """Every culprit of the rendered text, and the empty blocks near a middle at [start, end)."""
        culprits = error_culprits(tree.root_node, text, 0, len(text), None)
        return culprits + self._empty_blocks(tree, start, end, None)

    def _closers(self, tree: Tree, text: bytes) -> bytes:
        """A line closing the brackets `text` leaves open, innermost first."""
        tokens = brackets.bracket_tokens(self.language, tree.root_node, 0, len(text), "prefix")
        _, still_open = brackets.unbalanced(tokens)
        return encode("\n" + "".join(brackets.PAIRS[b.kind] for b in reversed(still_open)))

    # --- one draft ------------------------------------------------------------------------

    def _timed_ranges(self, middle: str, complete: bool) -> tuple[list[tuple[int, int]], int]:
        """(invalid ranges of `middle`, drafts parsed for them: 0 when remembered), timed."""
        if not self._ready():
            return [], 0
        started = self._clock()
        try:
            if not complete and self._cursor_in_literal():
                return self._closes_literal(middle), 1
            view = self._complete_view(middle) if complete else self._view(False)
            parsed = middle not in view.memo
            if parsed:
                view.memo.clear()  # the sampler moves on; keep only the latest draft
                view.memo[middle] = self._compute_ranges(view, middle, complete)
            return list(view.memo[middle]), int(parsed)
        except Exception:  # a constraint must never break a completion: fail open
            log.exception("syntax constraint failed (%s); draft not checked", self.language)
            return [], 0
        finally:
            self._spent += self._clock() - started

    def _compute_ranges(self, view: _View, middle: str, complete: bool) -> list[tuple[int, int]]:
        raw = encode(middle) if complete else self._settled(encode(middle))
        tree, text = self._reparse(view, raw)
        start, end = len(self._prefix), len(self._prefix) + len(raw)
        draft_end = None if complete else last_code_end(tree.root_node)
        # Only culprits that touch the middle can be blamed on it, and all of them lie inside
        # the smallest node that spans it with a byte to spare on each side (zero-width ones on
        # its edges included), so the walks start there instead of at the root.
        anchor = _anchor(tree, start - 1, end + 1)
        culprits = error_culprits(anchor, text, start, end, draft_end)
        culprits += self._empty_blocks(tree, start, end, draft_end)
        new = self._new_culprits(view.base_keys, culprits, start, end)
        if new and complete and self._clean_when_closed(view, raw, tree, text):
            new = []
        spans = [self._blame(c, start, end) for c in new]
        spans += self._bracket_ranges(view, tree, text, start, end)
        spans += self._call_ranges(anchor, text, start, end)
        chars = _to_chars(spans, start, end, middle)
        return chars + self._closes_literal(middle) if complete and self._cursor_in_literal() else chars

    def _closes_literal(self, middle: str) -> list[tuple[int, int]]:
        """The closing delimiter in `middle` of the string or block comment the cursor is in, when
        closing it there adds errors: the rest of the literal, in the suffix, then reads as code.
        Those errors lie past the middle, where no other check blames them on it."""
        view = self._view(True)
        raw = encode(middle)
        tree, _ = self._reparse(view, raw)
        start, end = len(self._prefix), len(self._prefix) + len(raw)
        literal = _literal_around(tree, start, self._prefix)
        if literal is None or literal.end_byte > end or error_node_count(tree.root_node) <= view.base_errors:
            return []
        # A string ends in a delimiter token; a block comment is one token that ends in `*/`.
        closing = literal.children[-1].start_byte if literal.child_count else literal.end_byte - 2
        span = (max(closing, start) - start, literal.end_byte - start)
        return _to_chars([span], start, end, middle)

    def _settled(self, draft: bytes) -> bytes:
        """The part of an unfinished draft that later tokens cannot change the meaning of.

        A word at the very end may be a prefix of a longer one (`x for x i` becomes `... in`),
        and a comment or string the draft opens and has not closed turns what follows into its
        text, so these are left out of the check until the draft moves past them.
        """
        if self.language in BLOCK_COMMENTS and draft.rfind(b"/*") > draft.rfind(b"*/"):
            draft = draft[: draft.rfind(b"/*")]
        for triple in (b'"""', b"'''"):
            if draft.count(triple) % 2:
                draft = draft[: draft.rfind(triple)]
        line_start = draft.rfind(b"\n") + 1
        opened = _open_quote(draft, line_start)
        if opened is not None:
            draft = draft[:opened]
        return draft.rstrip(_WORD_BYTES)

    def _empty_blocks(self, tree: Tree, start: int, end: int, draft_end: int | None) -> list[Culprit]:
        """Python block headers left without a body near the middle.

        A middle can empty the block of a header shortly before it (`if x:` + newline in the
        prefix, then a dedented middle), so the search reaches a little before the middle;
        such a culprit is blamed on the middle's first character.
        """
        if self.language != "python":
            return []
        lo, hi = start - _HEADER_REACH, end + 1
        blocks = empty_blocks(_anchor(tree, lo, hi), lo, hi)
        return [b for b in blocks if draft_end is None or b.start < draft_end]

    @staticmethod
    def _new_culprits(
        base_keys: frozenset[tuple[str, int, int]], culprits: list[Culprit], start: int, end: int
    ) -> list[Culprit]:
        """Culprits of the rendered text that the baseline (`base_keys`) does not have (see module
        docstring)."""
        shift = end - start
        fresh = []
        for c in culprits:
            if (c.start < end and c.end > start) or start < c.start < end:
                fresh.append(c)  # made of, or sits inside, the middle's bytes
                continue
            begin = c.start if c.start <= start else max(c.start - shift, start)
            stop = c.end if c.end <= start else max(c.end - shift, start)
            if (c.kind, begin, stop) not in base_keys:
                fresh.append(c)
        return fresh

    @staticmethod
    def _blame(culprit: Culprit, start: int, end: int) -> tuple[int, int]:
        """Byte range of the middle (relative to it) to veto for one new culprit."""
        if culprit.start == culprit.end:
            # Something is missing at this point: blame the character before it, the last
            # one that could have been different.
            at = min(max(culprit.start, start), end) - start
            return (at - 1, at) if at > 0 else (0, 1)
        return max(culprit.start, start) - start, min(culprit.end, end) - start

    def _bracket_ranges(
        self, view: _View, tree: Tree, text: bytes, start: int, end: int
    ) -> list[tuple[int, int]]:
        if not brackets.BRACKET_BYTES.search(text, start, end):
            return []  # only the middle's own brackets are ever blamed
        middle = brackets.bracket_tokens(self.language, tree.root_node, start, end, "middle")
        blamed = brackets.blamed_brackets(
            view.prefix_open,
            middle,
            view.suffix_close,
            prefix_whole=view.prefix_whole,
            suffix_whole=view.suffix_whole,
        )
        if not blamed and view.suffix_close:
            blamed = brackets.misaligned(view.prefix_open, middle, view.suffix_close, view.indent)
        return [(b.start - start, b.end - start) for b in blamed]

    def _call_ranges(self, node: Node, text: bytes, start: int, end: int) -> list[tuple[int, int]]:
        return self._calls.ranges(node, text, start, end) if self._calls else []

    # --- parsing --------------------------------------------------------------------------

    def _view(self, complete: bool) -> _View:
        view = self._views.get(complete)
        if view is None:
            view = self._views[complete] = self._make_view(self._suffix if complete else b"")
        return view

    def _complete_view(self, middle: str) -> _View:
        """The view a finished draft is checked in.

        A middle that opens a string whose text runs on past the window leaves that string open to
        the window's end, and even the right answer was refused: the first line of a long Python
        docstring (`    \"\"\"Serialize ``obj`` ...`), a Go command's raw-string `Long` field above its help
        text. Its quote is then closed after the window for the parse, but only where the window's
        suffix does not parse as code without the middle (it is the string's prose) and the file
        goes on past the window: a quote opened before code, or one the file never closes, stays
        an error.
        """
        quote = self._opened_quote(middle)
        if quote is None:
            return self._view(True)
        view = self._views.get(quote)
        if view is None:
            closing = "\n" + quote + self._open_brackets_closed()
            view = self._views[quote] = self._make_view(self._suffix + encode(closing))
        return view

    def _open_brackets_closed(self) -> str:
        """Closers, on a line after the window, of the brackets the prefix leaves open, where the
        window's end is cut inside them: the suffix is then a string's prose and closes none, and
        the struct a Go command's help text sits in would make an error the middle is blamed for.
        Python windows get theirs from `_outer_brackets`."""
        if self.language == "python" or self._window.whole_end:
            return ""
        closers = "".join(brackets.PAIRS[b.kind] for b in reversed(self._view(True).prefix_open))
        return "\n" + closers if closers else ""

    def _opened_quote(self, middle: str) -> str | None:
        """The multi-line string delimiter (MULTILINE_QUOTES) `middle` leaves open to the window's
        end, when the text it opens goes on below it as prose (`_prose_start`) that does not parse
        as code without the middle. In Python the middle must open a docstring."""
        quotes = MULTILINE_QUOTES.get(self.language, ())
        if not quotes or not self._suffix_goes_on:
            return None  # the common case, decided before the middle is scanned
        quote = next((q for q in quotes if middle.count(q) % 2), None)
        if quote is None:
            return None
        if self.language == "python" and not middle.lstrip().startswith(quote):
            return None
        others = [encode(q) for q in quotes if q != quote]
        if self._suffix.count(encode(quote)) % 2 or any(q in self._suffix for q in others):
            return None  # the string closes in the window, or the text may be another string's
        line = self._prose_start()
        if line < 0:
            return None
        # Not code: the baseline has an error on that line, or reads it inside an ERROR node (a Go
        # parse puts the error on the struct literal above the prose, and makes the prose its child).
        base = self._view(True)
        end = self._suffix.find(b"\n", line - len(self._prefix))
        stop = len(self._prefix) + (end if end >= 0 else len(self._suffix))
        if any(line <= start < stop for _, start, _ in base.base_keys) or _in_error(base.base_tree, line):
            return quote
        return None

    def _prose_start(self) -> int:
        """Byte where the prose of a string opened by the middle would go on (-1: none): below a
        Python docstring's place (`docstring_place`), elsewhere the suffix's first line with text."""
        if self._prose_line is None:
            cut = self._window
            if self.language == "python":
                at = docstring_place(cut.prefix, cut.suffix, self._file_start)
            else:
                at = prose_line(cut.suffix, below_cursor=False, braces=True)
            self._prose_line = -1 if at is None else len(self._prefix) + len(encode(cut.suffix[:at]))
        return self._prose_line

    def _cursor_in_literal(self) -> bool:
        """True when the cursor is inside a string or comment.

        A draft is rendered without the suffix, so without the text that closes the literal,
        and everything after the cursor reads as code: such drafts are only checked for closing
        the literal early (`_closes_literal`; complete ones are checked in full). Inside means:
        inside a string or comment node of the baseline parse, or after a string or block comment
        that the prefix opens and never closes (the middle is expected to close it).
        """
        if self._in_literal is None:
            cursor = len(self._prefix)
            comment_open = self._prefix.rfind(b"/*") > self._prefix.rfind(b"*/")
            self._in_literal = (
                _in_literal_node(self._view(True).base_tree, cursor)
                or (self.language in BLOCK_COMMENTS and comment_open)
                or ends_in_open_string(self._view(False).base_tree.root_node, self._prefix)
            )
        return self._in_literal

    def _outer_brackets(self) -> tuple[str, str]:
        """Text put before and after the window for the parse: the openers of brackets that the
        window closes but that open above it, and the closers of those it leaves open at a cut
        end, each on a line of its own ("" when none is needed).

        A window cut inside a long dict, list or call (a client's bounded context, a 300-line
        table) parses as an error on every line: tree-sitter's recovery makes each parse 5-10
        times slower, and right drafts are blamed for errors that are not theirs. The brackets
        are read from the window without the cursor's line, whose brackets are the middle's
        business, and whose half-typed text would make an error that can swallow the whole
        window in the comparison: the additions are kept only where they leave the window
        with fewer errors (or as many, over fewer bytes). They are looked for only where the
        window's parse has errors over _SPREAD_ERROR_BYTES, so ordinary windows pay nothing.
        Python only: there brackets hold only expressions, so these lines parse; a `{` cut from
        a Go or Rust function body does not, and the references refused there rose (5 -> 12 of
        200 Go lines).
        """
        cut = self._window
        if cut.closer:  # the window ends inside a literal: its last line is no place for closers
            return "", ""
        rest = cut.suffix.find("\n")
        after_line = cut.suffix[rest + 1 :] if rest >= 0 else ""
        text = encode(cut.prefix[: cut.prefix.rfind("\n") + 1] + after_line)
        tree = parse(self.language, text)
        tokens = brackets.bracket_tokens(self.language, tree.root_node, 0, len(text), "prefix")
        openers, still_open = brackets.unbalanced(tokens)
        closers = "".join(brackets.PAIRS[b.kind] for b in reversed(still_open))
        before = openers + "\n" if openers and not cut.whole_start else ""
        after = "\n" + closers if closers and not cut.whole_end else ""
        best, least = ("", ""), error_extent(tree.root_node)
        for head, tail in dict.fromkeys([(before, after), (before, ""), ("", after)]):
            if head or tail:
                errors = error_extent(parse(self.language, encode(head) + text + encode(tail)).root_node)
                if errors < least:
                    best, least = (head, tail), errors
        return best

    def _make_view(self, suffix: bytes) -> _View:
        text = self._prefix + suffix
        tree = self._parsed.pop(text, None) or parse(self.language, text)
        cut = len(self._prefix)
        first_line_end, last_line_start = text.find(b"\n"), text.rstrip().rfind(b"\n")
        # Empty blocks are looked for near the cursor only, as for drafts.
        culprits = self._all_culprits(tree, text, cut, cut)
        tokens = brackets.bracket_tokens(self.language, tree.root_node, 0, len(text), "prefix")
        prefix_open = brackets.reduce_prefix([t for t in tokens if t.start < cut])
        after = [brackets.Bracket(t.start, t.end, t.kind, "suffix") for t in tokens if t.start >= cut]
        return _View(
            suffix=suffix,
            base_tree=tree,
            base_keys=frozenset((c.kind, c.start, c.end) for c in culprits),
            base_errors=error_node_count(tree.root_node),
            prefix_open=prefix_open,
            suffix_close=brackets.reduce_suffix(after) if suffix and not _splits_token(tree, cut) else None,
            # A cut line the parser cannot start or end with (a statement at column 0 inside
            # a function) is no top-level boundary after all.
            prefix_whole=self._window.whole_start and not any(c.start <= first_line_end for c in culprits),
            suffix_whole=self._window.whole_end and not any(c.end >= last_line_start for c in culprits),
            indent=_line_indent(text),
        )

    def _reparse(self, view: _View, middle: bytes, fresh: bool = False) -> tuple[Tree, bytes]:
        """Tree of prefix + middle + view.suffix, edited from the previous draft's tree (the step
        checks), or parsed from scratch (`fresh`, the final check)."""
        text = self._prefix + middle + view.suffix
        if view.draft_tree is not None and view.draft == middle and (view.draft_fresh or not fresh):
            return view.draft_tree, text
        if fresh:
            view.draft_tree, view.draft, view.draft_fresh = parse(self.language, text), middle, True
            return view.draft_tree, text
        old = view.draft_tree if view.draft_tree is not None else view.base_tree.copy()
        old_middle = view.draft if view.draft_tree is not None else b""
        lead = _common_prefix(old_middle, middle)
        trail = _common_prefix(old_middle[lead:][::-1], middle[lead:][::-1])
        base = len(self._prefix)
        old.edit(
            start_byte=base + lead,
            old_end_byte=base + len(old_middle) - trail,
            new_end_byte=base + len(middle) - trail,
            start_point=self._point(middle, lead),
            old_end_point=self._point(old_middle, len(old_middle) - trail),
            new_end_point=self._point(middle, len(middle) - trail),
        )
        view.draft_tree, view.draft, view.draft_fresh = parse(self.language, text, old), middle, False
        return view.draft_tree, text

    def _point(self, middle: bytes, offset: int) -> Point:
        """(row, byte column) of byte `offset` of `middle` in the rendered text."""
        newline = middle.rfind(b"\n", 0, offset)
        row = self._prefix_rows + middle.count(b"\n", 0, offset)
        column = offset - newline - 1 if newline >= 0 else self._prefix_column + offset
        return Point(row, column)


def _closers_due(
    prefix: bytes, suffix: bytes, openers: list[brackets.Bracket], suffix_cut: bool
) -> str | None:
    """The text that closes, on the blank cursor line, the brackets opened on the line of the
    innermost bracket still open (`openers`, outermost first), at that line's indentation, where
    the next line of code is shallower than it, or as deep without starting with the closer (the
    end of the file counts as a line at column 0; a window cut before it as no line). Where the
    cursor's indentation is not a start of the opener's (an editor indented the new line as the
    block's body), the closers alone: a span cannot remove what is typed, and the language server's
    edit puts them at the opener's indentation. None where the cursor's line has text, or nothing
    is due."""
    line_start = prefix.rfind(b"\n") + 1
    typed, lines = prefix[line_start:], suffix.split(b"\n")
    if typed.strip() or lines[0].strip() or not openers or openers[-1].kind not in ("(", "[", "{"):
        return None
    opener_line = prefix.rfind(b"\n", 0, openers[-1].start) + 1
    indent = prefix[opener_line : opener_line + indent_width(prefix[opener_line:])]
    closers = "".join(brackets.PAIRS[b.kind] for b in reversed(openers) if b.start >= opener_line)
    below = next((line for line in lines[1:] if line.strip()), None)
    if below is None and suffix_cut:
        return None
    below = below or b""
    depth = indent_width(below)
    due = depth < len(indent) or (depth == len(indent) and not below.lstrip().startswith(closers[0].encode()))
    if not due:
        return None
    return decode(indent[len(typed) :]) + closers if indent.startswith(typed) else closers


def _line_indent(text: bytes) -> Callable[[brackets.Bracket], int | None]:
    """A bracket's line's indentation in `text` (a view's, in which its prefix and suffix brackets
    are offsets); for a closer, None where it does not start its line."""

    def indent(bracket: brackets.Bracket) -> int | None:
        line_start = text.rfind(b"\n", 0, bracket.start) + 1
        if bracket.kind in brackets.PAIRS:
            return indent_width(text[line_start : bracket.start])
        return bracket.start - line_start if not text[line_start : bracket.start].strip() else None

    return indent


def _ends_with_exit(prefix: str, exits: re.Pattern[str]) -> bool:
    """True when the cursor's line is blank so far and the line of code above it is a whole
    statement (its brackets balanced, nothing left to continue it) that `exits` matches."""
    head, _, typed = prefix.rpartition("\n")
    if typed.strip():
        return False
    above = next((line.strip() for line in reversed(head[-2000:].split("\n")) if line.strip()), "")
    opened = sum(above.count(b) for b in "([{") - sum(above.count(b) for b in ")]}")
    return bool(exits.match(above)) and opened == 0 and not above.endswith(_GOES_ON)


def _in_comment(tree: Tree, start: int, end: int) -> bool:
    """True when bytes [start, end) lie in one comment node (a doc comment's parts included)."""
    node = tree.root_node.descendant_for_byte_range(start, start + 1)
    while node is not None and "comment" not in node.type:
        node = node.parent
    while node is not None and node.parent is not None and "comment" in node.parent.type:
        node = node.parent
    return node is not None and node.start_byte <= start and node.end_byte >= end


def _changes_depth(middle: bytes) -> bool:
    """True when `middle` ends in an opening bracket and has more of them than closing ones (a line
    that opens a block, an argument or a parameter list that goes on below it), or has more closing
    brackets than opening ones (a block's `}`): a cheap filter before a parse; a bracket in a
    string counts too."""
    opens = sum(middle.count(b) for b in (b"(", b"[", b"{"))
    closes = sum(middle.count(b) for b in (b")", b"]", b"}"))
    return closes > opens or (opens > closes and middle.rstrip().endswith((b"(", b"[", b"{")))


def _open_quote(text: bytes, start: int) -> int | None:
    """Offset of a quote opened on the line from `start` and not closed by the end, if any."""
    quote, opened, i = 0, None, start
    while i < len(text):
        byte = text[i]
        if quote and byte == 0x5C:  # a backslash escapes the next byte
            i += 1
        elif quote and byte == quote:
            quote, opened = 0, None
        elif not quote and byte in b"\"'`":
            quote, opened = byte, i
        i += 1
    return opened


def _enclosing(tree: Tree, cursor: int, wanted: Callable[[Node], bool]) -> Node | None:
    """The innermost node of `tree` that strictly contains byte `cursor` and is `wanted`."""
    node: Node | None = tree.root_node.descendant_for_byte_range(cursor, cursor)
    while node is not None:
        if node.start_byte < cursor < node.end_byte and wanted(node):
            return node
        node = node.parent
    return None


def _in_error(tree: Tree, at: int) -> bool:
    """True when an ERROR node of `tree` contains byte `at`."""
    node: Node | None = tree.root_node.descendant_for_byte_range(at, at)
    while node is not None and node.type != "ERROR":
        node = node.parent
    return node is not None


def _in_literal_node(tree: Tree, cursor: int) -> bool:
    """True when a string or comment node of `tree` strictly contains byte `cursor`."""
    return _enclosing(tree, cursor, lambda n: "string" in n.type or "comment" in n.type) is not None


_STRING_PARTS = ("_content", "_fragment", "_start", "_end")  # a string's tokens, not the string


def _literal_around(tree: Tree, cursor: int, prefix: bytes) -> Node | None:
    """The innermost string or block comment of `tree` that starts in `prefix` and holds byte
    `cursor` (line comments end at a newline, which a middle may well write)."""

    def wanted(node: Node) -> bool:
        string = "string" in node.type and not node.type.endswith(_STRING_PARTS)
        return string or ("comment" in node.type and prefix.startswith(b"/*", node.start_byte))

    return _enclosing(tree, cursor, wanted)


def _splits_token(tree: Tree, cursor: int) -> bool:
    """True when the cursor falls inside a token of the baseline (`"Sev|en"`, `ret|urn`).

    The suffix is then lexed differently without the middle (a string opened in the prefix runs
    on into the suffix), so the baseline's suffix brackets are not the ones the completed file
    will have, and only the middle's own stray closers are checked.
    """
    node = tree.root_node.descendant_for_byte_range(cursor, cursor)
    return node is not None and node.child_count == 0 and node.start_byte < cursor < node.end_byte


def _anchor(tree: Tree, lo: int, hi: int) -> Node:
    """The smallest node spanning bytes [lo, hi], clipped to the text."""
    root = tree.root_node
    lo, hi = max(lo, 0), min(hi, root.end_byte)
    return root.descendant_for_byte_range(lo, max(lo, hi)) or root


def _common_prefix(a: bytes, b: bytes) -> int:
    """Length of the common prefix of two byte strings (binary search: slices compare in C)."""
    lo, hi = 0, min(len(a), len(b))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _to_chars(spans: list[tuple[int, int]], start: int, end: int, middle: str) -> list[tuple[int, int]]:
    """Merge byte ranges of the middle and convert them to character ranges of `middle`."""
    size = end - start
    clipped = sorted((max(a, 0), min(b, size)) for a, b in spans if min(b, size) > max(a, 0))
    merged: list[list[int]] = []
    for a, b in clipped:
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    chars = CharMap(middle)
    return [(chars.char(a), chars.char_end(b)) for a, b in merged]


def constraint_for(request: CompletionRequest) -> SpanConstraint | None:
    """The sampler's factory: a constraint for this request, or None when there is none to apply."""
    if not request.constrained:
        return None
    language = language_for(request.language, None)
    if language is None:
        return None
    return SyntaxConstraint(
        language, request.prefix, request.suffix, prefix_cut=request.prefix_cut, suffix_cut=request.suffix_cut
    )
