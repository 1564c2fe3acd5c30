"""Exact and near-duplicate detection (mercury.dedup)."""

from __future__ import annotations

from mercury.dedup import NearDuplicateIndex, shingle_hashes, text_digest

BASE = "\n".join(
    f"def handler_{i}(request, context):\n    return process(request.data[{i}], context)" for i in range(30)
)


def test_a_one_line_edit_is_a_near_duplicate():
    index = NearDuplicateIndex(threshold=0.85)
    assert index.add_if_new("a", BASE) is None
    assert index.add_if_new("b", BASE.replace("data[7]", "data[8]")) == "a"


def test_reindenting_does_not_hide_a_copy():
    index = NearDuplicateIndex()
    index.add_if_new("a", BASE)
    assert index.add_if_new("b", BASE.replace("    return", "\treturn")) == "a"


def test_different_code_is_kept():
    index = NearDuplicateIndex()
    index.add_if_new("a", BASE)
    other = "\n".join(f"class Model{i}:\n    name = 'model {i}'\n    size = {i * 3}" for i in range(30))
    assert index.add_if_new("b", other) is None
    assert index.keys == ["a", "b"]


def test_shingles_are_stable_across_processes():
    # CRC32-based, not hash(): the same text hashes the same under any PYTHONHASHSEED
    assert shingle_hashes("a b c d e f")[:2].tolist() == shingle_hashes("a b c d e f")[:2].tolist()
    assert shingle_hashes("").size == 0
    assert text_digest("x") == text_digest("x") != text_digest("y")
