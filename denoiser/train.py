"""`mercury train`: train a block-diffusion coder (or the AR baseline) on a folder of code.

The output folder is a complete model folder at every checkpoint (config.json, tokenizer.json,
model.safetensors), plus trainer_state.pt (optimizer, step, RNG; loaded with weights_only=True) so that
a run resumes where it stopped. Runs are deterministic for a seed when bounded by --max-steps.

On a GPU (--device cuda) the model and batches live on the device, matmuls run in bf16 autocast, and
--loader-workers builds batches in worker processes, because one CPU core cannot feed the GPU. Each
worker draws from its own stream seeded by (seed, step at start, worker), so such a run is deterministic
for a worker count, but a resumed run does not replay the batches an uninterrupted one would have seen.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
from tqdm import tqdm

from .data import FimSampler, MixedSampler, SpanPolicy, read_texts
from .distill import read_distilled
from .model import OBJECTIVES, Denoiser, ModelConfig
from .objective import Batch, build_batch, loss
from .tokenizer import CodeTokenizer, train_tokenizer


@dataclass(kw_only=True)
class TrainConfig:
    data: list[str]
    out: str
    heldout: list[str] | None = None
    minutes: float = 0.0  # wall-clock budget; 0 = bounded by max_steps only
    max_steps: int = 1000
    batch_size: int = 8
    lr: float = 2e-3
    min_lr_ratio: float = 0.1
    warmup_steps: int = 100
    weight_decay: float = 0.1
    grad_clip: float = 1.0
    ar_weight: float = 2.0  # next-token term; more also lowers the diffusion loss (BENCHMARKS, section 1)
    weight_by_t: bool = False
    seed: int = 0
    precision: str = "auto"  # auto | fp32 | bf16 (autocast); auto is bf16 on CUDA
    threads: int = 0  # 0: torch's default
    device: str = "cpu"  # cpu | cuda: where the model, optimizer and batches live
    compile: bool = False  # torch.compile each transformer block (the first steps pay for compiling)
    loader_workers: int = 0  # processes building batches; 0: built in the loop (exactly resumable)
    checkpoint_minutes: float = 5.0
    eval_every: int = 200
    eval_batches: int = 8
    tokenizer_sample_mb: float = 20.0
    # `mercury distill` files: a teacher's middles, drawn at distilled_share instead of cut examples
    distilled: list[str] | None = None
    distilled_share: float = 1.0
    init_from: str = ""  # model folder to continue (weights, config, tokenizer); fresh optimizer and schedule
    # Train the --init-from model under this objective instead of its own: an AR model's weights as
    # the start of a diffusion model (adaptation, as Dream and DiffuLLaMA start from AR checkpoints).
    adapt_to: str = ""


def parse_args(argv: list[str] | None) -> tuple[TrainConfig, ModelConfig, SpanPolicy]:
    p = argparse.ArgumentParser(prog="mercury train", description=__doc__)
    p.add_argument("data", nargs="+", help="corpus .jsonl files, code folders or globs")
    _add_fields(p, TrainConfig, skip={"data"})
    _add_fields(p, ModelConfig, skip={"max_positions", "norm_eps"})
    _add_fields(p, SpanPolicy, skip=set())
    ns = vars(p.parse_args(argv))
    pick = lambda cls: {f.name: ns[f.name] for f in fields(cls) if f.name in ns and ns[f.name] is not None}  # noqa: E731
    return TrainConfig(**pick(TrainConfig)), ModelConfig(**pick(ModelConfig)), SpanPolicy(**pick(SpanPolicy))


def _add_fields(p: argparse.ArgumentParser, cls, skip: set[str]) -> None:
    for f in fields(cls):
        if f.name in skip:
            continue
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("bool", bool):
            p.add_argument(flag, action=argparse.BooleanOptionalAction, default=None)
        elif f.name in ("heldout", "distilled"):
            p.add_argument(flag, nargs="+", default=None)
        elif f.name == "out":
            p.add_argument(flag, required=True)
        else:
            kind = {"int": int, "float": float, "str": str}.get(str(f.type), str)
            p.add_argument(flag, type=kind, default=None)


def choose_precision(requested: str, device: str = "cpu") -> str:
    """bf16 autocast only where this CPU runs bf16 matmuls faster than fp32 (many CPUs emulate bf16).

    CUDA GPUs of the last generations all run bf16 at several times their fp32 rate."""
    if requested != "auto":
        return requested
    if torch.device(device).type == "cuda":
        return "bf16"
    a, b = torch.randn(256, 256), torch.randn(256, 1024)
    speed = {}
    for name, dtype in (("fp32", torch.float32), ("bf16", torch.bfloat16)):
        x, y = a.to(dtype), b.to(dtype)
        x @ y
        t = time.perf_counter()
        for _ in range(5):
            x @ y
        speed[name] = time.perf_counter() - t
    return "bf16" if speed["bf16"] * 1.3 < speed["fp32"] else "fp32"


def lr_at(progress: float, step: int, cfg: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to min_lr_ratio * lr over the run's progress in [0, 1]."""
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    cosine = 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * cosine)


class Trainer:
    def __init__(self, cfg: TrainConfig, model_cfg: ModelConfig, policy: SpanPolicy):
        self.cfg, self.policy = cfg, policy
        self.out = Path(cfg.out)
        self.out.mkdir(parents=True, exist_ok=True)
        if cfg.threads:
            torch.set_num_threads(cfg.threads)
        self.device = torch.device(cfg.device)
        if self.device.type == "cuda":  # fp32 matmuls outside autocast may use TF32 tensor cores
            torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        torch.manual_seed(cfg.seed)
        if cfg.adapt_to and (cfg.adapt_to not in OBJECTIVES or not cfg.init_from):
            raise ValueError(f"--adapt-to {cfg.adapt_to}: needs --init-from, and one of {OBJECTIVES}")
        if cfg.init_from and not (Path(cfg.init_from) / "config.json").is_file():
            raise ValueError(f"--init-from {cfg.init_from}: not a model folder (it has no config.json)")
        texts = read_texts(cfg.data)
        self.tok = self._tokenizer(texts, model_cfg.vocab_size)
        self.model = self._initial_model(model_cfg, policy).to(self.device)
        self.optimizer = self._optimizer()
        self.rng = random.Random(cfg.seed)
        self.noise = torch.Generator().manual_seed(cfg.seed)
        self.distilled = read_distilled(cfg.distilled, self.out / "tokenizer.json") if cfg.distilled else []
        self.texts = texts
        self.sampler = training_sampler(texts, self.distilled, self.tok, self.rng, policy, cfg)
        self.heldout = self._heldout_batches(cfg.heldout)
        self.precision = choose_precision(cfg.precision, cfg.device)
        self.step, self.elapsed, self.tokens_seen = 0, 0.0, 0
        self._stream = None  # worker batches, started at the first step (after any resume)
        self._resume()
        if cfg.compile:
            for block in self.model.blocks:  # in place: parameter names, hence checkpoints, stay the same
                block.compile(dynamic=True)

    def _tokenizer(self, texts: list[str], vocab_size: int) -> CodeTokenizer:
        path = self.out / "tokenizer.json"
        if self.cfg.init_from and not path.exists():
            shutil.copyfile(Path(self.cfg.init_from) / "tokenizer.json", path)
        if path.exists():
            return CodeTokenizer.load(path)
        sample, budget = [], self.cfg.tokenizer_sample_mb * 1e6
        for text in random.Random(self.cfg.seed).sample(texts, len(texts)):
            sample.append(text)
            budget -= len(text)
            if budget <= 0:
                break
        tok = train_tokenizer(sample, vocab_size)
        tok.save(path)
        return tok

    def _initial_model(self, model_cfg: ModelConfig, policy: SpanPolicy) -> Denoiser:
        """A fresh model, or the --init-from one, whose architecture wins over the command line's."""
        if self.cfg.init_from:
            model = Denoiser.load(self.cfg.init_from)
            model.cfg.objective = self.cfg.adapt_to or model.cfg.objective
            return model
        model_cfg.vocab_size = self.tok.vocab_size
        model_cfg.context_prefix, model_cfg.context_suffix = policy.max_prefix, policy.max_suffix
        return Denoiser(model_cfg)

    def _optimizer(self) -> torch.optim.Optimizer:
        decay = [p for n, p in self.model.named_parameters() if p.dim() >= 2]
        no_decay = [p for n, p in self.model.named_parameters() if p.dim() < 2]
        groups = [
            {"params": decay, "weight_decay": self.cfg.weight_decay},
            {"params": no_decay, "weight_decay": 0.0},
        ]
        fused = {"fused": True} if self.device.type == "cuda" else {}  # one kernel for all parameters
        return torch.optim.AdamW(groups, lr=self.cfg.lr, betas=(0.9, 0.95), **fused)

    def _heldout_batches(self, paths: list[str] | None) -> list:
        if not paths:
            return []
        texts = read_texts(paths)
        sampler = FimSampler(texts, self.tok, random.Random(1234), self.policy)
        gen = torch.Generator().manual_seed(1234)
        return [self._batch(sampler, gen) for _ in range(self.cfg.eval_batches)]

    def _batch(self, sampler: FimSampler, gen: torch.Generator):
        return draw_batch(sampler, gen, self.tok, self.cfg, self.model.cfg)

    def _next_batch(self) -> Batch:
        if not self.cfg.loader_workers:
            return self._batch(self.sampler, self.noise)
        if self._stream is None:
            stream = BatchStream(
                self.texts, self.distilled, self.tok, self.policy, self.cfg, self.model.cfg, self.step
            )
            loader = torch.utils.data.DataLoader(
                stream, batch_size=None, num_workers=self.cfg.loader_workers, prefetch_factor=2
            )
            self._stream = iter(loader)
        return next(self._stream)

    def _loss(self, batch):
        ar_weight = 1.0 if self.model.cfg.objective == "ar" else self.cfg.ar_weight
        with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.precision == "bf16"):
            return loss(self.model, self._on_device(batch), self.tok.mask_id, ar_weight, self.cfg.weight_by_t)

    def _on_device(self, batch: Batch) -> Batch:
        moved = {
            f.name: getattr(batch, f.name).to(self.device, non_blocking=True)
            for f in fields(batch)
            if isinstance(getattr(batch, f.name), torch.Tensor)
        }
        return replace(batch, **moved)

    def progress(self) -> float:
        by_steps = self.step / max(1, self.cfg.max_steps)
        by_time = self.elapsed / (60 * self.cfg.minutes) if self.cfg.minutes else 0.0
        return max(by_steps, by_time)

    def run(self) -> None:
        # The bar counts progress in per mille of the budget (steps or minutes), so its ETA is the run's.
        bar = tqdm(
            total=1000, initial=int(1000 * self.progress()), desc="train", unit="‰", dynamic_ncols=True
        )
        last_ckpt = time.perf_counter()
        while self.progress() < 1.0:
            t0 = time.perf_counter()
            stats = self.train_step()
            self.elapsed += time.perf_counter() - t0
            supervised = stats["diff_tokens"] + stats["ar_tokens"]
            tok_s = supervised / (time.perf_counter() - t0)
            bar.set_postfix(step=self.step, loss=f"{stats['loss']:.3f}", tok_s=f"{tok_s:.0f}")
            bar.update(int(1000 * self.progress()) - bar.n)
            if self.heldout and self.step % self.cfg.eval_every == 0:
                self._log(self.heldout_losses())
            if time.perf_counter() - last_ckpt > 60 * self.cfg.checkpoint_minutes:
                self.save()
                last_ckpt = time.perf_counter()
        bar.close()
        self._stream = None  # ends the loader's workers: their cores are free for what follows
        if self.heldout and self.step % self.cfg.eval_every:
            self._log(self.heldout_losses())
        self.save()

    def train_step(self) -> dict:
        self.model.train()
        lr = lr_at(self.progress(), self.step, self.cfg)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        batch = self._next_batch()
        total, stats = self._loss(batch)
        self.optimizer.zero_grad(set_to_none=True)
        total.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg.grad_clip)
        self.optimizer.step()
        self.step += 1
        self.tokens_seen += stats["diff_tokens"] + stats["ar_tokens"]
        stats.update(loss=float(total.detach()), lr=lr)
        if self.step % 50 == 0:
            self._log(stats)
        return stats

    @torch.no_grad()
    def heldout_losses(self) -> dict[str, float]:
        """Mean held-out loss, and its diffusion and next-token parts: the parts compare runs whose
        objective weights differ, the total does not."""
        self.model.eval()
        parts: dict[str, list[float]] = {"heldout_loss": [], "heldout_diff_loss": [], "heldout_ar_loss": []}
        for batch in self.heldout:
            total, stats = self._loss(batch)
            parts["heldout_loss"].append(float(total))
            for key in ("diff_loss", "ar_loss"):
                if key in stats:
                    parts[f"heldout_{key}"].append(stats[key])
        return {k: sum(v) / len(v) for k, v in parts.items() if v}

    def _log(self, record: dict) -> None:
        record = {
            "step": self.step,
            "elapsed_s": round(self.elapsed, 1),
            "tokens_seen": self.tokens_seen,
            **record,
        }
        with (self.out / "log.jsonl").open("a") as f:
            f.write(json.dumps(record) + "\n")

    def save(self) -> None:
        """Write the model folder and trainer state; each file is replaced atomically."""
        tmp = self.out / ".tmp"
        self.model.save(tmp)
        for name in ("config.json", "model.safetensors"):
            os.replace(tmp / name, self.out / name)
        state = {
            "step": self.step,
            "elapsed": self.elapsed,
            "tokens_seen": self.tokens_seen,
            "optimizer": self.optimizer.state_dict(),
            "torch_rng": torch.get_rng_state(),
            "noise_rng": self.noise.get_state(),
            "py_rng": json.dumps(self.rng.getstate()),
            "train_config": json.dumps(asdict(self.cfg)),
        }
        torch.save(state, tmp / "trainer_state.pt")
        os.replace(tmp / "trainer_state.pt", self.out / "trainer_state.pt")

    def _resume(self) -> None:
        state_path = self.out / "trainer_state.pt"
        if not state_path.exists():
            return
        self.model = Denoiser.load(self.out).to(self.device)
        self.optimizer = self._optimizer()
        state = torch.load(state_path, weights_only=True, map_location="cpu")  # RNG states must be CPU
        self.optimizer.load_state_dict(state["optimizer"])
        self.step, self.elapsed, self.tokens_seen = state["step"], state["elapsed"], state["tokens_seen"]
        torch.set_rng_state(state["torch_rng"])
        self.noise.set_state(state["noise_rng"])
        version, internal, gauss = json.loads(state["py_rng"])
        self.rng.setstate((version, tuple(internal), gauss))
        print(f"resumed {self.out} at step {self.step} ({self.tokens_seen} tokens seen)")


def training_sampler(texts, distilled, tok, rng, policy, cfg: TrainConfig) -> FimSampler | MixedSampler:
    sampler = FimSampler(texts, tok, rng, policy)
    return MixedSampler(sampler, distilled, cfg.distilled_share, rng) if distilled else sampler


def draw_batch(
    sampler: FimSampler | MixedSampler,
    gen: torch.Generator,
    tok: CodeTokenizer,
    cfg: TrainConfig,
    model_cfg: ModelConfig,
) -> Batch:
    examples = [sampler.sample() for _ in range(cfg.batch_size)]
    return build_batch(
        examples, tok, model_cfg.block_length, model_cfg.objective, gen, weight_by_t=cfg.weight_by_t
    )


class BatchStream(torch.utils.data.IterableDataset):
    """Endless training batches for DataLoader workers; worker i draws from its own seeded streams.

    Where workers are forked (Linux), the texts are shared with the trainer rather than pickled."""

    def __init__(
        self, texts, distilled, tok, policy, cfg: TrainConfig, model_cfg: ModelConfig, start_step: int
    ):
        super().__init__()
        self.texts, self.distilled, self.tok, self.policy = texts, distilled, tok, policy
        self.cfg, self.model_cfg, self.start_step = cfg, model_cfg, start_step

    def __iter__(self):
        info = torch.utils.data.get_worker_info()
        rng = random.Random(f"{self.cfg.seed}/{self.start_step}/{info.id if info else 0}")
        gen = torch.Generator().manual_seed(rng.getrandbits(63))
        sampler = training_sampler(self.texts, self.distilled, self.tok, rng, self.policy, self.cfg)
        while True:
            yield draw_batch(sampler, gen, self.tok, self.cfg, self.model_cfg)


def main(argv: list[str] | None = None) -> int:
    cfg, model_cfg, policy = parse_args(argv)
    trainer = Trainer(cfg, model_cfg, policy)
    model = trainer.model
    print(
        f"model {model.num_parameters() / 1e6:.2f}M parameters, objective {model.cfg.objective}, "
        f"precision {trainer.precision}, vocab {trainer.tok.vocab_size}"
    )
    trainer.run()
    print(f"saved {cfg.out} at step {trainer.step}, {trainer.tokens_seen} supervised tokens")
    return 0
