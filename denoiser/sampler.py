"""Samplers: block-diffusion infilling with a confidence threshold, and the greedy AR baseline.

Block diffusion (BD3-LM, arXiv 2503.09573, `_semi_ar_sampler`): the middle is generated block after
block; each block is a canvas of L masks denoised in parallel steps against the exact K/V cache of the
clean stream. Each step commits every proposal whose probability is at least tau, and always at least
one (Fast-dLLM's threshold rule, arXiv 2505.22618; where none reaches tau, the most confident, or
without a constraint the leftmost near it, NEAR_TIE): easy spans finish in one or two steps, hard ones
take more. A finished block joins the clean stream in the same forward pass as the next block's first
step, so one denoising step is exactly one forward pass.

A `SpanConstraint` may veto proposals (syntax/ plugs tree-sitter in here): a vetoed token is banned at
its position, and the position's next-best tokens are checked within the same step before any waits
for the next forward pass. A step whose proposals were all vetoed commits nothing and leaves the canvas
as it was, so the next round takes the next-best proposals from the same logits: vetoes cost parses,
not forward passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field

import numpy as np
import torch

from .api import SpanConstraint
from .model import KVCache, Stepper
from .scope import IndentScope
from .tokenizer import CodeTokenizer

NEG_INF = float("-inf")
REPAIR_ROUNDS = 3  # next-best tokens tried in one step at positions the constraint rejects
# Proposals banned at a block's first open position before the span ends there: by then the model's
# likely tokens are spent, and the steps up to the block's step bound rarely find a valid one (A/B in
# BENCHMARKS section 6: the same exact match and pass@1; 6 instead of 8 turned answers that were
# mostly junk into empty ones and cut the added time on Rust lines from +18% to +13%, medians).
STUCK_BANS = 6
# The same for a single line, sooner: a line stuck at one position after 4 bans only ever became
# whitespace, a few characters of junk or nothing (A/B in BENCHMARKS section 6: exact match, pass@1
# and parseable shares unchanged, the added time on Rust lines +15.6% -> +9.8%). Multi-line spans
# keep 6: with 4 they ended empty more often (Python 12% -> 22.5%) and lost edit similarity.
STUCK_BANS_LINE = 4
# Vetoes a single line may take in all before it ends at its settled start, wherever they fall: no
# exact answer of 1,100 held-out and HumanEval-X lines came after more than 8, and ending the lines
# that reach 16 cut the constraint's added time by a quarter (Python, Go) to a half (Rust) (A/B in
# BENCHMARKS section 6: exact match and pass@1 unchanged; on two threads Python +16% -> +12%).
VETO_BUDGET_LINE = 16
# Times a single-line span may blame a broken draft on the end the model guessed for it rather than
# on the text before it (`_line_culprit`): each costs a step, and a model that keeps ending too early
# would write on past a line it cannot finish (A/B in BENCHMARKS section 6).
END_BANS = 2
# A step whose proposals all fall short of tau commits one: without a constraint, the leftmost whose
# probability is at least NEAR_TIE times the best one's. The single most confident proposal is often a
# right-hand anchor (a closing bracket, a colon, the line's end) that then fixes the span's length
# before its text; near ties go leftwards, so the text settles in reading order, which the AR weights
# coder-mini was adapted from learnt. A/B against the most confident (BENCHMARKS section 2): parseable
# unconstrained answers up on every set (3,000 held-out lines 80.5% -> 82.1%, SAFIM control 64.4% ->
# 74.7%), HumanEval-X pass@1 4.2% -> 5.2%, up to 8% fewer forward passes, exact match unchanged;
# factors 0.25 to 0.75 scored alike. Under a constraint the step keeps the most confident: leftward
# commits put the vetoes at the frontier, where they end spans, and constrained answers came out
# empty more often (held-out Python multi-line 27.8% -> 36.6%, edit similarity 16.1% -> 14.2%;
# HumanEval-X lines 38.2% -> 42.6%), parseable and exact ones within a few tasks (section 6). A
# proposal that ends the span (<eom>; a newline, on one line) is committed only as the most
# confident: as a near tie at the frontier it ended HumanEval-X JavaScript `}` lines empty
# (coder-mini-multi pass@1 9.7% -> 6.2%, back to 10.0% with this exception; section 2).
NEAR_TIE = 0.5
# Lines of content (a block header and the first line of its body) within which the fallback of a
# refused multi-line span cuts at any token; past them it cuts at line ends only (longest_accepted).
FALLBACK_TOKEN_LINES = 2


@dataclass(kw_only=True)
class SpanSettings:
    tau: float = 0.9
    max_tokens: int = 64
    multiline: bool = False
    extra_steps: int = 16  # bound on rounds beyond L per block (vetoes can add rounds)
    # the cursor's block: multi-line spans end where they leave it; every span's tabs are held to it
    scope: IndentScope | None = None
    deadline: float | None = None  # time.perf_counter(): past it a multi-line span ends at a line end


@dataclass
class SpanOutcome:
    ids: list[int]
    text: str
    stop_reason: str
    steps: int = 0
    vetoed: int = 0
    cache: KVCache | None = None  # cache of the clean stream after its first `context` tokens
    step_commits: list[int] = field(default_factory=list)  # tokens committed per step (tests, benchmarks)
    end_bans: int = 0  # drafts blamed on their guessed end (`_line_culprit`)
    unchecked: bool = False  # the constraint has stopped checking drafts (`invalid_ranges` gave None)
    cut: int | None = None  # characters of the decoded span kept when a scope ends it mid-token


class _Canvas:
    """One block being denoised: committed tokens, bans from vetoes, and the end it has reached."""

    def __init__(self, length: int, mask_id: int, budget: int):
        self.budget = min(length, budget)  # positions the span's token budget can still use
        self.tokens = [mask_id] * length
        self.committed = [False] * length
        self.banned: dict[int, set[int]] = {}

    def settled(self) -> int:
        """Length of the committed start of the block (nothing open before it)."""
        return next((i for i, c in enumerate(self.committed) if not c), len(self.committed))

    def open_positions(self, horizon: int | None = None) -> list[int]:
        stop = len(self.tokens) if horizon is None else horizon
        return [i for i, c in enumerate(self.committed[:stop]) if not c]


@dataclass
class _Scores:
    """One step's logits of its rows (banned tokens at -inf) and each row's log normaliser."""

    logits: np.ndarray  # (R, V)
    log_norm: np.ndarray  # (R,)
    row_of: dict[int, int]  # canvas position -> row

    def next_best(self, pos: int, token: int) -> tuple[int, float]:
        """The best proposal at `pos` once `token` is ruled out, and its probability."""
        r = self.row_of[pos]
        self.logits[r, token] = NEG_INF
        best = int(self.logits[r].argmax())
        return best, float(np.exp(self.logits[r, best] - self.log_norm[r]))


class BlockDiffusionSampler:
    def __init__(self, model: Stepper, tok: CodeTokenizer):
        self.model, self.tok = model, tok
        self.L = model.cfg.block_length
        forbidden = [tok.pad_id, tok.mask_id, tok.suf_id, tok.pre_id, tok.mid_id]
        self._forbidden = np.array(forbidden)
        self._newline = [("\n" in p) for p in tok.pieces]
        self._tabs = [bool(p) and not p.strip("\t") for p in tok.pieces]  # pieces of tabs only
        self._exps = np.empty((0, 0), dtype=np.float32)  # `_proposals`' buffer: one fill at a time

    @torch.inference_mode()
    def fill(
        self,
        pending: list[int],
        cache: KVCache | None,
        settings: SpanSettings,
        constraint: SpanConstraint | None = None,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> SpanOutcome:
        """Fill the middle after the clean stream (`cache` followed by the `pending` context tokens).
        Below a statement that leaves its block, the block's closer needs no model (`after_exit`)."""
        if constraint is not None and constraint.after_exit() and (closing := constraint.closing_line()):
            return SpanOutcome(self.tok.encode(closing), closing, "closer")
        out = SpanOutcome([], "", "budget")
        context_len = (cache.length if cache is not None else 0) + len(pending)
        while len(out.ids) < settings.max_tokens:
            canvas = _Canvas(self.L, self.tok.mask_id, settings.max_tokens - len(out.ids))
            end, cache = self._denoise_block(canvas, pending, cache, out, settings, constraint, cancelled)
            if out.cache is None and cache is not None:
                out.cache = cache.truncated(context_len)
            if out.stop_reason == "cancelled":
                return out
            block = canvas.tokens if end is None else canvas.tokens[: end[0]]
            out.ids.extend(block[: settings.max_tokens - len(out.ids)])
            if end is not None and end[1] in ("scope", "time", "unchecked"):
                out.ids, out.stop_reason = covering(self.tok, out.ids, out.cut), end[1]
                break
            if end is not None:
                out.stop_reason = end[1]
                break
            pending = block
        cut_loop(self.tok, out, settings.multiline)
        out.text = self._finish_text(out, settings)
        if constraint is not None:
            self._final_check(out, settings, constraint)
        return out

    def _final_check(self, out: SpanOutcome, settings: SpanSettings, constraint: SpanConstraint) -> None:
        """A span that adds a syntax error is cut to its longest accepted start. A multi-line span
        left with comments only after vetoes has no text: the model wrote code, the checks refused
        it, and what passed was its drift into comments (`# If the entry of the entry.`; on 500
        held-out Python spans 80 constrained answers were comments only, 5 unconstrained, and no
        reference; BENCHMARKS section 6). A span without text answers the constraint's closing
        line, if any."""
        if out.text and not constraint.accepts(out.text):
            out.ids, out.text = longest_accepted(self.tok, out.ids, constraint, settings.multiline)
            out.stop_reason = "constraint"
        if settings.multiline and out.vetoed and constraint.comments_only(out.text):
            out.ids, out.text, out.stop_reason = [], "", "comments"
        if not out.text.strip() and (closing := constraint.closing_line()):
            out.ids, out.text, out.stop_reason = self.tok.encode(closing), closing, "closer"

    def _denoise_block(self, canvas, pending, cache, out, settings, constraint, cancelled):
        """Run steps until the block is full or ends; returns ((end_index, reason) | None, cache).

        A step that commits nothing (every proposal it could commit was vetoed) leaves the canvas as
        it was, so the next round reuses its logits, with the new bans, instead of running the same
        forward pass again; the rounds, not the forward passes, count toward the step bound.
        """
        logits = None
        for _ in range(self.L + settings.extra_steps):
            if cancelled():
                out.stop_reason = "cancelled"
                return None, cache
            rows = self._rows(canvas, settings.multiline)
            if logits is None:
                logits, cache = self.model.step_logits(cache, pending, canvas.tokens, rows)
                pending = []
                out.steps += 1
                out.step_commits.append(0)
            scores, conf, top = self._proposals(logits, canvas, rows)
            self._ban_deep_tabs(canvas, scores, conf, top, out, settings)
            vetoed = self._vetoes(canvas, scores, conf, top, out, constraint, settings)
            committed = self._commit(canvas, conf, top, vetoed, settings, leftward=constraint is None)
            out.step_commits[-1] += committed
            if committed:
                logits = None
            end = (
                self._span_end(canvas, settings.multiline)
                or self._loop_end(canvas, out.ids)
                or self._text_end(canvas, out, settings)
                or self._stuck_end(canvas, out, settings.multiline)
            )
            if end is not None or all(canvas.committed[: canvas.budget]):
                return end, cache
        return self._force_finish(canvas, conf, top, settings.multiline), cache

    def _rows(self, canvas: _Canvas, multiline: bool) -> list[int]:
        """Canvas positions whose proposals matter: the open ones before the answer's end (never none:
        a block whose positions before its end are all committed has ended at the step before)."""
        return canvas.open_positions(self._horizon(canvas, multiline))

    def _proposals(self, logits: torch.Tensor, canvas: _Canvas, rows: list[int]):
        """The rows' scores (`_Scores`, for second choices), and the top proposal and its probability
        at every position (lists of L): <eom> with probability 0 where no logits were computed.

        NumPy on the logits in place, with a buffer kept for the exponentials: torch's softmax and
        the tensors it allocated cost about 0.3 ms a step here, beside 1.6-2.2 ms for the forward pass.
        """
        scores = logits.numpy()  # (R, V) CPU float32, written in place
        scores[:, self._forbidden] = NEG_INF
        row_of = {pos: r for r, pos in enumerate(rows)}
        for pos, tokens in canvas.banned.items():
            if pos in row_of:
                scores[row_of[pos], list(tokens)] = NEG_INF
        best = scores.argmax(axis=-1)
        peak = scores[np.arange(len(rows)), best]
        if self._exps.shape[1] != scores.shape[1] or self._exps.shape[0] < len(rows):
            self._exps = np.empty((max(self.L, len(rows)), scores.shape[1]), dtype=np.float32)
        exps = self._exps[: len(rows)]
        np.subtract(scores, peak[:, None], out=exps)
        total = np.exp(exps, out=exps).sum(axis=-1)
        top, conf = [self.tok.eom_id] * self.L, [0.0] * self.L
        for pos, token, p in zip(rows, best.tolist(), (1.0 / total).tolist(), strict=True):
            top[pos], conf[pos] = token, p
        return _Scores(scores, peak + np.log(total), row_of), conf, top

    def _ban_deep_tabs(self, canvas, scores, conf, top, out, settings: SpanSettings) -> None:
        """Ban, like a vetoed token, a tab proposed past one more than the line above's leading tabs,
        and propose the position's next best. The tokenizer has one token per tab, and the canvas
        proposes a tab at every position of a line's indentation at once: six in a row were cut as
        a loop, and the span ended before its first line had text (BENCHMARKS section 6)."""
        if settings.scope is None:
            return
        for _ in range(REPAIR_ROUNDS):
            pos = self._deep_tab(canvas, top, out, settings.scope)
            if pos is None:
                return
            canvas.banned.setdefault(pos, set()).add(int(top[pos]))
            top[pos], conf[pos] = scores.next_best(pos, top[pos])

    def _deep_tab(self, canvas, top, out, scope: IndentScope) -> int | None:
        """The first open position whose tab proposal indents its line deeper than gofmt would."""
        open_tabs = (self._tabs[int(top[i])] for i in range(canvas.budget) if not canvas.committed[i])
        if not any(open_tabs):  # most steps: nothing to walk the lines for
            return None
        lines = _TabDepth(scope)
        for t in out.ids:
            lines.read(self.tok.pieces[t])
        for i in range(canvas.budget):
            token = canvas.tokens[i] if canvas.committed[i] else int(top[i])
            if token == self.tok.eom_id:
                return None
            piece = self.tok.pieces[token]
            if not canvas.committed[i] and self._tabs[token] and lines.too_deep(len(piece)):
                return i
            lines.read(piece)
        return None

    def _vetoes(self, canvas, scores, conf, top, out, constraint, settings) -> set[int]:
        """Open positions whose proposal lies in a syntax error that the draft introduces.

        A rejected proposal is banned at its position and the position's next-best token is tried
        within the same step (a parse costs a fraction of a forward pass), as long as a rejected
        position is one this step would commit; positions still rejected after REPAIR_ROUNDS, and
        those too unsure to be committed now, wait for the next step.
        """
        if constraint is None:
            return set()
        attempt = 0
        while True:
            rejected = self._rejected(canvas, top, out, constraint, settings)
            out.vetoed += len(rejected)
            for i in rejected:
                canvas.banned.setdefault(i, set()).add(int(top[i]))
            repairable = rejected and attempt < REPAIR_ROUNDS
            if not repairable or not self._commits_any(rejected, canvas, conf, settings):
                return rejected
            for i in rejected:
                top[i], conf[i] = scores.next_best(i, top[i])
            attempt += 1

    def _commits_any(self, positions: set[int], canvas: _Canvas, conf, settings: SpanSettings) -> bool:
        """Would this step commit one of `positions` (the best open one, or one at tau or above)?
        Only asked under a constraint, where the best is the most confident (see NEAR_TIE)."""
        open_positions = canvas.open_positions(self._horizon(canvas, settings.multiline))
        if not open_positions:
            return False
        best = _fallback(open_positions, conf, leftward=False)
        return best in positions or any(float(conf[i]) >= settings.tau for i in positions)

    def _rejected(self, canvas, top, out, constraint, settings) -> set[int]:
        """Open positions to ban: the token that leaves the cursor's line empty where the file is
        broken at the cursor (`_empty_line_end`); on a single line the token that broke it
        (`_line_culprit`), or its guessed end; otherwise those whose proposal sits in a range the
        constraint calls invalid, less an error's spared first proposal (`_culprits`)."""
        text, spans, complete, ending = self._draft_text(canvas, top, out, settings)
        empty = self._empty_line_end(canvas, text, spans, complete, ending, settings)
        if empty is not None and constraint.broken_at_cursor():
            return {empty}
        bad = constraint.invalid_ranges(text, complete)
        if bad is None:
            out.unchecked, bad = True, []
        if bad and not settings.multiline:
            first = min(x for x, _ in bad)
            if (found := self._line_culprit(canvas, out, constraint, text, spans, ending, first)) is not None:
                return found
            bad = [(first, max(y for _, y in bad))]  # one line: one broken stretch
        blamed = set()
        for x, y in bad:
            inside = [
                i for i, (a, b) in enumerate(spans) if not canvas.committed[i] and a < y and x < max(b, a + 1)
            ]
            blamed.update(self._culprits(inside, constraint, settings, text, spans))
        return blamed

    @staticmethod
    def _empty_line_end(
        canvas: _Canvas,
        text: str,
        spans: list[tuple[int, int]],
        complete: bool,
        ending: int | None,
        settings: SpanSettings,
    ) -> int | None:
        """The open position of the draft token that leaves the cursor's line empty: the span's end
        with whitespace at most before it, or, in a multi-line span on a blank line, its first
        newline with whitespace at most before it. None where the line has text.

        Where the file is broken at the cursor (`broken_at_cursor`: a block's `}` or its header
        missing) an empty line leaves it broken, yet the model often ends the line first there, or
        goes on to write new code below it. That token is banned like a broken token, so the model
        proposes text on the line; the constraint still judges the text, and a span that finds none
        ends empty as before (`_stuck_end`). A/B in BENCHMARKS section 6: HumanEval-X JavaScript
        lines parseable 65.0% -> 72.5% and pass@1 12.8% -> 19.9% (mostly a function's `}`), held-out
        Python 93.6% -> 93.8% and Go 86.0% -> 86.5%; exact match lower nowhere. The multi-line case
        (section 4, what the server shows, where most HumanEval-X lines are asked as multi-line):
        JavaScript exact match 6.5% -> 12.5%, Java 13.5% -> 18.5%; held-out sets unchanged.
        """
        newline = text.find("\n")  # only a multi-line draft keeps one
        if newline >= 0 and settings.scope is not None and settings.scope.blank_line:
            first = next((i for i, (a, b) in enumerate(spans) if a <= newline < b), None)
            if first is not None and not canvas.committed[first] and not text[:newline].strip():
                return first
        if complete and ending is not None and not canvas.committed[ending] and not text.strip():
            return ending
        return None

    def _line_culprit(self, canvas, out, constraint, text, spans, ending, first_error) -> set[int] | None:
        """The position to ban in a broken single-line draft: its first token after which the line
        can no longer start validly, or the draft's guessed end where all of it can. None where that
        token is committed, or the end cannot be blamed: the caller then blames the error's stretch.

        tree-sitter reports an error where its recovery gives up, not where the line went wrong: on
        `return` in `return =[[[`, on the first `in` of `for i in in`. Banning the reported token
        threw away `return True` and `for c in s`; bisecting the draft's starts (`valid_start`, a
        parse each, about five a broken step) finds the token to blame. A line that is a valid start
        all through is broken by where it ends (`except ValueError` + newline wants a `:`), which is
        blamed at most END_BANS times a span.
        """
        probes = [i for i, (a, b) in enumerate(spans) if b > first_error and a < len(text)]
        if not probes:
            return None

        def broken(k: int) -> bool:
            return not constraint.valid_start(self._start_text(text, spans, probes[k]))

        if not broken(len(probes) - 1):
            if ending is None or canvas.committed[ending] or out.end_bans >= END_BANS:
                return None
            out.end_bans += 1
            return {ending}
        lo, hi = 0, len(probes) - 1  # the first broken start lies in probes[lo..hi]
        while lo < hi:
            mid = (lo + hi) // 2
            lo, hi = (lo, mid) if broken(mid) else (mid + 1, hi)
        return None if canvas.committed[probes[lo]] else {probes[lo]}

    @staticmethod
    def _start_text(text: str, spans: list[tuple[int, int]], i: int) -> str:
        """The line up to draft token i, as a start to check. A word it ends in is finished (a
        space after it) unless the next token goes on with it: the unfinished check leaves a
        trailing word out, since `in` may become `int`, so `for i in in` would pass unchecked."""
        start = text[: min(spans[i][1], len(text))]
        after = spans[i + 1][0] if i + 1 < len(spans) else len(text)
        goes_on = after < len(text) and _is_word(text[after])
        return start + " " if start and _is_word(start[-1]) and not goes_on else start

    def _culprits(self, inside, constraint, settings, text, spans) -> list[int]:
        """The open positions an error is blamed on: all those inside it, except that on a single line
        the first is spared where the text up to it is a valid start."""
        if settings.multiline or len(inside) < 2:
            return inside
        head, rest = inside[0], inside[1:]
        return rest if constraint.valid_start(text[: spans[head][1]]) else inside

    def _draft_text(self, canvas, top, out, settings) -> tuple[str, list, bool, int | None]:
        """The answer's text with the draft in place, each draft token's character span in it, whether
        the draft ends the span, and the canvas position of the token that ends it (None where the
        span is cut by its text, or does not end)."""
        draft = [
            t if c else int(top[i])
            for i, (t, c) in enumerate(zip(canvas.tokens, canvas.committed, strict=True))
        ]
        draft, ending = self._draft_span(draft[: canvas.budget], settings.multiline)
        complete = ending is not None
        offset = sum(len(self.tok.pieces[t]) for t in out.ids)
        spans, pos = [], offset
        for tok_id in draft:
            spans.append((pos, pos + len(self.tok.pieces[tok_id])))
            pos += len(self.tok.pieces[tok_id])
        text = "".join(self.tok.pieces[t] for t in [*out.ids, *draft])
        if not settings.multiline and "\n" in text:
            text = text[: text.index("\n")]  # what the answer would be: the line, then the suffix
        elif settings.multiline and (end := text_cut(text, settings, out.unchecked)) is not None:
            # the lines past the span's end would be cut too; no token of the draft ends it there
            text, complete, ending = text[: end[0]], True, None
        return text, spans, complete, ending

    def _draft_span(self, draft: list[int], multiline: bool) -> tuple[list[int], int | None]:
        """The part of a block's draft that would be in the answer, and the position of the token
        that ends the span (None when it goes on).

        Proposals past an <eom>, or in single-line mode past the first newline, would be cut
        from the answer, so they are neither checked nor blamed.
        """
        for i, t in enumerate(draft):
            if t == self.tok.eom_id:
                return draft[:i], i
            if not multiline and self._newline[t]:
                return draft[: i + 1], i
        return draft, None

    def _commit(self, canvas, conf, top, vetoed, settings: SpanSettings, leftward: bool) -> int:
        """Commit open proposals with p >= tau (all when tau < 1), and always one: the most confident,
        or with `leftward` (no constraint) the leftmost text near it (`_fallback`); returns count.

        <eom> is committed only at the first open position, where the text before it is settled. The
        positions past a span's end are the easiest to guess, so a confident <eom> far to the right
        would otherwise win the confidence race early, and the model, conditioned on it, pulls the
        end leftwards until the span is empty (the length failure DreamOn describes for fixed canvases).
        A confident <eom> that this step's commits make the first open position is committed at once.
        Positions past the token budget, or past a committed newline in single-line mode, are cut
        from the answer, so no step is spent on them.
        """
        tau = settings.tau
        open_positions = canvas.open_positions(self._horizon(canvas, settings.multiline))
        frontier = open_positions[0] if open_positions else -1
        candidates = [
            i for i in open_positions if i not in vetoed and (int(top[i]) != self.tok.eom_id or i == frontier)
        ]
        if not candidates:
            return 0
        ends = {i for i in candidates if self._ends_span(int(top[i]), settings.multiline)} if leftward else ()
        best = _fallback(candidates, conf, leftward, ends)
        chosen = {best} if tau >= 1.0 else {i for i in candidates if float(conf[i]) >= tau} | {best}
        for i in chosen:
            canvas.tokens[i], canvas.committed[i] = int(top[i]), True
        after = canvas.open_positions()
        if tau < 1.0 and after and after[0] not in vetoed:
            first = after[0]
            if int(top[first]) == self.tok.eom_id and float(conf[first]) >= tau:
                canvas.tokens[first], canvas.committed[first] = self.tok.eom_id, True
                chosen.add(first)
        return len(chosen)

    def _ends_span(self, token: int, multiline: bool) -> bool:
        return token == self.tok.eom_id or (not multiline and self._newline[token])

    def _horizon(self, canvas: _Canvas, multiline: bool) -> int:
        """Where the answer must end: the token budget, or in single-line mode a committed newline."""
        if multiline:
            return canvas.budget
        ends = (i for i, t in enumerate(canvas.tokens) if canvas.committed[i] and self._newline[t])
        return min(next(ends, canvas.budget), canvas.budget)

    def _span_end(self, canvas: _Canvas, multiline: bool) -> tuple[int, str] | None:
        """(index, reason) of the first committed end token whose predecessors are all committed."""
        for i, (t, c) in enumerate(zip(canvas.tokens, canvas.committed, strict=True)):
            if not c:
                return None
            if t == self.tok.eom_id:
                return i, "eom"
            if not multiline and self._newline[t]:
                return i + 1, "newline"  # keep the token; the text is cut at its newline later
        return None

    def _loop_end(self, canvas: _Canvas, previous_ids: list[int]) -> tuple[int, str] | None:
        """End the block when its settled start (committed, nothing open before) closes a loop.

        The loop would be cut from the answer anyway, so the steps that finish the block are saved.
        """
        settled = canvas.settled()
        if repetition_start([*previous_ids, *canvas.tokens[:settled]], since=len(previous_ids)) is None:
            return None
        return settled, "repetition"

    def _text_end(self, canvas: _Canvas, out: SpanOutcome, settings: SpanSettings) -> tuple[int, str] | None:
        """End the block where its settled text ends early (`text_cut`), keeping the tokens that cover it."""
        if not settings.multiline:
            return None
        block = canvas.tokens[: canvas.settled()]
        end = text_cut(self.tok.decode([*out.ids, *block]), settings, out.unchecked)
        if end is None:
            return None
        out.cut = end[0]
        return max(0, len(covering(self.tok, [*out.ids, *block], end[0])) - len(out.ids)), end[1]

    def _stuck_end(self, canvas: _Canvas, out: SpanOutcome, multiline: bool) -> tuple[int, str] | None:
        """End the block at its first open position once STUCK_BANS (a single line: STUCK_BANS_LINE)
        proposals are banned there, or a single line has taken VETO_BUDGET_LINE vetoes."""
        frontier = canvas.settled()
        if len(canvas.banned.get(frontier, ())) >= (STUCK_BANS if multiline else STUCK_BANS_LINE):
            return frontier, "constraint"
        if not multiline and out.vetoed >= VETO_BUDGET_LINE:
            return frontier, "constraint"
        return None

    def _force_finish(self, canvas, conf, top, multiline) -> tuple[int, str] | None:
        """Step bound reached (vetoes kept blocking): commit the remaining proposals as they are."""
        for i in canvas.open_positions():
            canvas.tokens[i], canvas.committed[i] = int(top[i]), True
        return self._span_end(canvas, multiline)

    def _finish_text(self, out: SpanOutcome, settings: SpanSettings) -> str:
        text = self.tok.decode(out.ids)
        if out.cut is not None:
            text = text[: out.cut]
        if not settings.multiline and "\n" in text:
            text = text[: text.index("\n")]
        return text


def _fallback(positions: list[int], conf: list[float], leftward: bool, ends: Collection[int] = ()) -> int:
    """The one proposal a step commits whatever its probability: the most confident of `positions`,
    or with `leftward` the leftmost (in canvas order) with at least NEAR_TIE times its probability.
    A proposal that ends the span (`ends`) is committed only as the most confident."""
    best = max(positions, key=lambda i: float(conf[i]))
    if not leftward or best in ends:
        return best
    floor = NEAR_TIE * float(conf[best])
    return next(i for i in positions if i not in ends and float(conf[i]) >= floor)


class _TabDepth:
    """Leading tabs of the line being written, against the line with text above it."""

    def __init__(self, scope: IndentScope):
        self.above, self.leading, self.indenting = scope.tabs_above, 0, True
        self.read(scope.line)

    def too_deep(self, tabs: int) -> bool:
        return self.indenting and self.leading + tabs > self.above + 1

    def read(self, text: str) -> None:
        for ch in text:
            if ch == "\n":
                if not self.indenting:  # the line had text: the next is measured against it
                    self.above = self.leading
                self.leading, self.indenting = 0, True
            elif ch == "\t" and self.indenting:
                self.leading += 1
            elif not ch.isspace():
                self.indenting = False


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch in "_$"


def repetition_start(ids: list[int], since: int = 0, max_period: int = 8, repeats: int = 3) -> int | None:
    """Where the first loop in `ids` starts: an n-gram (n <= max_period) repeated `repeats` times in a
    row, ending after position `since`. Small models fall into loops ("the the the", ",,,,",
    "name_name_name"); the span is cut after the first copy. A loop is found wherever it ends: several
    tokens can settle in one denoising step, and the span may go on past the loop.
    """
    for end in range(since + 1, len(ids) + 1):
        for period in range(1, max_period + 1):
            n = max(period * repeats, 6)  # ")))" is code; six of one token in a row is a loop
            if end < n:
                break
            if ids[end - n : end - period] == ids[end - n + period : end]:  # the tail has this period
                start = end - n
                while start >= period and ids[start - period : start] == ids[start : start + period]:
                    start -= period  # the loop may have begun earlier than the checked tail
                return start + period
    return None


def without_loop(tok: CodeTokenizer, ids: list[int], multiline: bool) -> tuple[list[int], int | None] | None:
    """(ids, characters kept or None) with a repetition loop cut off; None when there is no loop.

    A multi-line span keeps only its finished lines: the line a loop starts in is broken by the cut.
    """
    if (cut := repetition_start(ids)) is None:
        return None
    ids = ids[:cut]
    if multiline:
        text = tok.decode(ids)
        end = text.rfind("\n")
        if end > 0 and text[:end].strip():
            return covering(tok, ids, end), end
    return ids, None


def cut_loop(tok: CodeTokenizer, out: SpanOutcome, multiline: bool) -> None:
    """Cut a finished span's first repetition loop (`without_loop`), whatever ended the span."""
    if (kept := without_loop(tok, out.ids, multiline)) is not None:
        (out.ids, out.cut), out.stop_reason = kept, "repetition"


def text_cut(text: str, settings: SpanSettings, unchecked: bool = False) -> tuple[int, str] | None:
    """(characters kept, reason) when a multi-line span's settled text should end early: where it
    leaves the cursor's block; or at its last finished line once the deadline has passed (what
    llama.cpp's t_max_predict_ms does for FIM: a late suggestion shows whole lines, not none), or
    once the constraint no longer checks its drafts: lines written unchecked were mostly refused
    by the final check, and a third of a multi-line span's forward passes went to them (A/B in
    BENCHMARKS section 6: the same or better edit similarity)."""
    if settings.scope is not None and (cut := settings.scope.end(text)) is not None:
        return cut, "scope"
    late = settings.deadline is not None and time.perf_counter() > settings.deadline
    if late or unchecked:
        cut = text.rfind("\n")
        if cut > 0 and text[:cut].strip():
            return cut, "time" if late else "unchecked"
    return None


def covering(tok: CodeTokenizer, ids: list[int], chars: int) -> list[int]:
    """The shortest start of `ids` whose text has at least `chars` characters (the cut is near the end)."""
    k = len(ids)
    while k > 0 and len(tok.decode(ids[: k - 1])) >= chars:
        k -= 1
    return ids[:k]


def longest_accepted(tok: CodeTokenizer, ids: list[int], constraint: SpanConstraint, multiline: bool):
    """The longest start of the span that adds no syntax error (maybe empty): cut at a token boundary,
    or, in a multi-line span past its first FALLBACK_TOKEN_LINES lines, at a line end.

    Each candidate costs a parse of the window, several ms once a broken draft sends tree-sitter's
    error recovery through it, and a broken 64-token span has 63 token boundaries but a few lines.
    Past the first lines only whole lines are tried, as when a loop or the line budget cuts a span.
    """
    for text, kept in _candidates(tok, ids, multiline):
        if constraint.accepts(text):
            return kept, text
    return [], ""


def _candidates(tok: CodeTokenizer, ids: list[int], multiline: bool) -> list[tuple[str, list[int]]]:
    """(text, ids) of the cuts longest_accepted tries, longest first, each text once."""
    found: dict[str, list[int]] = {}
    for k in range(len(ids) - 1, 0, -1):
        text = tok.decode(ids[:k])
        if not multiline:
            text = text.split("\n", 1)[0]
        elif text.strip().count("\n") >= FALLBACK_TOKEN_LINES:
            end = text.rfind("\n")  # past those lines: the lines the cut leaves whole
            text = text[:end]
            if not text.strip():
                continue
            k = len(covering(tok, ids, end))
        if text.strip():  # an answer of whitespace only shows nothing (the server drops it)
            found.setdefault(text, ids[:k])
    return sorted(found.items(), key=lambda item: -len(item[0]))


class GreedySampler:
    """The autoregressive baseline's decoder: greedy, one token per forward pass, with a KV cache."""

    def __init__(self, model: Stepper, tok: CodeTokenizer):
        self.model, self.tok = model, tok
        self._forbidden = torch.tensor([tok.pad_id, tok.mask_id, tok.suf_id, tok.pre_id, tok.mid_id])

    @torch.inference_mode()
    def fill(
        self, pending, cache, settings: SpanSettings, constraint=None, cancelled=lambda: False
    ) -> SpanOutcome:
        out = SpanOutcome([], "", "budget")
        context_len = (cache.length if cache is not None else 0) + len(pending)
        step_ids = pending
        while len(out.ids) < settings.max_tokens:
            if cancelled():
                out.stop_reason = "cancelled"
                return out
            logits, cache = self.model.step_logits(cache, step_ids, None)
            out.steps += 1
            if out.cache is None:
                out.cache = cache.truncated(context_len)
            logits[self._forbidden] = NEG_INF
            nxt = int(logits.argmax())
            if nxt == self.tok.eom_id:
                out.stop_reason = "eom"
                break
            out.ids.append(nxt)
            if not settings.multiline and "\n" in self.tok.pieces[nxt]:
                out.stop_reason = "newline"
                break
            if settings.multiline and (end := text_cut(self.tok.decode(out.ids), settings)) is not None:
                out.ids, out.cut, out.stop_reason = covering(self.tok, out.ids, end[0]), end[0], end[1]
                break
            block = self.model.cfg.block_length
            at_block_end = len(out.ids) % block == 0  # checked as often as in diffusion
            if at_block_end and repetition_start(out.ids, since=len(out.ids) - block) is not None:
                break  # loops ending earlier were looked for at the last block end
            step_ids = [nxt]
        cut_loop(self.tok, out, settings.multiline)
        text = self.tok.decode(out.ids)[: out.cut]
        out.text = text[: text.index("\n")] if not settings.multiline and "\n" in text else text
        return out
