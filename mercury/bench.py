"""`mercury bench NAME [options]`: run a benchmark script from the repository's bench/ folder.

The benchmarks measure a checkout (they read held-out data and start servers), so they live beside the
code rather than in the installed package; this command finds them from an editable install.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"


def available() -> list[str]:
    if not BENCH_DIR.is_dir():
        return []
    return sorted(p.stem for p in BENCH_DIR.glob("*.py") if not p.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    names = available()
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in names:
        listing = ", ".join(names) or f"none: {BENCH_DIR} is missing (benchmarks need a source checkout)"
        print(f"usage: mercury bench NAME [options]\nbenchmarks: {listing}")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    script = BENCH_DIR / f"{argv[0]}.py"
    sys.argv = [str(script), *argv[1:]]
    sys.path.insert(0, str(BENCH_DIR))
    try:
        runpy.run_path(str(script), run_name="__main__")
    except SystemExit as done:
        return int(done.code or 0)
    return 0
