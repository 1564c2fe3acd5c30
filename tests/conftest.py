"""Shared fixtures: tiny trained models (see tiny_model.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from tiny_model import train_tiny


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("tiny-diffusion"))


@pytest.fixture(scope="session")
def tiny_ar_model_dir(tmp_path_factory) -> Path:
    return train_tiny(tmp_path_factory.mktemp("tiny-ar"), objective="ar")
