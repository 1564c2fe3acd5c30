"""The end of a benchmark run: the command line it records, its table printed, and with --out the
JSON report and the table beside it (.md)."""

from __future__ import annotations

import json
import sys
from pathlib import Path


def command_line(script: str, argv: list[str] | None) -> str:
    """How the run was started, as the reports quote it."""
    return f"python bench/{script} " + " ".join(sys.argv[1:] if argv is None else argv)


def publish(report: dict, table: str, out: Path | None) -> None:
    print(table)
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")
        out.with_suffix(".md").write_text(table)
