"""`mercury train`: a real (short) run from a folder of code, checkpoints, resume, determinism."""

import json

import pytest
import torch
from mercury.denoiser.api import CompletionRequest
from mercury.denoiser.engine import Engine
from mercury.denoiser.train import TrainConfig
from tiny_model import MEMORISED

from mercury.cli import main as mercury_main

ARGS = [
    "--max-steps",
    "6",
    "--batch-size",
    "2",
    "--d-model",
    "32",
    "--n-layer",
    "1",
    "--n-head",
    "2",
    "--vocab-size",
    "300",
    "--block-length",
    "4",
    "--max-prefix",
    "32",
    "--max-suffix",
    "16",
    "--max-middle",
    "8",
    "--precision",
    "fp32",
    "--eval-every",
    "3",
    "--warmup-steps",
    "2",
]


def corpus(tmp_path):
    folder = tmp_path / "code"
    folder.mkdir()
    for i in range(3):
        (folder / f"m{i}.py").write_text(MEMORISED.replace("greet", f"greet{i}"))
    (folder / "notes.txt").write_text("not code: ignored")
    return folder


def test_train_writes_a_loadable_model_and_logs_heldout_loss(tmp_path):
    code = corpus(tmp_path)
    out = tmp_path / "run"
    assert mercury_main(["train", str(code), "--out", str(out), "--heldout", str(code / "m0.py"), *ARGS]) == 0
    assert {"config.json", "model.safetensors", "tokenizer.json", "trainer_state.pt"} <= {
        p.name for p in out.iterdir()
    }
    log = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines()]
    heldout = [r for r in log if "heldout_loss" in r]
    assert heldout and {"heldout_diff_loss", "heldout_ar_loss"} <= set(heldout[-1])
    weight = TrainConfig.ar_weight  # the run above uses the default
    parts = heldout[-1]["heldout_diff_loss"] + weight * heldout[-1]["heldout_ar_loss"]
    assert abs(parts - heldout[-1]["heldout_loss"]) < 1e-3 * heldout[-1]["heldout_loss"]
    result = Engine.load(str(out), constrained=False).complete(CompletionRequest(prefix="def ", max_tokens=8))
    assert result.stop_reason in ("eom", "newline", "budget")


def test_resume_continues_the_step_count(tmp_path):
    code = corpus(tmp_path)
    out = tmp_path / "run"
    mercury_main(["train", str(code), "--out", str(out), *ARGS])
    args = [a if a != "6" else "9" for a in ARGS]
    mercury_main(["train", str(code), "--out", str(out), *args])
    assert torch.load(out / "trainer_state.pt", weights_only=True)["step"] == 9


def test_same_seed_gives_the_same_weights(tmp_path):
    code = corpus(tmp_path)
    for name in ("a", "b"):
        mercury_main(["train", str(code), "--out", str(tmp_path / name), *ARGS])
    assert (tmp_path / "a" / "model.safetensors").read_bytes() == (
        tmp_path / "b" / "model.safetensors"
    ).read_bytes()


def test_init_from_continues_a_model_folder_with_its_own_architecture_and_tokenizer(tmp_path, capsys):
    code = corpus(tmp_path)
    first, second = tmp_path / "first", tmp_path / "second"
    mercury_main(["train", str(code), "--out", str(first), *ARGS, "--objective", "ar"])
    capsys.readouterr()
    # A different architecture on the command line loses to the folder's; lr 0 leaves the weights as loaded.
    other = [{"32": "64", "4": "8"}.get(a, a) for a in ARGS] + ["--lr", "0", "--init-from", str(first)]
    mercury_main(["train", str(code), "--out", str(second), *other])
    assert "objective ar," in capsys.readouterr().out  # the folder's objective, not the default
    assert json.loads((second / "config.json").read_text()) == json.loads((first / "config.json").read_text())
    assert (second / "tokenizer.json").read_bytes() == (first / "tokenizer.json").read_bytes()
    assert (second / "model.safetensors").read_bytes() == (first / "model.safetensors").read_bytes()
    assert torch.load(second / "trainer_state.pt", weights_only=True)["step"] == 6


def test_adapt_to_trains_an_ar_model_as_a_diffusion_model_from_its_weights(tmp_path, capsys):
    code = corpus(tmp_path)
    ar, adapted = tmp_path / "ar", tmp_path / "adapted"
    mercury_main(["train", str(code), "--out", str(ar), *ARGS, "--objective", "ar"])
    args = [*ARGS, "--lr", "0", "--init-from", str(ar), "--adapt-to", "diffusion", "--heldout", str(code)]
    mercury_main(["train", str(code), "--out", str(adapted), *args])
    assert "objective diffusion," in capsys.readouterr().out
    assert json.loads((adapted / "config.json").read_text())["objective"] == "diffusion"
    assert (adapted / "model.safetensors").read_bytes() == (ar / "model.safetensors").read_bytes()  # lr 0
    log = [json.loads(line) for line in (adapted / "log.jsonl").read_text().splitlines()]
    assert "heldout_diff_loss" in log[-1]  # masked middles are scored: the diffusion objective runs


def test_adapt_to_without_a_model_or_with_an_unknown_objective_is_a_clear_error(tmp_path):
    code = corpus(tmp_path)
    for extra in (["--adapt-to", "diffusion"], ["--adapt-to", "bert", "--init-from", str(code)]):
        with pytest.raises(ValueError, match="--adapt-to"):
            mercury_main(["train", str(code), "--out", str(tmp_path / "run"), *ARGS, *extra])


def test_init_from_a_folder_without_a_model_is_a_clear_error(tmp_path):
    code = corpus(tmp_path)
    with pytest.raises(ValueError, match="not a model folder"):
        mercury_main(["train", str(code), "--out", str(tmp_path / "run"), *ARGS, "--init-from", str(code)])
