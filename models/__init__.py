"""The model registry: a name such as `coder-mini` maps to a folder of local files.

A model folder holds `config.json`, `tokenizer.json`, `model.safetensors` and `MODEL_CARD.md`.
Nothing is ever downloaded: a name resolves to a folder shipped here, or a path the user gives.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

MODELS_DIR = Path(__file__).resolve().parent
REQUIRED_FILES = ("config.json", "tokenizer.json", "model.safetensors")


class ModelNotFound(LookupError):
    """Raised with a message that names the available models or the missing file."""


class ModelFileError(ModelNotFound):
    """A model file that is present but cannot be used: truncated, corrupt, or from another model."""


@contextlib.contextmanager
def reading_model_file(path: Path) -> Iterator[None]:
    """Turn any failure while loading `path` into ModelFileError naming the file and what to do.

    Without it a truncated model.safetensors surfaced as "Error while deserializing header:
    MetadataIncompleteBuffer" and a cut tokenizer.json as "EOF while parsing", naming no file.
    """
    try:
        yield
    except ModelNotFound:
        raise
    except Exception as exc:
        reason = (str(exc).strip().splitlines() or [""])[0][:200]
        raise ModelFileError(
            f"cannot load {path} ({type(exc).__name__}: {reason}): the file is truncated, corrupt or "
            f"belongs to another model; reinstall the package to restore a shipped model, or export "
            f"this folder again with `mercury train`"
        ) from exc


def available_models() -> list[str]:
    """Names of the shipped models whose files are all present."""
    return sorted(
        p.name for p in MODELS_DIR.iterdir() if p.is_dir() and all((p / f).is_file() for f in REQUIRED_FILES)
    )


def resolve_model(name_or_path: str) -> Path:
    """The folder for a registry name or a directory path; raises ModelNotFound with advice."""
    candidate = Path(name_or_path).expanduser()
    folder = candidate if candidate.is_dir() else MODELS_DIR / name_or_path
    if not folder.is_dir() or "/" in name_or_path and not candidate.is_dir():
        names = ", ".join(available_models()) or "none"
        raise ModelNotFound(
            f"unknown model {name_or_path!r}: available models are {names}, or give a directory"
        )
    for required in REQUIRED_FILES:
        if not (folder / required).is_file():
            raise ModelNotFound(
                f"model folder {folder} lacks {required}: "
                "reinstall the package or retrain with `mercury train`"
            )
    return folder
