"""SyntaxConstraint beyond the golden cases: the factory, incremental reparsing, odd input,
literals around the cursor, big files."""

from __future__ import annotations

import logging
import random

import pytest
from mercury.denoiser.api import CompletionRequest
from mercury.syntax import LANGUAGES, SyntaxConstraint, constraint_for
from mercury.syntax import constraint as constraint_module
from mercury.syntax.languages import parse
from mercury.syntax.window import Window


def test_factory_returns_a_constraint_for_known_languages() -> None:
    constraint = constraint_for(CompletionRequest(prefix="x = ", suffix="\n", language="python"))
    assert isinstance(constraint, SyntaxConstraint)
    assert constraint.invalid_ranges("(1, 2))", True) == [(6, 7)]
    react = constraint_for(CompletionRequest(prefix="const e = ", language="typescriptreact"))
    assert isinstance(react, SyntaxConstraint) and react.language == "tsx"


@pytest.mark.parametrize(
    "request_",
    [
        CompletionRequest(prefix="x = ", language="python", constrained=False),
        CompletionRequest(prefix="x = ", language="cobol"),
        CompletionRequest(prefix="x = ", language=None),
    ],
)
def test_factory_returns_none(request_: CompletionRequest) -> None:
    assert constraint_for(request_) is None


def test_step_checks_stop_after_their_time_budget_and_the_final_check_still_runs() -> None:
    from mercury.syntax import constraint as constraint_module

    ticks = iter(range(1000))
    slow = SyntaxConstraint("python", "x = ", "\n", clock=lambda: next(ticks) * 0.02)  # 20 ms a check
    calls_in_budget = int(constraint_module.STEP_CHECK_BUDGET_S / 0.02) + 1
    for i in range(calls_in_budget):
        assert slow.invalid_ranges(f"(1, {i}))", True) == [(6, 7)]
    assert slow.invalid_ranges("(1, 2))", True) is None  # unchecked from here on
    assert not slow.accepts("(1, 2))")


def test_step_checks_stop_after_a_number_of_drafts_whatever_the_clock_says() -> None:
    from mercury.syntax import constraint as constraint_module

    constraint = SyntaxConstraint("python", "x = ", "\n", clock=lambda: 0.0)
    drafts = [f"({i}, 2))" for i in range(constraint_module.STEP_CHECKS)]
    assert all(constraint.invalid_ranges(draft, True) for draft in drafts)
    assert constraint.invalid_ranges("(1, 2))", True) is None  # a new one is no longer checked
    assert not constraint.accepts("(1, 2))")


def test_probes_of_a_lines_starts_have_their_own_budget() -> None:
    from mercury.syntax import constraint as constraint_module

    constraint = SyntaxConstraint("python", "x = ", "\n", clock=lambda: 0.0)
    assert constraint.valid_start("(1, 2") and not constraint.valid_start("(1, 2))")
    for _ in range(constraint_module.START_CHECKS):
        assert not constraint.valid_start("(1, 2))")  # remembered, not parsed again
    for i in range(constraint_module.START_CHECKS - 2):
        assert not constraint.valid_start(f"({i + 10}, 2))")
    assert constraint.valid_start("(99, 2))")  # past its budget every new start counts as valid
    assert not constraint.valid_start("(1, 2))")
    assert constraint.invalid_ranges("(1, 2))", True) == [(6, 7)]  # the drafts' budget is untouched


def test_empty_middle_adds_nothing_even_to_a_broken_file() -> None:
    constraint = SyntaxConstraint("python", "def f(:\n    x = foo(", "\n]]\n")
    assert constraint.invalid_ranges("", True) == []
    assert constraint.invalid_ranges("", False) == []
    assert constraint.accepts("")


def test_a_middle_that_breaks_the_suffix_is_rejected() -> None:
    # `x)` closes the call itself, so the `)` already in the file closes nothing.
    constraint = SyntaxConstraint("python", "value = compute(", ")\nprint(value)\n")
    assert constraint.invalid_ranges("x)", True) == [(1, 2)]
    assert not constraint.accepts("x)")
    assert constraint.accepts("x")


def test_a_middle_swallowed_by_an_old_error_is_still_rejected_at_the_end() -> None:
    # The file is broken at the cursor (`type Data struct ` then a body with no brace), so `=`
    # adds no culprit of its own, only one more ERROR node; the finished span must not.
    prefix = 'package mmap\n\nimport (\n\t"os"\n)\n\ntype Data struct '
    suffix = "\n\tf    *os.File\n\tData []byte\n}\n\nfunc Mmap() (Data, error) {\n\treturn Data{}, nil\n}\n"
    constraint = SyntaxConstraint("go", prefix, suffix)
    assert not constraint.accepts("=")
    assert constraint.accepts("{")
    assert constraint.accepts("")


def test_a_quote_that_never_closes_is_rejected_when_the_suffix_was_cut_inside_a_string() -> None:
    # The suffix stops inside a `'''` string (a bounded context), so the window must end before
    # it: parsed to that end, the file is broken already and a stray quote can hide in that error.
    prefix = "def text(rows):\n    date ="
    suffix = "\n    body = '\\n'.join(rows)\n\n    return head + body + '''\n<html>\n<body>\n"
    constraint = SyntaxConstraint("python", prefix, suffix)
    assert not constraint.accepts(" '.join(self, e)")
    assert constraint.accepts(" time.ctime(time.time())")


def test_a_dedented_middle_empties_the_block_above() -> None:
    constraint = SyntaxConstraint("python", "def f(x):\n", "    return x\n")
    assert constraint.invalid_ranges("y = 1\n", True) == [(0, 1)]
    assert not constraint.accepts("y = 1\n")
    assert constraint.accepts("    y = 1\n")


@pytest.mark.parametrize(
    ("language", "prefix", "middle", "suffix"),
    [
        ("c", "int f(void) {\n    /* returns the ", "count) of x", " */\n    return 0;\n}\n"),
        ("python", 'def f():\n    """Return the ', "value) of x", '"""\n    return 1\n'),
    ],
)
def test_text_inside_a_comment_or_docstring_is_not_flagged(
    language: str, prefix: str, middle: str, suffix: str
) -> None:
    # Rendered without the suffix, the literal would never close and its text would read as
    # code; the finished span is still checked as usual. A clock that never moves: the first
    # parse of a grammar can spend the step checks' budget on a loaded machine (None, not []).
    constraint = SyntaxConstraint(language, prefix, suffix, clock=lambda: 0.0)
    assert constraint.invalid_ranges(middle, False) == []
    assert constraint.invalid_ranges(middle, True) == []
    assert constraint.accepts(middle)
    assert not constraint.accepts(middle + suffix.split("\n")[0] + "\n")  # closing it early


@pytest.mark.parametrize(
    ("language", "prefix", "middle", "closing", "suffix"),
    [
        ("c", "int f(void) {\n    /* returns the ", "count. ", "*/", "\n   of x */\n    return 0;\n}\n"),
        ("python", 'def f():\n    """Return the\n\n    ', "value. ", '"""', '\n    of x\n    """\n'),
    ],
)
def test_a_draft_that_closes_the_literal_at_the_cursor_is_flagged_at_the_delimiter(
    language: str, prefix: str, middle: str, closing: str, suffix: str
) -> None:
    # The rest of the literal, in the suffix, would read as code: errors past the middle that no
    # other check blames on it. Unfinished drafts are checked too, so the delimiter is banned early.
    constraint = SyntaxConstraint(language, prefix, suffix)
    at = (len(middle), len(middle) + len(closing))
    for complete in (False, True):
        assert constraint.invalid_ranges(middle + closing, complete) == [at]
        assert at in constraint.invalid_ranges(middle + closing + "\n    x = 1", complete)
    assert constraint.invalid_ranges(middle + "more prose", False) == []


def test_a_docstring_the_suffix_ends_inside_is_closed_for_the_parse() -> None:
    # A client's bounded context stops inside the docstring the cursor is in; parsed unclosed,
    # the string makes an error that moves with every draft, and even the right line was refused.
    prefix = 'def encode(self, o):\n    """Return a JSON string.\n\n    If sk'
    suffix = "ipkeys is true, such items are skipped.\n\n    If ensure_ascii is false, the out"
    constraint = SyntaxConstraint("python", prefix, suffix, suffix_cut=True)
    assert constraint.accepts("ipkeys is false, a TypeError is raised.")
    assert constraint.invalid_ranges("e is None,", False) == []


def test_a_docstring_the_file_never_closes_must_be_closed_by_the_middle() -> None:
    # The whole rest of the file was sent: code written inside the open docstring stays unclosed,
    # and tree-sitter reads it as code after a stray quote.
    constraint = SyntaxConstraint("python", '"""Panels for curses.\n\n', "\nfrom _curses_panel import *\n")
    assert constraint.accepts('Module for using panels with curses.\n"""\n')
    assert not constraint.accepts("\nclass Panel(object):\n    def __init__(self, *args=None):\n        pass")


ENTRIES = "".join(f"    KEY_{i}: 'k{i}',\n" for i in range(100))


def test_a_table_opened_above_a_cut_prefix_is_parsed_inside_its_brackets() -> None:
    # A client's bounded prefix starts among the entries of a long table: parsed bare, every
    # line was an error, each parse was slow, and the right entry was refused.
    suffix = "\n" + ENTRIES + "}\n\nx = 1\n"
    constraint = SyntaxConstraint("python", ENTRIES + "    KEY_X: ", suffix, prefix_cut=True)
    assert constraint.accepts("'kx',")
    assert not constraint.accepts("'kx'::")
    assert constraint.invalid_ranges("'kx'::", True) != []


def test_a_table_left_open_by_a_cut_suffix_is_closed_for_the_parse() -> None:
    # The half-typed key makes an error in the window without the middle; the closer is judged
    # without the cursor's line, or that error would swallow the table in both parses.
    prefix = "TABLE = {\n" + ENTRIES + "    KEY_X"
    constraint = SyntaxConstraint("python", prefix, "\n" + ENTRIES, suffix_cut=True)
    assert constraint.accepts(": 'kx',")
    assert not constraint.accepts(": 'kx'::")


def test_a_bracket_the_middle_opens_is_not_supplied_by_the_window() -> None:
    # The suffix's `)` is the middle's to open: an opener above the window would make the
    # statements there errors, so none is added, and the right middle stays valid.
    body = "    x = 1\n" * 400
    constraint = SyntaxConstraint("python", "def f():\n" + body + "    y = foo", "\n        b)\n" + body)
    assert constraint.accepts("(a,")
    assert not constraint.accepts("(a,,")


FIELDS = "".join(f"    field_{i}: u32,\n" for i in range(20)) + "}\n\n"
GETTERS = "".join(f"    fn get_{i}(&self) -> u32 {{\n        self.field_{i}\n    }}\n\n" for i in range(10))


def test_a_window_cut_inside_rust_items_narrows_to_the_block_around_the_cursor() -> None:
    # A client's bounded context starts inside a method of a long impl and stops inside the next
    # impl: both edges parse as errors, which made every draft's parse slow. The method that holds
    # the cursor parses alone with no other error than the half-typed line's, and becomes the window.
    prefix = "        self.field_0\n    }\n\n" + GETTERS + "    fn total(&self) -> u32 {\n        let sum = "
    suffix = "\n        sum + 1\n    }\n" + GETTERS + "}\n\nimpl Other {\n" + GETTERS
    constraint = SyntaxConstraint("rust", prefix, suffix, prefix_cut=True, suffix_cut=True)
    assert constraint.accepts("self.field_0 + self.field_1;")
    assert not constraint.accepts("self.field_0 + ;")
    assert constraint.invalid_ranges("self.field_0 + ;", True) != []
    assert constraint._prefix.startswith(b"    fn total(&self) -> u32 {\n")
    assert constraint._suffix == b"\n        sum + 1\n    }\n"


GO_BODY = "\n\t\ty++\n\t}\n\tfor i := 0; i < x; i++ {\n\t\ty += i\n\t}\n\tz := y\n"


def test_a_line_opening_a_block_is_valid_where_the_window_ends_inside_the_function() -> None:
    # The client's bounded suffix stops inside f: its closing brace lies past the window. The
    # right line opens a block the suffix closes, which leaves f's own block open at the window's
    # end, and tree-sitter's recovery then blamed f's header on the middle.
    prefix = "package main\n\nfunc f(x int) int {\n\ty := 1\n"
    cut = SyntaxConstraint("go", prefix, GO_BODY, suffix_cut=True)
    assert cut.accepts("\tif x > 0 {")
    assert cut.invalid_ranges("\tif x > 0 {", True) == []
    assert not cut.accepts("\tif x > 0 { (")  # closing what is open does not mend a broken body
    assert not cut.accepts("\tif x > 0 {)")
    # Where the file ends there, f is never closed: the same line leaves it broken.
    assert not SyntaxConstraint("go", prefix, GO_BODY).accepts("\tif x > 0 {")


def test_only_middles_that_open_brackets_pay_for_closing_the_window(monkeypatch) -> None:
    parses = []
    real_parse = constraint_module.parse
    monkeypatch.setattr(constraint_module, "parse", lambda *a: parses.append(a[1]) or real_parse(*a))
    constraint = SyntaxConstraint(
        "go", "package main\n\nfunc f(x int) int {\n\ty := 1\n", GO_BODY, suffix_cut=True
    )
    constraint.prepare()
    before = len(parses)
    assert not constraint.accepts("\tif x > 0 ")
    assert all(not text.endswith(b"}") for text in parses[before:])  # nothing rendered with closers
    assert constraint.accepts("\tif x > 0 {")
    assert any(text.endswith(b"\n}") for text in parses[before:])


JS_FUNCTION = "function f(x) {\n  let y = x * 2;\n  return y;\n"
JS_AFTER = "\nconsole.log(f(1));\n"


@pytest.mark.parametrize(
    ("language", "prefix", "suffix", "broken"),
    [
        ("javascript", JS_FUNCTION, JS_AFTER, True),  # the function's `}` was the middle
        ("javascript", "function f(x) {\n  if (x) {\n    x++;\n", "\n  return x;\n}\n", True),  # `  }`
        ("javascript", JS_FUNCTION + "}\n", JS_AFTER, False),  # an empty line between statements
        ("javascript", "let z = ;\n" + "\n" * 3 + JS_FUNCTION + "}\n", JS_AFTER, False),  # an error elsewhere
        ("python", "def f(x):\n    if x:\n", "\n    return 2\n", True),  # an empty block
        ("python", "def f(x):\n    if x:\n        return 1\n", "\n    return 2\n", False),
    ],
    ids=["closer", "inner-closer", "clean", "far", "python-empty-block", "python-clean"],
)
def test_an_error_on_the_lines_around_the_cursor_is_the_spans_to_mend(
    language, prefix, suffix, broken
) -> None:
    constraint = SyntaxConstraint(language, prefix, suffix)
    assert constraint.broken_at_cursor() is broken
    assert constraint.accepts("")  # the check of a middle is unchanged: an empty one adds nothing


JS_LOOP = "function f(s) {\n  let n = 0;\n  for (const c of s) {\n    if (c == 'a') {\n      n++;\n"


@pytest.mark.parametrize(
    ("language", "prefix", "suffix", "closing"),
    [
        ("javascript", JS_FUNCTION, JS_AFTER, "}"),  # code at the opener's width follows
        ("javascript", JS_FUNCTION, "\n", "}"),  # the file's end
        ("javascript", JS_LOOP, "\n  }\n  return n;\n}\n", "    }"),  # the `}` below is the loop's
        ("javascript", JS_LOOP + "  ", "\n  }\n  return n;\n}\n", "  }"),  # indentation typed
        ("javascript", "describe('f', () => {\n  it('runs', () => {});\n", "\n", "})"),
        ("python", "NAMES = [\n    'alpha',\n", "\n\nprint(NAMES)\n", "]"),
        ("go", "package main\n\nfunc f() {\n\tx := 1\n\t_ = x\n", "\n", "}"),
        ("rust", "fn f(y: u8) -> u8 {\n    let x = match y {\n        _ => 2,\n", "\n    x\n}\n", "    };"),
        ("rust", "fn f() {\n    g(\n        1,\n", "\n    h();\n}\n", "    );"),  # a call statement
        ("go", "package main\n\nvar xs = []T{\n\t{\n\t\ta: 1,\n", "\n\t{\n\t\ta: 2,\n\t},\n}\n", "\t},"),
        ("cpp", "class A {\n  int x;\n", "\n\nint main() { return 0; }\n", "};"),
        ("javascript", JS_FUNCTION + "}\n", JS_AFTER, None),  # nothing is open
        ("javascript", JS_FUNCTION, "\n}\n", None),  # the line below closes it
        ("javascript", "function f(x) {\n  if (x) {\n", "\n    x++;\n  }\n}\n", None),  # a body comes
        ("javascript", JS_FUNCTION + "  ", JS_AFTER, "}"),  # typed deeper: the editor's edit dedents it
        ("python", "NAMES = [\n    'alpha',\n    ", "\n\nprint(NAMES)\n", "]"),  # auto-indented
        ("javascript", JS_FUNCTION + "  return", JS_AFTER, None),  # the line has text
        ("python", "def f(x):\n    if x:\n", "\n    return 2\n", None),  # no bracket: a block's body
    ],
    ids=[
        "function",
        "file-end",
        "inner-block",
        "typed-indent",
        "call-and-block",
        "python-list",
        "go",
        "rust-let",
        "rust-call",
        "go-list-item",
        "cpp-class",
        "closed",
        "closed-below",
        "body-below",
        "typed-deeper",
        "python-typed-deeper",
        "text",
        "python-block",
    ],
)
def test_a_blank_line_the_code_below_leaves_a_block_open_on_is_closed(
    language, prefix, suffix, closing
) -> None:
    constraint = SyntaxConstraint(language, prefix, suffix)
    assert constraint.closing_line() == closing
    if closing is not None:
        assert constraint.accepts(closing)


def test_no_closing_line_where_the_window_stops_before_the_code_below() -> None:
    # The suffix was cut by the client's budget: the code that closes the block may follow.
    assert SyntaxConstraint("javascript", JS_FUNCTION, "\n", suffix_cut=True).closing_line() is None


def test_the_closing_line_reads_the_code_below_past_the_window(monkeypatch) -> None:
    # A window narrowed to the block around the cursor (`_clean_block`) can end at the cursor's
    # line: the code below, which says whether the block ends here, is read from the request.
    monkeypatch.setattr(constraint_module, "cut_window", lambda prefix, suffix, *rest: Window(prefix, "\n"))
    assert SyntaxConstraint("javascript", JS_FUNCTION, JS_AFTER).closing_line() == "}"
    assert SyntaxConstraint("javascript", JS_FUNCTION, "\n}\n").closing_line() is None  # closed below


GO_IF = "package main\n\nfunc f(x int) int {\n\tif x > 0 {\n\t\tx++\n"
GO_AFTER = "\n\treturn x\n}\n\nfunc g() {\n\tfor {\n\t\tg()\n"  # cut inside the next function
RUST_MATCH = (
    "impl A {\n    fn f(&self) -> u8 {\n        match self.x {\n            0 => 1,\n            _ => 3,\n"
)
RUST_AFTER = "\n    }\n\n    /// More.\n    pub fn g(&self) {\n        let x = 1;\n"  # cut inside a method


@pytest.mark.parametrize(
    ("language", "prefix", "suffix"),
    [
        ("go", GO_IF + "\t\t", GO_AFTER),
        ("go", GO_IF + "\t", GO_AFTER),
        ("rust", RUST_MATCH + "            ", RUST_AFTER),
        ("rust", RUST_MATCH + "        ", RUST_AFTER),
    ],
    ids=["go-typed-deeper", "go", "rust-typed-deeper", "rust"],
)
def test_a_closer_is_answered_where_the_window_ends_inside_the_code_below(language, prefix, suffix) -> None:
    # With the closer, the window's unclosed tail is the next function instead of this one, and
    # tree-sitter's recovery blamed that function's header on it (Go), or closed the tail with a
    # MISSING `}` either way (Rust): the right `}` was refused, or not found to be needed.
    constraint = SyntaxConstraint(language, prefix, suffix, suffix_cut=True)
    assert constraint.closing_line() == "}"
    # Closing the function too leaves Go's `return x` outside it; Rust's window cannot tell, as its
    # next line (`    }`) may close the impl.
    assert constraint.accepts("}}") == (language == "rust")


@pytest.mark.parametrize("suffix_cut", [False, True])
def test_no_closing_line_inside_a_string(suffix_cut) -> None:
    # A Go command's help text: its prose at column 0 reads like code shallower than the `{`.
    prefix = "package doc\n\nvar CmdDoc = &Command{\n\tLong: `\nShow the documentation of a package.\n"
    suffix = "\nThe flags are:\n\t-all\n`,\n}\n"
    assert SyntaxConstraint("go", prefix, suffix, suffix_cut=suffix_cut).closing_line() is None


def test_a_block_closed_early_is_refused_where_the_window_ends_inside_the_function() -> None:
    # Go's grammar takes statements outside a function: closing the `if` and going on closes the
    # function early, above the rest of its code, and only the suffix's closers, shifted to
    # openers of another indentation, show it in a window that ends inside the function.
    prefix = 'package main\n\nfunc clean(p *P) {\n\tif p.Dir == "" {\n\t\t'
    suffix = "\n\t}\n\tdirs, err := read(p.Dir)\n\tfor _, d := range dirs {\n\t\tuse(d, err)\n"
    constraint = SyntaxConstraint("go", prefix, suffix, suffix_cut=True)
    assert constraint.accepts("return")
    assert not constraint.accepts("return\n\t}\n\t\treturn")


GO_RETURN = "package main\n\nfunc f(err error) error {\n\tif err != nil {\n\t\treturn err\n"
GO_BELOW = "\n\treturn nil\n}\n"
RUST_RETURN = "fn f(x: u8) -> u8 {\n    if x > 1 {\n        return 2;\n"
JAVA_BREAK = "class A {\n  int f(int x) {\n    while (x > 0) {\n      break;\n"


@pytest.mark.parametrize(
    ("language", "prefix", "suffix", "after_exit", "closing"),
    [
        ("go", GO_RETURN + "\t\t", GO_BELOW, True, "}"),  # Enter after `return err`
        ("go", GO_RETURN + "\t", GO_BELOW, True, "}"),
        ("go", GO_RETURN.replace("return err", "panic(err)") + "\t\t", GO_BELOW, True, "}"),
        ("go", GO_RETURN + "\t\t", "\n\t\tlog(err)\n\t}\n\treturn nil\n}\n", True, None),  # code below
        ("rust", RUST_RETURN + "        ", "\n    x\n}\n", True, "}"),
        ("java", JAVA_BREAK + "      ", "\n    return x;\n  }\n}\n", True, "}"),
        ("javascript", JS_FUNCTION + "  ", JS_AFTER, True, "}"),  # `return y;` above
        ("go", GO_RETURN.replace("return err", "return errors.New(") + "\t\t", GO_BELOW, False, None),
        ("go", GO_RETURN.replace("return err", "return a +") + "\t\t", GO_BELOW, False, None),
        ("go", GO_RETURN.replace("return err", "// return err") + "\t\t", GO_BELOW, False, None),
        ("go", GO_RETURN.replace("return err", "returned(err)") + "\t\t", GO_BELOW, False, None),
        ("go", GO_RETURN + "\t\tx", GO_BELOW, False, None),  # the line has text
        ("python", "def f(x):\n    if x:\n        return 1\n        ", "\n    return 2\n", False, None),
    ],
    ids=[
        "go", "go-shallower", "go-panic", "go-code-below", "rust", "java", "javascript",
        "open-call", "operator", "comment", "a-word-that-starts-so", "text", "python",
    ],
)  # fmt: skip
def test_a_blank_line_below_a_statement_that_leaves_its_block(language, prefix, suffix, after_exit, closing):
    constraint = SyntaxConstraint(language, prefix, suffix)
    assert constraint.after_exit() == after_exit
    if after_exit:
        assert constraint.closing_line() == closing


@pytest.mark.parametrize(
    ("language", "middle", "comments"),
    [
        ("python", "    # hello\n\n    # there", True),
        ("python", "    # hello\n    x = 1", False),
        ("python", '    """A docstring."""', False),  # a string, not a comment
        ("python", "    x = 1  # why", False),
        ("rust", "    /// A doc comment.\n    // and a line", True),
        ("go", "\t/* a block\n\tcomment */", True),
        ("javascript", "  // a\n  let y = 2;", False),
        ("python", "   ", False),
    ],
    ids=["python", "then-code", "docstring", "trailing", "rust-doc", "go-block", "js-code", "blank"],
)
def test_comments_only_reads_the_parse_of_the_file_with_the_middle(language, middle, comments) -> None:
    prefix, suffix = {
        "python": ("def f():\n", "\n    return 1\n"),
        "rust": ("fn f() {\n", "\n}\n"),
        "go": ("package main\n\nfunc f() {\n", "\n}\n"),
        "javascript": ("function f() {\n", "\n}\n"),
    }[language]
    assert SyntaxConstraint(language, prefix, suffix).comments_only(middle) is comments


def test_a_cut_window_tries_a_bounded_number_of_blocks(monkeypatch) -> None:
    # Each block tried costs a parse: deeply nested text, whose blocks all fail to parse alone,
    # must not cost one per level. Here every candidate is a sliver that fails.
    def slivers(text: bytes, cursor: int):
        return [(cursor - 3, cursor + 1)] * 100

    parses = []
    real_parse = constraint_module.parse
    monkeypatch.setattr(constraint_module, "blocks_around", slivers)
    monkeypatch.setattr(constraint_module, "parse", lambda *a: parses.append(1) or real_parse(*a))
    prefix = "        x := 1\n\t}\n" * 20 + "\tif f() {\n\t\ty := "
    constraint = SyntaxConstraint("go", prefix, "\n\t\treturn y\n\t}\n", prefix_cut=True)
    constraint.prepare()
    assert len(parses) == 1 + constraint_module._BLOCKS_TRIED + 1  # the window, the blocks, the prefix
    assert constraint.accepts("2")


def test_a_python_window_cut_inside_a_class_narrows_to_the_block_around_the_cursor() -> None:
    # The bounded prefix starts inside an if of some method above: its stray `else` is an error
    # far from the cursor, and no bracket mends it. The loop around the cursor parses alone with
    # the error the half-typed line makes in the window, and becomes the window.
    methods = "".join(f"    def get_{i}(self):\n        return self.x_{i}\n\n" for i in range(10))
    prefix = "        return a\n    else:\n        return b\n\n" + methods
    prefix += "    def run(self):\n        total = 0\n        for x in self.items:\n            total += "
    suffix = "\n        return total\n\n" + methods
    constraint = SyntaxConstraint("python", prefix, suffix, prefix_cut=True, suffix_cut=True)
    assert constraint.accepts("x")
    assert not constraint.accepts("x +")
    assert constraint._prefix.startswith(b"        for x in self.items:\n")
    assert constraint._suffix == b"\n"


def test_a_window_narrowed_around_a_missing_header_keeps_the_brace_it_closes() -> None:
    # Without the cursor's `if err != nil {`, the if's closing brace ends the function for the
    # parser; a window narrowed to that function would lose the brace the header needs.
    helpers = "".join(f"func helper{i}() int {{\n\treturn {i}\n}}\n\n" for i in range(10))
    prefix = "\t\tx := 1\n\t}\n}\n\n" + helpers + "func run(xs []int) error {\n\tfor _, x := range xs {\n"
    prefix += "\t\terr := step(x)\n"
    suffix = "\n\t\t\treturn err\n\t\t}\n\t}\n\treturn nil\n}\n\n" + helpers
    constraint = SyntaxConstraint("go", prefix, suffix, prefix_cut=True)
    assert constraint.accepts("\t\tif err != nil {")
    assert not constraint.accepts("\t\tif err != nil {{")


PROSE = "".join(f"    Line {i} of the docstring: ``obj`` is written as JSON to ``fp``.\n" for i in range(50))


def test_the_first_line_of_a_docstring_the_window_cuts_is_accepted() -> None:
    # The docstring's closing quote lies past the window: the middle's opening quote was left
    # open to the window's end, and the right line was refused.
    constraint = SyntaxConstraint("python", "def dump(obj, fp):\n", "\n" + PROSE, suffix_cut=True)
    assert constraint.accepts('    """Serialize ``obj`` to a JSON stream.')
    assert constraint.invalid_ranges('    """Serialize ``obj`` to a JSON stream.', True) == []
    assert not constraint.accepts("    x = (")


def test_a_docstring_quote_before_code_or_at_the_files_end_stays_an_error() -> None:
    code = "\n    x = 1\n    y = 2\n    return x + y\n" * 20
    assert not SyntaxConstraint("python", "def f():\n", code, suffix_cut=True).accepts('    """Doc')
    # The rest of the file was sent and never closes the string: the middle must.
    assert not SyntaxConstraint("python", "def dump(obj, fp):\n", "\n" + PROSE).accepts('    """Serialize')


GO_COMMAND = 'package modcmd\n\nimport "cmd/go/internal/base"\n\nvar cmdTidy = &base.Command{\n'
GO_HELP = "".join(f"Tidy makes sure go.mod matches the source code, in paragraph {i}.\n" for i in range(50))


def test_a_go_raw_string_whose_help_text_runs_past_the_window_is_accepted() -> None:
    # `Long: \`` opens the command's help text; its closing backtick lies past the window, in
    # the struct whose `}` is there too: the right middle was refused.
    middle = '\tUsageLine: "go mod tidy",\n\tShort:     "add missing modules",\n\tLong: `'
    constraint = SyntaxConstraint("go", GO_COMMAND, "\n" + GO_HELP, suffix_cut=True)
    assert constraint.accepts(middle)
    assert not constraint.accepts('\tUsageLine: "go mod tidy",,\n\tLong: `')


def test_a_stray_backtick_above_code_comments_or_the_files_end_stays_an_error() -> None:
    # A window cut inside a function is one ERROR node from the function on, so only the line
    # itself tells prose from code: words in a string literal or a comment are not prose.
    prefix = "package web\n\nfunc get(u string) (*Response, error) {\n\tfetch := func(u string) error {\n"
    body = "\t\tif err != nil {\n\t\t\treturn nil, err\n\t\t}\n" * 30
    call = '\t\tpanic("internal error: download mode has useVendor set")'
    for first in (call, "\t\t// despite its misuse in get"):
        constraint = SyntaxConstraint("go", prefix, f"\n{first}\n{body}", suffix_cut=True)
        assert constraint.accepts("\t\tx := 1")
        assert not constraint.accepts("\t\t`")
    # The rest of the file was sent and never closes the string: the middle must.
    assert not SyntaxConstraint("go", GO_COMMAND, "\n" + GO_HELP).accepts("\tLong: `")


WEIRD = [
    "",
    "\n",
    "\r\n\r\n",
    "\t\t",
    "\x00",
    "\ufeff",
    "\ud800",
    "😀👋🏽",
    "中文字符",
    "é" * 3 + ")",
    "x" * 5000,
    '"""',
    "/*",
    "}{)(][",
    "x := `",
    '"""\n',
]


@pytest.mark.parametrize("language", LANGUAGES)
def test_odd_input_never_raises(language: str, caplog: pytest.LogCaptureFixture) -> None:
    # A cut suffix of prose sends a middle that opens a string down the path that closes it past
    # the window. The constraint fails open and logs on an exception, so the log must stay empty.
    prose = "\nThe text of a help string goes on here.\n" * 3
    for prefix, suffix in [("", ""), ("x = ", "\n"), ("\ud800\r\n", "😀\r\n"), ("f(\n", prose)]:
        for middle in WEIRD:
            # Each middle with the whole budget of checks, and a clock that never moves: on a
            # loaded machine the real one can spend it, and this test is about odd input.
            cut = suffix == prose
            constraint = SyntaxConstraint(language, prefix, suffix, suffix_cut=cut, clock=lambda: 0.0)
            constraint.prepare()
            for complete in (True, False):
                ranges = constraint.invalid_ranges(middle, complete)
                assert all(0 <= a < b <= len(middle) for a, b in ranges), (middle, ranges)
            assert isinstance(constraint.accepts(middle), bool)
        assert isinstance(constraint.broken_at_cursor(), bool)
        assert constraint.closing_line() is None or isinstance(constraint.closing_line(), str)
        assert isinstance(constraint.after_exit(), bool)
        assert all(isinstance(constraint.comments_only(middle), bool) for middle in WEIRD)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_failed_setup_leaves_every_check_failing_open(monkeypatch, caplog) -> None:
    def broken_window(*args):
        raise ValueError("no window")

    monkeypatch.setattr(constraint_module, "cut_window", broken_window)
    constraint = SyntaxConstraint("python", "x = ", "\n")
    constraint.prepare()  # logs, does not raise
    assert constraint.invalid_ranges("(((", True) == []
    assert constraint.valid_start("(((")
    assert constraint.accepts("(((")
    assert not constraint.broken_at_cursor()
    assert constraint.closing_line() is None
    assert not constraint.comments_only("# a comment")
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["cannot set up the syntax constraint (python); not checked"]  # once


def test_incremental_trees_match_fresh_parses() -> None:
    """Each step's tree, edited from the previous step's, equals a parse from scratch."""
    rng = random.Random(7)
    pieces = ["x", "(", ")", " ", "\n", "\r\n", '"', "é", "😀", ":", "\t", "def ", "    ", "[", "]"]
    prefix, suffix = "import os\n\n\ndef f(a):\n    ", "\n    return a\n\n\nprint(f(1))\n"
    constraint = SyntaxConstraint("python", prefix, suffix)
    middle = ""
    for _ in range(60):
        at = rng.randrange(len(middle) + 1)
        middle = middle[:at] + rng.choice(pieces) + middle[at + rng.randrange(2) :]
        for complete in (True, False):
            constraint.invalid_ranges(middle, complete)
            view = constraint._views.get(complete)
            if view is None:  # drafts inside a literal are skipped without parsing
                continue
            text = constraint._prefix + view.draft + view.suffix
            assert str(view.draft_tree.root_node) == str(parse("python", text).root_node)


def test_reused_constraint_agrees_with_fresh_ones() -> None:
    rng = random.Random(11)
    source = (
        "def area(r):\n    return 3.14 * r * r\n\n\nclass Shape:\n    def size(self):\n        return 1\n"
    )
    pieces = ["(", ")", ":", "\n    ", "x", '"', "return ", "def g():"]
    for _ in range(20):
        cut = rng.randrange(len(source))
        end = min(len(source), cut + rng.randrange(25))
        reused = SyntaxConstraint("python", source[:cut], source[end:], clock=lambda: 0.0)  # no budget
        middle = source[cut:end]
        for _ in range(5):
            at = rng.randrange(len(middle) + 1)
            middle = middle[:at] + rng.choice(pieces) + middle[at:]
            fresh = SyntaxConstraint("python", source[:cut], source[end:])
            assert reused.invalid_ranges(middle, True) == fresh.invalid_ranges(middle, True)
            assert reused.accepts(middle) == fresh.accepts(middle)


def test_the_final_check_confirms_an_acceptance_on_a_fresh_parse(monkeypatch) -> None:
    """After a broken draft, tree-sitter's incremental reparse can give another tree than a fresh
    parse (in a Go window it accepted `* A.g.` after `* (".`). The promise rests on the final check,
    so what the edited tree accepts is parsed again from scratch; what it refuses is not."""
    from mercury.syntax import constraint as constraint_module

    fresh_parses = []
    real = constraint_module.parse

    def recording(language, text, old_tree=None):
        fresh_parses.append(old_tree is None)
        return real(language, text, old_tree)

    monkeypatch.setattr(constraint_module, "parse", recording)
    constraint = SyntaxConstraint("go", "package main\n\n// Event is an event.\n", "\n//\ntype Event int\n")
    constraint.invalid_ranges('/{/"" .', True)
    fresh_parses.clear()
    assert constraint.accepts("// x")
    assert fresh_parses == [False, True]  # edited from the draft's tree, then from scratch
    fresh_parses.clear()
    assert not constraint.accepts('/{/" .')
    assert fresh_parses == [False]


def test_big_file_is_checked_near_the_cursor() -> None:
    functions = "".join(f"def f{i}(x):\n    y = x + {i}\n    return y\n\n\n" for i in range(2000))
    broken_far_away = "def broken(:\n    pass\n\n\n"
    prefix = broken_far_away + functions + "def target(a):\n    return "
    suffix = "\n\n\n" + functions
    constraint = SyntaxConstraint("python", prefix, suffix)
    constraint.prepare()
    assert len(constraint._prefix) + len(constraint._suffix) < 5_000  # only a window is parsed
    assert constraint.invalid_ranges("a * 2", True) == []
    assert constraint.accepts("a * 2")
    assert constraint.invalid_ranges("a * (2", True) != []
    assert not constraint.accepts("a * (2")
