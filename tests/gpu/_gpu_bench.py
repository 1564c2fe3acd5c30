"""Import first in a test: it makes bench/gpu importable as `bench.gpu` without putting the
repository root on sys.path (the root holds denoiser/, lsp/, syntax/ and models/, which must stay
reachable only as mercury.<part>). Not a conftest.py: tests elsewhere import `conftest` by name, and a
second conftest module here could shadow theirs.
"""

import sys
import types
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

if "bench" not in sys.modules:
    bench = types.ModuleType("bench")
    bench.__path__ = [str(REPO_ROOT / "bench")]
    sys.modules["bench"] = bench
