"""DEP-5 copyright parsing and the permissive-license allowlist (mercury.corpus_debian)."""

from __future__ import annotations

from mercury.corpus_debian import license_allowed, license_of, parse_dep5

COPYRIGHT = """\
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: example

Files: *
Copyright: 2020 Someone
License: MIT or Apache-2.0

Files:
 src/vendor/gpl/*
 src/odd[name].rs
Copyright: 2019 Someone Else
License: GPL-2+

Files: src/vendor/gpl/permissive.rs
Copyright: 2021 A Third
License: BSD-3-clause

License: GPL-2+
 The license text, which is not a Files paragraph.
"""


def test_last_matching_paragraph_wins():
    rules = parse_dep5(COPYRIGHT)
    assert license_of("src/lib.rs", rules) == "MIT or Apache-2.0"
    assert license_of("src/vendor/gpl/deep/x.rs", rules) == "GPL-2+"  # '*' crosses directories
    assert license_of("src/vendor/gpl/permissive.rs", rules) == "BSD-3-clause"
    assert license_of("src/odd[name].rs", rules) == "GPL-2+"  # brackets are literal in DEP-5


def test_license_allowlist():
    assert license_allowed("MIT or Apache-2.0")
    assert license_allowed("MIT  or  Apache-2.0")
    assert license_allowed("Apache-2.0 with LLVM exception")
    assert license_allowed("Go")
    assert not license_allowed("GPL-2+")
    assert not license_allowed("MPL-2.0")
    assert not license_allowed("noderivs")
