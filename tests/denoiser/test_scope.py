"""Where a multi-line span leaves the cursor's block (denoiser/scope.py)."""

import pytest
from mercury.denoiser.scope import IndentScope


def test_a_blank_line_cursor_keeps_lines_at_its_depth_and_stops_at_a_shallower_one():
    scope = IndentScope.at("def f(x):\n    y = 1\n    ")
    text = "z = 2\n    return z\n\ndef g():\n    pass"
    assert text[: scope.end(text)] == "z = 2\n    return z\n"


def test_after_a_header_the_body_is_kept_and_a_sibling_ends_it():
    scope = IndentScope.at("class A:\n    def f(self):")
    text = "\n        return 1\n\n    def g(self):\n        return 2"
    assert text[: scope.end(text)] == "\n        return 1\n"


def test_a_closing_bracket_at_the_header_depth_is_kept_and_ends_the_scope():
    scope = IndentScope.at("function f() {\n  if (x) {")
    text = "\n    y();\n  }\n  return y;\n}"
    assert text[: scope.end(text)] == "\n    y();\n  }"


def test_the_closer_line_waits_until_it_is_finished():
    scope = IndentScope.at("  if (x) {")
    assert scope.end("\n    y();\n  } el") is None


@pytest.mark.parametrize("unsettled", ["a\n", "a\n   ", "a\n\t", "a\n\n"])
def test_no_decision_before_the_next_line_has_a_character(unsettled):
    assert IndentScope.at("    x = (").end(unsettled) is None


def test_the_first_line_continues_the_cursor_line_and_is_never_cut():
    assert IndentScope.at("        foo(").end("a, b)") is None


def test_module_level_blank_line_has_no_limit():
    assert IndentScope.at("import os\n").end("def f():\n    pass\nx = 1\n") is None


def test_tabs_count_as_four_columns():
    scope = IndentScope.at("\tif x:")
    assert scope.end("\n\t\tpass\n    y = 1") == len("\n\t\tpass")


@pytest.mark.parametrize(
    ("prefix", "text", "kept"),
    [
        ("function f(xs) {\n  return xs;\n", "}\n\n// Tests\n", "}"),
        ("function f() {\n", "}\nf();\n", "}"),
        ("function f(xs) {\n  for (const x of xs) {\n    g(x);\n", "  }\n  done();\n", "  }"),
        ("f(a,\n  b,\n", "});\nnext();\n", "});"),
        ("  if (x) {\n    y();\n  }\n", "  }\n  {\n", "  }"),
    ],
    ids=["function", "above-opens", "nested", "call", "after-a-closer"],
)
def test_a_blank_cursor_line_that_closes_its_block_is_all_the_scope_keeps(prefix, text, kept):
    """At a file's end the model closes the function, then goes on to write below it."""
    scope = IndentScope.at(prefix)
    assert text[: scope.end(text)] == kept


@pytest.mark.parametrize("text", ["  } else {\n    z();\n  }\n", "    z();\n  }\n  w();\n"])
def test_other_closer_lines_do_not_end_a_blank_line_scope(text):
    """A closer that goes on, and one on a later line (the file may close it already: the
    constraint judges)."""
    assert IndentScope.at("  if (x) {\n    y();\n").end(text) is None


def test_a_blank_line_scope_waits_for_the_closer_line_to_finish():
    assert IndentScope.at("function f() {\n  return 1;\n").end("}") is None


def test_the_scope_keeps_the_cursor_line_and_the_tabs_of_the_line_with_text_above():
    scope = IndentScope.at("func f() {\n\t\tx := 1\n\n\t")
    assert scope.line == "\t" and scope.tabs_above == 2
    assert IndentScope.at("").tabs_above == 0 and IndentScope.at("x = 1\n    ").tabs_above == 0
