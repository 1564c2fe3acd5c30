"""What the evaluation-set benchmarks share: their run options, the command line a report records,
and the end of a run (the table printed; with --out the JSON report and the table beside it, .md)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from mercury import evaluate


def add_run_options(p: argparse.ArgumentParser) -> None:
    """The options of a run over evaluation sets: the model, its threads, the data, the report."""
    p.add_argument("--model", default="coder-mini", help="model name or directory")
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--threads", type=int, default=1, help="compute threads, torch and ONNX Runtime")
    p.add_argument("--corpus", nargs="+", default=list(evaluate.DEFAULT_CORPORA))
    p.add_argument("--eval-data", default="", help="default $MERCURY_EVAL_DATA or ../shared/eval-data")
    p.add_argument("--out", type=Path, default=None, help="JSON report; the table goes beside it (.md)")


def command_line(script: str, argv: list[str] | None) -> str:
    """How the run was started, as the reports quote it."""
    return f"python bench/{script} " + " ".join(sys.argv[1:] if argv is None else argv)


def machine_line(report: dict) -> str:
    """The report's machine and date, as its table's head states them."""
    machine = report["machine"]
    where = f"{machine['processor']}, {machine['cpus']} CPUs, {machine['platform']}"
    return f"Machine: {where}; {report['created']}."


def table_head(report: dict, command: str) -> list[str]:
    """The lines above a report's table: the command that ran, and where and when."""
    return [f"`{command}`", "", machine_line(report), ""]


def publish(report: dict, table: str, out: Path | None) -> None:
    print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")
        out.with_suffix(".md").write_text(table)
