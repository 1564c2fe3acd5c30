"""The trainer's device options: batches from worker processes on a CPU; CUDA paths where a GPU exists."""

import pytest
import torch
from mercury.denoiser.api import CompletionRequest
from mercury.denoiser.engine import Engine

from mercury.cli import main as mercury_main

TINY = [
    "--batch-size", "2", "--d-model", "32", "--n-layer", "1", "--n-head", "2", "--vocab-size", "300",
    "--block-length", "4", "--max-prefix", "32", "--max-suffix", "16", "--max-middle", "8",
    "--precision", "fp32", "--eval-every", "3", "--warmup-steps", "2",
]  # fmt: skip
CODE = """def greet(name):
    message = "hello " + name
    return message


def area(width, height):
    return width * height
"""
cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


def corpus(tmp_path):
    folder = tmp_path / "code"
    folder.mkdir()
    for i in range(3):
        (folder / f"m{i}.py").write_text(CODE.replace("greet", f"greet{i}"))
    return folder


def train(code, out, *extra, steps=4):
    args = ["train", str(code), "--out", str(out), "--heldout", str(code / "m0.py"), *TINY]
    return mercury_main([*args, "--max-steps", str(steps), *extra])


def test_loader_workers_train_deterministically_for_a_worker_count(tmp_path):
    code = corpus(tmp_path)
    for name in ("a", "b"):
        assert train(code, tmp_path / name, "--device", "cpu", "--loader-workers", "1") == 0
    first, second = (tmp_path / n / "model.safetensors" for n in ("a", "b"))
    assert first.read_bytes() == second.read_bytes()
    train(code, tmp_path / "serial")  # the in-loop batches are other draws: other weights
    assert (tmp_path / "serial" / "model.safetensors").read_bytes() != first.read_bytes()


@cuda
def test_cuda_bf16_training_resumes_and_serves(tmp_path):
    code = corpus(tmp_path)
    out = tmp_path / "run"
    assert train(code, out, "--device", "cuda", "--precision", "auto", "--loader-workers", "1", steps=3) == 0
    assert train(code, out, "--device", "cuda", "--precision", "auto", steps=5) == 0
    assert torch.load(out / "trainer_state.pt", weights_only=True, map_location="cpu")["step"] == 5
    engine = Engine.load(str(out), device="cuda", constrained=False)
    result = engine.complete(CompletionRequest(prefix="def ", max_tokens=8))
    assert result.stop_reason in ("eom", "newline", "budget")
