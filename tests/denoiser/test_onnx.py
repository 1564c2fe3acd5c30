"""The ONNX Runtime backend computes the same steps as PyTorch (fp32 exactly, int8 closely)."""

import shutil

import numpy as np
import pytest
import torch

pytest.importorskip("onnxruntime", reason="the onnxruntime package (the `cpu` extra) is not installed")

from mercury.denoiser.model import Denoiser  # noqa: E402
from mercury.denoiser.onnx_backend import OnnxStepper, export_onnx  # noqa: E402


@pytest.fixture(scope="module")
def exported(tiny_model_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("onnx")
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        shutil.copy(tiny_model_dir / name, folder / name)
    model = Denoiser.load(folder)
    export_onnx(model, folder)
    return folder, model


def torch_step(model, cache, clean, canvas):
    hidden, cache = model.extend(cache, torch.tensor([clean]), torch.tensor([canvas]))
    return model.logits(hidden[0, len(clean) :]), cache


@pytest.mark.parametrize("precision,tolerance", [("fp32", 1e-4), ("int8", 0.5)])
def test_onnx_steps_match_pytorch(exported, precision, tolerance):
    folder, model = exported
    stepper = OnnxStepper(folder, model.cfg, precision)
    L = model.cfg.block_length
    context, canvas = [2, 40, 41, 42, 3, 50, 51, 4], [1] * L
    with torch.no_grad():
        ref1, ref_cache = torch_step(model, None, context, canvas)
        ref2, _ = torch_step(model, ref_cache, [60, 61], canvas)  # a later step with new clean tokens
    got1, cache = stepper.step_logits(None, context, canvas)
    got2, cache = stepper.step_logits(cache, [60, 61], canvas)
    assert cache.length == len(context) + 2
    assert np.abs(got1.numpy() - ref1.numpy()).max() < tolerance
    assert np.abs(got2.numpy() - ref2.numpy()).max() < tolerance
    if precision == "int8":  # quantised weights must still pick the same tokens
        assert (got1.argmax(-1) == ref1.argmax(-1)).float().mean() >= 0.9


def test_onnx_ar_steps_match_pytorch(tiny_ar_model_dir, tmp_path):
    """The AR graph (no canvas input): the last clean token's logits, and the cache it extends."""
    for name in ("config.json", "model.safetensors"):
        shutil.copy(tiny_ar_model_dir / name, tmp_path / name)
    model = Denoiser.load(tmp_path)
    export_onnx(model, tmp_path, int8=False)
    stepper = OnnxStepper(tmp_path, model.cfg, "fp32")
    context = [2, 40, 41, 42, 3, 50, 51, 4]
    with torch.no_grad():
        ref1, ref_cache = model.step_logits(None, context, None)
        ref2, _ = model.step_logits(ref_cache, [60], None)  # one decoded token on the cache
    got1, cache = stepper.step_logits(None, context, None)
    got2, cache = stepper.step_logits(cache, [60], None)
    assert got1.shape == (model.cfg.vocab_size,) and cache.length == len(context) + 1
    assert np.abs(got1.numpy() - ref1.numpy()).max() < 1e-4
    assert np.abs(got2.numpy() - ref2.numpy()).max() < 1e-4


def test_onnx_computes_only_the_requested_rows(exported):
    folder, model = exported
    stepper = OnnxStepper(folder, model.cfg, "fp32")
    context, canvas, rows = [2, 40, 41, 42, 3, 50, 51, 4], [1] * model.cfg.block_length, [1, 3]
    full, cache = stepper.step_logits(None, context, canvas)
    picked, same = stepper.step_logits(cache, [], canvas, rows)
    torch_picked, _ = model.step_logits(None, context, canvas, rows)
    assert picked.shape == (2, model.cfg.vocab_size) and same is cache  # no clean tokens: cache kept
    assert np.abs(picked.numpy() - full[rows].numpy()).max() < 1e-4
    assert np.abs(torch_picked.numpy() - full[rows].numpy()).max() < 1e-4


def test_int8_file_is_smaller(exported):
    folder, _ = exported
    assert (folder / "model.int8.onnx").stat().st_size < 0.7 * (folder / "model.onnx").stat().st_size


@pytest.mark.parametrize("backend", ["onnx", "onnx-int8"])
def test_engine_on_onnx_gives_the_pytorch_completions(exported, backend):
    from mercury.denoiser.api import CompletionRequest
    from mercury.denoiser.engine import Engine
    from tiny_model import CUTS, split

    folder, _ = exported
    reference = Engine.load(str(folder), backend="torch", constrained=False)
    engine = Engine.load(str(folder), backend=backend, constrained=False)
    assert engine.info()["backend"] == backend
    assert engine.info()["parameters"] == reference.info()["parameters"]
    for before, middle in CUTS:
        prefix, middle, suffix = split(before, middle)
        request = CompletionRequest(prefix=prefix, suffix=suffix, multiline="\n" in middle, cache_key="d")
        assert engine.complete(request).text == reference.complete(request).text
        again = engine.complete(request)  # served from the cached context
        assert again.reused_tokens > 0 and again.text == reference.complete(request).text


def test_auto_backend_prefers_onnx_fp32_then_int8_then_torch(exported, tiny_model_dir, tmp_path):
    from mercury.denoiser.engine import Engine

    folder, _ = exported
    assert Engine.load(str(folder), constrained=False).info()["backend"] == "onnx"
    int8_only = tmp_path / "int8"
    shutil.copytree(folder, int8_only)
    (int8_only / "model.onnx").unlink()
    assert Engine.load(str(int8_only), constrained=False).info()["backend"] == "onnx-int8"
    assert Engine.load(str(tiny_model_dir), constrained=False).info()["backend"] == "torch"


def test_under_onnx_runtime_torch_keeps_one_thread(exported, tiny_model_dir):
    from mercury.denoiser.engine import Engine

    folder, _ = exported
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        Engine.load(str(folder), constrained=False, threads=2)  # ONNX Runtime gets the two threads
        assert torch.get_num_threads() == 1  # torch's pool would spin beside ONNX Runtime's
        Engine.load(str(tiny_model_dir), constrained=False, threads=2)  # the torch backend uses them
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
