"""The VS Code extension's own checks, run from pytest once its Node dependencies are installed.

VS Code itself cannot run here, so these are what can: the strict type-check (tsc), the unit tests of
the extension's logic with Node's test runner (including activation against a stand-in `vscode`
module), and packaging into a .vsix with @vscode/vsce. CI installs the dependencies first with
`npm ci --prefix editors/vscode`; without node_modules the tests are skipped, saying so.
"""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[2] / "editors" / "vscode"


@pytest.fixture(scope="module")
def npm() -> str:
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        pytest.skip("node and npm are not installed")
    if not (EXTENSION / "node_modules").is_dir():
        pytest.skip("editors/vscode/node_modules is missing: run `npm ci --prefix editors/vscode` first")
    return npm


def run(args: list[str]) -> None:
    done = subprocess.run(args, cwd=EXTENSION, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"


def test_typecheck_is_clean_in_strict_mode(npm: str) -> None:
    run([npm, "run", "--silent", "typecheck"])


def test_unit_tests_pass(npm: str) -> None:
    run([npm, "test", "--silent"])


def test_package_makes_a_vsix_with_the_bundle(npm: str, tmp_path: Path) -> None:
    vsix = tmp_path / "mercury.vsix"
    run([npm, "exec", "--", "vsce", "package", "--no-dependencies", "--out", str(vsix)])
    names = set(zipfile.ZipFile(vsix).namelist())
    assert {"extension/package.json", "extension/dist/extension.js", "extension/LICENSE.txt"} <= names, names
    assert not any(name.startswith(("extension/src/", "extension/node_modules/")) for name in names), names
