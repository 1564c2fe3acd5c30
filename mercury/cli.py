"""The `mercury` command: one entry point whose subcommands live beside the code they run."""

from __future__ import annotations

import importlib
import sys

# subcommand -> (module, function taking argv, one-line help). Imported lazily: `mercury serve`
# should not pay for training code, and `--help` should not import torch.
SUBCOMMANDS = {
    "train": ("mercury.denoiser.train", "main", "train a block-diffusion coder (or the AR baseline)"),
    "distill": (
        "mercury.denoiser.distill",
        "main",
        "write a teacher's greedy middles for knowledge distillation",
    ),
    "export": (
        "mercury.denoiser.onnx_backend",
        "main",
        "write ONNX graphs (fp32 and int8) beside a model's weights",
    ),
    "complete": ("mercury.denoiser.complete", "main", "fill a span from the command line"),
    "corpus": (
        "mercury.corpus",
        "main",
        "build the training corpus from offline, permissively licensed code",
    ),
    "eval": ("mercury.evaluate", "main", "fill-in-the-middle evaluation with a JSON + table report"),
    "bench": ("mercury.bench", "main", "speed benchmarks (see bench/)"),
    "serve": ("mercury.denoiser.service", "serve_main", "run one shared engine for many language servers"),
}


def usage() -> str:
    lines = ["usage: mercury <command> [options]", "", "commands:"]
    lines += [f"  {name:<10}{help_}" for name, (_, _, help_) in SUBCOMMANDS.items()]
    lines += ["", "`mercury <command> --help` describes each command's options."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    name, rest = argv[0], argv[1:]
    if name not in SUBCOMMANDS:
        print(f"mercury: unknown command {name!r}\n\n{usage()}", file=sys.stderr)
        return 2
    module, func, _ = SUBCOMMANDS[name]
    return int(getattr(importlib.import_module(module), func)(rest) or 0)


if __name__ == "__main__":
    sys.exit(main())
