"""ONNX Runtime backend for CPU inference: the cached denoising step exported as one graph.

The graph takes the clean stream's cache (stacked per layer), the new clean tokens and the canvas, and
returns the canvas logits (or, for the AR baseline, the last clean token's logits) plus the new
tokens' K/V. Python keeps the cache and the sampler loop; ONNX Runtime runs the arithmetic with fused
kernels. int8 weights come from onnxruntime's dynamic quantization (weights int8, activations
quantised per call), which is what cuts the memory.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .model import Denoiser

ONNX_FILES = {"fp32": "model.onnx", "int8": "model.int8.onnx"}


class _StepGraph(nn.Module):
    """The exported function: (past_k, past_v, clean_ids, canvas_ids, rows) -> (logits, new_k, new_v).

    The same arithmetic as `Denoiser.extend` and `Denoiser.logits`, written for ONNX Runtime: a step
    runs a few hundred small kernels, so their count and the bytes they copy cost as much as the
    matrix products (the graph of `extend` took 390 nodes and 2.45 ms a canvas step on one thread, this
    one 253 nodes and 2.19 ms; 8.1 -> 4.0 ms with 2,000 cached tokens). RMSNorm is spelled the way ORT
    fuses it into one kernel, both rotary embeddings are one product with a fixed pair-rotation matrix,
    and the cache is read where it lies: the scores against it and against the new tokens are taken
    apart and share one softmax, so no step copies the cache into a longer one.
    tests/denoiser/test_onnx.py holds it to PyTorch's logits and cache.
    """

    def __init__(self, model: Denoiser):
        super().__init__()
        self.model = model
        cfg = model.cfg
        self.n_head, self.head_size = cfg.n_head, cfg.d_model // cfg.n_head
        inv_freq = cfg.rope_base ** (
            -torch.arange(0, self.head_size, 2, dtype=torch.float32) / self.head_size
        )
        self.register_buffer("inv_freq", inv_freq.repeat_interleave(2), persistent=False)  # (hs,)
        rotate = torch.zeros(self.head_size, self.head_size)  # x @ rotate: (x1, x2) -> (-x2, x1) per pair
        for i in range(0, self.head_size, 2):
            rotate[i + 1, i], rotate[i, i + 1] = -1.0, 1.0
        self.register_buffer("rotate", rotate, persistent=False)

    def forward(self, past_k, past_v, clean_ids, canvas_ids, rows):
        # past_k, past_v (n_layer, 1, nh, n, hs); clean_ids (1, c); canvas_ids (1, L), L = 0 for AR;
        # rows (R,): the canvas positions whose logits are wanted (the AR graph has no such input)
        model, diffusion = self.model, self.model.cfg.objective == "diffusion"
        n, c = past_k.shape[3], clean_ids.shape[1]
        ids = torch.cat((clean_ids, canvas_ids), dim=1) if diffusion else clean_ids
        T = ids.shape[1]
        angles = (torch.arange(T, dtype=torch.float32) + n)[:, None] * self.inv_freq  # (T, hs)
        cos, sin = angles.cos(), angles.sin()
        query, key = torch.arange(T)[:, None], torch.arange(T)[None, :]
        allowed = (key <= query) | (query >= c)  # among the new tokens (step_mask); all see the cache
        new_bias = torch.zeros(T, T).masked_fill(~allowed, float("-inf"))
        x = model.embed(ids)
        new_k, new_v = [], []
        for i, block in enumerate(model.blocks):
            h = _rms_norm(x, block.norm1)
            k, v, attended = self._attention(block.attn, h, (cos, sin), new_bias, past_k[i], past_v[i])
            x = x + attended
            x = x + block.mlp(_rms_norm(x, block.norm2))
            new_k.append(k[:, :, :c])
            new_v.append(v[:, :, :c])
        out = x[:, c:].index_select(1, rows) if diffusion else x[:, -1:]
        logits = F.linear(_rms_norm(out, model.norm), model.embed.weight)
        return logits, torch.stack(new_k), torch.stack(new_v)

    def _attention(self, attn, x, rope, new_bias, past_k, past_v):
        """One layer's attention over the cache and the new tokens; returns their k, v and the output."""
        B, T, C = x.shape
        qkv = attn.qkv(x).view(B, T, 3, self.n_head, self.head_size).permute(2, 0, 3, 1, 4)
        cos, sin = rope
        qk = qkv[:2] * cos + (qkv[:2] @ self.rotate) * sin  # apply_rope to q and k (2, B, nh, T, hs) at once
        q, k, v = qk[0] * self.head_size**-0.5, qk[1], qkv[2]
        n = past_k.shape[2]
        scores = torch.cat((q @ past_k.transpose(-1, -2), q @ k.transpose(-1, -2) + new_bias), dim=-1)
        weights = scores.softmax(-1)
        y = weights[..., :n] @ past_v + weights[..., n:] @ v
        return k, v, attn.proj(y.transpose(1, 2).reshape(B, T, C))


def _rms_norm(x: torch.Tensor, norm: nn.RMSNorm) -> torch.Tensor:
    """nn.RMSNorm as the pattern ONNX Runtime fuses into SimplifiedLayerNormalization."""
    return x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + norm.eps) * norm.weight


def export_onnx(model: Denoiser, folder: Path, int8: bool = True) -> list[Path]:
    """Write model.onnx (and model.int8.onnx) into `folder`; returns the written paths."""
    cfg = model.cfg
    hs = cfg.d_model // cfg.n_head
    past = torch.zeros(cfg.n_layer, 1, cfg.n_head, 3, hs)
    clean = torch.full((1, 2), 7, dtype=torch.long)
    canvas = torch.full((1, cfg.block_length), 1, dtype=torch.long)
    rows = torch.arange(cfg.block_length - 1, dtype=torch.long)
    n, c = torch.export.Dim("n", min=1, max=65536), torch.export.Dim("c", min=0, max=65536)
    L, R = torch.export.Dim("L"), torch.export.Dim("R", min=1, max=4096)
    path = Path(folder) / ONNX_FILES["fp32"]
    torch.onnx.export(
        _StepGraph(model.float().eval()).eval(),
        (past, past.clone(), clean, canvas, rows),
        str(path),
        dynamic_shapes=({3: n}, {3: n}, {1: c}, {1: L}, {0: R}),
        input_names=["past_k", "past_v", "clean_ids", "canvas_ids", "rows"],
        output_names=["logits", "new_k", "new_v"],
        dynamo=True,
        external_data=False,
    )
    written = [path]
    if int8:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        int8_path = Path(folder) / ONNX_FILES["int8"]
        quantize_dynamic(str(path), str(int8_path), weight_type=QuantType.QInt8)
        written.append(int8_path)
    return written


class NumpyCache:
    """The clean stream's K/V as stacked arrays (n_layer, 1, nh, n, hs); same API as KVCache."""

    def __init__(self, keys: np.ndarray, values: np.ndarray):
        self.keys, self.values = keys, values

    @property
    def length(self) -> int:
        return self.keys.shape[3]

    def truncated(self, n: int) -> NumpyCache:
        return NumpyCache(self.keys[:, :, :, :n], self.values[:, :, :, :n])


class OnnxStepper:
    """Runs denoising steps with ONNX Runtime; the samplers use it like a Denoiser."""

    def __init__(self, folder: Path, cfg, precision: str = "int8", threads: int | None = None):
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # The pool's threads spin inside a run (its many small kernels want them awake) but not
        # after it: between steps the sampler and the syntax checks run on the same cores, and a
        # spinning thread cost the constraint 1-2 ms a completion on two threads (BENCHMARKS section 6).
        options.add_session_config_entry("session.force_spinning_stop", "1")
        path = Path(folder) / ONNX_FILES[precision]
        self.session = ort.InferenceSession(str(path), options, providers=ort.get_available_providers())
        self.cfg = cfg
        hs = cfg.d_model // cfg.n_head
        self._empty = np.zeros((cfg.n_layer, 1, cfg.n_head, 0, hs), dtype=np.float32)
        self._inputs = {i.name for i in self.session.get_inputs()}  # the AR graph has no canvas input

    def step_logits(
        self,
        cache: NumpyCache | None,
        clean: list[int],
        canvas: list[int] | None,
        rows: list[int] | None = None,
    ):
        """Logits (L, V) of the canvas, or (R, V) of its `rows` (or (V,) of the last clean token when
        canvas is None), and the cache extended by `clean`."""
        past_k = cache.keys if cache is not None else self._empty
        past_v = cache.values if cache is not None else self._empty
        if canvas is not None and rows is None:
            rows = list(range(len(canvas)))
        feeds = {
            "past_k": np.ascontiguousarray(past_k),
            "past_v": np.ascontiguousarray(past_v),
            "clean_ids": np.asarray([clean], dtype=np.int64).reshape(1, len(clean)),
            "canvas_ids": np.asarray([canvas or []], dtype=np.int64).reshape(1, len(canvas or [])),
            "rows": np.asarray(rows or [], dtype=np.int64),
        }
        feeds = {k: v for k, v in feeds.items() if k in self._inputs}
        logits, new_k, new_v = self.session.run(None, feeds)
        if clean or cache is None:  # a step without clean tokens leaves the cache as it was
            cache = NumpyCache(
                np.concatenate((past_k, new_k), axis=3), np.concatenate((past_v, new_v), axis=3)
            )
        out = torch.from_numpy(logits[0])
        if canvas is None:
            return out[-1], cache
        return (out if "rows" in self._inputs else out[rows]), cache  # graphs exported before `rows`


def main(argv: list[str] | None = None) -> int:
    """`mercury export MODEL`: write the ONNX graphs beside the weights."""
    import argparse

    from mercury.models import ModelNotFound, resolve_model

    p = argparse.ArgumentParser(prog="mercury export", description=main.__doc__)
    p.add_argument("model", help="registry name or model folder")
    p.add_argument("--no-int8", action="store_true", help="skip the int8 (dynamically quantised) graph")
    args = p.parse_args(argv)
    try:
        folder = resolve_model(args.model)
    except ModelNotFound as e:
        print(f"mercury export: {e}")
        return 2
    for path in export_onnx(Denoiser.load(folder), folder, int8=not args.no_int8):
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return 0
