"""Settings and fixtures for the reliability suite (fuzzing, faults, load, security).

Example counts are sized so the whole folder runs in well under a minute on two busy cores. For a long
run, scale every count up:

    MERCURY_FUZZ_SCALE=50 .venv/bin/pytest tests/reliability -q
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

TINY_MODEL = {"d_model": 32, "n_layer": 1, "n_head": 2, "block_length": 8}
SCALE = float(os.environ.get("MERCURY_FUZZ_SCALE", "1"))


def fuzz(examples: int) -> settings:
    """Hypothesis settings for a test that talks to a real server process: no deadline (the machine
    is shared), `examples` times MERCURY_FUZZ_SCALE examples."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
    )


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A private folder with a short path: unix socket paths are limited to about 100 bytes."""
    folder = Path(tempfile.mkdtemp(prefix="mercury-rel-", dir="/tmp"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def untrained_model_dir(tmp_path_factory) -> Path:
    """A small untrained model folder: it loads and completes (nonsense) in milliseconds."""
    from mercury.denoiser.model import Denoiser, ModelConfig
    from mercury.denoiser.tokenizer import train_tokenizer

    folder = tmp_path_factory.mktemp("untrained-model")
    tok = train_tokenizer(["def area(w, h):\n    return w * h\n"] * 20, vocab_size=300)
    Denoiser(ModelConfig(vocab_size=tok.vocab_size, **TINY_MODEL)).save(folder)
    tok.save(folder / "tokenizer.json")
    return folder
