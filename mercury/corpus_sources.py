"""Where the training corpus comes from: each source lists its files with a license and a split unit.

A source is a directory tree of permissively licensed code that exists offline on this machine
(see ../shared/PLATFORM.md, "Code corpora available offline"). Every file carries the *unit* it
belongs to (a package or project). The held-out split is drawn over units, never over files, so
that evaluation code shares no package with training code.
"""

from __future__ import annotations

import os
import re
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

# Test directories by the names that CPython and most projects use.
TEST_DIRS = frozenset({"test", "tests", "idle_test", "testdata", "testing"})
LANGUAGE_SUFFIXES = {
    "python": (".py",),
    "go": (".go",),
    "rust": (".rs",),
    "javascript": (".js", ".mjs", ".cjs"),
}


@dataclass(frozen=True)
class SourceFile:
    """One candidate file: `relpath` is relative to its source's root, `unit` is its split unit."""

    relpath: str
    abspath: Path
    unit: str
    is_test: bool = False
    license: str = ""  # when files of one source differ (Debian DEP-5); else the source's license


@dataclass
class Source:
    """A tree of code under one license; `files` is filled by the source's lister."""

    name: str
    root: Path
    language: str
    license: str
    license_file: str
    version: str = ""
    files: list[SourceFile] = field(default_factory=list)
    rejected_licenses: dict[str, int] = field(default_factory=dict)  # license -> files left out


def walk_code(root: Path, suffixes: tuple[str, ...], skip_dirs: frozenset[str] = frozenset()) -> list[str]:
    """Relative paths of files under `root` with one of `suffixes`, sorted; symlinks not followed."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        # Pruning in place keeps os.walk out of skipped trees; sorting makes the walk reproducible.
        dirnames[:] = sorted(d for d in dirnames if d not in skip_dirs and not d.startswith("."))
        rel_dir = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            full = Path(dirpath) / name
            if name.endswith(suffixes) and full.is_file() and not full.is_symlink():
                found.append(name if rel_dir == "." else f"{rel_dir}/{name}")
    return found


def is_test_path(relpath: str) -> bool:
    """True for files in a test directory or named test_*.py / *_test.go and the like."""
    parts = relpath.split("/")
    name = parts[-1]
    stem = name.rsplit(".", 1)[0]
    return bool(TEST_DIRS.intersection(parts[:-1])) or stem.startswith("test_") or stem.endswith("_test")


def tested_unit(test_name: str, units: set[str]) -> str:
    """Map a CPython test module name (test_urllib2_localnet) to the package it tests (urllib).

    The longest unit that the name starts with, followed by '_', a digit or the end, wins; test
    helpers that test no particular package map to "test".
    """
    stem = test_name.removesuffix(".py").removeprefix("test_")
    matches = [unit for unit in units if re.match(rf"{re.escape(unit)}(?:[_0-9]|$)", stem)]
    return max(matches, key=len) if matches else "test"


# CPython's lib directory also holds installed third-party packages and build artefacts.
_STDLIB_SKIP = frozenset({"site-packages", "dist-packages", "lib-dynload", "__pycache__"})


def cpython_stdlib() -> Source:
    """The standard library of the running interpreter (PSF-2.0), split by top-level module.

    Tests stay in (they are real code, and they double the amount of Python), but each test file
    is assigned to the package it tests, so a held-out package's tests are never trained on.
    """
    root = Path(sysconfig.get_paths()["stdlib"])
    version = ".".join(map(str, sys.version_info[:3]))
    skip = _STDLIB_SKIP | {d.name for d in root.glob("config-*")}
    rels = walk_code(root, LANGUAGE_SUFFIXES["python"], skip)
    units = {r.split("/")[0].removesuffix(".py") for r in rels} - {"test"}
    source = Source(
        name=f"cpython-{version}-stdlib",
        root=root,
        language="python",
        license="PSF-2.0",
        license_file=str(root / "LICENSE.txt"),
        version=version,
    )
    for rel in rels:
        top = rel.split("/")[0].removesuffix(".py")
        unit = tested_unit(rel.split("/")[1], units) if top == "test" and "/" in rel else top
        source.files.append(SourceFile(rel, root / rel, unit, top == "test" or is_test_path(rel)))
    return source
