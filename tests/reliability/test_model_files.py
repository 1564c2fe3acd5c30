"""Missing, truncated and corrupt model files: loading fails with a message that names the file and
says what to do, through Engine.load, `mercury serve` and the editor (window/showMessage); a pickle
dressed up as model.safetensors is refused without being unpickled.

Before mercury.models.reading_model_file, a truncated model.safetensors surfaced as "Error while
deserializing header: MetadataIncompleteBuffer" and a cut tokenizer.json as "EOF while parsing ...",
neither naming a file.
"""

from __future__ import annotations

import json
import pickle
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from mercury.denoiser.engine import Engine
from mercury.denoiser.model import Denoiser, ModelConfig
from mercury.denoiser.service import serve_main
from mercury.models import ModelNotFound
from tokenizers import Tokenizer, models

from .conftest import TINY_MODEL
from .harness import StdioServer, inline_request, open_document


@pytest.fixture
def model_dir(untrained_model_dir: Path) -> Path:
    return untrained_model_dir


class Marker:
    """Unpickling this creates the file at `path`: proof that a loader ran pickle."""

    def __init__(self, path: Path):
        self.path = str(path)

    def __reduce__(self):
        return (Path.touch, (Path(self.path),))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def other_weights(path: Path) -> None:
    Denoiser(ModelConfig(vocab_size=300, d_model=64, n_layer=1, n_head=2)).save(path.parent / "other")
    shutil.copy(path.parent / "other" / "model.safetensors", path)


def no_special_tokens(path: Path) -> None:
    Tokenizer(models.BPE()).save(str(path))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "missing": Path.unlink,
    "truncated": truncate,
    "empty": lambda path: path.write_bytes(b""),
    "garbage": lambda path: path.write_bytes(b"\x00\xff\x13" * 300),
}
CASES = [
    (name, damage) for name in ("config.json", "tokenizer.json", "model.safetensors") for damage in DAMAGE
]
CASES += [
    ("config.json", "a list"),
    ("config.json", "d_model not a multiple of n_head"),
    ("model.safetensors", "weights of another shape"),
    ("tokenizer.json", "no special tokens"),
]
SPECIAL: dict[str, Callable[[Path], None]] = {
    "a list": lambda path: path.write_text("[]"),
    "d_model not a multiple of n_head": lambda path: path.write_text(
        json.dumps({**TINY_MODEL, "d_model": 33})
    ),
    "weights of another shape": other_weights,
    "no special tokens": no_special_tokens,
}


def damaged_copy(model_dir: Path, tmp_path: Path, name: str, damage: str) -> Path:
    folder = tmp_path / "model"
    shutil.copytree(model_dir, folder)
    (DAMAGE.get(damage) or SPECIAL[damage])(folder / name)
    return folder


@pytest.mark.parametrize(("name", "damage"), CASES)
def test_damaged_file_is_named_with_advice(model_dir: Path, tmp_path: Path, name: str, damage: str):
    folder = damaged_copy(model_dir, tmp_path, name, damage)
    with pytest.raises(ModelNotFound) as caught:
        Engine.load(str(folder), constrained=False, threads=1)
    message = str(caught.value)
    assert name in message
    assert "reinstall the package" in message and "mercury train" in message


def test_intact_copy_loads(model_dir: Path):
    """The control: the undamaged folder loads and completes."""
    assert Engine.load(str(model_dir), constrained=False, threads=1).info()["vocab_size"] > 0


def test_pickle_posing_as_weights_is_never_unpickled(model_dir: Path, tmp_path: Path):
    folder = damaged_copy(model_dir, tmp_path, "model.safetensors", "missing")
    marker = tmp_path / "unpickled"
    (folder / "model.safetensors").write_bytes(pickle.dumps(Marker(marker)))
    (folder / "pytorch_model.bin").write_bytes(pickle.dumps(Marker(marker)))  # the usual pickle name
    with pytest.raises(ModelNotFound, match="model.safetensors"):
        Engine.load(str(folder), constrained=False, threads=1)
    assert not marker.exists()


def test_mercury_serve_exits_with_the_message(model_dir: Path, tmp_path: Path, short_tmp: Path, capsys):
    folder = damaged_copy(model_dir, tmp_path, "model.safetensors", "truncated")
    listen = f"unix:{short_tmp / 'engine.sock'}"
    assert serve_main(["--model", str(folder), "--listen", listen, "--threads", "1"]) == 2
    error = capsys.readouterr().err
    assert "model.safetensors" in error and "reinstall the package" in error


def test_editor_is_told_which_file_and_still_gets_answers(model_dir: Path, tmp_path: Path):
    """`mercury-lsp --model DIR` with a truncated tokenizer: window/showMessage names the file, and
    completion requests get empty answers rather than errors."""
    folder = damaged_copy(model_dir, tmp_path, "tokenizer.json", "truncated")
    command = [sys.executable, "-m", "mercury.lsp.cli", "--model", str(folder), "--threads", "1"]
    server = StdioServer(command, log=tmp_path / "lsp.log")
    try:
        server.initialize()
        shown = server.wait_notification("window/showMessage")["params"]
        assert shown["type"] == 1 and "tokenizer.json" in shown["message"]
        assert "reinstall the package" in shown["message"]
        open_document(server, "file:///x.py", "x = \n")
        answer = server.request("textDocument/inlineCompletion", inline_request("file:///x.py", 0, 4))
        assert answer["result"] == {"items": []}
    finally:
        server.close()
