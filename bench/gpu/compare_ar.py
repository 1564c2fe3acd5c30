"""GPU speed of the diffusion sampler beside the autoregressive baseline, both in one run on one GPU.

    .venv/bin/python -m bench.gpu.compare_ar tasks --out .gpu-carry/tasks.json     # here: the dev tasks
    python3 -m bench.gpu.compare_ar run --tasks .gpu-carry/tasks.json \\
        --diffusion .gpu-carry/coder-mini --ar .gpu-carry/coder-mini-ar \\
        --size-config models/coder-small/config.json --out $OUT/gpu_speed.json   # there

Two comparisons, each like with like:
- the samplers at batch 1 with trained weights: coder-mini beside coder-mini-ar (same size, tokenizer,
  data and training compute) on the dev set's held-out single- and multi-line tasks, bf16;
- one step of each decoder at a larger size (coder-small's config), random weights (step time does not
  depend on them): a diffusion step (a block of `block_length` masked positions) beside an AR step (one
  token), against the same cached context, at batch 1 to 128.
Each part is written to the report as soon as it ends and a failing part is recorded, not fatal.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
import traceback
from pathlib import Path

import torch
from mercury.denoiser.model import Denoiser, ModelConfig

from mercury.eval_tasks import FimTask

from . import measure  # bench.gpu's __init__ has made mercury.<part> importable by now

SETS = ("heldout-single-line", "heldout-multi-line")
BATCH_SIZES = (1, 8, 32, 128)
CONTEXT, STEPS = 384, 20


def write_tasks(out: Path, limit: int) -> None:
    """The dev set's tasks as `mercury eval --limit` builds them (needs the held-out corpus)."""
    from mercury.evaluate import EvalConfig, build_set

    cfg = EvalConfig(sets=SETS, limit=limit)
    tasks = [dataclasses.asdict(t) for name in SETS for t in build_set(name, cfg)]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(tasks))
    print(f"wrote {len(tasks)} tasks to {out}")


def load_tasks(path: Path) -> dict[str, list[FimTask]]:
    by_set: dict[str, list[FimTask]] = {}
    for raw in json.loads(path.read_text()):
        raw["tests"] = tuple((src, tuple(io)) for src, io in raw.get("tests", ()))
        by_set.setdefault(raw["set_name"], []).append(FimTask(**raw))
    return by_set


def samplers(tasks: dict[str, list[FimTask]], folders: dict[str, Path], device, dtype, seconds) -> dict:
    """Batch-1 sampler speed and accuracy of each model on each set (the first tasks warm up)."""
    rows = {}
    for label, folder in folders.items():
        engine = measure.engine_on(folder, device, dtype)
        rows[label] = {name: measure.sampler_speed(engine, ts, seconds) for name, ts in tasks.items()}
        if device.type == "cuda":
            torch.cuda.empty_cache()
    return rows


@torch.inference_mode()
def step_times(cfg: ModelConfig, device: torch.device, dtype: torch.dtype) -> list[dict]:
    """ms per diffusion step and per AR step against the same cached context, random weights."""
    model = Denoiser(cfg).to(device, dtype).eval()
    rows = []
    for B in BATCH_SIZES:
        ids = torch.randint(8, cfg.vocab_size, (B, CONTEXT), generator=torch.Generator().manual_seed(B))
        ids = ids.to(device)
        _, cache = model.extend(None, ids, None)
        canvas = torch.full((B, cfg.block_length), 3, dtype=torch.long, device=device)
        denoise = lambda c=cache, x=canvas: measure.denoise_step(model, c, x)  # noqa: E731
        next_token = lambda c=cache, t=ids[:, -1:]: model.logits(model.extend(c, t, None)[0]).argmax(-1)  # noqa: E731
        diffusion = measure.ms_per_call(denoise, device, STEPS, warmup=3)
        ar = measure.ms_per_call(next_token, device, STEPS, warmup=3)
        rows.append({
            "batch": B,
            "diffusion_ms_per_step": round(diffusion, 3),
            "ar_ms_per_step": round(ar, 3),
            "diffusion_positions_per_s": round(B * cfg.block_length / diffusion * 1e3),
            "ar_tokens_per_s": round(B / ar * 1e3),
        })  # fmt: skip
    return rows


def run(args: argparse.Namespace) -> int:
    device, dtype = torch.device(args.device), getattr(torch, args.dtype)
    note = __doc__.split("Two comparisons")[1].strip()
    report: dict = {"machine": _machine(device), "dtype": args.dtype, "note": note}
    parts = {
        "samplers": lambda: samplers(
            load_tasks(args.tasks), {"diffusion": args.diffusion, "ar": args.ar}, device, dtype, args.seconds
        ),
        "step_times": lambda: {
            "config": json.loads(args.size_config.read_text()),
            "rows": step_times(ModelConfig.load(args.size_config), device, dtype),
        },
    }
    failed = 0
    for name, part in parts.items():
        start = time.monotonic()
        try:
            report[name] = part()
        except Exception:  # one broken part must not cost the other's result
            report[name] = {"error": traceback.format_exc()}
            failed += 1
        report.setdefault("seconds", {})[name] = round(time.monotonic() - start, 1)
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1))
        print(f"== {name}: {json.dumps(report[name])[:2000]}", flush=True)
    return 1 if failed else 0


def _machine(device: torch.device) -> dict:
    info = {"torch": torch.__version__, "device": str(device)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tasks = sub.add_parser("tasks", help="write the dev tasks (here)")
    tasks.add_argument("--out", type=Path, required=True)
    tasks.add_argument("--limit", type=int, default=80)
    go = sub.add_parser("run", help="measure (on the GPU)")
    go.add_argument("--tasks", type=Path, required=True)
    go.add_argument("--diffusion", type=Path, required=True)
    go.add_argument("--ar", type=Path, required=True)
    go.add_argument("--size-config", type=Path, required=True)
    go.add_argument("--out", type=Path, required=True)
    go.add_argument("--device", default="cuda")
    go.add_argument("--dtype", default="bfloat16", help="float32 for a dry run on a CPU")
    go.add_argument("--seconds", type=float, default=20.0, help="per model and set")
    args = parser.parse_args(argv)
    if args.command == "tasks":
        write_tasks(args.out, args.limit)
        return 0
    return run(args)


if __name__ == "__main__":
    raise SystemExit(main())
