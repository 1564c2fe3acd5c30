"""Corpus sources present on any Python machine: the installed distributions and the stdlib.

Each installed distribution (its dist-info RECORD lists its files) is one source and one split unit,
with the license read from its metadata (licenses.py). A distribution is left out when its license is
not permissive, when it is one of the projects the evaluation sets came from, or when it is this
project. Vendored copies of other projects inside a distribution are left out as well: they carry
their own, unrecorded, licenses (pip vendors certifi, which is MPL-2.0).

The stdlib is the recipe's source (mercury.corpus_sources.cpython_stdlib); its held-out packages are
the ones listed in heldout.json, copied from the recipe's manifest, so that held-out evaluation code
never enters training on a machine whose Python version (hence hash split) differs from ours.
"""

from __future__ import annotations

import importlib.metadata as md
import json
import re
import site
import sysconfig
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mercury.corpus_sources import Source, SourceFile, cpython_stdlib, is_test_path

from .licenses import Verdict, classify, license_texts

HELDOUT_SPEC = Path(__file__).with_name("heldout.json")
THIS_PROJECT = "mercury-lsp"
VENDORED_DIRS = frozenset(
    {"_vendor", "vendor", "_vendored", "vendored", "third_party", "_third_party", "thirdparty",
     "externals", "_externals", "extern", "_extern", "_bundled", "bundled"}
)  # fmt: skip


@dataclass
class Package:
    """One installed distribution and what the corpus does with it."""

    name: str
    version: str
    root: str  # the site-packages directory its RECORD paths are relative to
    license: str
    permissive: bool
    evidence: str
    decision: str  # "train" or "excluded: <why>"
    python_files: list[str] = field(default_factory=list)  # relative to root, vendored ones removed
    vendored_skipped: int = 0
    top_level: list[str] = field(default_factory=list)

    def summary(self) -> dict:
        record = asdict(self)
        record["python_files"] = len(self.python_files)
        return record


def normalize(name: str) -> str:
    """PEP 503 name, compacted: 'Tigris_Client.python' and 'tigris-client-python' compare equal."""
    return re.sub(r"[-_.]+", "", name).lower()


def load_heldout_spec(path: Path = HELDOUT_SPEC) -> dict:
    return json.loads(path.read_text())


def eval_project_names(spec: dict) -> frozenset[str]:
    return frozenset(normalize(n) for project in spec["eval_projects"] for n in project["names"])


def site_dirs() -> list[Path]:
    """This interpreter's site-packages directories, in import order, without duplicates."""
    paths = sysconfig.get_paths()
    candidates = [*site.getsitepackages(), paths["purelib"], paths["platlib"]]
    seen, dirs = set(), []
    for c in candidates:
        p = Path(c).resolve()
        if p.is_dir() and p not in seen:
            seen.add(p)
            dirs.append(p)
    return dirs


def installed_packages(dirs: list[Path], excluded_names: frozenset[str]) -> list[Package]:
    """Every distribution found in `dirs` (the first of a name wins), with its verdict and files."""
    packages, seen = [], set()
    for directory in dirs:
        dists = md.distributions(path=[str(directory)])
        for dist in sorted(dists, key=lambda d: normalize(d.metadata["Name"] or "")):
            key = normalize(dist.metadata["Name"] or "")
            if key and key not in seen:
                seen.add(key)
                packages.append(_package(dist, directory, excluded_names))
    return packages


def _package(dist: md.Distribution, root: Path, excluded_names: frozenset[str]) -> Package:
    files = [str(f) for f in dist.files or []]
    verdict: Verdict = classify(dist.metadata, license_texts(root, files))
    python, vendored = _python_files(files, root)
    top = sorted({f.split("/")[0].removesuffix(".py") for f in python})
    name = dist.metadata["Name"]
    pkg = Package(name, dist.version, str(root), verdict.label, verdict.permissive, verdict.evidence, "")
    pkg.python_files, pkg.vendored_skipped, pkg.top_level = python, vendored, top
    pkg.decision = _decision(pkg, excluded_names)
    return pkg


def _python_files(files: list[str], root: Path) -> tuple[list[str], int]:
    """RECORD's .py files inside `root` (not ../bin), and how many vendored ones were dropped."""
    python, vendored = [], 0
    for rel in files:
        parts = rel.split("/")
        if not rel.endswith(".py") or ".." in parts or "__pycache__" in parts:
            continue
        if VENDORED_DIRS.intersection(parts[:-1]):
            vendored += 1
        elif (root / rel).is_file() and not (root / rel).is_symlink():
            python.append(rel)
    return sorted(python), vendored


def _decision(pkg: Package, excluded_names: frozenset[str]) -> str:
    names = {normalize(pkg.name), *(normalize(t) for t in pkg.top_level)}
    if normalize(pkg.name) == normalize(THIS_PROJECT):
        return "excluded: this project"
    if names & excluded_names:
        return "excluded: an evaluation set's project"
    if not pkg.permissive:
        return f"excluded: license {pkg.license}"
    if not pkg.python_files:
        return "excluded: no Python files"
    return "train"


def package_source(pkg: Package) -> Source:
    """A corpus Source for one distribution: every file in one unit, named after the distribution."""
    root = Path(pkg.root)
    source = Source(
        name=f"{pkg.name}-{pkg.version}",
        root=root,
        language="python",
        license=pkg.license,
        license_file="",
        version=pkg.version,
    )
    unit = normalize(pkg.name)
    source.files = [SourceFile(rel, root / rel, unit, is_test_path(rel)) for rel in pkg.python_files]
    return source


def stdlib_source() -> Source:
    """The running interpreter's stdlib, as the recipe lists it."""
    return cpython_stdlib()
