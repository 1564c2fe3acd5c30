"""Train coder-small on one GPU inside a wall-clock budget: corpus, training, evaluation, export.

    OUT=/folder/that/comes/back bash bench/gpu/train_coder_small.sh      # the GPU run
    MERCURY_GPU_DRY_RUN=1 OUT=/tmp/x bash bench/gpu/train_coder_small.sh # the same, tiny, on a CPU

Phases, in order: a preflight of every device path on a toy model, the corpus (installed permissive
Python and the stdlib, held-out packages apart), trainer set-up (tokenizer, model), training for what
the budget leaves, export of bf16 weights in shards under 16 MiB, held-out loss, sampler speed.
Each writes its results to $OUT/measurements.json as soon as it ends, and weights are exported before
anything is measured on them, so a run stopped at any point returns what it had. `export` is the
shell's fallback after such a stop: it exports the last checkpoint. bench/gpu/README.md has the
budget and the device call.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from . import measure
from .corpus_build import CorpusLimits, build_corpus, default_workers

MIB = 1024 * 1024
RETURN_FILE_LIMIT = 16 * MIB  # the device tool brings back files under 16 MiB, 8 files, 64 MiB in all
MODEL_DIR = "coder-small"


@dataclass(frozen=True)
class Plan:
    """Everything the run decides; stored in measurements.json."""

    name: str
    device: str
    budget_s: float
    corpus: CorpusLimits
    model: dict
    policy: dict
    train: dict
    max_train_minutes: float
    reserve_s: float  # kept after training for export, held-out loss and speed
    shard_bytes: int
    max_shards: int  # 4 shards + config + tokenizer + measurements + logs = the 8 files that come back
    sampler_tasks: int
    sampler_seconds: float
    batched_sizes: tuple[int, ...] = (1, 8, 32, 128)
    batched_context: int = 384
    batched_steps: int = 20


def gpu_plan(budget_s: float) -> Plan:
    workers = max(1, (os.cpu_count() or 4) - 3)  # the rest: the training loop and the copy threads
    if _shm_free_bytes() < 2e9:  # workers hand batches (masks of ~30 MB) over in shared memory
        workers = 0
    return Plan(
        name="gpu",
        device="cuda",
        budget_s=budget_s,
        corpus=CorpusLimits(int(700e6), int(4e6), default_workers(), deadline_s=70),
        model={"vocab_size": 8192, "d_model": 512, "n_layer": 8, "n_head": 8, "block_length": 16},
        policy={"fim_rate": 0.85, "max_prefix": 320, "max_suffix": 128, "max_middle": 96},
        train={
            "batch_size": 64,
            "lr": 1e-3,
            "warmup_steps": 300,
            "min_lr_ratio": 0.1,
            "ar_weight": 0.5,
            "eval_every": 500,
            "eval_batches": 16,
            "checkpoint_minutes": 2.0,
            "loader_workers": workers,
            "precision": "bf16",
            "max_steps": 10**9,
            "tokenizer_sample_mb": 20.0,
        },  # fmt: skip
        max_train_minutes=8.0,
        reserve_s=70,
        shard_bytes=RETURN_FILE_LIMIT - 64 * 1024,  # tensor bytes; the header is a few kB
        max_shards=4,
        sampler_tasks=300,
        sampler_seconds=25,
    )


def dry_plan(budget_s: float) -> Plan:
    """The GPU plan's code paths at toy size on a CPU: workers, shards and all."""
    return Plan(
        name="dry-run",
        device="cpu",
        budget_s=budget_s,
        corpus=CorpusLimits(int(1.5e6), int(3e5), workers=2, deadline_s=30),
        model={"vocab_size": 300, "d_model": 32, "n_layer": 1, "n_head": 2, "block_length": 4},
        policy={"fim_rate": 0.85, "max_prefix": 32, "max_suffix": 16, "max_middle": 8},
        train={
            "batch_size": 4,
            "lr": 2e-3,
            "warmup_steps": 2,
            "eval_every": 4,
            "eval_batches": 2,
            "loader_workers": 1,
            "precision": "fp32",
            "max_steps": 8,
            "threads": 1,
            "tokenizer_sample_mb": 0.3,
        },  # fmt: skip
        max_train_minutes=0.5,
        reserve_s=15,
        shard_bytes=16_000,
        max_shards=4,
        sampler_tasks=4,
        sampler_seconds=5,
        batched_sizes=(1, 2),
        batched_context=24,
        batched_steps=2,
    )


def _shm_free_bytes() -> float:
    return shutil.disk_usage("/dev/shm").free if Path("/dev/shm").is_dir() else 0.0


class Clock:
    """Seconds since the shell script started (MERCURY_GPU_T0), so interpreter start-up counts too."""

    def __init__(self, budget_s: float):
        self.start = float(os.environ.get("MERCURY_GPU_T0") or time.time())
        self.budget_s = budget_s

    def elapsed(self) -> float:
        return time.time() - self.start

    def left(self) -> float:
        return self.budget_s - self.elapsed()


class Report:
    """measurements.json, rewritten whole (atomically) after every change."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict = json.loads(path.read_text()) if path.exists() else {}
        self.data.setdefault("phases_s", {})

    def update(self, **values) -> None:
        self.data.update(values)
        tmp = self.path.with_suffix(".partial")
        tmp.write_text(json.dumps(self.data, indent=2, default=str) + "\n")
        os.replace(tmp, self.path)

    def phase(self, name: str, work):
        """Run one phase; its result and duration go into the report."""
        print(f"== {name}", flush=True)
        self.update(current_phase=name)
        t0 = time.time()
        result = work()
        self.data["phases_s"][name] = round(time.time() - t0, 1)
        self.update(**({name: result} if isinstance(result, (dict, list)) else {}))
        return result


def machine_info(device: str) -> dict:
    info = {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
    }
    info["dev_shm_free_gb"] = round(_shm_free_bytes() / 1e9, 1)
    if device == "cuda" and torch.cuda.is_available():
        props = torch.cuda.get_device_properties(0)
        info.update(gpu=props.name, gpu_memory_gb=round(props.total_memory / 1e9, 1), cuda=torch.version.cuda)
    return info


def corpus_phase(plan: Plan, work: Path) -> dict:
    manifest = build_corpus(work / "corpus", plan.corpus)
    trained = [p for p in manifest["packages"] if p["decision"] == "train"]
    kept = manifest["kept_by_source"]
    return {
        "totals": manifest["totals"],
        "seconds": manifest["seconds"],
        "truncated_at": manifest["truncated_at"],
        "stdlib": manifest["stdlib"],
        "heldout_units": manifest["split"]["units"],
        "filtered": {r: c["files"] for r, c in manifest["filtered"].items()},
        "decisions": dict(Counter(p["decision"] for p in manifest["packages"])),
        "licenses_trained": dict(Counter(p["license"] for p in trained)),
        "packages": [
            [
                p["name"],
                p["version"],
                p["license"],
                p["decision"],
                kept.get(f"{p['name']}-{p['version']}", {}).get("train_bytes", 0),
            ]
            for p in manifest["packages"]
        ],
    }


def make_trainer(plan: Plan, work: Path, compile_blocks: bool):
    from mercury.denoiser.data import SpanPolicy
    from mercury.denoiser.model import ModelConfig
    from mercury.denoiser.train import TrainConfig, Trainer

    cfg = TrainConfig(
        data=[str(work / "corpus" / "train")],
        heldout=[str(work / "corpus" / "heldout")],
        out=str(work / "model"),
        device=plan.device,
        compile=compile_blocks,
        **plan.train,
    )
    os.environ.pop("TOKENIZERS_PARALLELISM", None)  # the tokenizer trains on every core
    trainer = Trainer(cfg, ModelConfig(**plan.model), SpanPolicy(**plan.policy))
    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # loader workers fork next: no threads in them
    return trainer


def preflight(plan: Plan, work: Path) -> dict:
    """Seconds into the run, not minutes: every device path of the run on a toy model and corpus.

    Trains 3 steps (worker batches, autocast, fused AdamW, checkpoint), exports bf16 shards, loads them
    back and samples on the device. The corpus is this folder's own source: the toy model is thrown away.
    """
    from mercury.denoiser.data import SpanPolicy
    from mercury.denoiser.model import ModelConfig
    from mercury.denoiser.train import TrainConfig, Trainer

    os.environ["TOKENIZERS_PARALLELISM"] = "false"  # a toy tokenizer; the corpus workers fork next
    here = Path(__file__).parent
    toy = {k: v for k, v in plan.train.items() if k in ("precision", "threads")}
    cfg = TrainConfig(
        data=[str(here)], heldout=[str(here / "measure.py")], out=str(work / "preflight" / "model"),
        device=plan.device, max_steps=3, batch_size=2, warmup_steps=1, eval_every=2, eval_batches=1,
        loader_workers=min(1, plan.train.get("loader_workers", 0)), tokenizer_sample_mb=0.1, **toy,
    )  # fmt: skip
    block = plan.model["block_length"]
    model_cfg = ModelConfig(vocab_size=300, d_model=32, n_layer=1, n_head=2, block_length=block)
    trainer = Trainer(cfg, model_cfg, SpanPolicy(max_prefix=32, max_suffix=16, max_middle=8))
    trainer.run()
    exported = export(trainer.out, work / "preflight", shard_bytes=8000, max_shards=16)
    records = [{"text": f.read_text(), "path": f.name, "language": "python"} for f in here.glob("*.py")]
    toy_plan = argparse.Namespace(
        sampler_tasks=2, sampler_seconds=5, batched_sizes=(2,), batched_context=8, batched_steps=1
    )
    speed = measure.throughput(work / "preflight" / MODEL_DIR, torch.device(plan.device), records, toy_plan)
    return {"steps": trainer.step, "shards": len(exported["files"]) - 2, "speed": speed["batch1_sampler"]}


def check_fit(trainer, plan: Plan, work: Path) -> dict:
    """Before training, not after: the initial weights, exported as at the end, must fit the return."""
    trainer.save()  # also the first checkpoint
    result = export(trainer.out, work / "fit-check", plan.shard_bytes, plan.max_shards)
    shutil.rmtree(work / "fit-check")
    return {"parameters": trainer.model.num_parameters(), "vocab_size": trainer.tok.vocab_size, **result}


def train_phase(trainer, plan: Plan, clock: Clock) -> dict:
    minutes = min(plan.max_train_minutes, max(0.05, (clock.left() - plan.reserve_s) / 60 * 0.95))
    trainer.cfg.minutes = minutes
    print(f"training for {minutes:.2f} minutes of step time", flush=True)
    trainer.run()
    log = [json.loads(line) for line in (trainer.out / "log.jsonl").read_text().splitlines()]
    last_train = next((r for r in reversed(log) if "loss" in r), {})
    return {
        "minutes_budget": round(minutes, 2),
        "steps": trainer.step,
        "step_time_s": round(trainer.elapsed, 1),
        "supervised_tokens": trainer.tokens_seen,
        "supervised_tokens_per_s": round(trainer.tokens_seen / max(trainer.elapsed, 1e-9)),
        "precision": trainer.precision,
        "last_train_record": last_train,
        "heldout_curve": [[r["step"], round(r["heldout_loss"], 4)] for r in log if "heldout_loss" in r],
        "train_config": asdict(trainer.cfg),
        "model_config": asdict(trainer.model.cfg),
    }


def export(checkpoint: Path, out: Path, shard_bytes: int, max_shards: int) -> dict:
    """bf16 weights in shards, config and tokenizer: the model folder that comes back."""
    from mercury.denoiser.model import Denoiser

    target = out / MODEL_DIR
    model = Denoiser.load(checkpoint)
    files = model.save(target, dtype=torch.bfloat16, max_shard_bytes=shard_bytes)
    shutil.copy(checkpoint / "tokenizer.json", target / "tokenizer.json")
    sizes = {str(p.relative_to(out)): p.stat().st_size for p in sorted(target.iterdir())}
    too_big = [name for name, size in sizes.items() if size >= RETURN_FILE_LIMIT]
    if too_big or len(files) > max_shards:
        raise ValueError(f"export does not fit the return: {sizes}")
    Denoiser.load(target)  # the folder loads as shipped
    return {"files": sizes, "parameters": model.num_parameters(), "from": str(checkpoint)}


def run(plan: Plan, work: Path, out: Path, compile_blocks: bool) -> int:
    clock = Clock(plan.budget_s)
    report = Report(out / "measurements.json")
    report.update(status="running", plan=asdict(plan), machine=machine_info(plan.device))
    if plan.device == "cuda" and not torch.cuda.is_available():
        report.update(status="failed: CUDA is not available (MERCURY_GPU_DRY_RUN=1 runs on a CPU)")
        return 2
    device = torch.device(plan.device)
    try:
        report.phase("preflight", lambda: preflight(plan, work))
        report.phase("corpus", lambda: corpus_phase(plan, work))
        trainer = report.phase("setup", lambda: make_trainer(plan, work, compile_blocks))
        report.phase("fit", lambda: check_fit(trainer, plan, work))
        report.phase("train", lambda: train_phase(trainer, plan, clock))
        report.phase("export", lambda: export(trainer.out, out, plan.shard_bytes, plan.max_shards))
        report.phase("heldout", lambda: measure.heldout_loss_parts(trainer))
        records = _heldout_records(work / "corpus" / "heldout")
        report.phase("speed", lambda: measure.throughput(out / MODEL_DIR, device, records, plan))
        report.update(status="ok")
        return 0
    except Exception as exc:  # the report says what failed; the shell still exports and packs logs
        traceback.print_exc()
        report.update(status=f"failed in {report.data.get('current_phase')}: {type(exc).__name__}: {exc}")
        return 1
    finally:
        report.update(total_s=round(clock.elapsed(), 1))
        print(json.dumps(summary(report.data)), flush=True)  # the device tool's output tail shows this


def summary(data: dict) -> dict:
    """The figures to read first, in one line."""
    train, speed = data.get("train", {}), data.get("speed", {})
    return {
        "status": data.get("status"),
        "total_s": data.get("total_s"),
        "phases_s": data.get("phases_s"),
        "steps": train.get("steps"),
        "supervised_tokens": train.get("supervised_tokens"),
        "heldout": data.get("heldout"),
        "batch1": speed.get("batch1_sampler"),
    }


def _heldout_records(folder: Path) -> list[dict]:
    records = []
    for shard in sorted(folder.glob("*.jsonl")):
        records += [json.loads(line) for line in shard.read_text().splitlines() if line.strip()]
    return sorted(records, key=lambda r: (r["source"], r["path"]))


def export_fallback(plan: Plan, work: Path, out: Path, exit_code: int) -> int:
    """After the run: export the last checkpoint if the run did not get to export its weights."""
    from mercury.denoiser.model import weight_files

    report = Report(out / "measurements.json")
    status = report.data.get("status", "running")
    if status == "running":  # the shell stopped the driver
        status = f"stopped in {report.data.get('current_phase')} (exit {exit_code})"
    report.update(driver_exit_code=exit_code, status=status)
    try:
        weight_files(out / MODEL_DIR)
        return 0  # exported by the run itself
    except FileNotFoundError:
        pass
    checkpoint = work / "model"
    if not (checkpoint / "model.safetensors").exists():
        report.update(status=f"{status}; no checkpoint to export")
        return 1
    report.update(export=export(checkpoint, out, plan.shard_bytes, plan.max_shards))
    report.update(status=f"{status}; exported the last checkpoint")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.gpu.coder_small", description=__doc__.split("\n")[0])
    p.add_argument("command", choices=("run", "export"))
    p.add_argument("--out", type=Path, default=os.environ.get("OUT"), help="default $OUT")
    p.add_argument("--work", type=Path, default=Path("/tmp/coder-small-work"))
    p.add_argument("--budget-s", type=float, default=None, help="whole-run budget (default 540; dry 120)")
    p.add_argument("--dry-run", action="store_true", default=os.environ.get("MERCURY_GPU_DRY_RUN") == "1")
    p.add_argument("--compile", action="store_true", help="torch.compile the transformer blocks")
    p.add_argument("--exit-code", type=int, default=0, help="export: the run's exit status")
    args = p.parse_args(argv)
    if args.out is None:
        p.error("--out or $OUT is required")
    budget = args.budget_s or (120.0 if args.dry_run else 540.0)
    plan = dry_plan(budget) if args.dry_run else gpu_plan(budget)
    args.out.mkdir(parents=True, exist_ok=True)
    args.work.mkdir(parents=True, exist_ok=True)
    if args.command == "export":
        return export_fallback(plan, args.work, args.out, args.exit_code)
    return run(plan, args.work, args.out, args.compile)


if __name__ == "__main__":
    sys.exit(main())
