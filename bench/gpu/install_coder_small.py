"""Install what a GPU run brought back as models/coder-small/.

    .venv/bin/python -m bench.gpu.install_coder_small FILES_AT [--dest models/coder-small]

FILES_AT is the folder the device tool copied $OUT into (it holds coder-small/, measurements.json and
logs.tar.gz). The shards are merged into one bf16 model.safetensors, the layout of every model folder
in the registry (models/__init__.py); config.json and tokenizer.json are copied; the run's
measurements are kept as training-run.json; a model card draft is written from them (MODEL_CARD.md,
or MODEL_CARD.draft.md beside an existing card), its dev-set section left for `mercury eval`. Last,
the installed folder must load through the engine and complete a span.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import torch

from . import REPO_ROOT
from .coder_small import MODEL_DIR


def install(files_at: Path, dest: Path) -> Path:
    from mercury.denoiser.model import Denoiser

    returned = files_at / MODEL_DIR if (files_at / MODEL_DIR).is_dir() else files_at
    run = json.loads((returned.parent / "measurements.json").read_text())
    Denoiser.load(returned).save(dest, dtype=torch.bfloat16)  # one file, the registry's layout
    shutil.copy(returned / "tokenizer.json", dest / "tokenizer.json")
    (dest / "training-run.json").write_text(json.dumps(run, indent=1) + "\n")
    card = dest / ("MODEL_CARD.draft.md" if (dest / "MODEL_CARD.md").exists() else "MODEL_CARD.md")
    card.write_text(model_card(run))
    _check(dest)
    return card


def _check(dest: Path) -> None:
    from mercury.denoiser.api import CompletionRequest
    from mercury.denoiser.engine import Engine

    engine = Engine.load(str(dest), constrained=False)
    result = engine.complete(CompletionRequest(prefix="import os\n\n\ndef main(", max_tokens=16))
    print(f"installed {dest}: {engine.info()['parameters']} parameters, sample completion {result.text!r}")


def model_card(run: dict) -> str:
    """A draft card from measurements.json: what the run measured; the dev-set section is left open."""
    sections = [_about(run), _data(run), _training(run), _speed(run)]
    # the dev sets live beside this checkout, not on the GPU machine: scored here after installing
    todo = "## Dev-set scores\n\nTODO: `mercury eval --model coder-small` beside coder-mini and the AR model."
    return "\n\n".join([*sections, todo, "## Known weaknesses\n\nTODO after the evaluation."]) + "\n"


def _about(run: dict) -> str:
    cfg = run.get("train", {}).get("model_config", {})
    params = run.get("export", {}).get("parameters", "?")
    keys = ("d_model", "n_layer", "n_head", "block_length", "vocab_size")
    shape = ", ".join(f"{k} {cfg.get(k)}" for k in keys)
    return (
        f"# coder-small\n\nA block-diffusion code model of {params} parameters ({shape}), weights in bf16: "
        "coder-mini's recipe, larger, trained on one GPU by bench/gpu/train_coder_small.sh."
    )


def _data(run: dict) -> str:
    corpus = run.get("corpus", {})
    totals = corpus.get("totals", {})
    mb = totals.get("train_bytes", 0) / 1e6
    licenses, decisions = _tally(corpus.get("licenses_trained", {})), _tally(corpus.get("decisions", {}))
    heldout = ", ".join(corpus.get("heldout_units", []))
    return (
        f"## Data and licenses\n\nPython only: {totals.get('train_files')} files, {mb:.1f} MB after the "
        f"recipe's filters and deduplication, from {corpus.get('stdlib', {}).get('name')} (PSF-2.0) and the "
        "permissively licensed distributions installed on the GPU machine. Licenses of the distributions "
        f"trained on: {licenses}. Decisions: {decisions}. training-run.json lists every distribution "
        "with its version, license and decision (corpus.packages)."
        f"\n\nNever trained on: the held-out stdlib packages {heldout}, and "
        "the projects the evaluation sets came from (bench/gpu/heldout.json)."
    )


def _training(run: dict) -> str:
    train, machine = run.get("train", {}), run.get("machine", {})
    batch = train.get("train_config", {}).get("batch_size")
    where = f"{machine.get('gpu', '?')}, torch {machine.get('torch')}, CUDA {machine.get('cuda')}"
    return (
        f"## Training\n\n{where}: "
        f"{train.get('steps')} steps of batch {batch} in {train.get('step_time_s')} s of step time, "
        f"{train.get('supervised_tokens')} supervised tokens ({train.get('supervised_tokens_per_s')}/s), "
        f"{train.get('precision')}. The whole run, corpus included, took {run.get('total_s')} s.\n\n"
        f"Held-out loss (the GPU machine's copy of the held-out packages): {_pairs(run.get('heldout', {}))}."
    )


def _speed(run: dict) -> str:
    speed = run.get("speed", {})
    rows = [_pairs(row) for row in speed.get("batched_forward", [])]
    return (
        f"## Speed on the GPU\n\nSampler, batch 1, tau 0.9, single-line held-out tasks: "
        f"{_pairs(speed.get('batch1_sampler', {}))}.\n\nDenoising forward alone, batched (the sampler is "
        "batch 1 only):\n" + "\n".join(f"- {row}" for row in rows)
    )


def _pairs(values: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in values.items())


def _tally(counts: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1])) or "none"


def main(argv: list[str] | None = None) -> int:
    prog = "python -m bench.gpu.install_coder_small"
    p = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    p.add_argument("files_at", type=Path, help="the folder holding coder-small/ and measurements.json")
    p.add_argument("--dest", type=Path, default=REPO_ROOT / "models" / MODEL_DIR)
    args = p.parse_args(argv)
    card = install(args.files_at, args.dest)
    print(f"wrote {card}: fill in the dev-set scores and weaknesses")
    return 0


if __name__ == "__main__":
    sys.exit(main())
