"""The parsed window around the cursor, and byte-to-character offset maps."""

from __future__ import annotations

from mercury.syntax.window import CharMap, WindowConfig, blocks_around, cut_window, encode


def _module(functions: int) -> str:
    """A Python module of small top-level functions, 4 lines each."""
    return "".join(f"def f{i}(x):\n    y = x + {i}\n    return y\n\n" for i in range(functions))


def test_small_file_is_parsed_whole() -> None:
    source = _module(5)
    cursor = source.index("return y", 40)
    window = cut_window(source[:cursor], source[cursor:])
    assert window.prefix + window.suffix == source
    assert window.whole_start and window.whole_end


def test_big_file_window_is_small_and_cut_at_top_level_lines() -> None:
    source = _module(2500)  # 10,000 lines
    cursor = source.index("return y", len(source) // 2)
    window = cut_window(source[:cursor], source[cursor:], WindowConfig(before=10, after=10, extend=50))
    assert window.prefix.count("\n") <= 61 and window.suffix.count("\n") <= 62
    assert window.prefix.startswith("def f")  # the window starts at a top-level line ...
    assert source[cursor + len(window.suffix) :].startswith("def f")  # ... and ends before one
    assert window.whole_start and window.whole_end


def test_without_top_level_lines_the_minimum_context_is_used() -> None:
    body = "".join(f"    x{i} = {i}\n" for i in range(200))
    prefix, suffix = "class A:\n" + body + "    ", "y = 1\n" + body
    window = cut_window(prefix, suffix, WindowConfig(before=5, after=5, extend=20))
    assert window.prefix.count("\n") == 5 and window.suffix.count("\n") == 6
    assert not window.whole_start and not window.whole_end


def test_no_cut_inside_a_block_comment() -> None:
    prefix = "int a;\n/*\nProse at column 0\nmore prose\n*/\nint f(void) {\n    int x = 1;\n    "
    suffix = "\n    return x;\n}\n/* tail\nProse here\n*/\nint g;\n"
    window = cut_window(prefix, suffix, WindowConfig(before=1, after=1, extend=10), "c")
    assert window.prefix.startswith("int f(void)")
    assert window.suffix.endswith("*/\n")


def test_no_cut_inside_a_docstring() -> None:
    prefix = 'def f():\n    """\nDocumentation at column 0\n    """\n    x = 1\n    '
    window = cut_window(prefix, "y\n", WindowConfig(before=1, after=1, extend=10), "python")
    assert window.prefix.startswith("def f():")


CUT_IN_DOCSTRING = (
    '    the ``cls`` kwarg; otherwise ``Encoder`` is used.\n\n    """\n    return dumps(obj)\n\n\n'
    'def load(fp):\n    """Read one document."""\n    text = fp.read()\n    '
)


def test_a_prefix_cut_inside_a_docstring_is_not_parsed_from_its_start() -> None:
    from mercury.syntax.languages import parse
    from mercury.syntax.window import starts_in_docstring

    assert starts_in_docstring(CUT_IN_DOCSTRING, ('"""', "'''")) == '"""'
    window = cut_window(
        CUT_IN_DOCSTRING, "return text\n", WindowConfig(before=1, after=1, extend=10), "python"
    )
    assert window.prefix.startswith("def load(fp):") and window.whole_start
    assert not parse("python", encode(window.prefix + "return text\n")).root_node.has_error


def test_a_prefix_that_starts_in_a_long_docstring_is_parsed_from_below_it() -> None:
    # The client's prefix begins in a module docstring longer than the window reaches back: the
    # window starts after the docstring, not in its prose (which parsed as a string of errors).
    from mercury.syntax.languages import parse

    prose = "".join(f"line {i} of the module's long explanation.\n" for i in range(60))
    prefix = prose + '"""\n\nimport sys\n\ndef trace(message):\n'
    window = cut_window(prefix, "\n\ndef other():\n    pass\n", WindowConfig(before=30, after=5), "python")
    assert window.prefix.startswith("import sys") and window.whole_start
    body = '    """Print the message."""\n    print(message)'
    assert not parse("python", encode(window.prefix + body + window.suffix)).root_node.has_error


def test_docstrings_that_open_are_not_mistaken_for_closing_ones() -> None:
    from mercury.syntax.window import starts_in_docstring

    triples = ('"""', "'''")
    assert starts_in_docstring('"""\nModule doc.\n"""\nimport os\n', triples) is None  # a file's start
    assert starts_in_docstring('    x = 1\n\ndef g():\n    """\n    Doc.\n    """\n', triples) is None
    assert starts_in_docstring('    text = """\n    body\n    """\n', triples) is None
    assert starts_in_docstring('    print("""\n    body\n    """)\n', triples) is None
    assert starts_in_docstring("    the end of the docs.'''\n    x = 1\n", triples) == "'''"
    assert starts_in_docstring('#!/usr/bin/env python\n"""Module doc."""\n', triples) is None
    # Cuts at column 0: prose of a module docstring, and the docstring's closing line itself.
    assert starts_in_docstring('More prose. See the\nmanual.\n"""\nimport os\n', triples) == '"""'
    assert starts_in_docstring('"""\n\nimport functools\nimport sys\n', triples) == '"""'


def test_a_string_prefix_after_an_assignment_opens_a_string() -> None:
    from mercury.syntax.window import starts_in_docstring

    triples = ('"""', "'''")
    assert starts_in_docstring("    head = f'''\n<body>\n'''\n    return head\n", triples) is None
    assert starts_in_docstring('    query = rb"""\nSELECT 1\n"""\n', triples) is None


def test_a_suffix_cut_inside_a_string_or_comment_ends_the_window_before_it() -> None:
    from mercury.syntax.languages import parse

    # A client sent a bounded suffix that stops inside a string the file closes further on.
    prefix = "def text(rows):\n    date = "
    suffix = "now()\n    body = '\\n'.join(rows)\n\n    return head + body + '''\n<html>\n"
    window = cut_window(prefix, suffix, WindowConfig(before=1, after=1, extend=10), "python")
    assert window.suffix == "now()\n    body = '\\n'.join(rows)\n\n" and not window.whole_end
    assert not parse("python", encode(window.prefix + window.suffix)).root_node.has_error

    c_suffix = "x;\n    return y;\n}\n/* Prose the client's limit cut off\n"
    window = cut_window("int f(void) {\n    int y = ", c_suffix, WindowConfig(1, 1, 10), "c")
    assert window.suffix == "x;\n    return y;\n}\n"
    # A literal that opens on the cursor's line cannot be cut away: the whole suffix is kept, and
    # the literal is closed after it.
    window = cut_window("x = ", "1 + '''\nprose\n", WindowConfig(1, 1, 10), "python", suffix_cut=True)
    assert window.suffix == "1 + '''\nprose\n" and not window.whole_end
    assert window.closer == "'''"


def test_a_literal_open_at_the_cursor_and_past_the_suffix_is_closed_after_it() -> None:
    from mercury.syntax.languages import parse

    cases = [
        ("python", 'def f():\n    """Return the\n    ', "value of x.\n\n    The res", '"""'),
        ("c", "int f(void) {\n    /* returns the ", "count\n   of x, or the", "*/"),
    ]
    for language, prefix, suffix, closer in cases:
        window = cut_window(prefix, suffix, None, language, suffix_cut=True)
        assert window.suffix == suffix and window.closer == closer
        assert parse(language, encode(prefix + suffix + closer)).root_node.has_error == (language == "c")
        # Where the file itself ends there, the middle has to close the literal: nothing is added.
        assert cut_window(prefix, suffix, None, language).closer == ""
    closed = 'text.\n    """\n    return 1\n'
    assert cut_window('def f():\n    """Some ', closed, None, "python", suffix_cut=True).closer == ""


def test_edges_the_client_cut_are_not_whole() -> None:
    # The window reaches the request's edges, but the client cut the file there: a bracket may be
    # open across them, so the bracket checks must not treat them as the file's start and end.
    prefix, suffix = "    x = f(\n        1,\n", "        2)\n    return x\n"
    window = cut_window(prefix, suffix, None, "python")
    assert window.whole_start and window.whole_end
    window = cut_window(prefix, suffix, None, "python", prefix_cut=True, suffix_cut=True)
    assert not window.whole_start and not window.whole_end


RUST_AFTER_A_LONG_FUNCTION = "            x\n        }\n    }\n}\n\nstruct S {\n    a: u32,\n}\n\n"


def test_a_prefix_cut_inside_a_function_starts_at_the_first_top_level_line_after_it() -> None:
    # The client's prefix begins inside a function that ends above the cursor: the closers it
    # never opened put the top level below its first line, and a top-level line nearer than
    # `before` lines parses better than the cut.
    prefix = RUST_AFTER_A_LONG_FUNCTION + "impl S {\n    fn get(&self) -> u32 {\n        "
    window = cut_window(prefix, "self.a\n    }\n}\n", None, "rust", prefix_cut=True)
    assert window.prefix.startswith("struct S {") and window.whole_start
    window = cut_window(prefix, "self.a\n    }\n}\n", None, "rust")  # the file's start: nothing cut
    assert window.prefix == prefix and window.whole_start


def test_a_cut_prefix_inside_one_long_function_has_no_top_level_line() -> None:
    prefix = "        x += 1\n    }\nlabel:\n    for {\n        "
    window = cut_window(prefix, "y()\n    }\n}\n", None, "go", prefix_cut=True)
    assert window.prefix == prefix and not window.whole_start


def test_a_go_raw_string_is_a_literal_the_window_does_not_cut_into() -> None:
    from mercury.syntax.languages import parse

    help_text = "".join(f"line {i} of the help text.\n" for i in range(40))
    prefix = "var help = `\n" + help_text + "` + "
    window = cut_window(prefix, "\n", WindowConfig(before=5, after=5, extend=100), "go")
    assert window.prefix.startswith("var help")  # not a line of the help text, read as code
    assert not parse("go", encode(window.prefix + "usage" + window.suffix)).root_node.has_error


def test_a_continuation_line_is_not_a_cut() -> None:
    prefix = "try:\n    a = 1\n" + "    b = 2\n" * 3 + "except ValueError:\n    pass\nelse:\n    "
    window = cut_window(prefix, "c = 3\n", WindowConfig(before=1, after=1, extend=20), "python")
    assert window.prefix.startswith("try:")


def test_char_map_ascii_is_identity() -> None:
    chars = CharMap("abc")
    assert [chars.char(b) for b in range(5)] == [0, 1, 2, 3, 3]


def test_char_map_multibyte() -> None:
    text = "a😀b世c"  # byte widths 1, 4, 1, 3, 1
    assert len(encode(text)) == 10
    chars = CharMap(text)
    assert [chars.char(b) for b in (0, 1, 5, 6, 9, 10)] == [0, 1, 2, 3, 4, 5]
    assert chars.char(3) == 1 and chars.char_end(3) == 2  # inside the emoji: its start / its end


def test_lone_surrogates_do_not_raise() -> None:
    text = "x\ud800y"
    assert len(encode(text)) == 5
    assert CharMap(text).char(4) == 2


NESTED = b"impl A {\n    fn f(&self) {\n        if x {\n            y();\n\n        }\n    }\n}\n"


def test_blocks_around_the_cursor_are_read_from_indentation_nearest_first() -> None:
    cursor = NESTED.index(b"y();")
    blocks = [NESTED[a:b] for a, b in blocks_around(NESTED, cursor)]
    assert blocks == [NESTED[NESTED.index(b"        if") : NESTED.index(b"    }\n}")], NESTED[9:-2], NESTED]
    # An empty line sits as deep as its deeper neighbour, `y();` here.
    empty = NESTED.index(b"\n\n") + 1
    assert next(blocks_around(NESTED, empty)) == (NESTED.index(b"        if"), NESTED.index(b"    }\n}"))


def test_a_block_whose_closer_is_missing_ends_before_the_outer_blocks_closer() -> None:
    # Enter after `y();` opened the line that lacks the `if` block's `}`; the next line closes the
    # function, so the `if` block ends before it. Taken as its closer, the block parsed clean, and
    # the window narrowed to it refused the `}` the line needs.
    missing = NESTED.replace(b"\n\n        }\n", b"\n            \n")
    cursor = missing.index(b"            \n") + 12
    blocks = [missing[a:b] for a, b in blocks_around(missing, cursor)]
    assert blocks[0] == missing[missing.index(b"        if") : missing.index(b"    }\n}")]
    assert blocks[1] == missing[9:-2]


def test_blocks_around_stop_where_a_block_runs_past_the_text() -> None:
    cut = NESTED[: NESTED.index(b"    }\n}")]  # the function's and the impl's braces are cut off
    assert [cut[a:b] for a, b in blocks_around(cut, cut.index(b"y();"))] == [cut[cut.index(b"        if") :]]
    assert list(blocks_around(b"x = 1\n", 2)) == []  # nothing is indented less than the top level
