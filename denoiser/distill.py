"""`mercury distill`: a teacher's greedy middles, for sequence-level knowledge distillation.

A parallel decoder commits a position once the model is sure of it. Trained on real code, the
model spreads its belief over every way a span could go on, so few positions clear the threshold
in one step. Trained on one teacher's greedy output for each context instead, it learns a single
answer per context and commits more of it at once: the standard remedy of non-autoregressive
translation (Kim & Rush 2016, arXiv 1606.07947; Gu et al. 2018, arXiv 1711.02281).

Examples are cut from the training texts exactly as `mercury train` cuts them (data.FimSampler);
the teacher then fills each middle greedily from the same prefix and suffix tokens. Where the
teacher's span does not end by itself (no <eom> within --max-middle tokens, or a repetition loop),
or ends empty, the real middle stays: those examples teach where a span ends. Each output line is
one example as token ids, so the student trains on exactly the tokens the teacher saw; the
teacher's and student's tokenizers must be the same file, and the records carry its digest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from .data import FimSampler, SpanPolicy, read_texts
from .objective import FimExample, context_ids
from .sampler import GreedySampler, SpanSettings
from .tokenizer import CodeTokenizer


@dataclass(frozen=True)
class Distilled:
    example: FimExample
    from_teacher: bool  # False: the teacher's span did not end by itself, the real middle stayed


def tokenizer_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def distill_example(
    greedy: GreedySampler, tok: CodeTokenizer, real: FimExample, max_middle: int
) -> Distilled:
    """The teacher's greedy middle for the real example's context, or the real example."""
    settings = SpanSettings(multiline=True, max_tokens=max_middle)
    out = greedy.fill(context_ids(tok, real.prefix_ids, real.suffix_ids), None, settings)
    if out.stop_reason != "eom" or not out.ids:
        return Distilled(real, False)
    return Distilled(FimExample(real.prefix_ids, real.suffix_ids, list(out.ids)), True)


def to_record(d: Distilled, digest: str) -> dict:
    ex = d.example
    return {
        "prefix_ids": ex.prefix_ids,
        "suffix_ids": ex.suffix_ids,
        "middle_ids": ex.middle_ids,
        "teacher": d.from_teacher,
        "tokenizer": digest,
    }


def read_distilled(paths: list[str], tok_path: Path) -> list[FimExample]:
    """Examples from `mercury distill` files; refuses records made with another tokenizer."""
    digest = tokenizer_digest(tok_path)
    examples = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                record = _record(line, f"{path}:{n}")
                if record["tokenizer"] != digest:
                    raise ValueError(
                        f"{path}:{n}: made with another tokenizer than {tok_path} "
                        "(distill with a teacher that shares the student's tokenizer)"
                    )
                examples.append(FimExample(record["prefix_ids"], record["suffix_ids"], record["middle_ids"]))
    if not examples:
        raise ValueError(f"no distilled examples in {', '.join(paths)}")
    return examples


def _record(line: str, where: str) -> dict:
    try:
        record = json.loads(line)
        keys = ("prefix_ids", "suffix_ids", "middle_ids", "tokenizer")
        if isinstance(record, dict) and all(key in record for key in keys):
            return record
    except json.JSONDecodeError:
        pass
    raise ValueError(f"{where}: not a `mercury distill` record (a cut-off line of an interrupted run?)")


def count_lines(path: Path) -> int:
    if not path.exists():
        return 0
    with path.open(encoding="utf-8") as f:
        return sum(1 for line in f if line.strip())


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="mercury distill", description=__doc__.split("\n\n")[0])
    p.add_argument("data", nargs="+", help="training corpus .jsonl files, code folders or globs")
    p.add_argument("--teacher", required=True, help="model name or folder that writes the middles")
    p.add_argument("--out", required=True, help="JSONL file; an existing one is continued, not rewritten")
    p.add_argument("--examples", type=int, required=True, help="examples the file should hold in the end")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--backend", default="auto", help="the teacher's backend (see `mercury complete`)")
    policy = SpanPolicy()
    p.add_argument("--fim-rate", type=float, default=policy.fim_rate)
    p.add_argument("--max-prefix", type=int, default=policy.max_prefix)
    p.add_argument("--max-suffix", type=int, default=policy.max_suffix)
    p.add_argument("--max-middle", type=int, default=policy.max_middle)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from .engine import Engine  # loads torch and the backends: not needed for --help

    args = parse_args(argv)
    engine = Engine.load(args.teacher, constrained=False, threads=args.threads, backend=args.backend)
    tok = engine.tok
    digest = tokenizer_digest(engine.folder / "tokenizer.json")
    out = Path(args.out)
    done = count_lines(out)
    # A continued file draws from a stream seeded by its length, so it never repeats its first part.
    rng = random.Random(f"{args.seed}/{done}")
    policy = SpanPolicy(
        fim_rate=args.fim_rate,
        max_prefix=args.max_prefix,
        max_suffix=args.max_suffix,
        max_middle=args.max_middle,
    )
    sampler = FimSampler(read_texts(args.data), tok, rng, policy)
    greedy = GreedySampler(engine.model, tok)
    taught = 0
    with out.open("a", encoding="utf-8") as f:
        for _ in tqdm(range(done, args.examples), desc="distill", unit="ex", dynamic_ncols=True):
            d = distill_example(greedy, tok, sampler.sample(), args.max_middle)
            taught += d.from_teacher
            f.write(json.dumps(to_record(d, digest)) + "\n")
            f.flush()  # an interrupted run loses at most the example in hand
    made, total = max(0, args.examples - done), max(done, args.examples)
    print(f"{out}: {made} examples written ({taught} with the teacher's middle), {total} in all")
    return 0
