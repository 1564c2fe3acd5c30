"""Request building: cursor reading in each encoding, language, mode, indentation, token windows."""

from __future__ import annotations

from pathlib import Path

import pytest
from mercury.lsp.config import Config, TokenBudgets
from mercury.lsp.context import (
    TokenCounter,
    build_request,
    detect_indent,
    has_code_below,
    heads_the_lines_below,
    indent_padding,
    language_of,
    next_line,
    prefix_start,
    read_cursor,
    suffix_end,
    wants_multiline,
)


def cursor(source: str, line: int, character: int, encoding: str = "utf-16", uri: str = "file:///a.py"):
    return read_cursor(source, line, character, encoding, uri=uri, language_id="python")


def test_cursor_splits_the_document():
    c = cursor("def f(x):\n    return x + 1\n", 1, 11)
    assert (c.before, c.after) == ("def f(x):\n    return ", "x + 1\n")
    assert (c.line_prefix, c.line_suffix, c.partial_token) == ("    return ", "x + 1", "")
    assert c.next_lines == ("",)


@pytest.mark.parametrize(("encoding", "column"), [("utf-16", 4), ("utf-8", 6), ("utf-32", 3)])
def test_columns_in_each_encoding(encoding: str, column: int):
    c = cursor("a😋é|rest\n", 0, column, encoding)
    assert c.line_prefix == "a😋é"


def test_crlf_and_lone_cr_are_line_breaks_but_form_feed_is_not():
    c = cursor("x = 1\r\ny = \x0c2\rz", 1, 5)
    assert (c.line_prefix, c.line_suffix, c.next_lines) == ("y = \x0c", "2", ("z",))


@pytest.mark.parametrize(("line", "character"), [(5, 0), (0, 99), (-1, 0), (0, -1)])
def test_positions_outside_the_document_give_none(line: int, character: int):
    assert cursor("one\ntwo\n", line, character) is None


def test_the_empty_line_after_the_last_break_is_valid():
    c = cursor("one\n", 1, 0)
    assert (c.before, c.after) == ("one\n", "")


def test_partial_token():
    assert cursor("total = pri", 0, 11).partial_token == "pri"
    assert cursor("foo(", 0, 4).partial_token == ""


@pytest.mark.parametrize(
    ("language_id", "uri", "expected"),
    [
        ("python", "file:///x", "python"),
        ("typescriptreact", "file:///x", "tsx"),
        ("", "file:///src/main.rs", "rust"),
        ("plaintext", "file:///a/b.HPP", "cpp"),
        ("markdown", "file:///README.md", None),
    ],
)
def test_language_from_id_then_extension(language_id: str, uri: str, expected: str | None):
    assert language_of(language_id, uri) == expected


@pytest.mark.parametrize(
    ("line_prefix", "line_suffix", "multiline"),
    [
        ("def f(x):", "", True),  # block header: its body
        ("    ", "", True),  # empty line: statements
        ("if (x) {", "}", True),  # header with an auto-closed brace
        ("    return x", "", False),  # end of a statement: the rest of the line
        ("print(", ")", False),  # inside a call, only auto-closed text after it
        ("x = foo(", "a, b)", False),  # mid-line
        ("        elif p[1:", "", False),  # a slice inside brackets, not a block header
        ("    return {'key':", "}", False),  # a dict value
    ],
)
def test_single_or_multi_line_from_the_cursor(line_prefix: str, line_suffix: str, multiline: bool):
    assert wants_multiline(line_prefix, line_suffix, "auto") is multiline
    assert wants_multiline(line_prefix, line_suffix, "always") is True
    assert wants_multiline(line_prefix, line_suffix, "never") is False


@pytest.mark.parametrize(
    ("source", "heads", "continues"),
    [
        ("    a = 1\n    |\n        b = 2\n", True, False),  # a header goes here: `b` is deeper
        ("    a = 1\n|\n\n        b = 2\n", True, False),  # nothing typed: the line above's width
        ("def f():\n|\n    return 1\n", False, True),  # nothing typed below a header: its body's width
        ("    if x:  # why\n|\n        y()\n", False, True),  # a Python header with a comment after it
        ("def f():\n    a = 1\n|\n    b = 2\n", False, True),  # between two statements
        ("def f():\n    a = 1\n    |\n    b = 2\n", False, True),  # the same, indentation typed
        ("    if x:\n        a()\n|\nb = 1\n", False, False),  # after a block, the code below is outdented
        ("    if x:\n |\n            deep()\n", True, False),  # one space typed, finished at the body's 8
        ("func f() {\n|\n\treturn\n}\n", False, True),  # tabs: a brace opens the block
        ("func f() {\n\treturn\n|\n}\n", False, False),  # the block's end: its closer is below
        ("    a = 1\n    x|\n        b = 2\n", False, False),  # not an empty line
        ("    a = 1\n    |", False, False),  # nothing below
    ],
)
def test_an_empty_line_with_code_of_its_block_below_asks_one_line(source: str, heads: bool, continues: bool):
    before, after = source.split("|")
    line, column = before.count("\n"), len(before) - (before.rfind("\n") + 1)
    c = cursor(before + after, line, column, "utf-32")
    assert heads_the_lines_below(c) is heads
    assert has_code_below(c) is (heads or continues)
    request, _ = build_request(c, Config(), _char_counter())
    assert request.multiline is (not heads and not continues and not c.line_prefix.strip())
    assert wants_multiline("    ", "", "auto", code_below=True) is False  # one line: the header
    assert wants_multiline("    ", "", "always", code_below=True) is True


def test_indentation_style():
    assert detect_indent("def f():\n\tif x:\n\t\treturn 1\n") == "\t"
    assert detect_indent("def f():\n  if x:\n    return 1\n") == "  "
    assert detect_indent("x = 1\n") == "    "


def _char_counter() -> TokenCounter:
    """A tokenizer with one token per character, so budgets are easy to reason about."""
    return TokenCounter(lambda text: [(i, i + 1) for i in range(len(text))])


def test_prefix_window_is_whole_lines_within_budget():
    before = "".join(f"line{i}\n" for i in range(10)) + "cur"  # 6 chars a line
    start = prefix_start(before, 20, _char_counter(), None)
    assert before[start:] == "line8\nline9\ncur"  # fills 3/4 of the budget, from a line start
    assert len(before[start:]) <= 20


def test_prefix_window_keeps_its_anchor_while_typing():
    counter = _char_counter()
    before = "".join(f"line{i}\n" for i in range(10)) + "cur"
    start = prefix_start(before, 20, counter, None)
    assert prefix_start(before + "sor", 20, counter, start) == start  # typing appends: same start
    assert prefix_start(before + "sor = 12345", 20, counter, start) > start  # over budget: moves


def test_suffix_window_ends_at_a_line_end():
    after = "rest\n" + "".join(f"next{i}\n" for i in range(10))
    end = suffix_end(after, 14, _char_counter())
    assert after[:end] == "rest\nnext0\n"


def test_window_edges_match_a_whole_tokenization():
    # The counter tokenizes only the stretch near the cursor that likely holds the budget, growing it
    # when it does not; the edges are the ones a tokenization of the whole text gives.
    repo_root = Path(__file__).resolve().parents[2]
    counter = TokenCounter.from_file(repo_root / "models" / "coder-mini" / "tokenizer.json")
    text = "".join(f"def f{i}(x, y):\n    return x * {i} + y  # note {i}\n\n" for i in range(400))
    offsets = counter._offsets(text)
    for budget in (10, 300, 1000):
        assert counter.head_end(text, budget) == offsets[budget - 1][1]
        assert counter.tail_start(text, budget) == offsets[-budget][0]
    short = "x = 1\n"
    assert counter.head_end(short, 1000) == len(short) and counter.tail_start(short, 1000) == 0


def test_estimating_counter_without_a_tokenizer():
    counter = TokenCounter()
    assert counter.count("abcdef") == 2
    assert counter.tail_start("x" * 30, 4) == 18


def test_build_request():
    c = cursor("import os\n\ndef f(x):\n    \n\nprint(f(1))\n", 3, 4)
    config = Config(tau=0.8, tokens=TokenBudgets(single=10, multi=99))
    request, anchor = build_request(c, config, _char_counter())
    assert request.prefix == "import os\n\ndef f(x):\n    "
    assert request.suffix == "\n\nprint(f(1))\n"
    assert (request.language, request.multiline, request.max_tokens, request.tau) == ("python", True, 99, 0.8)
    assert (request.cache_key, anchor) == ("file:///a.py", 0)
    assert request.line_budget_ms is None  # off by default
    bounded, _ = build_request(c, Config(line_budget_ms=50), _char_counter())
    assert bounded.line_budget_ms == 50
    assert not request.suffix_cut  # the rest of the file fits: a literal open at its end is the file's
    cut, _ = build_request(c, Config(tokens=TokenBudgets(suffix=4)), _char_counter())
    assert cut.suffix == "\n\n" and cut.suffix_cut


@pytest.mark.parametrize(
    "source, padding",
    [
        ("def f():\n  ", "  "),  # half of a 4-space indent
        ("def f():\n   ", " "),
        ("def f():\n    ", ""),  # a whole indent: nothing to finish
        ("def f():\n", ""),  # column 0
        ("def f():\n  x", ""),  # not in the leading spaces
        ("def f():\n\t", ""),  # tab-indented lines are whole
        ("    x = 1\n  ", "  "),  # no header above: the next multiple of the unit
        ("    if x:\n ", " " * 7),  # a body below a header at 4 starts at 8
        ("    if x:\n    ", " " * 4),  # the header's own width is no place for its body
        ("    if x:  # why\n\n    # note\n  ", " " * 6),  # blank lines and comments skipped
        ("    if x:\n        y()\n    ", ""),  # the body has begun: dedenting is the user's
        # a header split over lines: its last line's width (12) is not the header's (4)
        ("class A:\n    def f(a,\n            b):\n      ", "  "),
    ],
)
def test_indent_padding_finishes_a_half_typed_indentation(source, padding):
    lines = source.split("\n")
    assert indent_padding(cursor(source, len(lines) - 1, len(lines[-1]), "utf-32")) == padding


def test_indent_padding_looks_for_headers_in_python_only():
    source = "    if (x) {\n    "  # a brace language's body may be empty: `}` at 4 is valid
    c = read_cursor(source, 1, 4, "utf-32", uri="file:///a.js", language_id="javascript")
    assert indent_padding(c) == ""


def test_next_line_is_the_empty_line_enter_makes_after_the_accepted_text():
    source = "def f(x):\n    y = \n    return y\n"
    accepted = "x * 2"
    below = next_line(cursor(source, 1, 8), accepted)
    document = source[: len("def f(x):\n    y = ")] + accepted + "\n" + source[len("def f(x):\n    y = ") :]
    assert below == cursor(document, 2, 0)
    assert (below.line_prefix, below.line_suffix, below.next_lines[0]) == ("", "", "    return y")


def test_next_line_after_a_multi_line_suggestion_keeps_the_documents_line_breaks():
    source = "def f(x):\r\n\r\nprint(f(1))\r\n"
    accepted = "    y = x * 2\r\n    return y"
    below = next_line(cursor(source, 1, 0), accepted)
    assert below == cursor("def f(x):\r\n" + accepted + "\r\n\r\nprint(f(1))\r\n", 3, 0)


def test_next_line_replaces_auto_closed_brackets_and_needs_the_rest_of_the_line_done():
    c = cursor("print()\n", 0, 6)
    assert next_line(c, '"hi")', replaced=1).before == 'print("hi")\n'
    assert next_line(c, '"hi"') is None  # the ")" is still right of the cursor: no Enter here


def test_next_line_after_a_suggestion_that_replaced_indentation():
    c = cursor("NAMES = [\n    'a',\n    \nprint(NAMES)\n", 2, 4)
    assert next_line(c, "]", dedent=4).before == "NAMES = [\n    'a',\n]\n"
