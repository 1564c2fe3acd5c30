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

from .model import Denoiser, KVCache

ONNX_FILES = {"fp32": "model.onnx", "int8": "model.int8.onnx"}


class _StepGraph(nn.Module):
    """The exported function: (past_k, past_v, clean_ids, canvas_ids, rows) -> (logits, new_k, new_v)."""

    def __init__(self, model: Denoiser):
        super().__init__()
        self.model = model

    def forward(self, past_k, past_v, clean_ids, canvas_ids, rows):
        # past_k, past_v (n_layer, 1, nh, n, hs); clean_ids (1, c); canvas_ids (1, L), L = 0 for AR;
        # rows (R,): the canvas positions whose logits are wanted (the AR graph has no such input)
        cache = KVCache(list(past_k.unbind(0)), list(past_v.unbind(0)))
        canvas = canvas_ids if self.model.cfg.objective == "diffusion" else None
        hidden, new = self.model.extend(cache, clean_ids, canvas)
        if canvas is not None:
            rows = hidden[:, clean_ids.shape[1] :].index_select(1, rows)
        else:
            rows = hidden[:, -1:]
        c = clean_ids.shape[1]
        new_k = torch.stack(new.keys)[:, :, :, past_k.shape[3] :]
        new_v = torch.stack(new.values)[:, :, :, past_v.shape[3] :]
        return self.model.logits(rows), new_k[:, :, :, :c], new_v[:, :, :, :c]


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
