"""coder-small's GPU run (README.md). Importing it makes `mercury.<part>` importable from a bare checkout.

pyproject.toml maps mercury.denoiser to denoiser/, mercury.models to models/, and so on; installing the
package applies that mapping. The GPU machine runs a checkout that is not installed, so the repository
root joins mercury's search path instead, which resolves the same names to the same folders.
"""

import importlib.util
from pathlib import Path

import mercury

REPO_ROOT = Path(__file__).resolve().parents[2]
if importlib.util.find_spec("mercury.denoiser") is None:
    mercury.__path__.append(str(REPO_ROOT))
