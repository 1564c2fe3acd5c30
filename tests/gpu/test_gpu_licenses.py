"""License verdicts from distribution metadata: only permissive licenses reach the corpus."""

from email.message import Message

import _gpu_bench  # noqa: F401 (bench.gpu becomes importable)
import pytest

from bench.gpu.licenses import classify, spdx_permissive


def metadata(license_expression=None, license_text=None, classifiers=()):
    m = Message()
    if license_expression:
        m["License-Expression"] = license_expression
    if license_text:
        m["License"] = license_text
    for c in classifiers:
        m["Classifier"] = c
    return m


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("MIT", True),
        ("BSD-3-Clause AND 0BSD AND MIT AND Zlib AND CC0-1.0", True),
        ("Apache-2.0 OR BSD-2-Clause", True),
        ("Apache-2.0 AND Apache-2.0 WITH LLVM-exception AND BSL-1.0", True),
        ("MIT OR GPL-3.0-or-later", True),
        ("MPL-2.0", False),
        ("MPL-2.0 AND MIT", False),
        ("LGPL-2.1-only", False),
        ("GPL-2.0 WITH Classpath-exception-2.0", False),
        ("Apache-2.0 AND (MIT OR GPL-2.0)", True),
        ("LicenseRef-Proprietary", None),
        ("MIT AND LicenseRef-Unknown", None),
    ],
)
def test_spdx_expressions(expression, expected):
    assert spdx_permissive(expression) is expected


def test_the_expression_decides_before_classifiers():
    verdict = classify(metadata("MPL-2.0", classifiers=["License :: OSI Approved :: MIT License"]))
    assert not verdict.permissive and verdict.evidence == "License-Expression"


def test_classifiers_must_all_be_permissive():
    assert classify(metadata(classifiers=["License :: OSI Approved :: BSD License"])).permissive
    gpl = "License :: OSI Approved :: GNU General Public License v3"
    both = ["License :: OSI Approved :: MIT License", gpl]
    assert not classify(metadata(classifiers=both)).permissive
    mpl = ["License :: OSI Approved :: Mozilla Public License 2.0 (MPL 2.0)"]
    assert classify(metadata(classifiers=mpl)).label == "MPL-2.0"


def test_free_text_is_read_by_its_title():
    assert classify(metadata(license_text="3-Clause BSD License")).permissive
    assert not classify(metadata(license_text="MPL-2.0 AND MIT")).permissive
    assert not classify(metadata(license_text="GNU Lesser General Public License v2.1")).permissive
    # A BSD package whose long text later lists a bundled GPL runtime library is judged by its own license.
    text = "Copyright (c) 2001 Someone.\nAll rights reserved.\n\nRedistribution and use in source\n"
    text += "and binary forms, with or without modification, are permitted provided that ...\n" * 20
    text += "libgfortran: GPL v3 with the runtime exception"
    assert classify(metadata(license_text=text)).label == "BSD"


def test_unknown_is_excluded():
    assert classify(metadata()).label == "unknown"
    assert not classify(metadata(license_text="UNKNOWN")).permissive
    assert not classify(metadata(classifiers=["License :: OSI Approved"])).permissive
    proprietary = ["License :: Other/Proprietary License"]
    assert not classify(metadata(classifiers=proprietary)).permissive


def test_license_files_are_the_last_resort():
    verdict = classify(metadata(), {"x.dist-info/LICENSE": "MIT License\n\nPermission is hereby granted"})
    assert verdict.permissive and verdict.evidence == "file:x.dist-info/LICENSE"
