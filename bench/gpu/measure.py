"""Measurements after training: held-out loss by part, sampler speed at batch 1, batched forward speed.

The sampler (denoiser/sampler.py) fills one span at a time, so "batched" here is the denoising
forward pass alone at batch B against a cached context: an upper bound for a batched sampler, not a
sampler measurement. Requests are built like `mercury eval` builds them (mercury/evaluate.py, which
itself cannot be imported where tree-sitter is missing): context clipped at line boundaries to
4,096/2,048 characters, single-line budget 48 tokens, tau 0.9, no syntax constraint.
"""

from __future__ import annotations

import statistics
import time

import torch
from mercury.denoiser.api import CompletionRequest
from mercury.denoiser.engine import Engine
from mercury.denoiser.model import Denoiser

from mercury.eval_metrics import edit_similarity, exact_match
from mercury.eval_tasks import FimTask, clip_context, heldout_tasks

PREFIX_CHARS, SUFFIX_CHARS = 4096, 2048  # mercury.evaluate.EvalConfig's defaults
WARMUP = 3


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def heldout_loss_parts(trainer) -> dict:
    """Mean total, diffusion and next-token loss over the trainer's held-out batches."""
    result = {k.removeprefix("heldout_"): round(v, 4) for k, v in trainer.heldout_losses().items()}
    result["batches"] = len(trainer.heldout)
    result["examples"] = len(trainer.heldout) * trainer.cfg.batch_size
    return result


def request(task: FimTask) -> CompletionRequest:
    prefix, suffix = clip_context(task.prefix, task.suffix, PREFIX_CHARS, SUFFIX_CHARS)
    return CompletionRequest(
        prefix=prefix,
        suffix=suffix,
        language=task.language,
        multiline=task.multiline,
        max_tokens=task.max_tokens,
        tau=0.9,
        constrained=False,
    )


def sampler_speed(engine: Engine, tasks: list[FimTask], seconds: float) -> dict:
    """Batch-1 completions of held-out tasks for up to `seconds`: speed, forward passes, exact match."""
    for task in tasks[:WARMUP]:  # CUDA context, kernels and allocator warm up here, untimed
        engine.complete(request(task))
    rows, deadline = [], time.monotonic() + seconds
    for task in tasks[WARMUP:]:
        if time.monotonic() > deadline:
            break
        result = engine.complete(request(task))
        rows.append((result, task))
    if not rows:
        return {"tasks": 0}
    tokens = sum(r.tokens for r, _ in rows)
    steps = sum(r.steps for r, _ in rows)
    ms = [r.elapsed_ms for r, _ in rows]
    return {
        "tasks": len(rows),
        "generated_tokens": tokens,
        "tokens_per_s": round(tokens / (sum(ms) / 1000), 1),
        "median_ms_per_completion": round(statistics.median(ms), 2),
        "forward_passes_per_token": round(steps / tokens, 3) if tokens else None,
        "tokens_per_step": round(tokens / max(1, steps), 3),
        "exact_match": round(statistics.fmean(exact_match(r.text, t.middle) for r, t in rows), 4),
        "edit_similarity": round(statistics.fmean(edit_similarity(r.text, t.middle) for r, t in rows), 4),
    }


@torch.inference_mode()
def batched_forward(model: Denoiser, mask_id: int, sizes: tuple[int, ...], context: int, steps: int) -> list:
    """ms per denoising forward of B canvases against B cached contexts of `context` tokens."""
    device, L = model.embed.weight.device, model.cfg.block_length
    rows = []
    for B in sizes:
        gen = torch.Generator().manual_seed(B)
        ids = torch.randint(8, model.cfg.vocab_size, (B, context), generator=gen).to(device)
        _, cache = model.extend(None, ids, None)
        canvas = torch.full((B, L), mask_id, dtype=torch.long, device=device)
        ms = ms_per_call(lambda c=cache, x=canvas: denoise_step(model, c, x), device, steps, warmup=2)
        rows.append({"batch": B, "ms_per_step": round(ms, 3), "canvas_tokens_per_s": round(B * L / ms * 1e3)})
    return rows


def denoise_step(model: Denoiser, cache, canvas: torch.Tensor) -> torch.Tensor:
    """One denoising forward of `canvas` against `cache` (nothing appended), with its proposals."""
    return model.logits(model.extend(cache, canvas[:, :0], canvas)[0]).argmax(-1)


def ms_per_call(call, device: torch.device, calls: int, warmup: int) -> float:
    """Mean milliseconds per call of `call` after `warmup` untimed calls, the device drained."""
    for _ in range(warmup):
        call()
    _sync(device)
    start = time.perf_counter()
    for _ in range(calls):
        call()
    _sync(device)
    return (time.perf_counter() - start) / calls * 1000


def engine_on(folder, device: torch.device, dtype: torch.dtype) -> Engine:
    """An unconstrained PyTorch engine with the folder's weights in `dtype` on `device`."""
    from mercury.denoiser.tokenizer import CodeTokenizer

    model = Denoiser.load(folder, dtype=dtype).to(device)
    return Engine(folder, model, CodeTokenizer.load(folder / "tokenizer.json"), None, "torch")


def throughput(folder, device: torch.device, records: list[dict], plan) -> dict:
    """Load the exported model (bf16) on `device` and measure the sampler and the batched forward."""
    engine = engine_on(folder, device, torch.bfloat16)
    model, tok = engine.model, engine.tok
    tasks = heldout_tasks(records, "single-line", plan.sampler_tasks + WARMUP, seed=1234)
    batch1 = sampler_speed(engine, tasks, plan.sampler_seconds)
    sizes, context, steps = plan.batched_sizes, plan.batched_context, plan.batched_steps
    batched = batched_forward(model, tok.mask_id, sizes, context, steps)
    per_step = batch1.get("tokens_per_step", 0)
    for row in batched:  # what a lockstep batched sampler would give at batch 1's tokens per step
        row["implied_tokens_per_s"] = round(row["canvas_tokens_per_s"] / model.cfg.block_length * per_step)
    return {
        "weights": "bf16",
        "device": str(device),
        "batch1_sampler": batch1,
        "batched_forward": batched,
        "note": "the sampler fills one span at a time; batched rows time the forward pass alone, "
        "and implied_tokens_per_s assumes batch 1's tokens per step",
        "tasks": "single-line FIM tasks cut from this machine's held-out stdlib packages "
        "(not the dev sets: run `mercury eval` for the card's numbers)",
    }
