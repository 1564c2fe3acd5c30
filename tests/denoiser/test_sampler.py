"""The block-diffusion sampler's rules, driven by a scripted network whose proposals we choose."""

import itertools
import math
from dataclasses import replace

import pytest
import torch
from mercury.denoiser import sampler as sampler_module
from mercury.denoiser.model import KVCache
from mercury.denoiser.sampler import BlockDiffusionSampler, SpanSettings
from mercury.denoiser.scope import IndentScope
from mercury.denoiser.tokenizer import train_tokenizer

TOK = train_tokenizer(["alpha beta gamma\nreturn value\n"] * 10, vocab_size=280)


class ScriptedNet:
    """Stands in for Denoiser: proposes `script[i]` at canvas position i with confidence `conf[i]`."""

    def __init__(self, script: list[int], conf: list[float], block_length: int = 4):
        self.cfg = type("Cfg", (), {"block_length": block_length})()
        self.script, self.conf = script, conf
        self.canvas_calls = 0

    def step_logits(self, cache, clean, canvas, rows=None):
        n = (cache.length if cache else 0) + len(clean)
        new_cache = KVCache([torch.zeros(1, 1, n, 1)], [torch.zeros(1, 1, n, 1)])
        block = (
            max(0, n - 3) // self.cfg.block_length
        )  # blocks finished = clean growth past the 3-token context
        L = len(canvas)
        logits = torch.empty((L, TOK.vocab_size))
        for i in range(L):
            j = block * L + i
            token = self.script[j] if j < len(self.script) else TOK.eom_id
            logits[i] = _scripted_logits(token, self.conf[j] if j < len(self.conf) else 0.99)
        self.canvas_calls += 1
        return (logits if rows is None else logits[rows]), new_cache


def _scripted_logits(token: int, p: float) -> torch.Tensor:
    """Log-probabilities: `token` at p, the runner-up "gamma" at half the rest, the other half spread
    over the vocabulary, so `token` is the top proposal, at exactly p, for any p above 1/3."""
    rest = (1 - p) / 2
    logits = torch.full((TOK.vocab_size,), math.log(rest / (TOK.vocab_size - 2)))
    logits[TOK.encode("gamma")[0]] = math.log(rest)  # a runner-up proposal
    logits[token] = math.log(p)
    return logits


def sampler_for(script, conf, L=4):
    sampler = BlockDiffusionSampler.__new__(BlockDiffusionSampler)
    BlockDiffusionSampler.__init__(sampler, ScriptedNet(script, conf, L), TOK)
    return sampler


def ids(text):
    return TOK.encode(text)


class DraftCheck:
    """What the test constraints share with syntax/: a start is valid where the unfinished check of
    it finds nothing."""

    def valid_start(self, middle):
        return not self.invalid_ranges(middle, False)

    def broken_at_cursor(self):
        return False

    def comments_only(self, middle):
        return middle.strip().startswith("#")

    def after_exit(self):
        return False

    def closing_line(self):
        return None


def test_tau_one_commits_one_token_per_step():
    script = ids("alpha beta") + [TOK.eom_id]
    out = sampler_for(script, [0.99] * 8).fill([0, 1, 2], None, SpanSettings(tau=1.0, multiline=True))
    assert out.text == "alpha beta"
    assert set(out.step_commits) == {1}


def test_tau_near_zero_commits_the_whole_canvas_in_one_step():
    script = ids("alpha beta gamma alpha beta")[:4]
    out = sampler_for(script, [0.6] * 4).fill(
        [0, 1, 2], None, SpanSettings(tau=0.01, multiline=True, max_tokens=4)
    )
    assert out.steps == 1 and out.step_commits == [4]
    assert out.ids == script and out.stop_reason == "budget"


def test_eom_commits_only_at_the_frontier():
    """A confident <eom> to the right of open positions waits; the text before it is filled first."""
    script = ids("alpha beta") + [TOK.eom_id]
    conf = [0.6, 0.6, 0.6, 0.99]
    out = sampler_for(script, conf).fill([0, 1, 2], None, SpanSettings(tau=0.9, multiline=True))
    assert out.text == "alpha beta" and out.stop_reason == "eom"
    # The <eom> waited until the text before it was committed, then went in the same step.
    assert out.step_commits == [1, 1, 2]


def test_an_unconfident_eom_waits_for_its_own_step():
    script = ids("alpha beta") + [TOK.eom_id]
    out = sampler_for(script, [0.6] * 4).fill([0, 1, 2], None, SpanSettings(tau=0.9, multiline=True))
    assert out.text == "alpha beta" and out.step_commits == [1, 1, 1, 1]


def test_threshold_commits_only_confident_proposals_and_at_least_one():
    script = ids("alpha beta") + [TOK.eom_id]
    conf = [0.95, 0.4, 0.95, 0.4]
    out = sampler_for(script, conf).fill([0, 1, 2], None, SpanSettings(tau=0.9, multiline=True))
    assert out.step_commits[0] == 2  # the two confident positions
    assert all(c >= 1 for c in out.step_commits)


class RecordingNet(ScriptedNet):
    """A ScriptedNet that keeps the canvas rows each forward pass was asked for."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.asked = []

    def step_logits(self, cache, clean, canvas, rows=None):
        self.asked.append(rows)
        return super().step_logits(cache, clean, canvas, rows)


class AcceptAll(DraftCheck):
    def invalid_ranges(self, middle, complete):
        return []

    def accepts(self, middle):
        return True


@pytest.mark.parametrize(
    ("conf", "constraint", "first"),
    [
        ([0.4, 0.35, 0.8, 0.5], None, 0),  # 0.4 is at least half of 0.8: the leftmost near-tie goes first
        ([0.35, 0.5, 0.8, 0.6], None, 1),  # 0.35 is not; 0.5 is, and lies left of 0.6
        ([0.35, 0.36, 0.8, 0.37], None, 2),  # no near-tie: the most confident
        # under a constraint the most confident: leftward commits would put its vetoes at the
        # frontier, where they end spans
        ([0.4, 0.35, 0.8, 0.5], AcceptAll(), 2),
    ],
)
def test_a_step_below_tau_commits_the_leftmost_proposal_near_the_best(conf, constraint, first):
    script = ids("alpha beta gamma alpha beta")[:4]
    assert TOK.eom_id not in script and not any("\n" in TOK.decode([t]) for t in script)
    net = RecordingNet(script, conf, 4)
    settings = SpanSettings(tau=0.9, multiline=True, max_tokens=4)
    out = BlockDiffusionSampler(net, TOK).fill([0, 1, 2], None, settings, constraint)
    assert out.ids == script and out.step_commits[0] == 1
    assert net.asked[1] == [i for i in range(4) if i != first]  # what the first step left open


@pytest.mark.parametrize("multiline", [False, True])
@pytest.mark.parametrize(
    ("conf", "first"),
    [
        ([0.5, 0.8, 0.3, 0.3], 1),  # the end at 0 is only near the best: the text goes first
        ([0.9, 0.8, 0.3, 0.3], 0),  # the end is the most confident: committed, as without the rule
    ],
)
def test_a_near_tie_that_ends_the_span_waits_for_the_most_confident(multiline, conf, first):
    """Near ties go left for text only: a leftmost <eom> (a newline, on a single line) would end the
    span empty where the model rates text more likely (HumanEval-X JavaScript `}` lines)."""
    end = TOK.eom_id if multiline else ids("\n")[0]
    script = [end, *ids("alpha beta gamma")[:3]]
    net = RecordingNet(script, conf, 4)
    settings = SpanSettings(tau=0.95, multiline=multiline, max_tokens=4)
    out = BlockDiffusionSampler(net, TOK).fill([0, 1, 2], None, settings)
    if first == 0:  # the end, committed first, ends the span
        assert out.steps == 1 and out.ids in ([], [end])
    else:
        assert net.asked[1] == [0, 2, 3]


def test_newline_stops_single_line_mode():
    script = ids("return value\nalpha beta")
    out = sampler_for(script, [0.99] * 16).fill([0, 1, 2], None, SpanSettings(tau=0.5, multiline=False))
    assert out.text == "return value" and out.stop_reason == "newline"


def test_single_line_spends_no_step_past_a_committed_newline():
    """Once the line's end is committed, the confident guesses after it are not worth a step."""
    script = ids("return\nalpha beta gamma")[:8]
    assert TOK.decode(script[1:2]) == "\n"
    conf = [0.4, 0.95, 0.94, 0.93, 0.92, 0.91, 0.9, 0.9]
    out = sampler_for(script, conf, L=8).fill([0, 1, 2], None, SpanSettings(tau=0.99, multiline=False))
    assert out.text == "return" and out.stop_reason == "newline"
    assert out.steps == 2  # the newline, then "return"; without the horizon, one step per position


def test_logits_are_asked_only_for_open_positions_before_the_line_end():
    net = RecordingNet(ids("return\nalpha beta gamma")[:8], [0.4, 0.95] + [0.9] * 6, 8)
    BlockDiffusionSampler(net, TOK).fill([0, 1, 2], None, SpanSettings(tau=0.99, multiline=False))
    assert net.asked == [list(range(8)), [0]]  # step 2: the newline at 1 is committed, 2-7 lie past it


def test_single_line_drafts_are_checked_up_to_their_newline():
    """What follows the line's end is cut from the answer, so the constraint never sees it."""
    seen = []

    class Record(DraftCheck):
        def invalid_ranges(self, middle, complete):
            seen.append((middle, complete))
            return []

        def accepts(self, middle):
            return True

    script = ids("return\nbeta")
    out = sampler_for(script, [0.99] * 8, L=4).fill(
        [0, 1, 2], None, SpanSettings(tau=0.5, multiline=False), Record()
    )
    assert out.text == "return"
    assert seen and all(m == "return" and complete for m, complete in seen)


def test_token_budget_spans_blocks_and_stops():
    script = ids("alpha beta gamma alpha beta gamma alpha")
    out = sampler_for(script, [0.99] * 32).fill(
        [0, 1, 2], None, SpanSettings(tau=0.5, max_tokens=6, multiline=True)
    )
    assert len(out.ids) == 6 and out.stop_reason == "budget"
    assert out.ids == script[:6]


class RejectBeta(DraftCheck):
    """A constraint that calls any draft containing 'beta' invalid there."""

    def invalid_ranges(self, middle, complete):
        i = middle.find("beta")
        return [] if i < 0 else [(i, i + 4)]

    def accepts(self, middle):
        return "beta" not in middle


def test_vetoed_proposals_are_banned_and_replaced():
    script = ids("alpha beta") + [TOK.eom_id]
    out = sampler_for(script, [0.99] * 8).fill(
        [0, 1, 2], None, SpanSettings(tau=0.5, multiline=True), RejectBeta()
    )
    assert "beta" not in out.text and out.vetoed >= 1
    assert out.text.startswith("alpha")


def test_no_repair_round_for_a_rejected_proposal_this_step_would_not_commit():
    calls = []

    class Counting(RejectBeta):
        def invalid_ranges(self, middle, complete):
            calls.append(middle)
            return super().invalid_ranges(middle, complete)

    script = ids("alpha beta") + [TOK.eom_id]
    conf = [0.99] + [0.6] * 7  # "alpha" is committed; the unsure " beta" is only banned
    out = sampler_for(script, conf).fill([0, 1, 2], None, SpanSettings(tau=0.9, multiline=True), Counting())
    assert out.step_commits[0] == 1 and "beta" in calls[0]
    assert len(calls) == out.steps  # one check per step: the veto of " beta" was not repaired at once
    assert out.vetoed >= 1


RUNNER_UP = TOK.decode(TOK.encode("gamma")[:1])  # what ScriptedNet proposes second everywhere


def test_a_rejected_proposal_is_replaced_by_the_next_best_in_the_same_step():
    script = ids("beta") + [TOK.eom_id]
    out = sampler_for(script, [0.99] * 8).fill(
        [0, 1, 2], None, SpanSettings(tau=0.5, multiline=True), RejectBeta()
    )
    assert out.text.startswith(RUNNER_UP) and out.step_commits[0] >= 1  # no forward pass lost to vetoes


def test_a_step_that_commits_nothing_costs_no_second_forward_pass(monkeypatch):
    monkeypatch.setattr(sampler_module, "REPAIR_ROUNDS", 0)  # the veto is not repaired within the step
    passes = []

    class CountingNet(ScriptedNet):
        def step_logits(self, cache, clean, canvas, rows=None):
            passes.append(list(canvas))
            return super().step_logits(cache, clean, canvas, rows)

    script = ids("beta") + [TOK.eom_id]
    sampler = BlockDiffusionSampler(CountingNet(script, [0.99] * 8), TOK)
    out = sampler.fill([0, 1, 2], None, SpanSettings(tau=0.5, multiline=True), RejectBeta())
    assert out.text.startswith(RUNNER_UP)
    assert out.steps == len(passes) and all(a != b for a, b in itertools.pairwise(passes))  # no pass repeated


class CommentsBesideBeta(RejectBeta):
    """Refuses 'beta'; whatever else is written reads as comments."""

    def comments_only(self, middle):
        return bool(middle.strip())


@pytest.mark.parametrize(
    ("script", "multiline", "kept"),
    [("beta", True, False), ("gamma", True, True), ("beta", False, True)],
    ids=["multi-line-after-vetoes", "no-veto", "single-line"],
)
def test_a_multi_line_span_left_with_comments_only_after_vetoes_has_no_text(script, multiline, kept):
    """The model wrote code and the checks refused it: the comments it drifted into are no answer."""
    settings = SpanSettings(tau=0.5, multiline=multiline)
    out = sampler_for(ids(script) + [TOK.eom_id], [0.99] * 8).fill(
        [0, 1, 2], None, settings, CommentsBesideBeta()
    )
    assert (out.text.strip() != "") == kept
    assert kept or out.stop_reason == "comments"


class NeedsMoreThanAlpha(DraftCheck):
    """Under this constraint the line "alpha" is valid only as the start of a longer one."""

    def invalid_ranges(self, middle, complete):
        return [(0, len(middle))] if complete and middle == "alpha" else []

    def accepts(self, middle):
        return middle != "alpha"


@pytest.mark.parametrize("conf", [[0.99, 0.6], [0.6, 0.99]], ids=["sure-start", "unsure-start"])
def test_a_line_broken_only_by_its_guessed_end_bans_the_end_not_the_text(conf):
    """`except ValueError` + newline: the error covers the start, but the guessed end is what is
    wrong, however sure the model is of either."""
    script = ids("alpha") + [TOK.eom_id]
    out = sampler_for(script, conf + [0.99] * 6).fill(
        [0, 1, 2], None, SpanSettings(tau=0.9), NeedsMoreThanAlpha()
    )
    assert out.text.startswith("alpha") and out.text != "alpha"
    assert out.end_bans == 1


def test_a_multi_line_span_never_blames_its_end():
    script = ids("alpha") + [TOK.eom_id]
    out = sampler_for(script, [0.99, 0.6] + [0.99] * 6).fill(
        [0, 1, 2], None, SpanSettings(tau=0.9, multiline=True), NeedsMoreThanAlpha()
    )
    assert not out.text.startswith("alpha") and out.end_bans == 0


class BetaBreaksTheLine(DraftCheck):
    """An error that covers the whole line wherever " beta" is in it (tree-sitter's `return =[`)."""

    def invalid_ranges(self, middle, complete):
        return [(0, len(middle))] if "beta" in middle else []

    def accepts(self, middle):
        return "beta" not in middle


@pytest.mark.parametrize("conf", [[0.99, 0.5, 0.5, 0.99], [0.5, 0.99, 0.99, 0.99]], ids=["sure", "unsure"])
def test_on_a_single_line_an_error_spares_its_first_proposal_however_sure_of_it(conf):
    """`return =[`: one error from `return` to `[`; `return` stays and the rest is banned. The rest of
    the draft was guessed before its start was settled, so the model's confidence in those guesses
    says nothing about whether a valid line can start with `return`."""
    script = ids("alpha beta") + [TOK.eom_id]
    out = sampler_for(script, conf + [0.99] * 4, L=8).fill(
        [0, 1, 2], None, SpanSettings(tau=0.9), BetaBreaksTheLine()
    )
    assert out.text.startswith("alpha") and "beta" not in out.text


def test_in_a_multi_line_span_an_error_bans_its_first_proposal_with_the_rest():
    script = ids("alpha beta") + [TOK.eom_id]
    out = sampler_for(script, [0.99, 0.5, 0.5, 0.99] + [0.99] * 4, L=8).fill(
        [0, 1, 2], None, SpanSettings(tau=0.9, multiline=True), BetaBreaksTheLine()
    )
    assert not out.text.startswith("alpha")


class SplitError(DraftCheck):
    """tree-sitter's `return =[[[`: one error on `return`, one on `[[[`, and the ` =` between them in
    neither (here " beta" is the ` =`)."""

    def invalid_ranges(self, middle, complete):
        if " beta" not in middle:
            return []
        after = middle.index(" beta") + len(" beta")
        return [(0, len("alpha")), (after, max(after + 1, len(middle)))]

    def accepts(self, middle):
        return " beta" not in middle


def test_the_errors_of_one_line_are_one_stretch_with_the_proposals_between_them():
    script = ids("alpha beta gamma") + [TOK.eom_id]
    out = sampler_for(script, [0.6, 0.8, 0.6, 0.6] + [0.99] * 4, L=8).fill(
        [0, 1, 2], None, SpanSettings(tau=0.9), SplitError()
    )
    assert out.text.startswith("alpha") and "beta" not in out.text  # " beta" was not committed


class ReportsEarly(DraftCheck):
    """tree-sitter's `for i in in`: the error is reported on the token before the one that broke the
    line (here " beta" breaks it, and the error lands on "alpha")."""

    def invalid_ranges(self, middle, complete):
        return [(0, len("alpha"))] if " beta" in middle else []

    def accepts(self, middle):
        return " beta" not in middle


def test_a_single_line_bans_the_first_token_after_which_it_cannot_start_validly():
    script = ids("alpha beta gamma") + [TOK.eom_id]
    out = sampler_for(script, [0.6, 0.8, 0.6, 0.6] + [0.99] * 4, L=8).fill(
        [0, 1, 2], None, SpanSettings(tau=0.9), ReportsEarly()
    )
    assert out.text.startswith("alpha") and "beta" not in out.text  # not "alpha", where the error was


@pytest.mark.parametrize(
    ("text", "spans", "i", "start"),
    [
        ("for i in in", [(0, 3), (3, 5), (5, 8), (8, 11)], 2, "for i in "),  # a finished word
        ("if isinstance(", [(0, 2), (2, 5), (5, 13), (13, 14)], 1, "if is"),  # `is` goes on
        ("else", [(0, 4)], 0, "else "),  # the line ends after it
        ("x = (", [(0, 1), (1, 3), (3, 5)], 2, "x = ("),
    ],
)
def test_a_start_ending_in_a_finished_word_is_checked_with_that_word(text, spans, i, start):
    assert BlockDiffusionSampler._start_text(text, spans, i) == start


class EndsNowhere(DraftCheck):
    """Every line that ends is invalid, every unfinished one valid: blaming the end never helps."""

    def invalid_ranges(self, middle, complete):
        return [(0, len(middle))] if complete and middle else []

    def accepts(self, middle):
        return not middle


def test_blaming_the_end_stops_after_end_bans_per_span(monkeypatch):
    net = ScriptedNet(ids("alpha") + [TOK.eom_id] * 20, [0.99] + [0.6] * 40, block_length=8)
    run = lambda: BlockDiffusionSampler(net, TOK).fill(  # noqa: E731
        [0, 1, 2], None, SpanSettings(tau=0.9), EndsNowhere()
    )
    out = run()
    assert out.end_bans == sampler_module.END_BANS
    assert out.vetoed > out.end_bans  # past the limit, the text before the end is blamed as before
    monkeypatch.setattr(sampler_module, "END_BANS", 5)
    assert run().end_bans == 5


class RejectAll(DraftCheck):
    """A constraint under which no text at all is valid."""

    def invalid_ranges(self, middle, complete):
        return [(0, len(middle))] if middle else []

    def accepts(self, middle):
        return not middle


class ManyChoicesNet(ScriptedNet):
    """Ranks every token below the scripted one (distinct runners-up, <eom> last), so bans never run out."""

    def step_logits(self, cache, clean, canvas, rows=None):
        logits, new_cache = super().step_logits(cache, clean, canvas, rows)
        logits += -0.01 * torch.arange(TOK.vocab_size, dtype=logits.dtype)
        logits[:, TOK.eom_id] = -100.0
        return logits, new_cache


def test_a_span_stuck_at_its_first_open_position_ends_there(monkeypatch):
    sampler = BlockDiffusionSampler(ManyChoicesNet(ids("alpha beta"), [0.99] * 8), TOK)
    run = lambda: sampler.fill(  # noqa: E731
        [0, 1, 2], None, SpanSettings(tau=0.5, multiline=True, extra_steps=16), RejectAll()
    )
    out = run()
    assert out.text == "" and out.stop_reason == "constraint"
    assert out.steps <= sampler_module.STUCK_BANS  # ended early: at least one ban per step
    monkeypatch.setattr(sampler_module, "STUCK_BANS", 10**6)
    assert run().vetoed >= 4 + 16  # without the rule: a ban in every round up to the block's step bound


def test_a_stuck_single_line_ends_after_fewer_bans_than_a_multi_line_span():
    sampler = BlockDiffusionSampler(ManyChoicesNet(ids("alpha beta"), [0.99] * 8), TOK)

    def vetoed(multiline: bool) -> int:
        return sampler.fill([0, 1, 2], None, SpanSettings(tau=0.5, multiline=multiline), RejectAll()).vetoed

    assert sampler_module.STUCK_BANS_LINE <= vetoed(False) < vetoed(True)


def test_a_single_line_ends_once_it_has_taken_its_budget_of_vetoes(monkeypatch):
    monkeypatch.setattr(sampler_module, "STUCK_BANS_LINE", 10**6)  # only the budget can end it early
    sampler = BlockDiffusionSampler(ManyChoicesNet(ids("alpha beta"), [0.99] * 8), TOK)

    def run(multiline: bool):
        return sampler.fill([0, 1, 2], None, SpanSettings(tau=0.5, multiline=multiline), RejectAll())

    line = run(False)
    budget = sampler_module.VETO_BUDGET_LINE
    assert line.text == "" and line.stop_reason == "constraint"
    assert budget <= line.vetoed < budget + sampler_module.REPAIR_ROUNDS + 1  # the step that reached it
    monkeypatch.setattr(sampler_module, "STUCK_BANS", 10**6)
    assert run(True).vetoed > 10 * budget  # a multi-line span has no such budget
    monkeypatch.setattr(sampler_module, "VETO_BUDGET_LINE", 10**6)
    unbounded = run(False)
    assert unbounded.vetoed > 10 * budget and unbounded.steps > line.steps  # up to the block's step bound


def test_cancel_between_steps_returns_cancelled():
    script = ids("alpha beta") + [TOK.eom_id]
    calls = iter([False, True])
    out = sampler_for(script, [0.5] * 8).fill(
        [0, 1, 2], None, SpanSettings(tau=1.0, multiline=True), cancelled=lambda: next(calls, True)
    )
    assert out.stop_reason == "cancelled" and out.steps == 1


def test_repetition_loops_are_cut_after_the_first_copy():
    from mercury.denoiser.sampler import repetition_start

    assert repetition_start([5, 6, 7, 1, 2, 1, 2, 1, 2, 1, 2]) == 5  # keeps 5 6 7 1 2
    assert repetition_start([9, 9, 9, 9, 9, 9]) == 1
    assert repetition_start([4, 9, 9, 9]) is None  # ")))" is code, not a loop
    assert repetition_start([1, 2, 3, 4, 5, 6]) is None
    assert repetition_start([5, 1, 2, 1, 2, 1, 2, 7, 8]) == 3  # the loop need not end the span
    assert repetition_start([5, 1, 2, 1, 2, 1, 2, 7, 8], since=7) is None  # it ended before `since`


def test_a_looping_span_stops_with_reason_repetition():
    script = ids("alpha beta") * 12
    out = sampler_for(script, [0.99] * 64).fill([0, 1, 2], None, SpanSettings(tau=0.5, multiline=True))
    assert out.stop_reason == "repetition"
    assert out.text.count("alpha") == 1


def test_a_multi_line_loop_is_cut_back_to_the_last_finished_line():
    from mercury.denoiser.sampler import GreedySampler

    script = ids("return value\ngamma") + ids(" alpha beta") * 12
    settings = SpanSettings(tau=0.5, multiline=True, max_tokens=48)
    out = sampler_for(script, [0.99] * 64).fill([0, 1, 2], None, settings)
    assert out.stop_reason == "repetition" and out.text == "return value"
    single = sampler_for(ids("gamma") + ids(" alpha beta") * 12, [0.99] * 64)
    line = single.fill([0, 1, 2], None, replace(settings, multiline=False)).text
    assert line.startswith("gamma alpha beta")  # a single line keeps its cut as before
    ar = GreedySampler(ScriptedCausalNet(script), TOK).fill([0, 1, 2], None, settings)
    assert ar.stop_reason == "repetition" and ar.text == "return value"


def test_a_loop_inside_a_finished_line_is_cut_by_both_samplers():
    from mercury.denoiser.sampler import GreedySampler

    # "gamma alpha alpha alpha ..." then a different ending, all settling in one step.
    script = ids("gamma") + ids(" alpha") * 4 + ids(" value\n")
    settings = SpanSettings(tau=0.01, multiline=False, max_tokens=16)
    out = sampler_for(script, [0.99] * 16, L=16).fill([0, 1, 2], None, settings)
    assert out.steps == 1 and out.stop_reason == "repetition" and out.text == "gamma alpha"
    ar = GreedySampler(ScriptedCausalNet(script), TOK).fill([0, 1, 2], None, settings)
    assert ar.stop_reason == "repetition" and ar.text == "gamma alpha"


def test_a_loop_ends_the_block_as_soon_as_its_settled_start_closes_it():
    period = len(ids("alpha beta"))
    script = ids("alpha beta") * (16 // period)
    out = sampler_for(script, [0.99] * 16, L=16).fill([0, 1, 2], None, SpanSettings(tau=1.0, multiline=True))
    assert out.stop_reason == "repetition" and out.ids == script[:period]
    assert out.steps == 3 * period  # three copies of the loop, not the whole 16-token block


def test_a_multi_line_span_ends_where_it_leaves_the_cursor_block():
    from mercury.denoiser.scope import IndentScope

    script = ids("alpha beta\nreturn value\nalpha beta gamma")
    settings = SpanSettings(tau=1.0, multiline=True, scope=IndentScope.at("    "))
    out = sampler_for(script, [0.99] * 32, L=16).fill([0, 1, 2], None, settings)
    assert out.text == "alpha beta" and out.stop_reason == "scope"
    assert out.steps < len(ids("alpha beta\nreturn value"))  # stopped once "r" settled the indentation


class ScriptedCausalNet:
    """Stands in for the AR baseline: proposes script[n] after n generated tokens."""

    def __init__(self, script: list[int]):
        self.cfg = type("Cfg", (), {"block_length": 4})()
        self.script, self.generated = script, 0

    def step_logits(self, cache, clean, canvas):
        n = (cache.length if cache else 0) + len(clean)
        logits = torch.full((TOK.vocab_size,), -20.0)
        token = self.script[self.generated] if self.generated < len(self.script) else TOK.eom_id
        logits[token], self.generated = 0.0, self.generated + 1
        return logits, KVCache([torch.zeros(1, 1, n, 1)], [torch.zeros(1, 1, n, 1)])


def test_the_ar_baseline_obeys_the_same_scope():
    from mercury.denoiser.sampler import GreedySampler
    from mercury.denoiser.scope import IndentScope

    script = ids("alpha beta\nreturn value\nalpha")
    settings = SpanSettings(multiline=True, scope=IndentScope.at("    "))
    out = GreedySampler(ScriptedCausalNet(script), TOK).fill([0, 1, 2], None, settings)
    assert out.text == "alpha beta" and out.stop_reason == "scope"
    unscoped = GreedySampler(ScriptedCausalNet(script), TOK).fill(
        [0, 1, 2], None, SpanSettings(multiline=True)
    )
    assert unscoped.text == "alpha beta\nreturn value\nalpha"


def test_no_step_is_spent_past_the_token_budget():
    script = ids("alpha beta gamma alpha beta gamma")[:16]
    out = sampler_for(script, [0.5] * 16, L=16).fill(
        [0, 1, 2], None, SpanSettings(tau=0.9, multiline=True, max_tokens=3)
    )
    assert out.ids == script[:3] and out.stop_reason == "budget"
    assert out.steps == 3  # one token per step, and none for the 13 positions the budget cuts


def test_past_its_deadline_a_multi_line_span_ends_at_its_last_finished_line():
    from mercury.denoiser.sampler import GreedySampler

    script = ids("alpha beta\nreturn value\nalpha beta gamma")
    late = SpanSettings(tau=1.0, multiline=True, deadline=0.0)  # long past
    out = sampler_for(script, [0.99] * 48, L=16).fill([0, 1, 2], None, late)
    assert out.text == "alpha beta" and out.stop_reason == "time"
    ar = GreedySampler(ScriptedCausalNet(script), TOK).fill([0, 1, 2], None, late)
    assert ar.text == "alpha beta" and ar.stop_reason == "time"
    on_time = sampler_for(script, [0.99] * 48, L=16).fill(
        [0, 1, 2], None, SpanSettings(tau=1.0, multiline=True)
    )
    assert on_time.text.startswith("alpha beta\nreturn value\n")


class ChecksThenStops(DraftCheck):
    """A constraint that finds nothing wrong in its first `checks` drafts, then stops checking."""

    def __init__(self, checks: int):
        self.left = checks

    def invalid_ranges(self, middle, complete):
        self.left -= 1
        return [] if self.left >= 0 else None

    def accepts(self, middle):
        return True


def test_once_the_constraint_stops_checking_a_multi_line_span_ends_at_its_last_finished_line():
    script = ids("alpha beta\nreturn value\nalpha beta gamma")
    settings = SpanSettings(tau=1.0, multiline=True)  # a token a step: the checks run out mid-span
    out = sampler_for(script, [0.99] * 48, L=16).fill([0, 1, 2], None, settings, ChecksThenStops(6))
    assert out.text == "alpha beta" and out.stop_reason == "unchecked"
    checked = sampler_for(script, [0.99] * 48, L=16).fill([0, 1, 2], None, settings, ChecksThenStops(99))
    assert checked.text.startswith("alpha beta\nreturn value\n")
    line = sampler_for(script, [0.99] * 48, L=16).fill(
        [0, 1, 2], None, SpanSettings(tau=1.0), ChecksThenStops(1)
    )
    assert line.text == "alpha beta" and line.stop_reason == "newline"  # a single line ends where it ends


class BrokenAtCursor(DraftCheck):
    """Accepts every middle; the file is broken around the cursor where `broken` says so."""

    def __init__(self, broken: bool):
        self.broken, self.asked = broken, 0

    def invalid_ranges(self, middle, complete):
        return []

    def accepts(self, middle):
        return True

    def broken_at_cursor(self):
        self.asked += 1
        return self.broken


@pytest.mark.parametrize("multiline", [False, True], ids=["line", "multi-line"])
@pytest.mark.parametrize("indent", ["", "    "], ids=["bare", "indented"])
def test_where_the_file_is_broken_at_the_cursor_an_empty_span_is_asked_for_text(multiline, indent):
    end = [TOK.eom_id] if multiline else ids("\n")
    script = ids(indent) + end * 4  # the model would end the span at once, after the indentation
    settings = SpanSettings(tau=0.5, multiline=multiline)
    clean = sampler_for(script, [0.99] * 8).fill([0, 1, 2], None, settings, BrokenAtCursor(False))
    assert clean.text == indent
    out = sampler_for(script, [0.99] * 8).fill([0, 1, 2], None, settings, BrokenAtCursor(True))
    assert out.text == indent + RUNNER_UP and out.vetoed >= 1  # its end was banned: the next best


@pytest.mark.parametrize(
    ("prefix", "asked_for_text"),
    [("x = 1\n", True), ("x = 1\n    ", True), ("def f():", False)],
    ids=["blank-line", "indented-blank-line", "after-a-header"],
)
def test_a_multi_line_span_on_a_blank_line_of_a_broken_file_writes_on_that_line(prefix, asked_for_text):
    """At a file's end the model goes on below a function that lacks its `}`; a newline that would
    leave the cursor's blank line empty is banned there. After a header the newline is the answer's
    own: the body goes on the next line."""
    below = "\n" + "    " * prefix.endswith(("    ", ":")) + "alpha"  # a line the scope keeps
    script = ids(below) + [TOK.eom_id]
    settings = SpanSettings(tau=0.5, multiline=True, scope=IndentScope.at(prefix))
    clean = sampler_for(script, [0.99] * 8).fill([0, 1, 2], None, settings, BrokenAtCursor(False))
    assert clean.text == below
    out = sampler_for(script, [0.99] * 8).fill([0, 1, 2], None, settings, BrokenAtCursor(True))
    assert out.text.startswith(RUNNER_UP) == asked_for_text
    assert out.text.endswith("alpha")


def test_a_span_with_text_never_asks_whether_the_file_is_broken_at_the_cursor():
    check = BrokenAtCursor(True)
    out = sampler_for(ids("alpha\n"), [0.99] * 8).fill([0, 1, 2], None, SpanSettings(tau=0.5), check)
    assert out.text == "alpha" and check.asked == 0


class ClosesAtTheCursor(BrokenAtCursor):
    """A file that a `}` on the cursor's line mends; the final check accepts `valid` besides."""

    def __init__(self, *valid: str):
        super().__init__(True)
        self.valid = {"}", *valid}

    def accepts(self, middle):
        return middle in self.valid

    def closing_line(self):
        return "}"


@pytest.mark.parametrize("multiline", [False, True], ids=["line", "multi-line"])
def test_a_span_that_finds_no_text_answers_the_closing_line(multiline):
    end = [TOK.eom_id] if multiline else ids("\n")
    settings = SpanSettings(tau=0.5, multiline=multiline)
    out = sampler_for(end * 4, [0.99] * 8).fill([0, 1, 2], None, settings, ClosesAtTheCursor())
    assert out.text == "}" and out.stop_reason == "closer" and TOK.decode(out.ids) == "}"


class AfterExit(ClosesAtTheCursor):
    """A blank line below a `return`, where the code below shows the block ending (or not)."""

    def __init__(self, due: bool):
        super().__init__("alpha")
        self.due = due

    def after_exit(self):
        return True

    def closing_line(self):
        return "}" if self.due else None


@pytest.mark.parametrize("multiline", [False, True], ids=["line", "multi-line"])
def test_below_a_statement_that_leaves_its_block_the_closer_is_answered_without_the_model(multiline):
    script = ids("alpha\n") + [TOK.eom_id]
    settings = SpanSettings(tau=0.5, multiline=multiline)
    out = sampler_for(script, [0.99] * 8).fill([0, 1, 2], None, settings, AfterExit(due=True))
    assert (out.text, out.stop_reason, out.steps, TOK.decode(out.ids)) == ("}", "closer", 0, "}")
    out = sampler_for(script, [0.99] * 8).fill([0, 1, 2], None, settings, AfterExit(due=False))
    assert out.text == "alpha" and out.steps > 0  # no closer due: the model writes the line


@pytest.mark.parametrize(("valid", "answer"), [(("alpha",), "alpha"), ((), "}")], ids=["accepted", "refused"])
def test_text_the_final_check_accepts_is_kept_though_a_closing_line_is_due(valid, answer):
    check = ClosesAtTheCursor(*valid)
    out = sampler_for(ids("alpha\n"), [0.99] * 8).fill([0, 1, 2], None, SpanSettings(tau=0.5), check)
    assert out.text == answer


class AcceptOnly(DraftCheck):
    """A constraint whose final check accepts only the given texts, and counts its calls."""

    def __init__(self, *valid: str):
        self.valid, self.checked = set(valid), []

    def invalid_ranges(self, middle, complete):
        return []

    def accepts(self, middle):
        self.checked.append(middle)
        return middle in self.valid


def test_a_refused_single_line_span_falls_back_to_its_longest_accepted_start():
    script = ids("alpha beta gamma") + [TOK.eom_id]
    check = AcceptOnly("alpha", "alpha beta")
    out = sampler_for(script, [0.99] * 8).fill([0, 1, 2], None, SpanSettings(tau=0.5), check)
    assert out.text == "alpha beta" and out.stop_reason == "constraint"
    assert len(check.checked) == len(set(check.checked))  # each cut is parsed once


def test_a_refused_multi_line_span_is_cut_at_a_line_end_past_its_first_lines():
    lines = "alpha beta\nalpha gamma beta\nbeta gamma alpha gamma\ngamma beta"
    script = ids(lines) + [TOK.eom_id]
    whole_three = "alpha beta\nalpha gamma beta\nbeta gamma alpha gamma"
    check = AcceptOnly("alpha", "alpha beta\nalpha", whole_three)
    sampler = BlockDiffusionSampler(ScriptedNet(script, [0.99] * 32, block_length=16), TOK)
    out = sampler.fill([0, 1, 2], None, SpanSettings(tau=0.5, multiline=True), check)
    assert out.text == whole_three
    past_two_lines = [text for text in check.checked[1:] if text.count("\n") >= 2]  # [0]: the whole span
    assert past_two_lines and all(lines.startswith(text + "\n") for text in past_two_lines)  # whole lines
    cut = sampler_module.longest_accepted(TOK, ids(lines), AcceptOnly("alpha", "alpha beta\nalpha"), True)
    assert cut[1] == "alpha beta\nalpha"  # within the first two lines any token boundary is tried


def test_the_fallback_never_answers_whitespace_alone():
    check = AcceptOnly("   ", "   alpha")
    assert sampler_module.longest_accepted(TOK, ids("   alpha beta"), check, False)[1] == "   alpha"
    check = AcceptOnly("   ")  # the indentation alone would show nothing: nothing is answered
    assert sampler_module.longest_accepted(TOK, ids("   alpha beta"), check, False) == ([], "")
    assert "   " not in check.checked


@pytest.mark.parametrize("multiline", [True, False])
def test_a_tab_past_one_more_than_the_line_above_is_banned(multiline):
    """The canvas proposes a tab at every position of an indentation at once; six in a row were cut
    as a loop and the span ended empty. Tabs past the line above's + 1 get their next best."""
    tab = ids("\t")
    assert len(tab) == 1
    script = tab * 6 + ids("return value")[:2]
    scope = IndentScope.at("func f() {\n\tif x {\n")  # blank cursor line below one tab: two at most
    settings = SpanSettings(tau=0.9, multiline=multiline, max_tokens=8, scope=scope)
    out = sampler_for(script, [0.99] * 8, L=8).fill([0, 1, 2], None, settings)
    indentation = out.text[: len(out.text) - len(out.text.lstrip("\t"))]
    assert indentation == "\t\t" and out.text.strip() and out.stop_reason != "repetition"


def test_tab_depth_follows_the_last_line_with_text():
    depth = sampler_module._TabDepth(IndentScope.at("\t\tx = 1\n\t"))  # cursor after one typed tab
    assert not depth.too_deep(2) and depth.too_deep(3)
    depth.read("y\n\t\t\t\n")  # the cursor's line gets text at one tab; a blank line does not count
    assert not depth.too_deep(2) and depth.too_deep(3)
