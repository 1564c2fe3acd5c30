"""Debian source packages as corpus sources: install with apt-get, license every file from DEP-5.

Each package's /usr/share/doc/<pkg>/copyright is machine-readable (DEP-5): paragraphs of `Files:`
patterns with a `License:`; the last paragraph that matches a file decides its license. Files whose
license is not on the permissive allowlist (copyleft, fonts, documentation licenses, "noderivs")
are left out, so one GPL file inside an otherwise MIT tree never reaches training.
https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mercury.corpus_sources import LANGUAGE_SUFFIXES, Source, SourceFile, is_test_path, walk_code

# Short names as Debian spells them, lowercased; "A or B" passes when any alternative does.
PERMISSIVE = frozenset(
    {
        "mit",
        "expat",
        "apache-2.0",
        "apache-2.0-with-llvm-exception",
        "apache-2.0 with llvm exception",
        "bsd-2-clause",
        "bsd-3-clause",
        "0bsd",
        "isc",
        "zlib",
        "bsl-1.0",
        "cc0-1.0",
        "unlicense",
        "go",
        "x11",
        "freebsd",
        "psf-2.0",
    }
)


@dataclass(frozen=True)
class DebianTree:
    """Where a package puts its sources, and how installed paths map to the copyright's paths."""

    package: str
    language: str
    root_glob: str  # the installed tree (a glob, for versioned directories)
    copyright_prefix: str  # prepended to a path relative to root to match the copyright's Files:
    unit_of: Callable[[str], str]
    skip_dirs: frozenset[str] = frozenset({"testdata", "vendor", "debian"})
    # rustc's UI tests (16k files, many broken on purpose) and book examples are not library code
    skip_prefixes: tuple[str, ...] = ()


def _go_unit(rel: str) -> str:
    """Go std packages by first directory; the toolchain (cmd/) by its second, it is half the tree."""
    parts = rel.split("/")
    return "/".join(parts[:2]) if parts[0] == "cmd" and len(parts) > 2 else parts[0]


def _rust_unit(rel: str) -> str:
    """Crates: library/<crate>, compiler/<crate>, src/tools/<tool>."""
    parts = rel.split("/")
    depth = 3 if parts[0] == "src" and len(parts) > 3 else 2
    return "/".join(parts[:depth]) if len(parts) > depth else parts[0]


TREES = {
    "go": [DebianTree("golang-1.19-src", "go", "/usr/share/go-1.19/src", "src/", _go_unit)],
    "rust": [
        DebianTree(
            "rust-src", "rust", "/usr/src/rustc-*", "", _rust_unit, skip_prefixes=("src/test/", "src/doc/")
        )
    ],
}


def license_allowed(expression: str) -> bool:
    """True when some alternative of a DEP-5 license expression is permissive."""
    alternatives = re.split(r"\s+or\s+", expression.strip().lower())
    return any(" ".join(alt.split()) in PERMISSIVE for alt in alternatives)


def _pattern(glob: str) -> re.Pattern[str]:
    # DEP-5 globs: '*' matches any string including '/', '?' one character, nothing else is special.
    return re.compile(re.escape(glob).replace(r"\*", ".*").replace(r"\?", "."))


def parse_dep5(text: str) -> list[tuple[list[re.Pattern[str]], str]]:
    """(compiled Files patterns, license short name) for each Files paragraph, in file order."""
    rules = []
    for paragraph in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        current = None
        for line in paragraph.splitlines():
            if line[:1] in (" ", "\t") and current:
                fields[current] += "\n" + line.strip()
            elif ":" in line:
                current, _, value = line.partition(":")
                current = current.strip().lower()
                fields[current] = value.strip()
        if "files" in fields and "license" in fields:
            globs = fields["files"].split()
            rules.append(([_pattern(g) for g in globs], fields["license"].splitlines()[0].strip()))
    return rules


def license_of(path: str, rules: list[tuple[list[re.Pattern[str]], str]]) -> str | None:
    """The license of the last paragraph whose patterns match `path` (DEP-5's rule)."""
    found = None
    for patterns, name in rules:
        if any(p.fullmatch(path) for p in patterns):
            found = name
    return found


def ensure_installed(package: str) -> None:
    """apt-get install the package when dpkg does not know it (needs root and a reachable mirror)."""
    status = subprocess.run(["dpkg-query", "-W", "-f=${Status}", package], capture_output=True, text=True)
    if "install ok installed" in status.stdout:
        return
    print(f"installing {package} with apt-get ...", file=sys.stderr)
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", package], check=True)


def debian_source(tree: DebianTree) -> Source:
    """A Source over an installed package, keeping only files with a permissive license."""
    ensure_installed(tree.package)
    roots = sorted(Path("/").glob(tree.root_glob.lstrip("/")))
    if not roots:
        raise FileNotFoundError(f"{tree.package}: nothing at {tree.root_glob} after installing")
    root = roots[-1]
    version = subprocess.run(
        ["dpkg-query", "-W", "-f=${Version}", tree.package], capture_output=True, text=True
    ).stdout
    copyright_file = Path("/usr/share/doc") / tree.package / "copyright"
    rules = parse_dep5(copyright_file.read_text(encoding="utf-8", errors="replace"))
    source = Source(
        name=f"debian-{tree.package}",
        root=root,
        language=tree.language,
        license="per file (DEP-5), permissive only",
        license_file=str(copyright_file),
        version=version,
    )
    for rel in walk_code(root, LANGUAGE_SUFFIXES[tree.language], tree.skip_dirs):
        if rel.startswith(tree.skip_prefixes):
            continue
        name = license_of(tree.copyright_prefix + rel, rules)
        if name is None or not license_allowed(name):
            source.rejected_licenses[name or "unknown"] = (
                source.rejected_licenses.get(name or "unknown", 0) + 1
            )
            continue
        source.files.append(SourceFile(rel, root / rel, tree.unit_of(rel), is_test_path(rel), license=name))
    return source


def debian_sources(languages: tuple[str, ...]) -> list[Source]:
    """Sources for the given languages; languages without a known tree are reported and skipped."""
    sources = []
    for language in languages:
        if language not in TREES:
            print(f"no Debian source tree known for {language!r}; skipped", file=sys.stderr)
            continue
        sources += [debian_source(tree) for tree in TREES[language]]
    return sources
