"""Decide from a distribution's metadata whether its code may enter the training corpus.

Only permissive licenses pass (MIT, BSD, Apache-2.0, PSF, ISC, ...). Copyleft (GPL, LGPL, AGPL), weak
copyleft (MPL, EPL), proprietary and *unknown* licenses are excluded: when in doubt, leave it out.

Evidence, strongest first: the SPDX `License-Expression` (core metadata 2.4, normative when present);
the `License ::` trove classifiers; the free-text `License` field; the license files in dist-info.
Several classifiers are read as all applying (AND), because metadata cannot say whether they are
alternatives. Free text is read for its title only (its first lines): a package's own license comes
first, and long texts go on to list bundled native libraries whose terms do not cover its Python code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from pathlib import Path

# SPDX identifiers of permissive licenses (lower case), and names seen outside SPDX.
PERMISSIVE = frozenset(
    s.lower()
    for s in (
        "MIT", "MIT-0", "MIT-CMU", "X11", "BSD", "0BSD", "BSD-2-Clause", "BSD-3-Clause",
        "BSD-3-Clause-Clear", "Apache-2.0", "Apache", "PSF-2.0", "PSF", "Python-2.0", "CNRI-Python",
        "ISC", "Zlib", "Unlicense", "CC0-1.0", "BSL-1.0", "HPND", "NCSA", "AFL-2.1", "AFL-3.0",
        "Public-Domain", "UPL-1.0", "W3C",
    )
)  # fmt: skip

# Trove classifier tails (after "License :: ... ::") -> SPDX-like label.
_CLASSIFIERS = (
    ("mit no attribution", "MIT-0"),
    ("mit", "MIT"),
    ("bsd", "BSD"),
    ("apache", "Apache-2.0"),
    ("python software foundation", "PSF-2.0"),
    ("isc", "ISC"),
    ("zlib", "Zlib"),
    ("unlicense", "Unlicense"),
    ("cc0", "CC0-1.0"),
    ("public domain", "Public-Domain"),
    ("boost", "BSL-1.0"),
    ("historical permission", "HPND"),
    ("academic free", "AFL-3.0"),
    ("university of illinois", "NCSA"),
    ("affero", "AGPL"),
    ("lesser general public", "LGPL"),
    ("library or lesser", "LGPL"),
    ("general public", "GPL"),
    ("agpl", "AGPL"),
    ("lgpl", "LGPL"),
    ("gpl", "GPL"),
    ("mozilla", "MPL-2.0"),
    ("eclipse", "EPL"),
    ("european union", "EUPL"),
    ("proprietary", "Proprietary"),
)

# Title-level phrases of free license text -> label; non-permissive phrases are listed first.
_TEXT = (
    (r"\bAGPL|Affero", "AGPL"),
    (r"\bLGPL|Lesser General Public|Library General Public", "LGPL"),
    (r"\bGPL|General Public License", "GPL"),
    (r"\bMPL\b|Mozilla Public", "MPL-2.0"),
    (r"\bEPL\b|Eclipse Public", "EPL"),
    (r"Proprietary|NVIDIA Software License|End User License", "Proprietary"),
    (r"\bMIT\b|Permission is hereby granted, free of charge", "MIT"),
    (r"\bBSD\b|Redistribution and use in source and binary forms", "BSD"),
    (r"Apache", "Apache-2.0"),
    (r"\bPSF\b|Python Software Foundation", "PSF-2.0"),
    (r"\bISC\b", "ISC"),
    (r"Unlicense|public domain|CC0", "Public-Domain"),
    (r"Historical Permission Notice", "HPND"),
)
_TITLE_LINES = 4  # non-blank lines: "Copyright ...", "All rights reserved.", then the license's words
_LICENSE_FILE = re.compile(r"(LICEN[CS]E|COPYING)", re.IGNORECASE)


@dataclass(frozen=True)
class Verdict:
    label: str  # SPDX-like, e.g. "MIT", "BSD-3-Clause AND MIT", "MPL-2.0", "unknown"
    permissive: bool
    evidence: str  # which field decided: License-Expression | classifiers | License | file:<name>


def is_permissive_label(label: str) -> bool:
    return label.lower() in PERMISSIVE


def spdx_permissive(expression: str) -> bool | None:
    """True/False for an SPDX expression built of known licenses; None when an id is unknown.

    OR needs one permissive branch, AND needs all; "X WITH exception" is judged by X."""
    tokens = re.findall(r"\(|\)|[^\s()]+", expression)
    value, rest = _spdx_or(tokens)
    return None if rest else value


def _spdx_or(tokens: list[str]) -> tuple[bool | None, list[str]]:
    values, rest = [], tokens
    while True:
        value, rest = _spdx_and(rest)
        values.append(value)
        if not rest or rest[0].upper() != "OR":
            break
        rest = rest[1:]
    if any(v is True for v in values):
        return True, rest
    return (None if None in values else False), rest


def _spdx_and(tokens: list[str]) -> tuple[bool | None, list[str]]:
    values, rest = [], tokens
    while True:
        value, rest = _spdx_atom(rest)
        values.append(value)
        if not rest or rest[0].upper() != "AND":
            break
        rest = rest[1:]
    if any(v is False for v in values):
        return False, rest
    return (None if None in values else True), rest


def _spdx_atom(tokens: list[str]) -> tuple[bool | None, list[str]]:
    if not tokens:
        return None, []
    if tokens[0] == "(":
        value, rest = _spdx_or(tokens[1:])
        return (value, rest[1:]) if rest[:1] == [")"] else (None, [])
    name, rest = tokens[0].removesuffix("+"), tokens[1:]
    if rest[:1] and rest[0].upper() == "WITH":
        rest = rest[2:]  # an exception only ever adds permissions to the license it qualifies
    if is_permissive_label(name):
        return True, rest
    known_restrictive = re.match(r"(A|L)?GPL|MPL|EPL|EUPL|CDDL|OSL|SSPL|BUSL|CC-BY-NC", name, re.I)
    return (False if known_restrictive else None), rest


def classify(metadata: Message, license_texts: dict[str, str] | None = None) -> Verdict:
    """The verdict for one distribution's METADATA (and the texts of its license files, by name)."""
    expression = (metadata.get("License-Expression") or "").strip()
    if expression:
        return Verdict(expression, spdx_permissive(expression) is True, "License-Expression")
    labels = _classifier_labels(metadata.get_all("Classifier") or [])
    if labels:
        label = " AND ".join(sorted(set(labels)))
        return Verdict(label, all(map(is_permissive_label, labels)), "classifiers")
    verdict = _text_verdict(metadata.get("License") or "", "License")
    for name, text in sorted((license_texts or {}).items()):
        if verdict is not None:
            break
        verdict = _text_verdict(text, f"file:{name}")
    return verdict or Verdict("unknown", False, "none")


def _classifier_labels(classifiers: list[str]) -> list[str]:
    labels = []
    for c in classifiers:
        parts = [p.strip() for p in c.split("::")]
        if parts[0] != "License" or parts[-1] == "OSI Approved":
            continue  # "OSI Approved" alone names no license
        tail = parts[-1].lower()
        label = next((lab for key, lab in _CLASSIFIERS if key in tail), "unknown")
        labels.append(label)
    return labels


def _text_verdict(text: str, evidence: str) -> Verdict | None:
    """A verdict from free text: an SPDX expression ("MPL-2.0 AND MIT"), else the title's phrases."""
    text = text.strip()
    if not text or text.upper() in ("UNKNOWN", "NONE"):
        return None
    first = text.splitlines()[0].strip()
    value = spdx_permissive(first)
    if value is not None:
        return Verdict(first, value, evidence)
    lines = [line.strip() for line in text.splitlines() if line.strip()][:_TITLE_LINES]
    title = " ".join(lines)  # one line, so that a phrase broken across lines still matches
    for pattern, label in _TEXT:
        if re.search(pattern, title, re.IGNORECASE if label == "Public-Domain" else 0):
            return Verdict(label, is_permissive_label(label), evidence)
    return None


def license_texts(root: Path, names: list[str]) -> dict[str, str]:
    """The first 2,000 characters of each license-like file among `names` (relative to `root`)."""
    texts = {}
    for name in names:
        if _LICENSE_FILE.search(Path(name).name) and not name.endswith(".py"):
            try:
                texts[name] = (root / name).read_text(encoding="utf-8", errors="replace")[:2000]
            except OSError:
                continue
    return texts
