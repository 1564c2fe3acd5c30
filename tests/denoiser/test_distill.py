"""`mercury distill` and training on its output: the teacher's middles, and where the real ones stay."""

import json
import random

import pytest
import torch
from mercury.denoiser.data import FimSampler, MixedSampler, SpanPolicy
from mercury.denoiser.distill import distill_example, read_distilled, tokenizer_digest
from mercury.denoiser.model import ModelConfig
from mercury.denoiser.objective import FimExample, context_ids
from mercury.denoiser.sampler import GreedySampler
from mercury.denoiser.tokenizer import CodeTokenizer
from mercury.denoiser.train import Trainer, parse_args
from tiny_model import MEMORISED

from mercury.cli import main as mercury_main

SMALL = ["--max-prefix", "32", "--max-suffix", "16", "--max-middle", "8"]


class _Cache:
    length = 0

    def truncated(self, n):
        return self


class ScriptedTeacher:
    """A stand-in network whose greedy choice at each step is the next token of a script."""

    def __init__(self, script: list[int], vocab_size: int):
        self.cfg = ModelConfig(vocab_size=vocab_size, block_length=4, objective="ar")
        self.script, self.calls = script, 0

    def step_logits(self, cache, clean, canvas, rows=None):
        logits = torch.zeros(self.cfg.vocab_size)
        logits[self.script[min(self.calls, len(self.script) - 1)]] = 1.0
        self.calls += 1
        return logits, _Cache()


@pytest.fixture
def tok(tiny_ar_model_dir):
    return CodeTokenizer.load(tiny_ar_model_dir / "tokenizer.json")


def real_example(tok):
    return FimExample(
        tok.encode("def area(width, "), tok.encode("\n    return width"), tok.encode("height):")
    )


def teach(tok, script):
    teacher = ScriptedTeacher(script, tok.vocab_size)
    return distill_example(GreedySampler(teacher, tok), tok, real_example(tok), max_middle=8)


def test_the_teachers_middle_replaces_the_real_one_where_the_teacher_ends_it(tok):
    a, b = tok.encode("x")[0], tok.encode("y")[0]
    d = teach(tok, [a, b, tok.eom_id])
    assert d.from_teacher
    assert d.example.middle_ids == [a, b]
    assert d.example.prefix_ids == real_example(tok).prefix_ids  # the context is the real one


@pytest.mark.parametrize("script", ["eom first", "no end"])
def test_the_real_middle_stays_where_the_teacher_gives_nothing_or_never_ends(tok, script):
    ids = [tok.eom_id] if script == "eom first" else [tok.encode("x")[0]]
    d = teach(tok, ids)
    assert not d.from_teacher
    assert d.example == real_example(tok)


def test_distill_writes_the_teachers_middles_and_continues_its_file(tmp_path, tiny_ar_model_dir, tok):
    code = tmp_path / "code"
    code.mkdir()
    (code / "m.py").write_text(MEMORISED)
    out = tmp_path / "distilled.jsonl"
    args = ["distill", str(code), "--teacher", str(tiny_ar_model_dir), "--out", str(out), *SMALL]
    assert mercury_main([*args, "--examples", "6"]) == 0
    first = out.read_text().splitlines()
    assert mercury_main([*args, "--examples", "10"]) == 0
    lines = out.read_text().splitlines()
    assert len(first) == 6 and len(lines) == 10 and lines[:6] == first
    records = [json.loads(line) for line in lines]
    assert {r["tokenizer"] for r in records} == {tokenizer_digest(tiny_ar_model_dir / "tokenizer.json")}
    greedy = GreedySampler(*_teacher(tiny_ar_model_dir, tok))
    for r in records:  # each record is what the teacher writes for its context, or the real middle
        real = FimExample(r["prefix_ids"], r["suffix_ids"], r["middle_ids"])
        if r["teacher"]:
            assert distill_example(greedy, tok, real, max_middle=8).example.middle_ids == r["middle_ids"]
    assert any(r["teacher"] for r in records)


def _teacher(folder, tok):
    from mercury.denoiser.engine import Engine

    return Engine.load(str(folder), constrained=False, backend="torch").model, tok


def test_distilled_examples_from_another_tokenizer_are_refused(tmp_path, tiny_ar_model_dir):
    path = tmp_path / "d.jsonl"
    record = {"prefix_ids": [1], "suffix_ids": [], "middle_ids": [2], "teacher": True, "tokenizer": "0" * 16}
    path.write_text(json.dumps(record) + "\n")
    with pytest.raises(ValueError, match="another tokenizer"):
        read_distilled([str(path)], tiny_ar_model_dir / "tokenizer.json")


@pytest.mark.parametrize("line", ['{"prefix_ids": [1], "suffix_ids"', '{"middle_ids": [2]}', "[1, 2]"])
def test_a_line_that_is_no_distilled_record_is_a_clear_error(tmp_path, tiny_ar_model_dir, line):
    path = tmp_path / "d.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(ValueError, match=r"d.jsonl:1: not a `mercury distill` record"):
        read_distilled([str(path)], tiny_ar_model_dir / "tokenizer.json")


def test_mixed_sampler_draws_the_given_examples_at_its_share(tok):
    given = [FimExample([1], [], [2])]
    cut = FimSampler(
        [MEMORISED], tok, random.Random(0), SpanPolicy(max_prefix=32, max_suffix=16, max_middle=8)
    )
    for share, low, high in ((0.0, 0, 0), (0.5, 150, 250), (1.0, 400, 400)):
        mixed = MixedSampler(cut, given, share, random.Random(1))
        drawn = sum(mixed.sample() is given[0] for _ in range(400))
        assert low <= drawn <= high
    with pytest.raises(ValueError, match="share"):
        MixedSampler(cut, given, 1.5, random.Random(1))


def distilled_run(tmp_path, teacher, *extra):
    """A trainer on 4 distilled examples from `teacher`, and those examples."""
    code = tmp_path / "code"
    code.mkdir()
    (code / "m.py").write_text(MEMORISED)
    path = tmp_path / "d.jsonl"
    mercury_main(
        ["distill", str(code), "--teacher", str(teacher), "--out", str(path), "--examples", "4", *SMALL]
    )
    given = read_distilled([str(path)], teacher / "tokenizer.json")
    argv = [str(code), "--out", str(tmp_path / "run"), "--init-from", str(teacher), "--adapt-to", "diffusion"]
    argv += ["--distilled", str(path), "--max-steps", "2", "--batch-size", "2", *SMALL, *extra]
    return Trainer(*parse_args(argv)), given


def test_train_draws_from_distilled_files(tmp_path, tiny_ar_model_dir):
    trainer, given = distilled_run(tmp_path, tiny_ar_model_dir)
    assert all(trainer.sampler.sample() in given for _ in range(20))  # share 1 by default
    trainer.run()
    assert trainer.step == 2


def test_loader_workers_draw_from_distilled_files_too(tmp_path, tiny_ar_model_dir, tok):
    trainer, given = distilled_run(tmp_path, tiny_ar_model_dir, "--loader-workers", "1")
    contexts = [context_ids(tok, e.prefix_ids, e.suffix_ids) for e in given]
    batch = trainer._next_batch()
    for row in batch.ids.tolist():
        assert any(row[: len(c)] == c for c in contexts)
