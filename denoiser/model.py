"""The block-diffusion transformer: one network, two kinds of attention rows.

A sequence is a token-causal *clean stream* (suffix, prefix, finished middle blocks) plus, while
generating, a *canvas* block of L masked tokens that attends to the whole clean stream before it and
bidirectionally to itself (block diffusion, Arriola et al. 2025, "BD3-LM", arXiv 2503.09573). The
clean stream is an ordinary causal LM, so its K/V are cached exactly, as in an autoregressive model.

Building blocks follow Llama-style choices: RMSNorm (Zhang & Sennrich 2019), rotary positions
(Su et al. 2021) with explicit position ids (the noisy copy of a block reuses its clean positions),
a SwiGLU or GELU MLP (chosen by measurement, see the model card), tied input/output embeddings.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

WEIGHTS_FILE = "model.safetensors"
SHARD_NAME = "model-{index:05d}-of-{count:05d}.safetensors"  # the Hugging Face convention
_SHARD_RE = re.compile(r"model-(\d{5})-of-(\d{5})\.safetensors")


OBJECTIVES = ("diffusion", "ar")  # block diffusion (+ optional AR loss) | causal FIM baseline


@dataclass(kw_only=True)
class ModelConfig:
    vocab_size: int = 8192
    d_model: int = 256
    n_layer: int = 6
    n_head: int = 4
    mlp: str = "swiglu"  # "swiglu" | "gelu"
    mlp_hidden: int = 0  # 0: 8/3 * d_model for swiglu (parameter parity with 4x gelu), 4 * d_model for gelu
    block_length: int = 16  # canvas size L; training noises every L-token block of the middle
    rope_base: float = 10000.0
    max_positions: int = (
        4096  # only a guard: rotary positions have no table, but contexts beyond training are weak
    )
    context_prefix: int = 320  # prefix tokens the model was trained to read (the engine's budget)
    context_suffix: int = 128  # suffix tokens, likewise
    objective: str = (
        "diffusion"  # "diffusion" (block diffusion + optional AR loss) | "ar" (causal FIM baseline)
    )
    norm_eps: float = 1e-5

    def __post_init__(self) -> None:
        if self.d_model % self.n_head:
            raise ValueError(f"d_model {self.d_model} must be a multiple of n_head {self.n_head}")
        if self.mlp not in ("swiglu", "gelu"):
            raise ValueError(f"mlp must be swiglu or gelu, not {self.mlp!r}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be diffusion or ar, not {self.objective!r}")

    @property
    def hidden(self) -> int:
        if self.mlp_hidden:
            return self.mlp_hidden
        if self.mlp == "swiglu":
            return 64 * math.ceil(self.d_model * 8 / 3 / 64)
        return 4 * self.d_model

    @classmethod
    def load(cls, path: str | Path) -> ModelConfig:
        data = json.loads(Path(path).read_text())
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(asdict(self), indent=2) + "\n")


class Stepper(Protocol):
    """What the samplers need of a network: its config and one cached denoising step.

    Implemented by Denoiser (PyTorch) and onnx_backend.OnnxStepper (ONNX Runtime).
    """

    cfg: ModelConfig

    def step_logits(
        self, cache, clean: list[int], canvas: list[int] | None, rows: list[int] | None = None
    ) -> tuple[torch.Tensor, object]: ...


class KVCache:
    """Per-layer keys and values of the clean stream, each (B, nh, n, hs)."""

    def __init__(self, keys: list[torch.Tensor], values: list[torch.Tensor]):
        self.keys, self.values = keys, values

    @property
    def length(self) -> int:
        return self.keys[0].shape[2] if self.keys else 0

    def truncated(self, n: int) -> KVCache:
        """The cache of the first n clean tokens (a view, no copy)."""
        return KVCache([k[:, :, :n] for k in self.keys], [v[:, :, :n] for v in self.values])


def rope_angles(positions: torch.Tensor, head_size: int, base: float) -> tuple[torch.Tensor, torch.Tensor]:
    """cos/sin of shape (B, 1, T, hs/2) for integer positions (B, T)."""
    inv_freq = base ** (
        -torch.arange(0, head_size, 2, device=positions.device, dtype=torch.float32) / head_size
    )
    angles = positions.to(torch.float32)[:, None, :, None] * inv_freq  # (B, 1, T, hs/2)
    return angles.cos(), angles.sin()


def apply_rope(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate pairs (x1, x2) of x (B, nh, T, hs) by the position angles."""
    x1, x2 = x[..., 0::2], x[..., 1::2]
    out = torch.stack((x1 * cos - x2 * sin, x1 * sin + x2 * cos), dim=-1)
    return out.flatten(-2).type_as(x)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.n_head, self.head_size = cfg.n_head, cfg.d_model // cfg.n_head
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model, bias=False)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model, bias=False)

    def forward(self, x, rope, mask, past_k=None, past_v=None):
        """x (B, T, C); mask (B, 1, T, n_past + T) bool, True = may attend. Returns output, new k and v."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).split(C, dim=2)
        q, k, v = (
            t.view(B, T, self.n_head, self.head_size).transpose(1, 2) for t in (q, k, v)
        )  # (B, nh, T, hs)
        q, k = apply_rope(q, *rope), apply_rope(k, *rope)
        keys = k if past_k is None else torch.cat((past_k, k), dim=2)
        values = v if past_v is None else torch.cat((past_v, v), dim=2)
        y = F.scaled_dot_product_attention(q, keys, values, attn_mask=mask)
        return self.proj(y.transpose(1, 2).reshape(B, T, C)), k, v


class MLP(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.gated = cfg.mlp == "swiglu"
        self.up = nn.Linear(cfg.d_model, (2 if self.gated else 1) * cfg.hidden, bias=False)
        self.down = nn.Linear(cfg.hidden, cfg.d_model, bias=False)

    def forward(self, x):
        if self.gated:
            gate, up = self.up(x).chunk(2, dim=-1)
            return self.down(F.silu(gate) * up)
        return self.down(F.gelu(self.up(x)))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.norm1 = nn.RMSNorm(cfg.d_model, eps=cfg.norm_eps)
        self.attn = Attention(cfg)
        self.norm2 = nn.RMSNorm(cfg.d_model, eps=cfg.norm_eps)
        self.mlp = MLP(cfg)

    def forward(self, x, rope, mask, past_k=None, past_v=None):
        a, k, v = self.attn(self.norm1(x), rope, mask, past_k, past_v)
        x = x + a
        return x + self.mlp(self.norm2(x)), k, v


class Denoiser(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layer))
        self.norm = nn.RMSNorm(cfg.d_model, eps=cfg.norm_eps)
        self.apply(self._init_weights)
        for name, p in self.named_parameters():  # scaled residual projections (GPT-2)
            if name.endswith(("proj.weight", "down.weight")):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * cfg.n_layer))

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """Tied output head: hidden (..., C) -> logits (..., V)."""
        return F.linear(self.norm(hidden), self.embed.weight)

    def hidden_states(self, ids: torch.Tensor, positions: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """Full forward without cache. ids, positions (B, T); mask (B, 1, T, T) bool. Returns (B, T, C)."""
        x = self.embed(ids)
        rope = rope_angles(positions, self.cfg.d_model // self.cfg.n_head, self.cfg.rope_base)
        for block in self.blocks:
            x, _, _ = block(x, rope, mask)
        return x

    def extend(
        self, cache: KVCache | None, clean_ids: torch.Tensor, canvas_ids: torch.Tensor | None
    ) -> tuple[torch.Tensor, KVCache]:
        """One cached forward: append `clean_ids` (B, c) to the clean stream and denoise `canvas_ids` (B, L).

        New clean tokens attend causally to the cache and to each other; canvas tokens attend to
        everything, each other included. Returns hidden states (B, c + L, C) and the cache extended by
        the clean tokens only (canvas K/V change every step, so they are never cached).
        """
        n = cache.length if cache is not None else 0
        c = clean_ids.shape[1]
        ids = clean_ids if canvas_ids is None else torch.cat((clean_ids, canvas_ids), dim=1)
        T = ids.shape[1]
        positions = torch.arange(n, n + T, device=ids.device).expand(ids.shape[0], T)
        rope = rope_angles(positions, self.cfg.d_model // self.cfg.n_head, self.cfg.rope_base)
        mask = step_mask(n, c, T - c, ids.device)
        x = self.embed(ids)
        keys, values = [], []
        for i, block in enumerate(self.blocks):
            past_k = cache.keys[i] if cache is not None else None
            past_v = cache.values[i] if cache is not None else None
            x, k, v = block(x, rope, mask, past_k, past_v)
            new_k, new_v = k[:, :, :c], v[:, :, :c]
            keys.append(new_k if past_k is None else torch.cat((past_k, new_k), dim=2))
            values.append(new_v if past_v is None else torch.cat((past_v, new_v), dim=2))
        return x, KVCache(keys, values)

    @torch.inference_mode()
    def step_logits(
        self, cache: KVCache | None, clean: list[int], canvas: list[int] | None, rows: list[int] | None = None
    ) -> tuple[torch.Tensor, KVCache]:
        """The samplers' step: float CPU logits of the canvas (L, V), or of the last clean token (V,)
        when `canvas` is None, and the cache extended by `clean`. `rows` picks the canvas positions
        whose logits are wanted (R, V): the output head is a third of a step's arithmetic, and
        committed positions need none."""
        device = self.embed.weight.device
        clean_ids = torch.tensor([clean], dtype=torch.long, device=device).reshape(1, len(clean))
        canvas_ids = None if canvas is None else torch.tensor([canvas], dtype=torch.long, device=device)
        hidden, cache = self.extend(cache, clean_ids, canvas_ids)
        if canvas is None:
            return self.logits(hidden[0, -1]).float().cpu(), cache
        out = hidden[0, len(clean) :]
        if rows is not None:
            out = out[torch.tensor(rows, dtype=torch.long, device=device)]
        return self.logits(out).float().cpu(), cache

    def save(
        self, folder: str | Path, dtype: torch.dtype | None = None, max_shard_bytes: int = 0
    ) -> list[Path]:
        """Write config.json and the weights (in `dtype`, default as trained): one model.safetensors, or
        shards model-0000k-of-0000N.safetensors of at most max_shard_bytes of tensor data each (for
        transports that limit file sizes). Weight files of the other layout are removed."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.cfg.save(folder / "config.json")
        state = {k: v.detach().to("cpu", dtype or v.dtype).contiguous() for k, v in self.state_dict().items()}
        groups = _shard_groups(state, max_shard_bytes)
        n = len(groups)
        names = [WEIGHTS_FILE] if n == 1 else [SHARD_NAME.format(index=i + 1, count=n) for i in range(n)]
        for stale in [folder / WEIGHTS_FILE, *folder.glob("model-*-of-*.safetensors")]:
            if stale.name not in names:
                stale.unlink(missing_ok=True)
        for name, group in zip(names, groups, strict=True):
            save_file(group, str(folder / name), metadata={"format": "pt"})
        return [folder / name for name in names]

    @classmethod
    def load(cls, folder: str | Path, dtype: torch.dtype = torch.float32) -> Denoiser:
        """Rebuild from config.json + model.safetensors or its shards (never pickle)."""
        folder = Path(folder)
        model = cls(ModelConfig.load(folder / "config.json"))
        state = {}
        for path in weight_files(folder):
            state.update(load_file(str(path)))
        model.load_state_dict({k: v.to(torch.float32) for k, v in state.items()})
        return model.to(dtype).eval()


def weight_files(folder: Path) -> list[Path]:
    """model.safetensors, else the complete shard set in order; FileNotFoundError when neither exists."""
    if (folder / WEIGHTS_FILE).is_file():
        return [folder / WEIGHTS_FILE]
    found = sorted(p for p in folder.glob("model-*-of-*.safetensors") if _SHARD_RE.fullmatch(p.name))
    if not found:
        raise FileNotFoundError(f"{folder} has no {WEIGHTS_FILE} and no model-*-of-*.safetensors shards")
    count = int(_SHARD_RE.fullmatch(found[0].name).group(2))
    expected = [folder / SHARD_NAME.format(index=i + 1, count=count) for i in range(count)]
    if found != expected:
        raise FileNotFoundError(f"{folder}: shards {[p.name for p in found]} are not a set of {count}")
    return expected


def _shard_groups(state: dict[str, torch.Tensor], max_bytes: int) -> list[dict[str, torch.Tensor]]:
    """Tensors packed in order into groups of at most max_bytes (a larger tensor gets a group alone)."""
    groups: list[dict[str, torch.Tensor]] = [{}]
    size = 0
    for name, tensor in state.items():
        nbytes = tensor.numel() * tensor.element_size()
        if max_bytes and groups[-1] and size + nbytes > max_bytes:
            groups.append({})
            size = 0
        groups[-1][name] = tensor
        size += nbytes
    return groups


def step_mask(n_past: int, n_clean: int, n_canvas: int, device=None) -> torch.Tensor:
    """Attention mask (1, 1, c + L, n + c + L) for one cached step: clean rows causal, canvas rows see all."""
    T = n_clean + n_canvas
    q = torch.arange(T, device=device)[:, None]
    k = torch.arange(n_past + T, device=device)[None, :] - n_past  # key index relative to the new tokens
    causal = k <= q
    canvas_row = q >= n_clean
    return (causal | canvas_row)[None, None]
